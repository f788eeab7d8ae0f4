/* accept_encoding.c: the decisions of compress.h around the encoder: the codings a
 * request accepts (Accept-Encoding, RFC 9110 12.5.3), the pool's type list, and whether
 * a response may be compressed (RFC 9110 8.4, 15; RFC 9111 5.2.2.6 no-transform). */
#include <string.h>
#include <strings.h>

#include "compress.h"

static int ae_tchar(unsigned char c);
static int ae_ows(char c);
static int ae_qvalue(const char *p, size_t n);
static void ae_element(struct compress_accept *a, const char *p, size_t n);
static int field_has_token(const char *v, size_t len, const char *tok);

/* A token character (RFC 9110 5.6.2). */
static int ae_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int ae_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* A qvalue (RFC 9110 12.4.2: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]) in
 * thousandths, or -1. */
static int ae_qvalue(const char *p, size_t n)
{
	int q, scale = 100;
	size_t i;

	if (n == 0 || (p[0] != '0' && p[0] != '1'))
		return -1;
	q = (p[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (p[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < n; i++, scale /= 10) {
		if (p[i] < '0' || p[i] > '9' || (q == 1000 && p[i] != '0'))
			return -1;
		q += (p[i] - '0') * scale;
	}
	return q;
}

void compress_accept_init(struct compress_accept *a)
{
	int i;

	for (i = 0; i < COMPRESS_ENC_N; i++)
		a->q[i] = -1;
	a->star = -1;
	a->present = 0;
}

/* One element: codings *( OWS ";" OWS name "=" value ). A parameter other than q is
 * ignored; a bad q or a bad token drops the element. */
static void ae_element(struct compress_accept *a, const char *p, size_t n)
{
	size_t i = 0, tok;
	int q = 1000;
	int16_t *slot;

	while (i < n && ae_tchar((unsigned char)p[i]))
		i++;
	tok = i;
	if (tok == 0)
		return;
	while (i < n) {
		size_t name, nlen, v, vlen;

		while (i < n && ae_ows(p[i]))
			i++;
		if (i == n)
			break;
		if (p[i] != ';')
			return;
		i++;
		while (i < n && ae_ows(p[i]))
			i++;
		name = i;
		while (i < n && ae_tchar((unsigned char)p[i]))
			i++;
		nlen = i - name;
		if (nlen == 0 || i == n || p[i] != '=')
			return;
		v = ++i;
		if (i < n && p[i] == '"') {
			/* a quoted value: only q matters and q is never quoted; skip it */
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			if (i >= n)
				return;
			i++;
			if (nlen == 1 && (p[name] == 'q' || p[name] == 'Q'))
				return;
			continue;
		}
		while (i < n && ae_tchar((unsigned char)p[i]))
			i++;
		vlen = i - v;
		if (nlen == 1 && (p[name] == 'q' || p[name] == 'Q')) {
			if ((q = ae_qvalue(p + v, vlen)) < 0)
				return;
		}
	}
	if (tok == 1 && p[0] == '*')
		slot = &a->star;
	else if (tok == 8 && !strncasecmp(p, "identity", 8))
		slot = &a->q[COMPRESS_NONE];
	else {
		enum compress_enc e = compress_enc_parse(p, tok);

		if (e == COMPRESS_NONE)
			return;  /* a coding fulcrum does not make */
		slot = &a->q[e];
	}
	if (q > *slot)
		*slot = (int16_t)q;
}

void compress_accept_add(struct compress_accept *a, const char *v, size_t len)
{
	size_t i = 0;

	a->present = 1;
	while (i < len) {
		size_t start, end;
		int quoted = 0;

		while (i < len && (ae_ows(v[i]) || v[i] == ','))
			i++;
		start = i;
		/* the element ends at a comma outside a quoted string */
		for (; i < len && (quoted || v[i] != ','); i++) {
			if (quoted && v[i] == '\\' && i + 1 < len)
				i++;
			else if (v[i] == '"')
				quoted = !quoted;
		}
		end = i;
		while (end > start && ae_ows(v[end - 1]))
			end--;
		if (end > start)
			ae_element(a, v + start, end - start);
	}
}

void compress_accept_head(struct compress_accept *a, const char *base, const struct http_head *h)
{
	uint32_t i;

	compress_accept_init(a);
	for (i = 0; i < h->nheaders; i++)
		if (http_slice_eq(base, h->headers[i].name, "accept-encoding"))
			compress_accept_add(a, base + h->headers[i].value.off, h->headers[i].value.len);
}

enum compress_enc compress_choose(const struct compress_accept *a, const enum compress_enc *order, size_t n)
{
	enum compress_enc best = COMPRESS_NONE;
	int best_q = 0, identity_q;
	size_t i;

	if (!a->present)
		return COMPRESS_NONE;
	for (i = 0; i < n; i++) {
		int q;

		if (order[i] <= COMPRESS_NONE || order[i] >= COMPRESS_ENC_N)
			continue;
		q = a->q[order[i]] >= 0 ? a->q[order[i]] : a->star >= 0 ? a->star : 0;
		if (q > best_q) {
			best_q = q;
			best = order[i];
		}
	}
	/* identity is acceptable unless excluded (12.5.3); one preferred above every
	 * candidate is sent as it is */
	identity_q = a->q[COMPRESS_NONE];
	if (best != COMPRESS_NONE && identity_q > best_q)
		return COMPRESS_NONE;
	return best;
}

int compress_type_match(const char *ct, size_t len, const char *types)
{
	size_t end = 0, start = 0, slash;
	const char *t = types;

	while (start < len && ae_ows(ct[start]))
		start++;
	for (end = start; end < len && ct[end] != ';' && !ae_ows(ct[end]); end++)
		;
	for (slash = start; slash < end && ct[slash] != '/'; slash++)
		;
	if (slash == end || slash == start || slash + 1 == end)
		return 0;
	while (*t) {
		size_t tl = strcspn(t, ",");

		if (tl == 3 && !memcmp(t, "*/*", 3))
			return 1;
		if (tl >= 2 && t[tl - 2] == '/' && t[tl - 1] == '*') {
			if (tl - 2 == slash - start && !strncasecmp(t, ct + start, tl - 2))
				return 1;
		} else if (tl == end - start && !strncasecmp(t, ct + start, tl)) {
			return 1;
		}
		t += tl;
		if (*t == ',')
			t++;
	}
	return 0;
}

/* Whether the comma-separated list v[0..len) has the token tok (lower case) as an
 * element name (before any "=" or ";"). */
static int field_has_token(const char *v, size_t len, const char *tok)
{
	size_t i = 0, tl = strlen(tok);

	while (i < len) {
		size_t s;

		while (i < len && (ae_ows(v[i]) || v[i] == ','))
			i++;
		s = i;
		while (i < len && ae_tchar((unsigned char)v[i]))
			i++;
		if (i - s == tl && !strncasecmp(v + s, tok, tl))
			return 1;
		while (i < len && v[i] != ',')
			i++;
	}
	return 0;
}

enum compress_skip compress_response_check(enum http_method method, const char *base, const struct http_head *h,
					   const char *types, uint64_t min_bytes)
{
	int typed = 0;
	uint32_t i;

	if (method == HTTP_M_HEAD || method == HTTP_M_CONNECT)
		return COMPRESS_SKIP_METHOD;
	/* statuses whose body is the representation or a plain page about the error; a 206
	 * is a part of one, 204/304 and 1xx have none */
	switch (h->status) {
	case 200: case 201: case 202: case 203: case 400: case 401: case 403: case 404:
	case 405: case 406: case 409: case 410: case 422: case 429: case 500: case 501:
	case 502: case 503: case 504:
		break;
	default:
		return COMPRESS_SKIP_STATUS;
	}
	if (h->body == HTTP_BODY_NONE || (h->body == HTTP_BODY_LENGTH && h->content_length == 0))
		return COMPRESS_SKIP_NOBODY;
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = base + f->value.off;

		if (http_slice_eq(base, f->name, "content-encoding")) {
			/* only "identity" (any case, alone) is no coding at all */
			if (!(f->value.len == 8 && !strncasecmp(v, "identity", 8)) && f->value.len)
				return COMPRESS_SKIP_ENCODED;
		} else if (http_slice_eq(base, f->name, "cache-control")) {
			if (field_has_token(v, f->value.len, "no-transform"))
				return COMPRESS_SKIP_NOTRANSFORM;
		} else if (http_slice_eq(base, f->name, "content-range")) {
			return COMPRESS_SKIP_RANGE;
		} else if (http_slice_eq(base, f->name, "content-type")) {
			if (!compress_type_match(v, f->value.len, types))
				return COMPRESS_SKIP_TYPE;
			typed = 1;
		}
	}
	if (!typed)
		return COMPRESS_SKIP_TYPE;
	if (h->body == HTTP_BODY_LENGTH && h->content_length < min_bytes)
		return COMPRESS_SKIP_SMALL;
	return COMPRESS_OK;
}
