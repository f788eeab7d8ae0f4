/* fuzz_route.c: libFuzzer target for the route matcher (core/route.c) on arbitrary
 * request parts: the input is host, path and method separated by NUL bytes, matched
 * against a fixed table of every kind of condition. The first match must match, no
 * earlier route may, and no read may leave the slices given. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cfg_route routes[] = {
	{ .name = "exact-host", .host = "api.example.com" },
	{ .name = "wild-host", .host = "*.example.com", .path_prefix = "/static/" },
	{ .name = "ip-host", .host = "127.0.0.1", .method = "POST" },
	{ .name = "exact-path", .path = "/robots.txt", .method = "GET" },
	{ .name = "prefix", .path_prefix = "/api/" },
	{ .name = "everything" },
};

/* Copies the next NUL-separated part of data into a buffer of exactly its size, so an
 * out-of-bounds read shows under ASan. */
static char *next_part(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
	size_t n = (size_t)((nul ? nul : end) - *p);
	char *s = malloc(n ? n : 1);

	if (s && n)
		memcpy(s, *p, n);
	*len = n;
	*p = nul ? nul + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct route_request rq;
	char *host, *path, *method;
	size_t n = sizeof(routes) / sizeof(routes[0]);
	int i, j;

	host = next_part(&p, end, &rq.host_len);
	path = next_part(&p, end, &rq.path_len);
	method = next_part(&p, end, &rq.method_len);
	if (host && path && method) {
		rq.host = host;
		rq.path = path;
		rq.method = method;
		i = route_find(routes, n - 1, &rq);
		if (i >= 0)
			assert(route_matches(&routes[i], &rq));
		for (j = 0; j < (i < 0 ? (int)n - 1 : i); j++)
			assert(!route_matches(&routes[j], &rq));
		assert(route_find(routes, n, &rq) >= 0);  /* the last route matches anything */
	}
	free(host);
	free(path);
	free(method);
	return 0;
}
