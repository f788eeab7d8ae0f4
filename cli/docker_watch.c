/* docker_watch.c: `fulcrumctl docker-watch`: follows the Docker Engine API on its unix
 * socket (libcurl) and keeps fulcrum's pools in step with containers labelled fulcrum.pool.
 *
 * Events only change what each container should be (its "want"); reconcile() tells
 * fulcrum whatever differs from what it was last told successfully, and retries calls
 * that failed. The event stream is opened before the containers are listed, so a change
 * that happens while listing arrives as an event afterwards and none is lost; after a
 * reconnect the list is taken again and containers that vanished meanwhile are removed. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "api_call.h"
#include "clock.h"
#include "fulcrumctl.h"
#include "textbuf.h"

#define MAX_CONTAINERS 1024
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define RETRY_MS 1000               /* a failed call to fulcrum is tried again after this */
#define HEADERS_WAIT_MS 10000       /* the event stream must answer within this */
#define LINE_MAX_BYTES (1 << 20)    /* one event; a longer line means a broken stream */

/* What fulcrum should have for a container, or was last told. */
enum want {
	W_NONE,                     /* not in the pool (yet): no healthcheck passed */
	W_ACTIVE,                   /* in rotation */
	W_DRAINING,                 /* stopping: no new requests, in flight finishes */
	W_REMOVED                   /* gone: removed from the pool, entry freed */
};

struct container {
	int used;
	int seen;                   /* in the current list */
	char id[80];
	char pool[64], name[64];    /* backend pool/name in fulcrum */
	char address[96];
	long weight, max_conns;     /* -1 = the label is absent */
	enum want want, told;       /* wanted now; what fulcrum last acknowledged */
	double retry_at;            /* monotonic seconds of the next try after a failure */
};

struct stream {
	struct textbuf text;         /* bytes received and not yet split into lines */
	int broken;                 /* a line grew past LINE_MAX_BYTES */
};

struct docker_reply {
	struct textbuf text;
};

static struct container table[MAX_CONTAINERS];
static const char *docker_sock;
static volatile sig_atomic_t stopping;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void on_signal(int sig);
static size_t on_reply(char *p, size_t size, size_t n, void *arg);
static size_t on_stream(char *p, size_t size, size_t n, void *arg);
static CURL *docker_handle(const char *path);
static int docker_get(const char *path, long *status, cJSON **answer);
static struct container *find(const char *id, int create);
static const char *label(const cJSON *labels, const char *name);
static long label_num(const cJSON *labels, const char *name, long max);
static int good_name(const char *s);
static int good_id(const char *s);
static int inspect(const char *id);
static int list_all(void);
static void on_event(const char *line, size_t len);
static int kill_stops(const cJSON *attrs);
static void reconcile(void);
static int tell(struct container *c);
static int run_stream(void);
static void pause_ms(long ms);

static void say(const char *fmt, ...)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s docker-watch: ", when);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static size_t on_reply(char *p, size_t size, size_t n, void *arg)
{
	struct docker_reply *r = arg;

	return textbuf_append(&r->text, p, size * n) == 0 ? size * n : 0;
}

/* The event stream: bytes are only kept here; lines are handled outside libcurl's
 * callback, because handling one calls fulcrum and Docker with other handles. */
static size_t on_stream(char *p, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;

	if (s->text.len + size * n > LINE_MAX_BYTES && !memchr(p, '\n', size * n)) {
		s->broken = 1;
		return 0;
	}
	return textbuf_append(&s->text, p, size * n) == 0 ? size * n : 0;
}

static CURL *docker_handle(const char *path)
{
	char url[1024];
	CURL *h = curl_easy_init();

	if (!h)
		return NULL;
	/* the host part is not used on a unix socket; Docker ignores it */
	snprintf(url, sizeof(url), "http://docker%s", path);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, docker_sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "fulcrumctl-docker-watch/" FULCRUM_VERSION);
	return h;
}

/* A GET to Docker with the whole answer parsed. Returns 0 with *status and *answer
 * (NULL when not JSON), -1 when Docker could not be reached. */
