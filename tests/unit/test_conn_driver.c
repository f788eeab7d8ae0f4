/* test_conn_driver.c: the hand-over of a ready backend connection between the backend
 * producer (lb/backend_producer.c) and the connection core's driver (lb/client.c). A
 * connection taken from the idle pool is not handed to the protocol by the producer,
 * which calls nothing above it; it goes on the worker's ready list, and the driver tells
 * the protocol once (client_run_ready), only while the connection is still the client's.
 * Below them are fakes: upstream_attach hands out a connected upstream, client_update
 * counts, and the protocol records its upstream_ready calls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ev.h>
#include <string.h>

#include "backend_producer.h"
#include "conn.h"
#include "worker.h"

static struct upstream *attach_gives;   /* what the fake upstream_attach attaches */
static int updates;                     /* client_update calls */
static struct client *ready_calls[8];   /* the protocol's upstream_ready calls, in order */
static int nready;

int __wrap_upstream_attach(struct client *c, upstream_io_fn on_io);
int __wrap_upstream_attach(struct client *c, upstream_io_fn on_io)
{
	(void)on_io;
	c->up = attach_gives;
	attach_gives->client = c;
	return 0;
}

void __wrap_client_update(struct client *c);
void __wrap_client_update(struct client *c)
{
	(void)c;
	updates++;
}

static void fake_upstream_ready(struct client *c)
{
	if (nready < 8)
		ready_calls[nready] = c;
	nready++;
}

static const struct conn_proto fake_proto = {
	.name = "fake",
	.upstream_ready = fake_upstream_ready,
};

static struct worker w;
static struct exchange xa, xb;
static struct client a, b;
static struct upstream idle_one, idle_two;

static int setup(void **state)
{
	(void)state;
	memset(&w, 0, sizeof(w));
	w.loop = ev_default_loop(0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&xa, 0, sizeof(xa));
	memset(&xb, 0, sizeof(xb));
	a.w = b.w = &w;
	a.proto = b.proto = &fake_proto;
	a.ex = &xa;
	b.ex = &xb;
	a.state = b.state = CS_QUEUED;
	memset(&idle_one, 0, sizeof(idle_one));
	memset(&idle_two, 0, sizeof(idle_two));
	idle_one.connected = idle_two.connected = 1;
	idle_one.w = idle_two.w = &w;
	attach_gives = &idle_one;
	updates = nready = 0;
	return 0;
}

/* The producer tells nobody above it; the driver tells the protocol once, then re-arms. */
static void test_idle_connection_waits_for_the_driver(void **state)
{
	(void)state;
	client_dispatch(&a);
	assert_int_equal(nready, 0);
	assert_ptr_equal(w.ready, &idle_one);
	assert_ptr_equal(a.up, &idle_one);

	client_run_ready(&w);
	assert_int_equal(nready, 1);
	assert_ptr_equal(ready_calls[0], &a);
	assert_int_equal(updates, 1);
	assert_null(w.ready);
	assert_int_equal(idle_one.ready, 0);

	client_run_ready(&w);  /* nothing left: no second start of the same request */
	assert_int_equal(nready, 1);
}

/* Dispatched twice to the same connection before the driver ran (a replay): listed once,
 * told once. */
static void test_listed_once(void **state)
{
	(void)state;
	client_dispatch(&a);
	client_dispatch(&a);
	assert_ptr_equal(w.ready, &idle_one);
	assert_null(idle_one.ready_next);
	client_run_ready(&w);
	assert_int_equal(nready, 1);
}

/* A client that closed, or whose connection is no longer the one found ready (it failed
 * over, or a new connection is still connecting), is not told. */
static void test_stale_entries_are_dropped(void **state)
{
	(void)state;
	client_dispatch(&a);
	a.state = CS_CLOSED;
	attach_gives = &idle_two;
	client_dispatch(&b);
	b.up = NULL;  /* let go of before the driver ran */
	client_run_ready(&w);
	assert_int_equal(nready, 0);
	assert_int_equal(updates, 0);
	assert_null(w.ready);
	assert_int_equal(idle_one.ready + idle_two.ready, 0);
}

/* A connection let go by one client and taken by another before the driver ran is told to
 * the one that holds it now. */
static void test_told_to_its_holder(void **state)
{
	(void)state;
	client_dispatch(&a);
	a.up = NULL;
	client_dispatch(&b);  /* the same idle connection, now b's */
	client_run_ready(&w);
	assert_int_equal(nready, 1);
	assert_ptr_equal(ready_calls[0], &b);
}

/* Two clients ready in one pass: both told, each once. */
static void test_two_clients(void **state)
{
	(void)state;
	client_dispatch(&a);
	attach_gives = &idle_two;
	client_dispatch(&b);
	client_run_ready(&w);
	assert_int_equal(nready, 2);
	assert_true((ready_calls[0] == &a && ready_calls[1] == &b) ||
		    (ready_calls[0] == &b && ready_calls[1] == &a));
	assert_int_equal(updates, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_idle_connection_waits_for_the_driver, setup),
		cmocka_unit_test_setup(test_listed_once, setup),
		cmocka_unit_test_setup(test_stale_entries_are_dropped, setup),
		cmocka_unit_test_setup(test_told_to_its_holder, setup),
		cmocka_unit_test_setup(test_two_clients, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
