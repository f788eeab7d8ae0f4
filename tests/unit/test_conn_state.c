/* test_conn_state.c: unit tests of lb/conn_state.c, the connection state machine's
 * demands on the event loop: for each state of a client connection (and of its backend
 * connection), which socket events it waits for and when it times out, and how the
 * timeout is named. The objects below it are fakes: a client, its exchange, listener
 * and pool configs and buffers built here, no socket, no loop, no clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "conn_state.h"

struct fake {
	struct cfg_listener lcfg;
	struct cfg_tls tcfg;
	struct cfg_pool pcfg;
	struct pool pool;
	struct gen_listener gl;
	struct exchange x;
	struct upstream up;
	struct client c;
	struct buf *bufs[4];
	int nbufs;
};

static struct fake *fake_new(enum client_state st)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->lcfg.head_timeout_ms = 10000;
	f->lcfg.idle_timeout_ms = 60000;
	f->tcfg.handshake_timeout_ms = 7000;
	f->pcfg.connect_timeout_ms = 3000;
	f->pcfg.response_timeout_ms = 20000;
	f->pcfg.queue_timeout_ms = 4000;
	f->pool.cfg = &f->pcfg;
	f->gl.cfg = &f->lcfg;
	f->gl.pool = &f->pool;
	f->x.pool = &f->pool;
	f->x.client = &f->c;
	f->c.gl = &f->gl;
	f->c.ex = &f->x;
	f->c.state = st;
	f->c.head_started = 100.0;
	f->c.last_activity = 200.0;
	return f;
}

/* A buffer of cap bytes holding len of them. */
static struct buf *fake_buf(struct fake *f, uint32_t cap, uint32_t len)
{
	struct buf *b = calloc(1, sizeof(*b) + cap);

	assert_non_null(b);
	assert_true(f->nbufs < 4);
	b->cap = cap;
	b->end = len;
	f->bufs[f->nbufs++] = b;
	return b;
}

static void fake_free(struct fake *f)
{
	int i;

	for (i = 0; i < f->nbufs; i++)
		free(f->bufs[i]);
	free(f);
}

/* The backend connection, connected, attached to the fake's client. */
static struct upstream *fake_up(struct fake *f)
{
	f->up.client = &f->c;
	f->up.connected = 1;
	f->c.up = &f->up;
	return &f->up;
}

/* ---- client socket events ---- */

static void test_events_waiting_for_a_head(void **state)
{
	struct fake *f = fake_new(CS_READING_HEAD);

	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	f->c.state = CS_PROXY_HEADER;
	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	/* an error answer (or a pipelined response) still going out */
	f->c.out = fake_buf(f, 64, 10);
	assert_int_equal(conn_state_client_events(&f->c), EV_READ | EV_WRITE);
	fake_free(f);
}

static void test_events_tls_handshake_follows_openssl(void **state)
{
	struct fake *f = fake_new(CS_TLS_HANDSHAKE);

	f->c.tls.hsdir = EV_WRITE;
	assert_int_equal(conn_state_client_events(&f->c), EV_WRITE);
	f->c.tls.hsdir = EV_READ;
	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	fake_free(f);
}

static void test_events_streaming_reads_body_only_with_room(void **state)
{
	struct fake *f = fake_new(CS_STREAMING);

	f->x.req_body = HTTP_BODY_LENGTH;
	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	f->c.in = fake_buf(f, 16, 16);  /* full: the backend must take some first */
	assert_int_equal(conn_state_client_events(&f->c), 0);
	f->c.in->start = 4;             /* consumed is not room: room is at the tail */
	assert_int_equal(conn_state_client_events(&f->c), 0);
	f->c.in->end = 12;
	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	f->x.req_framed = 1;            /* the whole body is in: nothing more to read */
	assert_int_equal(conn_state_client_events(&f->c), 0);
	f->x.resp_ready = 100;          /* response bytes to pass on */
	assert_int_equal(conn_state_client_events(&f->c), EV_WRITE);
	f->c.state = CS_CONNECTING;     /* resp_ready counts only while streaming */
	assert_int_equal(conn_state_client_events(&f->c), 0);
	fake_free(f);
}

static void test_events_streaming_without_body_or_after_eof(void **state)
{
	struct fake *f = fake_new(CS_STREAMING);

	f->x.req_body = HTTP_BODY_NONE;
	assert_int_equal(conn_state_client_events(&f->c), 0);
	f->x.req_body = HTTP_BODY_CHUNKED;
	f->c.in_eof = 1;
	assert_int_equal(conn_state_client_events(&f->c), 0);
	fake_free(f);
}

