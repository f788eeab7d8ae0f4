/* fuzz_route.c: libFuzzer target for the route matcher (core/route.c) on arbitrary
 * request parts: the input is host, path, method, query and then header fields
 * ("Name: value", one per part) separated by NUL bytes, matched against a fixed table of
 * every kind of condition. The first match must match, no earlier route may, and no
 * read may leave the slices given. The route index (core/route_index.c) must answer as
 * route_find on that table and on a second one of many hosts and paths. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "route_index.h"
#include "fuzz_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cfg_route routes[] = {
	{ .name = "exact-host", .host = "api.example.com" },
	{ .name = "wild-host", .host = "*.example.com", .path_prefix = "/static/" },
	{ .name = "ip-host", .host = "127.0.0.1", .method = "POST" },
	{ .name = "exact-path", .path = "/robots.txt", .method = "GET" },
	{ .name = "prefix", .path_prefix = "/api/" },
	{ .name = "canary", .header = "X-Canary: 1" },
	{ .name = "has-header", .header = "X-Debug", .method = "GET" },
	{ .name = "cookie", .cookie = "canary=1" },
	{ .name = "has-cookie", .cookie = "session", .path_prefix = "/s" },
	{ .name = "query", .query = "debug=1" },
	{ .name = "has-query", .query = "trace" },
	{ .name = "regex", .path_regex = "^/users/[0-9]+/(avatar|photo)$" },
	{ .name = "slow-regex", .path_regex = "^(a|aa)+$" },
	{ .name = "everything" },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))
#define NFIELDS 16

/* Hosts and paths that share beginnings and ends, as a table by host and path has them. */
static const struct cfg_route by_host[] = {
	{ .name = "a-api", .host = "a.example.com", .path_prefix = "/api/" },
	{ .name = "wild-api", .host = "*.example.com", .path_prefix = "/api" },
	{ .name = "b-exact", .host = "B.Example.Com", .path = "/" },
	{ .name = "a-root", .host = "a.example.com", .path = "/" },
	{ .name = "deep-wild", .host = "*.a.example.com" },
	{ .name = "any-static", .path_prefix = "/static/" },
	{ .name = "ip", .host = "127.0.0.1", .path_prefix = "/a" },
	{ .name = "a-ab", .host = "a.example.com", .path_prefix = "/ab" },
	{ .name = "a-a", .host = "a.example.com", .path_prefix = "/a", .method = "GET" },
	{ .name = "exact-a", .path = "/a" },
	{ .name = "c-any", .host = "c.example.com" },
	{ .name = "root-prefix", .path_prefix = "/" },
};
#define NBY_HOST (sizeof(by_host) / sizeof(by_host[0]))

/* The compiled regexes, made on the first input and kept for the process's life, and
 * the indexes: of routes without its catch-all, of all of routes, of by_host. */
static struct route_regex *res[NROUTES];
static struct route_index *ix_some, *ix_all, *ix_by_host;

/* The rest of the input as header fields: the parts copied into one buffer of exactly
 * their size, each "Name: value" sliced as the parser would (the name up to the first
 * ':', the value after it without spaces at either end). */
static char *fields(const uint8_t *p, const uint8_t *end, struct http_header *f, size_t *nf)
{
	size_t total = (size_t)(end - p), i, k = 0, line_start;
	char *buf = malloc(total ? total : 1);

	*nf = 0;
	if (!buf)
		return NULL;
	if (total)
		memcpy(buf, p, total);
	for (line_start = 0; line_start < total && *nf < NFIELDS; line_start = k + 1) {
		size_t colon, vs, ve;
		for (k = line_start; k < total && buf[k] != '\0'; k++)
			;
		for (colon = line_start; colon < k && buf[colon] != ':'; colon++)
			;
		if (colon == k)
			continue;  /* no ':': not a field */
		for (vs = colon + 1; vs < k && buf[vs] == ' '; vs++)
			;
		for (ve = k; ve > vs && buf[ve - 1] == ' '; ve--)
			;
		f[*nf].name = (struct http_slice){ (uint32_t)line_start, (uint32_t)(colon - line_start) };
		f[*nf].value = (struct http_slice){ (uint32_t)vs, (uint32_t)(ve - vs) };
		(*nf)++;
	}
	for (i = 0; i < *nf; i++)
		assert(f[i].name.off + f[i].name.len <= total && f[i].value.off + f[i].value.len <= total);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct route_request rq;
	struct http_header f[NFIELDS];
	char *host, *path, *method, *query, *base;
	char err[256];
	size_t n = NROUTES, k;
	int i, j;

	for (k = 0; k < n; k++)
		if (routes[k].path_regex && !res[k]) {
			res[k] = route_regex_compile(routes[k].path_regex, err, sizeof(err));
			assert(res[k]);
		}
	if (!ix_all) {
		ix_some = route_index_build(routes, n - 1, err, sizeof(err));
		ix_all = route_index_build(routes, n, err, sizeof(err));
		ix_by_host = route_index_build(by_host, NBY_HOST, err, sizeof(err));
		assert(ix_some && ix_all && ix_by_host);
	}
	host = fuzz_next_part(&p, end, &rq.host_len);
	path = fuzz_next_part(&p, end, &rq.path_len);
	method = fuzz_next_part(&p, end, &rq.method_len);
	query = fuzz_next_part(&p, end, &rq.query_len);
	base = fields(p, end, f, &rq.nheaders);
	if (host && path && method && query && base) {
		rq.host = host;
		rq.path = path;
		rq.method = method;
		rq.query = query;
		rq.base = base;
		rq.headers = f;
		i = route_find(routes, res, n - 1, &rq);
		if (i >= 0)
			assert(route_matches(&routes[i], res[i], &rq));
		for (j = 0; j < (i < 0 ? (int)n - 1 : i); j++)
			assert(!route_matches(&routes[j], res[j], &rq));
		assert(route_find(routes, res, n, &rq) >= 0);  /* the last route matches anything */
		assert(route_index_find(ix_some, routes, res, &rq) == i);
		assert(route_index_find(ix_all, routes, res, &rq) == route_find(routes, res, n, &rq));
		assert(route_index_find(ix_by_host, by_host, NULL, &rq) == route_find(by_host, NULL, NBY_HOST, &rq));
	}
	free(host);
	free(path);
	free(method);
	free(query);
	free(base);
	return 0;
}
