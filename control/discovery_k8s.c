/* discovery_k8s.c: one pool's EndpointSlice watcher: LIST, then WATCH from the list's
 * resourceVersion over HTTPS (libcurl on the control loop), token rotation, 410 and
 * stream ends, a silent connection taken as dead, backoff while the API server cannot
 * be reached. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "curl_loop.h"
#include "discovery.h"
#include "log.h"

#define TOKEN_MAX 65536         /* a service-account token is a JWT of a few KiB */
#define ERROR_BODY_MAX 4096     /* what is kept of an answer that is not 200, for the log */
#define BACKOFF_BASE_MS 250
#define CONNECT_TIMEOUT_S 10L
#define LIST_TIMEOUT_S 60L
#define WATCH_SECONDS_MAX 300   /* timeoutSeconds of a WATCH at most; we resume it */
#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

enum watch_phase {
	W_IDLE = 0,                  /* waiting for the retry timer */
	W_LISTING,
	W_WATCHING
};

struct k8s_watch {
	struct ev_loop *loop;
	const struct k8s_watch_report *report;  /* to the layer (control/discovery.c) */
	struct disc_pool *dp;
	const char *pool;            /* the layer's copy, lives as long as the watcher */
	const struct cfg_kubernetes *k;
	char *base;                  /* "https://host:port" */
	char ns[K8S_NAME_MAX];
	char *token;                 /* NULL = none read (no Authorization header) */
	struct stat token_st;        /* of the file the token was read from */
	char ca[4200];               /* ca.crt path; "" when absent: system CAs */
	struct k8s_port_sel sel;

	enum watch_phase phase;
	struct curl_xfer xfer;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	char *body;                  /* LIST answer, or the start of an error answer */
	size_t body_len, body_cap;
	struct k8s_lines lines;      /* WATCH stream */
	long status;                 /* HTTP status of the answer in progress */
	int relist;                  /* the stream said 410: LIST again */
	int stream_bad;              /* the stream could not be parsed: start over */
	int events;                  /* events taken from this watch */
	double started;              /* ev_now when the request started */
	double last_byte;            /* ev_now when the answer last brought bytes */
	ev_timer idle;               /* no byte for watch_idle_timeout_s: the connection is dead */
	char pending[256];           /* the last failure, until a LIST completes */

	char rv[K8S_RV_MAX];         /* where the watch resumes */
	struct k8s_slice *slices;    /* the Service's slices as last known */
	size_t nslices, slices_cap;
	unsigned failures;           /* in a row, for the backoff */
	ev_timer retry;
	uint64_t rng;
};

static void start_request(struct k8s_watch *w, int list);
static void on_done(struct curl_xfer *x, CURLcode rc);
static void on_retry(struct ev_loop *loop, ev_timer *t, int revents);
static void on_idle(struct ev_loop *loop, ev_timer *t, int revents);
static unsigned watch_seconds(const struct k8s_watch *w);
static size_t on_data(char *ptr, size_t size, size_t n, void *userdata);
static int on_line(void *ctx, const char *line, size_t len);
static void backoff(struct k8s_watch *w, const char *why);
static void publish_endpoints(struct k8s_watch *w);
static int read_token(struct k8s_watch *w, int force);
static int upsert_slice(struct k8s_watch *w, struct k8s_slice *s);
static void delete_slice(struct k8s_watch *w, const char *name);
static void end_transfer(struct k8s_watch *w);
static int keep_body(struct k8s_watch *w, const char *p, size_t n, size_t max);
static char *api_base(const struct cfg_kubernetes *k);
static int body_shown(const struct k8s_watch *w);
static void read_namespace(struct k8s_watch *w);

/* timeoutSeconds of a WATCH: below watch_idle_timeout_s, so that a live API server ends
 * a quiet watch cleanly (we resume it from the last resourceVersion, no LIST) before the
 * idle timer would take it as dead; a real one sends bookmarks too, but about once a
 * minute only. */
