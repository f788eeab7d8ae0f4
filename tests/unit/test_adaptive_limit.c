/* test_adaptive_limit.c: unit tests of core/adaptive_limit.c: the decision arithmetic
 * (shrink by the requests seen queueing, probe by one, slow start, bounds), the windows
 * (a change settles before it is judged, strays left out) and the learned limit of
 * simulated backends with N workers and a backlog, with and without latency noise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "adaptive_limit.h"

/* ---- the decision alone ---- */

/* A search state past slow start, with ref_us accepted at the current limit. */
static struct adaptive_probe steady(uint64_t ref_us, uint32_t quiet)
{
	struct adaptive_probe p;

	adaptive_probe_init(&p);
	p.slow_start = 0;
	p.ref_us = ref_us;
	p.quiet_windows = quiet;
	return p;
}

static void test_first_window_sets_reference(void **state)
{
	struct adaptive_probe pr;

	(void)state;
	adaptive_probe_init(&pr);
	assert_int_equal(adaptive_limit_next(&pr, 1, 20000, 1, 0), 1);
	assert_int_equal(pr.ref_us, 20000);
	/* then slow start doubles while the limit is reached and nothing waits */
	assert_int_equal(adaptive_limit_next(&pr, 1, 20000, 1, 0), 2);
	assert_int_equal(pr.just_raised, 1);
	assert_int_equal(pr.from, 1);
}

static void test_slow_start_doubles_while_it_pays(void **state)
{
	struct adaptive_probe pr;

	(void)state;
	adaptive_probe_init(&pr);
	pr.ref_us = 20000;
	/* a backend of 4 workers: 1 -> 2 -> 4 cost no latency (each doubles throughput),
	 * 4 -> 8 doubles the latency (no gain): back to 4, slow start over */
	assert_int_equal(adaptive_limit_next(&pr, 1, 20000, 1, 0), 2);
	assert_int_equal(adaptive_limit_next(&pr, 2, 20000, 1, 0), 4);
	assert_int_equal(adaptive_limit_next(&pr, 4, 20500, 1, 0), 8);
	assert_int_equal(adaptive_limit_next(&pr, 8, 41000, 1, 0), 4);
	assert_int_equal(pr.slow_start, 0);
	assert_int_equal(pr.just_raised, 0);
	/* doubling stops at the cap (max_conns) */
	adaptive_probe_init(&pr);
	pr.ref_us = 20000;
	assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 1, 6), 6);
}

static void test_raise_must_pay(void **state)
{
	struct adaptive_probe pr;

	(void)state;
	/* one worker: 1 -> 2 doubles the latency, throughput flat: taken back */
	pr = steady(20000, 0);
	pr.just_raised = 1;
	pr.from = 1;
	assert_int_equal(adaptive_limit_next(&pr, 2, 40000, 1, 0), 1);
	assert_int_equal(pr.ref_us, 20000);
	/* a busy machine: 2 -> 3 makes requests 17 % slower but throughput still grows by
	 * 3/2 / 1.17 = 1.29, above the 1.15 asked (30 % of the ideal gain 0.5): kept */
	pr = steady(30000, 0);
	pr.just_raised = 1;
	pr.from = 2;
	assert_int_equal(adaptive_limit_next(&pr, 3, 35000, 1, 0), 3);
	assert_int_equal(pr.ref_us, 35000);
	/* 4 workers, 4 -> 5: 25 % slower, throughput flat: taken back */
	pr = steady(20000, 0);
	pr.just_raised = 1;
	pr.from = 4;
	assert_int_equal(adaptive_limit_next(&pr, 5, 25000, 1, 0), 4);
}

static void test_raise_never_used_says_nothing(void **state)
{
	struct adaptive_probe pr = steady(20000, 0);

	(void)state;
	pr.just_raised = 1;
	pr.from = 3;
	/* the window never reached the raised limit: back, and no back-off */
	assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 0, 0), 3);
	assert_int_equal(pr.every, ADAPTIVE_PROBE_WINDOWS);
}

