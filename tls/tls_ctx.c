/* tls_ctx.c: one listener's TLS setup in one generation: an SSL_CTX per certificate
 * group (tls/tls_certs.c loads them) picked by SNI, protocol options, ciphers, ALPN,
 * client verification, the session cache and ticket keys, and what a reload carries over.
 * It fills in the client certificate policy (tls/tls_policy.c) that resumed sessions
 * must meet and hands it to OpenSSL's ticket callback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "tls-int.h"
#include "tls.h"

#define DEFAULT_CIPHERS                                                                    \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                       \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                       \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* TLS 1.3: all three are strong; AES-128-GCM first is fastest with AES-NI (PRIORITIZE_CHACHA
 * still gives ChaCha20 to clients that prefer it, typically without AES hardware) */
#define DEFAULT_CIPHERSUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define DEFAULT_GROUPS "X25519:P-256:P-384"
#define VERIFY_DEPTH 10             /* client certificate chain length limit */

/* Per listener name, across generations: counters and generated ticket keys. */
struct tls_shared {
	atomic_int refs;
	struct tls_stats stats;
	struct tls_keyring ring;     /* generated keys; unused with ticket_key_file */
};

struct tls_ctx {
	atomic_int refs;
	char *name;                  /* listener name (copied: outlives its config) */
	struct tls_shared *shared;   /* reference held */
	struct tls_keyring *ring;    /* &shared->ring, or &fixed */
	struct tls_keyring fixed;    /* keys from ticket_key_file */
	int has_fixed;
	EVP_CIPHER *ticket_cipher;   /* fetched once: an implicit fetch per ticket is slow */
	SSL_CTX **ctxs;              /* one per certificate group; [0] is the default */
	size_t nctxs;
	struct tls_sni_table sni;
	unsigned char alpn[1024];    /* wire format, server preference first */
	int alpn_len;
	struct tls_policy policy;    /* who may connect, as resumption checks it */
	unsigned char fp[32];        /* settings and file contents it was built from */
};

static SSL_CTX *new_ssl_ctx(struct tls_build *b, struct tls_ctx *tc);
static int add_group_certs(struct tls_build *b, SSL_CTX *c, int group);
static struct tls_shared *shared_new(double period);
static void shared_unref(struct tls_shared *s);
static void ctx_free(struct tls_ctx *tc);
static int sni_cb(SSL *ssl, int *alert, void *arg);
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg);
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
		     EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc);

/* ---- building ---- */

static int add_group_certs(struct tls_build *b, SSL_CTX *c, int group)
{
	char why[256];
	size_t i;
	int j;

	for (i = 0; i < b->nitems; i++) {
		struct tls_cert_item *it = &b->items[i];
		char key[64];

		if (it->group != group)
			continue;
		snprintf(key, sizeof(key), "certificates.[%zu].cert", i);
		/* use_certificate makes this key type's slot current: the chain and key that
		 * follow attach to it, so RSA and ECDSA each keep their own chain */
		if (SSL_CTX_use_certificate(c, it->leaf) != 1 || SSL_CTX_clear_chain_certs(c) != 1)
			goto ssl_fail;
		for (j = 0; j < sk_X509_num(it->chain); j++)
			if (SSL_CTX_add1_chain_cert(c, sk_X509_value(it->chain, j)) != 1)
				goto ssl_fail;
		if (SSL_CTX_use_PrivateKey(c, it->pkey) != 1)
			goto ssl_fail;
		continue;
ssl_fail:
		tls_ssl_error_text(why, sizeof(why));
		return tls_build_fail(b, it->line, key, "%s: %s", it->cert.path, why);
	}
	return 0;
}

/* A server SSL_CTX with the listener's protocol settings and callbacks; every group's
 * context gets the same ones, since a connection may move to any of them by SNI. */