static unsigned watch_seconds(const struct k8s_watch *w)
{
	unsigned idle = w->k->watch_idle_timeout_s ? w->k->watch_idle_timeout_s : 30;
	unsigned s = idle - idle / 4;

	if (s >= idle)
		s = idle > 1 ? idle - 1 : 1;
	return s > WATCH_SECONDS_MAX ? WATCH_SECONDS_MAX : s;
}

/* How much of an error answer goes into a log line (the body has no terminating NUL). */
static int body_shown(const struct k8s_watch *w)
{
	size_t n = 0;

	while (w->body && n < w->body_len && n < 200 && w->body[n] != '\r' && w->body[n] != '\n')
		n++;
	return (int)n;
}

/* "https://host:port" from the settings, else from the in-cluster environment. */
static char *api_base(const struct cfg_kubernetes *k)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char buf[512];

	if (k->api_server) {
		size_t n = strlen(k->api_server);

		snprintf(buf, sizeof(buf), "%.*s", (int)(n && k->api_server[n - 1] == '/' ? n - 1 : n),
			 k->api_server);
		return strdup(buf);
	}
	if (!host || !*host || !port || !*port || strlen(host) > 256 || strlen(port) > 8 ||
	    strpbrk(host, "/?# ") || strspn(port, "0123456789") != strlen(port))
		return NULL;
	snprintf(buf, sizeof(buf), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		 port);
	return strdup(buf);
}

static void read_namespace(struct k8s_watch *w)
{
	char path[4200], buf[K8S_NAME_MAX + 2];
	ssize_t n;
	int fd;

	snprintf(w->ns, sizeof(w->ns), "%s", w->k->namespace ? w->k->namespace : "default");
	if (w->k->namespace)
		return;
	snprintf(path, sizeof(path), "%s/namespace", w->k->sa_dir ? w->k->sa_dir : SA_DIR_DEFAULT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] && strlen(buf) < sizeof(w->ns) &&
	    strspn(buf, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(buf))
		memcpy(w->ns, buf, strlen(buf) + 1);
}

struct k8s_watch *k8s_watch_start(struct ev_loop *loop, const struct cfg_kubernetes *k,
				  const char *pool, const struct k8s_watch_report *report,
				  struct disc_pool *dp)
{
	struct k8s_watch *w = calloc(1, sizeof(*w));
	struct stat st;

	if (!w) {
		log_error("discovery: pool %s: out of memory", pool);
		return NULL;
	}
	w->loop = loop;
	w->report = report;
	w->dp = dp;
	w->pool = pool;
	w->k = k;
	w->base = api_base(k);
	if (!w->base) {
		log_error("discovery: pool %s: no Kubernetes API server: set "
			  "discovery.kubernetes.api_server, or run in a cluster "
			  "(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT)", pool);
		free(w);
		return NULL;
	}
	if (curl_loop_init(loop) == -1) {
		free(w->base);
		free(w);
		return NULL;
	}
	read_namespace(w);
	snprintf(w->ca, sizeof(w->ca), "%s/ca.crt", k->sa_dir ? k->sa_dir : SA_DIR_DEFAULT);
	if (stat(w->ca, &st) == -1)
		w->ca[0] = '\0';
	w->sel.port = k->port;
	w->sel.port_name = k->port_name;
	k8s_lines_init(&w->lines, K8S_EVENT_MAX);
	w->rng = ((clock_mono_ns() % 1000000000u) << 17) ^ (uint64_t)(uintptr_t)w ^ (uint64_t)getpid();
	if (!w->rng)
		w->rng = 0x9e3779b97f4a7c15ull;
	ev_timer_init(&w->retry, on_retry, 0., 0.);
	w->retry.data = w;
	ev_timer_init(&w->idle, on_idle, 0., 0.);
	w->idle.data = w;
	log_info("discovery: pool %s: following EndpointSlices of service %s/%s at %s", pool,
		 w->ns, k->service, w->base);
	start_request(w, 1);
	return w;
}

const char *k8s_watch_pending(const struct k8s_watch *w)
{
	return w->pending[0] ? w->pending : "the first LIST is under way";
}

