/* worker.c: a worker thread's loop: accepting on its own listening sockets, picking up
 * new generations at a safe point, the wait-queue kicks, idle backend connections. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_producer.h"
#include "clock.h"
#include "conn.h"
#include "conn_close.h"
#include "conn_error.h"
#include "conn_log.h"
#include "http_cache.h"
#include "log.h"
#include "queue.h"
#include "worker.h"

#define ACCEPT_BATCH 64
/* Free exchanges a worker keeps (~0.5 KiB each): requests in flight beyond this many at
 * once cost a malloc, and what a burst took goes back to malloc after it. The sanitizer
 * build keeps none, so that a pointer kept past the end of its exchange is reported. */
#ifdef __SANITIZE_ADDRESS__
#define EXCHANGES_CACHED 0
#else
#define EXCHANGES_CACHED 1024
#endif

static void *worker_main(void *arg);
static void on_wake(struct ev_loop *loop, ev_async *a, int revents);
static void on_accept(struct ev_loop *loop, ev_io *io, int revents);
static void on_resume(struct ev_loop *loop, ev_timer *t, int revents);
static void on_reap(struct ev_loop *loop, ev_prepare *p, int revents);
static void run_queues(struct worker *w);
static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents);
static void cut_past_drain_deadlines(struct worker *w);
static void switch_generation(struct worker *w);
static void pause_accepting(struct worker *w, double seconds);
static int fd_in_reserve(struct worker *w, int fd);
static void stop_listening(struct worker *w);
static void begin_stop(struct worker *w, int how);

/* The protocol a listener's connections speak. */
static const struct conn_proto *listener_proto(const struct gen_listener *gl)
{
	if (gl->cfg->mode == LISTENER_TCP)
		return &tunnel_proto;
	/* HTTP/2 is chosen in the TLS handshake, after accept; in cleartext by the first
	 * bytes the client sends */
	if (gl->tls)
		return gl->cfg->http2 ? &alpn_proto : &http1_proto;
	return gl->cfg->h2c ? &preface_proto : &http1_proto;
}

int worker_start_all(int nworkers)
{
	int i;

	proc.workers = calloc(nworkers, sizeof(*proc.workers));
	if (!proc.workers)
		return -1;
	proc.nworkers = nworkers;
	for (i = 0; i < nworkers; i++) {
		struct worker *w = &proc.workers[i];
		w->id = i;
		w->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOSIGMASK);
		if (!w->loop)
			w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
		if (!w->loop)
			return -1;
		ev_set_userdata(w->loop, w);
		pthread_mutex_init(&w->cache_lock, NULL);
		ev_async_init(&w->wake, on_wake);
		ev_async_start(w->loop, &w->wake);
		ev_timer_init(&w->resume_timer, on_resume, 0., 0.);
		ev_prepare_init(&w->reaper, on_reap);
		w->upstream_io = client_upstream_callback();
		ev_prepare_start(w->loop, &w->reaper);
		ev_timer_init(&w->sweep, on_sweep, 1., 1.);
		ev_timer_start(w->loop, &w->sweep);
		buf_pool_init(&w->bufs, 1024);
		exchange_pool_init(&w->exchanges, EXCHANGES_CACHED);
		w->alog = malloc(CONN_LOG_BUF_CAP);
		if (!w->alog)
			return -1;
		if (getrandom(&w->rng, sizeof(w->rng), 0) != sizeof(w->rng) || !w->rng)
			w->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)w;
		atomic_store(&w->want_gen, 1);
	}
	for (i = 0; i < nworkers; i++)
		if (pthread_create(&proc.workers[i].thread, NULL, worker_main, &proc.workers[i]))
			return -1;
	return 0;
}

void worker_stop_all(int how)
{
	int i;

	for (i = 0; i < proc.nworkers; i++) {
		atomic_store(&proc.workers[i].want_stop, how);
		ev_async_send(proc.workers[i].loop, &proc.workers[i].wake);
	}
}

void worker_join_all(void)
{
	int i;

	for (i = 0; i < proc.nworkers; i++)
		if (proc.workers[i].thread)
			pthread_join(proc.workers[i].thread, NULL);
	for (i = 0; i < proc.nworkers; i++) {
		ev_loop_destroy(proc.workers[i].loop);
		free(proc.workers[i].alog);
	}
	free(proc.workers);
	proc.workers = NULL;
	proc.nworkers = 0;
}

