/* tcp_check.c: tcp health checks: a non-blocking connect watched by the control loop,
 * passed when it completes within timeout_ms, then closed with a reset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health-int.h"

/* One tcp check in flight. */
struct health_tcp {
	ev_io io;                        /* writable: the connect finished */
	ev_timer timer;                  /* timeout_ms, or 0 to report an immediate result */
	int fd;
	int early_errno;                 /* connect() finished at once: its errno (0 = connected) */
	int early;                       /* the timer reports early_errno instead of a timeout */
	struct health_check *c;
	health_done_fn done;             /* the scheduler's, given to health_tcp_start */
	struct ev_loop *loop;
};

static void on_tcp_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_tcp_timer(struct ev_loop *loop, ev_timer *w, int revents);
static void tcp_finish(struct health_tcp *t, int err, int timed_out);
static void tcp_free(struct health_tcp *t);

int health_tcp_start(struct ev_loop *loop, struct health_check *c, health_done_fn done)
{
	const struct addr *a = &c->b->addr;
	struct linger lg = { 1, 0 };
	struct health_tcp *t;
	double timeout = c->pool->cfg->health.timeout_ms / 1e3;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->c = c;
	t->done = done;
	t->loop = loop;
	t->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd == -1) {
		int e = errno;
		free(t);
		errno = e;
		return -1;
	}
	/* close with RST: a check every second per backend must not leave TIME_WAIT behind */
	setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	ev_io_init(&t->io, on_tcp_io, t->fd, EV_WRITE);
	t->io.data = t;
	ev_timer_init(&t->timer, on_tcp_timer, timeout, 0.);
	t->timer.data = t;
	r = connect(t->fd, (const struct sockaddr *)&a->ss, a->len);
	if (r == -1 && errno == EINPROGRESS) {
		ev_io_start(loop, &t->io);
	} else {
		/* loopback refuses at once; report from the loop, never from inside start */
		t->early = 1;
		t->early_errno = r == 0 ? 0 : errno;
		ev_timer_set(&t->timer, 0., 0.);
	}
	ev_timer_start(loop, &t->timer);
	c->tcp = t;
	return 0;
}

static void on_tcp_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct health_tcp *t = w->data;
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	tcp_finish(t, err, 0);
}

static void on_tcp_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health_tcp *t = w->data;

	if (t->early)
		tcp_finish(t, t->early_errno, 0);
	else
		tcp_finish(t, 0, 1);
}

/* Reports the result and frees t; c may start its next check from the callback. */
static void tcp_finish(struct health_tcp *t, int err, int timed_out)
{
	struct health_check *c = t->c;
	health_done_fn done = t->done;
	unsigned timeout_ms = c->pool->cfg->health.timeout_ms;
	char detail[128];
	enum health_result r;

	c->tcp = NULL;
	tcp_free(t);
	if (timed_out) {
		r = HRES_TIMEOUT;
		snprintf(detail, sizeof(detail), "connect timed out after %u ms", timeout_ms);
	} else if (err == 0) {
		r = HRES_OK;
		snprintf(detail, sizeof(detail), "connected");
	} else if (err == ECONNREFUSED || err == ENETUNREACH || err == EHOSTUNREACH) {
		r = HRES_REFUSED;
		snprintf(detail, sizeof(detail), "connect: %s", strerror(err));
	} else {
		r = HRES_ERROR;
		snprintf(detail, sizeof(detail), "connect: %s", strerror(err));
	}
	done(c, r, 0, detail);
}

static void tcp_free(struct health_tcp *t)
{
	ev_io_stop(t->loop, &t->io);
	ev_timer_stop(t->loop, &t->timer);
	close(t->fd);
	free(t);
}

void health_tcp_cancel(struct ev_loop *loop, struct health_check *c)
{
	if (!c->tcp)
		return;
	tcp_free(c->tcp);
	c->tcp = NULL;
}