static int docker_get(const char *path, long *status, cJSON **answer)
{
	struct docker_reply r = { 0 };
	CURL *h = docker_handle(path);
	CURLcode rc;

	*answer = NULL;
	*status = 0;
	if (!h)
		return -1;
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		say("GET %s on %s: %s", path, docker_sock, curl_easy_strerror(rc));
		textbuf_free(&r.text);
		return -1;
	}
	*answer = r.text.len ? cJSON_ParseWithLength(r.text.p, r.text.len) : NULL;
	textbuf_free(&r.text);
	return 0;
}

static struct container *find(const char *id, int create)
{
	struct container *free_slot = NULL;
	size_t i;

	for (i = 0; i < MAX_CONTAINERS; i++) {
		if (table[i].used && !strcmp(table[i].id, id))
			return &table[i];
		if (!table[i].used && !free_slot)
			free_slot = &table[i];
	}
	if (!create)
		return NULL;
	if (!free_slot || strlen(id) >= sizeof(free_slot->id)) {
		say("cannot follow container %.12s: table full or id too long", id);
		return NULL;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	snprintf(free_slot->id, sizeof(free_slot->id), "%s", id);
	return free_slot;
}

static const char *label(const cJSON *labels, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(labels, name);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* A numeric label, -1 when absent, -2 when not a whole number 0..max. */
static long label_num(const cJSON *labels, const char *name, long max)
{
	const char *s = label(labels, name);
	char *end;
	long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < 0 || v > max ? -2 : v;
}

/* A name fulcrum accepts: [A-Za-z0-9._-]{1,63}. */
static int good_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

	return n > 0 && n < 64 && s[n] == '\0';
}

/* A container id as it may go into a path: Docker's are 64 hex digits. */
static int good_id(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");

	return n > 0 && n < sizeof(((struct container *)0)->id) && s[n] == '\0';
}

/* Reads one container (GET /containers/{id}/json) and sets what it should be: active
 * when running and healthy (or without a healthcheck), draining when it was in the
 * pool and is no longer healthy, else not (yet) in the pool. A container that is gone
 * or not labelled is removed. Returns 0, or -1 when Docker could not be reached. */
static int inspect(const char *id)
{
	const cJSON *cfg, *labels, *state, *health, *nets, *net;
	const char *pool, *ip = NULL, *name, *health_st, *want_net;
	char path[256];
	struct container *c;
	cJSON *a;
	long st, port, weight, max_conns;
	int running;

	if (!good_id(id)) {
		say("ignoring a container id that is not [A-Za-z0-9]{1,79}: %.80s", id);
		return 0;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	if (docker_get(path, &st, &a) == -1)
		return -1;
	c = find(id, 0);
	if (st == 404 || !a) {
		if (c)
			c->want = W_REMOVED;
		cJSON_Delete(a);
		return 0;
	}
	cfg = cJSON_GetObjectItem(a, "Config");
	labels = cJSON_GetObjectItem(cfg, "Labels");
	pool = label(labels, "fulcrum.pool");
	if (!pool) {
		if (c)
			c->want = W_REMOVED;
		cJSON_Delete(a);
		return 0;
	}
	name = cJSON_IsString(cJSON_GetObjectItem(a, "Name")) ?
		cJSON_GetObjectItem(a, "Name")->valuestring : "";
	if (*name == '/')
		name++;
	port = label_num(labels, "fulcrum.port", 65535);
	weight = label_num(labels, "fulcrum.weight", 1000);
	max_conns = label_num(labels, "fulcrum.max_conns", 1000000);
	if (!good_name(pool) || !good_name(name) || port < 1 || weight == -2 || max_conns == -2) {
		if (!c || c->want != W_NONE || c->told != W_NONE)
			say("container %.12s (%s): ignored: needs fulcrum.pool and a container name "
			    "of [A-Za-z0-9._-]{1,63}, fulcrum.port 1..65535, fulcrum.weight 0..1000 and "
			    "fulcrum.max_conns whole numbers", id, name);
		if (c)
			c->want = W_REMOVED;
		cJSON_Delete(a);
		return 0;
	}
	/* the address: the network that fulcrum.network names, else the first with an IP */
	nets = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "NetworkSettings"), "Networks");
	want_net = label(labels, "fulcrum.network");
	cJSON_ArrayForEach(net, nets) {
		const cJSON *v = cJSON_GetObjectItem(net, "IPAddress");

		if (!cJSON_IsString(v) || !v->valuestring[0])
			continue;
		if (want_net ? !strcmp(net->string, want_net) : !ip)
			ip = v->valuestring;
	}
	if (!ip) {
		const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "NetworkSettings"), "IPAddress");

		ip = cJSON_IsString(v) && v->valuestring[0] && !want_net ? v->valuestring : NULL;
	}
	state = cJSON_GetObjectItem(a, "State");
	running = cJSON_IsTrue(cJSON_GetObjectItem(state, "Running")) &&
		!cJSON_IsTrue(cJSON_GetObjectItem(state, "Paused"));
	health = cJSON_GetObjectItem(state, "Health");
	health_st = cJSON_IsString(cJSON_GetObjectItem(health, "Status")) ?
		cJSON_GetObjectItem(health, "Status")->valuestring : NULL;
	if (!c && !(c = find(id, 1))) {
		cJSON_Delete(a);
		return 0;
	}
	c->seen = 1;
	if (c->told != W_NONE && (strcmp(c->pool, pool) || strcmp(c->name, name)))
		say("container %.12s: pool or name changed to %s/%s; keeping %s/%s", id, pool, name,
		    c->pool, c->name);
	else {
		snprintf(c->pool, sizeof(c->pool), "%s", pool);
		snprintf(c->name, sizeof(c->name), "%s", name);
	}
	c->weight = weight;
	c->max_conns = max_conns;
	if (ip)
		snprintf(c->address, sizeof(c->address), strchr(ip, ':') ? "[%s]:%ld" : "%s:%ld", ip, port);
	if (!running)
		c->want = c->told == W_NONE ? W_NONE : W_DRAINING;
	else if (!ip) {
		say("container %s (%.12s): no IP address%s%s; not added", name, id,
		    want_net ? " on network " : "", want_net ? want_net : "");
		c->want = c->told == W_NONE ? W_NONE : W_DRAINING;
	} else if (health_st && strcmp(health_st, "healthy") && strcmp(health_st, "none"))
		/* a healthcheck that has not passed (starting) or failed (unhealthy) */
		c->want = c->told == W_NONE ? W_NONE : W_DRAINING;
	else
		c->want = W_ACTIVE;
	cJSON_Delete(a);
	return 0;
}

