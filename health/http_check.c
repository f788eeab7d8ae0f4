/* http_check.c: http(s) health checks, transfers on the control loop's shared libcurl
 * multi handle (util/curl_loop.c). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "curl_loop.h"
#include "health-int.h"
#include "log.h"

/* A health endpoint answers in a few bytes; more is read and thrown away up to here,
 * then the transfer is cut (its status still counts). */
#define BODY_MAX 65536

/* One http check in flight. */
struct health_http {
	struct curl_xfer xfer;           /* xfer.easy: the transfer */
	struct curl_slist *headers;
	struct health_check *c;
	health_done_fn done;             /* the scheduler's, given to health_http_start */
	size_t body_bytes;
	int drain_header_seen;
	char *identity;                  /* the value identity_header must have; NULL = off */
	char identity_got[64];           /* what the answer said, for the log ("" = absent) */
	int identity_ok;                 /* the final response carried it with that value */
	char errbuf[CURL_ERROR_SIZE];
};

static void on_http_done(struct curl_xfer *x, CURLcode rc);
static void http_free(struct health_http *h);
static size_t on_body(char *ptr, size_t size, size_t n, void *userdata);
static size_t on_header(char *ptr, size_t size, size_t n, void *userdata);
static int build_request(struct health_http *h, const struct health_check *c);
static const char *backend_identity(const struct health_check *c);
static void on_identity_header(struct health_http *h, const char *line, size_t len);

static unsigned in_flight;

int health_http_init(struct ev_loop *loop)
{
	in_flight = 0;
	return curl_loop_init(loop);
}

void health_http_shutdown(void)
{
	curl_loop_release();
}

unsigned health_http_in_flight(void)
{
	return in_flight;
}

/* The identity c's backend must show: its config's identity, else its name. Looked up
 * in the pool's config (the check runs on the control thread, which owns it). */
static const char *backend_identity(const struct health_check *c)
{
	const struct cfg_pool *p = c->pool->cfg;
	size_t i;

	for (i = 0; i < p->nbackends; i++)
		if (!strcmp(p->backends[i].name, c->b->name))
			return p->backends[i].identity ? p->backends[i].identity : c->b->name;
	return c->b->name;
}

/* Sets up the request of one check: URL from the resolved address (no name lookup on
 * the control loop), Host as configured or the address as written. 0 or -1. */
static int build_request(struct health_http *h, const struct health_check *c)
{
	const struct cfg_health *hc = &c->pool->cfg->health;
	const struct backend *b = c->b;
	char hostport[ADDR_TEXT_MAX + 8], url[ADDR_TEXT_MAX + 1100], host[ADDR_TEXT_MAX + 16];
	struct curl_slist *l;
	CURL *e = h->xfer.easy;

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

int health_http_start(struct health_check *c, health_done_fn done)
{
	struct health_http *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	h->c = c;
	h->done = done;
	/* a stranger that took over the address answers /healthz too: with identity_header
	 * set, only the backend that says who it is passes */
	if (c->pool->cfg->health.identity_header && !(h->identity = strdup(backend_identity(c)))) {
		free(h);
		return -1;
	}
	h->xfer.easy = curl_easy_init();
	h->xfer.done = on_http_done;
	if (!h->xfer.easy || build_request(h, c) == -1)
		goto fail;
	if (curl_loop_add(&h->xfer) == -1)
		goto fail;
	c->http = h;
	in_flight++;
	return 0;
fail:
	if (h->xfer.easy)
		curl_easy_cleanup(h->xfer.easy);
	curl_slist_free_all(h->headers);
	free(h->identity);
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
	if (h->identity)
		on_identity_header(h, ptr, len);
	return len;
}

/* Notes whether this header line is identity_header with exactly the backend's identity
 * (surrounding whitespace aside). A new status line starts over. */
static void on_identity_header(struct health_http *h, const char *line, size_t len)
{
	const char *name = h->c->pool->cfg->health.identity_header, *v, *end;
	size_t nl = strlen(name);

	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		h->identity_ok = 0;
		h->identity_got[0] = '\0';
		return;
	}
	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return;
	v = line + nl + 1;
	end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	snprintf(h->identity_got, sizeof(h->identity_got), "%.*s", (int)(end - v), v);
	h->identity_ok = (size_t)(end - v) == strlen(h->identity) &&
			 memcmp(v, h->identity, (size_t)(end - v)) == 0;
}

/* Classifies a finished transfer and reports it to the check. */
static void on_http_done(struct curl_xfer *x, CURLcode rc)
{
	struct health_http *h = (struct health_http *)x;
	struct health_check *c = h->c;
	health_done_fn done = h->done;
	const struct cfg_health *hc = &c->pool->cfg->health;
	enum health_result r;
	char detail[CURL_ERROR_SIZE + 64];
	long status = 0;

	curl_easy_getinfo(h->xfer.easy, CURLINFO_RESPONSE_CODE, &status);
	/* a body cut at BODY_MAX still brought its status */
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && status > 0)) {
		if (health_status_match(&hc->drain_set, (int)status) &&
		    (!hc->drain_header || h->drain_header_seen)) {
			r = HRES_DRAIN;
			snprintf(detail, sizeof(detail), "HTTP %ld%s%s", status,
				 hc->drain_header ? " with " : "", hc->drain_header ? hc->drain_header : "");
		} else if (health_status_match(&hc->expect_set, (int)status) && h->identity &&
			   !h->identity_ok) {
			r = HRES_ERROR;
			snprintf(detail, sizeof(detail), "HTTP %ld without %s: %.64s (%s%.64s%s)", status,
				 hc->identity_header, h->identity,
				 h->identity_got[0] ? "it said \"" : "absent",
				 h->identity_got, h->identity_got[0] ? "\"" : "");
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
		curl_easy_getinfo(h->xfer.easy, CURLINFO_OS_ERRNO, &oserr);
		r = HRES_REFUSED;
		snprintf(detail, sizeof(detail), "connect: %s",
			 oserr ? strerror((int)oserr) : curl_easy_strerror(rc));
	} else {
		r = HRES_ERROR;
		snprintf(detail, sizeof(detail), "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
	}
	c->http = NULL;
	http_free(h);
	done(c, r, (int)status, detail);
}

/* The transfer is out of the loop already (done) or taken out here (cancel). */
static void http_free(struct health_http *h)
{
	curl_loop_remove(&h->xfer);
	curl_easy_cleanup(h->xfer.easy);
	curl_slist_free_all(h->headers);
	in_flight--;
	free(h->identity);
	free(h);
}

void health_http_cancel(struct health_check *c)
{
	if (!c->http)
		return;
	http_free(c->http);
	c->http = NULL;
}
