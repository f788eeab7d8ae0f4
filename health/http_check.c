/* http_check.c: http(s) health checks with libcurl's multi-socket interface driven by
 * the control loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION onto ev_io/ev_timer). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "health-int.h"
#include "log.h"

/* A health endpoint answers in a few bytes; more is read and thrown away up to here,
 * then the transfer is cut (its status still counts). */
#define BODY_MAX 65536

/* One http check in flight. */
struct health_http {
	CURL *easy;
	struct curl_slist *headers;
	struct health_check *c;
	size_t body_bytes;
	int drain_header_seen;
	char errbuf[CURL_ERROR_SIZE];
};

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
static void http_finish(struct health_http *h, CURLcode rc);
static void http_free(struct health_http *h);
static size_t on_body(char *ptr, size_t size, size_t n, void *userdata);
static size_t on_header(char *ptr, size_t size, size_t n, void *userdata);
static int build_request(struct health_http *h, const struct health_check *c);

static CURLM *multi;
static struct ev_loop *hloop;
static ev_timer multi_timer;       /* the single timeout libcurl wants */
static unsigned in_flight;

int health_http_init(struct ev_loop *loop)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		log_error("health: libcurl initialisation failed: %s", curl_easy_strerror(rc));
		return -1;
	}
	multi = curl_multi_init();
	if (!multi) {
		log_error("health: curl_multi_init failed");
		curl_global_cleanup();
		return -1;
	}
	hloop = loop;
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	ev_timer_init(&multi_timer, on_multi_timer, 0., 0.);
	in_flight = 0;
	return 0;
}

void health_http_shutdown(void)
{
	if (!multi)
		return;
	ev_timer_stop(hloop, &multi_timer);
	curl_multi_cleanup(multi);
	multi = NULL;
	curl_global_cleanup();
}

unsigned health_http_in_flight(void)
{
	return in_flight;
}

/* libcurl tells which events a socket needs (or that it is done with it). */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct sock_watch *w = socketp;
	int events;

	if (what == CURL_POLL_REMOVE) {
		if (w) {
			ev_io_stop(hloop, &w->io);
			curl_multi_assign(multi, s, NULL);
			free(w);
		}
		return 0;
	}
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -1;  /* libcurl fails that transfer: the check reports an error */
		w->fd = s;
		ev_init(&w->io, on_sock_event);
		w->io.data = w;
		curl_multi_assign(multi, s, w);
	}
	events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	ev_io_stop(hloop, &w->io);
	ev_io_set(&w->io, s, events);
	ev_io_start(hloop, &w->io);
	return 0;
}

/* libcurl wants to be called after timeout_ms (-1: no timer). Calling it from inside this
 * callback is not allowed, so even 0 goes through the loop. */
static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
	ev_timer_stop(hloop, &multi_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&multi_timer, timeout_ms / 1000.0, 0.);
		ev_timer_start(hloop, &multi_timer);
	}
	return 0;
}

static void on_sock_event(struct ev_loop *loop, ev_io *io, int revents)
{
	struct sock_watch *w = io->data;
	curl_socket_t fd = w->fd;  /* w may be freed inside socket_action */
	int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
		    (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;

	curl_multi_socket_action(multi, fd, flags, &running);
	collect_done();
}

static void on_multi_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	int running;

	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect_done();
}

/* Hands every finished transfer to its check. */
static void collect_done(void)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(multi, &left))) {
		struct health_http *h = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h);
		if (h)
			http_finish(h, msg->data.result);
	}
}

/* Sets up the request of one check: URL from the resolved address (no name lookup on
 * the control loop), Host as configured or the address as written. 0 or -1. */
