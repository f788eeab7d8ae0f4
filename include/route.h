/* route.h: which of a listener's routes a request takes (core/route.c). The matcher
 * is pure: slices of the request head in (host, path, query, method, header fields),
 * the index of the first route whose every condition holds out; the data path
 * (lb/http_route.c) then acts on it. */
#ifndef FULCRUM_ROUTE_H
#define FULCRUM_ROUTE_H

#include <stddef.h>
#include <stdio.h>

#include "config-t.h"
#include "http.h"

/* Longest body of a route's fixed answer (respond.body). */
#define ROUTE_BODY_MAX 4096

/* Steps pcre2_match may take for one path_regex before the route counts as not
 * matching: a pathological pattern costs a bounded time per request, not a stalled
 * worker. */
#define ROUTE_REGEX_MATCH_LIMIT 100000
/* Backtracking memory one match may take, KiB (PCRE2's default is 20 GB). */
#define ROUTE_REGEX_HEAP_KIB 4096
/* Longest path_regex pattern. */
#define ROUTE_REGEX_MAX 1024

/* What a route looks at, as slices of the request head. host is the Host header's value
 * (its port, if any, is ignored), path the target up to any '?', query what follows
 * the '?' (empty when none); headers[0..nheaders) are the parsed fields, their slices
 * relative to base (a struct http_head's, include/http.h). */
struct route_request {
	const char *host;
	size_t host_len;
	const char *path;
	size_t path_len;
	const char *method;
	size_t method_len;
	const char *query;
	size_t query_len;
	const char *base;
	const struct http_header *headers;
	size_t nheaders;
	int https;                   /* the client came over TLS (a route's scheme) */
};

/* A compiled path_regex (PCRE2) with its match limits; shared read-only by the workers. */
struct route_regex;

/* Compiles pattern once (at load); NULL with a message in err (and the offset in the
 * pattern) when it is not a valid regex. The caller owns the result. */
struct route_regex *route_regex_compile(const char *pattern, char *err, size_t errlen);
void route_regex_free(struct route_regex *re);

/* The index of the first of routes[0..n) that matches rq, or -1 (the listener's pool).
 * res[i] is routes[i]'s compiled path_regex (res may be NULL when no route has one). */
int route_find(const struct cfg_route *routes, struct route_regex *const *res, size_t n,
	       const struct route_request *rq);

/* Whether one route matches rq (every condition it sets); re is its compiled path_regex,
 * NULL when it has none (a route with a path_regex and no re never matches). */
int route_matches(const struct cfg_route *r, const struct route_regex *re,
		  const struct route_request *rq);

/* The length of the Host value host[0..n) as routes compare it: without its port
 * ("[::1]:8080" -> "[::1]", "a.example:80" -> "a.example") and without the final dot of
 * a fully qualified name (the same host). */
size_t route_host_normalized_len(const char *host, size_t n);

/* route_matches for a request whose host_len is already route_host_normalized_len's. */
int route_matches_normalized(const struct cfg_route *r, const struct route_regex *re,
			     const struct route_request *rq);

/* The conditions of r other than its host, for a request whose host r's is known to
 * take (the route index's host table decided it). */
int route_matches_rest(const struct cfg_route *r, const struct route_regex *re,
		       const struct route_request *rq);

/* Prints a warning line ("file:line: listeners.L.routes.R: warning: ...") for each
 * route of cfg that no request can reach (it follows a route without conditions in the
 * same listener), and for a listener pool that no request can reach for the same
 * reason. Returns how many it printed. */
int route_unreachable_print(const struct config *cfg, FILE *out);

#endif
