/* test_tls.c: unit tests of TLS termination: certificate name and SNI matching, ALPN
 * encoding, ticket key rings and files, failure classification, and contexts built from
 * certificates made here, exercised by in-memory handshakes (no sockets). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* asprintf */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "tls.h"

/* Table of contents. */
static void test_normalize(void **state);
static void test_name_kind(void **state);
static void test_name_match(void **state);
static void test_sni_table(void **state);
static void test_alpn_wire(void **state);
static void test_keyring_auto(void **state);
static void test_keyring_idle(void **state);
static void test_keyring_fixed(void **state);
static void test_ticket_keys_parse(void **state);
static void test_classify(void **state);
static void test_build_errors(void **state);
static void test_sni_and_key_types(void **state);
static void test_resumption_and_reuse(void **state);
static void test_relative_paths(void **state);
static void test_chain_as_configured(void **state);
static void test_resumption_rechecks_client_policy(void **state);

static void close_pair(SSL *cs, SSL *ss);
static void next_session(SSL *cs, SSL_SESSION **sess);

static char dir[64];
static int serial = 1;

/* ---- helpers ---- */

static char *path_in(const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		fail_msg("out of memory");
	return p;
}

static void write_text(const char *name, const char *text)
{
	char *p = path_in(name);
	FILE *fp = fopen(p, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	free(p);
}

/* Opens DIR/NAME.EXT with mode; fails the test if it cannot. */
static FILE *open_in(const char *name, const char *ext, const char *mode)
{
	char file[128], *p;
	FILE *fp;

	snprintf(file, sizeof(file), "%s.%s", name, ext);
	p = path_in(file);
	fp = fopen(p, mode);
	if (!fp)
		fail_msg("cannot open %s", p);
	free(p);
	return fp;
}

/* Reads DIR/NAME.crt and DIR/NAME.key (made by make_cert). */
static void read_cert(const char *name, X509 **x, EVP_PKEY **k)
{
	FILE *fp = open_in(name, "crt", "r");

	assert_non_null(*x = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	fp = open_in(name, "key", "r");
	assert_non_null(*k = PEM_read_PrivateKey(fp, NULL, NULL, NULL));
	fclose(fp);
}

/* A certificate NAME.crt with key NAME.key ("EC" or "RSA"), subject O=org/CN=cn, and
 * subjectAltName sans ("DNS:a,DNS:b") unless NULL, signed by the certificate and key
 * ISSUER.crt / ISSUER.key, or self-signed when issuer is NULL; a CA (basicConstraints,
 * so that certificates it signs verify) when ca is set. */
static void make_cert_ext(const char *name, const char *type, const char *org, const char *cn,
			  const char *sans, const char *issuer, int ca)
{
	EVP_PKEY *k = strcmp(type, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
					      : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *x = X509_new(), *ix = NULL;
	EVP_PKEY *ik = NULL;
	X509_NAME *n;
	FILE *fp;

	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	if (issuer)
		read_cert(issuer, &ix, &ik);
	X509_set_issuer_name(x, ix ? X509_get_subject_name(ix) : n);
	if (sans) {
		X509V3_CTX v3;
		X509_EXTENSION *e;

		X509V3_set_ctx_nodb(&v3);
		X509V3_set_ctx(&v3, ix ? ix : x, x, NULL, NULL, 0);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, sans);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	if (ca) {
		X509V3_CTX v3;
		X509_EXTENSION *e;

		X509V3_set_ctx_nodb(&v3);
		X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, ik ? ik : k, EVP_sha256()) > 0);
	X509_free(ix);
	EVP_PKEY_free(ik);
	fp = open_in(name, "crt", "w");
	PEM_write_X509(fp, x);
	fclose(fp);
	fp = open_in(name, "key", "w");
	PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void make_cert_by(const char *name, const char *type, const char *org, const char *cn,
			 const char *sans, const char *issuer)
{
	make_cert_ext(name, type, org, cn, sans, issuer, 0);
}

/* A self-signed certificate (make_cert_by without an issuer). */
static void make_cert(const char *name, const char *type, const char *org, const char *cn,
		      const char *sans)
{
	make_cert_by(name, type, org, cn, sans, NULL);
}

/* Loads a config with one listener whose tls group body is tls (names relative to dir
 * must be given as %s-formatted absolute paths by the caller). */
/* more listener keys for load_tls, e.g. "http2 = false;" ("" = none) */
static const char *listener_extra = "";

static struct config *load_tls(const char *mode, const char *tls)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	char *text = NULL;

	if (asprintf(&text,
		     "listeners = ( { name = \"web\"; bind = \"127.0.0.1:18443\"; pool = \"p\";\n"
		     "  mode = \"%s\"; %s tls = { %s }; } );\n"
		     "pools = ( { name = \"p\"; backends = (); } );\n",
		     mode, listener_extra, tls) == -1)
		fail_msg("out of memory");
	cfg = config_load_string(text, "(test)", &errs);
	if (!cfg)
		config_errors_print(&errs, stderr);
	assert_non_null(cfg);
	config_errors_clear(&errs);
	free(text);
	return cfg;
}

/* "{ cert = "DIR/NAME.crt"; key = "DIR/KEYNAME.key"; }", in one of a few static buffers
 * (so several can appear in one format call and none needs freeing). */
static const char *entry(const char *name, const char *keyname)
{
	static char bufs[8][512];
	static unsigned k;
	char *s = bufs[k++ % 8];

	snprintf(s, sizeof(bufs[0]), "{ cert = \"%s/%s.crt\"; key = \"%s/%s.key\"; }", dir, name,
		 dir, keyname ? keyname : name);
	return s;
}

/* Builds listener 0 of a config made from tls; returns the context or NULL with err. */
static struct tls_ctx *build(const char *mode, const char *tls, struct tls_ctx *prev, char *err,
			     size_t errlen)
{
	struct config *cfg = load_tls(mode, tls);
	struct tls_ctx *t = tls_ctx_build(cfg, &cfg->listeners[0], prev, err, errlen);

	config_free(cfg);
	return t;
}

static void expect_build_error(const char *tls, const char *words)
{
	char err[1024] = "";
	struct tls_ctx *t = build("http", tls, NULL, err, sizeof(err));

	if (t)
		fail_msg("built although expecting an error with \"%s\"", words);
	if (!strstr(err, words))
		fail_msg("error \"%s\" lacks \"%s\"", err, words);
}

/* A client and a server SSL over an in-memory BIO pair, handshaken. Returns 0, -1 if
 * the handshake failed. */
static int handshake(SSL_CTX *client_ctx, struct tls_ctx *server, const char *sni,
		     SSL_SESSION *resume, SSL **cs, SSL **ss)
{
	BIO *cb, *sb;
	int i, cr = 0, sr = 0;

	*cs = SSL_new(client_ctx);
	*ss = SSL_new(tls_ctx_default(server));
	assert_non_null(*cs);
	assert_non_null(*ss);
	assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	SSL_set_bio(*cs, cb, cb);
	SSL_set_bio(*ss, sb, sb);
	SSL_set_connect_state(*cs);
	SSL_set_accept_state(*ss);
	if (sni)
		SSL_set_tlsext_host_name(*cs, sni);
	if (resume)
		SSL_set_session(*cs, resume);
	for (i = 0; i < 50 && (cr != 1 || sr != 1); i++) {
		if (cr != 1)
			cr = SSL_do_handshake(*cs);
		if (sr != 1)
			sr = SSL_do_handshake(*ss);
		if ((cr <= 0 && SSL_get_error(*cs, cr) == SSL_ERROR_SSL) ||
		    (sr <= 0 && SSL_get_error(*ss, sr) == SSL_ERROR_SSL))
			return -1;
	}
	/* TLS 1.3 tickets come after the handshake: let the client read them */
	{
		char b;
		SSL_read(*cs, &b, 1);
	}
	ERR_clear_error();
	return cr == 1 && sr == 1 ? 0 : -1;
}

/* Frees both ends as after a clean close: an SSL freed without a shutdown makes its
 * session unresumable. */
static void close_pair(SSL *cs, SSL *ss)
{
	SSL_set_shutdown(cs, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_set_shutdown(ss, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(cs);
	SSL_free(ss);
}

/* Replaces *sess with the session (newest ticket) cs holds now. */
static void next_session(SSL *cs, SSL_SESSION **sess)
{
	SSL_SESSION *n = SSL_get1_session(cs);

	assert_non_null(n);
	SSL_SESSION_free(*sess);
	*sess = n;
}

/* The O= of the certificate the client was given. */
static void served_org(SSL *cs, char *out, size_t len)
{
	X509 *x = SSL_get0_peer_certificate(cs);

	out[0] = '\0';
	if (x)
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, out, (int)len);
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	assert_non_null(c);
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	return c;
}

/* ---- names ---- */

static void test_normalize(void **state)
{
	char out[256];
	char longname[300];

	assert_int_equal(tls_name_normalize("Example.COM.", out, sizeof(out)), 0);
	assert_string_equal(out, "example.com");
	assert_int_equal(tls_name_normalize("*.W.Test", out, sizeof(out)), 0);
	assert_string_equal(out, "*.w.test");
	assert_int_equal(tls_name_normalize("", out, sizeof(out)), -1);
	assert_int_equal(tls_name_normalize(".", out, sizeof(out)), -1);
	assert_int_equal(tls_name_normalize("a b.test", out, sizeof(out)), -1);
	assert_int_equal(tls_name_normalize("caf\xc3\xa9.test", out, sizeof(out)), -1);
	assert_int_equal(tls_name_normalize("a.test", out, 6), -1);  /* does not fit */
	memset(longname, 'a', 254);
	longname[254] = '\0';
	assert_int_equal(tls_name_normalize(longname, out, sizeof(out)), -1);
	longname[253] = '\0';
	assert_int_equal(tls_name_normalize(longname, out, sizeof(out)), 0);
}

static void test_name_kind(void **state)
{
	assert_int_equal(tls_name_kind("a.example.com"), TLS_NAME_EXACT);
	assert_int_equal(tls_name_kind("localhost"), TLS_NAME_EXACT);
	assert_int_equal(tls_name_kind("*.example.com"), TLS_NAME_WILDCARD);
	assert_int_equal(tls_name_kind("*.com"), TLS_NAME_UNUSABLE);        /* a whole TLD */
	assert_int_equal(tls_name_kind("*"), TLS_NAME_UNUSABLE);
	assert_int_equal(tls_name_kind("*."), TLS_NAME_UNUSABLE);
	assert_int_equal(tls_name_kind("f*.example.com"), TLS_NAME_UNUSABLE); /* partial */
	assert_int_equal(tls_name_kind("*oo.example.com"), TLS_NAME_UNUSABLE);
	assert_int_equal(tls_name_kind("a.*.example.com"), TLS_NAME_UNUSABLE);
	assert_int_equal(tls_name_kind("*.*.example.com"), TLS_NAME_UNUSABLE);
	assert_int_equal(tls_name_kind(".example.com"), TLS_NAME_UNUSABLE);
	assert_int_equal(tls_name_kind("a..example.com"), TLS_NAME_UNUSABLE);
	assert_int_equal(tls_name_kind(""), TLS_NAME_UNUSABLE);
}

static void test_name_match(void **state)
{
	/* exact, case-insensitive, trailing dot */
	assert_true(tls_name_match("a.example.com", "a.example.com"));
	assert_true(tls_name_match("a.example.com", "A.Example.COM"));
	assert_true(tls_name_match("A.EXAMPLE.COM", "a.example.com."));
	assert_false(tls_name_match("a.example.com", "b.example.com"));
	assert_false(tls_name_match("a.example.com", "a.example.co"));
	assert_false(tls_name_match("a.example.com", "xa.example.com"));
	/* a wildcard covers exactly one left-most label */
	assert_true(tls_name_match("*.example.com", "www.example.com"));
	assert_true(tls_name_match("*.example.com", "WWW.EXAMPLE.COM."));
	assert_true(tls_name_match("*.Example.com", "x-1.example.com"));
	assert_false(tls_name_match("*.example.com", "a.b.example.com"));
	assert_false(tls_name_match("*.example.com", "example.com"));
	assert_false(tls_name_match("*.example.com", ".example.com"));
	assert_false(tls_name_match("*.example.com", "wwwexample.com"));
	assert_false(tls_name_match("*.example.com", "www.example.org"));
	/* no partial wildcards, no wildcard TLDs, no '*' in hosts */
	assert_false(tls_name_match("f*.example.com", "foo.example.com"));
	assert_false(tls_name_match("*o.example.com", "foo.example.com"));
	assert_false(tls_name_match("*.com", "example.com"));
	assert_false(tls_name_match("*.example.com", "*.example.com"));
	assert_false(tls_name_match("a.example.com", ""));
	assert_false(tls_name_match("", "a.example.com"));
}

static void test_sni_table(void **state)
{
	struct tls_sni_table t = { 0 };

	assert_int_equal(tls_sni_add(&t, "a.test", 0), 0);
	assert_int_equal(tls_sni_add(&t, "*.w.test", 0), 0);
	assert_int_equal(tls_sni_add(&t, "B.Test", 1), 0);
	assert_int_equal(tls_sni_add(&t, "a.test", 2), 0);      /* later groups lose */
	assert_int_equal(tls_sni_add(&t, "*.w.test", 1), 0);
	assert_int_equal(tls_sni_add(&t, "x.w.test", 3), 0);    /* exact beats wildcard */
	assert_int_equal(tls_sni_add(&t, "f*.w.test", 4), 1);   /* ignored */
	assert_int_equal(tls_sni_add(&t, "*.test", 4), 1);      /* ignored */
	tls_sni_finish(&t);
	assert_int_equal(t.nexact, 3);
	assert_int_equal(t.nwild, 1);
	assert_int_equal(tls_sni_lookup(&t, "a.test"), 0);
	assert_int_equal(tls_sni_lookup(&t, "A.TEST."), 0);
	assert_int_equal(tls_sni_lookup(&t, "b.test"), 1);
	assert_int_equal(tls_sni_lookup(&t, "y.w.test"), 0);
	assert_int_equal(tls_sni_lookup(&t, "x.w.test"), 3);
	assert_int_equal(tls_sni_lookup(&t, "a.b.w.test"), -1);
	assert_int_equal(tls_sni_lookup(&t, "w.test"), -1);
	assert_int_equal(tls_sni_lookup(&t, "fa.w.test"), 0);   /* the wildcard, not f* */
	assert_int_equal(tls_sni_lookup(&t, "c.test"), -1);
	assert_int_equal(tls_sni_lookup(&t, "*.w.test"), -1);
	assert_int_equal(tls_sni_lookup(&t, ""), -1);
	tls_sni_free(&t);
	/* an empty table finds nothing */
	tls_sni_finish(&t);
	assert_int_equal(tls_sni_lookup(&t, "a.test"), -1);
	tls_sni_free(&t);
}

static void test_alpn_wire(void **state)
{
	unsigned char out[64];

	assert_int_equal(tls_alpn_wire("http/1.1", out, sizeof(out)), 9);
	assert_memory_equal(out, "\x08http/1.1", 9);
	assert_int_equal(tls_alpn_wire("h2,http/1.1", out, sizeof(out)), 12);
	assert_memory_equal(out, "\x02h2\x08http/1.1", 12);
	assert_int_equal(tls_alpn_wire("h2,,x", out, sizeof(out)), -1);
	assert_int_equal(tls_alpn_wire("", out, sizeof(out)), -1);
	assert_int_equal(tls_alpn_wire("http/1.1", out, 8), -1);
}

/* ---- ticket keys ---- */

static void test_keyring_auto(void **state)
{
	struct tls_keyring r;
	struct tls_ticket_key k0, k1, k2, k3, k;
	atomic_ulong rotations;
	int renew;

	atomic_init(&rotations, 0);
	assert_int_equal(tls_keyring_init_auto(&r, 10, 1000, &rotations), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(tls_keyring_encrypt_key(&r, 1005, &k0), 0);
	assert_int_equal(tls_keyring_encrypt_key(&r, 1009.9, &k), 0);
	assert_memory_equal(k.name, k0.name, 16);  /* same period, same key */
	assert_int_equal(atomic_load(&rotations), 0);

	/* one period later a new key encrypts; the old one still decrypts, asking renewal */
	assert_int_equal(tls_keyring_encrypt_key(&r, 1010, &k1), 0);
	assert_memory_not_equal(k1.name, k0.name, 16);
	assert_int_equal(r.n, 2);
	assert_int_equal(tls_keyring_decrypt_key(&r, k0.name, 1011, &k, &renew), 0);
	assert_memory_equal(k.aes, k0.aes, 32);
	assert_memory_equal(k.hmac, k0.hmac, 32);
	assert_int_equal(renew, 1);
	assert_int_equal(tls_keyring_decrypt_key(&r, k1.name, 1011, &k, &renew), 0);
	assert_int_equal(renew, 0);
	assert_int_equal(atomic_load(&rotations), 1);

	/* the schedule stays aligned to the start, whenever the ring is used */
	assert_int_equal(tls_keyring_encrypt_key(&r, 1025, &k2), 0);
	assert_true(k2.created == 1020);
	assert_int_equal(r.n, 3);
	assert_int_equal(tls_keyring_decrypt_key(&r, k0.name, 1025, &k, &renew), 0);

	/* three periods after it encrypted its last ticket, a key is gone */
	assert_int_equal(tls_keyring_encrypt_key(&r, 1030, &k3), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(tls_keyring_decrypt_key(&r, k0.name, 1030, &k, &renew), -1);
	assert_int_equal(tls_keyring_decrypt_key(&r, k1.name, 1030, &k, &renew), 0);
	assert_int_equal(renew, 1);
	assert_int_equal(atomic_load(&rotations), 3);

	/* a shorter period (reload) applies from the next use */
	tls_keyring_set_period(&r, 5);
	assert_int_equal(tls_keyring_encrypt_key(&r, 1035, &k), 0);
	assert_memory_not_equal(k.name, k3.name, 16);
	tls_keyring_destroy(&r);
}

static void test_keyring_idle(void **state)
{
	struct tls_keyring r;
	struct tls_ticket_key k0, k;
	int renew;

	assert_int_equal(tls_keyring_init_auto(&r, 10, 0, NULL), 0);
	assert_int_equal(tls_keyring_encrypt_key(&r, 1, &k0), 0);
	/* two periods unused: two rotations at once, the old key still decrypts */
	assert_int_equal(tls_keyring_encrypt_key(&r, 25, &k), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(tls_keyring_decrypt_key(&r, k0.name, 25, &k, &renew), 0);
	/* idle for longer than every key lives: one fresh key, nothing old decrypts */
	assert_int_equal(tls_keyring_advance(&r, 1000), TLS_TICKET_KEYS_AUTO);
	assert_int_equal(r.n, 1);
	assert_true(r.keys[0].created == 1000);
	assert_int_equal(tls_keyring_decrypt_key(&r, k0.name, 1000, &k, &renew), -1);
	tls_keyring_destroy(&r);
}

static void test_keyring_fixed(void **state)
{
	struct tls_ticket_key keys[2], k;
	struct tls_keyring r;
	unsigned char unknown[16] = { 0 };
	int renew;

	memset(keys, 0, sizeof(keys));
	memset(keys[0].name, 'a', 16);
	memset(keys[0].aes, 1, 32);
	memset(keys[1].name, 'b', 16);
	memset(keys[1].aes, 2, 32);
	assert_int_equal(tls_keyring_init_fixed(&r, keys, 0), -1);
	assert_int_equal(tls_keyring_init_fixed(&r, keys, 2), 0);
	/* never rotated: the file is the schedule */
	assert_int_equal(tls_keyring_encrypt_key(&r, 1e9, &k), 0);
	assert_memory_equal(k.name, keys[0].name, 16);
	assert_int_equal(tls_keyring_decrypt_key(&r, keys[1].name, 2e9, &k, &renew), 0);
	assert_int_equal(renew, 1);
	assert_int_equal(k.aes[0], 2);
	assert_int_equal(tls_keyring_decrypt_key(&r, keys[0].name, 2e9, &k, &renew), 0);
	assert_int_equal(renew, 0);
	assert_int_equal(tls_keyring_decrypt_key(&r, unknown, 2e9, &k, &renew), -1);
	tls_keyring_destroy(&r);
}

static void test_ticket_keys_parse(void **state)
{
	struct tls_ticket_key keys[TLS_TICKET_KEYS_MAX];
	char hex1[161], hex2[161], text[1024], err[256];
	int i;

	for (i = 0; i < 160; i++) {
		hex1[i] = "0123456789abcdef"[i % 16];
		hex2[i] = "FEDCBA9876543210"[i % 16];
	}
	hex1[160] = hex2[160] = '\0';
	snprintf(text, sizeof(text), "# rotate weekly\n\n  %s  \r\n%s\n", hex1, hex2);
	assert_int_equal(tls_ticket_keys_parse(text, strlen(text), keys, TLS_TICKET_KEYS_MAX, err,
					       sizeof(err)), 2);
	assert_int_equal(keys[0].name[0], 0x01);
	assert_int_equal(keys[0].name[1], 0x23);
	assert_int_equal(keys[0].aes[0], 0x01);   /* byte 16 of 0123..ef repeated */
	assert_int_equal(keys[1].name[0], 0xfe);
	/* no trailing newline is fine */
	assert_int_equal(tls_ticket_keys_parse(hex1, 160, keys, TLS_TICKET_KEYS_MAX, err, sizeof(err)), 1);

	snprintf(text, sizeof(text), "%s\n%.150s\n", hex1, hex2);
	assert_int_equal(tls_ticket_keys_parse(text, strlen(text), keys, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2: expected 160 hex digits"));
	snprintf(text, sizeof(text), "%s\n", hex1);
	text[5] = 'g';
	assert_int_equal(tls_ticket_keys_parse(text, strlen(text), keys, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1: not a hex digit at column 6"));
	snprintf(text, sizeof(text), "%s\n%s\n", hex1, hex1);
	assert_int_equal(tls_ticket_keys_parse(text, strlen(text), keys, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "repeats an earlier key"));
	snprintf(text, sizeof(text), "%s\n%s\n", hex1, hex2);
	assert_int_equal(tls_ticket_keys_parse(text, strlen(text), keys, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 1 keys"));
	assert_int_equal(tls_ticket_keys_parse("# nothing\n\n", 11, keys, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no key"));
}

static void test_classify(void **state)
{
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_NO_SHARED_CIPHER, X509_V_OK, 1),
			 TLS_FAIL_NO_SHARED_CIPHER);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_NO_SHARED_GROUPS, X509_V_OK, 1),
			 TLS_FAIL_NO_SHARED_CIPHER);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_UNSUPPORTED_PROTOCOL, X509_V_OK, 1),
			 TLS_FAIL_PROTOCOL_VERSION);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_VERSION_TOO_LOW, X509_V_OK, 1),
			 TLS_FAIL_PROTOCOL_VERSION);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, X509_V_OK, 1),
			 TLS_FAIL_PROTOCOL_VERSION);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED,
				      X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 1),
			 TLS_FAIL_UNKNOWN_CA);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED,
				      X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 1),
			 TLS_FAIL_UNKNOWN_CA);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED,
				      X509_V_ERR_CERT_HAS_EXPIRED, 1),
			 TLS_FAIL_BAD_CLIENT_CERT);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, X509_V_OK, 1),
			 TLS_FAIL_NO_CLIENT_CERT);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_TLSV1_ALERT_UNKNOWN_CA, X509_V_OK, 1),
			 TLS_FAIL_UNKNOWN_CA);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, X509_V_OK, 1),
			 TLS_FAIL_ALERT);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_HTTP_REQUEST, X509_V_OK, 1),
			 TLS_FAIL_NOT_TLS);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_WRONG_VERSION_NUMBER, X509_V_OK, 1),
			 TLS_FAIL_NOT_TLS);
	assert_int_equal(tls_classify(SSL_ERROR_SYSCALL, 0, X509_V_OK, 0), TLS_FAIL_CLOSED);
	assert_int_equal(tls_classify(SSL_ERROR_ZERO_RETURN, 0, X509_V_OK, 1), TLS_FAIL_CLOSED);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, SSL_R_UNEXPECTED_EOF_WHILE_READING, X509_V_OK, 1),
			 TLS_FAIL_CLOSED);
	assert_int_equal(tls_classify(SSL_ERROR_SSL, 12345, X509_V_OK, 1), TLS_FAIL_OTHER);
	assert_string_equal(tls_fail_name(TLS_FAIL_NO_SHARED_CIPHER), "no_shared_cipher");
	assert_string_equal(tls_fail_name(TLS_FAIL_TIMEOUT), "timeout");
	assert_string_equal(tls_fail_name(TLS_FAIL__COUNT), "other");
}

