/* tls.h: TLS termination with OpenSSL: per-listener contexts built with each generation
 * (tls/tls_ctx.c, from certificates loaded by tls/tls_certs.c, holding the client
 * certificate policy of resumed sessions, tls/tls_policy.c), SNI names
 * (tls/tls_names.c), ticket keys (tls/tls_tickets.c), the non-blocking per-connection
 * adapter (tls/tls.c), why a handshake failed (tls/tls_fail.c) and its log line
 * (tls/tls_fail_log.c). */
#ifndef FULCRUM_TLS_H
#define FULCRUM_TLS_H

#include <stdio.h>
#include <sys/types.h>

#include "config-t.h"
#include "tls-t.h"

/* ---- contexts (tls/tls_ctx.c, tls/tls_certs.c) ---- */

/* Builds the TLS setup of listener l (l->tls != NULL) of cfg: reads every certificate,
 * key, CA and ticket key file (paths relative to the config file's directory), checks
 * that each key matches its certificate, groups certificates with the same names into
 * one SSL_CTX (so RSA and ECDSA for a name are served side by side) and indexes their
 * names for SNI. prev is the same listener's setup in the running generation, or NULL:
 * its counters and generated ticket keys carry over, and when nothing changed (settings
 * and file contents) prev itself is returned with a new reference, keeping its session
 * cache. Returns a new reference, or NULL with "file:line: key: message" in err. */
struct tls_ctx *tls_ctx_build(const struct config *cfg, const struct cfg_listener *l,
			      struct tls_ctx *prev, char *err, size_t errlen);
/* The same for control.tls (cfg->control.tls != NULL); errors name "control.tls.KEY".
 * Built once at start: control settings are not reloaded. */
struct tls_ctx *tls_ctx_build_control(const struct config *cfg, char *err, size_t errlen);
void tls_ctx_ref(struct tls_ctx *t);
void tls_ctx_unref(struct tls_ctx *t);
/* The listener's counters (shared by every generation of that listener). */
struct tls_stats *tls_ctx_stats(struct tls_ctx *t);
/* The listener's name, for log lines. */
const char *tls_ctx_name(const struct tls_ctx *t);
/* The SSL_CTX new connections start with (the first certificate group). */
struct ssl_ctx_st *tls_ctx_default(struct tls_ctx *t);
/* Whether the listener asks for client certificates (verify_client != "none"). */
int tls_ctx_verifies(const struct tls_ctx *t);
/* Whether session sess, about to be resumed on ssl (may be NULL), meets the listener's
 * client certificate policy now (tls/tls_policy.c): with verify_client "required" it
 * must hold a client certificate, and any client certificate it holds must still
 * verify against client_ca (and the clock). Returns 1, or 0 with the reason in *why. */
int tls_ctx_session_allowed(struct tls_ctx *t, struct ssl_st *ssl, struct ssl_session_st *sess,
			    enum tls_fail *why);
/* Builds the TLS setup of every TLS listener of cfg and throws it away, printing one
 * "file:line: key: message" line per problem on out (fulcrum -t). Returns the count. */
int tls_config_check(const struct config *cfg, FILE *out);

/* ---- the per-connection adapter (tls/tls.c) ---- */

enum tls_result {
	TLS_OK = 0,      /* done */
	TLS_AGAIN,       /* would block; the direction is in rdir / wdir / hsdir */
	TLS_EOF,         /* the peer closed (close_notify or TCP FIN) */
	TLS_ERROR        /* fatal; the connection is unusable */
};

/* Starts a server-side TLS connection on fd with ctx (a reference is taken).
 * 0, or -1 when out of memory. */
int tls_conn_init(struct tls_conn *t, struct tls_ctx *ctx, int fd);
/* Sends close_notify when the connection is healthy and it was not sent yet (best
 * effort, never blocks), then frees everything. Idempotent. */
void tls_conn_close(struct tls_conn *t);
/* One step of the handshake: TLS_OK when complete (then the client certificate subject
 * is in t->subject when one was verified), TLS_AGAIN, or TLS_ERROR / TLS_EOF; on those
 * tls_conn_failure() says why. */
enum tls_result tls_handshake(struct tls_conn *t);
/* Why the handshake just failed, with a one-line detail in detail. Consumes the
 * thread's OpenSSL error queue. */
enum tls_fail tls_conn_failure(struct tls_conn *t, enum tls_result r, char *detail, size_t len);
/* Reads decrypted bytes: > 0, 0 at EOF, -1 with errno EAGAIN (direction in rdir) or
 * another errno on a fatal error. Reads at most one record unless it was a full one. */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t len);
/* Writes buf as TLS records: the count written (> 0), or -1 with errno EAGAIN
 * (direction in wdir) or another errno. After EAGAIN the next call must pass the same
 * bytes again, at least t->wpend of them (the caller's buffers guarantee it). */
ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len);
/* Decrypted bytes OpenSSL holds that a read returns without touching the socket. */
int tls_pending(const struct tls_conn *t);
/* Sends close_notify once (best effort). */
void tls_shutdown(struct tls_conn *t);
/* Negotiated details for logs: "TLSv1.3 TLS_AES_128_GCM_SHA256 sni=x alpn=y resumed". */
void tls_conn_describe(const struct tls_conn *t, char *out, size_t len);
/* Whether the handshake resumed a session. */
int tls_conn_resumed(const struct tls_conn *t);

