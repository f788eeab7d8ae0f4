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
		int seen = 0;

		if (key_put(out, cap, &len, v_base + name.off, name.len, 1) != 0)
			return -1;
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
