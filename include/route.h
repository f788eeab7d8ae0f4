/* route.h: which of a listener's routes a request takes (core/route.c). The matcher
 * is pure: the request's host, path and method in, the index of the first route whose
 * every condition holds out; the data path (lb/http_proxy.c) then acts on it. */
#ifndef FULCRUM_ROUTE_H
#define FULCRUM_ROUTE_H

#include <stddef.h>

#include "config-t.h"

/* Longest body of a route's fixed answer (respond.body). */
#define ROUTE_BODY_MAX 4096

/* What a route looks at, as slices of the request head. host is the Host header's value
 * (its port, if any, is ignored), path the target up to any '?'. */
struct route_request {
	const char *host;
	size_t host_len;
	const char *path;
	size_t path_len;
	const char *method;
	size_t method_len;
};

/* The index of the first of routes[0..n) that matches rq, or -1 (the listener's pool). */
int route_find(const struct cfg_route *routes, size_t n, const struct route_request *rq);

/* Whether one route matches rq (every condition it sets). */
int route_matches(const struct cfg_route *r, const struct route_request *rq);

#endif
