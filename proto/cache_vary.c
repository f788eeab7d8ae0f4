/* cache_vary.c: Vary names, the secondary key of a request, and the tag lists of a
 * response (cache_vary.h). */
#include <string.h>
#include <strings.h>

#include "cache_vary.h"

static int vary_tchar(unsigned char c);
static int vary_lower(int c);
static int vary_cmp(const char *base, struct http_slice a, struct http_slice b);
static int vary_add(const char *base, struct cache_vary *v, struct http_slice name);
static int key_put(char *out, size_t cap, size_t *len, const char *s, size_t n, int lower);
static int accept_encoding_key(const char *base, const struct http_head *rq, char *out,
			       size_t cap, size_t *len);

/* A token character (RFC 9110 5.6.2). */
static int vary_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int vary_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive order of two names of one buffer: <0, 0, >0. */
static int vary_cmp(const char *base, struct http_slice a, struct http_slice b)
{
	uint32_t i, n = a.len < b.len ? a.len : b.len;

	for (i = 0; i < n; i++) {
		int x = vary_lower((unsigned char)base[a.off + i]);
		int y = vary_lower((unsigned char)base[b.off + i]);

		if (x != y)
			return x - y;
	}
	return (int)a.len - (int)b.len;
}

/* Inserts name in order unless it is there already: 0, or -1 when full. */
static int vary_add(const char *base, struct cache_vary *v, struct http_slice name)
{
	uint32_t i, j;
	int c = 1;

	for (i = 0; i < v->n && (c = vary_cmp(base, v->names[i], name)) < 0; i++)
		;
	if (i < v->n && c == 0)
		return 0;
	if (v->n == CACHE_VARY_MAX)
		return -1;
	for (j = v->n; j > i; j--)
		v->names[j] = v->names[j - 1];
	v->names[i] = name;
	v->n++;
	return 0;
}

int cache_vary_parse(const char *base, const struct http_head *h, struct cache_vary *v)
{
	uint32_t i, p, start;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < h->nheaders; i++) {
		struct http_slice val = h->headers[i].value;
		const char *s = base + val.off;

		if (!http_slice_eq(base, h->headers[i].name, "vary"))
			continue;
		for (p = 0; p < val.len;) {
			struct http_slice name;

			while (p < val.len && (s[p] == ',' || s[p] == ' ' || s[p] == '\t'))
				p++;
			if (p == val.len)
				break;
			start = p;
			while (p < val.len && vary_tchar((unsigned char)s[p]))
				p++;
			name.off = val.off + start;
			name.len = p - start;
			while (p < val.len && (s[p] == ' ' || s[p] == '\t'))
				p++;
			if (name.len == 0 || (p < val.len && s[p] != ','))
				return -1;
			if (name.len == 1 && s[start] == '*')
				v->star = 1;
			else if (vary_add(base, v, name) != 0)
				return -1;
		}
	}
	return 0;
}

/* Appends n bytes of s (lowered if asked) to out: 0, or -1 when cap is reached. */
static int key_put(char *out, size_t cap, size_t *len, const char *s, size_t n, int lower)
{
	size_t i;

	if (n > cap - *len)
		return -1;
	for (i = 0; i < n; i++)
		out[*len + i] = lower ? (char)vary_lower((unsigned char)s[i]) : s[i];
	*len += n;
	return 0;
}

