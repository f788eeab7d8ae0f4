/* check.c: the active checks of every backend of the current generation, scheduled on
 * the control loop with jitter, their results through rise/fall into backend states,
 * and the re-sync to each new generation (a kept backend keeps its check state). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "health-int.h"
#include "log.h"
#include "stats.h"

/* A backend that joins after start is checked within this time (not a whole interval),
 * so "add, then wait until healthy" is quick. */
#define JOIN_CHECK_MAX_MS 200
/* Slow-start ramps are ended (and logged) by a sweep this often. */
#define SWEEP_S 0.25

static void sync_to(struct generation *g, int first);
static struct health_check *check_new(struct backend *b);
static void check_free(struct health_check *c);
static void check_apply(struct health_check *c, int prev_type, int added, int first);
static void check_cancel(struct health_check *c);
static void check_done(struct health_check *c, enum health_result r, int status,
		       const char *detail);
static void check_schedule(struct health_check *c, uint32_t delay_ms);
static void check_excuse(struct health_check *c, const struct health_evidence *e, unsigned ms,
			 const char *detail);
static void check_busy_over(struct health_check *c, unsigned in_flight, int counted_fail);
static void on_check_timer(struct ev_loop *loop, ev_timer *w, int revents);
static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents);
static void on_sigusr2(struct ev_loop *loop, ev_signal *w, int revents);
static uint64_t rnd(void);

static struct ev_loop *hloop;        /* NULL until health_start */
static struct health_check *checks;  /* every check object */
static struct generation *synced;    /* the generation the checks follow (reference held) */
static unsigned epoch;
static uint64_t rng_state;
static ev_timer sweep;
static ev_signal sig_usr2;
static unsigned long long total_checks, total_failed;

/* xorshift64: jitter needs spread, not secrecy */
static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

int health_start(struct ev_loop *loop, struct generation *g)
{
	uint64_t ns = clock_mono_ns();

	rng_state = ((ns % 1000000000u) << 20) ^ (ns / 1000000000u) ^ ((uint64_t)getpid() << 40);
	if (!rng_state)
		rng_state = 88172645463325252ull;
	if (health_http_init(loop) == -1)
		return -1;
	hloop = loop;
	health_stall_start(loop);
	ev_signal_init(&sig_usr2, on_sigusr2, SIGUSR2);
	ev_signal_start(loop, &sig_usr2);
	ev_timer_init(&sweep, on_sweep, SWEEP_S, SWEEP_S);
	ev_timer_start(loop, &sweep);
	sync_to(g, 1);
	return 0;
}

void health_sync(struct generation *g)
{
	if (hloop)
		sync_to(g, 0);
}

void health_stop(void)
{
	double window;

	if (!hloop)
		return;
	while (checks)
		check_free(checks);
	ev_timer_stop(hloop, &sweep);
	ev_signal_stop(hloop, &sig_usr2);
	health_stall_stop(hloop);
	log_info("health: stopped; longest control-loop stall %.1f ms",
		 health_stall_max_ms(&window, 0));
	health_http_shutdown();
	generation_unref(synced);
	synced = NULL;
	hloop = NULL;
}

/* Makes the check set match g: finds or creates the check of each backend, applies
 * g's pool settings, and drops the checks of backends g does not have. The previous
 * generation stays referenced until the end, so old pool pointers stay valid here. */
static void sync_to(struct generation *g, int first)
{
	struct health_check *c, *next;
	struct generation *old = synced;
	size_t i, j;

	epoch++;
	generation_ref(g);
	for (i = 0; i < g->npools; i++) {
		struct pool *p = &g->pools[i];

		for (j = 0; j < p->nbackends; j++) {
			struct backend *b = p->backends[j];
			int added = 0, prev_type = -1;

			c = b->hs.check;
			if (!c) {
				c = check_new(b);
				if (!c) {
					log_error("health: out of memory; backend %s/%s is not checked",
						  b->pool_name, b->name);
					continue;
				}
				added = !first;
			} else {
				prev_type = (int)c->pool->cfg->health.type;
			}
			c->pool = p;
			c->epoch = epoch;
			check_apply(c, prev_type, added, first);
		}
	}
	for (c = checks; c; c = next) {
		next = c->next;
		if (c->epoch != epoch)
			check_free(c);
	}
	synced = g;
	generation_unref(old);
}