/* ---- contexts ---- */

static void test_build_errors(void **state)
{
	const char *ec = entry("ec", NULL), *bad = entry("ec", "rsa"), *missing = entry("ec", "nope");
	char *tls = NULL;

	/* a key that belongs to another certificate */
	assert_true(asprintf(&tls, "certificates = ( %s );", bad) > 0);
	expect_build_error(tls, "web.tls.certificates.[0].key: ");
	expect_build_error(tls, "rsa.key does not match the certificate in ");
	free(tls);
	/* a missing file, named with its errno text */
	assert_true(asprintf(&tls, "certificates = ( %s, %s );", ec, missing) > 0);
	expect_build_error(tls, "certificates.[1].key: ");
	expect_build_error(tls, "nope.key: No such file or directory");
	free(tls);
	/* a certificate file without a certificate */
	write_text("empty.crt", "not a certificate\n");
	assert_true(asprintf(&tls, "certificates = ( { cert = \"%s/empty.crt\"; key = \"%s/ec.key\"; } );",
			     dir, dir) > 0);
	expect_build_error(tls, "empty.crt: no PEM certificate in the file");
	free(tls);
	/* the same names and key type twice: one could never be served */
	assert_true(asprintf(&tls, "certificates = ( %s, %s );", ec, entry("ec2", NULL)) > 0);
	expect_build_error(tls, "has the same names and key type as");
	free(tls);
	/* mutual TLS needs both halves */
	assert_true(asprintf(&tls, "certificates = ( %s ); verify_client = \"required\";", ec) > 0);
	expect_build_error(tls, "web.tls.client_ca: verify_client = \"required\" needs client_ca");
	free(tls);
	assert_true(asprintf(&tls, "certificates = ( %s ); client_ca = \"%s/ec.crt\";", ec, dir) > 0);
	expect_build_error(tls, "web.tls.verify_client: client_ca is set but verify_client is \"none\"");
	free(tls);
	/* http listeners speak HTTP/1.x, and h2 only with http2 (on by default) */
	assert_true(asprintf(&tls, "certificates = ( %s ); alpn = \"h2,http/1.1\";", ec) > 0);
	listener_extra = "http2 = false;";
	expect_build_error(tls, "web.tls.alpn: \"h2\": an http listener speaks HTTP/1.x (and h2 with http2 = true)");
	listener_extra = "";
	free(tls);
	/* cipher lists OpenSSL cannot use */
	assert_true(asprintf(&tls, "certificates = ( %s ); ciphers = \"NOPE-CIPHER\";", ec) > 0);
	expect_build_error(tls, "web.tls.ciphers: no usable cipher in \"NOPE-CIPHER\"");
	free(tls);
	assert_true(asprintf(&tls, "certificates = ( %s ); ciphersuites = \"TLS_NOPE\";", ec) > 0);
	expect_build_error(tls, "web.tls.ciphersuites: invalid TLS 1.3 ciphersuites");
	free(tls);
	/* a ticket key file with a bad line */
	write_text("bad.keys", "0011\n");
	assert_true(asprintf(&tls, "certificates = ( %s ); ticket_key_file = \"%s/bad.keys\";", ec, dir) > 0);
	expect_build_error(tls, "bad.keys: line 1: expected 160 hex digits");
	free(tls);
}