static void test_events_tunnel_both_ways(void **state)
{
	struct fake *f = fake_new(CS_TUNNEL);
	struct upstream *u = fake_up(f);

	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	u->in = fake_buf(f, 64, 5);     /* backend bytes for the client */
	assert_int_equal(conn_state_client_events(&f->c), EV_READ | EV_WRITE);
	f->c.in_eof = 1;
	assert_int_equal(conn_state_client_events(&f->c), EV_WRITE);
	fake_free(f);
}

static void test_events_lingering_and_closed(void **state)
{
	struct fake *f = fake_new(CS_LINGERING);

	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	f->c.state = CS_CLOSED;
	assert_int_equal(conn_state_client_events(&f->c), 0);
	fake_free(f);
}

static void test_events_queued_watches_an_http_client_leaving(void **state)
{
	struct fake *f = fake_new(CS_QUEUED);

	/* http: a client that closes while queued is noticed (its request is abandoned) */
	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	f->c.in = fake_buf(f, 16, 16);  /* no room: nothing more can be read until sent */
	assert_int_equal(conn_state_client_events(&f->c), 0);
	f->c.in->end = 4;
	f->c.in_eof = 1;                /* half-closed after pipelined requests: served */
	assert_int_equal(conn_state_client_events(&f->c), 0);
	/* tcp: the first bytes wait for the backend */
	f->c.in_eof = 0;
	f->lcfg.mode = LISTENER_TCP;
	assert_int_equal(conn_state_client_events(&f->c), 0);
	fake_free(f);
}

/* ---- backend connection events ---- */

static void test_upstream_events_idle_and_connecting(void **state)
{
	struct fake *f = fake_new(CS_CONNECTING);
	struct upstream *u = fake_up(f);

	u->connected = 0;
	assert_int_equal(conn_state_upstream_events(u), EV_WRITE);
	u->client = NULL;               /* idle: only the backend closing matters */
	u->connected = 1;
	assert_int_equal(conn_state_upstream_events(u), EV_READ);
	fake_free(f);
}

static void test_upstream_events_streaming(void **state)
{
	struct fake *f = fake_new(CS_STREAMING);
	struct upstream *u = fake_up(f);

	f->x.req_head = fake_buf(f, 64, 40);
	assert_int_equal(conn_state_upstream_events(u), EV_READ | EV_WRITE);
	f->x.req_head_sent = 1;
	assert_int_equal(conn_state_upstream_events(u), EV_READ);
	f->x.req_ready = 10;            /* body bytes framed and ready for the backend */
	assert_int_equal(conn_state_upstream_events(u), EV_READ | EV_WRITE);
	f->x.req_ready = 0;
	u->in = fake_buf(f, 32, 32);    /* the client is slow: stop reading the backend */
	assert_int_equal(conn_state_upstream_events(u), 0);
	u->in->end = 8;
	f->x.resp_done = 1;             /* whole response read: nothing more expected */
	assert_int_equal(conn_state_upstream_events(u), 0);
	fake_free(f);
}

static void test_upstream_events_tunnel(void **state)
{
	struct fake *f = fake_new(CS_TUNNEL);
	struct upstream *u = fake_up(f);

	assert_int_equal(conn_state_upstream_events(u), EV_READ);
	f->c.in = fake_buf(f, 64, 3);   /* client bytes for the backend */
	assert_int_equal(conn_state_upstream_events(u), EV_READ | EV_WRITE);
	f->c.up_shut = 1;               /* FIN already carried over: nothing more to write */
	u->eof = 1;
	assert_int_equal(conn_state_upstream_events(u), 0);
	fake_free(f);
}

/* ---- deadlines ---- */

static void test_deadline_head_states(void **state)
{
	struct fake *f = fake_new(CS_PROXY_HEADER);
	enum termination why;

	assert_true(conn_state_deadline(&f->c, &why) == 110.0);
	assert_int_equal(why, TERM_HEAD_TIMEOUT);

	/* a new connection that sent nothing: closed at the head timeout, without a 408 */
	f->c.state = CS_READING_HEAD;
	assert_true(conn_state_deadline(&f->c, &why) == 110.0);
	assert_int_equal(why, TERM_CLIENT_IDLE);
	/* between requests of a keep-alive connection: the idle timeout */
	f->c.answered = 1;
	assert_true(conn_state_deadline(&f->c, &why) == 260.0);
	assert_int_equal(why, TERM_CLIENT_IDLE);
	/* part of a head arrived: the head timeout from its first byte (408) */
	f->c.in = fake_buf(f, 64, 5);
	assert_true(conn_state_deadline(&f->c, &why) == 110.0);
	assert_int_equal(why, TERM_HEAD_TIMEOUT);
	fake_free(f);
}

