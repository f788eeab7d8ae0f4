/* route.c: owns the matching of requests to a listener's routes (include/route.h): host
 * (exact or "*." suffix, without case, port ignored), exact path or path prefix, method.
 * A linear scan in order: first match wins, as the operator wrote them. */
#include <string.h>
#include <strings.h>

#include "route.h"

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

/* "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com". */
static int host_matches(const char *pattern, const char *h, size_t n)
{
	size_t plen;

	n = host_without_port(h, n);
	if (n > 0 && h[n - 1] == '.')
		n--;  /* a fully qualified name ends in a dot: the same host */
	if (pattern[0] == '*' && pattern[1] == '.') {
		plen = strlen(pattern + 1);  /* ".example.com" */
		return n > plen && strncasecmp(h + n - plen, pattern + 1, plen) == 0;
	}
	plen = strlen(pattern);
	return n == plen && strncasecmp(h, pattern, n) == 0;
}

int route_matches(const struct cfg_route *r, const struct route_request *rq)
{
	size_t len;

	if (r->host && !host_matches(r->host, rq->host, rq->host_len))
		return 0;
	if (r->path && (strlen(r->path) != rq->path_len || memcmp(r->path, rq->path, rq->path_len) != 0))
		return 0;
	if (r->path_prefix) {
		len = strlen(r->path_prefix);
		if (rq->path_len < len || memcmp(r->path_prefix, rq->path, len) != 0)
			return 0;
	}
	if (r->method && (strlen(r->method) != rq->method_len ||
			  memcmp(r->method, rq->method, rq->method_len) != 0))
		return 0;
	return 1;
}

int route_find(const struct cfg_route *routes, size_t n, const struct route_request *rq)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (route_matches(&routes[i], rq))
			return (int)i;
	return -1;
}
