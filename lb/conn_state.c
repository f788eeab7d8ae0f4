/* conn_state.c: what a connection's state asks of the event loop: the socket events
 * each side wants and the moment the state times out. Pure functions of the client,
 * its exchange and its buffers (no sockets, no clock): lb/conn_arm.c arms the watchers and
 * the timer from them after every callback, and tests/unit/test_conn_state.c checks them
 * state by state. */
#include "conn.h"
#include "conn_state.h"
#include "h2_conn.h"

int conn_state_owes_body(const struct exchange *x)
{
	return x->req_head_sent && !x->req_framed && x->req_ready == 0;
}

int conn_state_client_events(const struct client *c)
{
	int ev = 0;

	switch (c->state) {
	case CS_PROXY_HEADER:
	case CS_READING_HEAD:
		ev = EV_READ;
		break;
	case CS_TLS_HANDSHAKE:
		return c->tls.hsdir;  /* what OpenSSL waits on, used as is */
	case CS_READING_BODY:
		/* request buffering drains the buffer into the store at every read */
		ev = EV_READ;
		break;
	case CS_CONNECTING:
	case CS_STREAMING:
		/* read body bytes only while the request is unfinished and there is room */
		if (!c->ex->req_framed && !c->in_eof && c->ex->req_body != HTTP_BODY_NONE &&
		    (!c->in || buf_room(c->in) > 0))
			ev = EV_READ;
		break;
	case CS_LINGERING:
		return EV_READ;
	case CS_H2:
		/* frames are read as they come (the session bounds what they may cost);
		 * frames to send wait in out (below) */
		if (!c->in_eof)
			ev = EV_READ;
		if (c->is_h2 && ((const struct h2_conn_view *)c->ext)->frames_pending)
			ev |= EV_WRITE;
		break;
	case CS_QUEUED:
		/* an HTTP client that leaves while its request waits is noticed at once, so its
		 * request never takes a backend worker (lb/http_proxy.c, queued_client_data); a
		 * tcp connection's first bytes wait for its backend */
		if (c->gl->cfg->mode == LISTENER_HTTP && !c->in_eof && (!c->in || buf_room(c->in) > 0))
			ev = EV_READ;
		break;
	case CS_TUNNEL:
		if (!c->in_eof && (!c->in || buf_room(c->in) > 0))
			ev = EV_READ;
		if (c->up && c->up->in && buf_len(c->up->in) > 0)
			ev |= EV_WRITE;
		break;
	default:
		break;
	}
	if (c->out && buf_len(c->out) > 0)
		ev |= EV_WRITE;
	if (c->state == CS_STREAMING &&
	    (c->ex->resp_ready > 0 || (c->ex->resp_buffered && body_kept(&c->ex->resp_store) > 0) ||
	     (c->ex->file_left > 0 && !c->ex->cache_wait_fill)))
		ev |= EV_WRITE;
	return ev;
}

int conn_state_upstream_events(const struct upstream *u)
{
	const struct client *c = u->client;
	int ev = 0;

	if (!c) {
		ev = EV_READ;  /* idle: notice the backend closing */
	} else if (!u->connected) {
		ev = EV_WRITE;
	} else if (c->state == CS_TUNNEL) {
		if (!u->eof && (!u->in || buf_room(u->in) > 0))
			ev |= EV_READ;
		if (c->in && buf_len(c->in) > 0 && !c->up_shut)
			ev |= EV_WRITE;
		if (u->out && buf_len(u->out) > 0)
			ev |= EV_WRITE;
	} else if (c->state == CS_STREAMING) {
		if ((u->out && buf_len(u->out) > 0) || (c->ex->req_head && !c->ex->req_head_sent) ||
		    c->ex->req_ready > 0 ||
		    (c->ex->req_buffered && c->ex->req_body_sent < c->ex->req_store.end))
			ev |= EV_WRITE;
		/* keep reading: early responses and EOF matter, unless the client is slow */
		if (!c->ex->resp_done && !u->eof && (!u->in || buf_room(u->in) > 0))
			ev |= EV_READ;
	}
	return ev;
}

