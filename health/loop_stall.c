/* loop_stall.c: the stall gauge of the control loop: how long it ran callbacks between
 * waking up and going back to sleep, the time any check or signal had to wait. */

#include "clock.h"
#include "health-int.h"

static void on_wake(struct ev_loop *loop, ev_check *w, int revents);
static void on_sleep(struct ev_loop *loop, ev_prepare *w, int revents);

static ev_check wake_watcher;      /* runs first after the loop wakes (highest priority) */
static ev_prepare sleep_watcher;   /* runs last before it blocks again (lowest priority) */
static double woke_at;             /* 0 = not inside an iteration we measure */
static double max_ever_ms, max_window_ms;

static void on_wake(struct ev_loop *loop, ev_check *w, int revents)
{
	woke_at = clock_mono_s();
}

static void on_sleep(struct ev_loop *loop, ev_prepare *w, int revents)
{
	double ms;

	if (woke_at == 0)
		return;
	ms = (clock_mono_s() - woke_at) * 1e3;
	woke_at = 0;
	if (ms > max_ever_ms)
		max_ever_ms = ms;
	if (ms > max_window_ms)
		max_window_ms = ms;
}

void health_stall_start(struct ev_loop *loop)
{
	ev_check_init(&wake_watcher, on_wake);
	ev_set_priority(&wake_watcher, EV_MAXPRI);
	ev_check_start(loop, &wake_watcher);
	ev_prepare_init(&sleep_watcher, on_sleep);
	ev_set_priority(&sleep_watcher, EV_MINPRI);
	ev_prepare_start(loop, &sleep_watcher);
	woke_at = 0;
	max_ever_ms = max_window_ms = 0;
}

void health_stall_stop(struct ev_loop *loop)
{
	ev_check_stop(loop, &wake_watcher);
	ev_prepare_stop(loop, &sleep_watcher);
}

double health_stall_max_ms(double *window_ms, int reset)
{
	if (window_ms)
		*window_ms = max_window_ms;
	if (reset)
		max_window_ms = 0;
	return max_ever_ms;
}
