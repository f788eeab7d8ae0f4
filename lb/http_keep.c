/* http_keep.c: owns the copies an HTTP exchange keeps of its request head
 * (include/http_keep.h), and the error page they choose for an answer made here. */
#include <string.h>

#include "conn.h"
#include "generation.h"
#include "http_keep.h"

/* Copies value of field f into to[0..cap] (cap bytes at most, then the NUL). */
static void keep_value(char *to, size_t cap, const char *base, const struct http_header *f)
{
	size_t n = f->value.len < cap ? f->value.len : cap;

	memcpy(to, base + f->value.off, n);
	to[n] = '\0';
}

/* The first Referer and User-Agent, for the combined log line: the JSON line has no use
 * for them, so only that format pays. */
static void keep_agent(struct exchange *x, const char *base, const struct http_head *h)
{
	uint32_t i;

	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];

		if (f->name.len == 7 && !x->referer[0] && http_slice_eq(base, f->name, "referer"))
			keep_value(x->referer, sizeof(x->referer) - 1, base, f);
		else if (f->name.len == 10 && !x->user_agent[0] && http_slice_eq(base, f->name, "user-agent"))
			keep_value(x->user_agent, sizeof(x->user_agent) - 1, base, f);
	}
}

/* The first Accept, for choosing an error page should fulcrum answer this request. */
static void keep_accept(struct exchange *x, const char *base, const struct http_head *h)
{
	uint32_t i;

	for (i = 0; i < h->nheaders; i++)
		if (h->headers[i].name.len == 6 && http_slice_eq(base, h->headers[i].name, "accept")) {
			keep_value(x->accept, sizeof(x->accept) - 1, base, &h->headers[i]);
			return;
		}
}

void http_keep_request_head(struct client *c, const char *base, const struct http_head *h)
{
	struct exchange *x = c->ex;
	size_t room = sizeof(x->target) - 1, m = h->method.len, t = h->target.len;

	if (m > room)
		m = room;
	memcpy(x->target, base + h->method.off, m);
	if (m < room)
		x->target[m++] = ' ';
	if (t > room - m)
		t = room - m;
	memcpy(x->target + m, base + h->target.off, t);
	x->target[m + t] = '\0';
	if (c->gen->cfg->log.format == LOG_FORMAT_COMBINED)
		keep_agent(x, base, h);
	if (c->gl->errors.n)  /* the listener's pages and its routes' */
		keep_accept(x, base, h);
}

const struct error_page *http_error_page(const struct client *c, int status)
{
	const struct cfg_listener *l = c->gl->cfg;
	const struct cfg_route *r = c->ex ? c->ex->route_cfg : NULL;
	/* the exchange's route is one of this listener's (its generation's) */
	int route = r && r >= l->routes && r < l->routes + l->nroutes ? (int)(r - l->routes) : -1;

	if (!c->gl->errors.n || !c->ex)
		return NULL;
	return error_pages_pick(&c->gl->errors, route, status, c->ex->accept, strlen(c->ex->accept));
}
