/* api_call.c: fulcrumctl's calls to the control API (libcurl), the one way every command
 * talks to fulcrum: the server, token and TLS options of the command line, JSON in and
 * out, NDJSON progress lines as they come, and the exit code each answer means. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "api_call.h"
#include "fulcrumctl.h"
#include "textbuf.h"

/* The answer being received. */
struct reply {
	struct textbuf text;       /* the answer's bytes */
	int stream;               /* NDJSON progress lines are shown as they come */
	int tty;                  /* a live progress line on stderr */
	int json;
	size_t shown;             /* bytes of buf already handled as lines */
	char progress[160];
	cJSON *last;              /* the last complete line of a stream */
};

static int call(const char *method, const char *path, cJSON *body, int stream, long *status,
		cJSON **answer);
static size_t on_data(char *p, size_t size, size_t n, void *arg);
static void stream_lines(struct reply *r);

struct fctl_api fctl_api;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;

	if (textbuf_append(&r->text, p, len) == -1)
		return 0;
	if (r->stream)
		stream_lines(r);
	return len;
}

/* Each complete NDJSON line: printed as is with --json, else turned into the live
 * progress line on a terminal. The last one carries the outcome. */
static void stream_lines(struct reply *r)
{
	char *nl;

	while ((nl = memchr(r->text.p + r->shown, '\n', r->text.len - r->shown)) != NULL) {
		cJSON *line = cJSON_ParseWithLength(r->text.p + r->shown, (size_t)(nl - r->text.p) - r->shown);

		if (r->json) {
			printf("%.*s\n", (int)((size_t)(nl - r->text.p) - r->shown), r->text.p + r->shown);
			fflush(stdout);
		}
		r->shown = (size_t)(nl - r->text.p) + 1;
		if (!line)
			continue;
		if (r->tty && !r->json && !cJSON_GetObjectItem(line, "done")) {
			snprintf(r->progress, sizeof(r->progress),
				 "draining %s/%s: %.0f in flight, %.0f s left", fctl_str(line, "pool"),
				 fctl_str(line, "name"), fctl_num(line, "active"), fctl_num(line, "left_s"));
			fprintf(stderr, "\r%s\033[K", r->progress);
		}
		cJSON_Delete(r->last);
		r->last = line;
	}
}

/* Makes one call (fctl_call, fctl_call_stream). body (taken, may be NULL) is sent as
 * JSON. On an answer returns 0 with *status and *answer (the parsed body, or for a stream
 * its last line; NULL when not JSON); -1 when fulcrum could not be reached (message
 * printed). */
static int call(const char *method, const char *path, cJSON *body, int stream, long *status,
		cJSON **answer)
{
	struct reply r = { 0 };
	struct curl_slist *hdrs = NULL, *pin = NULL;
	char url[2048], auth[4200], *text = NULL;
	const char *base = fctl_api.server;
	CURL *h = curl_easy_init();
	CURLcode rc;

	*answer = NULL;
	if (!h) {
		fprintf(stderr, "fulcrumctl: cannot initialise libcurl\n");
		return -1;
	}
	if (!strncmp(base, "unix:", 5)) {
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, base + 5);
		base = "http://localhost";
	}
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(fctl_api.timeout * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "fulcrumctl/" FULCRUM_VERSION);
	if (fctl_api.connect_to) {
		pin = curl_slist_append(NULL, fctl_api.connect_to);
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, pin);
	}
	if (fctl_api.cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, fctl_api.cacert);
	if (fctl_api.cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, fctl_api.cert);
	if (fctl_api.key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, fctl_api.key);
	if (fctl_api.token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", fctl_api.token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	hdrs = curl_slist_append(hdrs, stream ? "Accept: application/x-ndjson" : "Accept: application/json");
	/* the bodies are small: no 100-continue round trip */
	hdrs = curl_slist_append(hdrs, "Expect:");
	/* every change says JSON, body or not: fulcrum refuses the form types a cross-site
	 * page could send (and libcurl would otherwise label a POST as a form) */
	if (strcmp(method, "GET"))
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (body) {
		text = cJSON_PrintUnformatted(body);
		cJSON_Delete(body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text ? text : "{}");
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	r.stream = stream;
	r.json = fctl_api.json;
	r.tty = stream && isatty(STDERR_FILENO);
	rc = curl_easy_perform(h);
	if (r.tty && r.progress[0])
		fputs("\r\033[K", stderr);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	curl_slist_free_all(pin);
	free(text);
	if (rc != CURLE_OK) {
		fprintf(stderr, "fulcrumctl: %s %s: %s\n", method, url, curl_easy_strerror(rc));
		cJSON_Delete(r.last);
		textbuf_free(&r.text);
		return -1;
	}
	if (stream && r.last)
		*answer = r.last;
	else {
		cJSON_Delete(r.last);
		*answer = r.text.len ? cJSON_ParseWithLength(r.text.p, r.text.len) : NULL;
		if (fctl_api.json && r.text.len && !(stream && r.shown))
			fwrite(r.text.p, 1, r.text.len, stdout);
	}
	textbuf_free(&r.text);
	return 0;
}

int fctl_call(const char *method, const char *path, cJSON *body, long *status, cJSON **answer)
{
	return call(method, path, body, 0, status, answer);
}

int fctl_call_stream(const char *method, const char *path, cJSON *body, long *status,
		     cJSON **answer)
{
	return call(method, path, body, 1, status, answer);
}

int fctl_exit_code(long status)
{
	if (status >= 200 && status < 300)
		return EXIT_OK;
	switch (status) {
	case 401: case 403: return EXIT_UNAUTHORIZED;
	case 404: return EXIT_NOT_FOUND;
	case 400: case 411: case 413: case 415: case 422: case 431: return EXIT_INVALID;
	case 408: case 504: return EXIT_TIMEOUT;
	case 503: return EXIT_UNAVAILABLE;
	default: return EXIT_FAILED;
	}
}

int fctl_report(long status, cJSON *answer, const char *what)
{
	const cJSON *errs = cJSON_GetObjectItem(answer, "errors"), *e;
	int code = fctl_exit_code(status);

	if (code == EXIT_OK || fctl_api.json)
		return code;
	fprintf(stderr, "fulcrumctl: %s: %ld %s: %s\n", what, status,
		fctl_str(answer, "error")[0] ? fctl_str(answer, "error") : "error",
		fctl_str(answer, "detail")[0] ? fctl_str(answer, "detail") : "(no detail)");
	cJSON_ArrayForEach(e, errs) {
		double line = fctl_num(e, "line");

		if (line > 0)
			fprintf(stderr, "  %s:%.0f: %s%s%s\n", fctl_str(e, "file"), line, fctl_str(e, "key"),
				fctl_str(e, "key")[0] ? ": " : "", fctl_str(e, "message"));
		else
			fprintf(stderr, "  %s: %s%s%s\n", fctl_str(e, "file"), fctl_str(e, "key"),
				fctl_str(e, "key")[0] ? ": " : "", fctl_str(e, "message"));
	}
	return code;
}

char *fctl_seg(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy = e ? strdup(e) : NULL;

	curl_free(e);
	if (!copy) {
		fprintf(stderr, "fulcrumctl: out of memory\n");
		exit(EXIT_FAILED);
	}
	return copy;
}