static void test_sni_and_key_types(void **state)
{
	char *tls = NULL, err[1024], org[64];
	SSL_CTX *cc = client_ctx();
	struct tls_ctx *t;
	SSL *cs, *ss;

	assert_true(asprintf(&tls, "certificates = ( %s, %s, %s, %s );", entry("ec", NULL),
			     entry("rsa", NULL), entry("b", NULL), entry("cnonly", NULL)) > 0);
	t = build("http", tls, NULL, err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	/* name -> certificate, and ECDSA preferred when the client takes both */
	static const struct { const char *sni, *sigalgs, *org; } cases[] = {
		{ "a.test", NULL, "ec" },
		{ "A.TEST", NULL, "ec" },
		{ "x.w.test", NULL, "ec" },
		{ "a.test", "RSA-PSS+SHA256:RSA+SHA256", "rsa" },
		{ "b.test", NULL, "b" },
		{ "cn.test", NULL, "cnonly" },     /* the CN when there is no SAN */
		{ "a.b.w.test", NULL, "ec" },      /* deeper than the wildcard: the default */
		{ "unknown.test", NULL, "ec" },
		{ NULL, NULL, "ec" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].sigalgs)
			assert_int_equal(SSL_CTX_set1_sigalgs_list(cc, cases[i].sigalgs), 1);
		assert_int_equal(handshake(cc, t, cases[i].sni, NULL, &cs, &ss), 0);
		served_org(cs, org, sizeof(org));
		if (strcmp(org, cases[i].org))
			fail_msg("SNI %s: served %s, expected %s", cases[i].sni ? cases[i].sni : "(none)",
				 org, cases[i].org);
		{
			const unsigned char *p = NULL;
			unsigned n = 0;
			SSL_get0_alpn_selected(ss, &p, &n);
			assert_int_equal(n, 0);  /* the client offered none */
		}
		SSL_free(cs);
		SSL_free(ss);
		if (cases[i].sigalgs) {
			SSL_CTX_free(cc);
			cc = client_ctx();
		}
	}
	/* ALPN: h2 (http2 is on by default on a TLS http listener) for a client offering
	 * it first; http/1.1 for one offering only that */
	assert_int_equal(SSL_CTX_set_alpn_protos(cc, (const unsigned char *)"\x02h2\x08http/1.1", 12), 0);
	assert_int_equal(handshake(cc, t, "a.test", NULL, &cs, &ss), 0);
	{
		const unsigned char *p = NULL;
		unsigned n = 0;
		SSL_get0_alpn_selected(cs, &p, &n);
		assert_int_equal(n, 2);
		assert_memory_equal(p, "h2", 2);
	}
	close_pair(cs, ss);
	assert_int_equal(SSL_CTX_set_alpn_protos(cc, (const unsigned char *)"\x08http/1.1", 9), 0);
	assert_int_equal(handshake(cc, t, "a.test", NULL, &cs, &ss), 0);
	{
		const unsigned char *p = NULL;
		unsigned n = 0;
		SSL_get0_alpn_selected(cs, &p, &n);
		assert_int_equal(n, 8);
		assert_memory_equal(p, "http/1.1", 8);
	}
	close_pair(cs, ss);
	/* TLS 1.1 is refused by default */
	{
		SSL_CTX *old = client_ctx();
		SSL_CTX_set_security_level(old, 0);
		SSL_CTX_set_min_proto_version(old, TLS1_1_VERSION);
		SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION);
		SSL_CTX_set_cipher_list(old, "DEFAULT:@SECLEVEL=0");
		assert_int_equal(handshake(old, t, "a.test", NULL, &cs, &ss), -1);
		SSL_free(cs);
		SSL_free(ss);
		SSL_CTX_free(old);
		ERR_clear_error();
	}
	tls_ctx_unref(t);
	SSL_CTX_free(cc);
	free(tls);
}