static int build_request(struct health_http *h, const struct health_check *c)
{
	const struct cfg_health *hc = &c->pool->cfg->health;
	const struct backend *b = c->b;
	char hostport[ADDR_TEXT_MAX + 8], url[ADDR_TEXT_MAX + 1100], host[ADDR_TEXT_MAX + 16];
	struct curl_slist *l;
	CURL *e = h->easy;

	addr_format((const struct sockaddr *)&b->addr.ss, hostport, sizeof(hostport));
	snprintf(url, sizeof(url), "%s://%s%s", hc->https ? "https" : "http", hostport, hc->path);
	snprintf(host, sizeof(host), "Host: %s", hc->host ? hc->host : b->addr.text);
	l = curl_slist_append(NULL, host);
	if (!l)
		return -1;
	h->headers = l;
	/* one connection per check: the check sees what a new client connection would */
	if (!(l = curl_slist_append(h->headers, "Connection: close")))
		return -1;
	h->headers = l;
	if (b->addr.ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&b->addr.ss;
		if (s6->sin6_scope_id)
			curl_easy_setopt(e, CURLOPT_ADDRESS_SCOPE, (long)s6->sin6_scope_id);
	}
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK)
		return -1;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "fulcrum-health/" FULCRUM_VERSION);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)hc->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)hc->timeout_ms);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* the environment's proxy settings are for people, not for backend checks */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (hc->https) {
		/* backends behind a load balancer rarely carry certificates for their
		 * addresses; the check asks "does it answer", not "is it who it says" */
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
	return 0;
}

int health_http_start(struct health_check *c)
{
	struct health_http *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	h->c = c;
	h->easy = curl_easy_init();
	if (!h->easy || build_request(h, c) == -1)
		goto fail;
	if (curl_multi_add_handle(multi, h->easy) != CURLM_OK)
		goto fail;
	c->http = h;
	in_flight++;
	return 0;
fail:
	if (h->easy)
		curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->headers);
	free(h);
	return -1;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *userdata)
{
	struct health_http *h = userdata;

	h->body_bytes += size * n;
	return h->body_bytes > BODY_MAX ? 0 : size * n;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *userdata)
{
	struct health_http *h = userdata;
	const char *name = h->c->pool->cfg->health.drain_header;
	size_t len = size * n, nl;

	if (name) {
		nl = strlen(name);
		if (len > nl && ptr[nl] == ':' && strncasecmp(ptr, name, nl) == 0)
			h->drain_header_seen = 1;
		else if (len > 5 && strncmp(ptr, "HTTP/", 5) == 0)
			h->drain_header_seen = 0;  /* a new (final after interim) response begins */
	}
	return len;
}

/* Classifies a finished transfer and reports it to the check. */
static void http_finish(struct health_http *h, CURLcode rc)
{
	struct health_check *c = h->c;
	const struct cfg_health *hc = &c->pool->cfg->health;
	enum health_result r;
	char detail[CURL_ERROR_SIZE + 64];
	long status = 0;

	curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	/* a body cut at BODY_MAX still brought its status */
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && status > 0)) {
		if (health_status_match(&hc->drain_set, (int)status) &&
		    (!hc->drain_header || h->drain_header_seen)) {
			r = HRES_DRAIN;
			snprintf(detail, sizeof(detail), "HTTP %ld%s%s", status,
				 hc->drain_header ? " with " : "", hc->drain_header ? hc->drain_header : "");
		} else if (health_status_match(&hc->expect_set, (int)status)) {
			r = HRES_OK;
			snprintf(detail, sizeof(detail), "HTTP %ld", status);
		} else {
			r = HRES_STATUS;
			snprintf(detail, sizeof(detail), "HTTP %ld, expected %s", status, hc->expect);
		}
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		r = HRES_TIMEOUT;
		snprintf(detail, sizeof(detail), "no answer within %u ms", hc->timeout_ms);
	} else if (rc == CURLE_COULDNT_CONNECT) {
		long oserr = 0;

		/* the errno says refused or unreachable; libcurl's text only "couldn't" */
		curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &oserr);
		r = HRES_REFUSED;
		snprintf(detail, sizeof(detail), "connect: %s",
			 oserr ? strerror((int)oserr) : curl_easy_strerror(rc));
	} else {
		r = HRES_ERROR;
		snprintf(detail, sizeof(detail), "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
	}
	c->http = NULL;
	http_free(h);
	health_check_done(c, r, (int)status, detail);
}

static void http_free(struct health_http *h)
{
	curl_multi_remove_handle(multi, h->easy);
	curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->headers);
	in_flight--;
	free(h);
}

void health_http_cancel(struct health_check *c)
{
	if (!c->http)
		return;
	http_free(c->http);
	c->http = NULL;
}
