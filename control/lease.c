/* lease.c: leases of API registrations: expired ones are removed (journal record and a
 * runtime generation) by a once-a-second sweep, and at start before anything applies.
 * In cluster mode the store's leases do this instead (control/cluster.c). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "ctl_api.h"
#include "log.h"

#define SWEEP_S 1.0
#define SWEEP_MAX 64                 /* removals per sweep: a burst spreads over seconds */

static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents);

static ev_timer sweep;
static ctl_lease_remove_fn remove_backend;  /* as an API delete (control/state.c) */

static int expired_at(const struct ctl_jentry *e, double now)
{
	return e->op == CTL_JOP_SET && e->ttl_s && e->expires <= now;
}

size_t ctl_lease_expire_entries(struct ctl_jentry *entries, size_t n, const struct config *file,
				double now, size_t *expired)
{
	size_t i, out = 0;

	*expired = 0;
	for (i = 0; i < n; i++) {
		struct ctl_jentry *e = &entries[i];

		if (!expired_at(e, now)) {
			entries[out++] = *e;
			continue;
		}
		(*expired)++;
		log_warn("lease: backend %s/%s (%s) was not renewed within its %" PRIu32 " s lease "
			 "(ended %.0f s ago); removed", e->pool, e->name, e->address, e->ttl_s,
			 now - e->expires);
		/* the file's backend of that name stays removed, as an API delete would */
		if (ctl_config_backend((struct config *)file, e->pool, e->name)) {
			struct ctl_jentry d;

			memset(&d, 0, sizeof(d));
			d.op = CTL_JOP_DELETE;
			snprintf(d.pool, sizeof(d.pool), "%s", e->pool);
			snprintf(d.name, sizeof(d.name), "%s", e->name);
			memcpy(d.file_fp, e->file_fp, sizeof(d.file_fp));
			entries[out++] = d;
		}
	}
	return out;
}

void ctl_lease_carry(struct ctl_jentry *entries, size_t n, const struct ctl_journal *cur,
		     const struct config *file, double now)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct ctl_jentry *e = &entries[i];
		const struct ctl_jentry *was = cur ? ctl_journal_find(cur, e->pool, e->name) : NULL;
		const struct cfg_pool *p = config_find_pool(file, e->pool);

		if (e->op != CTL_JOP_SET || e->ttl_s)
			continue;
		if (was && was->op == CTL_JOP_SET && was->ttl_s) {
			e->ttl_s = was->ttl_s;
			e->expires = was->expires;
		} else if (p && p->lease_ttl_s &&
			   !ctl_config_backend((struct config *)file, e->pool, e->name)) {
			/* brought back by the rollback: registered by the API, it was leased */
			e->ttl_s = p->lease_ttl_s;
			e->expires = now + p->lease_ttl_s;
		}
	}
}

/* Removes the expired leases of the journal, each as an API delete would (journal
 * first, then a runtime generation), at most SWEEP_MAX at a time. */
static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	char pools[SWEEP_MAX][CTL_NAME_MAX], names[SWEEP_MAX][CTL_NAME_MAX];
	double now = clock_wall_s();
	size_t i, k = 0;

	/* cluster mode: a registration's key is bound to a store lease, and etcd deletes it
	 * when it ends, for every replica at once; no replica's clock removes it (while the
	 * store is away, what was applied last keeps serving) */
	if (ctl_plane.stopping || ctl_plane.journal.fd == -1 || ctl_cluster_on())
		return;
	/* names first: each removal rewrites the journal's entries */
	for (i = 0; i < ctl_plane.journal.n && k < SWEEP_MAX; i++) {
		const struct ctl_jentry *e = &ctl_plane.journal.entries[i];

		if (!expired_at(e, now))
			continue;
		log_warn("lease: backend %s/%s (%s) was not renewed within its %" PRIu32 " s lease; "
			 "removing it", e->pool, e->name, e->address, e->ttl_s);
		memcpy(pools[k], e->pool, CTL_NAME_MAX);
		memcpy(names[k], e->name, CTL_NAME_MAX);
		k++;
	}
	for (i = 0; i < k; i++) {
		char err[512], src[CTL_SOURCE_MAX];
		uint64_t gen = 0;

		snprintf(src, sizeof(src), "lease expired: %s/%s", pools[i], names[i]);
		if (remove_backend(pools[i], names[i], src, &gen, err, sizeof(err)))
			log_error("lease: %s/%s could not be removed: %s (tried again in %.0f s)",
				  pools[i], names[i], err, SWEEP_S);
	}
}

void ctl_lease_start(struct ev_loop *loop, ctl_lease_remove_fn remove)
{
	remove_backend = remove;
	ev_timer_init(&sweep, on_sweep, SWEEP_S, SWEEP_S);
	ev_timer_start(loop, &sweep);
}

void ctl_lease_stop(struct ev_loop *loop)
{
	ev_timer_stop(loop, &sweep);
}