/* The server sends exactly the chain its certificate file holds. For a file with the
 * leaf only, OpenSSL would otherwise build a chain from the context's trust store on
 * every full handshake (auto-chaining) and, with client_ca holding the server's own
 * issuer, send that CA too, which nothing in the configuration asked for. */
static void test_chain_as_configured(void **state)
{
	char *tls = NULL, err[1024];
	SSL_CTX *cc = client_ctx();
	struct tls_ctx *t;
	SSL *cs, *ss;
	STACK_OF(X509) *chain;

	(void)state;
	make_cert("chain-ca", "EC", "chain-ca", "Chain Test CA", NULL);
	make_cert_by("chain-leaf", "EC", "chain-leaf", "a.test", "DNS:a.test", "chain-ca");
	assert_true(asprintf(&tls, "certificates = ( %s ); verify_client = \"optional\"; "
				   "client_ca = \"%s/chain-ca.crt\";",
			     entry("chain-leaf", NULL), dir) > 0);
	t = build("http", tls, NULL, err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	assert_int_equal(handshake(cc, t, "a.test", NULL, &cs, &ss), 0);
	chain = SSL_get_peer_cert_chain(cs);
	assert_non_null(chain);
	/* the file has the leaf only, so the leaf only (not the client CA beside it) */
	assert_int_equal(sk_X509_num(chain), 1);
	close_pair(cs, ss);
	tls_ctx_unref(t);
	SSL_CTX_free(cc);
	free(tls);
}

/* A session resumes only under the client certificate policy it was made under: one
 * from before verify_client was turned on (ticket keys carried over by the reload) does
 * not, and one whose client certificate no longer verifies (here: the clock moved past
 * its expiry) is refused by the ticket callback and by tls_ctx_session_allowed. */
static void test_resumption_rechecks_client_policy(void **state)
{
	char *open_tls = NULL, *mtls = NULL, err[1024], *p;
	SSL_CTX *cc = client_ctx(), *alice = client_ctx();
	struct tls_ctx *off, *req;
	SSL_SESSION *sess = NULL, *server_sess;  /* the client's (to resume), the server's */
	X509_VERIFY_PARAM *param;
	enum tls_fail why = TLS_FAIL_OTHER;
	SSL *cs, *ss;
	int rc;

	(void)state;
	make_cert_ext("mca", "EC", "mca", "mTLS CA", NULL, NULL, 1);
	make_cert_by("alice", "EC", "alice", "alice", NULL, "mca");
	assert_int_equal(SSL_CTX_use_certificate_file(alice, p = path_in("alice.crt"), SSL_FILETYPE_PEM), 1);
	free(p);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(alice, p = path_in("alice.key"), SSL_FILETYPE_PEM), 1);
	free(p);
	assert_true(asprintf(&open_tls, "certificates = ( %s );", entry("ec", NULL)) > 0);
	assert_true(asprintf(&mtls, "certificates = ( %s ); verify_client = \"required\"; "
				    "client_ca = \"%s/mca.crt\";", entry("ec", NULL), dir) > 0);

	/* verify_client off: a session without a client certificate */
	off = build("http", open_tls, NULL, err, sizeof(err));
	if (!off)
		fail_msg("%s", err);
	assert_int_equal(handshake(cc, off, "a.test", NULL, &cs, &ss), 0);
	next_session(cs, &sess);
	assert_non_null(server_sess = SSL_get1_session(ss));
	close_pair(cs, ss);
	/* reloaded with verify_client = "required": same ticket keys, yet no resumption */
	req = build("http", mtls, off, err, sizeof(err));
	if (!req)
		fail_msg("%s", err);
	assert_int_equal(tls_ctx_session_allowed(req, NULL, server_sess, &why), 0);
	assert_int_equal(why, TLS_FAIL_NO_CLIENT_CERT);
	SSL_SESSION_free(server_sess);
	rc = handshake(cc, req, "a.test", sess, &cs, &ss);
	assert_true(rc == -1 || !SSL_session_reused(ss));
	assert_int_equal(rc, -1);  /* and the full handshake wants a certificate */
	SSL_free(cs);
	SSL_free(ss);
	ERR_clear_error();

	/* alice's session resumes while her certificate verifies */
	assert_int_equal(handshake(alice, req, "a.test", NULL, &cs, &ss), 0);
	next_session(cs, &sess);
	assert_non_null(server_sess = SSL_get1_session(ss));
	close_pair(cs, ss);
	assert_int_equal(tls_ctx_session_allowed(req, NULL, server_sess, &why), 1);
	assert_int_equal(handshake(alice, req, "a.test", sess, &cs, &ss), 0);
	assert_true(SSL_session_reused(ss));
	next_session(cs, &sess);
	close_pair(cs, ss);
	/* two hours later her certificate has expired: the ticket is not used */
	param = SSL_CTX_get0_param(tls_ctx_default(req));
	X509_VERIFY_PARAM_set_time(param, time(NULL) + 7200);
	assert_int_equal(tls_ctx_session_allowed(req, NULL, server_sess, &why), 0);
	assert_int_equal(why, TLS_FAIL_BAD_CLIENT_CERT);
	SSL_SESSION_free(server_sess);
	rc = handshake(alice, req, "a.test", sess, &cs, &ss);
	assert_true(rc == -1 || !SSL_session_reused(ss));
	SSL_free(cs);
	SSL_free(ss);
	ERR_clear_error();

	SSL_SESSION_free(sess);
	tls_ctx_unref(req);
	tls_ctx_unref(off);
	SSL_CTX_free(alice);
	SSL_CTX_free(cc);
	free(open_tls);
	free(mtls);
}

