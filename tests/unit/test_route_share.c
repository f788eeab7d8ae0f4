/* test_route_share.c: unit tests of a route's share of its pool (core/route_share.c,
 * route keys max_share and adaptive_limit): the share arithmetic, the pool's capacity,
 * the bounded take, the learned per-route limit under its share, the queue's pass over
 * waiters whose route is at its share (walked with pool_queue_next), the config checks, and the
 * generation's wiring of shares to routes across a reload. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balance.h"
#include "config.h"
#include "generation.h"
#include "route_share.h"
#include "stats.h"
#include "backend_fixture.h"

#define NB 4

struct fixture {
	struct pool pool;
	struct backend *b[NB];
};

/* A pool of n backends with these max_conns (0 = unlimited), all in rotation. */
static struct fixture *fixture_new(const unsigned *max_conns, size_t n)
{
	struct fixture *f = calloc(1, sizeof(*f));
	size_t i;

	assert_non_null(f);
	f->pool.name = "p";
	f->pool.backends = f->b;
	f->pool.nbackends = n;
	atomic_init(&f->pool.rr_next, 0);
	atomic_init(&f->pool.waiting, 0);
	for (i = 0; i < n; i++)
		f->b[i] = fixture_backend(i, max_conns[i]);
	return f;
}

static void fixture_free(struct fixture *f)
{
	size_t i;

	for (i = 0; i < f->pool.nbackends; i++)
		backend_unref(f->b[i]);
	free(f);
}

/* percent of the capacity, rounded up, at least 1; 0 percent or an unbounded pool: none. */
static void test_share_arithmetic(void **state)
{
	(void)state;
	assert_int_equal(route_share_of(25, 4), 1);
	assert_int_equal(route_share_of(25, 5), 2);     /* 1.25 rounds up */
	assert_int_equal(route_share_of(50, 8), 4);
	assert_int_equal(route_share_of(1, 4), 1);      /* never 0: the route is not shut out */
	assert_int_equal(route_share_of(100, 7), 7);
	assert_int_equal(route_share_of(33, 100000), 33000);
	assert_int_equal(route_share_of(0, 8), 0);
	assert_int_equal(route_share_of(50, 0), 0);
}

/* The capacity is the sum of the max_conns of the backends in rotation; one without a
 * limit makes the pool unbounded (0); a pool with none in rotation counts as 1. */
static void test_capacity(void **state)
{
	static const unsigned limited[] = { 4, 2, 3 }, open[] = { 4, 0 };
	struct fixture *f = fixture_new(limited, 3);

	(void)state;
	assert_int_equal(route_share_capacity(&f->pool), 9);
	atomic_store(&f->b[1]->admin, ADMIN_DRAINING);
	assert_int_equal(route_share_capacity(&f->pool), 7);
	atomic_store(&f->b[0]->health, HEALTH_DOWN);
	atomic_store(&f->b[2]->health, HEALTH_DOWN);
	assert_int_equal(route_share_capacity(&f->pool), 1);
	fixture_free(f);

	f = fixture_new(open, 2);
	assert_int_equal(route_share_capacity(&f->pool), 0);
	fixture_free(f);
}

/* A share of 25 % of 4 slots admits one request; the next is refused until the first
 * gives its place back; no share, no limit. */
static void test_take_bounded(void **state)
{
	static const unsigned four[] = { 4 };
	struct fixture *f = fixture_new(four, 1);
	struct route_share *s = route_share_get("web", "slow", "p");
	int i;

	(void)state;
	assert_non_null(s);
	assert_ptr_equal(route_share_get("web", "slow", "p"), s);  /* kept by name */
	assert_ptr_not_equal(route_share_get("web", "slow", "q"), s);
	route_share_configure(s, 25, 0);
	assert_int_equal(route_share_limit(s, &f->pool), 1);
	assert_true(route_share_try_take(s, &f->pool, 0));
	assert_false(route_share_try_take(s, &f->pool, 0));
	assert_int_equal(atomic_load(&s->inflight), 1);
	route_share_give_back(s);
	assert_true(route_share_try_take(s, &f->pool, 0));
	route_share_give_back(s);

	route_share_configure(s, 50, 0);
	assert_int_equal(route_share_limit(s, &f->pool), 2);
	assert_true(route_share_try_take(s, &f->pool, 0));
	assert_true(route_share_try_take(s, &f->pool, 0));
	assert_false(route_share_try_take(s, &f->pool, 0));
	route_share_give_back(s);
	route_share_give_back(s);

	route_share_configure(s, 0, 0);
	assert_int_equal(route_share_limit(s, &f->pool), 0);
	for (i = 0; i < 10; i++)
		assert_true(route_share_try_take(s, &f->pool, 0));
	for (i = 0; i < 10; i++)
		route_share_give_back(s);
	assert_int_equal(atomic_load(&s->inflight), 0);
	fixture_free(f);
}

