/* reply.c: the answers of the control API's server, whole or streamed, written into a
 * connection's output (status line, headers, body, the one log line per call); a deferred
 * answer's bookkeeping. The requests they answer are control/request.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_http.h"
#include "log.h"
#include "server-int.h"
#include "textbuf.h"

static void reply_head(struct ctl_conn *c, int status, const char *headers, const char *ctype,
		       long long length);
static void finish(struct ctl_conn *c, int status);
static const char *reason_of(int status);

static const char *reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Status";
	}
}

/* The status line and headers. length -1 = chunked. */
static void reply_head(struct ctl_conn *c, int status, const char *headers, const char *ctype,
		       long long length)
{
	int close_after = !c->keep_alive;

	/* answers are not to be kept unless the handler says how (the status page) */
	textbuf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s", status, reason_of(status),
		   ctype ? ctype : "application/json",
		   headers && strcasestr(headers, "cache-control:") ? "" : "Cache-Control: no-store\r\n");
	if (headers)
		textbuf_append(&c->out, headers, strlen(headers));
	if (close_after)
		textbuf_printf(&c->out, "Connection: close\r\n");
	if (length == -1) {
		textbuf_printf(&c->out, "Transfer-Encoding: chunked\r\n\r\n");
		return;
	}
	textbuf_printf(&c->out, "Content-Length: %lld\r\n\r\n", length);
}

/* The answer is complete: log it, forget the request, and read the next one (or close). */
static void finish(struct ctl_conn *c, int status)
{
	int quiet = c->req.method == HTTP_M_GET && status < 400;

	/* one line per call that may change something: who (the token) did what */
	if (quiet)
		log_debug("control: %s %s %s -> %d token=%s", c->peer, c->req.method_text,
			  c->req.path, status, c->req.token[0] ? c->req.token : "none");
	else if (status != 401)
		log_info("control: %s %s %s%s%s -> %d token=%s", c->peer, c->req.method_text,
			 c->req.path, c->req.query[0] ? "?" : "", c->req.query, status,
			 c->req.token[0] ? c->req.token : "none");
	free(c->req.body);
	c->req.body = NULL;
	c->cancel = NULL;
	c->cancel_arg = NULL;
	if (c->waiting) {
		c->waiting = 0;
		c->srv->nwaiting--;
	}
	c->idle_since = c->srv->loop ? ev_now(c->srv->loop) : 0;
	c->state = c->keep_alive && !c->out.failed ? CC_READ : CC_CLOSING;
	/* a deferred answer comes from a timer: wake the connection to write it */
	if (c->srv->loop)
		ev_feed_event(c->srv->loop, &c->io, EV_WRITE);
}

/* An answer the server gives on its own (malformed request, limits): then close. */
void ctl_conn_reject(struct ctl_conn *c, int status, const char *error, const char *detail)
{
	free(c->req.body);
	memset(&c->req, 0, sizeof(c->req));
	snprintf(c->req.method_text, sizeof(c->req.method_text), "-");
	c->keep_alive = 0;
	c->state = CC_BUSY;
	ctl_reply_error(c, status, error, "%s", detail);
}

void ctl_reply_json_hdr(struct ctl_conn *c, int status, const char *headers, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	size_t len;

	cJSON_Delete(body);
	len = text ? strlen(text) : 2;
	reply_head(c, status, headers, NULL, (long long)len + 1);
	textbuf_append(&c->out, text ? text : "{}", len);
	textbuf_append(&c->out, "\n", 1);
	free(text);
	finish(c, status);
}

void ctl_reply_body(struct ctl_conn *c, int status, const char *ctype, const char *body,
		    size_t len)
{
	ctl_reply_body_hdr(c, status, NULL, ctype, body, len);
}

void ctl_reply_body_hdr(struct ctl_conn *c, int status, const char *headers, const char *ctype,
			const void *body, size_t len)
{
	reply_head(c, status, headers, ctype, (long long)len);
	textbuf_append(&c->out, body, len);
	finish(c, status);
}

void ctl_reply_json(struct ctl_conn *c, int status, cJSON *body)
{
	ctl_reply_json_hdr(c, status, NULL, body);
}

static cJSON *error_json_v(cJSON *o, const char *error, const char *fmt, va_list ap)
{
	char detail[1024];

	if (!o)
		o = cJSON_CreateObject();
	vsnprintf(detail, sizeof(detail), fmt, ap);
	cJSON_AddStringToObject(o, "error", error);
	cJSON_AddStringToObject(o, "detail", detail);
	return o;
}

cJSON *ctl_error_json(cJSON *o, const char *error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	o = error_json_v(o, error, fmt, ap);
	va_end(ap);
	return o;
}

void ctl_reply_error(struct ctl_conn *c, int status, const char *error, const char *fmt, ...)
{
	cJSON *o;
	va_list ap;

	va_start(ap, fmt);
	o = error_json_v(NULL, error, fmt, ap);
	va_end(ap);
	ctl_reply_json(c, status, o);
}

void ctl_stream_start(struct ctl_conn *c, int status)
{
	reply_head(c, status, NULL, "application/x-ndjson", -1);
	c->state = CC_STREAM;
	ev_feed_event(c->srv->loop, &c->io, EV_WRITE);
}

void ctl_stream_json(struct ctl_conn *c, cJSON *line)
{
	char *text = cJSON_PrintUnformatted(line);

	cJSON_Delete(line);
	if (!text) {
		c->out.failed = 1;
		return;
	}
	textbuf_printf(&c->out, "%zx\r\n", strlen(text) + 1);
	textbuf_append(&c->out, text, strlen(text));
	textbuf_append(&c->out, "\n\r\n", 3);
	free(text);
	ev_feed_event(c->srv->loop, &c->io, EV_WRITE);
}

void ctl_stream_end(struct ctl_conn *c)
{
	textbuf_append(&c->out, "0\r\n\r\n", 5);
	finish(c, 200);
}

void ctl_conn_defer(struct ctl_conn *c, void (*cancel)(void *arg), void *arg)
{
	c->cancel = cancel;
	c->cancel_arg = arg;
	/* a long poll holds no short-call slot */
	if (!c->waiting) {
		c->waiting = 1;
		c->srv->nwaiting++;
	}
}

const struct ctl_request *ctl_conn_request(const struct ctl_conn *c)
{
	return &c->req;
}