int cache_vary_key(const char *rq_base, const struct http_head *rq, const char *v_base,
		   const struct cache_vary *v, char *out, size_t cap)
{
	size_t len = 0;
	uint32_t i, j;

	for (i = 0; i < v->n; i++) {
		struct http_slice name = v->names[i];
		int seen = 0, r;

		if (key_put(out, cap, &len, v_base + name.off, name.len, 1) != 0)
			return -1;
		if (name.len == 15 && !strncasecmp(v_base + name.off, "accept-encoding", 15)) {
			size_t at = len;

			if ((r = accept_encoding_key(rq_base, rq, out, cap, &len)) == -1)
				return -1;
			if (r == 1)
				continue;
			len = at;  /* not a list of codings: the values as they are, below */
		}
		for (j = 0; j < rq->nheaders; j++) {
			const struct http_header *f = &rq->headers[j];

			if (f->name.len != name.len ||
			    strncasecmp(rq_base + f->name.off, v_base + name.off, name.len) != 0)
				continue;
			if (key_put(out, cap, &len, seen ? ", " : ": ", 2, 0) != 0 ||
			    key_put(out, cap, &len, rq_base + f->value.off, f->value.len, 0) != 0)
				return -1;
			seen = 1;
		}
		if (key_put(out, cap, &len, "\n", 1, 0) != 0)
			return -1;
	}
	return len > (size_t)INT32_MAX ? -1 : (int)len;
}

/* The known content codings, in the order a key lists them; x-gzip and x-compress are
 * gzip and compress (RFC 9110 8.4.1). */
static const char *const known_codings[] = { "br", "compress", "deflate", "gzip", "identity", "zstd" };
#define KNOWN_CODINGS (sizeof(known_codings) / sizeof(known_codings[0]))
#define OTHER_CODINGS_MAX 16

/* One element of an Accept-Encoding list, s[0..n): its coding as a slice of s (cut at
 * ';' and whitespace) and whether a weight of 0 refuses it. 0, or -1 when it is no
 * coding followed by parameters. */
static int coding_element(const char *s, uint32_t n, uint32_t *tok_len, int *refused)
{
	uint32_t p = 0;

	while (p < n && vary_tchar((unsigned char)s[p]))
		p++;
	*tok_len = p;
	*refused = 0;
	if (p == 0)
		return -1;
	while (p < n) {
		uint32_t q;

		while (p < n && (s[p] == ' ' || s[p] == '\t'))
			p++;
		if (p == n)
			break;
		if (s[p++] != ';')
			return -1;
		while (p < n && (s[p] == ' ' || s[p] == '\t'))
			p++;
		if (p + 2 <= n && vary_lower((unsigned char)s[p]) == 'q' && s[p + 1] == '=') {
			/* "0", "0.", "0.0" ... "0.000" refuse; anything else accepts */
			q = p + 2;
			if (q < n && s[q] == '0') {
				q++;
				if (q < n && s[q] == '.')
					q++;
				while (q < n && s[q] == '0')
					q++;
				*refused = q == n || s[q] == ' ' || s[q] == '\t' || s[q] == ';';
			}
		}
		while (p < n && s[p] != ';')
			p++;
	}
	return 0;
}

/* The Accept-Encoding part of a secondary key. Which codings a request accepts is what an
 * answer can depend on, not their order, case, spacing or weights: so the known codings
 * it accepts come as one list in a fixed order, those it refuses (q=0) as "name;q=0",
 * then any other element, lowered and sorted, as it could be one the app knows ("*"
 * included). Browsers that word the same codings apart then share one stored answer,
 * rendered once. Appends ": list" after the name; 1, 0 when a field is no list of
 * codings (the caller keeps the raw values), -1 when out is full. */
