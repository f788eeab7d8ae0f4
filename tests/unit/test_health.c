/* test_health.c: unit tests of health/: status lists, the rise/fall rule, the slow-start
 * ramp (and what pool_pick makes of it), ejection limits and backoff, and passive
 * detection on real backend objects with an explicit clock (no sockets). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "clock.h"
#include "config.h"
#include "health.h"
#include "backend_fixture.h"
#include "../../health/health-int.h"  /* the state transitions the checks make */

#define NB 4

/* A pool of n backends (weight 1, max_conns 4) with its own settings, no generation. */
struct fixture {
	struct cfg_pool cfg;
	struct pool pool;
	struct backend *b[NB];
	struct pool_pick_state st;
};

static struct fixture *fixture_new(size_t n, enum health_type type, unsigned max_down_percent)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t i;

	assert_non_null(f);
	f->cfg.name = "p";
	f->cfg.health.type = type;
	f->cfg.health.rise = 2;
	f->cfg.health.fall = 3;
	f->cfg.health.max_down_percent = max_down_percent;
	f->cfg.passive.connect_failures = 1;
	f->cfg.passive.errors = 5;
	f->cfg.passive.eject_ms = 10000;
	f->cfg.passive.eject_max_ms = 300000;
	assert_int_equal(health_status_parse("500-599", &f->cfg.passive.error_set, NULL, 0), 0);
	f->pool.name = "p";
	f->pool.cfg = &f->cfg;
	f->pool.algo = BALANCE_WLC;
	f->pool.backends = f->b;
	f->pool.nbackends = n;
	for (i = 0; i < n; i++)
		f->b[i] = fixture_backend(i, 4);
	assert_int_equal(pool_pick_state_init(&f->st, &f->pool), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	size_t i;

	pool_pick_state_free(&f->st);
	for (i = 0; i < f->pool.nbackends; i++)
		backend_unref(f->b[i]);
	free(f);
}

static int health_of(const struct backend *b)
{
	return atomic_load(&b->health);
}

/* ---- status lists ---- */

static void test_status_parse(void **state)
{
	struct status_set s;
	char err[200];

	assert_int_equal(health_status_parse("200-399", &s, err, sizeof(err)), 0);
	assert_false(health_status_match(&s, 199));
	assert_true(health_status_match(&s, 200));
	assert_true(health_status_match(&s, 302));
	assert_true(health_status_match(&s, 399));
	assert_false(health_status_match(&s, 400));
	assert_false(health_status_match(&s, -1));
	assert_false(health_status_match(&s, 1000));

	assert_int_equal(health_status_parse(" 204 , 500-502,599", &s, err, sizeof(err)), 0);
	assert_true(health_status_match(&s, 204));
	assert_false(health_status_match(&s, 200));
	assert_true(health_status_match(&s, 501));
	assert_false(health_status_match(&s, 503));
	assert_true(health_status_match(&s, 599));

	assert_int_equal(health_status_parse("", &s, err, sizeof(err)), 0);
	assert_true(health_status_empty(&s));
	assert_false(health_status_match(&s, 500));

	/* what must be refused: not three digits, out of 100..599, reversed, junk */
	assert_int_equal(health_status_parse("20", &s, err, sizeof(err)), -1);
	assert_int_equal(health_status_parse("2000", &s, err, sizeof(err)), -1);
	assert_int_equal(health_status_parse("099", &s, err, sizeof(err)), -1);
	assert_int_equal(health_status_parse("600", &s, err, sizeof(err)), -1);
	assert_int_equal(health_status_parse("399-200", &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "399-200"));
	assert_int_equal(health_status_parse("200,", &s, err, sizeof(err)), -1);
	assert_int_equal(health_status_parse("200;300", &s, err, sizeof(err)), -1);
	assert_int_equal(health_status_parse("2xx", &s, NULL, 0), -1);  /* err may be NULL */
}

/* ---- rise and fall ---- */

