/* route.c: owns the matching of requests to a listener's routes (include/route.h): host
 * (exact or "*." suffix, without case, port ignored), exact path or path prefix, method,
 * a header, a cookie, a query parameter, a path regex (PCRE2). route_find is a linear
 * scan in order, first match wins, as the operator wrote them; the regex, the dearest,
 * is tried last. It is the reference the data path's index (core/route_index.c) is
 * tested against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "route.h"

struct route_regex {
	pcre2_code *code;
	pcre2_match_context *mctx;   /* the match limit */
};

/* The Host value without its port: "[::1]:8080" -> "[::1]", "a.example:80" -> "a.example". */
static size_t host_without_port(const char *h, size_t n)
{
	size_t i = n;

	if (n > 0 && h[0] == '[') {
		const char *end = memchr(h, ']', n);
		return end ? (size_t)(end - h) + 1 : n;
	}
	while (i > 0 && h[i - 1] >= '0' && h[i - 1] <= '9')
		i--;
	return i > 0 && i < n && h[i - 1] == ':' ? i - 1 : n;
}

/* c in lower case, ASCII only (as strncasecmp in the C locale fulcrum runs in). */
static inline unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

size_t route_host_normalized_len(const char *h, size_t n)
{
	n = host_without_port(h, n);
	if (n > 0 && h[n - 1] == '.')
		n--;
	return n;
}

/* "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com";
 * h[0..n) is already normalized (route_host_normalized_len). An exact pattern is walked
 * once, without strlen: with many routes most of them differ from the host within the
 * first bytes, and this compare is what a request pays per route (route_find; the
 * index, core/route_index.c, pays it for its few candidates only). */
static __attribute__((noinline)) int host_matches_suffix(const char *suffix, const char *h, size_t n)
{
	size_t plen = strlen(suffix);

	return n > plen && strncasecmp(h + n - plen, suffix, plen) == 0;
}

static inline int host_matches_normalized(const char *pattern, const char *h, size_t n)
{
	size_t i;

	if (pattern[0] == '*' && pattern[1] == '.')
		return host_matches_suffix(pattern + 1, h, n);  /* ".example.com" */
	for (i = 0; i < n && pattern[i] != '\0'; i++)
		if (ascii_lower((unsigned char)pattern[i]) != ascii_lower((unsigned char)h[i]))
			return 0;
	return i == n && pattern[i] == '\0';
}

/* Whether the NUL-terminated s is exactly s2[0..n) (whole: s2 must end where s does). */
static inline int str_is(const char *s, const char *s2, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] != '\0'; i++)
		if (s[i] != s2[i])
			return 0;
	return i == n && s[i] == '\0';
}

/* Whether s2[0..n) starts with the NUL-terminated prefix, without a strlen of it. */
static inline int str_starts(const char *s2, size_t n, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i] != '\0'; i++)
		if (i >= n || prefix[i] != s2[i])
			return 0;
	return 1;
}

/* Whether the list s[0..n), items separated by sep with spaces around them ignored
 * (a Cookie value: "a=1; b=2"; a query: "a=1&b=2"), holds an item named like want
 * ("name": any value or none; "name=value": exactly that value). Compared as bytes. */
static int list_has(const char *s, size_t n, char sep, const char *want)
{
	const char *eq = strchr(want, '=');
	size_t name_len = eq ? (size_t)(eq - want) : strlen(want);
	const char *end = s + n, *item = s, *item_end, *ieq;

	for (; n > 0; item = item_end + 1) {
		item_end = memchr(item, sep, (size_t)(end - item));
		if (!item_end) {
			item_end = end;
			n = 0;  /* the last item */
		}
		while (item < item_end && (*item == ' ' || *item == '\t'))
			item++;
		ieq = memchr(item, '=', (size_t)(item_end - item));
		if ((size_t)((ieq ? ieq : item_end) - item) != name_len || memcmp(item, want, name_len) != 0)
			continue;
		if (!eq)
			return 1;
		if (ieq) {
			const char *v = ieq + 1, *ve = item_end;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if ((size_t)(ve - v) == strlen(eq + 1) && memcmp(v, eq + 1, (size_t)(ve - v)) == 0)
				return 1;
		}
	}
	return 0;
}

/* "X-Canary" (present) or "X-Canary: 1" (a field of that name, any case, with exactly
 * that value): any one of several fields of the name may hold it. */
static int header_matches(const char *want, const struct route_request *rq)
{
	const char *colon = strchr(want, ':'), *value = NULL;
	size_t name_len = colon ? (size_t)(colon - want) : strlen(want), value_len = 0, i;

	if (colon) {
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		value_len = strlen(value);
	}
	for (i = 0; i < rq->nheaders; i++) {
		const struct http_header *f = &rq->headers[i];
		if (f->name.len != name_len || strncasecmp(rq->base + f->name.off, want, name_len) != 0)
			continue;
		if (!value || (f->value.len == value_len &&
			       memcmp(rq->base + f->value.off, value, value_len) == 0))
			return 1;
	}
	return 0;
}

