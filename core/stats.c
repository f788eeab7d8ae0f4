/* stats.c: the per-worker counter blocks of backends, pools and listeners (who makes
 * them, how long they live) and their sums for the control thread. The increments
 * themselves are inline in include/stats.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "generation.h"
#include "stats.h"

const uint64_t stats_bound_us[STATS_BOUNDS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

/* Pool and listener blocks by name; appended by the control thread, never freed. */
struct stats_named {
	struct stats_named *next;
	int kind;                        /* 0 pool, 1 listener, 2 route ("listener/route") */
	void *blocks;                    /* nworkers blocks */
	char name[];
};

static int nworkers = 1;
static int blocks_made;              /* nworkers is fixed once a block exists */
static struct stats_named *named;
static pthread_mutex_t named_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ullong reloads_ok, reloads_failed;

static void *zalloc_aligned(size_t size);
static void *named_blocks(const char *name, int kind, size_t block_size);

void stats_set_workers(int n)
{
	if (!blocks_made && n > 0)
		nworkers = n;
}

int stats_workers(void)
{
	return nworkers;
}

static void *zalloc_aligned(size_t size)
{
	void *p;

	size = (size + 63) & ~(size_t)63;
	p = aligned_alloc(64, size);
	if (p)
		memset(p, 0, size);
	return p;
}

struct backend_stats_set *stats_backend_new(void)
{
	blocks_made = 1;
	return zalloc_aligned(sizeof(struct backend_stats_set) +
			      sizeof(struct backend_stats) * (size_t)nworkers);
}

void stats_backend_free(struct backend_stats_set *s)
{
	free(s);
}

static void *named_blocks(const char *name, int kind, size_t block_size)
{
	struct stats_named *n;
	void *blocks = NULL;

	pthread_mutex_lock(&named_lock);
	for (n = named; n; n = n->next)
		if (n->kind == kind && !strcmp(n->name, name))
			break;
	if (n) {
		blocks = n->blocks;
	} else if ((n = calloc(1, sizeof(*n) + strlen(name) + 1))) {
		blocks_made = 1;
		n->blocks = zalloc_aligned(block_size * (size_t)nworkers);
		if (!n->blocks) {
			free(n);
		} else {
			strcpy(n->name, name);
			n->kind = kind;
			n->next = named;
			named = n;
			blocks = n->blocks;
		}
	}
	pthread_mutex_unlock(&named_lock);
	return blocks;
}

struct pool_stats *stats_pool_blocks(const char *name)
{
	return named_blocks(name, 0, sizeof(struct pool_stats));
}

struct listener_stats *stats_listener_blocks(const char *name)
{
	return named_blocks(name, 1, sizeof(struct listener_stats));
}

struct route_stats *stats_route_blocks(const char *listener, const char *route)
{
	char name[256];

	/* '/' is in no name (cfg_check_name): the key cannot be two other names' */
	snprintf(name, sizeof(name), "%s/%s", listener, route);
	return named_blocks(name, 2, sizeof(struct route_stats));
}

