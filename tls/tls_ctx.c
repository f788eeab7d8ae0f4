/* tls_ctx.c: one listener's TLS setup in one generation: certificates and keys read and
 * checked, grouped into SSL_CTXs picked by SNI, protocol options, ALPN, client CAs, the
 * session cache and ticket keys, and what a reload carries over. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "array.h"
#include "clock.h"
#include "log.h"
#include "tls.h"

#define FILE_MAX (4 * 1024 * 1024)  /* certificate bundles are kilobytes; refuse surprises */
#define NAMES_MAX 1024              /* names one certificate may bring */
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
	int verify;                  /* verify_client != none */
	int verify_required;         /* verify_client = "required" */
	unsigned char sid[32];       /* session id context: the client policy (tls_policy_context) */
	unsigned char fp[32];        /* settings and file contents it was built from */
};

/* One file read whole. */
struct blob {
	char *path;                  /* as resolved */
	char *data;
	size_t len;
};

/* One certificate entry of the config, parsed. */
struct cert_item {
	struct blob cert, key;
	X509 *leaf;
	STACK_OF(X509) *chain;
	EVP_PKEY *pkey;
	char **names;                /* normalized, sorted, unique */
	size_t nnames, names_cap;
	int group;
	int line;
};

/* Everything one build holds until it commits or fails. */
struct build {
	const struct config *cfg;
	const struct cfg_listener *l;
	const char *where;           /* key prefix in errors: "listeners.NAME" or "control" */
	char dir[PATH_MAX];          /* directory of the config file, "" = cwd */
	char *err;
	size_t errlen;
	struct cert_item *items;
	size_t nitems;
	struct blob ca, tickets;
	STACK_OF(X509) *ca_certs;
};

static int fail(struct build *b, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void ssl_error_text(char *out, size_t len);
static int read_blob(struct build *b, const char *path, struct blob *out, int line,
		     const char *key);
static void blob_free(struct blob *bl);
static int no_password(char *buf, int size, int rwflag, void *u);
static int fingerprint(struct build *b, unsigned char out[32]);
static int parse_cert(struct build *b, struct cert_item *it, size_t index);
static int cert_names(struct cert_item *it);
static int parse_ca(struct build *b);
static int group_certs(struct build *b, size_t *ngroups);
static SSL_CTX *new_ssl_ctx(struct build *b, struct tls_ctx *tc);
static int add_group_certs(struct build *b, SSL_CTX *c, int group);
static struct tls_shared *shared_new(double period);
static void shared_unref(struct tls_shared *s);
static void build_free(struct build *b);
static void ctx_free(struct tls_ctx *tc);
static int sni_cb(SSL *ssl, int *alert, void *arg);
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg);
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
		     EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc);

/* ---- errors and files ---- */

/* err = "file:line: listeners.NAME.tls.KEY: message"; returns -1. */
static int fail(struct build *b, int line, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(b->err, b->errlen, "%s:%d: %s%s.tls%s%s: %s",
		 b->cfg->source ? b->cfg->source : "(config)", line,
		 b->where ? "" : "listeners.", b->where ? b->where : b->l->name,
		 key[0] ? "." : "", key, msg);
	return -1;
}

/* The most specific OpenSSL reason queued ("key values mismatch"), and clears the queue. */
static void ssl_error_text(char *out, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256];
	const char *tail;

	if (!e) {
		snprintf(out, len, "unknown OpenSSL error");
		return;
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	tail = strrchr(buf, ':');
	snprintf(out, len, "%s", tail && tail[1] ? tail + 1 : buf);
	ERR_clear_error();
}