static SSL_CTX *new_ssl_ctx(struct tls_build *b, struct tls_ctx *tc)
{
	const struct cfg_tls *t = b->l->tls;
	char why[256];
	uint64_t opts;
	SSL_CTX *c;
	int i;

	c = SSL_CTX_new(TLS_server_method());
	if (!c) {
		tls_build_fail(b, b->l->line, "", "cannot create an SSL context");
		return NULL;
	}
	/* level 2 (112-bit security: RSA >= 2048, no SHA-1 signatures) whatever the system
	 * openssl.cnf says, so the same file behaves the same on every host */
	SSL_CTX_set_security_level(c, 2);
	if (SSL_CTX_set_min_proto_version(c, strcmp(t->min_version, "TLSv1.3") == 0
						     ? TLS1_3_VERSION : TLS1_2_VERSION) != 1)
		goto ssl_fail;
	opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	       SSL_OP_PRIORITIZE_CHACHA | SSL_OP_SINGLE_ECDH_USE | SSL_OP_SINGLE_DH_USE |
	       /* a TCP close without close_notify reads as EOF: HTTP framing already tells
		* a complete message from a truncated one, and most clients just close */
	       SSL_OP_IGNORE_UNEXPECTED_EOF;
	if (!t->session_tickets)
		opts |= SSL_OP_NO_TICKET;
	SSL_CTX_set_options(c, opts);
	/* RELEASE_BUFFERS: an idle connection keeps no 16 KiB+ record buffers. PARTIAL +
	 * MOVING: a write returns per record and may be repeated from another buffer with
	 * the same bytes (the adapter coalesces small pieces in a scratch buffer).
	 * NO_AUTO_CHAIN: send the chain the certificate file holds, as nginx and HAProxy
	 * do; without it, for a file holding the leaf only, OpenSSL builds a chain from
	 * the trust store on every full handshake and, with client_ca holding the
	 * server's issuer, sends that CA as well (test_tls: test_chain_as_configured) */
	SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
	if (SSL_CTX_set_cipher_list(c, t->ciphers ? t->ciphers : DEFAULT_CIPHERS) != 1) {
		ERR_clear_error();
		tls_build_fail(b, b->l->line, "ciphers", "no usable cipher in \"%s\"",
			       t->ciphers ? t->ciphers : DEFAULT_CIPHERS);
		goto out;
	}
	if (SSL_CTX_set_ciphersuites(c, t->ciphersuites ? t->ciphersuites : DEFAULT_CIPHERSUITES) != 1) {
		ERR_clear_error();
		tls_build_fail(b, b->l->line, "ciphersuites", "invalid TLS 1.3 ciphersuites \"%s\"",
			       t->ciphersuites ? t->ciphersuites : DEFAULT_CIPHERSUITES);
		goto out;
	}
	if (SSL_CTX_set1_groups_list(c, DEFAULT_GROUPS) != 1 || SSL_CTX_set_dh_auto(c, 1) != 1)
		goto ssl_fail;
	/* sessions (cache or ticket) resume only on the listener that made them, and only
	 * while its client certificate policy stays the same (tls/tls_policy.c) */
	if (SSL_CTX_set_session_id_context(c, tc->policy.sid, sizeof(tc->policy.sid)) != 1)
		goto ssl_fail;
	SSL_CTX_set_timeout(c, t->session_timeout_s);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
	/* one ticket per handshake: HTTP/1.1 clients resume one connection at a time, and
	 * each ticket costs an encryption (without session_tickets, TLS 1.3 still gets one
	 * stateful ticket: a session ID in the shared cache). Not 0, even where nothing
	 * would resume: without a ticket, Python TLS clients waited ~40 ms per connection
	 * (1,500 connections in 68 s instead of 3.7 s; it looks like a delayed ACK, not
	 * diagnosed further), for 2 % of a handshake's instructions (docs/benchmarks.md) */
	SSL_CTX_set_num_tickets(c, 1);
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(c, ticket_cb) != 1 ||
	    SSL_CTX_set_session_ticket_cb(c, NULL, tls_policy_ticket_cb, &tc->policy) != 1)
		goto ssl_fail;
	SSL_CTX_set_app_data(c, tc);
	SSL_CTX_set_tlsext_servername_callback(c, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(c, tc);
	if (tc->alpn_len > 0)
		SSL_CTX_set_alpn_select_cb(c, alpn_cb, tc);
	SSL_CTX_set_default_passwd_cb(c, tls_no_password);
	if (t->verify_client != TLS_VERIFY_NONE) {
		X509_STORE *store = SSL_CTX_get_cert_store(c);
		STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();

		if (!names)
			goto ssl_fail;
		for (i = 0; i < sk_X509_num(b->ca_certs); i++) {
			X509 *ca = sk_X509_value(b->ca_certs, i);
			X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(ca));

			if (X509_STORE_add_cert(store, ca) != 1 || !nm || !sk_X509_NAME_push(names, nm)) {
				X509_NAME_free(nm);
				sk_X509_NAME_pop_free(names, X509_NAME_free);
				goto ssl_fail;
			}
		}
		/* the CA names go in the CertificateRequest: clients pick a matching cert */
		SSL_CTX_set_client_CA_list(c, names);
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE |
				      (t->verify_client == TLS_VERIFY_REQUIRED ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
				   NULL);
		SSL_CTX_set_verify_depth(c, VERIFY_DEPTH);
	}
	return c;