static void test_rise_fall(void **state)
{
	struct health_counter c = { 0, 0 };
	int up = 1, i;

	/* up: failures below fall change nothing; a pass in between resets the run */
	assert_int_equal(health_counter_feed(&c, 0, up, 2, 3), HEALTH_STAY);
	assert_int_equal(health_counter_feed(&c, 0, up, 2, 3), HEALTH_STAY);
	assert_int_equal(health_counter_feed(&c, 1, up, 2, 3), HEALTH_STAY);
	assert_int_equal(health_counter_feed(&c, 0, up, 2, 3), HEALTH_STAY);
	assert_int_equal(health_counter_feed(&c, 0, up, 2, 3), HEALTH_STAY);
	assert_int_equal(health_counter_feed(&c, 0, up, 2, 3), HEALTH_GO_DOWN);
	/* still up (e.g. kept by max_down_percent): the verdict repeats */
	assert_int_equal(health_counter_feed(&c, 0, up, 2, 3), HEALTH_GO_DOWN);
	up = 0;
	assert_int_equal(health_counter_feed(&c, 0, up, 2, 3), HEALTH_STAY);
	/* down: rise passes in a row bring it up; a failure in between starts over */
	assert_int_equal(health_counter_feed(&c, 1, up, 2, 3), HEALTH_STAY);
	assert_int_equal(health_counter_feed(&c, 0, up, 2, 3), HEALTH_STAY);
	assert_int_equal(health_counter_feed(&c, 1, up, 2, 3), HEALTH_STAY);
	assert_int_equal(health_counter_feed(&c, 1, up, 2, 3), HEALTH_GO_UP);
	assert_int_equal(c.ok_run, 2);
	assert_int_equal(c.fail_run, 0);
	up = 1;
	assert_int_equal(health_counter_feed(&c, 1, up, 2, 3), HEALTH_STAY);

	/* rise = fall = 1: every result decides */
	c = (struct health_counter){ 0, 0 };
	assert_int_equal(health_counter_feed(&c, 0, 1, 1, 1), HEALTH_GO_DOWN);
	assert_int_equal(health_counter_feed(&c, 1, 0, 1, 1), HEALTH_GO_UP);

	/* runs saturate instead of wrapping to 0 */
	c = (struct health_counter){ UINT32_MAX - 1, 0 };
	for (i = 0; i < 3; i++)
		health_counter_feed(&c, 1, 1, 2, 3);
	assert_int_equal(c.ok_run, UINT32_MAX);
}

/* ---- slow start ---- */

static void test_ramp(void **state)
{
	/* a 10 s ramp ending at t = 20000: starts at 10 %, linear to 100 % */
	assert_int_equal(health_ramp_permille(10000, 20000, 10000), 100);
	assert_int_equal(health_ramp_permille(12500, 20000, 10000), 325);
	assert_int_equal(health_ramp_permille(15000, 20000, 10000), 550);
	assert_int_equal(health_ramp_permille(19999, 20000, 10000), 999);
	assert_int_equal(health_ramp_permille(20000, 20000, 10000), 1000);
	assert_int_equal(health_ramp_permille(90000, 20000, 10000), 1000);
	/* not warming, no length, or a clock before the start */
	assert_int_equal(health_ramp_permille(15000, 0, 10000), 1000);
	assert_int_equal(health_ramp_permille(15000, 20000, 0), 1000);
	assert_int_equal(health_ramp_permille(1000, 20000, 10000), 100);

	/* scaling rounds up and never turns a non-zero into 0 */
	assert_int_equal(health_ramp_scale(0, 100), 0);
	assert_int_equal(health_ramp_scale(1, 100), 1);
	assert_int_equal(health_ramp_scale(4, 100), 1);
	assert_int_equal(health_ramp_scale(4, 250), 1);
	assert_int_equal(health_ramp_scale(4, 251), 2);
	assert_int_equal(health_ramp_scale(10, 550), 6);
	assert_int_equal(health_ramp_scale(1000, 100), 100);
	assert_int_equal(health_ramp_scale(7, 1000), 7);
	assert_int_equal(health_ramp_scale(UINT32_MAX, 999), 4290672328u);
}

/* A warming backend: effective weight and max_conns follow the ramp, and pool_pick
 * gives it its ramped share of an idle pool, rising as the ramp goes on. */
