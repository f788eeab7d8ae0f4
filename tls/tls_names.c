/* tls_names.c: the names a TLS listener's certificates serve and how an SNI host name
 * picks a certificate group: exact names first, then a wildcard for one left-most label. */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "array.h"
#include "tls.h"

#define NAME_MAX_LEN 253  /* longest DNS name in text form (RFC 1035) */

static int entry_cmp(const void *a, const void *b);
static int entry_key_cmp(const void *key, const void *elem);
static int table_push(struct tls_sni_entry **arr, size_t *n, size_t *cap, char *name, int ctx);
static size_t dedupe(struct tls_sni_entry *arr, size_t n);
static const struct tls_sni_entry *find(const struct tls_sni_entry *arr, size_t n,
					const char *name);

int tls_name_normalize(const char *name, char *out, size_t cap)
{
	size_t n = strlen(name), i;

	if (n > 0 && name[n - 1] == '.')
		n--;  /* "example.com." is the same absolute name */
	if (n == 0 || n > NAME_MAX_LEN || n >= cap)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch <= ' ' || ch >= 127)
			return -1;  /* IDNs arrive as A-labels (xn--); anything else is not a name */
		out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch);
	}
	out[n] = '\0';
	return 0;
}

enum tls_name_kind tls_name_kind(const char *pattern)
{
	const char *rest;

	if (pattern[0] == '\0' || pattern[0] == '.' || strstr(pattern, ".."))
		return TLS_NAME_UNUSABLE;
	if (!strchr(pattern, '*'))
		return TLS_NAME_EXACT;
	/* RFC 6125 6.4.3, the strict reading browsers use: '*' is the whole left-most
	 * label and nothing else is wild; "*.com" would cover a whole public suffix */
	if (pattern[0] != '*' || pattern[1] != '.')
		return TLS_NAME_UNUSABLE;
	rest = pattern + 2;
	if (strchr(rest, '*') || !strchr(rest, '.') || rest[strlen(rest) - 1] == '.')
		return TLS_NAME_UNUSABLE;
	return TLS_NAME_WILDCARD;
}

int tls_name_match(const char *pattern, const char *host)
{
	char p[NAME_MAX_LEN + 1], h[NAME_MAX_LEN + 1];
	const char *dot;

	if (tls_name_normalize(pattern, p, sizeof(p)) == -1 ||
	    tls_name_normalize(host, h, sizeof(h)) == -1 || strchr(h, '*'))
		return 0;
	switch (tls_name_kind(p)) {
	case TLS_NAME_EXACT:
		return strcmp(p, h) == 0;
	case TLS_NAME_WILDCARD:
		/* the host's first label is what '*' stands for: one non-empty label */
		dot = strchr(h, '.');
		return dot && dot != h && strcmp(dot, p + 1) == 0;
	default:
		return 0;
	}
}

static int table_push(struct tls_sni_entry **arr, size_t *n, size_t *cap, char *name, int ctx)
{
	if (ARRAY_GROW(arr, cap, *n + 1, 8) == -1)
		return -1;
	(*arr)[*n].name = name;
	(*arr)[*n].ctx = ctx;
	(*n)++;
	return 0;
}

int tls_sni_add(struct tls_sni_table *t, const char *pattern, int ctx)
{
	char norm[NAME_MAX_LEN + 1], *copy;
	enum tls_name_kind kind;
	int r;

	if (tls_name_normalize(pattern, norm, sizeof(norm)) == -1)
		return 1;
	kind = tls_name_kind(norm);
	if (kind == TLS_NAME_UNUSABLE)
		return 1;
	/* a wildcard is kept as its suffix ".example.com", what a host's tail is compared to */
	copy = strdup(kind == TLS_NAME_WILDCARD ? norm + 1 : norm);
	if (!copy)
		return -1;
	if (kind == TLS_NAME_WILDCARD)
		r = table_push(&t->wild, &t->nwild, &t->cap_wild, copy, ctx);
	else
		r = table_push(&t->exact, &t->nexact, &t->cap_exact, copy, ctx);
	if (r == -1)
		free(copy);
	return r;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct tls_sni_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->ctx > y->ctx) - (x->ctx < y->ctx);
}

/* Keeps the first (lowest group) of each run of equal names; arr is sorted. */
static size_t dedupe(struct tls_sni_entry *arr, size_t n)
{
	size_t i, out = 0;

	for (i = 0; i < n; i++) {
		if (out > 0 && strcmp(arr[out - 1].name, arr[i].name) == 0) {
			free(arr[i].name);
			continue;
		}
		arr[out++] = arr[i];
	}
	return out;
}

void tls_sni_finish(struct tls_sni_table *t)
{
	if (t->nexact)
		qsort(t->exact, t->nexact, sizeof(*t->exact), entry_cmp);
	if (t->nwild)
		qsort(t->wild, t->nwild, sizeof(*t->wild), entry_cmp);
	t->nexact = dedupe(t->exact, t->nexact);
	t->nwild = dedupe(t->wild, t->nwild);
}

static int entry_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct tls_sni_entry *)elem)->name);
}

static const struct tls_sni_entry *find(const struct tls_sni_entry *arr, size_t n,
					const char *name)
{
	return n ? bsearch(name, arr, n, sizeof(*arr), entry_key_cmp) : NULL;
}

int tls_sni_lookup(const struct tls_sni_table *t, const char *host)
{
	char h[NAME_MAX_LEN + 1];
	const struct tls_sni_entry *e;
	const char *dot;

	if (tls_name_normalize(host, h, sizeof(h)) == -1 || strchr(h, '*'))
		return -1;
	if ((e = find(t->exact, t->nexact, h)))
		return e->ctx;
	dot = strchr(h, '.');
	if (!dot || dot == h)
		return -1;
	e = find(t->wild, t->nwild, dot);
	return e ? e->ctx : -1;
}

void tls_sni_free(struct tls_sni_table *t)
{
	size_t i;

	for (i = 0; i < t->nexact; i++)
		free(t->exact[i].name);
	for (i = 0; i < t->nwild; i++)
		free(t->wild[i].name);
	free(t->exact);
	free(t->wild);
	memset(t, 0, sizeof(*t));
}

int tls_alpn_is(const struct tls_conn *t, const char *proto)
{
	const unsigned char *sel = NULL;
	unsigned len = 0;

	if (!t->ssl)
		return 0;
	SSL_get0_alpn_selected(t->ssl, &sel, &len);
	return sel && len == strlen(proto) && !memcmp(sel, proto, len);
}

int tls_alpn_wire(const char *list, unsigned char *out, size_t cap)
{
	size_t used = 0;
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");

		if (n == 0 || n > 255 || used + 1 + n > cap)
			return -1;
		out[used++] = (unsigned char)n;
		memcpy(out + used, p, n);
		used += n;
		if (p[n] == '\0')
			return (int)used;
		p += n + 1;
	}
}