static void test_shrinks_by_requests_waiting(void **state)
{
	struct adaptive_probe pr = steady(20000, 2);

	(void)state;
	/* limit 6 accepted at 20 ms; the backend lost workers and now answers in 30 ms:
	 * 6 * (1 - 20/30) = 2 requests wait inside it */
	assert_int_equal(adaptive_limit_next(&pr, 6, 30000, 1, 0), 4);
	assert_int_equal(pr.quiet_windows, 0);
	/* at 4, that mean is expected to fall back to 30 * 4/6 = 20 ms: the reference
	 * stays at 20 ms */
	assert_int_equal(pr.ref_us, 20000);
	/* a cut starts the probing interval over, whatever failed probes built up */
	pr = steady(20000, 0);
	pr.every = ADAPTIVE_PROBE_WINDOWS_MAX;
	assert_int_equal(adaptive_limit_next(&pr, 6, 30000, 1, 0), 4);
	assert_int_equal(pr.every, ADAPTIVE_PROBE_WINDOWS);
	/* one worker at limit 2 waiting a whole service time: down to 1 */
	pr = steady(20000, 0);
	assert_int_equal(adaptive_limit_next(&pr, 2, 40000, 1, 0), 1);
}

static void test_shrink_on_slow_machine_moves_reference(void **state)
{
	struct adaptive_probe pr = steady(20000, 0);

	(void)state;
	/* latency up 40 % at limit 4 from a busy CPU: 4 * (1 - 20/28) = 1.14 "waiting",
	 * down to 3; the mean at 3 would be 28 * 3/4 = 21 ms if it were waiting, so the
	 * reference moves to 21 ms, and the same 28 ms at 3 is no new cut */
	assert_int_equal(adaptive_limit_next(&pr, 4, 28000, 1, 0), 3);
	assert_int_equal(pr.ref_us, 21000);
	assert_int_equal(adaptive_limit_next(&pr, 3, 26000, 1, 0), 3);
}

static void test_cuts_at_most_half(void **state)
{
	struct adaptive_probe pr = steady(20000, 0);

	(void)state;
	/* latency 10x would say 9 of 10 wait: only half goes */
	assert_int_equal(adaptive_limit_next(&pr, 10, 200000, 1, 0), 5);
	/* never below 1 */
	pr = steady(20000, 0);
	assert_int_equal(adaptive_limit_next(&pr, 1, 200000, 1, 0), 1);
}

static void test_probes_one_after_quiet_windows(void **state)
{
	struct adaptive_probe pr = steady(20000, 0);
	uint32_t i;

	(void)state;
	for (i = 1; i < ADAPTIVE_PROBE_WINDOWS; i++)
		assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 1, 0), 4);
	assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 1, 0), 5);
	assert_int_equal(pr.just_raised, 1);
	assert_int_equal(pr.from, 4);
	/* a large limit probes by a larger step (limit / 32) */
	pr = steady(20000, ADAPTIVE_PROBE_WINDOWS - 1);
	assert_int_equal(adaptive_limit_next(&pr, 320, 20000, 1, 0), 330);
	/* not when the limit was not reached: no sign that more would be used */
	pr = steady(20000, ADAPTIVE_PROBE_WINDOWS - 1);
	assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 0, 0), 4);
	/* nor above the cap */
	pr = steady(20000, ADAPTIVE_PROBE_WINDOWS - 1);
	assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 1, 4), 4);
	assert_int_equal(pr.just_raised, 0);
}

static void test_failed_probes_back_off(void **state)
{
	struct adaptive_probe pr = steady(20000, 0);
	uint32_t every = ADAPTIVE_PROBE_WINDOWS, round, i;

	(void)state;
	/* a backend of 4 workers: each probe to 5 does not pay, so the next probe comes
	 * after ADAPTIVE_PROBE_BACKOFF times as many quiet windows, up to the maximum */
	for (round = 0; round < 6; round++) {
		for (i = 1; i < every; i++)
			assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 1, 0), 4);
		assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 1, 0), 5);
		assert_int_equal(adaptive_limit_next(&pr, 5, 25000, 1, 0), 4);
		every = every * ADAPTIVE_PROBE_BACKOFF > ADAPTIVE_PROBE_WINDOWS_MAX
				? ADAPTIVE_PROBE_WINDOWS_MAX : every * ADAPTIVE_PROBE_BACKOFF;
		assert_int_equal(pr.every, every);
	}
	/* a probe that pays (the backend got more workers) resets the interval */
	for (i = 1; i < every; i++)
		adaptive_limit_next(&pr, 4, 20000, 1, 0);
	assert_int_equal(adaptive_limit_next(&pr, 4, 20000, 1, 0), 5);
	assert_int_equal(adaptive_limit_next(&pr, 5, 20000, 1, 0), 5);
	assert_int_equal(pr.every, ADAPTIVE_PROBE_WINDOWS);
}