static struct health_check *check_new(struct backend *b)
{
	struct health_check *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->b = b;
	backend_ref(b);
	c->running = HEALTH_NONE;
	c->seen_health = atomic_load(&b->health);
	ev_timer_init(&c->timer, on_check_timer, 0., 0.);
	c->timer.data = c;
	b->hs.check = c;
	c->next = checks;
	if (checks)
		checks->prev = c;
	checks = c;
	return c;
}

static void check_free(struct health_check *c)
{
	check_cancel(c);
	ev_timer_stop(hloop, &c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		checks = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->b->hs.check = NULL;
	backend_unref(c->b);
	free(c);
}

/* Stops the check in flight, if any; its result is never reported. */
static void check_cancel(struct health_check *c)
{
	health_http_cancel(c);
	health_tcp_cancel(hloop, c);
	c->running = HEALTH_NONE;
}

/* Applies the pool settings of the synced generation to c. prev_type: the check type
 * before (-1 for a new check); added: b joined after start; first: the start-up sync. */
static void check_apply(struct health_check *c, int prev_type, int added, int first)
{
	const struct cfg_pool *pc = c->pool->cfg;
	enum health_type type = pc->health.type;
	long long now = clock_coarse_ms();
	uint32_t interval = pc->health.interval_ms;

	if (added) {
		health_mark_added(c->b, now, type != HEALTH_NONE, pc->slow_start_s * 1000u);
		c->first = type != HEALTH_NONE;
		c->counter = (struct health_counter){ 0, 0 };
		c->seen_health = atomic_load(&c->b->health);
		if (type != HEALTH_NONE)
			check_schedule(c, (uint32_t)(rnd() % (interval < JOIN_CHECK_MAX_MS ? interval : JOIN_CHECK_MAX_MS)));
		return;
	}
	if (first) {
		/* spread the first round over one interval so checks never start in step */
		if (type != HEALTH_NONE)
			check_schedule(c, (uint32_t)(rnd() % interval));
		return;
	}
	if (prev_type == (int)type) {
		/* same kind: the next check uses the new settings; a shorter interval
		 * takes effect now rather than after the old one */
		if (type != HEALTH_NONE && c->running == HEALTH_NONE && ev_is_active(&c->timer) &&
		    ev_timer_remaining(hloop, &c->timer) * 1e3 > interval)
			check_schedule(c, health_jitter_ms(interval, pc->health.jitter_percent, rnd()));
		return;
	}
	/* the kind changed: what is in flight measured the old thing */
	check_cancel(c);
	ev_timer_stop(hloop, &c->timer);
	c->counter = (struct health_counter){ 0, 0 };
	health_checks_switched(c->b, type != HEALTH_NONE, now);
	c->seen_health = atomic_load(&c->b->health);
	if (type != HEALTH_NONE)
		check_schedule(c, (uint32_t)(rnd() % (interval < JOIN_CHECK_MAX_MS ? interval : JOIN_CHECK_MAX_MS)));
}

static void check_schedule(struct health_check *c, uint32_t delay_ms)
{
	ev_timer_stop(hloop, &c->timer);
	ev_timer_set(&c->timer, delay_ms / 1e3, 0.);
	ev_timer_start(hloop, &c->timer);
}

static void on_check_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_check *c = w->data;
	enum health_type type = c->pool->cfg->health.type;
	char detail[160];
	int rc;

	if (type == HEALTH_NONE || c->running != HEALTH_NONE)
		return;
	c->started = clock_mono_s();
	c->started_ms = clock_coarse_ms();
	c->running = type;
	rc = type == HEALTH_HTTP ? health_http_start(c, check_done)
				 : health_tcp_start(loop, c, check_done);
	if (rc == -1) {
		/* no descriptor or memory: a failed check, so a starved fulcrum does not
		 * keep a backend up on faith; the next try comes an interval later */
		snprintf(detail, sizeof(detail), "check could not start: %s", strerror(errno));
		check_done(c, HRES_ERROR, 0, detail);
	}
}

