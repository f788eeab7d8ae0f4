/* test_ctl_store.c: unit tests of config generations: a config written back as text loads
 * into an equal config (config_render, config_dup), generations are kept with time, source
 * and hash, listed, read back and pruned (control/store.c), and diffed key by key. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl_journal.h"
#include "ctl_store.h"

static struct config *load(const char *text, const char *name);
static char *src_path(const char *rel);
static void remove_tree(const char *dir);
static const struct ctl_diff_item *find_change(const struct ctl_diff_item *items, ssize_t n,
					       const char *key);

static void test_render_roundtrip(void **state);
static void test_dup_is_deep(void **state);
static void test_store(void **state);
static void test_prune(void **state);
static void test_prune_keeps_file_generation(void **state);
static void test_diff(void **state);

static struct config *load(const char *text, const char *name)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(text, name, &errs);

	if (!cfg) {
		config_errors_print(&errs, stderr);
		config_errors_clear(&errs);
		fail_msg("%s does not load", name);
	}
	return cfg;
}

static char *src_path(const char *rel)
{
	const char *dir = getenv("FULCRUM_SRCDIR");
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir && dir[0] ? dir : ".", rel) == -1)
		fail_msg("out of memory");
	return p;
}

static void remove_tree(const char *dir)
{
	char *gdir = NULL, *p;
	struct dirent *de;
	DIR *d;

	assert_true(asprintf(&gdir, "%s/generations", dir) > 0);
	d = opendir(gdir);
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(asprintf(&p, "%s/%s", gdir, de->d_name) > 0);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(gdir);
	rmdir(dir);
	free(gdir);
}

static const struct ctl_diff_item *find_change(const struct ctl_diff_item *items, ssize_t n,
					       const char *key)
{
	ssize_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(items[i].key, key))
			return &items[i];
	return NULL;
}

/* Rollback loads what was written: both styles must describe the same config. */
static void test_render_roundtrip(void **state)
{
	char *path = src_path("docs/fulcrum.example.cfg");
	struct config_errors errs = { 0 };
	struct config *sources[2], *again;
	char *text, *text2;
	int i;

	sources[0] = load(config_default_text, "default");
	sources[1] = config_load_file(path, &errs);
	if (!sources[1])
		config_errors_print(&errs, stderr);
	assert_non_null(sources[1]);
	for (i = 0; i < 2; i++) {
		text = ctl_render(sources[i], CONFIG_RENDER_LIBCONFIG);
		assert_non_null(text);
		again = load(text, "rendered");
		text2 = ctl_render(again, CONFIG_RENDER_LIBCONFIG);
		assert_string_equal(text, text2);
		free(text2);
		text2 = ctl_render(again, CONFIG_RENDER_FLAT);
		free(text);
		text = ctl_render(sources[i], CONFIG_RENDER_FLAT);
		assert_string_equal(text, text2);
		free(text);
		free(text2);
		config_free(again);
	}
	/* strings that need escaping survive */
	{
		struct config *c = load("state_dir = \"/tmp/a \\\"b\\\" \\\\c\";\n"
					"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"p\"; } );\n"
					"pools = ( { name = \"p\"; } );\n", "escapes");

		text = ctl_render(c, CONFIG_RENDER_LIBCONFIG);
		again = load(text, "rendered escapes");
		assert_string_equal(again->state_dir, "/tmp/a \"b\" \\c");
		assert_int_equal(config_find_pool(again, "p")->nbackends, 0);
		free(text);
		config_free(again);
		config_free(c);
	}
	config_free(sources[0]);
	config_free(sources[1]);
	free(path);
}