static void test_holds_in_between(void **state)
{
	struct adaptive_probe pr = steady(20000, 2);

	(void)state;
	/* 4 * (1 - 20/24) = 0.67 waiting: neither clearly waiting nor clearly quiet:
	 * hold, the quiet count starts over, the reference follows a quarter of the way */
	assert_int_equal(adaptive_limit_next(&pr, 4, 24000, 1, 0), 4);
	assert_int_equal(pr.quiet_windows, 0);
	assert_int_equal(pr.ref_us, 21000);
}

static void test_tolerates_noise_with_many_workers(void **state)
{
	struct adaptive_probe pr = steady(20000, 0);

	(void)state;
	/* 2 % above the reference at limit 100 is noise (a window mean of 200 samples
	 * varies that much), not 2 requests waiting */
	assert_int_equal(adaptive_limit_next(&pr, 100, 20400, 1, 0), 100);
	assert_int_equal(pr.quiet_windows, 0);
	/* and at limit 4 the same 2 % is 0.08 waiting: a quiet window */
	pr = steady(20000, 0);
	assert_int_equal(adaptive_limit_next(&pr, 4, 20400, 1, 0), 4);
	assert_int_equal(pr.quiet_windows, 1);
	/* 25 % above at limit 100: 100 * (1 - 20/25) = 20 waiting */
	pr = steady(20000, 0);
	assert_int_equal(adaptive_limit_next(&pr, 100, 25000, 1, 0), 80);
}

/* ---- simulated backends ---- */

#define SIM_SLOTS 256u

/* A backend of workers processes with one FIFO backlog in front of them (gunicorn's
 * listen queue), behind a pool queue that is never empty: whenever fewer than the limit
 * are in flight, the next request is sent. Latency is measured from that dispatch to
 * completion, so, as on a real backend, a change of the limit shows in the latencies
 * only as the requests sent under it come back: those in flight at the change were
 * sent under the old one. */
struct sim {
	unsigned workers;              /* the backend serves this many at once */
	uint64_t service_us;           /* time a worker takes for one request */
	unsigned noise_pct;            /* each service time varies by up to +/- this */
	uint64_t now_us;
	uint32_t rng;
	unsigned inflight;
	uint64_t sent_us[SIM_SLOTS];   /* when each request in flight was sent */
	uint64_t done_us[SIM_SLOTS];   /* when it completes */
	uint64_t free_us[SIM_SLOTS];   /* when each worker is next free */
};

static unsigned sim_rand(struct sim *s, unsigned n)
{
	s->rng = s->rng * 1103515245u + 12345u;
	return (s->rng >> 8) % n;
}

/* Sends one request now: the worker free soonest takes it (FIFO backlog). */
static void sim_send(struct sim *s)
{
	unsigned w, first = 0;
	uint64_t service = s->service_us, start;

	for (w = 1; w < s->workers; w++)
		if (s->free_us[w] < s->free_us[first])
			first = w;
	if (s->noise_pct) {
		int pct = (int)sim_rand(s, 2 * s->noise_pct + 1) - (int)s->noise_pct;
		service = service * (uint64_t)(100 + pct) / 100;
	}
	start = s->free_us[first] > s->now_us ? s->free_us[first] : s->now_us;
	s->free_us[first] = start + service;
	s->sent_us[s->inflight] = s->now_us;
	s->done_us[s->inflight] = start + service;
	s->inflight++;
}

/* Feeds count completions to al, sending requests up to its limit as they complete.
 * Counts how many completions saw each limit (hist, when given). */
static void sim_run(struct sim *s, struct adaptive_limit *al, unsigned count, unsigned cap,
		    unsigned *hist, unsigned hist_len)
{
	unsigned i, j, next, limit;

	assert_true(s->workers >= 1 && s->workers <= SIM_SLOTS);
	for (i = 0; i < count; i++) {
		while (s->inflight < adaptive_limit_get(al) && s->inflight < SIM_SLOTS)
			sim_send(s);
		next = 0;
		for (j = 1; j < s->inflight; j++)
			if (s->done_us[j] < s->done_us[next])
				next = j;
		s->now_us = s->done_us[next];
		limit = adaptive_limit_get(al);
		adaptive_limit_sample(al, s->done_us[next] - s->sent_us[next], s->inflight, cap);
		s->inflight--;
		s->sent_us[next] = s->sent_us[s->inflight];
		s->done_us[next] = s->done_us[s->inflight];
		if (hist && limit < hist_len)
			hist[limit]++;
	}
}

