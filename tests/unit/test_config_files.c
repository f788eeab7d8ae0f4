/* test_config_files.c: unit tests of core/config*.c on what we ship and on files: the
 * embedded default and the example file load, @include paths, unreadable files, and the
 * key rows of docs/configuration.md match the key table. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* asprintf, open_memstream */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_testlib.h"

/* Table of contents. */
static void test_default_loads(void **state);
static void test_defaults_applied(void **state);
static void test_example_file_loads(void **state);
static void test_load_file_temp(void **state);
static void test_load_file_unreadable(void **state);
static void test_include_relative_to_file(void **state);
static void test_keys_documented(void **state);

/* ---- Loading what we ship ------------------------------------------------------------ */

static void test_default_loads(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(config_default_text, "(embedded default)", &errs);
	const struct cfg_pool *p;
	const struct cfg_listener *l;

	if (cfg == NULL)
		config_errors_print(&errs, stderr);
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	assert_string_equal(cfg->source, "(embedded default)");
	assert_int_equal(cfg->workers, 1);
	/* no shared fixed path: control/main.c sets a per-user state_dir (0700) at start */
	assert_null(strstr(config_default_text, "/tmp/fulcrum-state"));
	assert_int_equal(cfg->log.level, LOG_INFO);
	assert_int_equal(cfg->log.format, LOG_FORMAT_JSON);
	assert_string_equal(cfg->log.access, "stdout");
	assert_string_equal(cfg->control.listen, "127.0.0.1:9000");
	assert_null(cfg->control.token_file);

	assert_int_equal(cfg->nlisteners, 1);
	l = &cfg->listeners[0];
	assert_string_equal(l->name, "demo");
	assert_string_equal(l->bind.text, "127.0.0.1:8080");
	assert_int_equal(l->bind.ss.ss_family, AF_INET);
	assert_int_equal(l->mode, LISTENER_HTTP);
	assert_string_equal(l->pool, "flask");
	assert_null(l->tls);

	assert_int_equal(cfg->npools, 1);
	p = config_find_pool(cfg, "flask");
	assert_non_null(p);
	assert_int_equal(p->balance, BALANCE_WLC);
	assert_int_equal(p->health.type, HEALTH_HTTP);
	assert_string_equal(p->health.path, "/healthz");
	assert_int_equal(p->health.interval_ms, 2000);
	assert_int_equal(p->health.timeout_ms, 1000);
	assert_int_equal(p->health.rise, 2);
	assert_int_equal(p->health.fall, 3);
	assert_int_equal(p->nbackends, 3);
	assert_string_equal(p->backends[0].name, "web-1");
	assert_string_equal(p->backends[0].address.text, "127.0.0.1:8001");
	assert_int_equal(p->backends[0].weight, 4);
	assert_int_equal(p->backends[0].max_conns, 4);
	assert_string_equal(p->backends[1].name, "web-2");
	assert_int_equal(p->backends[1].weight, 2);
	assert_int_equal(p->backends[1].max_conns, 2);
	assert_string_equal(p->backends[2].name, "web-3");
	assert_string_equal(p->backends[2].address.text, "127.0.0.1:8003");
	assert_int_equal(p->backends[2].weight, 1);
	assert_int_equal(p->backends[2].max_conns, 1);
	assert_int_equal(p->backends[2].state, ADMIN_ACTIVE);
	config_free(cfg);
}

