/* notify.c: the control plane's side of systemd's Type=notify: when to say READY,
 * RELOADING, STOPPING and WATCHDOG, and the one-line STATUS (generation, rotation). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "clock.h"
#include "ctl_notify.h"
#include "generation.h"
#include "sd_notify.h"
#include "worker.h"

static void status_line(char *out, size_t len);
static void on_watchdog(struct ev_loop *loop, ev_timer *t, int revents);
static void on_status(struct ev_loop *loop, ev_timer *t, int revents);

static struct {
	struct ev_loop *loop;
	ev_timer watchdog;       /* WATCHDOG=1 at half the manager's interval */
	ev_timer status;         /* re-sends STATUS when rotation changed (health, drains) */
	int ready;               /* READY=1 was sent: STATUS updates may follow */
	int reloading;           /* between RELOADING=1 and READY=1: STATUS waits for READY */
	int stopping;
	char last[256];          /* the STATUS last sent */
} cn;

/* "generation N, K of M backends in rotation": what `systemctl status` shows. */
static void status_line(char *out, size_t len)
{
	struct generation *g = proc_current_generation();
	size_t p, b, in = 0, all = 0;

	if (!g) {
		snprintf(out, len, "no generation");
		return;
	}
	for (p = 0; p < g->npools; p++)
		for (b = 0; b < g->pools[p].nbackends; b++) {
			all++;
			in += backend_eligible(g->pools[p].backends[b]) ? 1 : 0;
		}
	snprintf(out, len, "generation %" PRIu64 ", %zu of %zu backends in rotation", g->id, in,
		 all);
	generation_unref(g);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *t, int revents)
{
	sd_notify_send("WATCHDOG=1");
}

static void on_status(struct ev_loop *loop, ev_timer *t, int revents)
{
	ctl_notify_generation();
}

void ctl_notify_ready(struct ev_loop *loop)
{
	uint64_t wd = sd_notify_watchdog_usec();

	if (!sd_notify_enabled())
		return;
	cn.loop = loop;
	status_line(cn.last, sizeof(cn.last));
	sd_notify_sendf("READY=1\nSTATUS=%s", cn.last);
	cn.ready = 1;
	if (wd) {
		/* half the interval, as sd_watchdog_enabled(3) advises: one late tick is no kill */
		double every = (double)wd / 2e6;

		ev_timer_init(&cn.watchdog, on_watchdog, 0., every);
		ev_timer_start(loop, &cn.watchdog);
	}
	ev_timer_init(&cn.status, on_status, 1., 1.);
	ev_timer_start(loop, &cn.status);
}

void ctl_notify_reloading(void)
{
	if (!cn.ready || cn.stopping)
		return;
	cn.reloading = 1;
	sd_notify_sendf("RELOADING=1\nMONOTONIC_USEC=%" PRIu64, clock_mono_ns() / 1000);
}

void ctl_notify_reloaded(const char *refused)
{
	char line[200];

	if (!cn.reloading)
		return;
	cn.reloading = 0;
	status_line(line, sizeof(line));
	if (refused)
		snprintf(cn.last, sizeof(cn.last), "%s; %s", refused, line);
	else
		snprintf(cn.last, sizeof(cn.last), "%s", line);
	sd_notify_sendf("READY=1\nSTATUS=%s", cn.last);
}

void ctl_notify_generation(void)
{
	char line[200];
	size_t n, m;

	if (!cn.ready || cn.reloading || cn.stopping)
		return;
	status_line(line, sizeof(line));
	n = strlen(line);
	m = strlen(cn.last);
	/* unchanged; a refusal ("...; <line>") stays in the status until something changes */
	if (m >= n && !strcmp(cn.last + m - n, line))
		return;
	snprintf(cn.last, sizeof(cn.last), "%s", line);
	sd_notify_sendf("STATUS=%s", cn.last);
}

void ctl_notify_stopping(void)
{
	if (!cn.ready || cn.stopping)
		return;
	cn.stopping = 1;
	cn.reloading = 0;
	ev_timer_stop(cn.loop, &cn.status);
	sd_notify_send("STOPPING=1\nSTATUS=stopping: finishing in-flight requests");
}

void ctl_notify_shutdown(void)
{
	if (!cn.loop)
		return;
	ev_timer_stop(cn.loop, &cn.watchdog);
	ev_timer_stop(cn.loop, &cn.status);
}