ssl_fail:
	tls_ssl_error_text(why, sizeof(why));
	tls_build_fail(b, b->l->line, "", "OpenSSL: %s", why);
out:
	SSL_CTX_free(c);
	return NULL;
}

static struct tls_shared *shared_new(double period)
{
	struct tls_shared *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	if (tls_keyring_init_auto(&s->ring, period, clock_mono_s(), &s->stats.ticket_key_rotations) == -1) {
		free(s);
		return NULL;
	}
	return s;
}

static void shared_unref(struct tls_shared *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	tls_keyring_destroy(&s->ring);
	free(s);
}

static void ctx_free(struct tls_ctx *tc)
{
	size_t i;

	for (i = 0; i < tc->nctxs; i++)
		SSL_CTX_free(tc->ctxs[i]);
	free(tc->ctxs);
	tls_sni_free(&tc->sni);
	if (tc->has_fixed)
		tls_keyring_destroy(&tc->fixed);
	EVP_CIPHER_free(tc->ticket_cipher);
	shared_unref(tc->shared);
	free(tc->name);
	free(tc);
}

/* Checks rules that span keys: mutual TLS needs both keys, and an http listener can
 * only negotiate what its parser speaks. */
static int check_settings(struct tls_build *b)
{
	const struct cfg_tls *t = b->l->tls;
	const char *p;

	if (t->verify_client != TLS_VERIFY_NONE && !t->client_ca)
		return tls_build_fail(b, b->l->line, "client_ca", "verify_client = \"%s\" needs client_ca "
				      "(the CAs client certificates must chain to)",
				      t->verify_client == TLS_VERIFY_REQUIRED ? "required" : "optional");
	if (t->client_ca && t->verify_client == TLS_VERIFY_NONE)
		return tls_build_fail(b, b->l->line, "verify_client", "client_ca is set but verify_client is "
				      "\"none\": set \"optional\" or \"required\", or remove client_ca");
	if (b->l->mode == LISTENER_HTTP && t->alpn) {
		for (p = t->alpn; *p;) {
			size_t n = strcspn(p, ",");

			if (!((n == 8 && !strncmp(p, "http/1.1", 8)) || (n == 8 && !strncmp(p, "http/1.0", 8)) ||
			      (n == 2 && !strncmp(p, "h2", 2) && b->l->http2)))
				return tls_build_fail(b, b->l->line, "alpn", "\"%.*s\": an http listener speaks "
						      "HTTP/1.x (and h2 with http2 = true); alpn may list http/1.1, "
						      "http/1.0 and h2", (int)n, p);
			p += n + (p[n] == ',');
		}
	}
	return 0;
}

static struct tls_ctx *build_ctx(const struct config *cfg, const struct cfg_listener *l,
				 const char *where, struct tls_ctx *prev, char *err, size_t errlen);

struct tls_ctx *tls_ctx_build(const struct config *cfg, const struct cfg_listener *l,
			      struct tls_ctx *prev, char *err, size_t errlen)
{
	return build_ctx(cfg, l, NULL, prev, err, errlen);
}

/* The control API is not a listener, but its TLS needs exactly what a tcp listener's
 * does (no ALPN, no HTTP-specific checks): build it through a stand-in listener. */
struct tls_ctx *tls_ctx_build_control(const struct config *cfg, char *err, size_t errlen)
{
	struct cfg_listener l = { .name = (char *)"control", .mode = LISTENER_TCP,
				  .tls = cfg->control.tls };

	return build_ctx(cfg, &l, "control", NULL, err, errlen);
}