static int accept_encoding_key(const char *base, const struct http_head *rq, char *out,
			       size_t cap, size_t *len)
{
	int known[KNOWN_CODINGS] = { 0 };  /* 0 absent, 1 accepted, 2 refused */
	struct http_slice other[OTHER_CODINGS_MAX];
	int other_refused[OTHER_CODINGS_MAX];
	uint32_t nother = 0, i, j, k;
	int present = 0, first = 1, pass;

	for (i = 0; i < rq->nheaders; i++) {
		const struct http_header *f = &rq->headers[i];
		const char *s = base + f->value.off;
		uint32_t p = 0;

		if (!http_slice_eq(base, f->name, "accept-encoding"))
			continue;
		present = 1;
		while (p < f->value.len) {
			uint32_t start, end, tok;
			int refused;
			const char *t;

			while (p < f->value.len && (s[p] == ',' || s[p] == ' ' || s[p] == '\t'))
				p++;
			if (p == f->value.len)
				break;
			start = p;
			while (p < f->value.len && s[p] != ',')
				p++;
			for (end = p; end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'); end--)
				;
			if (coding_element(s + start, end - start, &tok, &refused) == -1)
				return 0;
			t = s + start;
			if ((tok == 6 && !strncasecmp(t, "x-gzip", 6)) ||
			    (tok == 10 && !strncasecmp(t, "x-compress", 10))) {
				t += 2;
				tok -= 2;
				start += 2;
			}
			for (k = 0; k < KNOWN_CODINGS; k++)
				if (strlen(known_codings[k]) == tok && !strncasecmp(t, known_codings[k], tok))
					break;
			if (k < KNOWN_CODINGS) {
				if (known[k] != 2)
					known[k] = refused ? 2 : 1;
				continue;
			}
			if (nother == OTHER_CODINGS_MAX)
				return 0;
			/* sorted insert, case-insensitive */
			{
				struct http_slice sl = { f->value.off + start, tok };

				for (j = nother; j > 0 && vary_cmp(base, other[j - 1], sl) > 0; j--) {
					other[j] = other[j - 1];
					other_refused[j] = other_refused[j - 1];
				}
				other[j] = sl;
				other_refused[j] = refused;
				nother++;
			}
		}
	}
	if (!present)
		return 0;
	if (key_put(out, cap, len, ": ", 2, 0) != 0)
		return -1;
	for (pass = 1; pass <= 2; pass++) {
		for (k = 0; k < KNOWN_CODINGS; k++) {
			if (known[k] != pass)
				continue;
			if ((!first && key_put(out, cap, len, ",", 1, 0) != 0) ||
			    key_put(out, cap, len, known_codings[k], strlen(known_codings[k]), 0) != 0 ||
			    (pass == 2 && key_put(out, cap, len, ";q=0", 4, 0) != 0))
				return -1;
			first = 0;
		}
	}
	for (j = 0; j < nother; j++) {
		if ((!first && key_put(out, cap, len, ",", 1, 0) != 0) ||
		    key_put(out, cap, len, base + other[j].off, other[j].len, 1) != 0 ||
		    (other_refused[j] && key_put(out, cap, len, ";q=0", 4, 0) != 0))
			return -1;
		first = 0;
	}
	if (key_put(out, cap, len, "\n", 1, 0) != 0)
		return -1;
	return 1;
}

void cache_tags_begin(struct cache_tag_iter *it, const char *base, const struct http_head *h)
{
	memset(it, 0, sizeof(*it));
	it->base = base;
	it->h = h;
}

int cache_tags_next(struct cache_tag_iter *it, struct http_slice *tag)
{
	for (; it->count < CACHE_TAGS_MAX && it->field < it->h->nheaders; it->field++, it->pos = 0) {
		const struct http_header *f = &it->h->headers[it->field];
		const char *s = it->base + f->value.off;
		int comma = http_slice_eq(it->base, f->name, "cache-tag");

		if (!comma && !http_slice_eq(it->base, f->name, "surrogate-key"))
			continue;
		while (it->pos < f->value.len) {
			uint32_t start;

			while (it->pos < f->value.len && (s[it->pos] == ' ' || s[it->pos] == '\t' ||
							  (comma && s[it->pos] == ',')))
				it->pos++;
			start = it->pos;
			while (it->pos < f->value.len && s[it->pos] != ' ' && s[it->pos] != '\t' &&
			       !(comma && s[it->pos] == ','))
				it->pos++;
			if (it->pos == start || it->pos - start > CACHE_TAG_LEN_MAX)
				continue;
			tag->off = f->value.off + start;
			tag->len = it->pos - start;
			it->count++;
			return 1;
		}
	}
	return 0;
}