static void test_resumption_and_reuse(void **state)
{
	char *tls = NULL, err[1024];
	SSL_CTX *cc = client_ctx();
	struct tls_ctx *t, *same, *changed;
	SSL_SESSION *sess;
	SSL *cs, *ss;

	assert_true(asprintf(&tls, "certificates = ( %s );", entry("ec", NULL)) > 0);
	t = build("tcp", tls, NULL, err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	assert_int_equal(handshake(cc, t, "a.test", NULL, &cs, &ss), 0);
	sess = SSL_get1_session(cs);
	assert_non_null(sess);
	assert_true(SSL_SESSION_is_resumable(sess));
	close_pair(cs, ss);
	assert_int_equal(handshake(cc, t, "a.test", sess, &cs, &ss), 0);
	assert_true(SSL_session_reused(ss));
	assert_true(tls_ctx_stats(t) != NULL);
	next_session(cs, &sess);  /* TLS 1.3 clients use each ticket once */
	close_pair(cs, ss);

	/* a reload with the same files keeps the context itself */
	same = build("tcp", tls, t, err, sizeof(err));
	assert_ptr_equal(same, t);
	tls_ctx_unref(same);
	/* a changed certificate makes a new one, sharing counters and generated ticket keys:
	 * the ticket issued before still resumes */
	make_cert("ec", "EC", "ec-v2", "a.test", "DNS:a.test,DNS:*.w.test");
	changed = build("tcp", tls, t, err, sizeof(err));
	if (!changed)
		fail_msg("%s", err);
	assert_ptr_not_equal(changed, t);
	assert_ptr_equal(tls_ctx_stats(changed), tls_ctx_stats(t));
	assert_int_equal(handshake(cc, changed, "a.test", sess, &cs, &ss), 0);
	assert_true(SSL_session_reused(ss));
	next_session(cs, &sess);
	close_pair(cs, ss);
	/* a ticket from another listener's keys is not accepted */
	tls_ctx_unref(changed);
	changed = build("tcp", tls, NULL, err, sizeof(err));
	assert_non_null(changed);
	assert_int_equal(handshake(cc, changed, "a.test", sess, &cs, &ss), 0);
	assert_false(SSL_session_reused(ss));
	close_pair(cs, ss);
	tls_ctx_unref(changed);
	SSL_SESSION_free(sess);
	tls_ctx_unref(t);
	SSL_CTX_free(cc);
	free(tls);
	make_cert("ec", "EC", "ec", "a.test", "DNS:a.test,DNS:*.w.test");
}

/* Certificate paths are relative to the config file's directory. */
static void test_relative_paths(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	struct tls_ctx *t;
	char err[1024], *cfgpath = path_in("rel.cfg");

	write_text("rel.cfg", "listeners = ( { name = \"web\"; bind = \"127.0.0.1:18443\"; pool = \"p\";\n"
			      "  tls = { certificates = ( { cert = \"ec.crt\"; key = \"ec.key\"; } ); }; } );\n"
			      "pools = ( { name = \"p\"; } );\n");
	assert_int_equal(chdir("/"), 0);
	cfg = config_load_file(cfgpath, &errs);
	assert_non_null(cfg);
	t = tls_ctx_build(cfg, &cfg->listeners[0], NULL, err, sizeof(err));
	if (!t)
		fail_msg("%s", err);
	tls_ctx_unref(t);
	assert_int_equal(tls_config_check(cfg, stderr), 0);
	config_free(cfg);
	config_errors_clear(&errs);
	free(cfgpath);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_tls.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	make_cert("ec", "EC", "ec", "a.test", "DNS:a.test,DNS:*.w.test");
	make_cert("ec2", "EC", "ec2", "a.test", "DNS:*.w.test,DNS:A.test");  /* same set, other order */
	make_cert("rsa", "RSA", "rsa", "a.test", "DNS:a.test,DNS:*.w.test");
	make_cert("b", "EC", "b", "b.test", "DNS:b.test");
	make_cert("cnonly", "EC", "cnonly", "cn.test", NULL);
	return 0;
}

static int teardown(void **state)
{
	static const char *const files[] = { "ec", "ec2", "rsa", "b", "cnonly", "mca", "alice",
					       "chain-ca", "chain-leaf" };
	char *p;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char f[64];

		snprintf(f, sizeof(f), "%s.crt", files[i]);
		unlink(p = path_in(f));
		free(p);
		snprintf(f, sizeof(f), "%s.key", files[i]);
		unlink(p = path_in(f));
		free(p);
	}
	unlink(p = path_in("empty.crt"));
	free(p);
	unlink(p = path_in("bad.keys"));
	free(p);
	unlink(p = path_in("rel.cfg"));
	free(p);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_name_kind),
		cmocka_unit_test(test_name_match),
		cmocka_unit_test(test_sni_table),
		cmocka_unit_test(test_alpn_wire),
		cmocka_unit_test(test_keyring_auto),
		cmocka_unit_test(test_keyring_idle),
		cmocka_unit_test(test_keyring_fixed),
		cmocka_unit_test(test_ticket_keys_parse),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_sni_and_key_types),
		cmocka_unit_test(test_resumption_and_reuse),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_chain_as_configured),
		cmocka_unit_test(test_resumption_rechecks_client_policy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
