/* worker.h: worker threads (one libev loop, one SO_REUSEPORT socket per listener,
 * the connections accepted there) and the process-wide state they share. */
#ifndef FULCRUM_WORKER_H
#define FULCRUM_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "balance.h"
#include "buffer.h"
#include "exchange.h"
#include "generation.h"
#include "http.h"

struct client;
struct upstream;
struct http_cache_wait;

/* A listening socket this worker watches. */
struct listen_watch {
	ev_io io;
	struct listen_group *group;      /* identity across generations */
	int fd;
	int index;                       /* position in the worker's generation */
};

/* Per worker and pool of the current generation: balancing state and wait queue. */
struct worker_pool {
	struct pool_pick_state pick;
	struct pool_queue queue;
};

#define IDLE_BUCKETS 256

struct worker {
	int id;
	pthread_t thread;
	struct ev_loop *loop;
	ev_async wake;                   /* new generation, queue kick, stop */
	atomic_int want_gen;             /* a new generation was published */
	atomic_int want_kick;            /* a slot freed somewhere: retry the queues */
	atomic_int want_stop;            /* 1 graceful, 2 immediate */
	atomic_int want_cache;           /* cache waiters of this worker were woken */
	pthread_mutex_t cache_lock;      /* guards cache_woken (fetches end on any thread) */
	struct http_cache_wait *cache_woken; /* woken waiters (lb/http_cache.c) */
	struct generation *gen;          /* current, reference held */
	struct listen_watch *watches;
	size_t nwatches;
	int accept_paused;
	int limit_logged;                /* the connection-limit warning was given for this episode */
	ev_timer resume_timer;           /* resumes accepting after EMFILE / limits */
	int fd_short;                    /* paused because descriptors ran into the reserve */
	unsigned long fd_limit;          /* RLIMIT_NOFILE as last read (re-read each second) */
	double fd_limit_at;              /* ev_now() of that read */
	struct worker_pool *pools;       /* parallel to gen->pools */
	int kick_pending;                /* a local slot freed: run the queues after the callbacks */
	atomic_uint queued;              /* requests waiting in this worker's queues */
	struct buf_pool bufs;
	struct exchange_pool exchanges;  /* per-request state, recycled */
	struct client *clients;          /* every live client connection (list) */
	unsigned nclients;
	struct client *dead_clients;     /* closed, freed after the batch of callbacks (reaper) */
	struct upstream *ready;          /* backend connections ready for their client, whose
	                                  * protocol is not yet told (client_run_ready) */
	/* the io callback of a backend connection a client owns: the driver's (lb/client.c),
	 * handed down at start so that the backend producer names nothing above it */
	void (*upstream_io)(struct ev_loop *loop, ev_io *io, int revents);
	struct upstream *dead_upstreams;
	ev_prepare reaper;               /* after each batch: queue kicks, frees, log flush */
	struct upstream *idle[IDLE_BUCKETS];  /* idle backend connections by backend */
	unsigned nidle;
	ev_timer sweep;                  /* closes backend connections idle too long */
	int stopping;
	struct http_head scratch;        /* parse results; used synchronously only */
	uint64_t rng;                    /* xorshift state for request ids */
	uint32_t next_conn_id;           /* numbers this worker's client connections */
	char *alog;                      /* access-log lines waiting for one write */
	double buffer_error_logged;      /* when a spill failure was last logged (lb/buffering.c) */
	uint32_t alog_skipped;           /* lines left out by log.access_sample since the last one written */
	size_t alog_len;
};

/* The process: workers, the published generation. */
struct proc {
	struct worker *workers;
	int nworkers;
	pthread_mutex_t gen_lock;        /* guards current (pointer swap and ref only) */
	struct generation *current;
	atomic_uint queued_total;        /* requests queued on all workers */
	atomic_uint connections;         /* client connections, all listeners */
	uint32_t max_connections;
};

extern struct proc proc;

/* Takes a reference to the published generation. */
struct generation *proc_current_generation(void);
/* Publishes g (the caller's reference moves to proc) and wakes every worker. */
void proc_publish(struct generation *g);

int worker_start_all(int nworkers);
/* how: 1 graceful (finish in-flight work), 2 immediate. */
void worker_stop_all(int how);
void worker_join_all(void);
/* One pass of the worker's reaper (it runs before the loop waits): queued requests
 * handed freed slots, closed connections freed, the access-log lines of the batch
 * written. Also for a loop driven from outside (the HTTP/2 fuzz target). */
void worker_reap(struct worker *w);
unsigned worker_total_clients(void);

#endif
