/* http_answer.c: the answers fulcrum makes itself on an HTTP/1.1 connection (errors,
 * redirects, fixed answers): the whole response, written at once, then close. */
#include <stdio.h>

#include "conn.h"
#include "conn_arm.h"
#include "conn_close.h"
#include "conn_io.h"
#include "http_answer.h"
#include "http_edits.h"
#include "worker.h"

/* The reason phrase of the status codes fulcrum answers itself. */
static const char *status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 410: return "Gone";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return status < 400 ? "OK" : "Error";
	}
}

/* An answer made by fulcrum (an error, a redirect, a route's fixed answer): written
 * whole as an HTTP/1.1 response. A route's answer to a request that was its head alone
 * keeps the connection for the next request; any other closes it, and what the client
 * still sends is drained (linger) so that it reads the answer instead of a reset. */
void http_send_answer(struct client *c, const struct local_answer *a)
{
	struct exchange *x = c->ex;
	char retry_after[32] = "";
	/* the next request may follow on this connection: a route's answer to a head alone,
	 * to a client that keeps its connection, as HAProxy and nginx do for a redirect or
	 * a return (fulcrum's errors still close) */
	int keep = a->keep_alive && c->keep_alive, n;

	if (!c->out && !(c->out = buf_get(&c->w->bufs))) {
		client_close(c, TERM_INTERNAL);
		return;
	}
	if (a->retry_after_s)
		snprintf(retry_after, sizeof(retry_after), "Retry-After: %u\r\n", a->retry_after_s);
	n = snprintf(buf_tail(c->out), buf_room(c->out),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "%s%s%s%s%s%s%s%s%s%s%s",
		     a->status, status_reason(a->status), a->content_type, a->body_len,
		     a->location ? "Location: " : "", a->location ? a->location : "",
		     a->location ? "\r\n" : "", retry_after,
		     !keep ? "Connection: close\r\n" : c->version_minor >= 1 ? "" : "Connection: keep-alive\r\n",
		     x->request_id[0] ? "X-Request-ID: " : "", x->request_id,
		     x->request_id[0] ? "\r\n" : "", c->gl->hsts[0] ? "Strict-Transport-Security: " : "",
		     c->gl->hsts, c->gl->hsts[0] ? "\r\n" : "");
	if (n > 0 && (uint32_t)n < buf_room(c->out)) {
		struct buf *o = c->out;
		uint32_t end = o->end;
		int rc = 0;

		o->end += (uint32_t)n;
		/* a route's response edits apply to its redirect or fixed answer too */
		if (x->route_cfg && x->route_cfg->nresponse_headers) {
			struct http_edit_vars v;
			http_route_edit_vars(c, &v);
			rc |= http_edits_append(o, x->route_cfg->response_headers,
						x->route_cfg->nresponse_headers, &v);
		}
		rc |= buf_append(o, "\r\n", 2);
		if (x->method != HTTP_M_HEAD)
			rc |= buf_append(o, a->body, a->body_len);
		if (rc) {
			o->end = end;  /* no room: nothing half-written (the connection closes) */
			keep = 0;
		}
	} else {
		keep = 0;
	}
	if (keep) {
		/* written as a proxied answer is (client_write_response), which ends the
		 * exchange once it is out and waits for the next request */
		x->req_framed = x->req_done = 1;
		x->resp_head_done = x->resp_done = 1;
		c->state = CS_STREAMING;
		c->last_activity = ev_now(c->w->loop);
		client_update(c);
		return;
	}
	c->state = CS_CLOSING;
	c->keep_alive = 0;
	c->last_activity = ev_now(c->w->loop);
	if (client_flush_out(c) == -1) {
		client_close(c, x->term);
		return;
	}
	if (!c->out || buf_len(c->out) == 0) {
		client_linger(c);
		return;
	}
	client_update(c);
}