static void test_ramp_in_pick(void **state)
{
	struct fixture *f = fixture_new(2, HEALTH_NONE, 50);
	long long now = clock_coarse_ms();
	unsigned long count[2];
	int i, k;

	atomic_store(&f->b[1]->weight, 10);
	atomic_store(&f->b[0]->weight, 10);
	atomic_store(&f->b[1]->max_conns, 10);
	/* just started a 1000 s ramp: 10 % */
	atomic_store(&f->b[1]->hs.warm_ms, 1000000);
	atomic_store(&f->b[1]->hs.warm_end_ms, now + 1000000);
	assert_int_equal(backend_effective_weight(f->b[1]), 1);
	assert_int_equal(backend_effective_max_conns(f->b[1]), 1);
	assert_int_equal(backend_effective_weight(f->b[0]), 10);
	/* max_conns in force is the ramped one: one slot, not ten */
	assert_true(backend_try_acquire(f->b[1]));
	assert_false(backend_try_acquire(f->b[1]));
	backend_release(f->b[1]);

	memset(count, 0, sizeof(count));
	for (i = 0; i < 1100; i++) {
		struct backend *b;

		assert_int_equal(pool_pick(&f->pool, &f->st, NULL, &b), PICK_OK);
		count[b == f->b[1]]++;
		backend_release(b);
	}
	print_message("10 %% ramp: %lu of 1100 picks\n", count[1]);
	/* weights 10 : 1 -> 100 of 1100, exactly with SWRR on an idle pool */
	assert_in_range(count[1], 90, 110);

	/* half way (55 %): weights 10 : 5.5 */
	atomic_store(&f->b[1]->hs.warm_end_ms, now + 500000);
	memset(count, 0, sizeof(count));
	for (k = 0; k < 1550; k++) {
		struct backend *b;

		assert_int_equal(pool_pick(&f->pool, &f->st, NULL, &b), PICK_OK);
		count[b == f->b[1]]++;
		backend_release(b);
	}
	print_message("55 %% ramp: %lu of 1550 picks\n", count[1]);
	assert_in_range(count[1], 500, 600);

	/* over: full share, and views say so */
	atomic_store(&f->b[1]->hs.warm_end_ms, now - 1);
	assert_int_equal(backend_effective_weight(f->b[1]), 10);
	assert_int_equal(backend_effective_max_conns(f->b[1]), 10);
	fixture_free(f);
}

/* ---- ejection limits, backoff, thresholds, jitter ---- */

static void test_down_allowed(void **state)
{
	/* 50 %: 1 of 2, 1 of 3, 2 of 4, none of 1 (a pool is never emptied) */
	assert_true(health_down_allowed(2, 0, 50));
	assert_false(health_down_allowed(2, 1, 50));
	assert_true(health_down_allowed(3, 0, 50));
	assert_false(health_down_allowed(3, 1, 50));
	assert_true(health_down_allowed(4, 1, 50));
	assert_false(health_down_allowed(4, 2, 50));
	assert_false(health_down_allowed(1, 0, 50));
	/* 100 %: everything; 0 %: nothing */
	assert_true(health_down_allowed(1, 0, 100));
	assert_true(health_down_allowed(3, 2, 100));
	assert_false(health_down_allowed(3, 3, 100));
	assert_false(health_down_allowed(200, 0, 0));
	/* 10 % of 200 = 20 */
	assert_true(health_down_allowed(200, 19, 10));
	assert_false(health_down_allowed(200, 20, 10));
	/* an empty pool has nothing to take out */
	assert_false(health_down_allowed(0, 0, 100));
}