static void test_defaults_applied(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg = load(BASE_LISTENERS BASE_POOLS, &errs);
	const struct cfg_listener *l;
	const struct cfg_pool *p;
	const struct cfg_backend *b;

	assert_non_null(cfg);
	assert_int_equal(cfg->workers, 0);
	assert_string_equal(cfg->state_dir, "/var/lib/fulcrum");
	assert_null(cfg->user);
	assert_null(cfg->group);
	assert_int_equal(cfg->max_connections, 100000);
	assert_int_equal(cfg->shutdown_timeout_s, 30);
	assert_int_equal(cfg->log.level, LOG_INFO);
	assert_string_equal(cfg->log.access, "stdout");
	assert_int_equal(cfg->log.format, LOG_FORMAT_JSON);
	assert_null(cfg->control.listen);
	assert_null(cfg->control.token_file);

	l = &cfg->listeners[0];
	assert_int_equal(l->line, 2);
	assert_int_equal(l->mode, LISTENER_HTTP);
	assert_int_equal(l->max_connections, 10000);
	assert_int_equal(l->accept_proxy, 0);
	assert_null(l->proxy_trusted);
	assert_int_equal(l->nproxy_trusted, 0);
	assert_int_equal(l->head_timeout_ms, 10000);
	assert_int_equal(l->idle_timeout_ms, 60000);
	assert_int_equal(l->head_max_bytes, 32768);
	assert_int_equal(l->header_max_count, 100);
	assert_int_equal(l->body_max_bytes, 0);
	assert_null(l->tls);

	p = &cfg->pools[0];
	assert_int_equal(p->line, 5);
	assert_int_equal(p->balance, BALANCE_WLC);
	assert_int_equal(p->health.type, HEALTH_HTTP);
	assert_string_equal(p->health.path, "/healthz");
	assert_int_equal(p->health.interval_ms, 2000);
	assert_int_equal(p->health.timeout_ms, 1000);
	assert_int_equal(p->health.rise, 2);
	assert_int_equal(p->health.fall, 3);
	assert_int_equal(p->slow_start_s, 0);
	assert_int_equal(p->drain_timeout_s, 30);
	assert_int_equal(p->connect_timeout_ms, 3000);
	assert_int_equal(p->response_timeout_ms, 60000);
	assert_int_equal(p->queue_timeout_ms, 5000);
	assert_int_equal(p->queue_max, 1024);
	assert_int_equal(p->keepalive_max_idle, 256);
	assert_int_equal(p->retries, 1);
	assert_int_equal(p->send_proxy, PROXY_SEND_NONE);
	assert_int_equal(p->resolve_interval_s, 30);

	b = &p->backends[0];
	assert_int_equal(b->line, 7);
	assert_int_equal(b->weight, 1);
	assert_int_equal(b->max_conns, 0);
	assert_int_equal(b->state, ADMIN_ACTIVE);
	assert_int_equal(b->address.is_name, 0);
	config_free(cfg);
}

static void test_example_file_loads(void **state)
{
	struct config_errors errs = { 0 };
	char *path = src_path("docs/fulcrum.example.cfg");
	struct config *cfg = config_load_file(path, &errs);
	const struct cfg_listener *web, *db;
	const struct cfg_pool *flask, *canary;

	if (cfg == NULL)
		config_errors_print(&errs, stderr);
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	assert_string_equal(cfg->source, path);
	assert_int_equal(cfg->nlisteners, 3);
	web = &cfg->listeners[0];
	assert_string_equal(web->name, "web");
	assert_non_null(web->tls);
	assert_int_equal(web->tls->ncerts, 1);
	assert_string_equal(web->tls->certs[0].cert, "/etc/fulcrum/tls/site.crt");
	assert_string_equal(web->tls->certs[0].key, "/etc/fulcrum/tls/site.key");
	assert_true(web->tls->certs[0].line > 0);
	assert_string_equal(web->tls->min_version, "TLSv1.2");
	assert_string_equal(web->tls->alpn, "http/1.1");
	assert_null(web->tls->ciphers);
	assert_int_equal(cfg->listeners[1].bind.ss.ss_family, AF_INET6);
	db = &cfg->listeners[2];
	assert_int_equal(db->mode, LISTENER_TCP);
	assert_int_equal(db->accept_proxy, 1);
	assert_int_equal(db->nproxy_trusted, 3);
	assert_int_equal(db->proxy_trusted[1].bits, 8);

	flask = config_find_pool(cfg, "flask");
	assert_non_null(flask);
	assert_int_equal(flask->slow_start_s, 10);
	assert_int_equal(flask->nbackends, 4);
	assert_int_equal(flask->backends[2].state, ADMIN_DRAINING);
	assert_int_equal(flask->backends[3].state, ADMIN_MAINT);
	assert_int_equal(flask->backends[3].address.is_name, 1);
	assert_int_equal(config_find_pool(cfg, "postgres")->send_proxy, PROXY_SEND_V2);
	assert_int_equal(config_find_pool(cfg, "postgres")->health.type, HEALTH_TCP);
	assert_int_equal(config_find_pool(cfg, "postgres")->backends[1].weight, 0);
	canary = config_find_pool(cfg, "canary");
	assert_non_null(canary);
	assert_int_equal(canary->nbackends, 0);
	assert_null(canary->backends);
	config_free(cfg);
	free(path);
}