/* Workers take freed places in turns: the one that frees a place does not hand it to
 * its own waiters while another worker has the turn and waiters of the route; a take
 * passes the turn on to the next worker with waiters; the last waiter of the worker
 * with the turn leaving says so (the others must be woken). Three workers (main). */
static void test_turns_between_workers(void **state)
{
	static const unsigned four[] = { 4 };
	struct fixture *f = fixture_new(four, 1);
	struct route_share *s = route_share_get("web", "turns", "p");

	(void)state;
	assert_int_equal(s->nworkers, 3);
	route_share_configure(s, 25, 0);            /* one place */
	assert_true(route_share_try_take(s, &f->pool, 0));
	assert_int_equal(route_share_queued(s, 1, 1), 0);  /* worker 1 and 0 queue one each */
	assert_int_equal(route_share_queued(s, 0, 1), 0);
	assert_false(route_share_try_take(s, &f->pool, 2));
	route_share_give_back(s);
	/* nobody waited when worker 0 took: the turn stayed with it */
	assert_true(route_share_try_take(s, &f->pool, 0));
	assert_int_equal(atomic_load(&s->turn), 1);
	assert_int_equal(route_share_queued(s, 0, -1), 0);  /* not worker 0's turn any more */
	route_share_give_back(s);
	/* worker 1's turn: neither 0 nor 2 takes the free place */
	assert_false(route_share_try_take(s, &f->pool, 0));
	assert_false(route_share_try_take(s, &f->pool, 2));
	assert_int_equal(atomic_load(&s->inflight), 0);
	assert_true(route_share_try_take(s, &f->pool, 1));
	/* worker 1's last waiter leaves while the turn is still its own: say so */
	assert_int_equal(route_share_queued(s, 1, -1), 1);
	route_share_give_back(s);
	assert_true(route_share_try_take(s, &f->pool, 2));  /* no one waits: anyone takes */
	route_share_give_back(s);
	/* a turn held by a worker whose waiters all left does not block the others */
	assert_int_equal(route_share_queued(s, 2, 1), 0);
	assert_true(route_share_try_take(s, &f->pool, 0));  /* turn passes to 2 */
	assert_int_equal(atomic_load(&s->turn), 2);
	assert_int_equal(route_share_queued(s, 2, -1), 1);
	route_share_give_back(s);
	assert_true(route_share_try_take(s, &f->pool, 0));
	route_share_give_back(s);
	fixture_free(f);
}

/* With adaptive_limit the route's limit is learned from its own latency (it starts at
 * 1 and grows while latency stays flat), never above its share; without max_share the
 * pool's capacity caps it. Samples feed it only when the key is on. */
static void test_adaptive_under_share(void **state)
{
	static const unsigned eight[] = { 8 };
	struct fixture *f = fixture_new(eight, 1);
	struct route_share *s = route_share_get("web", "learn", "p");
	unsigned i, got;

	(void)state;
	route_share_configure(s, 50, 1);
	assert_int_equal(route_share_limit(s, &f->pool), ADAPTIVE_LIMIT_START);
	/* saturated samples at a flat 10 ms: slow start doubles up to the share (4 of 8) */
	for (i = 0; i < 400; i++) {
		unsigned limit = route_share_limit(s, &f->pool);
		atomic_store(&s->inflight, limit);
		route_share_request_done(s, &f->pool, 0.010);
		assert_true(route_share_limit(s, &f->pool) <= 4);
	}
	assert_int_equal(route_share_limit(s, &f->pool), 4);

	/* no share: the pool's 8 slots cap it */
	route_share_configure(s, 0, 1);
	for (i = 0; i < 800; i++) {
		atomic_store(&s->inflight, route_share_limit(s, &f->pool));
		route_share_request_done(s, &f->pool, 0.010);
	}
	got = route_share_limit(s, &f->pool);
	assert_true(got > 4 && got <= 8);

	/* off: samples change nothing, and the share alone bounds */
	route_share_configure(s, 25, 0);
	for (i = 0; i < 100; i++)
		route_share_request_done(s, &f->pool, 5.0);
	assert_int_equal(adaptive_limit_get(&s->adaptive), got);
	assert_int_equal(route_share_limit(s, &f->pool), 2);
	atomic_store(&s->inflight, 0);
	fixture_free(f);
}

