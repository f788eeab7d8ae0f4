/* stats.h: the data path's counters. Every backend, pool and listener has one block of
 * counters per worker (on its own cache lines, written only by that worker with relaxed
 * load+store, no atomic read-modify-write); the control thread sums the blocks when
 * /metrics or /v1/stats is read. Histograms have fixed buckets (the metrics contract). */
#ifndef FULCRUM_STATS_H
#define FULCRUM_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "health-t.h"

/* Histogram buckets: upper bounds in microseconds (0.5 ms .. 10 s), then +Inf. */
#define STATS_BOUNDS 14
#define STATS_BUCKETS (STATS_BOUNDS + 1)
extern const uint64_t stats_bound_us[STATS_BOUNDS];

/* Status classes of a response: the "code" label. */
enum stats_class { STATS_2XX = 0, STATS_3XX, STATS_4XX, STATS_5XX, STATS_OTHER, STATS_CLASSES };

/* Phases of a request timed per backend: the "phase" label. */
enum stats_phase {
	STATS_QUEUE = 0,     /* waiting for a backend slot (0 when none was needed) */
	STATS_CONNECT,       /* connect to the backend (0 for a reused connection) */
	STATS_FIRST_BYTE,    /* connected (request sent) to the first response byte */
	STATS_TOTAL,         /* head complete to the last response byte */
	STATS_PHASES
};

/* One histogram as one writer keeps it: counts per bucket (not cumulative). */
struct stats_hist {
	atomic_ullong bucket[STATS_BUCKETS];
	atomic_ullong sum_us;
};

/* A backend's counters on one worker. */
struct backend_stats {
	atomic_ullong requests[STATS_CLASSES];   /* answered to clients, by status class */
	atomic_ullong errors;                    /* of those, 5xx (including fulcrum's 502/503/504) */
	atomic_ullong bytes_sent;                /* to the backend */
	atomic_ullong bytes_received;            /* from the backend */
	atomic_ullong connects;                  /* connections established */
	atomic_ullong connect_failures;          /* refused, unreachable, timed out */
	atomic_llong open;                       /* backend connections open now (idle included) */
	struct stats_hist phase[STATS_PHASES];
} __attribute__((aligned(64)));

/* Written by the control thread only: results and durations of active checks. */
struct backend_check_stats {
	atomic_ullong results[HRES__COUNT];      /* by enum health_result */
	struct stats_hist duration;
} __attribute__((aligned(64)));

/* Everything counted about one backend; lives and dies with the backend object, so a
 * backend kept across a reload keeps its counters. */
struct backend_stats_set {
	struct backend_check_stats checks;
	struct backend_stats per_worker[];       /* one per worker */
};

/* A pool's counters on one worker. */
struct pool_stats {
	atomic_ullong queue_timeouts;            /* waited queue_timeout_ms: 503 */
	atomic_ullong queue_full;                /* the wait queue was full: 503 */
	atomic_ullong no_backend;                /* no eligible backend: 503 */
	atomic_ullong queue_abandoned;           /* the client left while queued: never sent */
	atomic_ullong replays;                   /* requests sent again to another backend */
	atomic_ullong replays_refused;           /* replays the retry budget refused */
	/* buffering (lb/buffering.c) */
	atomic_ullong backend_saved_us;          /* backend time spared: uploads and deliveries */
	atomic_ullong buffer_spilled_bytes;      /* body bytes written to spill files */
	atomic_ullong buffer_spilled_files;      /* bodies that spilled */
	atomic_ullong buffer_refused;            /* requests refused: their body did not fit (503) */
	/* compression (lb/http_compress.c), by coding: [0] gzip, [1] br, [2] zstd */
	atomic_ullong compress_in[3];            /* body bytes taken by the encoder */
	atomic_ullong compress_out[3];           /* body bytes it gave (the framing not counted) */
	atomic_ullong compress_cpu_ns[3];        /* thread CPU time spent in the encoder */
	atomic_ullong compress_responses[3];     /* responses compressed */
	/* the retry budget's view of this worker: requests of the pool in flight (sent to a
	 * backend or on their way), and how many of them are replays */
	atomic_llong in_flight;
	atomic_llong replays_in_flight;
} __attribute__((aligned(64)));

/* A listener's counters on one worker. */
struct listener_stats {
	atomic_ullong accepted;                  /* connections accepted */
	atomic_ullong requests[STATS_CLASSES];   /* HTTP requests answered, by status class */
	atomic_ullong refused_per_client;        /* closed at once: max_conns_per_client */
	atomic_ullong h2_connections;            /* connections that chose HTTP/2 */
	atomic_ullong h2_streams;                /* HTTP/2 streams that carried a request */
	atomic_ullong h2_goaway_abuse;           /* closed for a flood (resets, CONTINUATION, empty frames) */
} __attribute__((aligned(64)));

