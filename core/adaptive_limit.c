/* adaptive_limit.c: learns how many requests a backend serves at once (its workers)
 * from response times alone, so a pool needs no hand-set max_conns or weights.
 *
 * In the spirit of TCP Vegas and of Netflix's and Envoy's adaptive concurrency
 * (written from their published descriptions, not their code): the limit L is a bet
 * that L requests in flight make the backend work faster than L - 1 would. With the
 * requests above the limit waiting in fulcrum's queue, the backend always has L in
 * flight, so its throughput is L / mean latency (Little's law). Two rules follow:
 *
 *  - A raise from L to L' must pay: throughput must grow by at least 30 % of the
 *    ideal gain (L' - L) / L. A backend with N workers answers in the same time while L <= N, so
 *    raises pay up to N; beyond N every extra request only waits inside it (latency
 *    grows in proportion: no gain) and the raise is taken back. A backend slowed by a
 *    busy CPU gains less than ideal but still something, and keeps what pays.
 *  - At a steady limit, the mean is compared with the mean accepted at that limit:
 *    queued = L * (1 - accepted / mean) estimates how many requests now wait inside
 *    (about L - N when the backend lost workers). The limit drops by that many.
 *
 * Raises: doubling from 1 until a doubling does not pay (slow start), then one step
 * (1, or L / 32 for large limits) after a few quiet windows; a step that did not pay
 * makes the next one wait four times as long (up to 256 windows: at 20 ms per request
 * every ~13 s on a 4-worker backend, every ~40 s on a 1-worker one), so a backend at
 * its true limit is probed rarely: each failed probe makes a window of requests wait
 * inside it, and with a 32-window ceiling those were ~1-2 % of all requests, which is
 * exactly what a p99 sees. A cut starts the probing interval over.
 * A window is max(8, 2 * L) samples; its mean leaves out the largest sample when it
 * is a stray (over 3 x the rest), so that one slow response cannot cut the limit. The
 * window after any change is not judged (fold_window). The accepted mean follows slow
 * drift (a quarter of the gap per window). */
#include <math.h>

#include "adaptive_limit.h"

static void fold_window(struct adaptive_limit *al, unsigned cap);

void adaptive_probe_init(struct adaptive_probe *p)
{
	p->slow_start = 1;
	p->just_raised = 0;
	p->from = 0;
	p->ref_us = 0;
	p->quiet_windows = 0;
	p->every = ADAPTIVE_PROBE_WINDOWS;
}

void adaptive_limit_init(struct adaptive_limit *al)
{
	atomic_init(&al->limit, ADAPTIVE_LIMIT_START);
	atomic_flag_clear(&al->busy);
	al->n = 0;
	al->sum_us = al->max_us = 0;
	al->saturated = 0;
	al->settling = 0;
	adaptive_probe_init(&al->probe);
}

unsigned adaptive_limit_get(const struct adaptive_limit *al)
{
	return atomic_load_explicit(&al->limit, memory_order_relaxed);
}

/* Limit raised to, from limit: doubling in slow start, else one step. */
static unsigned raise_from(const struct adaptive_probe *p, unsigned limit)
{
	if (p->slow_start)
		return limit * 2;
	return limit + (limit / 32 > 1 ? limit / 32 : 1);
}

