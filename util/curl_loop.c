/* curl_loop.c: owns the control thread's libcurl multi handle and drives it from libev
 * (CURLMOPT_SOCKETFUNCTION onto ev_io, CURLMOPT_TIMERFUNCTION onto one ev_timer). */
#include <stdlib.h>

#include "curl_loop.h"
#include "log.h"

/* One socket libcurl asked us to watch (attached with curl_multi_assign). */
struct sock_watch {
	ev_io io;
	curl_socket_t fd;
};

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp);
static void on_sock_event(struct ev_loop *loop, ev_io *w, int revents);
static void on_multi_timer(struct ev_loop *loop, ev_timer *w, int revents);
static void collect_done(void);

static CURLM *multi;
static struct ev_loop *cloop;
static ev_timer multi_timer;       /* the single timeout libcurl wants */
static unsigned users;             /* curl_loop_init references */
static unsigned running;

int curl_loop_init(struct ev_loop *loop)
{
	CURLcode rc;

	if (users++)
		return 0;
	rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		log_error("libcurl initialisation failed: %s", curl_easy_strerror(rc));
		users--;
		return -1;
	}
	multi = curl_multi_init();
	if (!multi) {
		log_error("curl_multi_init failed");
		curl_global_cleanup();
		users--;
		return -1;
	}
	cloop = loop;
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	ev_timer_init(&multi_timer, on_multi_timer, 0., 0.);
	running = 0;
	return 0;
}

void curl_loop_release(void)
{
	if (!users || --users)
		return;
	ev_timer_stop(cloop, &multi_timer);
	curl_multi_cleanup(multi);
	multi = NULL;
	curl_global_cleanup();
}

int curl_loop_add(struct curl_xfer *x)
{
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (char *)x);
	if (!multi || curl_multi_add_handle(multi, x->easy) != CURLM_OK)
		return -1;
	x->in_loop = 1;
	running++;
	return 0;
}

void curl_loop_remove(struct curl_xfer *x)
{
	if (!x->in_loop)
		return;
	curl_multi_remove_handle(multi, x->easy);
	x->in_loop = 0;
	running--;
}

unsigned curl_loop_running(void)
{
	return running;
}

/* libcurl tells which events a socket needs (or that it is done with it). */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct sock_watch *w = socketp;
	int events;

	if (what == CURL_POLL_REMOVE) {
		if (w) {
			ev_io_stop(cloop, &w->io);
			curl_multi_assign(multi, s, NULL);
			free(w);
		}
		return 0;
	}
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -1;  /* libcurl fails that transfer: its owner sees an error */
		w->fd = s;
		ev_init(&w->io, on_sock_event);
		w->io.data = w;
		curl_multi_assign(multi, s, w);
	}
	events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	ev_io_stop(cloop, &w->io);
	ev_io_set(&w->io, s, events);
	ev_io_start(cloop, &w->io);
	return 0;
}

/* libcurl wants to be called after timeout_ms (-1: no timer). Calling it from inside this
 * callback is not allowed, so even 0 goes through the loop. */
static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
	ev_timer_stop(cloop, &multi_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&multi_timer, timeout_ms / 1000.0, 0.);
		ev_timer_start(cloop, &multi_timer);
	}
	return 0;
}

static void on_sock_event(struct ev_loop *loop, ev_io *io, int revents)
{
	struct sock_watch *w = io->data;
	curl_socket_t fd = w->fd;  /* w may be freed inside socket_action */
	int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		    (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int n;

	curl_multi_socket_action(multi, fd, flags, &n);
	collect_done();
}

static void on_multi_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	int n;

	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &n);
	collect_done();
}

/* Hands every finished transfer to its owner, after taking it out of the multi handle. */
static void collect_done(void)
{
	CURLMsg *msg;
	int left;

	while (multi && (msg = curl_multi_info_read(multi, &left))) {
		struct curl_xfer *x = NULL;
		CURLcode rc = msg->data.result;
		CURL *easy = msg->easy_handle;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(multi, easy);
		running--;
		if (!x)
			continue;
		x->in_loop = 0;
		if (x->done)
			x->done(x, rc);
	}
}
