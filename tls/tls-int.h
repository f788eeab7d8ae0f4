/* tls-int.h: what the files of tls/ share and nothing outside needs: one build of a
 * listener's TLS setup, as certificate loading (tls/tls_certs.c) hands it to the SSL_CTX
 * building (tls/tls_ctx.c), the error helpers both use, and the client certificate
 * policy (tls/tls_policy.c) each context holds and hands to OpenSSL's ticket callback. */
#ifndef FULCRUM_TLS_INT_H
#define FULCRUM_TLS_INT_H

#include <limits.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "config-t.h"
#include "tls-t.h"

/* One file read whole. */
struct tls_blob {
	char *path;                  /* as resolved */
	char *data;
	size_t len;
};

/* One certificate entry of the config, parsed. */
struct tls_cert_item {
	struct tls_blob cert, key;
	X509 *leaf;
	STACK_OF(X509) *chain;
	EVP_PKEY *pkey;
	char **names;                /* normalized, sorted, unique */
	size_t nnames, names_cap;
	int group;
	int line;
};

/* Everything one build holds until it commits or fails. */
struct tls_build {
	const struct config *cfg;
	const struct cfg_listener *l;
	const char *where;           /* key prefix in errors: "listeners.NAME" or "control" */
	char dir[PATH_MAX];          /* directory of the config file, "" = cwd */
	char *err;
	size_t errlen;
	struct tls_cert_item *items;
	size_t nitems;
	struct tls_blob ca, tickets;
	STACK_OF(X509) *ca_certs;
};

/* ---- errors (tls/tls_certs.c) ---- */

/* err = "file:line: listeners.NAME.tls.KEY: message"; returns -1. */
int tls_build_fail(struct tls_build *b, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The most specific OpenSSL reason queued ("key values mismatch"), and clears the queue. */
void tls_ssl_error_text(char *out, size_t len);
/* PEM reading must never prompt on a terminal: an encrypted key is an error. */
int tls_no_password(char *buf, int size, int rwflag, void *u);

/* ---- certificate loading (tls/tls_certs.c) ---- */

/* Reads every certificate, key, client CA and ticket key file of b->l->tls into b
 * (paths relative to the config file's directory). 0, or -1 with the error in b->err. */
int tls_certs_read(struct tls_build *b);
/* SHA-256 of every setting and file a build depends on: equal means nothing changed. */
int tls_certs_fingerprint(struct tls_build *b, unsigned char out[32]);
/* Parses what tls_certs_read read: each certificate chain and its key (which must
 * match), the names each serves, and the client CA bundle. 0, or -1 with the error. */
int tls_certs_parse(struct tls_build *b);
/* Groups the parsed certificates by names (one SSL_CTX each): sets each item's group
 * and the count in *ngroups. 0, or -1 when two of a group share a key type. */
int tls_certs_group(struct tls_build *b, size_t *ngroups);
/* Frees what b holds (not b), cleansing key material. */
void tls_build_free(struct tls_build *b);

/* ---- the client certificate policy and resumption (tls/tls_policy.c) ---- */

/* Who may connect to one listener in one generation, as session resumption checks it.
 * Part of the listener's tls_ctx, which fills it in as it builds, and the argument of
 * tls_policy_ticket_cb: the policy reaches nothing else of the context. */
struct tls_policy {
	SSL_CTX *verifier;           /* the default group's (borrowed): its client CAs and
				      * verify settings check a resumed session's certificate */
	int verify;                  /* verify_client != none */
	int verify_required;         /* verify_client = "required" */
	unsigned char sid[32];       /* session id context (tls_policy_context) */
};

/* The session id context of a listener: SHA-256 of its name, verify_client, the chain
 * depth limit and every client CA in cas (may be NULL). 0, or -1 (no digest). */
int tls_policy_context(const char *name, int verify_client, int depth,
		       const STACK_OF(X509) *cas, unsigned char out[32]);
/* Whether session sess, about to be resumed on ssl (may be NULL), meets policy p now:
 * with verify_client "required" it must hold a client certificate, and any client
 * certificate it holds must still verify against client_ca (and the clock). Returns 1,
 * or 0 with the reason in *why. */
int tls_policy_session_allowed(const struct tls_policy *p, SSL *ssl, SSL_SESSION *sess,
			       enum tls_fail *why);
/* The decrypt callback of SSL_CTX_set_session_ticket_cb(3) (status and the result are
 * OpenSSL's SSL_TICKET_STATUS / SSL_TICKET_RETURN); arg is the listener's tls_policy. */
int tls_policy_ticket_cb(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname,
			 size_t keyname_len, int status, void *arg);

#endif