/* Lists the running containers labelled fulcrum.pool and inspects each; those followed
 * before and not listed now are removed. Returns 0, or -1 when Docker did not answer. */
static int list_all(void)
{
	static const char path[] = "/containers/json?filters=%7B%22label%22%3A%5B%22fulcrum.pool%22%5D%7D";
	const cJSON *e;
	cJSON *a;
	long st;
	size_t i, n = 0;

	if (docker_get(path, &st, &a) == -1)
		return -1;
	if (st != 200 || !cJSON_IsArray(a)) {
		say("listing containers: Docker answered %ld", st);
		cJSON_Delete(a);
		return -1;
	}
	for (i = 0; i < MAX_CONTAINERS; i++)
		table[i].seen = 0;
	cJSON_ArrayForEach(e, a) {
		const cJSON *id = cJSON_GetObjectItem(e, "Id");

		if (!cJSON_IsString(id))
			continue;
		if (inspect(id->valuestring) == -1) {
			cJSON_Delete(a);
			return -1;
		}
		n++;
	}
	cJSON_Delete(a);
	for (i = 0; i < MAX_CONTAINERS; i++)
		if (table[i].used && !table[i].seen)
			table[i].want = W_REMOVED;
	say("listed %zu labelled container(s)", n);
	return 0;
}