unsigned worker_total_clients(void)
{
	return atomic_load(&proc.connections);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	sigset_t all;

	/* signals belong to the control thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	switch_generation(w);
	ev_run(w->loop, 0);
	/* leftovers after the loop ends: free what the reaper did not get to */
	on_reap(w->loop, &w->reaper, 0);
	size_t i;
	for (i = 0; w->gen && i < w->gen->npools; i++)
		pool_pick_state_free(&w->pools[i].pick);
	free(w->pools);
	free(w->watches);
	generation_unref(w->gen);
	w->gen = NULL;
	conn_log_flush(w);
	buf_pool_destroy(&w->bufs);
	exchange_pool_destroy(&w->exchanges);
	return NULL;
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = ev_userdata(loop);
	int stop;

	if (atomic_exchange(&w->want_gen, 0))
		switch_generation(w);
	if (atomic_exchange(&w->want_kick, 0))
		run_queues(w);
	if (atomic_exchange(&w->want_cache, 0))
		http_cache_run_woken(w);
	stop = atomic_exchange(&w->want_stop, 0);
	if (stop)
		begin_stop(w, stop);
}

/* Moves this worker to the published generation: listening sockets that stay keep
 * their watcher, new ones start, removed ones close; queued requests move over to the
 * new pools (by name) and are tried again. Runs between callbacks: a safe point. */
static void switch_generation(struct worker *w)
{
	struct generation *g = proc_current_generation();
	struct listen_watch *watches;
	struct worker_pool *pools;
	struct pool_waiter moved = { .next = &moved, .prev = &moved };
	size_t i, j;

	if (!g || g == w->gen) {
		generation_unref(g);
		return;
	}
	watches = calloc(g->nlisteners ? g->nlisteners : 1, sizeof(*watches));
	pools = calloc(g->npools ? g->npools : 1, sizeof(*pools));
	if (!watches || !pools) {
		log_error("worker %d: out of memory switching to generation %llu", w->id,
			  (unsigned long long)g->id);
		free(watches);
		free(pools);
		generation_unref(g);
		return;
	}
	for (i = 0; i < g->npools; i++) {
		pool_queue_init(&pools[i].queue, g->pools[i].cfg->queue_max);
		if (pool_pick_state_init(&pools[i].pick, &g->pools[i]) == -1)
			log_error("worker %d: out of memory for pool %s", w->id, g->pools[i].name);
	}
	/* listeners: keep, start, close */
	for (i = 0; i < g->nlisteners; i++) {
		struct listen_group *lg = g->listeners[i].group;
		watches[i].group = lg;
		watches[i].fd = lg->fds[w->id];
		watches[i].index = (int)i;
		for (j = 0; j < w->nwatches; j++)
			if (w->watches[j].group == lg) {
				ev_io_stop(w->loop, &w->watches[j].io);
				w->watches[j].group = NULL;  /* taken over */
			}
		ev_io_init(&watches[i].io, on_accept, watches[i].fd, EV_READ);
		watches[i].io.data = &watches[i];
		if (!w->stopping && !w->accept_paused)
			ev_io_start(w->loop, &watches[i].io);
	}
	for (j = 0; j < w->nwatches; j++) {
		if (!w->watches[j].group)
			continue;
		ev_io_stop(w->loop, &w->watches[j].io);
		close(w->watches[j].fd);
		w->watches[j].group->fds[w->id] = -1;
	}
	/* queued requests: take them out of the old queues */
	queue_take_all(w, &moved);
	for (i = 0; w->gen && i < w->gen->npools; i++)
		pool_pick_state_free(&w->pools[i].pick);
	free(w->watches);
	free(w->pools);
	w->watches = watches;
	w->nwatches = g->nlisteners;
	w->pools = pools;
	struct generation *old = w->gen;
	w->gen = g;
	/* requests that were waiting are tried again against the new pools */
	while (moved.next != &moved) {
		struct pool_waiter *pw = moved.next;
		struct client *c = queue_exchange_of(pw)->client;
		moved.next = pw->next;
		pw->next->prev = &moved;
		pw->next = pw->prev = NULL;
		client_pick_backend(c);
	}
	generation_unref(old);
}

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct worker *w = ev_userdata(loop);
	struct listen_watch *lw = io->data;
	const struct gen_listener *gl = &w->gen->listeners[lw->index];
	struct sockaddr_storage peer;
	socklen_t plen;
	int i, fd, one = 1;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (atomic_load(&proc.connections) >= proc.max_connections ||
		    atomic_load(&lw->group->active) >= gl->cfg->max_connections) {
			/* once per episode: the pause re-checks every 100 ms */
			if (!w->limit_logged)
				log_warn("listener %s: connection limit reached (max_connections); "
					 "pausing accept until connections close", gl->cfg->name);
			w->limit_logged = 1;
			pause_accepting(w, 0.1);
			return;
		}
		plen = sizeof(peer);
		fd = accept4(lw->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* leave the backlog to the kernel instead of spinning on the error */
				if (!w->limit_logged)
					log_warn("listener %s: accept: %s; pausing accept until descriptors free up",
						 gl->cfg->name, strerror(errno));
				w->limit_logged = 1;
				w->fd_short = 1;
				pause_accepting(w, 0.1);
			}
			return;
		}
		if (fd_in_reserve(w, fd)) {
			/* this one is served, but the descriptors left are kept for the backend
			 * connections and checks of the connections we already have */
			if (!w->limit_logged)
				log_warn("listener %s: descriptor %d is within the reserve of RLIMIT_NOFILE %lu; "
					 "pausing accept until descriptors free up", gl->cfg->name, fd, w->fd_limit);
			w->limit_logged = 1;
			w->fd_short = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			client_accept(w, fd, &peer, lw->index, listener_proto(gl));
			pause_accepting(w, 0.1);
			return;
		}
		if (w->limit_logged) {
			log_info("listener %s: accepting again", gl->cfg->name);
			w->limit_logged = 0;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		client_accept(w, fd, &peer, lw->index, listener_proto(gl));
	}
}

