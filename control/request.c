/* request.c: the HTTP/1.1 side of the control API's server: requests framed out of a
 * connection's input and the token and cross-site checks before dispatch; the answers are
 * control/reply.c, the connections control/server.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-t.h"
#include "ctl_http.h"
#include "log.h"
#include "server-int.h"
#include "textbuf.h"
#include "worker.h"

/* Headers the checks of a request need, copied (NUL-terminated) while it is parsed. */
struct req_headers {
	char ctype[128], origin[256], host[256];
	int has_ctype, has_origin, has_host;
	int auth_ok;                     /* the Authorization header carried a token */
	struct ctl_principal who;
};

static void handle(struct ctl_conn *c, struct req_headers *rh);
static void copy_header(const char *buf, struct http_slice v, char *dst, size_t len, int *has);
static int metrics_public(void);

/* Frames requests out of the input buffer and answers them in order. */
void ctl_conn_input(struct ctl_conn *c)
{
	static const struct http_limits limits = { CTL_HEAD_MAX, CTL_HEADERS_MAX };

	while (c->state == CC_READ && c->in_len > 0) {
		struct http_head *h = &c->srv->head;
		struct ctl_request *req = &c->req;
		struct req_headers rh;
		size_t blen, tlen, i, qpos;
		int r = http_parse_request(c->in, c->in_len, &limits, h);
		const char *target;
		const char *auth_value = NULL;
		size_t auth_len = 0;

		if (r == HTTP_PARSE_INCOMPLETE) {
			if (c->in_len >= CTL_HEAD_MAX)
				ctl_conn_reject(c, 431, "head_too_large", "request head over 16384 bytes");
			return;
		}
		if (r == HTTP_PARSE_ERROR) {
			ctl_conn_reject(c, h->error_status, "bad_request",
					h->error ? h->error : "malformed request");
			return;
		}
		if (h->body == HTTP_BODY_CHUNKED) {
			ctl_conn_reject(c, 411, "length_required",
					"send the body with Content-Length (chunked request bodies are not accepted)");
			return;
		}
		blen = h->body == HTTP_BODY_LENGTH ? (size_t)h->content_length : 0;
		if (h->body == HTTP_BODY_LENGTH && h->content_length > CTL_BODY_MAX) {
			char d[128];

			snprintf(d, sizeof(d), "request body of %llu bytes is over the limit of %d bytes",
				 (unsigned long long)h->content_length, CTL_BODY_MAX);
			ctl_conn_reject(c, 413, "body_too_large", d);
			return;
		}
		if (c->in_len < h->head_len + blen) {
			if ((h->flags & HTTP_F_EXPECT_CONTINUE) && !c->continue_sent) {
				textbuf_printf(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				c->continue_sent = 1;
			}
			return;
		}
		/* the whole request is here: copy what the handler needs */
		memset(req, 0, sizeof(*req));
		req->method = h->method_id;
		snprintf(req->method_text, sizeof(req->method_text), "%.*s", (int)h->method.len,
			 c->in + h->method.off);
		target = c->in + h->target.off;
		tlen = h->target.len;
		qpos = tlen;
		for (i = 0; i < tlen; i++)
			if (target[i] == '?') {
				qpos = i;
				break;
			}
		snprintf(req->path, sizeof(req->path), "%.*s", (int)qpos, target);
		if (qpos < tlen)
			snprintf(req->query, sizeof(req->query), "%.*s", (int)(tlen - qpos - 1),
				 target + qpos + 1);
		snprintf(req->peer, sizeof(req->peer), "%s", c->peer);
		req->body = malloc(blen + 1);
		if (!req->body) {
			ctl_conn_reject(c, 500, "internal", "out of memory");
			return;
		}
		memcpy(req->body, c->in + h->head_len, blen);
		req->body[blen] = '\0';
		req->body_len = blen;
		c->keep_alive = (h->flags & HTTP_F_KEEP_ALIVE) != 0;
		memset(&rh, 0, sizeof(rh));
		for (i = 0; i < h->nheaders; i++) {
			const struct http_header *hd = &h->headers[i];

			if (http_slice_eq(c->in, hd->name, "authorization")) {
				auth_value = c->in + hd->value.off;
				auth_len = hd->value.len;
			} else if (http_slice_eq(c->in, hd->name, "content-type")) {
				copy_header(c->in, hd->value, rh.ctype, sizeof(rh.ctype), &rh.has_ctype);
			} else if (http_slice_eq(c->in, hd->name, "origin")) {
				copy_header(c->in, hd->value, rh.origin, sizeof(rh.origin), &rh.has_origin);
			} else if (http_slice_eq(c->in, hd->name, "host")) {
				copy_header(c->in, hd->value, rh.host, sizeof(rh.host), &rh.has_host);
			} else if (http_slice_eq(c->in, hd->name, "accept") && h->version_minor == 1 &&
				 memmem(c->in + hd->value.off, hd->value.len, "application/x-ndjson", 20))
				req->stream_ok = 1;
		}
		/* token files are looked at on every request: a rotation counts from now */
		ctl_auth_refresh(ev_now(c->srv->loop));
		rh.auth_ok = ctl_auth_identify(auth_value, auth_len, ev_now(c->srv->loop), &rh.who);
		/* consume before dispatching: the next pipelined request stays in front */
		memmove(c->in, c->in + h->head_len + blen, c->in_len - h->head_len - blen);
		c->in_len -= h->head_len + blen;
		c->continue_sent = 0;
		c->request_started = c->in_len ? ev_now(c->srv->loop) : 0;
		handle(c, &rh);
	}
}

/* Copies a header's value (trimmed by the parser) into dst; a value too long to keep
 * is kept cut, which no check accepts. */
static void copy_header(const char *buf, struct http_slice v, char *dst, size_t len, int *has)
{
	snprintf(dst, len, "%.*s", (int)v.len, buf + v.off);
	*has = 1;
}

/* control.metrics_public of the config in force. */
static int metrics_public(void)
{
	struct generation *g = proc_current_generation();
	int pub = g && g->cfg->control.metrics_public;

	generation_unref(g);
	return pub;
}

static void handle(struct ctl_conn *c, struct req_headers *rh)
{
	struct ctl_route_match m;
	struct ctl_site site = {
		.method = c->req.method, .body_len = c->req.body_len,
		.ctype = rh->has_ctype ? rh->ctype : NULL,
		.origin = rh->has_origin ? rh->origin : NULL,
		.host = rh->has_host ? rh->host : NULL,
		.listen = c->srv->address, .tls = c->srv->tls != NULL,
		.token_required = ctl_auth_required(),
	};
	char error[64], detail[512];
	int authorized = rh->auth_ok, st;

	ctl_route(c->req.method_text, c->req.path, &m);
	c->state = CC_BUSY;
	if (authorized) {
		snprintf(c->req.token, sizeof(c->req.token), "%s", rh->who.name);
		/* without tokens nobody proves anything: every connection stays a stranger */
		if (site.token_required)
			c->trusted = 1;
	}
	/* control.metrics_public lets Prometheus scrape /metrics without the token */
	if (m.id == CTL_R_METRICS && !authorized)
		authorized = metrics_public();
	if (!m.public && !authorized) {
		log_warn("control: %s %s %s without a valid token: 401", c->peer, c->req.method_text,
			 c->req.path);
		ctl_reply_json_hdr(c, 401, "WWW-Authenticate: Bearer realm=\"fulcrum\"\r\n",
				   ctl_error_json(NULL, "unauthorized",
						  "this call needs Authorization: Bearer <token>"));
		return;
	}
	if (m.status == 404) {
		ctl_reply_error(c, 404, "not_found", "no endpoint %s", c->req.path);
		return;
	}
	if (m.status == 405) {
		char hdr[96];

		snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", m.allow);
		ctl_reply_json_hdr(c, 405, hdr, ctl_error_json(NULL, "method_not_allowed", "%s", m.allow));
		return;
	}
	st = ctl_cross_site_check(&site, error, sizeof(error), detail, sizeof(detail));
	if (st) {
		log_warn("control: %s %s %s refused: %s", c->peer, c->req.method_text, c->req.path,
			 detail);
		ctl_reply_error(c, st, error, "%s", detail);
		return;
	}
	if (!m.public && rh->auth_ok &&
	    !ctl_scope_check(&rh->who, c->req.method, &m, detail, sizeof(detail))) {
		ctl_reply_error(c, 403, "forbidden", "%s", detail);
		return;
	}
	ctl_dispatch(c, &c->req, &m);
	if (c->state == CC_BUSY && !c->cancel)
		ctl_reply_error(c, 500, "internal", "the handler gave no answer");
}