/* A kill event stops the container unless it only delivers a signal such as SIGHUP. */
static int kill_stops(const cJSON *attrs)
{
	static const char *const stops[] = { "15", "9", "2", "3", "SIGTERM", "SIGKILL", "SIGINT",
					     "SIGQUIT", "TERM", "KILL", "INT", "QUIT" };
	const char *sig = label(attrs, "signal");
	size_t i;

	if (!sig)
		return 1;
	for (i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		if (!strcmp(sig, stops[i]))
			return 1;
	return 0;
}

/* One JSON line of GET /events. */
static void on_event(const char *line, size_t len)
{
	const cJSON *actor, *attrs, *v;
	const char *type, *action, *id;
	struct container *c;
	cJSON *e = cJSON_ParseWithLength(line, len);

	if (!e) {
		if (len > 0)
			say("ignoring an event that is not JSON: %.80s", line);
		return;
	}
	v = cJSON_GetObjectItem(e, "Type");
	type = cJSON_IsString(v) ? v->valuestring : "";
	v = cJSON_GetObjectItem(e, "Action");
	action = cJSON_IsString(v) ? v->valuestring : "";
	actor = cJSON_GetObjectItem(e, "Actor");
	attrs = cJSON_GetObjectItem(actor, "Attributes");
	v = cJSON_GetObjectItem(actor, "ID");
	id = cJSON_IsString(v) ? v->valuestring : "";
	if (strcmp(type, "container") || !*id || !label(attrs, "fulcrum.pool")) {
		cJSON_Delete(e);
		return;
	}
	c = find(id, 0);
	if (!strcmp(action, "start") || !strcmp(action, "unpause") || !strcmp(action, "restart") ||
	    !strncmp(action, "health_status", 13)) {
		/* the container's own state says whether it belongs in rotation */
		if (inspect(id) == -1)
			say("event %s for %.12s: cannot inspect it now; the next list will", action, id);
	} else if ((!strcmp(action, "kill") && kill_stops(attrs)) || !strcmp(action, "stop") ||
		   !strcmp(action, "pause")) {
		if (c && c->want != W_REMOVED)
			c->want = c->told == W_NONE ? W_NONE : W_DRAINING;
	} else if (!strcmp(action, "die") || !strcmp(action, "destroy") || !strcmp(action, "oom")) {
		if (c)
			c->want = W_REMOVED;
	}
	cJSON_Delete(e);
}

/* Tells fulcrum what one container should be. Returns 0 when fulcrum took it (or the
 * change needs no call), -1 to try again later. */
static int tell(struct container *c)
{
	char path[512], *p, *n;
	cJSON *body = NULL, *a = NULL;
	const char *method, *what;
	long st = 0;
	int rc;

	if (c->want == W_ACTIVE) {
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "address", c->address);
		if (c->weight >= 0)
			cJSON_AddNumberToObject(body, "weight", (double)c->weight);
		if (c->max_conns >= 0)
			cJSON_AddNumberToObject(body, "max_conns", (double)c->max_conns);
		cJSON_AddStringToObject(body, "state", "active");
		method = "PUT";
		what = "added";
	} else if (c->told == W_NONE || c->told == W_REMOVED) {
		return 0;       /* never in the pool: nothing to drain or remove */
	} else if (c->want == W_DRAINING) {
		method = "POST";
		what = "draining";
	} else {
		method = "DELETE";
		what = "removed";
	}
	p = fctl_seg(c->pool);
	n = fctl_seg(c->name);
	snprintf(path, sizeof(path), "/v1/pools/%s/backends/%s%s", p, n,
		 c->want == W_DRAINING ? "/drain" : c->want == W_REMOVED ? "?force=1" : "");
	free(p);
	free(n);
	if (fctl_call(method, path, body, &st, &a) == -1)
		return -1;
	rc = 0;
	if (st >= 200 && st < 300)
		say("%s/%s: %s%s%s (container %.12s)", c->pool, c->name, what,
		    c->want == W_ACTIVE ? " at " : "", c->want == W_ACTIVE ? c->address : "", c->id);
	else if (st == 404 && c->want != W_ACTIVE)
		say("%s/%s: already gone from fulcrum (container %.12s)", c->pool, c->name, c->id);
	else if (st >= 400 && st < 500 && st != 408 && st != 429) {
		const cJSON *d = cJSON_GetObjectItem(a, "detail");

		say("%s/%s: fulcrum refused (%ld: %s); not retried", c->pool, c->name, st,
		    cJSON_IsString(d) ? d->valuestring : "no detail");
	} else {
		say("%s/%s: fulcrum answered %ld; will retry", c->pool, c->name, st);
		rc = -1;
	}
	cJSON_Delete(a);
	return rc;
}