void k8s_watch_stop(struct k8s_watch *w)
{
	if (!w)
		return;
	ev_timer_stop(w->loop, &w->retry);
	end_transfer(w);
	k8s_slices_free(w->slices, w->nslices);
	k8s_lines_free(&w->lines);
	free(w->body);
	free(w->base);
	free(w->token);
	free(w);
	curl_loop_release();
}

static void end_transfer(struct k8s_watch *w)
{
	ev_timer_stop(w->loop, &w->idle);
	if (w->xfer.easy) {
		curl_loop_remove(&w->xfer);
		curl_easy_cleanup(w->xfer.easy);
		w->xfer.easy = NULL;
	}
	curl_slist_free_all(w->headers);
	w->headers = NULL;
	w->phase = W_IDLE;
}

/* Reads the token when the file changed since the last read (rotation: the kubelet
 * swaps it through a symlink, so stat follows the link) or when force. 0, or -1 when
 * there is no token file (requests then go without one). */
static int read_token(struct k8s_watch *w, int force)
{
	char path[4200], *buf;
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/token", w->k->sa_dir ? w->k->sa_dir : SA_DIR_DEFAULT);
	if (stat(path, &st) == -1)
		return w->token ? 0 : -1;
	if (!force && w->token && st.st_ino == w->token_st.st_ino &&
	    st.st_mtim.tv_sec == w->token_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == w->token_st.st_mtim.tv_nsec && st.st_size == w->token_st.st_size)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return w->token ? 0 : -1;
	buf = malloc(TOKEN_MAX + 1);
	if (!buf) {
		close(fd);
		return w->token ? 0 : -1;
	}
	while (len < TOKEN_MAX && (n = read(fd, buf + len, TOKEN_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	if (!len || strpbrk(buf, "\r\n")) {
		log_warn("discovery: pool %s: token file %s is empty or not one line; ignored",
			 w->pool, path);
		free(buf);
		return w->token ? 0 : -1;
	}
	if (w->token && strcmp(w->token, buf))
		log_info("discovery: pool %s: service-account token re-read (rotated)", w->pool);
	free(w->token);
	w->token = buf;
	w->token_st = st;
	return 0;
}

/* Starts the LIST (list != 0) or the WATCH from w->rv. On a setup failure, backs off. */
static void start_request(struct k8s_watch *w, int list)
{
	char url[2048], *auth = NULL;
	struct curl_slist *l;
	CURL *e;

	end_transfer(w);
	read_token(w, 0);
	if (list)
		snprintf(url, sizeof(url), "%s/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices"
			 "?labelSelector=kubernetes.io%%2Fservice-name%%3D%s", w->base, w->ns,
			 w->k->service);
	else
		snprintf(url, sizeof(url), "%s/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices"
			 "?labelSelector=kubernetes.io%%2Fservice-name%%3D%s&watch=1"
			 "&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%d", w->base,
			 w->ns, w->k->service, w->rv, watch_seconds(w));
	e = curl_easy_init();
	if (!e)
		goto fail;
	w->xfer.easy = e;
	w->xfer.done = on_done;
	l = curl_slist_append(NULL, "Accept: application/json");
	if (!l)
		goto fail;
	w->headers = l;
	if (w->token) {
		size_t n = strlen(w->token) + 32;

		auth = malloc(n);
		if (!auth)
			goto fail;
		snprintf(auth, n, "Authorization: Bearer %s", w->token);
		l = curl_slist_append(w->headers, auth);
		/* the token does not linger in freed memory longer than needed */
		memset(auth, 0, n);
		free(auth);
		if (!l)
			goto fail;
		w->headers = l;
	}
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK)
		goto fail;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "fulcrum-discovery/" FULCRUM_VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, list ? LIST_TIMEOUT_S : (long)watch_seconds(w) + 60L);
	/* keepalive probes find a peer that is gone (a node lost, a NAT entry dropped) and
	 * keep conntrack entries alive; the idle timer finds one that is there but silent */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 5L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	if (w->ca[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, w->ca);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
	w->errbuf[0] = '\0';
	w->body_len = 0;
	w->status = 0;
	w->relist = 0;
	w->stream_bad = 0;
	w->events = 0;
	k8s_lines_reset(&w->lines);
	if (curl_loop_add(&w->xfer) == -1)
		goto fail;
	w->phase = list ? W_LISTING : W_WATCHING;
	w->started = w->last_byte = ev_now(w->loop);
	ev_timer_set(&w->idle, (double)w->k->watch_idle_timeout_s, 0.);
	ev_timer_start(w->loop, &w->idle);
	return;
fail:
	end_transfer(w);
	backoff(w, "cannot set up a request (out of memory?)");
}

static int keep_body(struct k8s_watch *w, const char *p, size_t n, size_t max)
{
	if (n > max - w->body_len)
		return -1;
	if (ARRAY_GROW(&w->body, &w->body_cap, w->body_len + n, 16384) == -1)
		return -1;
	memcpy(w->body + w->body_len, p, n);
	w->body_len += n;
	return 0;
}

/* Bytes of the answer: a LIST body is kept whole; a WATCH stream is split into events
 * as it comes; an answer that is not 200 keeps only its start, for the log. Returning
 * less than given ends the transfer (CURLE_WRITE_ERROR) without calling into libcurl. */
static size_t on_data(char *ptr, size_t size, size_t n, void *userdata)
{
	struct k8s_watch *w = userdata;
	size_t len = size * n;

	w->last_byte = ev_now(w->loop);
	if (!w->status)
		curl_easy_getinfo(w->xfer.easy, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) {
		if (w->body_len < ERROR_BODY_MAX)
			keep_body(w, ptr, len < ERROR_BODY_MAX - w->body_len ? len
									    : ERROR_BODY_MAX - w->body_len,
				  ERROR_BODY_MAX);
		return len;
	}
	if (w->phase == W_LISTING)
		return keep_body(w, ptr, len, K8S_LIST_MAX) == 0 ? len : 0;
	if (k8s_lines_feed(&w->lines, ptr, len, on_line, w) == -1) {
		if (!w->relist)
			w->stream_bad = 1;
		return 0;
	}
	return len;
}

/* One watch event: slices change, the resume point moves; 410 asks for a new LIST. */
static int on_line(void *ctx, const char *line, size_t len)
{
	struct k8s_watch *w = ctx;
	struct k8s_event ev;
	char err[256];

	if (k8s_parse_event(line, len, &w->sel, &ev, err, sizeof(err)) == -1) {
		log_warn("discovery: pool %s: %s; the watch starts over", w->pool, err);
		return -1;
	}
	w->events++;
	switch (ev.type) {
	case K8S_EV_ERROR:
		if (ev.code == 410) {
			log_info("discovery: pool %s: resourceVersion %s is too old (410 Gone: %s); "
				 "listing again", w->pool, w->rv, ev.message);
			w->relist = 1;
		} else {
			log_warn("discovery: pool %s: the watch reported an error (%d: %s)", w->pool,
				 ev.code, ev.message);
			w->stream_bad = 1;
		}
		k8s_event_clear(&ev);
		return -1;
	case K8S_EV_BOOKMARK:
		break;
	case K8S_EV_ADDED:
	case K8S_EV_MODIFIED:
		if (upsert_slice(w, &ev.slice) == -1) {
			k8s_event_clear(&ev);
			return -1;
		}
		publish_endpoints(w);
		break;
	case K8S_EV_DELETED:
		delete_slice(w, ev.slice.name);
		publish_endpoints(w);
		break;
	}
	snprintf(w->rv, sizeof(w->rv), "%s", ev.rv);
	k8s_event_clear(&ev);
	return 0;
}

/* Takes s over (its endpoints move into the watcher's set). 0, or -1 on ENOMEM. */
static int upsert_slice(struct k8s_watch *w, struct k8s_slice *s)
{
	size_t i;

	for (i = 0; i < w->nslices; i++) {
		if (strcmp(w->slices[i].name, s->name))
			continue;
		k8s_slice_clear(&w->slices[i]);
		w->slices[i] = *s;
		memset(s, 0, sizeof(*s));
		return 0;
	}
	if (ARRAY_GROW(&w->slices, &w->slices_cap, w->nslices + 1, 8) == -1)
		return -1;
	w->slices[w->nslices++] = *s;
	memset(s, 0, sizeof(*s));
	return 0;
}

static void delete_slice(struct k8s_watch *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->nslices; i++) {
		if (strcmp(w->slices[i].name, name))
			continue;
		k8s_slice_clear(&w->slices[i]);
		memmove(&w->slices[i], &w->slices[i + 1], (w->nslices - i - 1) * sizeof(w->slices[0]));
		w->nslices--;
		return;
	}
}

/* The slices as one endpoint list, to the layer (which batches the generations). */
static void publish_endpoints(struct k8s_watch *w)
{
	struct k8s_endpoint *eps = NULL;
	ssize_t n = k8s_reduce(w->slices, w->nslices, w->k->address_family, &eps);

	if (n < 0) {
		log_error("discovery: pool %s: out of memory merging endpoint slices", w->pool);
		return;
	}
	w->report->endpoints(w->dp, eps, (size_t)n);
	free(eps);
}

/* Waits before the next attempt: 250 ms doubling per failure in a row, capped at
 * backoff_max_ms, drawn within +-25 % so that replicas do not retry in step. The
 * backends stay as last known meanwhile. */
static void backoff(struct k8s_watch *w, const char *why)
{
	double ms = BACKOFF_BASE_MS, cap = w->k->backoff_max_ms ? w->k->backoff_max_ms : 30000;
	uint64_t x = w->rng;
	unsigned i;

	for (i = 0; i < w->failures && ms < cap; i++)
		ms *= 2;
	if (ms > cap)
		ms = cap;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	w->rng = x;
	ms *= 0.75 + (double)(x % 1000) / 2000.0;
	w->failures++;
	snprintf(w->pending, sizeof(w->pending), "%s", why);
	log_warn("discovery: pool %s: %s; trying again in %.1f s (keeping the %s known backends)",
		 w->pool, why, ms / 1000.0, w->nslices || w->rv[0] ? "last" : "no");
	ev_timer_stop(w->loop, &w->retry);
	ev_timer_set(&w->retry, ms / 1000.0, 0.);
	ev_timer_start(w->loop, &w->retry);
}

/* The answer in progress brought no byte for watch_idle_timeout_s: an API server (or a
 * proxy, a NAT on the way) that holds the connection but says nothing. The watch can
 * have missed events meanwhile: list again (at once after a watch; after a LIST that
 * hung, with the backoff). */
static void on_idle(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct k8s_watch *w = t->data;
	double left = w->last_byte + (double)w->k->watch_idle_timeout_s - ev_now(loop);
	int was_list = w->phase == W_LISTING;
	char why[160];

	if (left > 0.01) {
		ev_timer_set(t, left, 0.);
		ev_timer_start(loop, t);
		return;
	}
	snprintf(why, sizeof(why), "no byte from the API server for %u s during the %s; the "
		 "connection is taken as dead", w->k->watch_idle_timeout_s,
		 was_list ? "LIST" : "WATCH");
	end_transfer(w);
	w->rv[0] = '\0';
	if (was_list) {
		backoff(w, why);
		return;
	}
	log_warn("discovery: pool %s: %s; listing again", w->pool, why);
	start_request(w, 1);
}

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct k8s_watch *w = t->data;

	/* without a resourceVersion there is nothing to resume from */
	start_request(w, w->rv[0] == '\0');
}