/* Learns a backend of n workers from scratch; over the second half of the run the
 * limit must sit in [n, n + slack] at least most_pct of the time and never outside
 * [n - 1, n + slack + 1]. slack is 0 for a few workers, n / 10 for many: the latency
 * noise tolerated at large limits (adaptive_limit_next) lets that many wait inside. */
static void check_learns(unsigned n, unsigned noise_pct, unsigned most_pct)
{
	struct adaptive_limit al;
	struct sim s = { .workers = n, .service_us = 20000, .noise_pct = noise_pct, .rng = 7 };
	unsigned hist[64] = { 0 }, i, total = 0, in = 0, slack = n / 10;

	adaptive_limit_init(&al);
	sim_run(&s, &al, 3000, 0, NULL, 0);
	sim_run(&s, &al, 3000, 0, hist, 64);
	for (i = 0; i < 64; i++) {
		total += hist[i];
		if (i >= n && i <= n + slack)
			in += hist[i];
		if (hist[i] && (i + 1 < n || i > n + slack + 1))
			fail_msg("workers %u noise %u%%: limit %u seen in %u of %u samples", n, noise_pct,
				 i, hist[i], total);
	}
	if (in * 100 < most_pct * total)
		fail_msg("workers %u noise %u%%: limit in [%u, %u] in only %u of %u samples (n-1: %u)",
			 n, noise_pct, n, n + slack, in, total, n > 0 ? hist[n - 1] : 0);
}

static void test_learns_worker_counts(void **state)
{
	(void)state;
	check_learns(1, 0, 60);
	check_learns(2, 0, 60);
	check_learns(4, 0, 60);
	check_learns(7, 0, 60);
	check_learns(16, 0, 60);
}

static void test_learns_worker_counts_with_noise(void **state)
{
	(void)state;
	check_learns(1, 10, 60);
	check_learns(2, 10, 60);
	check_learns(4, 10, 60);
	check_learns(7, 10, 50);
}

static void test_respects_cap(void **state)
{
	struct adaptive_limit al;
	struct sim s = { .workers = 50, .service_us = 10000, .rng = 1 };
	unsigned hist[64] = { 0 }, i;

	(void)state;
	adaptive_limit_init(&al);
	sim_run(&s, &al, 5000, 6, hist, 64);
	for (i = 7; i < 64; i++)
		assert_int_equal(hist[i], 0);
	assert_int_equal(adaptive_limit_get(&al), 6);
}

static void test_no_creep_with_many_workers(void **state)
{
	struct adaptive_limit al;
	struct sim s = { .workers = 32, .service_us = 20000, .rng = 5 };
	unsigned hist[64] = { 0 }, i;

	(void)state;
	/* inside the noise tolerance the limit may sit a little above the workers; the
	 * measuring window of each epoch keeps the no-load latency (and so the limit) from
	 * creeping upwards: two simulated minutes, then look at the last ten seconds */
	adaptive_limit_init(&al);
	sim_run(&s, &al, 190000, 0, NULL, 0);
	sim_run(&s, &al, 16000, 0, hist, 64);
	for (i = 0; i < 64; i++)
		if (hist[i] && (i < 32 - 32 / 8 - 1 || i > 32 + 3))
			fail_msg("32 workers: limit %u seen in %u samples", i, hist[i]);
}

static void test_follows_a_backend_that_became_slower(void **state)
{
	struct adaptive_limit al;
	struct sim s = { .workers = 4, .service_us = 20000, .rng = 3 };
	unsigned hist[64] = { 0 };

	(void)state;
	adaptive_limit_init(&al);
	sim_run(&s, &al, 3000, 0, NULL, 0);
	assert_in_range(adaptive_limit_get(&al), 4, 5);
	/* every request now takes twice as long, for good: at first that looks like
	 * requests waiting inside and the limit drops, but the accepted latency follows
	 * and probing must bring the limit back to the worker count */
	s.service_us = 40000;
	sim_run(&s, &al, 400, 0, hist, 64);
	assert_true(hist[1] + hist[2] + hist[3] > 0);
	sim_run(&s, &al, 6000, 0, NULL, 0);
	assert_in_range(adaptive_limit_get(&al), 4, 5);
}