/* A cookie "name" or "name=value" in any Cookie field of the request. */
static int cookie_matches(const char *want, const struct route_request *rq)
{
	size_t i;

	for (i = 0; i < rq->nheaders; i++) {
		const struct http_header *f = &rq->headers[i];
		if (f->name.len == 6 && strncasecmp(rq->base + f->name.off, "cookie", 6) == 0 &&
		    list_has(rq->base + f->value.off, f->value.len, ';', want))
			return 1;
	}
	return 0;
}

/* The path against a compiled regex, within the match limit: an error (the limit
 * reached, memory) counts as no match. Match data is made per call (only requests that
 * reach a path_regex route pay for it). */
static int regex_matches(const struct route_regex *re, const char *path, size_t len)
{
	pcre2_match_data *md;
	int rc;

	if (!re)
		return 0;
	md = pcre2_match_data_create(1, NULL);
	if (!md)
		return 0;
	rc = pcre2_match(re->code, (PCRE2_SPTR)path, len, 0, 0, md, re->mctx);
	pcre2_match_data_free(md);
	return rc >= 0;
}

struct route_regex *route_regex_compile(const char *pattern, char *err, size_t errlen)
{
	struct route_regex *re = calloc(1, sizeof(*re));
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE offset;
	int code;

	if (!re) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
	if (!re->code) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "bad regex at offset %zu: %s", (size_t)offset, (const char *)msg);
		free(re);
		return NULL;
	}
	re->mctx = pcre2_match_context_create(NULL);
	if (!re->mctx) {
		snprintf(err, errlen, "out of memory");
		route_regex_free(re);
		return NULL;
	}
	pcre2_set_match_limit(re->mctx, ROUTE_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, ROUTE_REGEX_MATCH_LIMIT);
	pcre2_set_heap_limit(re->mctx, ROUTE_REGEX_HEAP_KIB);
	return re;
}

void route_regex_free(struct route_regex *re)
{
	if (!re)
		return;
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	free(re);
}

int route_matches_rest(const struct cfg_route *r, const struct route_regex *re,
			      const struct route_request *rq)
{
	if (r->path && !str_is(r->path, rq->path, rq->path_len))
		return 0;
	if (r->path_prefix && !str_starts(rq->path, rq->path_len, r->path_prefix))
		return 0;
	if (r->method && !str_is(r->method, rq->method, rq->method_len))
		return 0;
	if (r->header && !header_matches(r->header, rq))
		return 0;
	if (r->cookie && !cookie_matches(r->cookie, rq))
		return 0;
	if (r->query && !list_has(rq->query, rq->query_len, '&', r->query))
		return 0;
	if (r->scheme && (r->scheme[4] == 's') != (rq->https != 0))  /* "https" or "http" */
		return 0;
	if (r->path_regex && !regex_matches(re, rq->path, rq->path_len))
		return 0;
	return 1;
}

int route_matches_normalized(const struct cfg_route *r, const struct route_regex *re,
			     const struct route_request *rq)
{
	if (r->host && !host_matches_normalized(r->host, rq->host, rq->host_len))
		return 0;
	return route_matches_rest(r, re, rq);
}

int route_matches(const struct cfg_route *r, const struct route_regex *re, const struct route_request *rq)
{
	struct route_request q = *rq;

	q.host_len = route_host_normalized_len(rq->host, rq->host_len);
	return route_matches_normalized(r, re, &q);
}

/* The host is normalized once for all routes, and tried in the loop itself: with many
 * routes by host, most are passed over there, without a call. */
int route_find(const struct cfg_route *routes, struct route_regex *const *res, size_t n,
	       const struct route_request *rq)
{
	struct route_request q = *rq;
	size_t i;

	q.host_len = route_host_normalized_len(rq->host, rq->host_len);
	for (i = 0; i < n; i++) {
		if (routes[i].host && !host_matches_normalized(routes[i].host, q.host, q.host_len))
			continue;
		if (route_matches_rest(&routes[i], res ? res[i] : NULL, &q))
			return (int)i;
	}
	return -1;
}

/* 1 when r has no condition: every request matches it. */
static int route_catches_all(const struct cfg_route *r)
{
	return !r->host && !r->path && !r->path_prefix && !r->method && !r->header && !r->cookie &&
	       !r->query && !r->path_regex && !r->scheme;
}

int route_unreachable_print(const struct config *cfg, FILE *out)
{
	size_t i, j;
	int n = 0;

	for (i = 0; i < cfg->nlisteners; i++) {
		const struct cfg_listener *l = &cfg->listeners[i];
		const struct cfg_route *all = NULL;

		for (j = 0; j < l->nroutes; j++) {
			if (all) {
				fprintf(out, "%s:%d: listeners.%s.routes.%s: warning: unreachable: route '%s' "
					"before it matches every request\n", cfg->source, l->routes[j].line, l->name,
					l->routes[j].name, all->name);
				n++;
			} else if (route_catches_all(&l->routes[j])) {
				all = &l->routes[j];
			}
		}
		if (all && l->pool) {
			fprintf(out, "%s:%d: listeners.%s.pool: warning: unreachable: route '%s' matches every "
				"request before the listener's pool\n", cfg->source, l->line, l->name, all->name);
			n++;
		}
	}
	return n;
}
