/* conn_generation.c: the one rule for a connection to follow a reload: to its worker's
 * current generation, between requests or before a (re)pick (include/conn_generation.h). */
#include <stdatomic.h>
#include <string.h>

#include "conn.h"
#include "conn_generation.h"
#include "worker.h"

int client_follow_generation(struct client *c)
{
	struct generation *g = c->w->gen;
	struct gen_listener *gl;

	if (c->gen == g)
		return 0;
	gl = generation_follow_listener(g, c->gl);
	if (!gl)
		return -1;
	if (c->counted_in_listener && c->gl->group != gl->group) {
		atomic_fetch_sub(&c->gl->group->active, 1);
		atomic_fetch_add(&gl->group->active, 1);
	}
	/* a routed request keeps its pool, found by name among the new pools (NULL when
	 * the reload removed it: a 503 at the pick); the others take the listener's */
	if (c->ex && c->ex->route[0]) {
		size_t i;
		if (c->ex->pool)
			c->ex->pool = generation_find_pool(g, c->ex->pool->name);
		/* its edits too, from the new config: the old one may go with the old generation */
		c->ex->route_cfg = NULL;
		for (i = 0; i < gl->cfg->nroutes; i++)
			if (!strcmp(gl->cfg->routes[i].name, c->ex->route))
				c->ex->route_cfg = &gl->cfg->routes[i];
	}
	generation_ref(g);
	generation_unref(c->gen);
	c->gen = g;
	c->gl = gl;
	return 0;
}