static int read_blob(struct build *b, const char *path, struct blob *out, int line,
		     const char *key)
{
	char full[PATH_MAX];
	struct stat st;
	FILE *fp;
	size_t n;

	/* relative paths are relative to the config file, like @include, so a service
	 * started from / finds the same files as an operator testing with -t in /etc */
	if (path[0] != '/' && b->dir[0])
		n = (size_t)snprintf(full, sizeof(full), "%s/%s", b->dir, path);
	else
		n = (size_t)snprintf(full, sizeof(full), "%s", path);
	if (n >= sizeof(full))
		return fail(b, line, key, "path too long");
	out->path = strdup(full);
	if (!out->path)
		return fail(b, line, key, "out of memory");
	fp = fopen(full, "rb");
	if (!fp)
		return fail(b, line, key, "%s: %s", full, strerror(errno));
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		fclose(fp);
		return fail(b, line, key, "%s: not a regular file of at most %d bytes", full, FILE_MAX);
	}
	out->data = malloc((size_t)st.st_size + 1);
	if (!out->data) {
		fclose(fp);
		return fail(b, line, key, "out of memory");
	}
	out->len = fread(out->data, 1, (size_t)st.st_size, fp);
	out->data[out->len] = '\0';
	if (ferror(fp)) {
		fclose(fp);
		return fail(b, line, key, "%s: read error", full);
	}
	fclose(fp);
	return 0;
}

static void blob_free(struct blob *bl)
{
	free(bl->path);
	if (bl->data)
		OPENSSL_cleanse(bl->data, bl->len);  /* private keys and ticket keys */
	free(bl->data);
	memset(bl, 0, sizeof(*bl));
}

/* PEM reading must never prompt on a terminal: an encrypted key is an error. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

/* ---- building ---- */

static void fp_field(EVP_MD_CTX *md, const char *label, const void *data, size_t len)
{
	uint64_t n = len;

	EVP_DigestUpdate(md, label, strlen(label) + 1);
	EVP_DigestUpdate(md, &n, sizeof(n));
	if (len)
		EVP_DigestUpdate(md, data, len);
}

static void fp_str(EVP_MD_CTX *md, const char *label, const char *s)
{
	fp_field(md, label, s ? s : "", s ? strlen(s) + 1 : 0);
}

/* SHA-256 of every setting and file a build depends on: equal means nothing changed. */
static int fingerprint(struct build *b, unsigned char out[32])
{
	const struct cfg_tls *t = b->l->tls;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint32_t nums[4] = { (uint32_t)b->l->mode, (uint32_t)t->verify_client,
			     t->session_timeout_s, (uint32_t)t->session_tickets };
	unsigned int len = 0;
	size_t i;
	int ok;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	fp_str(md, "name", b->l->name);
	fp_str(md, "min_version", t->min_version);
	fp_str(md, "ciphers", t->ciphers);
	fp_str(md, "ciphersuites", t->ciphersuites);
	fp_str(md, "alpn", t->alpn);
	fp_field(md, "nums", nums, sizeof(nums));
	for (i = 0; i < b->nitems; i++) {
		fp_str(md, "cert", b->items[i].cert.path);
		fp_field(md, "cert-data", b->items[i].cert.data, b->items[i].cert.len);
		fp_field(md, "key-data", b->items[i].key.data, b->items[i].key.len);
	}
	fp_field(md, "ca", b->ca.data, b->ca.len);
	fp_field(md, "tickets", b->tickets.data, b->tickets.len);
	ok = EVP_DigestFinal_ex(md, out, &len) && len == 32;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push_name(struct cert_item *it, const char *raw, size_t rawlen)
{
	char tmp[256], norm[256];

	if (rawlen == 0 || rawlen >= sizeof(tmp) || memchr(raw, '\0', rawlen) ||
	    it->nnames >= NAMES_MAX)
		return 0;  /* an embedded NUL is an old spoofing trick: such a name serves nothing */
	memcpy(tmp, raw, rawlen);
	tmp[rawlen] = '\0';
	if (tls_name_normalize(tmp, norm, sizeof(norm)) == -1)
		return 0;
	if (ARRAY_GROW(&it->names, &it->names_cap, it->nnames + 1, 4) == -1)
		return -1;
	if (!(it->names[it->nnames] = strdup(norm)))
		return -1;
	it->nnames++;
	return 0;
}

/* The DNS names of the subjectAltName, or the subject CN when there is none (what
 * clients that predate SAN-only checking still send SNI for). Sorted and unique, so
 * that two certificates for the same names compare equal. */
static int cert_names(struct cert_item *it)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(it->leaf, NID_subject_alt_name, NULL, NULL);
	int i, n, rc = 0;
	size_t j, out;

	n = gens ? sk_GENERAL_NAME_num(gens) : 0;
	for (i = 0; i < n && rc == 0; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS)
			rc = push_name(it, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
				       (size_t)ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	if (rc == 0 && it->nnames == 0) {
		X509_NAME *subj = X509_get_subject_name(it->leaf);
		int idx = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
		unsigned char *utf8 = NULL;
		int len;

		if (idx >= 0) {
			len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
							       X509_NAME_get_entry(subj, idx)));
			if (len > 0)
				rc = push_name(it, (const char *)utf8, (size_t)len);
			OPENSSL_free(utf8);
		}
	}
	if (it->nnames > 1)
		qsort(it->names, it->nnames, sizeof(*it->names), name_cmp);
	for (j = 0, out = 0; j < it->nnames; j++) {
		if (out > 0 && strcmp(it->names[out - 1], it->names[j]) == 0) {
			free(it->names[j]);
			continue;
		}
		it->names[out++] = it->names[j];
	}
	it->nnames = out;
	return rc;
}