static void test_dup_is_deep(void **state)
{
	char *path = src_path("docs/fulcrum.example.cfg");
	struct config *c = config_load_file(path, NULL), *d;
	char *a, *b;
	struct cfg_backend nb;

	assert_non_null(c);
	d = config_dup(c);
	assert_non_null(d);
	a = ctl_render(c, CONFIG_RENDER_FLAT);
	b = ctl_render(d, CONFIG_RENDER_FLAT);
	assert_string_equal(a, b);
	assert_ptr_not_equal(c->pools, d->pools);
	assert_ptr_not_equal(c->pools[0].backends, d->pools[0].backends);
	assert_ptr_not_equal(c->pools[0].backends[0].name, d->pools[0].backends[0].name);
	assert_int_equal(d->listeners[0].line, c->listeners[0].line);
	/* edits of the copy leave the original alone, and both free cleanly (ASan) */
	assert_int_equal(config_backend_init(&nb), 0);
	assert_int_equal(nb.weight, 1);  /* the defaults of a file's backend */
	nb.name = strdup("web-9");
	nb.address = c->pools[0].backends[0].address;
	nb.weight = 3;
	assert_int_equal(ctl_config_set_backend(d, c->pools[0].name, &nb), 0);
	assert_null(nb.name);  /* taken over */
	assert_int_equal(ctl_config_remove_backend(d, c->pools[0].name, c->pools[0].backends[0].name), 0);
	assert_int_equal(ctl_config_remove_backend(d, c->pools[0].name, "nope"), -1);
	assert_int_equal(config_backend_init(&nb), 0);
	nb.name = strdup("web-10");
	assert_int_equal(ctl_config_set_backend(d, "no-such-pool", &nb), -1);
	config_backend_clear(&nb);
	free(b);
	b = ctl_render(c, CONFIG_RENDER_FLAT);
	assert_string_equal(a, b);
	free(a);
	free(b);
	config_free(c);
	config_free(d);
	free(path);
}

static void test_store(void **state)
{
	char dir[] = "/tmp/fulcrum-test-store.XXXXXX", err[256], *text;
	struct config *c = load(config_default_text, "default");
	struct ctl_gen_meta meta, *list = NULL;
	struct ctl_store s;
	ssize_t n;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(ctl_store_open(&s, dir, 10, err, sizeof(err)), 0);
	assert_int_equal(s.max_id, 0);
	memset(&meta, 0, sizeof(meta));
	meta.id = 1;
	meta.time = 1700000000.25;
	snprintf(meta.source, sizeof(meta.source), "start: /etc/x.cfg\nwith a newline");
	assert_int_equal(ctl_store_save(&s, c, &meta, err, sizeof(err)), 0);
	assert_int_equal(strlen(meta.sha256), 64);
	meta.id = 2;
	snprintf(meta.source, sizeof(meta.source), "api: PUT flask/web-4");
	assert_int_equal(ctl_store_save(&s, c, &meta, err, sizeof(err)), 0);
	n = ctl_store_list(&s, &list);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, 1);
	assert_int_equal(list[1].id, 2);
	assert_string_equal(list[0].source, "start: /etc/x.cfg with a newline");
	assert_string_equal(list[1].source, "api: PUT flask/web-4");
	assert_true(list[0].time > 1700000000.2 && list[0].time < 1700000000.3);
	/* the same config hashes the same */
	assert_string_equal(list[0].sha256, list[1].sha256);
	free(list);

	text = ctl_store_read(&s, 2, &meta);
	assert_non_null(text);
	assert_int_equal(meta.id, 2);
	assert_non_null(strstr(text, "# fulcrum generation 2\n"));
	/* the kept file is a config file: it loads as it is, header and all */
	config_free(load(text, "generation 2"));
	{
		char hex[65];
		const char *body = strstr(text, "# sha256 ");

		body = strchr(body, '\n') + 1;
		ctl_sha256_hex(body, strlen(body), hex);
		assert_string_equal(hex, meta.sha256);
	}
	free(text);
	assert_null(ctl_store_read(&s, 3, &meta));
	ctl_store_close(&s);

	/* reopening finds the highest id, so numbering goes on after a restart */
	assert_int_equal(ctl_store_open(&s, dir, 10, err, sizeof(err)), 0);
	assert_int_equal(s.max_id, 2);
	ctl_store_close(&s);
	config_free(c);
	remove_tree(dir);
}

static void test_prune(void **state)
{
	char dir[] = "/tmp/fulcrum-test-prune.XXXXXX", err[256];
	struct config *c = load(config_default_text, "default");
	struct ctl_gen_meta meta, *list = NULL;
	struct ctl_store s;
	uint64_t id;
	ssize_t n;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(ctl_store_open(&s, dir, 3, err, sizeof(err)), 0);
	for (id = 1; id <= 7; id++) {
		memset(&meta, 0, sizeof(meta));
		meta.id = id;
		assert_int_equal(ctl_store_save(&s, c, &meta, err, sizeof(err)), 0);
	}
	n = ctl_store_list(&s, &list);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].id, 5);
	assert_int_equal(list[2].id, 7);
	free(list);
	ctl_store_close(&s);
	config_free(c);
	remove_tree(dir);
}

