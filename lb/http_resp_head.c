/* http_resp_head.c: owns the response head an HTTP/1.1 client gets
 * (include/http_resp_head.h), for a proxied response and a cache hit alike. */
#include <stdio.h>

#include "conn.h"
#include "http_resp_head.h"
#include "http_rewrite.h"
#include "worker.h"

int http_resp_head(struct client *c, const char *base, const struct http_head *h, const char *extra)
{
	struct worker *w = c->w;
	const struct cfg_route *r = c->ex->route_cfg;
	const char *rid = c->ex->request_id[0] ? c->ex->request_id : NULL;

	if (!c->out && !(c->out = buf_get(&w->bufs)))
		return -1;
	if (h->head_len + 512 > buf_room(c->out)) {
		buf_compact(c->out);
		if (h->head_len + 512 > buf_room(c->out)) {
			struct buf *nb = buf_grow(&w->bufs, c->out, buf_len(c->out) + h->head_len + 512);
			if (!nb)
				return -1;
			c->out = nb;
		}
	}
	if (c->gl->hsts[0] || extra || (r && (r->nresponse_headers || c->ex->sticky_set))) {
		struct http_edit_vars v;
		struct http_rewrite_resp rs = { .hsts = c->gl->hsts[0] ? c->gl->hsts : NULL, .vars = &v };
		char lines[384];

		http_route_edit_vars(c, &v);
		if (c->ex->sticky_set && c->ex->pool && r && r->sticky_cookie) {
			/* names are [A-Za-z0-9._-]: safe as a cookie's name and value */
			snprintf(lines, sizeof(lines), "%s%sSet-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Lax",
				 extra ? extra : "", extra ? "\r\n" : "", r->sticky_cookie, c->ex->pool->name);
			rs.extra = lines;
		} else {
			rs.extra = extra;
		}
		if (r) {
			rs.edits = r->response_headers;
			rs.nedits = r->nresponse_headers;
		}
		return http_rewrite_response_extra(c->out, base, h, c->keep_alive, c->version_minor, rid, &rs);
	}
	return http_rewrite_response(c->out, base, h, c->keep_alive, c->version_minor, rid);
}