static void pause_accepting(struct worker *w, double seconds)
{
	size_t i;

	for (i = 0; i < w->nwatches; i++)
		ev_io_stop(w->loop, &w->watches[i].io);
	w->accept_paused = 1;
	ev_timer_stop(w->loop, &w->resume_timer);
	ev_timer_set(&w->resume_timer, seconds, 0.);
	ev_timer_start(w->loop, &w->resume_timer);
}

/* 1 when fd, the lowest free descriptor when it was allocated, lies within the reserve
 * at the top of RLIMIT_NOFILE: every descriptor below it is in use. The reserve (an
 * eighth of the limit, 16 to 1024) leaves room for a backend connection per client
 * already accepted, health checks and reloads; the limit is re-read once a second,
 * since an operator (prlimit) may lower it while we run. */
static int fd_in_reserve(struct worker *w, int fd)
{
	unsigned long reserve;
	struct rlimit rl;

	if (w->fd_limit == 0 || ev_now(w->loop) - w->fd_limit_at >= 1.0) {
		w->fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur > 1UL << 30
			? 1UL << 30 : (unsigned long)rl.rlim_cur;
		w->fd_limit_at = ev_now(w->loop);
	}
	reserve = w->fd_limit / 8;
	reserve = reserve < 16 ? 16 : reserve > 1024 ? 1024 : reserve;
	return (unsigned long)fd + reserve >= w->fd_limit;
}

static void on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = ev_userdata(loop);
	size_t i;

	w->accept_paused = 0;
	if (w->stopping)
		return;
	if (w->fd_short && w->nwatches > 0) {
		/* probe the lowest free descriptor instead of accepting into the reserve */
		int probe = fcntl(w->watches[0].fd, F_DUPFD_CLOEXEC, 0);
		/* only a shortage keeps us paused; a probe that fails otherwise proves nothing */
		int short_still = probe == -1 ? errno == EMFILE || errno == ENFILE
					      : fd_in_reserve(w, probe);
		if (probe != -1)
			close(probe);
		if (short_still) {
			pause_accepting(w, 0.1);
			return;
		}
		w->fd_short = 0;
	}
	for (i = 0; i < w->nwatches; i++)
		ev_io_start(w->loop, &w->watches[i].io);
}