double conn_state_deadline(const struct client *c, enum termination *why)
{
	const struct cfg_listener *l = c->gl->cfg;
	const struct exchange *x = c->ex;  /* present in every state that reads it */
	const struct cfg_pool *p;

	switch (c->state) {
	case CS_PROXY_HEADER:
		*why = TERM_HEAD_TIMEOUT;
		return c->head_started + l->head_timeout_ms / 1e3;
	case CS_TLS_HANDSHAKE:
		*why = TERM_TLS_TIMEOUT;
		return c->head_started + (l->tls ? l->tls->handshake_timeout_ms : 10000) / 1e3;
	case CS_READING_HEAD:
		/* between requests the idle timeout applies; a new connection that has sent
		 * nothing yet gets only the head timeout, or empty connections are cheap to hoard */
		if (!c->in_request && (!c->in || buf_len(c->in) == 0) && c->answered) {
			*why = TERM_CLIENT_IDLE;
			return c->last_activity + l->idle_timeout_ms / 1e3;
		}
		if (!c->in_request && (!c->in || buf_len(c->in) == 0)) {
			*why = TERM_CLIENT_IDLE;  /* closed without a 408: nothing was asked */
			return c->head_started + l->head_timeout_ms / 1e3;
		}
		*why = TERM_HEAD_TIMEOUT;
		return c->head_started + l->head_timeout_ms / 1e3;
	case CS_READING_BODY:
		/* as nginx's client_body_timeout: the time between two reads, then 408 */
		*why = TERM_CLIENT_BODY_TIMEOUT;
		return c->last_activity + l->idle_timeout_ms / 1e3;
	case CS_QUEUED:
		p = x->pool ? x->pool->cfg : NULL;
		*why = TERM_QUEUE_TIMEOUT;
		if (x->route_cfg && x->route_cfg->queue_timeout_ms)
			return x->waiter.enqueued_at + x->route_cfg->queue_timeout_ms / 1e3;
		return x->waiter.enqueued_at + (p ? p->queue_timeout_ms : 5000) / 1e3;
	case CS_CONNECTING:
		p = x->pool ? x->pool->cfg : NULL;
		*why = TERM_CONNECT_TIMEOUT;
		return x->t_connect_start + (p ? p->connect_timeout_ms : 3000) / 1e3;
	case CS_STREAMING:
		p = x->pool ? x->pool->cfg : NULL;
		if (!x->resp_head_done && x->t_first_byte == 0) {
			/* the backend cannot answer a request it has not got: while the client
			 * owes body bytes the silence is the client's */
			*why = conn_state_owes_body(x) ? TERM_CLIENT_BODY_TIMEOUT : TERM_RESPONSE_TIMEOUT;
			if (x->route_cfg && x->route_cfg->response_timeout_ms)
				return c->last_activity + x->route_cfg->response_timeout_ms / 1e3;
			return c->last_activity + (p ? p->response_timeout_ms : 60000) / 1e3;
		}
		*why = TERM_STREAM_IDLE;
		return c->last_activity + l->idle_timeout_ms / 1e3;
	case CS_TUNNEL:
		*why = TERM_CLIENT_IDLE;
		return c->last_activity + l->idle_timeout_ms / 1e3;
	case CS_H2:
		/* idle only with no stream open: each stream's own timeouts bound it */
		*why = TERM_CLIENT_IDLE;
		return c->last_activity +
		       (c->is_h2 && ((const struct h2_conn_view *)c->ext)->streams_open ? 1e9 : l->idle_timeout_ms / 1e3);
	case CS_CLOSING:
		*why = TERM_CLIENT_CLOSED;
		return c->last_activity + 5.0;
	case CS_LINGERING:
		/* from the start of the linger, not extended by what the client sends */
		*why = TERM_CLIENT_CLOSED;
		return c->last_activity + LINGER_S;
	default:
		*why = TERM_NONE;
		return 0;
	}
}
