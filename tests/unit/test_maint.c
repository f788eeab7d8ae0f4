/* test_maint.c: unit tests of maintenance (issue 20): the POST /v1/maintenance body
 * (control/maint.c), which name it means in a config, its journal record's round trip
 * and its merge into a config (control/journal.c, control/merge.c), and the choice of
 * a route's error page before the listener's (core/error_pages.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl_api.h"
#include "ctl_journal.h"
#include "error_pages.h"

#define CFG                                                                                     \
	"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"         \
	"  routes = ( { name = \"api\"; path_prefix = \"/api/\"; pool = \"flask\"; },\n"           \
	"             { name = \"both\"; path_prefix = \"/b/\"; pool = \"both\"; } ); },\n"        \
	"  { name = \"web2\"; bind = \"127.0.0.1:18081\"; pool = \"both\";\n"                       \
	"  routes = ( { name = \"api\"; path_prefix = \"/v2/\"; pool = \"flask\"; } ); } );\n"     \
	"pools = ( { name = \"flask\"; backends = ( { name = \"w\"; address = \"127.0.0.1:8001\"; } ); },\n" \
	"          { name = \"both\"; backends = ( { name = \"b\"; address = \"127.0.0.1:8002\"; } ); } );\n"

static struct config *load(void)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(CFG, "test", &errs);

	if (!cfg) {
		config_errors_print(&errs, stderr);
		fail_msg("config does not load");
	}
	return cfg;
}

static int parse(const char *body, struct ctl_maint_req *r, char *err, size_t len)
{
	return ctl_parse_maint(body, strlen(body), r, err, len);
}

static void test_parse_body(void **state)
{
	struct ctl_maint_req r;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"pool\": \"flask\", \"on\": true}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_MAINT_KIND_POOL);
	assert_string_equal(r.name, "flask");
	assert_int_equal(r.on, 1);
	assert_int_equal(r.retry_after_s, 60);  /* the default */
	assert_int_equal(parse("{\"route\": \"api\", \"on\": false, \"retry_after_s\": 0}", &r, err,
			       sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_MAINT_KIND_ROUTE);
	assert_int_equal(r.on, 0);
	assert_int_equal(r.retry_after_s, 0);
	assert_int_equal(parse("{\"name\": \"x\", \"on\": true, \"retry_after_s\": 86400}", &r, err,
			       sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_MAINT_ANY);
	assert_int_equal(r.retry_after_s, 86400);
	/* refused */
	assert_int_equal(parse("{\"pool\": \"flask\"}", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'on'"));
	assert_int_equal(parse("{\"pool\": \"flask\", \"on\": 1}", &r, err, sizeof(err)), -1);
	assert_int_equal(parse("{\"on\": true}", &r, err, sizeof(err)), -1);
	assert_int_equal(parse("{\"pool\": \"a\", \"name\": \"a\", \"on\": true}", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exactly one"));
	assert_int_equal(parse("{\"pool\": \"a b\", \"on\": true}", &r, err, sizeof(err)), -1);
	assert_int_equal(parse("{\"pool\": \"a\", \"on\": true, \"retry_after_s\": 86401}", &r, err,
			       sizeof(err)), -1);
	assert_int_equal(parse("{\"pool\": \"a\", \"on\": true, \"retry_after_s\": -1}", &r, err,
			       sizeof(err)), -1);
	assert_int_equal(parse("{\"pool\": \"a\", \"on\": true, \"other\": 1}", &r, err, sizeof(err)), -1);
	assert_int_equal(parse("[1]", &r, err, sizeof(err)), -1);
}

static void test_resolve_names(void **state)
{
	struct config *cfg = load();
	struct ctl_maint_req r = { .on = 1 };
	struct ctl_journal j = { .fd = -1 };
	struct ctl_jentry gone = { .op = CTL_JOP_MAINT, .pool = CTL_MAINT_POOL, .name = "gone", .maint_on = 1 };
	char err[256];

	(void)state;
	snprintf(r.name, sizeof(r.name), "flask");
	assert_int_equal(ctl_maint_resolve(cfg, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_MAINT_KIND_POOL);
	r.kind = CTL_MAINT_ANY;
	snprintf(r.name, sizeof(r.name), "api");
	assert_int_equal(ctl_maint_resolve(cfg, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_MAINT_KIND_ROUTE);
	r.kind = CTL_MAINT_ANY;
	snprintf(r.name, sizeof(r.name), "both");
	assert_int_equal(ctl_maint_resolve(cfg, NULL, &r, err, sizeof(err)), 409);
	r.kind = CTL_MAINT_KIND_ROUTE;
	assert_int_equal(ctl_maint_resolve(cfg, NULL, &r, err, sizeof(err)), 0);
	r.kind = CTL_MAINT_ANY;
	snprintf(r.name, sizeof(r.name), "nope");
	assert_int_equal(ctl_maint_resolve(cfg, NULL, &r, err, sizeof(err)), 404);
	r.kind = CTL_MAINT_KIND_POOL;
	snprintf(r.name, sizeof(r.name), "api");
	assert_int_equal(ctl_maint_resolve(cfg, NULL, &r, err, sizeof(err)), 404);
	/* a name the config lost can be turned off, not on */
	j.entries = &gone;
	j.n = j.cap = 1;
	r.kind = CTL_MAINT_ANY;
	snprintf(r.name, sizeof(r.name), "gone");
	assert_int_equal(ctl_maint_resolve(cfg, &j, &r, err, sizeof(err)), 404);
	r.on = 0;
	assert_int_equal(ctl_maint_resolve(cfg, &j, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_MAINT_KIND_POOL);
	config_free(cfg);
}

static void test_journal_roundtrip_and_merge(void **state)
{
	struct ctl_jentry in[3] = {
		{ .op = CTL_JOP_MAINT, .pool = CTL_MAINT_POOL, .name = "flask", .maint_on = 1, .retry_after_s = 120, .seq = 1 },
		{ .op = CTL_JOP_MAINT, .pool = CTL_MAINT_ROUTE, .name = "api", .maint_on = 1, .retry_after_s = 0, .seq = 2 },
		{ .op = CTL_JOP_MAINT, .pool = CTL_MAINT_POOL, .name = "flask", .maint_on = 0, .seq = 3 },
	};
	struct ctl_journal j = { .fd = -1 };
	struct ctl_journal_replay rep;
	struct config *cfg = load(), *merged;
	char buf[4096];
	size_t used = 0, i, orphans = 9;

	(void)state;
	for (i = 0; i < 2; i++)
		used += ctl_journal_encode(&in[i], buf + used, sizeof(buf) - used);
	assert_int_equal(ctl_journal_parse(&j, buf, used, &rep), used);
	assert_int_equal(rep.records, 2);
	assert_int_equal(rep.skipped, 0);
	assert_int_equal(j.n, 2);
	assert_int_equal(j.entries[0].op, CTL_JOP_MAINT);
	assert_string_equal(j.entries[0].pool, CTL_MAINT_POOL);
	assert_string_equal(j.entries[1].pool, CTL_MAINT_ROUTE);
	assert_int_equal(j.entries[0].retry_after_s, 120);
	assert_non_null(ctl_journal_find(&j, CTL_MAINT_ROUTE, "api"));
	assert_null(ctl_journal_find(&j, "flask", "api"));  /* never a pool's backend */

	/* laid over the config: the pool, and the route of that name on every listener */
	merged = ctl_merge(cfg, j.entries, j.n, NULL, &orphans);
	assert_non_null(merged);
	assert_int_equal(orphans, 0);
	assert_int_equal(config_find_pool(merged, "flask")->maint.on, 1);
	assert_int_equal(config_find_pool(merged, "flask")->maint.retry_after_s, 120);
	assert_int_equal(config_find_pool(merged, "both")->maint.on, 0);
	assert_int_equal(merged->listeners[0].routes[0].maint.on, 1);
	assert_int_equal(merged->listeners[1].routes[0].maint.on, 1);
	assert_int_equal(merged->listeners[0].routes[1].maint.on, 0);
	assert_int_equal(cfg->pools[0].maint.on, 0);  /* the base is untouched */
	assert_int_equal(config_find_pool(merged, "flask")->nbackends, 1);
	config_free(merged);

	/* the later word (off) replaces the earlier under the same key */
	used += ctl_journal_encode(&in[2], buf + used, sizeof(buf) - used);
	free(j.entries);
	memset(&j, 0, sizeof(j));
	j.fd = -1;
	assert_int_equal(ctl_journal_parse(&j, buf, used, &rep), used);
	assert_int_equal(j.n, 2);
	merged = ctl_merge(cfg, j.entries, j.n, NULL, NULL);
	assert_int_equal(config_find_pool(merged, "flask")->maint.on, 0);
	assert_int_equal(merged->listeners[1].routes[0].maint.on, 1);
	config_free(merged);
	free(j.entries);
	config_free(cfg);
}

static void test_bad_maint_record_skipped(void **state)
{
	static const char *const bad[] = {
		"{\"seq\":1,\"op\":\"maint\",\"kind\":\"listener\",\"name\":\"x\",\"on\":true,\"retry_after_s\":1}",
		"{\"seq\":1,\"op\":\"maint\",\"kind\":\"pool\",\"name\":\"x\",\"on\":1,\"retry_after_s\":1}",
		"{\"seq\":1,\"op\":\"maint\",\"kind\":\"pool\",\"name\":\"x\",\"on\":true,\"retry_after_s\":90000}",
		"{\"seq\":1,\"op\":\"maint\",\"kind\":\"pool\",\"name\":\"a b\",\"on\":true,\"retry_after_s\":1}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ctl_journal j = { .fd = -1 };
		struct ctl_journal_replay rep;
		char buf[512];
		size_t plen = strlen(bad[i]);
		int n = snprintf(buf, sizeof(buf), "%08zx %08x %s\n", plen, ctl_crc32(bad[i], plen), bad[i]);

		ctl_journal_parse(&j, buf, (size_t)n, &rep);
		assert_int_equal(rep.skipped, 1);
		assert_int_equal(j.n, 0);
		free(j.entries);
	}
}

static void test_route_page_before_listener(void **state)
{
	char dir[] = "/tmp/fulcrum-test-maint.XXXXXX", path[4][128];
	struct cfg_error_page lp[1] = { { .status = "503", .content_type = "text/html" } };
	struct cfg_error_page rp[2] = { { .status = "503", .content_type = "text/html" },
					{ .status = "404", .content_type = "application/json" } };
	struct cfg_route routes[2] = { { .name = "r0" }, { .name = "r1", .error_pages = rp, .nerror_pages = 2 } };
	struct cfg_listener l = { .error_pages = lp, .nerror_pages = 1, .routes = routes, .nroutes = 2 };
	struct error_pages ep;
	const struct error_page *p;
	char err[256];
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 3; i++) {
		FILE *f;

		snprintf(path[i], sizeof(path[i]), "%s/p%d", dir, i);
		f = fopen(path[i], "w");
		assert_non_null(f);
		fprintf(f, "page%d", i);
		fclose(f);
	}
	lp[0].file = path[0];
	rp[0].file = path[1];
	rp[1].file = path[2];
	assert_int_equal(error_pages_load(&l, &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.n, 3);
	p = error_pages_pick(&ep, 1, 503, "text/html", 9);
	assert_memory_equal(p->body, "page1", 5);            /* the route's */
	p = error_pages_pick(&ep, 0, 503, "text/html", 9);
	assert_memory_equal(p->body, "page0", 5);            /* a route without: the listener's */
	p = error_pages_pick(&ep, -1, 503, NULL, 0);
	assert_memory_equal(p->body, "page0", 5);
	p = error_pages_pick(&ep, 1, 404, "text/html", 9);
	assert_memory_equal(p->body, "page2", 5);            /* the only one of that status */
	assert_null(error_pages_pick(&ep, 0, 404, NULL, 0)); /* another route's page is not ours */
	assert_null(error_pages_find(&ep, 404, NULL, 0));    /* nor the listener's */
	error_pages_free(&ep);
	for (i = 0; i < 3; i++)
		unlink(path[i]);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_body),
		cmocka_unit_test(test_resolve_names),
		cmocka_unit_test(test_journal_roundtrip_and_merge),
		cmocka_unit_test(test_bad_maint_record_skipped),
		cmocka_unit_test(test_route_page_before_listener),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