/* A check of c finished with r (status: the HTTP status, 0 for none), reported by its
 * kind through the callback its start function was given: counted, fed to rise/fall,
 * and the next check scheduled. detail describes the result for the log. */
static void check_done(struct health_check *c, enum health_result r, int status,
		       const char *detail)
{
	const struct cfg_pool *pc = c->pool->cfg;
	const struct cfg_health *hc = &pc->health;
	struct backend *b = c->b;
	long long now = clock_coarse_ms();
	unsigned ms = (unsigned)((clock_mono_s() - c->started) * 1e3 + 0.5);
	int failed = r != HRES_OK && r != HRES_DRAIN, cur;
	struct health_evidence ev;
	enum health_count count;
	char why[320];

	c->running = HEALTH_NONE;
	atomic_fetch_add(&b->hs.checks, 1);
	if (failed)
		atomic_fetch_add(&b->hs.checks_failed, 1);
	atomic_store(&b->hs.last_result, (int)r);
	atomic_store(&b->hs.last_status, status);
	atomic_store(&b->hs.last_duration_ms, ms);
	atomic_store(&b->hs.last_check_ms, now);
	stats_check_done(b, r, clock_mono_s() - c->started);
	total_checks++;
	total_failed += failed;
	log_debug("check %s/%s: %s: %s (%u ms)", b->pool_name, b->name, health_result_name(r),
		  detail, ms);

	cur = atomic_load(&b->health);
	if (cur == HEALTH_DOWN && c->seen_health != HEALTH_DOWN) {
		/* passive detection took it out meanwhile: it has to earn its way back */
		c->counter = (struct health_counter){ 0, hc->fall };
		c->first = 0;
	}
	ev = (struct health_evidence){
		.is_down = cur == HEALTH_DOWN,
		.started_ms = c->started_ms,
		.ejected_at_ms = cur == HEALTH_DOWN && atomic_load(&b->hs.reason) == HREASON_PASSIVE
				 ? atomic_load(&b->hs.ejected_at_ms) : 0,
		.in_flight = atomic_load(&b->active),
		.last_response_ms = atomic_load(&b->hs.last_response_ms),
		.now_ms = now,
		.window_ms = hc->interval_ms + hc->timeout_ms,
	};
	count = health_check_counts(r, &ev);
	if (count == HCOUNT_BUSY) {
		check_excuse(c, &ev, ms, detail);
	} else if (count == HCOUNT_STALE) {
		log_debug("check %s/%s began before its ejection: not counted", b->pool_name, b->name);
	} else if (r == HRES_DRAIN) {
		/* neither a pass nor a failure: the backend is fine but wants no new work */
		check_busy_over(c, ev.in_flight, 0);
		c->counter = (struct health_counter){ 0, 0 };
		if (cur == HEALTH_UP) {
			snprintf(why, sizeof(why), "check answered %s", detail);
			health_mark_draining(b, now, why);
		}
	} else {
		uint32_t rise = c->first ? 1 : hc->rise;
		enum health_verdict v = health_counter_feed(&c->counter, !failed, cur != HEALTH_DOWN,
							    rise, hc->fall);

		check_busy_over(c, ev.in_flight, failed);
		if (!failed && cur == HEALTH_DRAINING) {
			snprintf(why, sizeof(why), "check passes again (%s in %u ms)", detail, ms);
			health_mark_up(b, HREASON_CHECK_PASSED, now, 0, why);
		} else if (v == HEALTH_GO_UP) {
			/* This also ends a passive ejection before its hold is over: passes after
			 * the ejection show the backend serves again (a restarted instance), and
			 * the hold only stands in for checks where there are none (Envoy's
			 * successful_active_health_check_uneject_host). */
			if (c->first)
				snprintf(why, sizeof(why), "first check passed (%s in %u ms)", detail, ms);
			else
				snprintf(why, sizeof(why), "%u checks passed in a row (last: %s in %u ms)",
					 c->counter.ok_run, detail, ms);
			if (health_mark_up(b, HREASON_CHECK_PASSED, now, pc->slow_start_s * 1000u, why))
				c->first = 0;
		} else if (v == HEALTH_GO_DOWN) {
			snprintf(why, sizeof(why), "%u checks failed in a row (last: %s)",
				 c->counter.fail_run, detail);
			health_mark_down(b, c->pool, HREASON_CHECK_FAILED, now, 0, 0, 0, why);
		} else if (!failed) {
			health_clear_kept_checks(b);
		}
	}
	c->seen_health = atomic_load(&b->health);
	check_schedule(c, health_jitter_ms(hc->interval_ms, hc->jitter_percent, rnd()));
}