/* Adds n to a counter that only the calling worker writes: a relaxed load and store,
 * no locked instruction; readers see whole values. */
static inline void stat_add(atomic_ullong *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void stat_gauge_add(atomic_llong *g, int64_t n)
{
	atomic_store_explicit(g, atomic_load_explicit(g, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline enum stats_class stats_class_of(int status)
{
	return status >= 200 && status < 600 ? (enum stats_class)(status / 100 - 2) : STATS_OTHER;
}

/* Bucket of a duration in microseconds: the first bound it does not exceed. */
static inline unsigned stats_bucket_of(uint64_t us)
{
	unsigned i = 0;

	while (i < STATS_BOUNDS && us > stats_bound_us[i])
		i++;
	return i;
}

/* Records one duration (single writer). */
static inline void stats_hist_observe_us(struct stats_hist *h, uint64_t us)
{
	stat_add(&h->bucket[stats_bucket_of(us)], 1);
	stat_add(&h->sum_us, us);
}

static inline void stats_hist_observe(struct stats_hist *h, double seconds)
{
	stats_hist_observe_us(h, seconds > 0 ? (uint64_t)(seconds * 1e6 + 0.5) : 0);
}

/* Worker w's block of a backend's counters. */
static inline struct backend_stats *stats_at(struct backend_stats_set *s, int w)
{
	return &s->per_worker[w];
}

/* A route's counters on one worker (kept by listener and route name). */
struct route_stats {
	atomic_ullong requests[STATS_CLASSES];   /* answered, by status class */
	struct stats_hist duration;              /* head complete to the last response byte */
} __attribute__((aligned(64)));

/* ---- Sums, read by the control thread ---- */

/* A histogram summed over workers: cumulative counts (cum[STATS_BOUNDS] = count). */
struct stats_hist_sum {
	uint64_t cum[STATS_BUCKETS];
	uint64_t sum_us;
};

struct backend_stats_sum {
	uint64_t requests[STATS_CLASSES];
	uint64_t errors, bytes_sent, bytes_received, connects, connect_failures;
	int64_t open;
	struct stats_hist_sum phase[STATS_PHASES];
};

struct pool_stats_sum {
	uint64_t queue_timeouts, queue_full, no_backend, queue_abandoned, replays, replays_refused;
	uint64_t backend_saved_us, buffer_spilled_bytes, buffer_spilled_files, buffer_refused;
	uint64_t compress_in[3], compress_out[3], compress_cpu_ns[3], compress_responses[3];
};

struct listener_stats_sum {
	uint64_t accepted;
	uint64_t requests[STATS_CLASSES];
	uint64_t refused_per_client;
	uint64_t h2_connections, h2_streams, h2_goaway_abuse;
};

struct route_stats_sum {
	uint64_t requests[STATS_CLASSES];
	struct stats_hist_sum duration;
};

/* Adds the per-bucket counts of h into s (call stats_hist_finish once after the last). */
void stats_hist_merge(struct stats_hist_sum *s, const struct stats_hist *h);
/* Turns merged per-bucket counts into cumulative ones. */
void stats_hist_finish(struct stats_hist_sum *s);

/* ---- Blocks and their owners ---- */

/* Sets how many workers count (before the first block is made; the process's worker
 * count never changes). Defaults to 1 (unit tests). */
void stats_set_workers(int nworkers);
int stats_workers(void);

/* A backend's blocks, zeroed; NULL on ENOMEM. Freed with the backend. */
struct backend_stats_set *stats_backend_new(void);
void stats_backend_free(struct backend_stats_set *s);

/* The per-worker blocks of the pool or listener named name, made on first use and kept
 * for the life of the process (so counters of a name survive reloads, removal and
 * re-addition). Control thread (generation_build). NULL on ENOMEM. */
struct pool_stats *stats_pool_blocks(const char *name);
struct listener_stats *stats_listener_blocks(const char *name);
/* The same for route route of listener listener. */
struct route_stats *stats_route_blocks(const char *listener, const char *route);

struct backend;
struct pool;
struct gen_listener;
void stats_backend_sum(const struct backend *b, struct backend_stats_sum *out);
void stats_pool_sum(const struct pool *p, struct pool_stats_sum *out);
void stats_listener_sum(const struct gen_listener *gl, struct listener_stats_sum *out);
/* The sum of one route's per-worker blocks (from stats_route_blocks). */
void stats_route_sum(const struct route_stats *blocks, struct route_stats_sum *out);

/* ---- Process-wide, control thread ---- */

/* A reload (SIGHUP or POST /v1/config/reload) ended: ok or refused. */
void stats_reload_done(int ok);
void stats_reloads(uint64_t *ok, uint64_t *failed);
/* Active check of b finished with result r after seconds (control thread only). */
void stats_check_done(struct backend *b, enum health_result r, double seconds);

#endif