/* Parses the certificate chain and key of entry index (already read into it) and checks
 * that they belong together. */
static int parse_cert(struct build *b, struct cert_item *it, size_t index)
{
	const struct cfg_tls_cert *cc = &b->l->tls->certs[index];
	char kcert[64], kkey[64], why[256];
	BIO *bio;
	X509 *x;

	snprintf(kcert, sizeof(kcert), "certificates.[%zu].cert", index);
	snprintf(kkey, sizeof(kkey), "certificates.[%zu].key", index);
	it->line = cc->line;
	bio = BIO_new_mem_buf(it->cert.data, (int)it->cert.len);
	if (!bio)
		return fail(b, cc->line, kcert, "out of memory");
	it->leaf = PEM_read_bio_X509_AUX(bio, NULL, no_password, NULL);
	it->chain = sk_X509_new_null();
	while (it->leaf && it->chain && (x = PEM_read_bio_X509(bio, NULL, no_password, NULL)))
		if (!sk_X509_push(it->chain, x))
			X509_free(x);
	BIO_free(bio);
	ERR_clear_error();  /* the end of the chain reads as "no start line" */
	if (!it->leaf)
		return fail(b, cc->line, kcert, "%s: no PEM certificate in the file", it->cert.path);
	if (!it->chain)
		return fail(b, cc->line, kcert, "out of memory");
	bio = BIO_new_mem_buf(it->key.data, (int)it->key.len);
	if (!bio)
		return fail(b, cc->line, kkey, "out of memory");
	it->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	if (!it->pkey) {
		ssl_error_text(why, sizeof(why));
		return fail(b, cc->line, kkey,
			    "%s: no usable PEM private key (%s; encrypted keys are not supported)",
			    it->key.path, why);
	}
	if (X509_check_private_key(it->leaf, it->pkey) != 1) {
		ERR_clear_error();
		return fail(b, cc->line, kkey, "%s does not match the certificate in %s",
			    it->key.path, it->cert.path);
	}
	if (cert_names(it) == -1)
		return fail(b, cc->line, kcert, "out of memory");
	if (X509_cmp_current_time(X509_get0_notAfter(it->leaf)) < 0)
		log_warn("listener %s: certificate %s has expired; clients will refuse it",
			 b->l->name, it->cert.path);
	else if (X509_cmp_current_time(X509_get0_notBefore(it->leaf)) > 0)
		log_warn("listener %s: certificate %s is not valid yet", b->l->name, it->cert.path);
	return 0;
}

