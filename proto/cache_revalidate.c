/* cache_revalidate.c: owns the texts of a revalidation (include/cache_revalidate.h): the
 * conditional request sent in the background for a stale entry, and the stored head a
 * 304 freshens. Pure: parsed heads in, bytes out. */
#include <string.h>
#include <strings.h>

#include "cache_revalidate.h"

/* Fields of the client's request the revalidation drops: its own conditions (whose
 * answer, a 304 or 412, would not be the stored response's) and Range (a part cannot
 * freshen a whole). */
static const char *const client_only[] = {
	"if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range",
};

/* Fields a 304 does not change in the stored head: framing and hop-by-hop (the stored
 * body's framing is its own), Age (a hit says its own), Set-Cookie (never served from a
 * cache), and those the stored body depends on (RFC 9111 3.2 lets a cache that stores a
 * processed response keep them: fulcrum may have compressed it). */
static const char *const keep_stored[] = {
	"content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection",
	"te", "trailer", "upgrade", "age", "set-cookie", "content-encoding", "content-range",
	"content-type", "etag", "vary",
};

static int name_in(const char *base, struct http_slice name, const char *const *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (http_slice_eq(base, name, set[i]))
			return 1;
	return 0;
}

/* 1 when h has a field named like a's name (in a_base), case-insensitively. */
static int has_field(const char *base, const struct http_head *h, const char *a_base, struct http_slice a)
{
	uint32_t i;

	for (i = 0; i < h->nheaders; i++) {
		struct http_slice n = h->headers[i].name;

		if (n.len == a.len && !strncasecmp(base + n.off, a_base + a.off, a.len))
			return 1;
	}
	return 0;
}

/* An output being written: out[0..len) of cap; fails for good once something does not
 * fit (len then -1). */
struct text {
	char *out;
	size_t cap;
	long len;
};

static void put(struct text *t, const char *p, size_t n)
{
	if (t->len < 0)
		return;
	if ((size_t)t->len + n + 1 > t->cap) {
		t->len = -1;
		return;
	}
	memcpy(t->out + t->len, p, n);
	t->len += (long)n;
	t->out[t->len] = '\0';
}

static void put_field(struct text *t, const char *base, const struct http_header *f)
{
	put(t, base + f->name.off, f->name.len);
	put(t, ": ", 2);
	put(t, base + f->value.off, f->value.len);
	put(t, "\r\n", 2);
}

/* The first line of a head (its start at first, through its CRLF). */
static void put_first_line(struct text *t, const char *base, uint32_t first, uint32_t head_len)
{
	const char *s = base + first, *e = memchr(s, '\n', head_len - first);

	if (!e) {
		t->len = -1;
		return;
	}
	put(t, s, (size_t)(e + 1 - s));
}

static int value_ok(const char *v)
{
	return strcspn(v, "\r\n") == strlen(v);
}

int cache_revalidation_request(const char *req, const struct http_head *h, const char *etag,
			       const char *last_modified, char *out, size_t cap)
{
	struct text t = { out, cap, 0 };
	uint32_t i;

	if (cap == 0 || (etag && !value_ok(etag)) || (last_modified && !value_ok(last_modified)))
		return -1;
	put_first_line(&t, req, h->method.off, h->head_len);
	for (i = 0; i < h->nheaders; i++)
		if (!name_in(req, h->headers[i].name, client_only, sizeof(client_only) / sizeof(client_only[0])))
			put_field(&t, req, &h->headers[i]);
	if (etag && *etag) {
		put(&t, "If-None-Match: ", 15);
		put(&t, etag, strlen(etag));
		put(&t, "\r\n", 2);
	}
	if (last_modified && *last_modified) {
		put(&t, "If-Modified-Since: ", 19);
		put(&t, last_modified, strlen(last_modified));
		put(&t, "\r\n", 2);
	}
	put(&t, "\r\n", 2);
	return (int)t.len;
}

int cache_freshen_head(const char *stored, const struct http_head *sh, const char *resp,
		       const struct http_head *nh, char *out, size_t cap)
{
	struct text t = { out, cap, 0 };
	size_t nkeep = sizeof(keep_stored) / sizeof(keep_stored[0]);
	uint32_t i;

	if (cap == 0)
		return -1;
	put_first_line(&t, stored, 0, sh->head_len);
	for (i = 0; i < sh->nheaders; i++) {
		const struct http_header *f = &sh->headers[i];

		/* replaced when the 304 says it anew (and may say it) */
		if (!name_in(stored, f->name, keep_stored, nkeep) && has_field(resp, nh, stored, f->name))
			continue;
		put_field(&t, stored, f);
	}
	for (i = 0; i < nh->nheaders; i++)
		if (!name_in(resp, nh->headers[i].name, keep_stored, nkeep))
			put_field(&t, resp, &nh->headers[i]);
	put(&t, "\r\n", 2);
	return (int)t.len;
}
