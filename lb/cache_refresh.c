/* cache_refresh.c: owns the background refresh of a stale cache entry (RFC 5861
 * stale-while-revalidate, RFC 9111 4.3): the request that finds the entry stale is
 * answered with it at once, and fulcrum asks the backend again on its own exchange, with
 * If-None-Match / If-Modified-Since when the entry has validators, so that a 304
 * freshens the entry without a body and a 200 replaces it (lb/http_cache.c stores
 * either and wakes whoever waits).
 *
 * The refresh is an exchange with no client behind it: an internal connection
 * (client_new_internal) whose socket is one end of a socketpair. Everything between the
 * request and the response is the data path every request takes, unchanged: the pool's
 * queue and max_conns, the pick, retries, timeouts, the idle backend connections,
 * response parsing and buffering, compression, the access-log line (cache=refresh).
 * What it answers goes to the other end of the pair, read and dropped here (the sink).
 * Why not a separate HTTP client: a refresh takes a gunicorn worker like any request,
 * so it must wait its turn in the same queue and count against the same limits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache_refresh.h"
#include "cache_revalidate.h"
#include "cache_store.h"
#include "conn.h"
#include "http_cache.h"
#include "worker.h"

/* What a refresh answers is read off this end and dropped, until the refresh closes its
 * end (EOF) or the loop ends with it. */
struct refresh_sink {
	ev_io io;
	int fd;
};

static __thread struct http_head refresh_scratch;

static void on_sink(struct ev_loop *loop, ev_io *io, int revents)
{
	struct refresh_sink *s = io->data;
	char drop[16384];
	ssize_t n;
	int i;

	(void)revents;
	for (i = 0; i < 64; i++) {
		n = read(s->fd, drop, sizeof(drop));
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		break;  /* EOF (the refresh is over) or an error: done */
	}
	if (i == 64)
		return;  /* more on the next turn */
	ev_io_stop(loop, &s->io);
	close(s->fd);
	free(s);
}

/* The request head the refresh sends: the head c's request was rewritten into for the
 * backend, its conditions replaced by the entry's validators. A buffer of w's, or NULL. */
static struct buf *refresh_head(struct client *c, const struct cache_obj *o)
{
	struct worker *w = c->w;
	struct buf *rq = c->ex->req_head;
	size_t cap;
	struct http_limits lim;
	struct buf *b;
	int n;

	if (!rq)
		return NULL;
	lim = (struct http_limits){ buf_len(rq) + 1, HTTP_HEADERS_MAX };
	if (http_parse_request(buf_head(rq), buf_len(rq), &lim, &refresh_scratch) != HTTP_PARSE_DONE)
		return NULL;
	cap = (size_t)buf_len(rq) + (o->etag ? strlen(o->etag) : 0) +
	      (o->last_modified ? strlen(o->last_modified) : 0) + 64;
	b = cap > BUF_SIZE ? buf_grow(&w->bufs, NULL, (uint32_t)cap) : buf_get(&w->bufs);
	if (!b)
		return NULL;
	n = cache_revalidation_request(buf_head(rq), &refresh_scratch, o->etag, o->last_modified, buf_tail(b),
				       buf_room(b));
	if (n < 0) {
		buf_put(&w->bufs, b);
		return NULL;
	}
	b->end += (uint32_t)n;
	return b;
}

/* The refresh's exchange: the request c made, as fulcrum's own GET. */
static int refresh_exchange(struct client *rc, struct client *c, struct buf *head)
{
	const struct exchange *of = c->ex;
	struct exchange *x = exchange_begin(rc);

	if (!x)
		return -1;
	x->pool = of->pool;
	x->route_cfg = of->route_cfg;
	x->share = of->share;
	memcpy(x->route, of->route, sizeof(x->route));
	memcpy(x->request_id, of->request_id, sizeof(x->request_id));
	memcpy(x->target, of->target, sizeof(x->target));
	x->compress_cfg = of->compress_cfg;
	x->compress_enc = of->compress_enc;
	x->method = HTTP_M_GET;
	x->req_body = HTTP_BODY_NONE;
	x->req_framed = 1;
	x->req_head = head;
	rc->in_request = 1;
	rc->version_minor = 1;
	rc->keep_alive = 0;
	return 0;
}

int cache_refresh_start(struct client *c, struct cache_obj *o)
{
	struct worker *w = c->w;
	struct refresh_sink *sink;
	struct client *rc;
	struct buf *head;
	int sv[2];

	if (!(head = refresh_head(c, o)))
		return -1;
	if (!(sink = malloc(sizeof(*sink)))) {
		buf_put(&w->bufs, head);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1) {
		free(sink);
		buf_put(&w->bufs, head);
		return -1;
	}
	if (!(rc = client_new_internal(w, c, sv[0]))) {
		close(sv[0]);
		close(sv[1]);
		free(sink);
		buf_put(&w->bufs, head);
		return -1;
	}
	sink->fd = sv[1];
	ev_io_init(&sink->io, on_sink, sv[1], EV_READ);
	sink->io.data = sink;
	ev_io_start(w->loop, &sink->io);
	/* from here rc's close (sv[0]) ends the sink too */
	if (refresh_exchange(rc, c, head) == -1) {
		buf_put(&w->bufs, head);
		client_close(rc, TERM_INTERNAL);
		return -1;
	}
	if (http_cache_refresh_adopt(rc, c, o) == -1) {
		client_close(rc, TERM_INTERNAL);
		return -1;
	}
	http_cache_refresh_go(rc);
	return 0;
}