static struct tls_ctx *build_ctx(const struct config *cfg, const struct cfg_listener *l,
				 const char *where, struct tls_ctx *prev, char *err, size_t errlen)
{
	const struct cfg_tls *t = l->tls;
	struct tls_build b = { .cfg = cfg, .l = l, .where = where, .err = err, .errlen = errlen };
	struct tls_ticket_key keys[TLS_TICKET_KEYS_MAX];
	struct tls_ctx *tc = NULL;
	unsigned char fp[32];
	size_t i, ngroups = 0;
	char why[256];
	int nkeys;

	if (check_settings(&b) == -1)
		return NULL;
	if (tls_certs_read(&b) == -1)
		goto fail;
	if (tls_certs_fingerprint(&b, fp) == -1) {
		tls_build_fail(&b, l->line, "", "cannot compute a digest");
		goto fail;
	}
	if (prev && memcmp(prev->fp, fp, sizeof(fp)) == 0) {
		/* same settings, same bytes on disk: keep the context and its session cache */
		tls_build_free(&b);
		tls_ctx_ref(prev);
		return prev;
	}

	/* parse: every certificate and key, then the CA bundle (the ticket keys below) */
	if (tls_certs_parse(&b) == -1)
		goto fail;
	tc = calloc(1, sizeof(*tc));
	if (!tc || !(tc->name = strdup(l->name))) {
		tls_build_fail(&b, l->line, "", "out of memory");
		goto fail;
	}
	atomic_init(&tc->refs, 1);
	memcpy(tc->fp, fp, sizeof(fp));
	tc->policy.verify = t->verify_client != TLS_VERIFY_NONE;
	tc->policy.verify_required = t->verify_client == TLS_VERIFY_REQUIRED;
	if (tls_policy_context(l->name, t->verify_client, VERIFY_DEPTH, b.ca_certs,
			       tc->policy.sid) == -1) {
		tls_build_fail(&b, l->line, "", "cannot compute a digest");
		goto fail;
	}
	if (t->ticket_key_file) {
		nkeys = tls_ticket_keys_parse(b.tickets.data, b.tickets.len, keys, TLS_TICKET_KEYS_MAX,
					      why, sizeof(why));
		if (nkeys < 0) {
			tls_build_fail(&b, l->line, "ticket_key_file", "%s: %s", b.tickets.path, why);
			goto fail;
		}
		if (tls_keyring_init_fixed(&tc->fixed, keys, (unsigned)nkeys) == -1) {
			OPENSSL_cleanse(keys, sizeof(keys));
			tls_build_fail(&b, l->line, "ticket_key_file", "cannot set up the keys");
			goto fail;
		}
		OPENSSL_cleanse(keys, sizeof(keys));
		tc->has_fixed = 1;
	}
	if (prev) {
		/* the listener's counters and generated keys live on: tickets issued before
		 * the reload still resume */
		tc->shared = prev->shared;
		atomic_fetch_add(&tc->shared->refs, 1);
		tls_keyring_set_period(&tc->shared->ring, t->session_timeout_s);
	} else if (!(tc->shared = shared_new(t->session_timeout_s))) {
		tls_build_fail(&b, l->line, "", "out of memory or no randomness for ticket keys");
		goto fail;
	}
	tc->ring = tc->has_fixed ? &tc->fixed : &tc->shared->ring;
	tc->ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	if (!tc->ticket_cipher) {
		tls_build_fail(&b, l->line, "", "AES-256-CBC is not available from OpenSSL");
		goto fail;
	}
	tc->alpn_len = 0;
	if (t->alpn || l->mode == LISTENER_HTTP) {
		tc->alpn_len = tls_alpn_wire(t->alpn ? t->alpn : l->http2 ? "h2,http/1.1" : "http/1.1", tc->alpn,
					     sizeof(tc->alpn));
		if (tc->alpn_len < 0) {
			tls_build_fail(&b, l->line, "alpn", "too long");
			goto fail;
		}
	}
	if (tls_certs_group(&b, &ngroups) == -1)
		goto fail;
	tc->ctxs = calloc(ngroups, sizeof(*tc->ctxs));
	if (!tc->ctxs) {
		tls_build_fail(&b, l->line, "", "out of memory");
		goto fail;
	}
	for (i = 0; i < ngroups; i++) {
		tc->ctxs[i] = new_ssl_ctx(&b, tc);
		if (!tc->ctxs[i])
			goto fail;
		tc->nctxs++;
		if (add_group_certs(&b, tc->ctxs[i], (int)i) == -1)
			goto fail;
	}
	/* a resumed session's certificate is checked where new connections start */
	tc->policy.verifier = tc->ctxs[0];
	for (i = 0; i < b.nitems; i++) {
		size_t j;

		for (j = 0; j < b.items[i].nnames; j++)
			if (tls_sni_add(&tc->sni, b.items[i].names[j], b.items[i].group) == -1) {
				tls_build_fail(&b, l->line, "", "out of memory");
				goto fail;
			}
	}
	tls_sni_finish(&tc->sni);
	tls_build_free(&b);
	return tc;
fail:
	tls_build_free(&b);
	if (tc)
		ctx_free(tc);
	ERR_clear_error();
	return NULL;
}