/* The queue's test: waiters whose "route" is full (their go flag is 0) keep their places
 * while a later one goes first; the first that may go is returned, in order. */
struct tagged {
	struct pool_waiter w;
	int go;
	int seen;
};

static int may_go(struct pool_waiter *w, void *arg)
{
	struct tagged *t = (struct tagged *)w;
	int *calls = arg;

	(*calls)++;
	t->seen++;
	return t->go;
}

/* The first waiter of q that may go, walking it oldest first as lb/queue.c does. */
static struct pool_waiter *first_going(const struct pool_queue *q, int *calls)
{
	struct pool_waiter *w;

	for (w = pool_queue_next(q, NULL); w; w = pool_queue_next(q, w))
		if (may_go(w, calls))
			return w;
	return NULL;
}

static void test_queue_passes_over_full_routes(void **state)
{
	struct pool p;
	struct pool_queue q;
	struct tagged t[5];
	int i, calls = 0;

	(void)state;
	memset(&p, 0, sizeof(p));
	atomic_init(&p.waiting, 0);
	pool_queue_init(&q, 16);
	assert_null(first_going(&q, &calls));
	assert_int_equal(calls, 0);
	for (i = 0; i < 5; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		pool_waiter_init(&t[i].w);
		assert_int_equal(pool_queue_push(&q, &p, &t[i].w), 0);
	}
	/* slow, slow, fast, slow, fast */
	t[2].go = t[4].go = 1;
	assert_ptr_equal(first_going(&q, &calls), &t[2].w);
	assert_int_equal(calls, 3);
	assert_int_equal(t[3].seen, 0);  /* nothing after the one that goes is asked */
	pool_queue_remove(&q, &p, &t[2].w);
	calls = 0;
	assert_ptr_equal(first_going(&q, &calls), &t[4].w);
	assert_int_equal(calls, 4);
	pool_queue_remove(&q, &p, &t[4].w);
	/* only full routes left: none goes, all keep their places in order */
	calls = 0;
	assert_null(first_going(&q, &calls));
	assert_int_equal(calls, 3);
	assert_int_equal(q.len, 3);
	assert_ptr_equal(pool_queue_pop(&q, &p), &t[0].w);
	assert_ptr_equal(pool_queue_pop(&q, &p), &t[1].w);
	assert_ptr_equal(pool_queue_pop(&q, &p), &t[3].w);
	assert_int_equal(atomic_load(&p.waiting), 0);
}

static int has_error(const struct config_errors *e, const char *key, int line, const char *words)
{
	size_t i;

	for (i = 0; i < e->count; i++)
		if (!strcmp(e->items[i].key, key) && e->items[i].line == line &&
		    strstr(e->items[i].message, words))
			return 1;
	return 0;
}

/* max_share and adaptive_limit belong to pool and split routes, and max_share is a
 * percent: both refused with their line otherwise. */
static void test_config_checks(void **state)
{
	const char *bad =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\"; pool = \"p\";\n"
		"  routes = ( { name = \"a\"; path = \"/a\"; respond = { status = 200; }; max_share = 10; },\n"
		"             { name = \"b\"; path = \"/b\"; redirect = { status = 301; }; adaptive_limit = true; },\n"
		"             { name = \"c\"; path = \"/c\"; pool = \"p\"; max_share = 101; } ); } );\n"
		"pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); } );\n";
	const char *ok =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\"; pool = \"p\";\n"
		"  routes = ( { name = \"a\"; path = \"/a\"; pool = \"p\"; max_share = 25; },\n"
		"             { name = \"b\"; path = \"/b\"; adaptive_limit = true;\n"
		"               split = ( { pool = \"p\"; weight = 1; }, { pool = \"q\"; weight = 1; } ); } ); } );\n"
		"pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); },\n"
		"          { name = \"q\"; backends = ( { name = \"b\"; address = \"127.0.0.1:4\"; } ); } );\n";
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(bad, "test.cfg", &errs);

	(void)state;
	assert_null(cfg);
	assert_true(has_error(&errs, "listeners.web.routes.a", 2, "pool and split routes only"));
	assert_true(has_error(&errs, "listeners.web.routes.b", 3, "pool and split routes only"));
	assert_true(has_error(&errs, "listeners.web.routes.c.max_share", 4, ""));
	config_errors_clear(&errs);
	memset(&errs, 0, sizeof(errs));
	cfg = config_load_string(ok, "test.cfg", &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->listeners[0].routes[0].max_share, 25);
	assert_false(cfg->listeners[0].routes[0].adaptive_limit);
	assert_int_equal(cfg->listeners[0].routes[1].max_share, 0);
	assert_true(cfg->listeners[0].routes[1].adaptive_limit);
	config_free(cfg);
	config_errors_clear(&errs);
}