static void stop_listening(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nwatches; i++) {
		if (!w->watches[i].group)
			continue;
		ev_io_stop(w->loop, &w->watches[i].io);
		close(w->watches[i].fd);
		w->watches[i].group->fds[w->id] = -1;
		w->watches[i].group = NULL;
	}
	ev_timer_stop(w->loop, &w->resume_timer);
}

/* Graceful: stop accepting, close connections that wait for a request, let the
 * others finish their current request (keep-alive off), end the loop when none is
 * left. Immediate: close everything now. */
static void begin_stop(struct worker *w, int how)
{
	struct client *c, *next;
	size_t b;

	w->stopping = how;
	stop_listening(w);
	for (c = w->clients; c; c = next) {
		next = c->next;
		if (how == 2 || (c->state == CS_READING_HEAD && !c->in_request) ||
		    c->state == CS_PROXY_HEADER || c->state == CS_TLS_HANDSHAKE)
			client_close(c, TERM_SHUTDOWN);
		else if (c->proto->stop)
			c->proto->stop(c);  /* (HTTP/2: GOAWAY, its streams in flight finish) */
		else
			c->keep_alive = 0;
	}
	for (b = 0; b < IDLE_BUCKETS; b++)
		while (w->idle[b])
			upstream_close(w->idle[b]);
	if (!w->clients) {
		ev_timer_stop(w->loop, &w->sweep);
		ev_async_stop(w->loop, &w->wake);
		ev_break(w->loop, EVBREAK_ALL);
	}
}

/* Runs after every batch of callbacks, as the last thing before the loop waits for
 * events again (an ev_prepare; an ev_check would run only after the next wait, so a
 * slot freed now would sit unused until some other event woke the loop, and an
 * ev_idle would starve under load, when there are always events pending): hands
 * freed slots to queued requests, frees what was closed, writes the access-log lines
 * of the batch. */
static void on_reap(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct worker *w = ev_userdata(loop);

	worker_reap(w);
	if (w->stopping && !w->clients) {
		ev_timer_stop(w->loop, &w->sweep);
		ev_async_stop(w->loop, &w->wake);
		ev_break(w->loop, EVBREAK_ALL);
	}
}

/* Hands the free slots to the oldest waiters (lb/queue.c), each through the driver. */
static void run_queues(struct worker *w)
{
	struct queue_pass pass = { 0 };
	struct exchange *x;
	struct backend *b;

	while ((x = queue_next_turn(w, &pass, &b)))
		client_queue_turn(x, b);
}

void worker_reap(struct worker *w)
{
	/* a request dispatched here may fail at once and free its slot again; each pass
	 * takes a request off the queue or stops, so this ends. A backend connection made
	 * ready outside the driver's events (a reload's waiters picked again, a cache's
	 * waiters woken) is handed to its protocol here, before anything is freed. */
	while (w->kick_pending || w->ready) {
		if (w->kick_pending) {
			w->kick_pending = 0;
			run_queues(w);
		}
		client_run_ready(w);
	}

	while (w->dead_clients) {
		struct client *c = w->dead_clients;
		w->dead_clients = c->next;
		client_free(c);
	}
	while (w->dead_upstreams) {
		struct upstream *u = w->dead_upstreams;
		w->dead_upstreams = u->dead_next;
		upstream_free(u);
	}
	conn_log_flush(w);
}

/* A draining backend keeps its connections and requests until they end or its drain
 * deadline passes (DESIGN.md, backend states); here, at the sweep after the deadline
 * (within a second), the rest are cut: a request not answered yet gets a 503 (the client
 * may try again and land on a backend in rotation), one whose response has begun and a
 * tunnel are closed. Not counted against the backend's health: it was asked to go. */
static void cut_past_drain_deadlines(struct worker *w)
{
	long long now_ms = clock_coarse_ms();
	struct client *c, *next;

	for (c = w->clients; c; c = next) {
		next = c->next;
		if (c->ex && c->ex->backend && backend_drain_deadline_passed(c->ex->backend, now_ms))
			client_error(c, 503, TERM_DRAIN_DEADLINE, "the backend's drain deadline passed");
	}
}

static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = ev_userdata(loop);
	double now = ev_now(loop);

	if (backend_drain_deadlines_set())
		cut_past_drain_deadlines(w);
	upstream_sweep_idle(w, now);
}