static void test_eject_backoff(void **state)
{
	assert_int_equal(health_eject_hold_ms(10000, 300000, 1), 10000);
	assert_int_equal(health_eject_hold_ms(10000, 300000, 2), 20000);
	assert_int_equal(health_eject_hold_ms(10000, 300000, 3), 40000);
	assert_int_equal(health_eject_hold_ms(10000, 300000, 5), 160000);
	assert_int_equal(health_eject_hold_ms(10000, 300000, 6), 300000);
	assert_int_equal(health_eject_hold_ms(10000, 300000, 1000), 300000);
	assert_int_equal(health_eject_hold_ms(10000, 5000, 3), 10000);  /* max below base */
	assert_int_equal(health_eject_hold_ms(3600000, 3600000, 30), 3600000);

	/* first ever */
	assert_int_equal(health_eject_next(0, 0, 123456, 10000, 300000), 1);
	/* ejected at 0 for 10 s; again soon after the hold: a repeat */
	assert_int_equal(health_eject_next(1, 0, 10500, 10000, 300000), 2);
	/* again 20 s + 299 s later: still a repeat; at 300 s after the hold: forgiven */
	assert_int_equal(health_eject_next(2, 0, 20000 + 299000, 10000, 300000), 3);
	assert_int_equal(health_eject_next(2, 0, 20000 + 300000, 10000, 300000), 1);
	/* long holds do not forgive themselves: 300 s hold, ejected again right after */
	assert_int_equal(health_eject_next(9, 0, 300100, 10000, 300000), 10);
	/* the count saturates */
	assert_int_equal(health_eject_next(21, 0, 300100, 10000, 300000), 21);
}