/* Generations go by count and by age, but the newest one read from the file stays
 * however many rollbacks followed it (issue 17: churn evicted rollback targets). */
static void test_prune_keeps_file_generation(void **state)
{
	char dir[] = "/tmp/fulcrum-test-prune2.XXXXXX", err[256];
	struct config *c = load(config_default_text, "default");
	struct ctl_gen_meta meta, *list = NULL;
	struct ctl_store s;
	uint64_t id;
	ssize_t n;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(ctl_store_open(&s, dir, 3, err, sizeof(err)), 0);
	assert_true(ctl_store_is_file_source("start: /etc/f.cfg"));
	assert_true(ctl_store_is_file_source("SIGHUP: reload of /etc/f.cfg"));
	assert_true(ctl_store_is_file_source("api: reload of /etc/f.cfg"));
	assert_false(ctl_store_is_file_source("rollback to generation 2"));
	for (id = 1; id <= 8; id++) {
		memset(&meta, 0, sizeof(meta));
		meta.id = id;
		meta.time = 1700000000 + (double)id;
		snprintf(meta.source, sizeof(meta.source), id <= 2 ? "SIGHUP: reload of /f" :
			 "rollback to generation 1");
		assert_int_equal(ctl_store_save(&s, c, &meta, err, sizeof(err)), 0);
	}
	n = ctl_store_list(&s, &list);
	assert_int_equal(n, 3);       /* keep 3, the newest file generation among them */
	assert_int_equal(list[0].id, 2);
	assert_int_equal(list[1].id, 7);
	assert_int_equal(list[2].id, 8);
	free(list);

	/* by age: a day later everything older goes, but for the two that always stay */
	s.keep = 10;
	s.keep_days = 1;
	memset(&meta, 0, sizeof(meta));
	meta.id = 9;
	meta.time = 1700000000 + 86400 + 7.5;  /* generations 1..7 are older than a day */
	snprintf(meta.source, sizeof(meta.source), "rollback to generation 2");
	assert_int_equal(ctl_store_save(&s, c, &meta, err, sizeof(err)), 0);
	n = ctl_store_list(&s, &list);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].id, 2);
	assert_int_equal(list[1].id, 8);
	assert_int_equal(list[2].id, 9);
	free(list);
	ctl_store_close(&s);
	config_free(c);
	remove_tree(dir);
}

static void test_diff(void **state)
{
	const char *a =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; } );\n"
		"pools = ( { name = \"flask\"; backends = (\n"
		"  { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 4; },\n"
		"  { name = \"web-2\"; address = \"127.0.0.1:8002\"; } ); } );\n";
	const char *b =
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; } );\n"
		"pools = ( { name = \"flask\"; queue_timeout_ms = 100; backends = (\n"
		"  { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 2; },\n"
		"  { name = \"web-3\"; address = \"127.0.0.1:8003\"; } ); } );\n";
	struct ctl_diff_item *items = NULL;
	const struct ctl_diff_item *it;
	char err[256];
	ssize_t n = ctl_diff_texts(a, b, &items, err, sizeof(err));

	assert_true(n > 0);
	it = find_change(items, n, "pools.flask.backends.web-1.weight");
	assert_non_null(it);
	assert_string_equal(it->from, "4");
	assert_string_equal(it->to, "2");
	it = find_change(items, n, "pools.flask.queue_timeout_ms");
	assert_non_null(it);
	assert_string_equal(it->to, "100");
	it = find_change(items, n, "pools.flask.backends.web-2.address");
	assert_non_null(it);
	assert_null(it->to);
	it = find_change(items, n, "pools.flask.backends.web-3.address");
	assert_non_null(it);
	assert_null(it->from);
	assert_string_equal(it->to, "\"127.0.0.1:8003\"");
	/* nothing that stayed the same is listed */
	assert_null(find_change(items, n, "pools.flask.backends.web-1.address"));
	assert_null(find_change(items, n, "listeners.web.bind"));
	ctl_diff_free(items, (size_t)n);

	assert_int_equal(ctl_diff_texts(a, a, &items, err, sizeof(err)), 0);
	ctl_diff_free(items, 0);
	assert_int_equal(ctl_diff_texts(a, "workers = ;", &items, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "second"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_roundtrip),
		cmocka_unit_test(test_dup_is_deep),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_prune_keeps_file_generation),
		cmocka_unit_test(test_diff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