void tls_ctx_ref(struct tls_ctx *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void tls_ctx_unref(struct tls_ctx *t)
{
	if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	ctx_free(t);
}

struct tls_stats *tls_ctx_stats(struct tls_ctx *t)
{
	return &t->shared->stats;
}

const char *tls_ctx_name(const struct tls_ctx *t)
{
	return t->name;
}

SSL_CTX *tls_ctx_default(struct tls_ctx *t)
{
	return t->ctxs[0];
}

int tls_ctx_verifies(const struct tls_ctx *t)
{
	return t->policy.verify;
}

int tls_ctx_session_allowed(struct tls_ctx *t, SSL *ssl, SSL_SESSION *sess, enum tls_fail *why)
{
	return tls_policy_session_allowed(&t->policy, ssl, sess, why);
}

int tls_config_check(const struct config *cfg, FILE *out)
{
	char err[1024];
	size_t i;
	int n = 0;

	for (i = 0; i < cfg->nlisteners; i++) {
		struct tls_ctx *tc;

		if (!cfg->listeners[i].tls)
			continue;
		tc = tls_ctx_build(cfg, &cfg->listeners[i], NULL, err, sizeof(err));
		if (!tc) {
			fprintf(out, "%s\n", err);
			n++;
			continue;
		}
		tls_ctx_unref(tc);
	}
	if (cfg->control.listen && cfg->control.tls) {
		struct tls_ctx *tc = tls_ctx_build_control(cfg, err, sizeof(err));

		if (!tc) {
			fprintf(out, "%s\n", err);
			n++;
		} else {
			tls_ctx_unref(tc);
		}
	}
	return n;
}

/* ---- OpenSSL callbacks (run on worker threads, inside handshakes) ---- */

/* Moves the connection to the certificate group serving the requested name; unknown
 * names and clients without SNI get the first certificate. */
static int sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_ctx *tc = arg;
	const char *host;
	int i;

	if (tc->nctxs < 2)
		return SSL_TLSEXT_ERR_OK;
	host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (!host)
		return SSL_TLSEXT_ERR_OK;
	i = tls_sni_lookup(&tc->sni, host);
	if (i > 0 && (size_t)i < tc->nctxs && SSL_get_SSL_CTX(ssl) != tc->ctxs[i])
		SSL_set_SSL_CTX(ssl, tc->ctxs[i]);
	return SSL_TLSEXT_ERR_OK;
}

/* Our preference order wins; no overlap continues without ALPN (the client may still
 * speak HTTP/1.1) rather than failing the handshake. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_ctx *tc = arg;
	unsigned char *sel = NULL;

	if (SSL_select_next_proto(&sel, outlen, tc->alpn, (unsigned)tc->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* SSL_CTX_set_tlsext_ticket_key_evp_cb(3): the listener's key ring, shared by all its
 * workers, encrypts and decrypts tickets, so a ticket resumes on any worker (and on any
 * instance sharing ticket_key_file). */
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
		     EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_ctx *tc = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	struct tls_ticket_key k;
	OSSL_PARAM params[3];
	int renew = 0, rc;

	if (!tc)
		return -1;
	if (enc) {
		if (tls_keyring_encrypt_key(tc->ring, clock_mono_s(), &k) == -1)
			return 0;  /* no ticket this time; the handshake goes on */
		memcpy(name, k.name, sizeof(k.name));
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(tc->ticket_cipher)) != 1 ||
		    EVP_EncryptInit_ex(ectx, tc->ticket_cipher, NULL, k.aes, iv) != 1)
			rc = -1;
		else
			rc = 1;
	} else {
		if (tls_keyring_decrypt_key(tc->ring, name, clock_mono_s(), &k, &renew) == -1)
			return 0;  /* unknown or retired key: full handshake */
		/* 2 = send a new ticket. TLS 1.3 clients use a ticket once, and with a key
		 * callback OpenSSL renews only when asked (SSL_CTX_set_session_ticket_cb(3)):
		 * without it every other connection would be a full handshake. TLS 1.2
		 * clients keep their ticket: renew only when its key is not the current one. */
		if (SSL_version(ssl) >= TLS1_3_VERSION)
			renew = 1;
		rc = EVP_DecryptInit_ex(ectx, tc->ticket_cipher, NULL, k.aes, iv) == 1 ? (renew ? 2 : 1)
										   : -1;
	}
	if (rc > 0) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac));
		params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
		params[2] = OSSL_PARAM_construct_end();
		if (EVP_MAC_CTX_set_params(hctx, params) != 1)
			rc = -1;
	}
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}