static int reserve_port(int *fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*fd != -1);
	assert_int_equal(setsockopt(*fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static struct generation *build(int port, const char *routes, const struct generation *prev,
				uint64_t id)
{
	struct config_errors errs = { 0 };
	struct generation *g;
	struct config *cfg;
	char *text, err[256] = "";

	assert_true(asprintf(&text,
			     "listeners = ( { name = \"w\"; bind = \"127.0.0.1:%d\"; pool = \"p\";\n"
			     "  routes = ( %s ); } );\n"
			     "pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; max_conns = 4; } ); },\n"
			     "          { name = \"q\"; backends = ( { name = \"b\"; address = \"127.0.0.1:4\"; max_conns = 8; } ); } );\n",
			     port, routes) > 0);
	cfg = config_load_string(text, "test.cfg", &errs);
	if (!cfg) {
		config_errors_print(&errs, stderr);
		fail_msg("config does not load");
	}
	free(text);
	g = generation_build(cfg, prev, 1, id, err, sizeof(err));
	if (!g)
		fail_msg("generation_build: %s", err);
	return g;
}

/* A route with max_share or adaptive_limit gets one share per pool it sends to, found by
 * name: a reload keeps the same share (its in-flight count stays exact) with the new
 * settings; routes without either get none, and a listener with no such route has no
 * array at all (its requests touch no share). */
static void test_generation_wiring(void **state)
{
	struct generation *g1, *g2, *g3;
	struct route_share *slow;
	int fd, port = reserve_port(&fd);

	(void)state;
	g1 = build(port,
		   "{ name = \"slow\"; path_prefix = \"/slow\"; pool = \"p\"; max_share = 25; },"
		   "{ name = \"fast\"; path_prefix = \"/fast\"; pool = \"p\"; },"
		   "{ name = \"canary\"; path_prefix = \"/c\"; adaptive_limit = true;"
		   "  split = ( { pool = \"p\"; weight = 1; }, { pool = \"q\"; weight = 1; } ); }", NULL, 1);
	assert_non_null(g1->listeners[0].route_shares);
	slow = g1->listeners[0].route_shares[0][0];
	assert_non_null(slow);
	assert_ptr_equal(slow, route_share_get("w", "slow", "p"));
	assert_null(g1->listeners[0].route_shares[1]);
	assert_ptr_equal(g1->listeners[0].route_shares[2][0], route_share_get("w", "canary", "p"));
	assert_ptr_equal(g1->listeners[0].route_shares[2][1], route_share_get("w", "canary", "q"));
	assert_int_equal(route_share_limit(slow, g1->listeners[0].route_pools[0]), 1);
	assert_int_equal(atomic_load(&g1->listeners[0].route_shares[2][1]->adaptive_on), 1);
	assert_int_equal(atomic_load(&g1->listeners[0].route_shares[2][1]->percent), 0);
	atomic_store(&slow->inflight, 1);  /* a request in flight across the reload */

	g2 = build(port, "{ name = \"slow\"; path_prefix = \"/slow\"; pool = \"p\"; max_share = 50; }", g1, 2);
	assert_ptr_equal(g2->listeners[0].route_shares[0][0], slow);
	assert_int_equal(atomic_load(&slow->inflight), 1);
	assert_int_equal(route_share_limit(slow, g2->listeners[0].route_pools[0]), 2);
	atomic_store(&slow->inflight, 0);

	g3 = build(port, "{ name = \"slow\"; path_prefix = \"/slow\"; pool = \"p\"; }", g2, 3);
	assert_null(g3->listeners[0].route_shares);
	generation_unref(g1);
	generation_unref(g2);
	generation_unref(g3);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_arithmetic),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_take_bounded),
		cmocka_unit_test(test_turns_between_workers),
		cmocka_unit_test(test_adaptive_under_share),
		cmocka_unit_test(test_queue_passes_over_full_routes),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_generation_wiring),
	};

	stats_set_workers(3);  /* before any share or counter block is made */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