/* Feeds count samples of latency_us, each completing with inflight in flight. */
static void feed(struct adaptive_limit *al, unsigned count, uint64_t latency_us, unsigned inflight)
{
	unsigned i;

	for (i = 0; i < count; i++)
		adaptive_limit_sample(al, latency_us, inflight, 0);
}

static void test_change_settles_before_it_is_judged(void **state)
{
	struct adaptive_limit al;

	(void)state;
	/* one worker, 20 ms: the first window sets the reference, the second doubles */
	adaptive_limit_init(&al);
	feed(&al, 8, 20000, 1);
	assert_int_equal(adaptive_limit_get(&al), 1);
	feed(&al, 8, 20000, 1);
	assert_int_equal(adaptive_limit_get(&al), 2);
	/* the next window still holds requests sent at limit 1 (20 ms): not judged, or the
	 * raise would look free and double again */
	feed(&al, 8, 20000, 2);
	assert_int_equal(adaptive_limit_get(&al), 2);
	/* the one after shows the second request waiting a whole service time: undone */
	feed(&al, 8, 40000, 2);
	assert_int_equal(adaptive_limit_get(&al), 1);
	assert_int_equal(al.probe.slow_start, 0);
}

static void test_window_mean_leaves_out_only_strays(void **state)
{
	struct adaptive_limit al;

	(void)state;
	/* a limit of 4 accepted at 20 ms; one response of 200 ms in a window is a stray
	 * (10 x the rest) and cuts nothing */
	adaptive_limit_init(&al);
	al.probe = steady(20000, 0);
	atomic_store(&al.limit, 4);
	feed(&al, 7, 20000, 4);
	feed(&al, 1, 200000, 4);
	assert_int_equal(adaptive_limit_get(&al), 4);
	/* but requests that waited in the backlog (50 ms, 2.5 x) count: 2 of 8 make a mean
	 * of 27.5 ms, 4 * (1 - 20/27.5) = 1.1 waiting: cut by 1 (leaving one of them out
	 * would read 24.3 ms, 0.7 waiting: no cut) */
	al.probe = steady(20000, 0);
	feed(&al, 6, 20000, 4);
	feed(&al, 2, 50000, 4);
	assert_int_equal(adaptive_limit_get(&al), 3);
}

static void test_sample_dropped_while_busy(void **state)
{
	struct adaptive_limit al;

	(void)state;
	adaptive_limit_init(&al);
	/* another thread holds the window: the sample is dropped, nothing changes */
	atomic_flag_test_and_set(&al.busy);
	assert_int_equal(adaptive_limit_sample(&al, 20000, 1, 0), 0);
	assert_int_equal(al.n, 0);
	atomic_flag_clear(&al.busy);
	assert_int_equal(adaptive_limit_sample(&al, 20000, 1, 0), 0);
	assert_int_equal(al.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_window_sets_reference),
		cmocka_unit_test(test_slow_start_doubles_while_it_pays),
		cmocka_unit_test(test_raise_must_pay),
		cmocka_unit_test(test_raise_never_used_says_nothing),
		cmocka_unit_test(test_shrinks_by_requests_waiting),
		cmocka_unit_test(test_shrink_on_slow_machine_moves_reference),
		cmocka_unit_test(test_cuts_at_most_half),
		cmocka_unit_test(test_probes_one_after_quiet_windows),
		cmocka_unit_test(test_failed_probes_back_off),
		cmocka_unit_test(test_holds_in_between),
		cmocka_unit_test(test_tolerates_noise_with_many_workers),
		cmocka_unit_test(test_learns_worker_counts),
		cmocka_unit_test(test_learns_worker_counts_with_noise),
		cmocka_unit_test(test_respects_cap),
		cmocka_unit_test(test_no_creep_with_many_workers),
		cmocka_unit_test(test_follows_a_backend_that_became_slower),
		cmocka_unit_test(test_change_settles_before_it_is_judged),
		cmocka_unit_test(test_window_mean_leaves_out_only_strays),
		cmocka_unit_test(test_sample_dropped_while_busy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