static void test_trips_and_jitter(void **state)
{
	struct cfg_passive p = { .connect_failures = 1, .errors = 5 };
	uint64_t r;
	uint32_t lo = UINT32_MAX, hi = 0;

	assert_false(health_passive_trips(&p, 0, 4));
	assert_true(health_passive_trips(&p, 1, 1));
	assert_true(health_passive_trips(&p, 0, 5));
	p.connect_failures = 0;
	assert_false(health_passive_trips(&p, 100, 4));
	p.errors = 0;
	assert_false(health_passive_trips(&p, 100, 100));

	for (r = 0; r < 5000; r++) {
		uint32_t d = health_jitter_ms(1000, 10, r * 2654435761u);

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_int_equal(lo, 900);
	assert_int_equal(hi, 1100);
	assert_int_equal(health_jitter_ms(1000, 0, 12345), 1000);
	assert_int_equal(health_jitter_ms(1, 50, 0), 1);
}

/* ---- passive detection on backend objects ---- */

/* Without active checks: one refused connect ejects at once for eject_ms, then a trial;
 * a failed trial doubles the hold; a good one brings it back warming. */
static void test_passive_connect_no_checks(void **state)
{
	struct fixture *f = fixture_new(3, HEALTH_NONE, 50);
	struct backend *b = f->b[0];
	struct health_view v;
	long long t = 1000000;

	f->cfg.slow_start_s = 10;
	health_passive_failure_at(b, &f->pool, HEALTH_FAIL_CONNECT, "connect_failed", t);
	assert_int_equal(health_of(b), HEALTH_DOWN);
	assert_int_equal(atomic_load(&b->retry_at_ms), t + 10000);
	assert_int_equal(atomic_load(&b->hs.eject_until_ms), t + 10000);
	assert_int_equal(atomic_load(&b->hs.ejections), 1);
	assert_int_equal(atomic_load(&b->hs.reason), HREASON_PASSIVE);
	health_backend_view(b, t, &v);
	assert_string_equal(v.state, "down");
	assert_string_equal(v.reason, "passive_ejection");

	/* a connect that began before the ejection says nothing */
	health_passive_connected_at(b, &f->pool, t + 5);
	assert_int_equal(health_of(b), HEALTH_DOWN);

	/* the trial after the hold fails: ejected again for twice as long */
	health_passive_failure_at(b, &f->pool, HEALTH_FAIL_CONNECT, "connect_failed", t + 10001);
	assert_int_equal(health_of(b), HEALTH_DOWN);
	assert_int_equal(atomic_load(&b->hs.ejections), 2);
	assert_int_equal(atomic_load(&b->retry_at_ms), t + 10001 + 20000);

	/* the next trial connects: up, warming over slow_start_s */
	health_passive_connected_at(b, &f->pool, t + 30002);
	assert_int_equal(health_of(b), HEALTH_UP);
	assert_int_equal(atomic_load(&b->retry_at_ms), 0);
	assert_int_equal(atomic_load(&b->hs.reason), HREASON_TRIAL_OK);
	assert_int_equal(atomic_load(&b->hs.warm_end_ms), t + 30002 + 10000);
	health_backend_view(b, t + 30002, &v);
	assert_string_equal(v.state, "warming");
	assert_int_equal(v.weight_permille, 100);
	health_backend_view(b, t + 30002 + 10000, &v);
	assert_string_equal(v.state, "up");
	assert_int_equal(v.ejections_total, 2);
	fixture_free(f);
}

/* With active checks the ejection has no trial: the checks bring it back after the hold. */
static void test_passive_with_checks(void **state)
{
	struct fixture *f = fixture_new(3, HEALTH_HTTP, 50);
	struct backend *b = f->b[1];
	long long t = 5000000;
	int i;

	/* 4 errors (5xx, resets) then a good response: the run starts over */
	for (i = 0; i < 4; i++)
		health_passive_failure_at(b, &f->pool, HEALTH_FAIL_EXCHANGE, "HTTP 502", t + i);
	health_passive_response(b, &f->pool, 200);
	assert_int_equal(atomic_load(&b->hs.consec_errors), 0);
	for (i = 0; i < 4; i++)
		health_passive_failure_at(b, &f->pool, HEALTH_FAIL_EXCHANGE, "HTTP 502", t + i);
	assert_int_equal(health_of(b), HEALTH_UP);
	/* the fifth in a row ejects */
	health_passive_failure_at(b, &f->pool, HEALTH_FAIL_EXCHANGE, "HTTP 502", t + 10);
	assert_int_equal(health_of(b), HEALTH_DOWN);
	assert_int_equal(atomic_load(&b->retry_at_ms), 0);  /* no trial: checks decide */
	assert_int_equal(atomic_load(&b->hs.eject_until_ms), t + 10 + 10000);
	assert_int_equal(atomic_load(&b->hs.consec_errors), 0);
	/* a connect never brings it back when checks run */
	health_passive_connected_at(b, &f->pool, t + 20000);
	assert_int_equal(health_of(b), HEALTH_DOWN);
	/* nor does pick see it */
	assert_false(backend_eligible(b));

	/* 5xx responses count through health_passive_response too, when eject_on_5xx says so */
	f->cfg.passive.eject_on_5xx = 1;
	for (i = 0; i < 5; i++)
		health_passive_response(f->b[2], &f->pool, 503);
	/* ... but max_down_percent 50 of 3 allows only one down: b2 stays, flagged kept */
	assert_int_equal(health_of(f->b[2]), HEALTH_UP);
	assert_int_equal(atomic_load(&f->b[2]->hs.kept), HKEPT_PASSIVE);
	health_passive_response(f->b[2], &f->pool, 200);
	assert_int_equal(atomic_load(&f->b[2]->hs.kept), 0);
	fixture_free(f);
}

/* Fails b the way passive detection does, past any threshold: 1 when it went down. */
static int eject(struct fixture *f, struct backend *b, long long t)
{
	health_passive_failure_at(b, &f->pool, HEALTH_FAIL_CONNECT, "connect_failed", t);
	return health_of(b) == HEALTH_DOWN;
}

/* max_down_percent counts the backends in rotation (admin active): with one active and
 * one draining backend the active one is the whole rotation and stays (regression: it
 * was counted as 1 of 2 and taken out, and the pool answered 503 to everything); the
 * draining one may go; and even at 100 % the last backend up in rotation stays. */
static void test_guard_rotation(void **state)
{
	struct fixture *f = fixture_new(2, HEALTH_HTTP, 50);
	struct health_view v;

	atomic_store(&f->b[1]->admin, ADMIN_DRAINING);
	assert_int_equal(health_mark_down(f->b[0], &f->pool, HREASON_CHECK_FAILED, 1000, 0, 0, 0,
					  "3 checks failed"), -1);
	assert_int_equal(health_of(f->b[0]), HEALTH_UP);
	assert_int_equal(atomic_load(&f->b[0]->hs.kept), HKEPT_CHECKS);
	/* passive detection is held by the same guard, and claims the flag on its own */
	assert_false(eject(f, f->b[0], 1001));
	assert_int_equal(atomic_load(&f->b[0]->hs.kept), HKEPT_CHECKS | HKEPT_PASSIVE);
	/* a good response ends passive's claim only: the checks still fail */
	health_passive_response(f->b[0], &f->pool, 200);
	assert_int_equal(atomic_load(&f->b[0]->hs.kept), HKEPT_CHECKS);
	health_backend_view(f->b[0], 1002, &v);
	assert_int_equal(v.kept, 1);
	assert_int_equal(pool_pick(&f->pool, &f->st, NULL, &(struct backend *){ NULL }), PICK_OK);
	backend_release(f->b[0]);
	/* the draining backend is out of rotation: health may take it out */
	assert_true(eject(f, f->b[1], 1003));
	/* maint counts no more than draining */
	atomic_store(&f->b[1]->admin, ADMIN_MAINT);
	assert_false(eject(f, f->b[0], 1004));
	fixture_free(f);

	/* 100 %: three in rotation; two may go, the last one up stays */
	f = fixture_new(3, HEALTH_HTTP, 100);
	assert_true(eject(f, f->b[0], 2000));
	assert_true(eject(f, f->b[1], 2001));
	assert_false(eject(f, f->b[2], 2002));
	assert_int_equal(atomic_load(&f->b[2]->hs.kept), HKEPT_PASSIVE);
	fixture_free(f);

	/* a self-declared draining backend (health) is not up: the other one is the last */
	f = fixture_new(2, HEALTH_HTTP, 100);
	assert_int_equal(health_mark_draining(f->b[1], 3000, "check answered 503"), 1);
	assert_false(eject(f, f->b[0], 3001));
	fixture_free(f);

	/* 50 % of 4 in rotation, a fifth draining: two go, not three */
	f = fixture_new(4, HEALTH_HTTP, 50);
	assert_true(eject(f, f->b[0], 4000));
	assert_true(eject(f, f->b[1], 4001));
	assert_false(eject(f, f->b[2], 4002));
	atomic_store(&f->b[2]->admin, ADMIN_DRAINING);
	/* b2 left the rotation: 1 of 3 may be down and 2 already are */
	assert_false(eject(f, f->b[3], 4003));
	assert_true(eject(f, f->b[2], 4004));
	fixture_free(f);
}

/* ---- which check results count ---- */

/* A timeout on a backend that serves (requests in flight, one completed within the
 * window) is excused; anything definite, or a timeout without that evidence, counts. */
static void test_check_counts_busy(void **state)
{
	struct health_evidence e = {
		.is_down = 0, .started_ms = 9000, .ejected_at_ms = 0, .in_flight = 2,
		.last_response_ms = 9500, .now_ms = 10000, .window_ms = 3000,
	};

	assert_int_equal(health_check_counts(HRES_TIMEOUT, &e), HCOUNT_BUSY);
	assert_int_equal(health_check_counts(HRES_OK, &e), HCOUNT_PASS);
	assert_int_equal(health_check_counts(HRES_DRAIN, &e), HCOUNT_PASS);
	/* definite failures count however busy it is */
	assert_int_equal(health_check_counts(HRES_REFUSED, &e), HCOUNT_FAIL);
	assert_int_equal(health_check_counts(HRES_STATUS, &e), HCOUNT_FAIL);
	assert_int_equal(health_check_counts(HRES_ERROR, &e), HCOUNT_FAIL);
	/* the window is inclusive: a response exactly window_ms ago still proves it */
	e.last_response_ms = 7000;
	assert_int_equal(health_check_counts(HRES_TIMEOUT, &e), HCOUNT_BUSY);
	/* hung: requests in flight, but none completed for longer than the window */
	e.last_response_ms = 6999;
	assert_int_equal(health_check_counts(HRES_TIMEOUT, &e), HCOUNT_FAIL);
	/* never answered anything */
	e.last_response_ms = 0;
	assert_int_equal(health_check_counts(HRES_TIMEOUT, &e), HCOUNT_FAIL);
	/* idle: responses completed recently but nothing in flight to wait behind */
	e.last_response_ms = 9900;
	e.in_flight = 0;
	assert_int_equal(health_check_counts(HRES_TIMEOUT, &e), HCOUNT_FAIL);
	/* a down backend earns its way back by checks alone */
	e.in_flight = 1;
	e.is_down = 1;
	assert_int_equal(health_check_counts(HRES_TIMEOUT, &e), HCOUNT_FAIL);
}

/* After a passive ejection, only checks that began after it count. */
static void test_check_counts_stale(void **state)
{
	struct health_evidence e = {
		.is_down = 1, .started_ms = 5000, .ejected_at_ms = 5000, .in_flight = 0,
		.last_response_ms = 0, .now_ms = 5100, .window_ms = 3000,
	};

	assert_int_equal(health_check_counts(HRES_OK, &e), HCOUNT_STALE);
	assert_int_equal(health_check_counts(HRES_REFUSED, &e), HCOUNT_STALE);
	e.started_ms = 5001;
	assert_int_equal(health_check_counts(HRES_OK, &e), HCOUNT_PASS);
	assert_int_equal(health_check_counts(HRES_REFUSED, &e), HCOUNT_FAIL);
	/* not down for an ejection: nothing is stale */
	e.started_ms = 1000;
	e.ejected_at_ms = 0;
	assert_int_equal(health_check_counts(HRES_OK, &e), HCOUNT_PASS);
}

/* Every completed exchange stamps the evidence the checks read. */
static void test_request_done_stamps(void **state)
{
	struct fixture *f = fixture_new(1, HEALTH_HTTP, 50);
	struct backend *b = f->b[0];
	long long before = clock_coarse_ms();

	assert_int_equal(atomic_load(&b->hs.last_response_ms), 0);
	backend_request_done(b, 0.5);
	assert_true(atomic_load(&b->hs.last_response_ms) >= before);
	assert_true(atomic_load(&b->hs.last_response_ms) <= clock_coarse_ms());
	fixture_free(f);
}

/* A status not in error_status never counts, nor does one in it while eject_on_5xx is
 * off (the default: any client can make an app answer 500); thresholds of 0 never trip. */
static void test_passive_thresholds(void **state)
{
	struct fixture *f = fixture_new(2, HEALTH_NONE, 100);
	struct backend *b = f->b[0];
	int i;

	for (i = 0; i < 20; i++)
		health_passive_response(b, &f->pool, 500);
	assert_int_equal(health_of(b), HEALTH_UP);
	assert_false(health_passive_status_fails(&f->pool, 503));
	f->cfg.passive.eject_on_5xx = 1;
	assert_true(health_passive_status_fails(&f->pool, 503));
	assert_false(health_passive_status_fails(&f->pool, 404));
	for (i = 0; i < 20; i++)
		health_passive_response(b, &f->pool, 404);
	assert_int_equal(health_of(b), HEALTH_UP);
	f->cfg.passive.connect_failures = 0;
	f->cfg.passive.errors = 3;
	health_passive_failure_at(b, &f->pool, HEALTH_FAIL_CONNECT, "connect_failed", 1000);
	health_passive_failure_at(b, &f->pool, HEALTH_FAIL_CONNECT, "connect_failed", 1001);
	assert_int_equal(health_of(b), HEALTH_UP);
	health_passive_failure_at(b, &f->pool, HEALTH_FAIL_CONNECT, "connect_failed", 1002);
	assert_int_equal(health_of(b), HEALTH_DOWN);
	f->cfg.passive.errors = 0;
	for (i = 0; i < 20; i++)
		health_passive_failure_at(f->b[1], &f->pool, HEALTH_FAIL_EXCHANGE, "reset", 2000 + i);
	assert_int_equal(health_of(f->b[1]), HEALTH_UP);
	fixture_free(f);
}

/* ---- the health and passive keys as the loader reads them ---- */

#define CFG_HEAD "listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"p\"; } );\n"
#define CFG_POOL(health, passive) \
	"pools = ( { name = \"p\"; health = { " health " }; passive = { " passive " };\n" \
	"  backends = ( { name = \"b\"; address = \"127.0.0.1:18001\"; } ); } );\n"

/* Loads text expecting exactly one error at key whose message contains words. */
static void expect_config_error(const char *text, const char *key, const char *words)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(text, "t.cfg", &errs);

	assert_null(cfg);
	if (errs.count != 1 || strcmp(errs.items[0].key, key) != 0 ||
	    !strstr(errs.items[0].message, words)) {
		config_errors_print(&errs, stderr);
		fail_msg("expected one error at %s containing \"%s\"", key, words);
	}
	assert_int_equal(errs.items[0].line, 2);
	config_errors_clear(&errs);
}