unsigned adaptive_limit_next(struct adaptive_probe *p, unsigned limit, uint64_t mean_us,
			     int saturated, unsigned cap)
{
	double queued, shrink_at, grow_below;
	unsigned next = limit;

	if (cap == 0 || cap > ADAPTIVE_LIMIT_MAX)
		cap = ADAPTIVE_LIMIT_MAX;
	if (mean_us == 0)
		return limit > cap ? cap : limit;

	if (p->just_raised) {
		/* did the raise from p->from pay? gain = throughput now / throughput before */
		unsigned from = p->from;
		double gain = (double)limit * (double)p->ref_us / ((double)from * (double)mean_us);
		double need = 1.0 + 0.3 * (double)(limit - from) / (double)from;

		p->just_raised = 0;
		if (!saturated) {
			/* the raised limit was never used: no answer, ask again later */
			next = from;
		} else if (gain >= need) {
			/* Keep what paid: from * (gain - 1) is how many workers' worth the raise
			 * added (a doubling from 4 over 7 workers adds 3, not 4). The rest would
			 * only wait, so the mean at the kept limit is that much lower. */
			unsigned keep = from + (unsigned)((double)from * (gain - 1.0) + 0.5);

			if (keep <= from)
				keep = from + 1;
			if (keep < limit) {
				mean_us = mean_us * keep / limit;
				p->slow_start = 0;
				next = limit = keep;
			}
			p->ref_us = mean_us;
			p->every = ADAPTIVE_PROBE_WINDOWS;
			if (p->slow_start && raise_from(p, limit) <= cap) {
				p->from = limit;
				p->just_raised = 1;
				next = raise_from(p, limit);
			}
		} else {
			next = from;
			p->slow_start = 0;
			p->quiet_windows = 0;
			p->every = p->every * ADAPTIVE_PROBE_BACKOFF < ADAPTIVE_PROBE_WINDOWS_MAX
					   ? p->every * ADAPTIVE_PROBE_BACKOFF : ADAPTIVE_PROBE_WINDOWS_MAX;
		}
		return next > cap ? cap : next;
	}
	if (p->ref_us == 0) {
		p->ref_us = mean_us;  /* the first window: the reference, nothing to judge */
		return limit > cap ? cap : limit;
	}

	queued = mean_us > p->ref_us ? (double)limit * (double)(mean_us - p->ref_us) / (double)mean_us
				     : 0.0;
	/* With a few workers one request waiting is the whole signal, so the thresholds
	 * sit near one request and half of one. With many, the noise of a window's mean
	 * (2 * limit samples) adds up to about sigma * sqrt(limit / 2) "waiting"
	 * requests, so the thresholds grow with the square root of the limit. */
	shrink_at = fmax(0.8, 0.25 * sqrt((double)limit));
	grow_below = fmax(0.5, 0.125 * sqrt((double)limit));
	if (queued >= shrink_at) {
		unsigned cut = (unsigned)queued;
		double expect;

		/* never more than half at once: the estimate is only as good as one window */
		if (cut > limit / 2)
			cut = limit / 2;
		if (cut < 1)
			cut = 1;
		next = limit > cut ? limit - cut : 1;
		/* If the rise was waiting inside the backend, the mean at the lower limit
		 * falls back by next / limit; if it was the machine getting slower, it does
		 * not, and the reference must move up or the limit would spiral down. */
		expect = (double)mean_us * (double)next / (double)limit;
		if (expect > (double)p->ref_us)
			p->ref_us = (uint64_t)expect;
		p->slow_start = 0;
		p->quiet_windows = 0;
		/* Conditions changed (or a noisy window cut one too many): look for the room
		 * just given up soon, not after the long wait failed probes have built up. */
		p->every = ADAPTIVE_PROBE_WINDOWS;
		return next > cap ? cap : next;
	}
	p->ref_us = (uint64_t)((int64_t)p->ref_us + ((int64_t)mean_us - (int64_t)p->ref_us) / 4);
	if (queued >= grow_below) {
		p->quiet_windows = 0;
	} else if (saturated && (p->slow_start || ++p->quiet_windows >= p->every)) {
		/* a window that never reached the limit says nothing about room above it */
		p->quiet_windows = 0;
		next = raise_from(p, limit);
		if (next > cap)
			next = cap;
		if (next > limit) {
			p->from = limit;
			p->just_raised = 1;
		}
	}
	return next > cap ? cap : next;
}

/* Closes the current window: its mean and the next limit. The window after a change
 * is not judged: its first samples are the requests that were in flight when the limit
 * moved, sent under the old limit, and their latency does not yet show the new one (a
 * raise above the workers looks free until the extra requests have waited in the
 * backend's backlog: judged then, every probe paid and the limit crept to 5 x the
 * workers on a gunicorn backend). A window is at least 2 x the new limit, and a cut
 * at most halves it, so it outlasts every request sent before the change. */
static void fold_window(struct adaptive_limit *al, unsigned cap)
{
	uint64_t mean = al->n > 1 ? (al->sum_us - al->max_us) / (al->n - 1) : al->sum_us;
	int saturated = al->saturated * 2 >= al->n;
	unsigned limit = atomic_load_explicit(&al->limit, memory_order_relaxed), next;

	/* The largest sample is left out only when it is a stray (over 3 x the others'
	 * mean): a request that waited a service time in the backlog doubles its latency,
	 * and that is what a raise past the workers looks like, not noise. */
	if (al->n > 1 && al->max_us <= 3 * mean)
		mean = al->sum_us / al->n;
	if (al->settling) {
		al->settling = 0;
	} else {
		next = adaptive_limit_next(&al->probe, limit, mean, saturated, cap);
		if (next < 1)
			next = 1;
		al->settling = next != limit;
		atomic_store_explicit(&al->limit, next, memory_order_relaxed);
	}
	al->n = 0;
	al->sum_us = al->max_us = 0;
	al->saturated = 0;
}

int adaptive_limit_sample(struct adaptive_limit *al, uint64_t latency_us, unsigned inflight,
			  unsigned cap)
{
	unsigned before, window;

	if (atomic_flag_test_and_set_explicit(&al->busy, memory_order_acquire))
		return 0;
	before = atomic_load_explicit(&al->limit, memory_order_relaxed);
	al->n++;
	al->sum_us += latency_us;
	if (latency_us > al->max_us)
		al->max_us = latency_us;
	if (inflight >= before)
		al->saturated++;
	window = 2 * before > ADAPTIVE_WINDOW_MIN ? 2 * before : ADAPTIVE_WINDOW_MIN;
	if (al->n >= window)
		fold_window(al, cap);
	atomic_flag_clear_explicit(&al->busy, memory_order_release);
	return atomic_load_explicit(&al->limit, memory_order_relaxed) != before;
}
