/* test_generation.c: unit tests of the generation model (core/generation.c): a generation
 * built from a config, held alive by its last holder, backends and listening sockets that
 * carry over a reload with their live state, the listener a connection follows, and a
 * listener's route index, made and freed with the generation (LeakSanitizer checks the
 * freeing under make SANITIZE=1). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "generation.h"
#include "route_index.h"
#include "stats.h"

/* Fakes over what a generation frees (TEST_WRAP_test_generation in the Makefile): they
 * only record the pointer and then free it for real, so a test sees exactly when a
 * generation's config and a backend's counters go. */
void __real_config_free(struct config *cfg);
void __wrap_config_free(struct config *cfg);
void __real_stats_backend_free(struct backend_stats_set *s);
void __wrap_stats_backend_free(struct backend_stats_set *s);

#define FREED_MAX 64

static const void *freed[FREED_MAX];
static size_t nfreed;

static void note_freed(const void *p);
static int was_freed(const void *p);
static int reserve_port(int *fd);
static int busy_port(int *fd);
static int fd_open(int fd);
static int is_listening(int fd);
static struct config *load(const char *text);
static struct config *load_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct generation *build(struct config *cfg, const struct generation *prev, int nworkers,
				uint64_t id);
static struct backend *backend_of(struct generation *g, const char *pool, const char *name);
static const struct gen_listener *listener_of(const struct generation *g, const char *name);

static void test_build_from_config(void **state);
static void test_old_generation_lives_while_held(void **state);
static void test_backend_keeps_live_state(void **state);
static void test_drain_deadline_of_a_drain_call(void **state);
static void test_removed_backend_goes_with_last_holder(void **state);
static void test_listening_sockets_carry_over(void **state);
static void test_failed_build_changes_nothing(void **state);
static void test_follow_listener(void **state);
static void test_route_index_lives_with_generation(void **state);

/* Three loopback ports that the test keeps reserved (a bound SO_REUSEPORT socket of the
 * same user, which listen_socket_open can share and nobody else can take). */
static int port[3], port_fd[3];

void __wrap_config_free(struct config *cfg)
{
	if (cfg)
		note_freed(cfg);
	__real_config_free(cfg);
}

void __wrap_stats_backend_free(struct backend_stats_set *s)
{
	if (s)
		note_freed(s);
	__real_stats_backend_free(s);
}

static void note_freed(const void *p)
{
	if (nfreed < FREED_MAX)
		freed[nfreed++] = p;
}

/* 1 when p went through one of the fakes since the test began (pointers are compared
 * only while the test still knows the object was live just before). */
static int was_freed(const void *p)
{
	size_t i;

	for (i = 0; i < nfreed; i++)
		if (freed[i] == p)
			return 1;
	return 0;
}