static int parse_ca(struct build *b)
{
	BIO *bio;
	X509 *x;

	bio = BIO_new_mem_buf(b->ca.data, (int)b->ca.len);
	b->ca_certs = sk_X509_new_null();
	if (!bio || !b->ca_certs) {
		BIO_free(bio);
		return fail(b, b->l->line, "client_ca", "out of memory");
	}
	while ((x = PEM_read_bio_X509(bio, NULL, no_password, NULL)))
		if (!sk_X509_push(b->ca_certs, x))
			X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	if (sk_X509_num(b->ca_certs) == 0)
		return fail(b, b->l->line, "client_ca", "%s: no PEM certificate in the file",
			    b->ca.path);
	return 0;
}

/* Certificates with the same names share one SSL_CTX, where OpenSSL picks the one whose
 * key type the client supports (ECDSA first: it is listed first in our ciphers and
 * signature preference). Returns 0 with the group count, or -1. */
static int group_certs(struct build *b, size_t *ngroups)
{
	size_t i, j, k, n = 0;

	for (i = 0; i < b->nitems; i++) {
		struct cert_item *it = &b->items[i];
		int found = -1;

		for (j = 0; j < i && found < 0; j++) {
			const struct cert_item *o = &b->items[j];

			if (o->nnames != it->nnames)
				continue;
			for (k = 0; k < it->nnames && !strcmp(o->names[k], it->names[k]); k++)
				;
			if (k == it->nnames)
				found = (int)j;
		}
		if (found < 0) {
			it->group = (int)n++;
			continue;
		}
		/* the same names: only a different key type can be served beside it */
		for (j = 0; j < i; j++)
			if (b->items[j].group == b->items[found].group &&
			    EVP_PKEY_get_base_id(b->items[j].pkey) == EVP_PKEY_get_base_id(it->pkey))
				return fail(b, it->line, "certificates",
					    "%s has the same names and key type as %s (line %d): "
					    "only one of them could ever be served", it->cert.path,
					    b->items[j].cert.path, b->items[j].line);
		it->group = b->items[found].group;
	}
	*ngroups = n;
	return 0;
}

static int add_group_certs(struct build *b, SSL_CTX *c, int group)
{
	char why[256];
	size_t i;
	int j;

	for (i = 0; i < b->nitems; i++) {
		struct cert_item *it = &b->items[i];
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
		ssl_error_text(why, sizeof(why));
		return fail(b, it->line, key, "%s: %s", it->cert.path, why);
	}
	return 0;
}

/* A server SSL_CTX with the listener's protocol settings and callbacks; every group's
 * context gets the same ones, since a connection may move to any of them by SNI. */