/* A LIST or WATCH ended: decide what comes next. */
static void on_done(struct curl_xfer *x, CURLcode rc)
{
	struct k8s_watch *w = (struct k8s_watch *)((char *)x - offsetof(struct k8s_watch, xfer));
	int was_list = w->phase == W_LISTING;
	char why[512];
	long status = 0;
	/* a watch that lasted this long ended by its timeoutSeconds, not at once */
	double quiet_enough = watch_seconds(w) / 2.0 < 5.0 ? watch_seconds(w) / 2.0 : 5.0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 401 || status == 403) {
		/* a rotated token: read it again at once, whatever its file looks like */
		read_token(w, 1);
		snprintf(why, sizeof(why), "the API server refused the token (HTTP %ld: %.*s)",
			 status, body_shown(w), w->body ? w->body : "");
		end_transfer(w);
		backoff(w, why);
		return;
	}
	if (status == 410 && !was_list) {
		end_transfer(w);
		w->rv[0] = '\0';
		start_request(w, 1);
		return;
	}
	if (status != 200) {
		if (status)
			snprintf(why, sizeof(why), "%s answered HTTP %ld (%.*s)", was_list ? "LIST" : "WATCH",
				 status, body_shown(w), w->body ? w->body : "");
		else
			snprintf(why, sizeof(why), "the API server cannot be reached (%s)",
				 w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc));
		end_transfer(w);
		backoff(w, why);
		return;
	}
	if (was_list) {
		struct k8s_slice *slices = NULL;
		size_t n = 0, i, skipped = 0, eps = 0;
		char err[256];

		if (rc != CURLE_OK) {
			snprintf(why, sizeof(why), "LIST did not complete (%s)",
				 w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc));
			end_transfer(w);
			backoff(w, why);
			return;
		}
		if (k8s_parse_list(w->body, w->body_len, &w->sel, &slices, &n, w->rv, err,
				   sizeof(err)) == -1) {
			w->rv[0] = '\0';
			end_transfer(w);
			backoff(w, err);
			return;
		}
		/* a big answer's buffer is not kept for the error bodies to come */
		free(w->body);
		w->body = NULL;
		w->body_len = w->body_cap = 0;
		k8s_slices_free(w->slices, w->nslices);
		w->slices = slices;
		w->nslices = w->slices_cap = n;
		for (i = 0; i < n; i++) {
			skipped += slices[i].skipped;
			eps += slices[i].neps;
		}
		log_info("discovery: pool %s: listed %zu slice%s with %zu endpoint%s "
			 "(resourceVersion %s)%s", w->pool, n, n == 1 ? "" : "s", eps,
			 eps == 1 ? "" : "s", w->rv,
			 skipped ? "; some endpoints left out (not IP, or no such port: see port, port_name)" : "");
		w->failures = 0;
		w->pending[0] = '\0';
		w->report->listed(w->dp);
		publish_endpoints(w);
		start_request(w, 0);
		return;
	}
	/* the watch ended */
	if (w->relist) {
		end_transfer(w);
		w->rv[0] = '\0';
		w->failures = 0;
		start_request(w, 1);
		return;
	}
	if (w->stream_bad) {
		end_transfer(w);
		w->rv[0] = '\0';
		backoff(w, "the watch stream could not be used");
		return;
	}
	if (rc == CURLE_OK || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_PARTIAL_FILE ||
	    rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
		/* an end after events or a long quiet stream (timeoutSeconds, an API server
		 * restart) resumes at once; one that ends at once again and again backs off */
		if (w->events || ev_now(w->loop) - w->started >= quiet_enough) {
			log_info("discovery: pool %s: watch ended after %d event%s; resuming at "
				 "resourceVersion %s", w->pool, w->events, w->events == 1 ? "" : "s",
				 w->rv);
			w->failures = 0;
			start_request(w, 0);
			return;
		}
		snprintf(why, sizeof(why), "the watch ended at once without events (%s)",
			 rc == CURLE_OK ? "closed by the server" : curl_easy_strerror(rc));
		end_transfer(w);
		backoff(w, why);
		return;
	}
	snprintf(why, sizeof(why), "the watch failed (%s)",
		 w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc));
	end_transfer(w);
	backoff(w, why);
}
