/* tls_certs.c: certificate loading for one listener's TLS setup: the PEM files read
 * (relative to the config), each key checked against its certificate, chains, client CAs,
 * the names each certificate serves and their grouping into SNI certificate sets. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "array.h"
#include "log.h"
#include "tls-int.h"
#include "tls.h"

#define FILE_MAX (4 * 1024 * 1024)  /* certificate bundles are kilobytes; refuse surprises */
#define NAMES_MAX 1024              /* names one certificate may bring */

static int read_blob(struct tls_build *b, const char *path, struct tls_blob *out, int line,
		     const char *key);
static void blob_free(struct tls_blob *bl);
static int parse_cert(struct tls_build *b, struct tls_cert_item *it, size_t index);
static int cert_names(struct tls_cert_item *it);
static int parse_ca(struct tls_build *b);

/* ---- errors and files ---- */

/* err = "file:line: listeners.NAME.tls.KEY: message"; returns -1. */
int tls_build_fail(struct tls_build *b, int line, const char *key, const char *fmt, ...)
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
void tls_ssl_error_text(char *out, size_t len)
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

static int read_blob(struct tls_build *b, const char *path, struct tls_blob *out, int line,
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
		return tls_build_fail(b, line, key, "path too long");
	out->path = strdup(full);
	if (!out->path)
		return tls_build_fail(b, line, key, "out of memory");
	fp = fopen(full, "rb");
	if (!fp)
		return tls_build_fail(b, line, key, "%s: %s", full, strerror(errno));
	if (fstat(fileno(fp), &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		fclose(fp);
		return tls_build_fail(b, line, key, "%s: not a regular file of at most %d bytes", full, FILE_MAX);
	}
	out->data = malloc((size_t)st.st_size + 1);
	if (!out->data) {
		fclose(fp);
		return tls_build_fail(b, line, key, "out of memory");
	}
	out->len = fread(out->data, 1, (size_t)st.st_size, fp);
	out->data[out->len] = '\0';
	if (ferror(fp)) {
		fclose(fp);
		return tls_build_fail(b, line, key, "%s: read error", full);
	}
	fclose(fp);
	return 0;
}

static void blob_free(struct tls_blob *bl)
{
	free(bl->path);
	if (bl->data)
		OPENSSL_cleanse(bl->data, bl->len);  /* private keys and ticket keys */
	free(bl->data);
	memset(bl, 0, sizeof(*bl));
}

/* PEM reading must never prompt on a terminal: an encrypted key is an error. */
int tls_no_password(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

/* Reads every certificate, key, client CA and ticket key file of the listener into b.
 * Relative paths are relative to the config file. 0, or -1 with the error in b->err. */
int tls_certs_read(struct tls_build *b)
{
	const struct config *cfg = b->cfg;
	const struct cfg_listener *l = b->l;
	const struct cfg_tls *t = l->tls;
	const char *slash;
	size_t i;

	slash = cfg->source ? strrchr(cfg->source, '/') : NULL;
	if (slash && (size_t)(slash - cfg->source) < sizeof(b->dir))
		snprintf(b->dir, sizeof(b->dir), "%.*s", slash == cfg->source ? 1 : (int)(slash - cfg->source),
			 cfg->source);
	b->items = calloc(t->ncerts, sizeof(*b->items));
	if (!b->items) {
		tls_build_fail(b, l->line, "", "out of memory");
		return -1;
	}
	b->nitems = t->ncerts;
	for (i = 0; i < t->ncerts; i++) {
		char kcert[64], kkey[64];

		snprintf(kcert, sizeof(kcert), "certificates.[%zu].cert", i);
		snprintf(kkey, sizeof(kkey), "certificates.[%zu].key", i);
		if (read_blob(b, t->certs[i].cert, &b->items[i].cert, t->certs[i].line, kcert) == -1 ||
		    read_blob(b, t->certs[i].key, &b->items[i].key, t->certs[i].line, kkey) == -1)
			return -1;
	}
	if (t->client_ca && read_blob(b, t->client_ca, &b->ca, l->line, "client_ca") == -1)
		return -1;
	if (t->ticket_key_file &&
	    read_blob(b, t->ticket_key_file, &b->tickets, l->line, "ticket_key_file") == -1)
		return -1;
	return 0;
}

/* ---- what a build depends on ---- */

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
int tls_certs_fingerprint(struct tls_build *b, unsigned char out[32])
{
	const struct cfg_tls *t = b->l->tls;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint32_t nums[5] = { (uint32_t)b->l->mode, (uint32_t)t->verify_client,
			     t->session_timeout_s, (uint32_t)t->session_tickets, (uint32_t)b->l->http2 };
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

static int push_name(struct tls_cert_item *it, const char *raw, size_t rawlen)
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
static int cert_names(struct tls_cert_item *it)
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
static int parse_cert(struct tls_build *b, struct tls_cert_item *it, size_t index)
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
		return tls_build_fail(b, cc->line, kcert, "out of memory");
	it->leaf = PEM_read_bio_X509_AUX(bio, NULL, tls_no_password, NULL);
	it->chain = sk_X509_new_null();
	while (it->leaf && it->chain && (x = PEM_read_bio_X509(bio, NULL, tls_no_password, NULL)))
		if (!sk_X509_push(it->chain, x))
			X509_free(x);
	BIO_free(bio);
	ERR_clear_error();  /* the end of the chain reads as "no start line" */
	if (!it->leaf)
		return tls_build_fail(b, cc->line, kcert, "%s: no PEM certificate in the file", it->cert.path);
	if (!it->chain)
		return tls_build_fail(b, cc->line, kcert, "out of memory");
	bio = BIO_new_mem_buf(it->key.data, (int)it->key.len);
	if (!bio)
		return tls_build_fail(b, cc->line, kkey, "out of memory");
	it->pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_no_password, NULL);
	BIO_free(bio);
	if (!it->pkey) {
		tls_ssl_error_text(why, sizeof(why));
		return tls_build_fail(b, cc->line, kkey,
				      "%s: no usable PEM private key (%s; encrypted keys are not supported)",
				      it->key.path, why);
	}
	if (X509_check_private_key(it->leaf, it->pkey) != 1) {
		ERR_clear_error();
		return tls_build_fail(b, cc->line, kkey, "%s does not match the certificate in %s",
				      it->key.path, it->cert.path);
	}
	if (cert_names(it) == -1)
		return tls_build_fail(b, cc->line, kcert, "out of memory");
	if (X509_cmp_current_time(X509_get0_notAfter(it->leaf)) < 0)
		log_warn("listener %s: certificate %s has expired; clients will refuse it",
			 b->l->name, it->cert.path);
	else if (X509_cmp_current_time(X509_get0_notBefore(it->leaf)) > 0)
		log_warn("listener %s: certificate %s is not valid yet", b->l->name, it->cert.path);
	return 0;
}

static int parse_ca(struct tls_build *b)
{
	BIO *bio;
	X509 *x;

	bio = BIO_new_mem_buf(b->ca.data, (int)b->ca.len);
	b->ca_certs = sk_X509_new_null();
	if (!bio || !b->ca_certs) {
		BIO_free(bio);
		return tls_build_fail(b, b->l->line, "client_ca", "out of memory");
	}
	while ((x = PEM_read_bio_X509(bio, NULL, tls_no_password, NULL)))
		if (!sk_X509_push(b->ca_certs, x))
			X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	if (sk_X509_num(b->ca_certs) == 0)
		return tls_build_fail(b, b->l->line, "client_ca", "%s: no PEM certificate in the file",
				      b->ca.path);
	return 0;
}

/* Parses every certificate and key, then the CA bundle. 0, or -1 with the error. */
int tls_certs_parse(struct tls_build *b)
{
	const struct cfg_listener *l = b->l;
	const struct cfg_tls *t = l->tls;
	size_t i;

	for (i = 0; i < b->nitems; i++)
		if (parse_cert(b, &b->items[i], i) == -1)
			return -1;
	for (i = 1; i < b->nitems; i++)
		if (b->items[i].nnames == 0)
			log_warn("listener %s: certificate %s has no DNS name (SAN or CN): only the "
				 "first certificate is served without a name match", l->name,
				 b->items[i].cert.path);
	if (t->client_ca && parse_ca(b) == -1)
		return -1;
	return 0;
}

/* Certificates with the same names share one SSL_CTX, where OpenSSL picks the one whose
 * key type the client supports (ECDSA first: it is listed first in our ciphers and
 * signature preference). Returns 0 with the group count, or -1. */
int tls_certs_group(struct tls_build *b, size_t *ngroups)
{
	size_t i, j, k, n = 0;

	for (i = 0; i < b->nitems; i++) {
		struct tls_cert_item *it = &b->items[i];
		int found = -1;

		for (j = 0; j < i && found < 0; j++) {
			const struct tls_cert_item *o = &b->items[j];

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
				return tls_build_fail(b, it->line, "certificates",
						      "%s has the same names and key type as %s (line %d): "
						      "only one of them could ever be served", it->cert.path,
						      b->items[j].cert.path, b->items[j].line);
		it->group = b->items[found].group;
	}
	*ngroups = n;
	return 0;
}

void tls_build_free(struct tls_build *b)
{
	size_t i, j;

	for (i = 0; i < b->nitems; i++) {
		struct tls_cert_item *it = &b->items[i];

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