static void test_deadline_tls_handshake(void **state)
{
	struct fake *f = fake_new(CS_TLS_HANDSHAKE);
	enum termination why;

	assert_true(conn_state_deadline(&f->c, &why) == 110.0);  /* no TLS section: 10 s */
	f->lcfg.tls = &f->tcfg;
	assert_true(conn_state_deadline(&f->c, &why) == 107.0);
	assert_int_equal(why, TERM_TLS_TIMEOUT);
	fake_free(f);
}

static void test_deadline_queue_and_connect(void **state)
{
	struct fake *f = fake_new(CS_QUEUED);
	enum termination why;

	f->x.waiter.enqueued_at = 300.0;
	assert_true(conn_state_deadline(&f->c, &why) == 304.0);
	assert_int_equal(why, TERM_QUEUE_TIMEOUT);
	f->x.pool = NULL;               /* no pool (yet): the default 5 s */
	assert_true(conn_state_deadline(&f->c, &why) == 305.0);

	f->x.pool = &f->pool;
	f->c.state = CS_CONNECTING;
	f->x.t_connect_start = 400.0;
	assert_true(conn_state_deadline(&f->c, &why) == 403.0);
	assert_int_equal(why, TERM_CONNECT_TIMEOUT);
	fake_free(f);
}

static void test_deadline_streaming_blames_the_right_side(void **state)
{
	struct fake *f = fake_new(CS_STREAMING);
	enum termination why;

	/* request sent, no answer yet: the backend's response timeout */
	f->x.req_head_sent = 1;
	f->x.req_framed = 1;
	assert_true(conn_state_deadline(&f->c, &why) == 220.0);
	assert_int_equal(why, TERM_RESPONSE_TIMEOUT);
	assert_int_equal(conn_state_owes_body(&f->x), 0);
	/* the client still owes body bytes and none wait to be sent: the silence is the
	 * client's */
	f->x.req_framed = 0;
	assert_int_equal(conn_state_owes_body(&f->x), 1);
	assert_true(conn_state_deadline(&f->c, &why) == 220.0);
	assert_int_equal(why, TERM_CLIENT_BODY_TIMEOUT);
	/* body bytes wait for the backend: the backend is the one not reading */
	f->x.req_ready = 5;
	assert_int_equal(conn_state_owes_body(&f->x), 0);
	conn_state_deadline(&f->c, &why);
	assert_int_equal(why, TERM_RESPONSE_TIMEOUT);
	/* the response has begun: the idle timeout between bytes */
	f->x.t_first_byte = 230.0;
	assert_true(conn_state_deadline(&f->c, &why) == 260.0);
	assert_int_equal(why, TERM_STREAM_IDLE);
	fake_free(f);
}

static void test_deadline_tunnel_closing_lingering(void **state)
{
	struct fake *f = fake_new(CS_TUNNEL);
	enum termination why;

	assert_true(conn_state_deadline(&f->c, &why) == 260.0);
	assert_int_equal(why, TERM_CLIENT_IDLE);
	f->c.state = CS_CLOSING;
	assert_true(conn_state_deadline(&f->c, &why) == 205.0);
	assert_int_equal(why, TERM_CLIENT_CLOSED);
	f->c.state = CS_LINGERING;
	assert_true(conn_state_deadline(&f->c, &why) == 200.0 + LINGER_S);
	assert_int_equal(why, TERM_CLIENT_CLOSED);
	f->c.state = CS_CLOSED;
	assert_true(conn_state_deadline(&f->c, &why) == 0);
	assert_int_equal(why, TERM_NONE);
	fake_free(f);
}

/* ---- buffering (lb/buffering.c, lb/http_proxy.c) ---- */

/* A request body being read whole before any backend: read, write only a 100 Continue,
 * and the client's silence between reads ends in a 408 (client_body_timeout). */
