/* tls-t.h: the types of TLS termination: why a handshake failed, per-listener counters,
 * session ticket keys, the SNI name table and the per-connection adapter state. */
#ifndef FULCRUM_TLS_T_H
#define FULCRUM_TLS_T_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ssl_st;   /* OpenSSL's SSL, kept out of every file that includes conn.h */
struct ssl_session_st;
struct tls_ctx;  /* one listener's TLS setup in one generation (tls/tls_ctx.c) */

/* Why a handshake failed: one counter each per listener, named in the log line. */
enum tls_fail {
	TLS_FAIL_CLOSED = 0,        /* the client closed or reset during the handshake */
	TLS_FAIL_TIMEOUT,           /* not complete within handshake_timeout_ms */
	TLS_FAIL_PROTOCOL_VERSION,  /* TLS 1.0/1.1, SSLv3 or below min_version offered */
	TLS_FAIL_NO_SHARED_CIPHER,  /* no cipher, group or signature algorithm in common */
	TLS_FAIL_UNKNOWN_CA,        /* client certificate from a CA not in client_ca, or the
				     * client does not trust ours (alert unknown_ca) */
	TLS_FAIL_BAD_CLIENT_CERT,   /* client certificate rejected otherwise (expired, ...) */
	TLS_FAIL_NO_CLIENT_CERT,    /* verify_client = "required" and none was sent */
	TLS_FAIL_NOT_TLS,           /* plain HTTP or other bytes that are not TLS */
	TLS_FAIL_ALERT,             /* the client aborted with another alert */
	TLS_FAIL_OTHER,
	TLS_FAIL__COUNT
};

/* Per listener, kept across reloads (by listener name); read by metrics. */
struct tls_stats {
	atomic_ulong handshakes;                   /* completed */
	atomic_ulong resumed;                      /* of those, resumed (ticket or cache) */
	atomic_ulong failures[TLS_FAIL__COUNT];    /* failed, by reason */
	atomic_ulong ticket_key_rotations;         /* generated keys replaced on schedule */
};

/* The rate limit of one thread's handshake failure lines (tls_fail_log): whoever can
 * reach a TLS port can make handshakes fail as fast as they like. */
struct tls_fail_log {
	unsigned per_second;         /* lines a second at most, the rest counted */
	double window;               /* start of the current second */
	unsigned lines;              /* lines written in it */
	unsigned suppressed;         /* lines left out in it */
};

/* One session ticket key: AES-256-CBC + HMAC-SHA256 (what OpenSSL uses itself). */
struct tls_ticket_key {
	unsigned char name[16];      /* sent in the clear in every ticket: picks the key */
	unsigned char aes[32];
	unsigned char hmac[32];
	double created;              /* monotonic seconds; schedule of generated keys */
};

#define TLS_TICKET_KEYS_MAX 8    /* keys a file may hold */
#define TLS_TICKET_KEYS_AUTO 3   /* generated: the current one plus two previous */

/* The keys of one listener, shared by all its workers. keys[0] encrypts new tickets;
 * every key decrypts (an older one asks for a renewed ticket). Generated rings rotate
 * every period: a key encrypts for one period and decrypts for two more. */
struct tls_keyring {
	pthread_mutex_t lock;        /* taken once per ticket, never across I/O */
	int fixed;                   /* from ticket_key_file: never rotated */
	double period;               /* generated: seconds between rotations */
	unsigned n;                  /* keys in use */
	struct tls_ticket_key keys[TLS_TICKET_KEYS_MAX];
	atomic_ulong *rotations;     /* counter to bump on each rotation, or NULL */
};

/* Names served by a listener's certificates, sorted for binary search. */
struct tls_sni_entry {
	char *name;                  /* lower case; wildcards stored as ".example.com" */
	int ctx;                     /* index of the certificate group that serves it */
};

struct tls_sni_table {
	struct tls_sni_entry *exact, *wild;
	size_t nexact, nwild;
	size_t cap_exact, cap_wild;
};

#define TLS_WANT_READ  1         /* same values as libev's EV_READ / EV_WRITE */
#define TLS_WANT_WRITE 2

/* The TLS side of one client connection. Zeroed = a plain connection. */
struct tls_conn {
	struct ssl_st *ssl;          /* NULL = plain */
	struct tls_ctx *ctx;         /* reference held: its callbacks and counters */
	char *subject;               /* verified client certificate subject (RFC 2253) */
	uint32_t wpend;              /* length of a blocked SSL_write, to repeat exactly */
	uint8_t rdir, wdir, hsdir;   /* TLS_WANT_*: what the last read / write / handshake waits on */
	uint8_t last_error;          /* SSL_get_error of the last failed handshake step */
	uint8_t refused;             /* 1 + enum tls_fail: a resumed session failed the policy */
	unsigned done:1;             /* handshake complete */
	unsigned fatal:1;            /* fatal error seen: no close_notify, no more I/O */
	unsigned reset:1;            /* the fatal error was the socket's (peer reset), not TLS's */
	unsigned shut:1;             /* close_notify sent */
	unsigned policy_checked:1;   /* the offered ticket was checked against the client policy */
};

#endif