static void test_load_file_temp(void **state)
{
	struct config_errors errs = { 0 };
	char dir[] = "/tmp/fulcrum-test-XXXXXX";
	char *good, *bad;
	struct config *cfg;

	assert_non_null(mkdtemp(dir));
	good = write_temp(dir, "good.cfg", BASE_LISTENERS BASE_POOLS);
	bad = write_temp(dir, "bad.cfg", BASE_LISTENERS BASE_POOLS "workers = 999;\n");

	cfg = config_load_file(good, &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->source, good);
	config_free(cfg);

	assert_null(config_load_file(bad, &errs));
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.items[0].file, bad);
	assert_int_equal(errs.items[0].line, 11);
	assert_string_equal(errs.items[0].key, "workers");
	config_errors_clear(&errs);

	assert_int_equal(unlink(good), 0);
	assert_int_equal(unlink(bad), 0);
	assert_int_equal(rmdir(dir), 0);
	free(good);
	free(bad);
}

static void test_load_file_unreadable(void **state)
{
	struct config_errors errs = { 0 };

	assert_null(config_load_file("/nonexistent/fulcrum.cfg", &errs));
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.items[0].file, "/nonexistent/fulcrum.cfg");
	assert_int_equal(errs.items[0].line, 0);
	assert_string_equal(errs.items[0].message, strerror(ENOENT));

	/* libconfig would exit() on a directory; the loader must refuse it first. */
	assert_null(config_load_file("/tmp", &errs));
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.items[0].message, "directory"));
	config_errors_clear(&errs);
}

static void test_include_relative_to_file(void **state)
{
	struct config_errors errs = { 0 };
	char dir[] = "/tmp/fulcrum-test-XXXXXX";
	char *main_cfg, *pools_cfg;
	struct config *cfg;

	assert_non_null(mkdtemp(dir));
	pools_cfg = write_temp(dir, "pools.cfg", BASE_POOLS);
	main_cfg = write_temp(dir, "main.cfg", BASE_LISTENERS "@include \"pools.cfg\"\n");
	cfg = config_load_file(main_cfg, &errs);
	if (cfg == NULL)
		config_errors_print(&errs, stderr);
	assert_non_null(cfg);
	assert_int_equal(cfg->npools, 1);
	config_free(cfg);

	/* An error inside the included file names that file. */
	free(pools_cfg);
	pools_cfg = write_temp(dir, "pools.cfg", "pools = ( { name = \"flask\"; bogus = 1; } );\n");
	assert_null(config_load_file(main_cfg, &errs));
	expect_error(&errs, "pools.flask.bogus", 1, "unknown key");
	assert_non_null(strstr(find_error(&errs, "pools.flask.bogus")->file, "pools.cfg"));
	config_errors_clear(&errs);

	assert_int_equal(unlink(pools_cfg), 0);
	assert_int_equal(unlink(main_cfg), 0);
	assert_int_equal(rmdir(dir), 0);
	free(pools_cfg);
	free(main_cfg);
}

/* Every row that config_keys_print generates from the key table must appear verbatim
 * in docs/configuration.md, so the reference cannot drift from the loader. */
static void test_keys_documented(void **state)
{
	char *path = src_path("docs/configuration.md");
	char *doc = read_all(path), *rows = NULL, *line, *save = NULL;
	size_t len = 0, n = 0;
	FILE *fp;

	if (doc == NULL)
		fail_msg("cannot read %s", path);
	fp = open_memstream(&rows, &len);
	assert_non_null(fp);
	config_keys_print(fp);
	assert_int_equal(fclose(fp), 0);
	for (line = strtok_r(rows, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strstr(doc, line) == NULL)
			fail_msg("docs/configuration.md lacks this row (regenerate the table):\n%s",
				 line);
		n++;
	}
	assert_true(n > 50);
	free(rows);
	free(doc);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_loads),
		cmocka_unit_test(test_defaults_applied),
		cmocka_unit_test(test_example_file_loads),
		cmocka_unit_test(test_load_file_temp),
		cmocka_unit_test(test_load_file_unreadable),
		cmocka_unit_test(test_include_relative_to_file),
		cmocka_unit_test(test_keys_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