static void test_reading_body_reads_and_times_out_on_the_client(void **state)
{
	struct fake *f = fake_new(CS_READING_BODY);
	enum termination why;

	f->x.req_body = HTTP_BODY_CHUNKED;
	f->x.req_buffered = 1;
	assert_int_equal(conn_state_client_events(&f->c), EV_READ);
	f->c.out = fake_buf(f, 64, 25);  /* "HTTP/1.1 100 Continue" on its way */
	assert_int_equal(conn_state_client_events(&f->c), EV_READ | EV_WRITE);
	assert_true(conn_state_deadline(&f->c, &why) == 200.0 + 60.0);
	assert_int_equal(why, TERM_CLIENT_BODY_TIMEOUT);
	fake_free(f);
}

/* A buffered body goes to the backend from the store: the backend socket is wanted for
 * writing while the store has bytes this attempt has not sent. */
static void test_upstream_writes_a_buffered_body_from_its_store(void **state)
{
	struct fake *f = fake_new(CS_STREAMING);
	struct upstream *u = fake_up(f);

	f->x.req_buffered = 1;
	f->x.req_framed = 1;
	f->x.req_head_sent = 1;
	f->x.req_store.end = 1000;
	f->x.req_body_sent = 400;
	assert_int_equal(conn_state_upstream_events(u) & EV_WRITE, EV_WRITE);
	f->x.req_body_sent = 1000;
	assert_int_equal(conn_state_upstream_events(u) & EV_WRITE, 0);
	fake_free(f);
}

/* A buffered response the client has not taken wants the client socket writable, also
 * once the backend was let go (no upstream), and the silence is stream_idle's. */
static void test_streaming_from_the_response_store(void **state)
{
	struct fake *f = fake_new(CS_STREAMING);
	enum termination why;

	f->x.req_framed = 1;
	f->x.resp_head_done = 1;
	f->x.resp_done = 1;
	f->x.resp_buffered = 1;
	f->x.released = 1;
	f->x.t_first_byte = 150.0;
	f->x.resp_store.start = 100;
	f->x.resp_store.end = 5000;
	assert_int_equal(conn_state_client_events(&f->c), EV_WRITE);
	assert_true(conn_state_deadline(&f->c, &why) == 200.0 + 60.0);
	assert_int_equal(why, TERM_STREAM_IDLE);
	f->x.resp_store.start = 5000;    /* all taken */
	assert_int_equal(conn_state_client_events(&f->c), 0);
	fake_free(f);
}

/* A static route's answer: no backend, the body from a file as the client takes it
 * (lb/static_files.c); idle_timeout_ms while it does not. */
static void test_streaming_a_static_file(void **state)
{
	struct fake *f = fake_new(CS_STREAMING);
	enum termination why;

	f->x.pool = NULL;
	f->x.req_framed = f->x.req_done = 1;
	f->x.resp_head_done = f->x.resp_done = 1;
	f->x.file_fd = 7;
	f->x.file_left = 1 << 20;
	assert_int_equal(conn_state_client_events(&f->c), EV_WRITE);
	assert_true(conn_state_deadline(&f->c, &why) == 200.0 + 60.0);
	assert_int_equal(why, TERM_STREAM_IDLE);
	f->x.file_left = 0;              /* all sent */
	assert_int_equal(conn_state_client_events(&f->c), 0);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_waiting_for_a_head),
		cmocka_unit_test(test_events_tls_handshake_follows_openssl),
		cmocka_unit_test(test_events_streaming_reads_body_only_with_room),
		cmocka_unit_test(test_events_streaming_without_body_or_after_eof),
		cmocka_unit_test(test_events_tunnel_both_ways),
		cmocka_unit_test(test_events_lingering_and_closed),
		cmocka_unit_test(test_events_queued_watches_an_http_client_leaving),
		cmocka_unit_test(test_upstream_events_idle_and_connecting),
		cmocka_unit_test(test_upstream_events_streaming),
		cmocka_unit_test(test_upstream_events_tunnel),
		cmocka_unit_test(test_deadline_head_states),
		cmocka_unit_test(test_deadline_tls_handshake),
		cmocka_unit_test(test_deadline_queue_and_connect),
		cmocka_unit_test(test_deadline_streaming_blames_the_right_side),
		cmocka_unit_test(test_deadline_tunnel_closing_lingering),
		cmocka_unit_test(test_reading_body_reads_and_times_out_on_the_client),
		cmocka_unit_test(test_upstream_writes_a_buffered_body_from_its_store),
		cmocka_unit_test(test_streaming_from_the_response_store),
		cmocka_unit_test(test_streaming_a_static_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