static void test_config_keys(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	const struct cfg_pool *p;

	/* defaults, and the status sets derived from the strings */
	cfg = config_load_string(CFG_HEAD CFG_POOL("", ""), "t.cfg", &errs);
	assert_non_null(cfg);
	p = &cfg->pools[0];
	assert_string_equal(p->health.expect, "200-399");
	assert_true(health_status_match(&p->health.expect_set, 204));
	assert_false(health_status_match(&p->health.expect_set, 404));
	assert_null(p->health.drain_status);
	assert_true(health_status_empty(&p->health.drain_set));
	assert_null(p->health.host);
	assert_int_equal(p->health.https, 0);
	assert_int_equal(p->health.jitter_percent, 10);
	assert_int_equal(p->health.max_down_percent, 50);
	assert_int_equal(p->passive.connect_failures, 1);
	assert_int_equal(p->passive.errors, 5);
	assert_int_equal(p->passive.eject_ms, 10000);
	assert_int_equal(p->passive.eject_max_ms, 300000);
	assert_true(health_status_match(&p->passive.error_set, 503));
	assert_false(health_status_match(&p->passive.error_set, 404));
	config_free(cfg);

	cfg = config_load_string(CFG_HEAD CFG_POOL(
		"expect = \"200,204\"; drain_status = \"503\"; drain_header = \"X-Drain\"; "
		"host = \"app.internal\"; https = true; jitter_percent = 0; max_down_percent = 100;",
		"error_status = \"\"; errors = 0; connect_failures = 3;"), "t.cfg", &errs);
	assert_non_null(cfg);
	p = &cfg->pools[0];
	assert_true(health_status_match(&p->health.expect_set, 204));
	assert_false(health_status_match(&p->health.expect_set, 201));
	assert_true(health_status_match(&p->health.drain_set, 503));
	assert_string_equal(p->health.drain_header, "X-Drain");
	assert_string_equal(p->health.host, "app.internal");
	assert_true(health_status_empty(&p->passive.error_set));
	config_free(cfg);

	expect_config_error(CFG_HEAD CFG_POOL("expect = \"2xx\";", ""), "pools.p.health.expect",
			    "expected a status");
	expect_config_error(CFG_HEAD CFG_POOL("expect = \"\";", ""), "pools.p.health.expect",
			    "at least one status");
	expect_config_error(CFG_HEAD CFG_POOL("drain_header = \"X-Drain\";", ""),
			    "pools.p.health.drain_header", "needs drain_status");
	expect_config_error(CFG_HEAD CFG_POOL("drain_header = \"X Drain\";", ""),
			    "pools.p.health.drain_header", "invalid header name");
	expect_config_error(CFG_HEAD CFG_POOL("host = \"a b\";", ""), "pools.p.health.host",
			    "without spaces");
	expect_config_error(CFG_HEAD CFG_POOL("max_down_percent = 101;", ""),
			    "pools.p.health.max_down_percent", "out of range");
	expect_config_error(CFG_HEAD CFG_POOL("", "error_status = \"500-700\";"),
			    "pools.p.passive.error_status", "within 100..599");
	expect_config_error(CFG_HEAD CFG_POOL("", "eject_ms = 0;"), "pools.p.passive.eject_ms",
			    "out of range");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_parse),
		cmocka_unit_test(test_rise_fall),
		cmocka_unit_test(test_ramp),
		cmocka_unit_test(test_ramp_in_pick),
		cmocka_unit_test(test_down_allowed),
		cmocka_unit_test(test_eject_backoff),
		cmocka_unit_test(test_trips_and_jitter),
		cmocka_unit_test(test_passive_connect_no_checks),
		cmocka_unit_test(test_passive_with_checks),
		cmocka_unit_test(test_passive_thresholds),
		cmocka_unit_test(test_guard_rotation),
		cmocka_unit_test(test_check_counts_busy),
		cmocka_unit_test(test_check_counts_stale),
		cmocka_unit_test(test_request_done_stamps),
		cmocka_unit_test(test_config_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