static SSL_CTX *new_ssl_ctx(struct build *b, struct tls_ctx *tc)
{
	const struct cfg_tls *t = b->l->tls;
	char why[256];
	uint64_t opts;
	SSL_CTX *c;
	int i;

	c = SSL_CTX_new(TLS_server_method());
	if (!c) {
		fail(b, b->l->line, "", "cannot create an SSL context");
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
		fail(b, b->l->line, "ciphers", "no usable cipher in \"%s\"",
		     t->ciphers ? t->ciphers : DEFAULT_CIPHERS);
		goto out;
	}
	if (SSL_CTX_set_ciphersuites(c, t->ciphersuites ? t->ciphersuites : DEFAULT_CIPHERSUITES) != 1) {
		ERR_clear_error();
		fail(b, b->l->line, "ciphersuites", "invalid TLS 1.3 ciphersuites \"%s\"",
		     t->ciphersuites ? t->ciphersuites : DEFAULT_CIPHERSUITES);
		goto out;
	}
	if (SSL_CTX_set1_groups_list(c, DEFAULT_GROUPS) != 1 || SSL_CTX_set_dh_auto(c, 1) != 1)
		goto ssl_fail;
	/* sessions (cache or ticket) resume only on the listener that made them, and only
	 * while its client certificate policy stays the same (tls/tls_policy.c) */
	if (SSL_CTX_set_session_id_context(c, tc->sid, sizeof(tc->sid)) != 1)
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
	    SSL_CTX_set_session_ticket_cb(c, NULL, tls_policy_ticket_cb, tc) != 1)
		goto ssl_fail;
	SSL_CTX_set_app_data(c, tc);
	SSL_CTX_set_tlsext_servername_callback(c, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(c, tc);
	if (tc->alpn_len > 0)
		SSL_CTX_set_alpn_select_cb(c, alpn_cb, tc);
	SSL_CTX_set_default_passwd_cb(c, no_password);
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
	ssl_error_text(why, sizeof(why));
	fail(b, b->l->line, "", "OpenSSL: %s", why);
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

static void build_free(struct build *b)
{
	size_t i, j;

	for (i = 0; i < b->nitems; i++) {
		struct cert_item *it = &b->items[i];

		blob_free(&it->cert);
		blob_free(&it->key);
		X509_free(it->leaf);
		sk_X509_pop_free(it->chain, X509_free);
		EVP_PKEY_free(it->pkey);
		for (j = 0; j < it->nnames; j++)
			free(it->names[j]);
		free(it->names);
	}
	free(b->items);
	blob_free(&b->ca);
	blob_free(&b->tickets);
	sk_X509_pop_free(b->ca_certs, X509_free);
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
static int check_settings(struct build *b)
{
	const struct cfg_tls *t = b->l->tls;
	const char *p;

	if (t->verify_client != TLS_VERIFY_NONE && !t->client_ca)
		return fail(b, b->l->line, "client_ca", "verify_client = \"%s\" needs client_ca "
			    "(the CAs client certificates must chain to)",
			    t->verify_client == TLS_VERIFY_REQUIRED ? "required" : "optional");
	if (t->client_ca && t->verify_client == TLS_VERIFY_NONE)
		return fail(b, b->l->line, "verify_client", "client_ca is set but verify_client is "
			    "\"none\": set \"optional\" or \"required\", or remove client_ca");
	if (b->l->mode == LISTENER_HTTP && t->alpn) {
		for (p = t->alpn; *p;) {
			size_t n = strcspn(p, ",");

			if (!((n == 8 && !strncmp(p, "http/1.1", 8)) || (n == 8 && !strncmp(p, "http/1.0", 8))))
				return fail(b, b->l->line, "alpn", "\"%.*s\": an http listener speaks "
					    "HTTP/1.x only; alpn may list http/1.1 and http/1.0",
					    (int)n, p);
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
	struct build b = { .cfg = cfg, .l = l, .where = where, .err = err, .errlen = errlen };
	struct tls_ticket_key keys[TLS_TICKET_KEYS_MAX];
	struct tls_ctx *tc = NULL;
	unsigned char fp[32];
	const char *slash;
	size_t i, ngroups = 0;
	char why[256];
	int nkeys;

	slash = cfg->source ? strrchr(cfg->source, '/') : NULL;
	if (slash && (size_t)(slash - cfg->source) < sizeof(b.dir))
		snprintf(b.dir, sizeof(b.dir), "%.*s", slash == cfg->source ? 1 : (int)(slash - cfg->source),
			 cfg->source);
	if (check_settings(&b) == -1)
		return NULL;
	b.items = calloc(t->ncerts, sizeof(*b.items));
	if (!b.items) {
		fail(&b, l->line, "", "out of memory");
		return NULL;
	}
	b.nitems = t->ncerts;
	for (i = 0; i < t->ncerts; i++) {
		char kcert[64], kkey[64];

		snprintf(kcert, sizeof(kcert), "certificates.[%zu].cert", i);
		snprintf(kkey, sizeof(kkey), "certificates.[%zu].key", i);
		if (read_blob(&b, t->certs[i].cert, &b.items[i].cert, t->certs[i].line, kcert) == -1 ||
		    read_blob(&b, t->certs[i].key, &b.items[i].key, t->certs[i].line, kkey) == -1)
			goto fail;
	}
	if (t->client_ca && read_blob(&b, t->client_ca, &b.ca, l->line, "client_ca") == -1)
		goto fail;
	if (t->ticket_key_file &&
	    read_blob(&b, t->ticket_key_file, &b.tickets, l->line, "ticket_key_file") == -1)
		goto fail;
	if (fingerprint(&b, fp) == -1) {
		fail(&b, l->line, "", "cannot compute a digest");
		goto fail;
	}
	if (prev && memcmp(prev->fp, fp, sizeof(fp)) == 0) {
		/* same settings, same bytes on disk: keep the context and its session cache */
		build_free(&b);
		tls_ctx_ref(prev);
		return prev;
	}

	/* parse: every certificate and key, then the CA bundle and the ticket keys */
	for (i = 0; i < b.nitems; i++)
		if (parse_cert(&b, &b.items[i], i) == -1)
			goto fail;
	for (i = 1; i < b.nitems; i++)
		if (b.items[i].nnames == 0)
			log_warn("listener %s: certificate %s has no DNS name (SAN or CN): only the "
				 "first certificate is served without a name match", l->name,
				 b.items[i].cert.path);
	if (t->client_ca && parse_ca(&b) == -1)
		goto fail;
	tc = calloc(1, sizeof(*tc));
	if (!tc || !(tc->name = strdup(l->name))) {
		fail(&b, l->line, "", "out of memory");
		goto fail;
	}
	atomic_init(&tc->refs, 1);
	memcpy(tc->fp, fp, sizeof(fp));
	tc->verify = t->verify_client != TLS_VERIFY_NONE;
	tc->verify_required = t->verify_client == TLS_VERIFY_REQUIRED;
	if (tls_policy_context(l->name, t->verify_client, VERIFY_DEPTH, b.ca_certs, tc->sid) == -1) {
		fail(&b, l->line, "", "cannot compute a digest");
		goto fail;
	}
	if (t->ticket_key_file) {
		nkeys = tls_ticket_keys_parse(b.tickets.data, b.tickets.len, keys, TLS_TICKET_KEYS_MAX,
					      why, sizeof(why));
		if (nkeys < 0) {
			fail(&b, l->line, "ticket_key_file", "%s: %s", b.tickets.path, why);
			goto fail;
		}
		if (tls_keyring_init_fixed(&tc->fixed, keys, (unsigned)nkeys) == -1) {
			OPENSSL_cleanse(keys, sizeof(keys));
			fail(&b, l->line, "ticket_key_file", "cannot set up the keys");
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
		fail(&b, l->line, "", "out of memory or no randomness for ticket keys");
		goto fail;
	}
	tc->ring = tc->has_fixed ? &tc->fixed : &tc->shared->ring;
	tc->ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	if (!tc->ticket_cipher) {
		fail(&b, l->line, "", "AES-256-CBC is not available from OpenSSL");
		goto fail;
	}
	tc->alpn_len = 0;
	if (t->alpn || l->mode == LISTENER_HTTP) {
		tc->alpn_len = tls_alpn_wire(t->alpn ? t->alpn : "http/1.1", tc->alpn, sizeof(tc->alpn));
		if (tc->alpn_len < 0) {
			fail(&b, l->line, "alpn", "too long");
			goto fail;
		}
	}
	if (group_certs(&b, &ngroups) == -1)
		goto fail;
	tc->ctxs = calloc(ngroups, sizeof(*tc->ctxs));
	if (!tc->ctxs) {
		fail(&b, l->line, "", "out of memory");
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
	for (i = 0; i < b.nitems; i++) {
		size_t j;

		for (j = 0; j < b.items[i].nnames; j++)
			if (tls_sni_add(&tc->sni, b.items[i].names[j], b.items[i].group) == -1) {
				fail(&b, l->line, "", "out of memory");
				goto fail;
			}
	}
	tls_sni_finish(&tc->sni);
	build_free(&b);
	return tc;
fail:
	build_free(&b);
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
	return t->verify;
}

int tls_ctx_requires_cert(const struct tls_ctx *t)
{
	return t->verify_required;
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