static uint64_t ld(const atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void stats_hist_merge(struct stats_hist_sum *s, const struct stats_hist *h)
{
	unsigned i;

	for (i = 0; i < STATS_BUCKETS; i++)
		s->cum[i] += ld(&h->bucket[i]);
	s->sum_us += ld(&h->sum_us);
}

void stats_hist_finish(struct stats_hist_sum *s)
{
	unsigned i;

	for (i = 1; i < STATS_BUCKETS; i++)
		s->cum[i] += s->cum[i - 1];
}

void stats_backend_sum(const struct backend *b, struct backend_stats_sum *out)
{
	int w, k;

	memset(out, 0, sizeof(*out));
	if (!b->stats)
		return;
	for (w = 0; w < nworkers; w++) {
		const struct backend_stats *s = &b->stats->per_worker[w];

		for (k = 0; k < STATS_CLASSES; k++)
			out->requests[k] += ld(&s->requests[k]);
		out->errors += ld(&s->errors);
		out->bytes_sent += ld(&s->bytes_sent);
		out->bytes_received += ld(&s->bytes_received);
		out->connects += ld(&s->connects);
		out->connect_failures += ld(&s->connect_failures);
		out->open += atomic_load_explicit(&s->open, memory_order_relaxed);
		for (k = 0; k < STATS_PHASES; k++)
			stats_hist_merge(&out->phase[k], &s->phase[k]);
	}
	for (k = 0; k < STATS_PHASES; k++)
		stats_hist_finish(&out->phase[k]);
	/* one worker may close a connection another counted a moment ago: never below 0 */
	if (out->open < 0)
		out->open = 0;
}

void stats_pool_sum(const struct pool *p, struct pool_stats_sum *out)
{
	int w, k;

	memset(out, 0, sizeof(*out));
	for (w = 0; p->stats && w < nworkers; w++) {
		out->queue_timeouts += ld(&p->stats[w].queue_timeouts);
		out->queue_full += ld(&p->stats[w].queue_full);
		out->no_backend += ld(&p->stats[w].no_backend);
		out->queue_abandoned += ld(&p->stats[w].queue_abandoned);
		out->replays += ld(&p->stats[w].replays);
		out->replays_refused += ld(&p->stats[w].replays_refused);
		out->backend_saved_us += ld(&p->stats[w].backend_saved_us);
		out->buffer_spilled_bytes += ld(&p->stats[w].buffer_spilled_bytes);
		out->buffer_spilled_files += ld(&p->stats[w].buffer_spilled_files);
		out->buffer_refused += ld(&p->stats[w].buffer_refused);
		for (k = 0; k < 3; k++) {
			out->compress_in[k] += ld(&p->stats[w].compress_in[k]);
			out->compress_out[k] += ld(&p->stats[w].compress_out[k]);
			out->compress_cpu_ns[k] += ld(&p->stats[w].compress_cpu_ns[k]);
			out->compress_responses[k] += ld(&p->stats[w].compress_responses[k]);
		}
	}
}

void stats_listener_sum(const struct gen_listener *gl, struct listener_stats_sum *out)
{
	int w, k;

	memset(out, 0, sizeof(*out));
	for (w = 0; gl->stats && w < nworkers; w++) {
		out->accepted += ld(&gl->stats[w].accepted);
		out->refused_per_client += ld(&gl->stats[w].refused_per_client);
		out->h2_connections += ld(&gl->stats[w].h2_connections);
		out->h2_streams += ld(&gl->stats[w].h2_streams);
		out->h2_goaway_abuse += ld(&gl->stats[w].h2_goaway_abuse);
		for (k = 0; k < STATS_CLASSES; k++)
			out->requests[k] += ld(&gl->stats[w].requests[k]);
	}
}

void stats_route_sum(const struct route_stats *blocks, struct route_stats_sum *out)
{
	int w, k;

	memset(out, 0, sizeof(*out));
	for (w = 0; blocks && w < nworkers; w++) {
		for (k = 0; k < STATS_CLASSES; k++)
			out->requests[k] += ld(&blocks[w].requests[k]);
		stats_hist_merge(&out->duration, &blocks[w].duration);
	}
	stats_hist_finish(&out->duration);
}

void stats_reload_done(int ok)
{
	atomic_fetch_add(ok ? &reloads_ok : &reloads_failed, 1);
}

void stats_reloads(uint64_t *ok, uint64_t *failed)
{
	*ok = atomic_load(&reloads_ok);
	*failed = atomic_load(&reloads_failed);
}

void stats_check_done(struct backend *b, enum health_result r, double seconds)
{
	if (!b->stats || r < 0 || r >= HRES__COUNT)
		return;
	stat_add(&b->stats->checks.results[r], 1);
	stats_hist_observe(&b->stats->checks.duration, seconds);
}