/* A timed-out check of c's backend is excused (health_check_counts said HCOUNT_BUSY): the
 * rise/fall runs stay as they are. Logged once per busy period (check_busy_over), since
 * at peak this may happen on most checks of every backend. */
static void check_excuse(struct health_check *c, const struct health_evidence *e, unsigned ms,
			 const char *detail)
{
	struct backend *b = c->b;

	atomic_fetch_add(&b->hs.checks_excused, 1);
	if (c->excused++ == 0)
		log_info("backend %s/%s (%s): a check timed out (%s, %u ms) while the backend serves "
			 "(%u requests in flight, a response completed %lld ms ago): not counted as a "
			 "failure while it stays busy", b->pool_name, b->name, b->addr.text, detail, ms,
			 e->in_flight, e->now_ms - e->last_response_ms);
	else
		log_debug("check %s/%s: timeout excused (%u in this busy period)", b->pool_name, b->name,
			  c->excused);
}

/* A check of c's backend counted (passed or failed). The busy period whose timeouts were
 * excused ends when the backend has nothing in flight or a check counts as a failure;
 * the next excused timeout is then logged again. */
static void check_busy_over(struct health_check *c, unsigned in_flight, int counted_fail)
{
	if (!c->excused || (in_flight && !counted_fail))
		return;
	log_debug("check %s/%s: busy period over; %u timed-out checks were excused", c->b->pool_name,
		  c->b->name, c->excused);
	c->excused = 0;
}

/* Ends slow-start ramps that are over, so "full weight" is logged once and views agree. */
static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	long long now = clock_coarse_ms();
	struct health_check *c;

	for (c = checks; c; c = c->next)
		health_warm_check(c->b, now);
}

static void on_sigusr2(struct ev_loop *loop, ev_signal *w, int revents)
{
	health_report();
}

void health_report(void)
{
	size_t n = 0, down = 0, draining = 0, warming = 0, kept = 0;
	long long now = clock_coarse_ms();
	struct health_check *c;
	double window, ever;

	if (!hloop)
		return;
	for (c = checks; c; c = c->next) {
		int h = atomic_load(&c->b->health);

		n++;
		down += h == HEALTH_DOWN;
		draining += h == HEALTH_DRAINING;
		warming += h == HEALTH_UP && health_backend_permille(c->b, now) < 1000;
		kept += atomic_load(&c->b->hs.kept) != 0;
	}
	ever = health_stall_max_ms(&window, 1);
	log_info("health: control loop longest stall %.3f ms since start, %.3f ms since the last "
		 "report; checks %llu run, %llu failed, %u http in flight; backends %zu: %zu down, "
		 "%zu draining, %zu warming, %zu kept in by max_down_percent",
		 ever, window, total_checks, total_failed, health_http_in_flight(), n, down, draining,
		 warming, kept);
}