static void reconcile(void)
{
	double t = clock_mono_s();
	size_t i;

	for (i = 0; i < MAX_CONTAINERS && !stopping; i++) {
		struct container *c = &table[i];

		if (!c->used || (c->want == c->told && c->want != W_REMOVED) || c->retry_at > t)
			continue;
		if (tell(c) == -1) {
			c->retry_at = t + RETRY_MS / 1000.0;
			continue;
		}
		c->retry_at = 0;
		if (c->want == W_REMOVED)
			c->used = 0;
		else
			c->told = c->want;
	}
}

/* One connection to Docker: opens the event stream, lists, then follows events until
 * the stream ends or a stop signal. Returns 1 when the list succeeded (the connection
 * was good: backoff starts over), 0 otherwise. */
static int run_stream(void)
{
	static const char path[] = "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%2C"
				   "%22label%22%3A%5B%22fulcrum.pool%22%5D%7D";
	struct stream s = { 0 };
	CURLM *m = curl_multi_init();
	CURL *h = docker_handle(path);
	double started = clock_mono_s(), next_retry;
	int running = 1, listed = 0, msgs;
	long st = 0;
	CURLMsg *msg;

	if (!m || !h)
		goto out;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_multi_add_handle(m, h);
	/* the stream must be open before the list: nothing happens unseen in between */
	while (!stopping && running && st == 0 && clock_mono_s() - started < HEADERS_WAIT_MS / 1000.0) {
		curl_multi_perform(m, &running);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
		if (st == 0 && running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	if (st != 200) {
		if (!stopping)
			say("event stream on %s: %s", docker_sock,
			    st ? "Docker answered with an error" : "no answer");
		goto out;
	}
	if (list_all() == -1)
		goto out;
	listed = 1;
	say("following events on %s", docker_sock);
	next_retry = clock_mono_s() + RETRY_MS / 1000.0;
	while (!stopping) {
		char *nl;

		reconcile();
		while (s.text.len && (nl = memchr(s.text.p, '\n', s.text.len)) != NULL) {
			size_t n = (size_t)(nl - s.text.p);

			on_event(s.text.p, n);
			memmove(s.text.p, nl + 1, s.text.len - n - 1);
			s.text.len -= n + 1;
			s.text.p[s.text.len] = '\0';
			reconcile();
		}
		if (!running)
			break;
		if (clock_mono_s() >= next_retry) {
			reconcile();
			next_retry = clock_mono_s() + RETRY_MS / 1000.0;
		}
		curl_multi_poll(m, NULL, 0, 250, NULL);
		curl_multi_perform(m, &running);
	}
	if (!stopping) {
		CURLcode rc = CURLE_OK;

		while ((msg = curl_multi_info_read(m, &msgs)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				rc = msg->data.result;
		say("event stream ended (%s); reconnecting", s.broken ? "an event line too long" :
		    rc == CURLE_OK ? "closed by Docker" : curl_easy_strerror(rc));
	}
out:
	if (m && h)
		curl_multi_remove_handle(m, h);
	if (h)
		curl_easy_cleanup(h);
	if (m)
		curl_multi_cleanup(m);
	textbuf_free(&s.text);
	return listed;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (!stopping && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int docker_watch(const char *socket_path)
{
	struct sigaction sa = { .sa_handler = on_signal };
	long backoff = BACKOFF_MIN_MS;

	docker_sock = socket_path;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	say("watching %s for containers labelled fulcrum.pool", docker_sock);
	while (!stopping) {
		if (run_stream())
			backoff = BACKOFF_MIN_MS;
		if (stopping)
			break;
		reconcile();     /* changes the last stream brought, before waiting */
		pause_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	say("stopping; the backends stay as they are");
	return EXIT_OK;
}
