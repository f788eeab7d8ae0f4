/* plane.c: the control plane's state (struct ctl_plane: the file's config, the journal,
 * the kept generations, ids) and the reads of it and of the running generation that
 * the API's views, waits and cluster mode share. It changes through control/state.c. */
#include <string.h>

#include "backend.h"
#include "ctl_api.h"
#include "generation.h"

struct ctl_plane ctl_plane = { .lock_fd = -1, .next_id = 1 };

const struct config *ctl_base(void)
{
	return ctl_plane.rollback_base ? ctl_plane.rollback_base : ctl_plane.file;
}

struct backend *ctl_live_backend(struct generation *g, const char *pool, const char *name)
{
	struct pool *p = g ? generation_find_pool(g, pool) : NULL;
	size_t i;

	for (i = 0; p && i < p->nbackends; i++)
		if (!strcmp(p->backends[i]->name, name))
			return p->backends[i];
	return NULL;
}

int ctl_in_rotation(const struct backend *b)
{
	return backend_eligible(b);
}