/* ---- why a handshake failed (tls/tls_fail.c) ---- */

/* Which failure an OpenSSL error means: ssl_error from SSL_get_error, reason from
 * ERR_GET_REASON of the first queued error (0 if none), verify from
 * SSL_get_verify_result, started = whether any handshake byte was received. */
enum tls_fail tls_classify(int ssl_error, int reason, long verify, int started);
/* The reason's name in log lines and metrics labels ("no_shared_cipher"). */
const char *tls_fail_name(enum tls_fail f);

/* ---- handshake failure lines (tls/tls_fail_log.c) ---- */

/* Counts a failed handshake in ctx's stats (ctx may be NULL: not counted, "1 so far")
 * and decides its log line under fl's rate limit: writes "TLS handshake with PEER
 * failed: REASON: DETAIL (N so far)", plus "; K similar lines suppressed" on the first
 * line of a second after some were, into line and returns the level to log it at (the
 * caller prefixes it with who it is). A peer that closed before any handshake (port
 * scanners, TCP health checks) gets a LOG_DEBUG line outside the limit. -1: no line
 * (suppressed, or debug while the log level is above it). now: seconds, any clock. */
int tls_fail_log(struct tls_fail_log *fl, struct tls_ctx *ctx, enum tls_fail f, const char *peer,
		 const char *detail, double now, enum log_level level, char *line, size_t len);

/* ---- certificate names and SNI (tls/tls_names.c) ---- */

enum tls_name_kind { TLS_NAME_EXACT = 0, TLS_NAME_WILDCARD, TLS_NAME_UNUSABLE };

/* Lower-cases name into out (cap bytes) without a trailing dot. -1 when empty, longer
 * than 253 characters or holding spaces, controls or non-ASCII bytes. */
int tls_name_normalize(const char *name, char *out, size_t cap);
/* An exact name, a wildcard "*.example.com" (the whole left-most label, at least two
 * labels after it), or unusable (partial wildcards "f*.example.com", "*.com", bad text). */
enum tls_name_kind tls_name_kind(const char *pattern);
/* Whether certificate name pattern covers host: exact, or a wildcard for exactly one
 * left-most label ("*.example.com" covers "a.example.com", not "a.b.example.com" nor
 * "example.com"). Case-insensitive; a trailing dot on host is ignored. */
int tls_name_match(const char *pattern, const char *host);

/* Adds pattern served by certificate group ctx. 0 added, 1 ignored (unusable pattern),
 * -1 out of memory. */
int tls_sni_add(struct tls_sni_table *t, const char *pattern, int ctx);
/* Sorts the table after the last add; for a name several groups serve, the lowest
 * group (the earliest certificate) wins. */
void tls_sni_finish(struct tls_sni_table *t);
/* The group serving host (exact names first, then wildcards), or -1. */
int tls_sni_lookup(const struct tls_sni_table *t, const char *host);
void tls_sni_free(struct tls_sni_table *t);

/* ALPN: "h2,http/1.1" into wire format (length-prefixed). Returns the length, -1 when
 * a protocol is empty or longer than 255, or cap is too small. */
int tls_alpn_wire(const char *list, unsigned char *out, size_t cap);
/* 1 when the connection's handshake chose the ALPN protocol proto ("h2"). */
int tls_alpn_is(const struct tls_conn *t, const char *proto);

/* ---- session ticket keys (tls/tls_tickets.c) ---- */

/* A ring of generated keys rotating every period seconds, starting with one fresh key.
 * rotations (may be NULL) is bumped at each rotation. 0, or -1 (no randomness). */
int tls_keyring_init_auto(struct tls_keyring *r, double period, double now,
			  atomic_ulong *rotations);
/* A fixed ring of n keys (from a file); keys[0] encrypts. */
int tls_keyring_init_fixed(struct tls_keyring *r, const struct tls_ticket_key *keys,
			   unsigned n);
void tls_keyring_destroy(struct tls_keyring *r);
/* Changes the rotation period of a generated ring (reload of session_timeout_s). */
void tls_keyring_set_period(struct tls_keyring *r, double period);
/* Brings a generated ring up to date at now: one rotation per elapsed period (a fresh
 * key in front, the oldest dropped); after TLS_TICKET_KEYS_AUTO periods without use
 * every key is fresh. Caller holds r->lock. Returns rotations done, -1 on failure. */
int tls_keyring_advance(struct tls_keyring *r, double now);
/* Copies the key that encrypts new tickets at now. 0 or -1. */
int tls_keyring_encrypt_key(struct tls_keyring *r, double now, struct tls_ticket_key *out);
/* Copies the key named name if it still decrypts at now; *renew = 1 when it is not the
 * current one (the client should get a new ticket). 0, or -1 when unknown / expired. */
int tls_keyring_decrypt_key(struct tls_keyring *r, const unsigned char name[16], double now,
			    struct tls_ticket_key *out, int *renew);
/* Parses a ticket key file: one key per line as 160 hex digits (80 bytes: 16 name,
 * 32 AES key, 32 HMAC key, e.g. `openssl rand -hex 80`); '#' comments and blank lines
 * skipped. Returns the number of keys (1..max), or -1 with a message in err. */
int tls_ticket_keys_parse(const char *text, size_t len, struct tls_ticket_key *keys,
			  unsigned max, char *err, size_t errlen);

#endif
