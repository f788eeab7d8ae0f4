/* route_index.h: a listener's routes indexed by host and path (core/route_index.c), built
 * once per generation, so that a request checks only the routes its host and path can
 * take instead of all of them in turn. It answers exactly as route_find (core/route.c):
 * the first route in config order whose every condition holds. */
#ifndef FULCRUM_ROUTE_INDEX_H
#define FULCRUM_ROUTE_INDEX_H

#include <stddef.h>

#include "config-t.h"
#include "route.h"

/* Most routes an index takes (the config's bound on a listener's routes). */
#define ROUTE_INDEX_MAX 1024

/* Immutable once built; shared read-only by the workers. */
struct route_index;

/* Indexes routes[0..n) (n <= ROUTE_INDEX_MAX): their exact hosts in a hash table, their
 * path and path_prefix in a prefix tree. The index keeps pointers into neither: the
 * routes are passed again to route_index_find. Returns NULL with a message in err
 * (out of memory, too many routes). The caller owns the result. */
struct route_index *route_index_build(const struct cfg_route *routes, size_t n, char *err,
				      size_t errlen);
void route_index_free(struct route_index *ix);

/* What route_find(routes, res, n, rq) answers, routes[0..n) being those ix was built
 * from: the index of the first route that matches rq, or -1. */
int route_index_find(const struct route_index *ix, const struct cfg_route *routes,
		     struct route_regex *const *res, const struct route_request *rq);

#endif