static int reserve_port(int *fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*fd != -1);
	assert_int_equal(setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(setsockopt(*fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* A port held by a plain listening socket (no SO_REUSEPORT): listening there fails. */
static int busy_port(int *fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*fd != -1);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(*fd, 1), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static int is_listening(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v == 1;
}

static struct config *load(const char *text)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(text, "test.cfg", &errs);

	if (!cfg) {
		config_errors_print(&errs, stderr);
		config_errors_clear(&errs);
		fail_msg("config does not load:\n%s", text);
	}
	return cfg;
}

static struct config *load_fmt(const char *fmt, ...)
{
	struct config *cfg;
	va_list ap;
	char *text;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	assert_true(r > 0);
	cfg = load(text);
	free(text);
	return cfg;
}

static struct generation *build(struct config *cfg, const struct generation *prev, int nworkers,
				uint64_t id)
{
	char err[512] = "";
	struct generation *g = generation_build(cfg, prev, nworkers, id, err, sizeof(err));

	if (!g)
		fail_msg("generation_build: %s", err);
	return g;
}

static struct backend *backend_of(struct generation *g, const char *pool, const char *name)
{
	struct pool *p = generation_find_pool(g, pool);
	size_t i;

	for (i = 0; p && i < p->nbackends; i++)
		if (!strcmp(p->backends[i]->name, name))
			return p->backends[i];
	return NULL;
}

static const struct gen_listener *listener_of(const struct generation *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->nlisteners; i++)
		if (!strcmp(g->listeners[i].cfg->name, name))
			return &g->listeners[i];
	return NULL;
}

#define POOLS_2                                                                              \
	"pools = ( { name = \"flask\"; backends = (\n"                                       \
	"    { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 4; max_conns = 3; },\n" \
	"    { name = \"web-2\"; address = \"127.0.0.1:8002\"; } ); },\n"                     \
	"  { name = \"other\"; balance = \"rr\"; backends = (\n"                             \
	"    { name = \"o-1\"; address = \"[::1]:8101\"; } ); } );\n"

/* A config with listeners web (port[0], pool flask) and admin (port[1], pool other). */
static struct config *base_config(void)
{
	return load_fmt("log = { access = \"off\"; };\n"
			"listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; },\n"
			"  { name = \"admin\"; bind = \"127.0.0.1:%d\"; pool = \"other\"; mode = \"tcp\"; } );\n"
			POOLS_2, port[0], port[1]);
}

/* Everything of the config, linked up: pools parallel to the config's, each listener
 * pointing at its pool in the same generation and at one listening socket per worker. */
static void test_build_from_config(void **state)
{
	struct config *cfg = base_config();
	struct generation *g = build(cfg, NULL, 2, 7);
	const struct gen_listener *web, *admin;
	struct backend *b;
	int w;

	assert_int_equal(g->id, 7);
	assert_int_equal(atomic_load(&g->refs), 1);
	assert_ptr_equal(g->cfg, cfg);
	assert_true(g->applied_at > 0);
	assert_int_equal(g->npools, 2);
	assert_int_equal(g->nlisteners, 2);
	assert_ptr_equal(generation_find_pool(g, "flask"), &g->pools[0]);
	assert_ptr_equal(generation_find_pool(g, "other"), &g->pools[1]);
	assert_null(generation_find_pool(g, "nope"));
	assert_ptr_equal(g->pools[0].cfg, &cfg->pools[0]);
	assert_int_equal(g->pools[1].algo, BALANCE_RR);

	web = listener_of(g, "web");
	admin = listener_of(g, "admin");
	assert_non_null(web);
	assert_non_null(admin);
	assert_ptr_equal(web->pool, &g->pools[0]);
	assert_ptr_equal(admin->pool, &g->pools[1]);
	assert_null(web->tls);
	assert_non_null(web->stats);
	assert_ptr_not_equal(web->group, admin->group);
	for (w = 0; w < 2; w++) {
		assert_int_equal(web->group->nfds, 2);
		assert_true(is_listening(web->group->fds[w]));
		assert_true(is_listening(admin->group->fds[w]));
	}
	assert_int_equal(atomic_load(&web->group->refs), 1);

	assert_int_equal(g->pools[0].nbackends, 2);
	b = backend_of(g, "flask", "web-1");
	assert_non_null(b);
	assert_string_equal(b->pool_name, "flask");
	assert_string_equal(b->addr.text, "127.0.0.1:8001");
	assert_int_equal(atomic_load(&b->weight), 4);
	assert_int_equal(atomic_load(&b->max_conns), 3);
	assert_int_equal(atomic_load(&b->health), HEALTH_UP);
	assert_int_equal(atomic_load(&b->active), 0);
	assert_int_equal(atomic_load(&b->refs), 1);
	assert_non_null(backend_of(g, "other", "o-1"));

	nfreed = 0;
	generation_unref(g);
	assert_true(was_freed(cfg));
}

/* A worker still on the old generation keeps it whole while a newer one is published;
 * the last release frees it, and with it what only it held (a listener's sockets, a
 * backend). */
static void test_old_generation_lives_while_held(void **state)
{
	struct config *cfg1 = base_config(), *cfg2;
	struct generation *g1 = build(cfg1, NULL, 1, 1), *g2;
	struct backend *gone = backend_of(g1, "flask", "web-2");
	struct backend_stats_set *gone_stats = gone->stats;
	int admin_fd = listener_of(g1, "admin")->group->fds[0];

	nfreed = 0;
	/* a worker takes the current generation */
	generation_ref(g1);
	assert_int_equal(atomic_load(&g1->refs), 2);

	/* the reload: admin and web-2 are gone */
	cfg2 = load_fmt("log = { access = \"off\"; };\n"
			"listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; } );\n"
			"pools = ( { name = \"flask\"; backends = (\n"
			"    { name = \"web-1\"; address = \"127.0.0.1:8001\"; } ); } );\n", port[0]);
	g2 = build(cfg2, g1, 1, 2);
	/* published: the control thread lets go of g1 */
	generation_unref(g1);

	assert_int_equal(atomic_load(&g1->refs), 1);
	assert_false(was_freed(cfg1));
	assert_false(was_freed(gone_stats));
	assert_true(fd_open(admin_fd));
	assert_true(is_listening(admin_fd));
	/* the worker can still use everything in it */
	assert_string_equal(g1->pools[0].backends[1]->name, "web-2");
	assert_ptr_equal(listener_of(g1, "admin")->pool, &g1->pools[1]);

	/* the worker moves on: its release is the last one */
	generation_unref(g1);
	assert_true(was_freed(cfg1));
	assert_false(was_freed(cfg2));
	assert_true(was_freed(gone_stats));
	assert_false(fd_open(admin_fd));
	/* what g2 shares with g1 stayed */
	assert_int_equal(atomic_load(&backend_of(g2, "flask", "web-1")->refs), 1);
	assert_true(is_listening(listener_of(g2, "web")->group->fds[0]));

	generation_unref(g2);
	assert_true(was_freed(cfg2));
}

/* A backend a reload keeps (same pool, name and address) is the same object: its
 * counters and health go on, its settings come from the new config. A changed address
 * is another backend. */
static void test_backend_keeps_live_state(void **state)
{
	struct config *cfg2;
	struct generation *g1 = build(base_config(), NULL, 1, 1), *g2;
	struct backend *b1 = backend_of(g1, "flask", "web-1");
	struct backend *old2 = backend_of(g1, "flask", "web-2"), *b2, *moved, *added;

	atomic_store(&b1->active, 3);
	atomic_store(&b1->picks, 10);
	atomic_store(&b1->failures, 2);
	atomic_store(&b1->health, HEALTH_DOWN);
	atomic_store(&b1->hs.checks_failed, 5);
	atomic_store(&old2->active, 1);

	cfg2 = load_fmt("log = { access = \"off\"; };\n"
			"listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; } );\n"
			"pools = ( { name = \"flask\"; drain_timeout_s = 60; backends = (\n"
			"    { name = \"web-3\"; address = \"127.0.0.1:8003\"; },\n"
			"    { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 7; max_conns = 5;\n"
			"      state = \"draining\"; },\n"
			"    { name = \"web-2\"; address = \"127.0.0.1:8009\"; } ); } );\n", port[0]);
	g2 = build(cfg2, g1, 1, 2);
	b2 = backend_of(g2, "flask", "web-1");
	moved = backend_of(g2, "flask", "web-2");
	added = backend_of(g2, "flask", "web-3");

	assert_ptr_equal(b2, b1);
	assert_int_equal(atomic_load(&b1->refs), 2);
	assert_int_equal(atomic_load(&b1->active), 3);
	assert_int_equal(atomic_load(&b1->picks), 10);
	assert_int_equal(atomic_load(&b1->failures), 2);
	assert_int_equal(atomic_load(&b1->health), HEALTH_DOWN);
	assert_int_equal(atomic_load(&b1->hs.checks_failed), 5);
	assert_int_equal(atomic_load(&b1->weight), 7);
	assert_int_equal(atomic_load(&b1->max_conns), 5);
	assert_int_equal(atomic_load(&b1->admin), ADMIN_DRAINING);
	assert_true(atomic_load(&b1->drain_cut_ms) > 0);

	/* same name, new address: a fresh backend, the old one stays g1's */
	assert_ptr_not_equal(moved, old2);
	assert_string_equal(moved->addr.text, "127.0.0.1:8009");
	assert_int_equal(atomic_load(&moved->active), 0);
	assert_int_equal(atomic_load(&moved->refs), 1);
	assert_int_equal(atomic_load(&old2->refs), 1);
	assert_int_equal(atomic_load(&old2->active), 1);
	assert_non_null(added);
	assert_int_equal(atomic_load(&added->health), HEALTH_UP);

	generation_unref(g1);
	assert_int_equal(atomic_load(&b1->refs), 1);
	assert_int_equal(atomic_load(&b1->active), 3);
	generation_unref(g2);
}

/* base_config with web-1 in state st and, draining, the drain call's deadline until. */
static struct config *drained_config(const char *st, double until)
{
	struct config *cfg = load_fmt("log = { access = \"off\"; };\n"
				      "listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; } );\n"
				      "pools = ( { name = \"flask\"; drain_timeout_s = 60; backends = (\n"
				      "    { name = \"web-1\"; address = \"127.0.0.1:8001\"; state = \"%s\"; } ); } );\n",
				      port[0], st);

	cfg->pools[0].backends[0].drain_until = until;
	return cfg;
}

/* ms from now to b's drain deadline */
static long long cut_in_ms(struct backend *b)
{
	return atomic_load(&b->drain_cut_ms) - clock_coarse_ms();
}

/* A drain call's deadline is a wall-clock instant (cfg_backend.drain_until): every
 * replica that applies it cuts at that moment, not drain_timeout_s after its own apply;
 * the same instant applied again moves nothing, a new one moves the cut, a past one cuts
 * at once; without one the pool's drain_timeout_s counts from the apply. */
static void test_drain_deadline_of_a_drain_call(void **state)
{
	double now = clock_wall_s();
	struct generation *g[6];
	struct backend *b;
	long long first;
	int i;

	g[0] = build(drained_config("active", 0), NULL, 1, 1);
	b = backend_of(g[0], "flask", "web-1");
	assert_int_equal(atomic_load(&b->drain_cut_ms), 0);
	g[1] = build(drained_config("draining", now + 5), g[0], 1, 2);
	assert_ptr_equal(backend_of(g[1], "flask", "web-1"), b);
	first = atomic_load(&b->drain_cut_ms);
	assert_in_range(cut_in_ms(b), 4500, 5100);
	g[2] = build(drained_config("draining", now + 5), g[1], 1, 3);
	assert_int_equal(atomic_load(&b->drain_cut_ms), first);
	g[3] = build(drained_config("draining", now + 20), g[2], 1, 4);
	assert_in_range(cut_in_ms(b), 19500, 20100);
	g[4] = build(drained_config("draining", now - 3), g[3], 1, 5);
	assert_true(cut_in_ms(b) >= -100 && cut_in_ms(b) <= 100);  /* (signed: not assert_in_range) */
	g[5] = build(drained_config("active", 0), g[4], 1, 6);
	assert_int_equal(atomic_load(&b->drain_cut_ms), 0);
	for (i = 0; i < 6; i++)
		generation_unref(g[i]);
	/* without a drain call's deadline: the pool's 60 s from the apply */
	g[0] = build(drained_config("draining", 0), NULL, 1, 7);
	assert_in_range(cut_in_ms(backend_of(g[0], "flask", "web-1")), 59500, 60100);
	generation_unref(g[0]);
}

/* A backend the new config drops lives as long as something holds it (a request in
 * flight on it holds a reference), and goes with the last holder. */
static void test_removed_backend_goes_with_last_holder(void **state)
{
	struct config *cfg2;
	struct generation *g1 = build(base_config(), NULL, 1, 1), *g2;
	struct backend *gone = backend_of(g1, "flask", "web-2");
	struct backend_stats_set *gone_stats = gone->stats;

	nfreed = 0;
	/* a request in flight on web-2 */
	backend_ref(gone);
	atomic_store(&gone->active, 1);

	cfg2 = load_fmt("log = { access = \"off\"; };\n"
			"listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; } );\n"
			"pools = ( { name = \"flask\"; backends = (\n"
			"    { name = \"web-1\"; address = \"127.0.0.1:8001\"; } ); } );\n", port[0]);
	g2 = build(cfg2, g1, 1, 2);
	assert_null(backend_of(g2, "flask", "web-2"));
	/* g2 took no reference on it */
	assert_int_equal(atomic_load(&gone->refs), 2);

	generation_unref(g1);
	assert_false(was_freed(gone_stats));
	assert_int_equal(atomic_load(&gone->refs), 1);
	assert_string_equal(gone->name, "web-2");

	/* the request ends */
	atomic_store(&gone->active, 0);
	backend_unref(gone);
	assert_true(was_freed(gone_stats));

	generation_unref(g2);
}

/* A reload that keeps a bind keeps its sockets (no gap in accepting); a changed worker
 * count opens new ones; a dropped listener's sockets close with the last generation
 * that has it. */
static void test_listening_sockets_carry_over(void **state)
{
	struct config *cfg2;
	struct generation *g1 = build(base_config(), NULL, 2, 1), *g2, *g3;
	struct listen_group *web = listener_of(g1, "web")->group;
	int web_fd = web->fds[1], admin_fd = listener_of(g1, "admin")->group->fds[1];

	/* web stays (and is renamed), admin goes, api is new */
	cfg2 = load_fmt("log = { access = \"off\"; };\n"
			"listeners = ( { name = \"api\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; },\n"
			"  { name = \"www\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; } );\n"
			POOLS_2, port[2], port[0]);
	g2 = build(cfg2, g1, 2, 2);
	assert_ptr_equal(listener_of(g2, "www")->group, web);
	assert_int_equal(atomic_load(&web->refs), 2);
	assert_int_equal(web->fds[1], web_fd);
	assert_true(is_listening(listener_of(g2, "api")->group->fds[1]));

	generation_unref(g1);
	assert_int_equal(atomic_load(&web->refs), 1);
	assert_true(is_listening(web_fd));
	assert_false(fd_open(admin_fd));

	/* another worker count: one socket per worker, so new sockets */
	g3 = build(config_dup(cfg2), g2, 3, 3);
	assert_ptr_not_equal(listener_of(g3, "www")->group, web);
	assert_int_equal(listener_of(g3, "www")->group->nfds, 3);
	assert_int_equal(atomic_load(&web->refs), 1);
	generation_unref(g2);
	assert_false(fd_open(web_fd));
	assert_true(is_listening(listener_of(g3, "www")->group->fds[2]));
	generation_unref(g3);
}

/* A config that cannot be built (a bind taken by another program) is refused whole:
 * the caller keeps its config, and the running generation's backends and sockets are as
 * they were, their settings included. */
static void test_failed_build_changes_nothing(void **state)
{
	struct generation *g1 = build(base_config(), NULL, 1, 1);
	struct backend *b1 = backend_of(g1, "flask", "web-1");
	struct listen_group *web = listener_of(g1, "web")->group;
	struct config *cfg2;
	char err[512] = "";
	int busy_fd, busy = busy_port(&busy_fd);

	nfreed = 0;
	cfg2 = load_fmt("log = { access = \"off\"; };\n"
			"listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; },\n"
			"  { name = \"new\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; } );\n"
			"pools = ( { name = \"flask\"; backends = (\n"
			"    { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 9; max_conns = 1;\n"
			"      state = \"maint\"; },\n"
			"    { name = \"web-3\"; address = \"127.0.0.1:8003\"; } ); } );\n",
			port[0], busy);
	assert_null(generation_build(cfg2, g1, 1, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot listen on"));
	assert_false(was_freed(cfg2));

	assert_int_equal(atomic_load(&g1->refs), 1);
	assert_int_equal(atomic_load(&b1->refs), 1);
	assert_int_equal(atomic_load(&b1->weight), 4);
	assert_int_equal(atomic_load(&b1->max_conns), 3);
	assert_int_equal(atomic_load(&b1->admin), ADMIN_ACTIVE);
	assert_int_equal(atomic_load(&web->refs), 1);
	assert_true(is_listening(web->fds[0]));

	config_free(cfg2);
	close(busy_fd);
	generation_unref(g1);
}

/* A connection that moves to a new generation stays on the listener it came in
 * through: the one on the same sockets (even renamed), else the one of the same name
 * (moved to another bind), else none (removed). */
static void test_follow_listener(void **state)
{
	struct generation *g1 = build(base_config(), NULL, 1, 1), *g2;
	const struct gen_listener *web1 = listener_of(g1, "web"), *admin1 = listener_of(g1, "admin");
	struct config *cfg2;

	/* web renamed www on the same bind, plus a new listener that takes the name web;
	 * admin moved to another port */
	cfg2 = load_fmt("log = { access = \"off\"; };\n"
			"listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; },\n"
			"  { name = \"admin\"; bind = \"127.0.0.2:%d\"; pool = \"other\"; },\n"
			"  { name = \"www\"; bind = \"127.0.0.1:%d\"; pool = \"other\"; } );\n"
			POOLS_2, port[2], port[1], port[0]);
	g2 = build(cfg2, g1, 1, 2);

	assert_ptr_equal(generation_follow_listener(g2, web1), listener_of(g2, "www"));
	assert_ptr_equal(generation_follow_listener(g2, admin1), listener_of(g2, "admin"));
	assert_ptr_not_equal(listener_of(g2, "admin")->group, admin1->group);
	/* its own generation: itself */
	assert_ptr_equal(generation_follow_listener(g1, web1), web1);

	/* a generation with neither the sockets nor the name: removed */
	{
		struct config *cfg3 = load_fmt(
			"log = { access = \"off\"; };\n"
			"listeners = ( { name = \"api\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; } );\n"
			POOLS_2, port[1]);
		struct generation *g3 = build(cfg3, g2, 1, 3);

		assert_null(generation_follow_listener(g3, listener_of(g2, "www")));
		assert_null(generation_follow_listener(g3, listener_of(g2, "web")));
		assert_null(generation_follow_listener(g3, admin1));
		generation_unref(g3);
	}
	generation_unref(g1);
	generation_unref(g2);
}

/* A listener's routes are indexed with the generation, and the index answers for the
 * routes of that generation's config; a build that fails after the index was made
 * frees it with the rest. */
static void test_route_index_lives_with_generation(void **state)
{
	static const char routes[] =
		"  routes = ( { name = \"api\"; host = \"api.test\"; path_prefix = \"/v1/\"; pool = \"other\"; },\n"
		"             { name = \"num\"; path_regex = \"^/n/[0-9]+$\"; pool = \"other\"; },\n"
		"             { name = \"any-api\"; host = \"*.test\"; pool = \"flask\"; } ); } );\n";
	struct route_request q = { "API.test:80", 11, "/v1/x", 5, "GET", 3, "", 0, NULL, NULL, 0, 0 };
	struct config *cfg = load_fmt("log = { access = \"off\"; };\n"
				      "listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\";\n%s"
				      POOLS_2, port[0], routes);
	struct generation *g = build(cfg, NULL, 1, 1);
	const struct gen_listener *web = listener_of(g, "web");
	struct config *cfg2;
	char err[512] = "";
	int busy_fd, busy = busy_port(&busy_fd);

	assert_non_null(web->route_index);
	assert_int_equal(route_index_find(web->route_index, web->cfg->routes, web->route_res, &q), 0);
	q = (struct route_request){ "b.test", 6, "/n/12", 5, "GET", 3, "", 0, NULL, NULL, 0, 0 };
	assert_int_equal(route_index_find(web->route_index, web->cfg->routes, web->route_res, &q), 1);
	q.path = "/n/x";
	assert_int_equal(route_index_find(web->route_index, web->cfg->routes, web->route_res, &q), 2);
	q.host = "test";
	q.host_len = 4;
	assert_int_equal(route_index_find(web->route_index, web->cfg->routes, web->route_res, &q), -1);

	/* the routed listener is built, then the next one's bind fails */
	cfg2 = load_fmt("log = { access = \"off\"; };\n"
			"listeners = ( { name = \"web\"; bind = \"127.0.0.1:%d\"; pool = \"flask\";\n"
			"  routes = ( { name = \"api\"; host = \"api.test\"; pool = \"other\"; } ); },\n"
			"  { name = \"new\"; bind = \"127.0.0.1:%d\"; pool = \"flask\"; } );\n" POOLS_2,
			port[0], busy);
	assert_null(generation_build(cfg2, g, 1, 2, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot listen on"));
	config_free(cfg2);
	close(busy_fd);
	generation_unref(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_from_config),
		cmocka_unit_test(test_old_generation_lives_while_held),
		cmocka_unit_test(test_backend_keeps_live_state),
		cmocka_unit_test(test_drain_deadline_of_a_drain_call),
		cmocka_unit_test(test_removed_backend_goes_with_last_holder),
		cmocka_unit_test(test_listening_sockets_carry_over),
		cmocka_unit_test(test_failed_build_changes_nothing),
		cmocka_unit_test(test_follow_listener),
		cmocka_unit_test(test_route_index_lives_with_generation),
	};
	int i, rc;

	for (i = 0; i < 3; i++)
		port[i] = reserve_port(&port_fd[i]);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	for (i = 0; i < 3; i++)
		close(port_fd[i]);
	return rc;
}
