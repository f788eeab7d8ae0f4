/* detached_exchange.c: owns exchanges fulcrum runs with no client behind them (include/
 * detached_exchange.h): today a pool cache's background refresh (lb/http_cache.c).
 *
 * A detached exchange is an internal connection (client_new_internal) whose socket is
 * one end of a socketpair, carrying a request head fulcrum wrote. Everything between the
 * request and the response is the data path every request takes, unchanged: the pool's
 * queue and max_conns, the pick, retries, timeouts, the idle backend connections,
 * response parsing and buffering, compression, the access-log line. What it answers goes
 * to the other end of the pair, read and dropped here (the sink). Why not a separate
 * HTTP client: a refresh takes a gunicorn worker like any request, so it must wait its
 * turn in the same queue and count against the same limits. Why a socketpair rather
 * than the in-memory transport HTTP/2 streams use (lb/mem_pipe.c): nothing reads these
 * answers, and a refresh is rare (once per stale entry). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "conn_close.h"
#include "detached_exchange.h"
#include "worker.h"

/* What a detached exchange answers is read off this end and dropped, until the exchange
 * closes its end (EOF) or the loop ends with it. */
struct detached_sink {
	ev_io io;
	int fd;
};

static void on_sink(struct ev_loop *loop, ev_io *io, int revents)
{
	struct detached_sink *s = io->data;
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
		break;  /* EOF (the exchange is over) or an error: done */
	}
	if (i == 64)
		return;  /* more on the next turn */
	ev_io_stop(loop, &s->io);
	close(s->fd);
	free(s);
}

/* The exchange: like's request, as fulcrum's own GET with head. */
static int detached_request(struct client *rc, const struct client *like, struct buf *head)
{
	const struct exchange *of = like->ex;
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

struct client *detached_exchange_new(struct client *like, struct buf *head)
{
	struct worker *w = like->w;
	struct detached_sink *sink;
	struct client *rc;
	int sv[2];

	if (!(sink = malloc(sizeof(*sink))))
		return NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1) {
		free(sink);
		return NULL;
	}
	if (!(rc = client_new_internal(w, like, sv[0]))) {
		close(sv[0]);
		close(sv[1]);
		free(sink);
		return NULL;
	}
	sink->fd = sv[1];
	ev_io_init(&sink->io, on_sink, sv[1], EV_READ);
	sink->io.data = sink;
	ev_io_start(w->loop, &sink->io);
	/* from here rc's close (sv[0]) ends the sink too */
	if (detached_request(rc, like, head) == -1) {
		client_close(rc, TERM_INTERNAL);
		return NULL;
	}
	return rc;
}
