/* test_static_files.c: unit tests of a static route's decisions (proto/http_static.c):
 * request paths turned into paths under the root (escapes refused), the MIME map, the
 * Range parser, dates, ETags and conditional requests; the opener of lb/static_files.c
 * on a real temporary tree (symlinks out of the root refused, with openat2 and without);
 * and the loader's checks of a static route. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "http_static.h"
#include "static_files.h"

/* http_static_path on a C string; returns the status and leaves the path in out. */
static int path_of(const char *p, const char *strip, char *out, int *dir)
{
	return http_static_path(p, strlen(p), strip, out, HTTP_STATIC_PATH_MAX, dir);
}

static void test_path_plain(void **state)
{
	char out[HTTP_STATIC_PATH_MAX];
	int dir;

	(void)state;
	assert_int_equal(path_of("/static/css/app.css", "/static", out, &dir), 0);
	assert_string_equal(out, "css/app.css");
	assert_false(dir);
	assert_int_equal(path_of("/static/", "/static", out, &dir), 0);
	assert_string_equal(out, "");
	assert_true(dir);
	assert_int_equal(path_of("/a//b/./c/", NULL, out, &dir), 0);
	assert_string_equal(out, "a/b/c");
	assert_true(dir);
	assert_int_equal(path_of("/my%20file.txt", NULL, out, &dir), 0);
	assert_string_equal(out, "my file.txt");
	/* a name that only starts with dots is a name */
	assert_int_equal(path_of("/...", NULL, out, &dir), 0);
	assert_string_equal(out, "...");
	assert_int_equal(path_of("/..a/b..", NULL, out, &dir), 0);
	assert_string_equal(out, "..a/b..");
	/* outside the prefix: nothing under this root */
	assert_int_equal(path_of("/other/x", "/static", out, &dir), 404);
}

static void test_path_escapes(void **state)
{
	char out[HTTP_STATIC_PATH_MAX], longp[HTTP_STATIC_PATH_MAX + 64];
	int dir;

	(void)state;
	assert_int_equal(path_of("/static/../secret", "/static", out, &dir), 403);
	assert_int_equal(path_of("/static/%2e%2e/secret", "/static", out, &dir), 403);
	assert_int_equal(path_of("/static/%2E./secret", "/static", out, &dir), 403);
	assert_int_equal(path_of("/a/..", NULL, out, &dir), 403);
	assert_int_equal(path_of("/static/a%2f..%2fb", "/static", out, &dir), 404);
	assert_int_equal(path_of("/static/a%2F..", "/static", out, &dir), 404);
	assert_int_equal(path_of("/a%00.css", NULL, out, &dir), 400);
	assert_int_equal(path_of("/a%zz", NULL, out, &dir), 400);
	assert_int_equal(path_of("/a%2", NULL, out, &dir), 400);
	assert_int_equal(path_of("/a%", NULL, out, &dir), 400);
	/* the prefix is removed once, not a "/static/.." escape */
	assert_int_equal(path_of("/static..", "/static", out, &dir), 403);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(path_of(longp, NULL, out, &dir), 404);
	/* a short output buffer is never overrun */
	assert_int_equal(http_static_path("/abcdef", 7, NULL, out, 4, &dir), 404);
}

static void test_mime(void **state)
{
	(void)state;
	assert_string_equal(http_static_mime("a/app.css"), "text/css; charset=utf-8");
	assert_string_equal(http_static_mime("APP.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(http_static_mime("m.mjs"), "text/javascript; charset=utf-8");
	assert_string_equal(http_static_mime("x.woff2"), "font/woff2");
	assert_string_equal(http_static_mime("x.wasm"), "application/wasm");
	assert_string_equal(http_static_mime("x.js.map"), "application/json");
	assert_string_equal(http_static_mime("i.jpeg"), "image/jpeg");
	assert_string_equal(http_static_mime("index.html"), "text/html; charset=utf-8");
	assert_string_equal(http_static_mime("x.svg"), "image/svg+xml");
	assert_string_equal(http_static_mime("Makefile"), "application/octet-stream");
	assert_string_equal(http_static_mime("a.b/noext"), "application/octet-stream");
	assert_string_equal(http_static_mime("x."), "application/octet-stream");
	assert_string_equal(http_static_mime("x.exe"), "application/octet-stream");
	assert_string_equal(http_static_mime(""), "application/octet-stream");
}

/* http_static_range on a C string. */
static enum http_range_result range(const char *v, uint64_t size, uint64_t *first, uint64_t *count)
{
	*first = *count = 12345;
	return http_static_range(v, strlen(v), size, first, count);
}

static void test_range(void **state)
{
	uint64_t f, n;

	(void)state;
	assert_int_equal(range("bytes=0-99", 1000, &f, &n), HTTP_RANGE_PARTIAL);
	assert_true(f == 0 && n == 100);
	assert_int_equal(range("bytes=900-", 1000, &f, &n), HTTP_RANGE_PARTIAL);
	assert_true(f == 900 && n == 100);
	assert_int_equal(range("bytes=900-5000", 1000, &f, &n), HTTP_RANGE_PARTIAL);
	assert_true(f == 900 && n == 100);
	assert_int_equal(range("bytes=-100", 1000, &f, &n), HTTP_RANGE_PARTIAL);
	assert_true(f == 900 && n == 100);
	assert_int_equal(range("bytes=-5000", 1000, &f, &n), HTTP_RANGE_PARTIAL);
	assert_true(f == 0 && n == 1000);
	assert_int_equal(range("Bytes=5-5", 1000, &f, &n), HTTP_RANGE_PARTIAL);
	assert_true(f == 5 && n == 1);
	assert_int_equal(range("bytes=999-999", 1000, &f, &n), HTTP_RANGE_PARTIAL);
	assert_true(f == 999 && n == 1);
	/* past the end, a zero suffix, an empty file */
	assert_int_equal(range("bytes=1000-", 1000, &f, &n), HTTP_RANGE_UNSATISFIABLE);
	assert_int_equal(range("bytes=1000-2000", 1000, &f, &n), HTTP_RANGE_UNSATISFIABLE);
	assert_int_equal(range("bytes=-0", 1000, &f, &n), HTTP_RANGE_UNSATISFIABLE);
	assert_int_equal(range("bytes=0-", 0, &f, &n), HTTP_RANGE_UNSATISFIABLE);
	assert_int_equal(range("bytes=-10", 0, &f, &n), HTTP_RANGE_UNSATISFIABLE);
	/* ignored: the whole file */
	assert_int_equal(range("bytes=0-1,5-9", 1000, &f, &n), HTTP_RANGE_NONE);
	assert_int_equal(range("bytes=9-1", 1000, &f, &n), HTTP_RANGE_NONE);
	assert_int_equal(range("items=0-1", 1000, &f, &n), HTTP_RANGE_NONE);
	assert_int_equal(range("bytes=-", 1000, &f, &n), HTTP_RANGE_NONE);
	assert_int_equal(range("bytes=", 1000, &f, &n), HTTP_RANGE_NONE);
	assert_int_equal(range("bytes=a-b", 1000, &f, &n), HTTP_RANGE_NONE);
	assert_int_equal(range("bytes=1-2x", 1000, &f, &n), HTTP_RANGE_NONE);
	assert_int_equal(range("bytes=99999999999999999999-", 1000, &f, &n), HTTP_RANGE_NONE);
	assert_int_equal(range("bytes", 1000, &f, &n), HTTP_RANGE_NONE);
}

static void test_dates_and_etags(void **state)
{
	char d[HTTP_DATE_LEN], e[HTTP_ETAG_MAX];
	time_t t;

	(void)state;
	http_static_date(784111777, d);
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(http_static_parse_date(d, strlen(d), &t), 0);
	assert_int_equal((long)t, 784111777L);
	assert_int_equal(http_static_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t), -1);
	assert_int_equal(http_static_parse_date("Sun, 06 Nox 1994 08:49:37 GMT", 29, &t), -1);
	assert_int_equal(http_static_parse_date("Sun, 06 Nov 1994 08:49:37 UTC", 29, &t), -1);
	assert_int_equal(http_static_parse_date("garbage", 7, &t), -1);
	http_static_etag(0x100000, 0x17d0f0a1b2c3d4e5ULL, e);
	assert_string_equal(e, "\"100000-17d0f0a1b2c3d4e5\"");
	assert_true(http_static_etag_match("\"100000-17d0f0a1b2c3d4e5\"", 25, e));
	assert_true(http_static_etag_match("W/\"100000-17d0f0a1b2c3d4e5\"", 27, e));
	assert_true(http_static_etag_match("\"x\", \"100000-17d0f0a1b2c3d4e5\"", 30, e));
	assert_true(http_static_etag_match("*", 1, e));
	assert_false(http_static_etag_match("\"100000-17d0f0a1b2c3d4e6\"", 25, e));
	assert_false(http_static_etag_match("\"100000", 7, e));
	assert_false(http_static_etag_match("100000-17d0f0a1b2c3d4e5", 23, e));
	assert_false(http_static_etag_match("", 0, e));
}

static void test_conditionals(void **state)
{
	const char *etag = "\"a-1\"", *lm = "Sun, 06 Nov 1994 08:49:37 GMT";
	struct http_static_cond q = { 0 };

	(void)state;
	assert_false(http_static_not_modified(&q, etag, 784111777));
	q.if_modified_since = lm;
	q.if_modified_since_len = strlen(lm);
	assert_true(http_static_not_modified(&q, etag, 784111777));
	assert_true(http_static_not_modified(&q, etag, 784111776));
	assert_false(http_static_not_modified(&q, etag, 784111778));  /* changed since */
	q.if_modified_since = "yesterday";
	q.if_modified_since_len = 9;
	assert_false(http_static_not_modified(&q, etag, 784111777));  /* a bad date is ignored */
	/* If-None-Match wins over If-Modified-Since, either way */
	q.if_modified_since = lm;
	q.if_modified_since_len = strlen(lm);
	q.if_none_match = "\"b-2\"";
	q.if_none_match_len = 5;
	assert_false(http_static_not_modified(&q, etag, 784111777));
	q.if_none_match = etag;
	q.if_none_match_len = strlen(etag);
	assert_true(http_static_not_modified(&q, etag, 999999999));

	/* If-Range: the same validator or no range */
	memset(&q, 0, sizeof(q));
	assert_true(http_static_range_applies(&q, etag, lm));
	q.if_range = etag;
	q.if_range_len = strlen(etag);
	assert_true(http_static_range_applies(&q, etag, lm));
	q.if_range = "\"b-2\"";
	q.if_range_len = 5;
	assert_false(http_static_range_applies(&q, etag, lm));
	q.if_range = "W/\"a-1\"";  /* a weak tag never matches strongly */
	q.if_range_len = 7;
	assert_false(http_static_range_applies(&q, etag, lm));
	q.if_range = lm;
	q.if_range_len = strlen(lm);
	assert_true(http_static_range_applies(&q, etag, lm));
	q.if_range = "Mon, 07 Nov 1994 08:49:37 GMT";
	assert_false(http_static_range_applies(&q, etag, lm));
}

/* A temporary tree: root/{a.txt, sub/b.txt, in -> a.txt, out -> ../secret, dir -> sub},
 * and secret beside root. */
static char tmp[64];
static int root_fd = -1;

static int tree_setup(void **state)
{
	char p[160];
	FILE *f;

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/test_static.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(p, sizeof(p), "%s/root", tmp);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/sub", tmp);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/a.txt", tmp);
	if ((f = fopen(p, "w")))
		fclose(f);
	snprintf(p, sizeof(p), "%s/root/sub/b.txt", tmp);
	if ((f = fopen(p, "w")))
		fclose(f);
	snprintf(p, sizeof(p), "%s/secret", tmp);
	if ((f = fopen(p, "w")))
		fclose(f);
	snprintf(p, sizeof(p), "%s/root/in", tmp);
	if (symlink("a.txt", p) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/root/out", tmp);
	if (symlink("../secret", p) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/root/dir", tmp);
	if (symlink("sub", p) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s/root", tmp);
	root_fd = open(p, O_PATH | O_DIRECTORY);
	return root_fd == -1 ? -1 : 0;
}

static int tree_teardown(void **state)
{
	char cmd[128];

	(void)state;
	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* Whether opening rel works with the opener given; closes what it got. */
static int opens(int (*opener)(int, const char *, int), const char *rel)
{
	int fd = opener(root_fd, rel, O_RDONLY | O_NONBLOCK);

	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

static void test_open_beneath(void **state)
{
	(void)state;
	assert_true(opens(static_files_open, "a.txt"));
	assert_true(opens(static_files_open, "sub/b.txt"));
	assert_true(opens(static_files_open, ""));
	assert_true(opens(static_files_open, "in"));  /* a symlink inside the root */
	assert_false(opens(static_files_open, "out"));
	assert_false(opens(static_files_open, "missing"));
	assert_false(opens(static_files_open, "a.txt/x"));
}

static void test_open_nofollow(void **state)
{
	(void)state;
	assert_true(opens(static_files_open_nofollow, "a.txt"));
	assert_true(opens(static_files_open_nofollow, "sub/b.txt"));
	assert_true(opens(static_files_open_nofollow, ""));
	assert_false(opens(static_files_open_nofollow, "in"));   /* no symlink at all */
	assert_false(opens(static_files_open_nofollow, "out"));
	assert_false(opens(static_files_open_nofollow, "dir/b.txt"));
	assert_false(opens(static_files_open_nofollow, "missing/b.txt"));
}

static int has_error(const struct config_errors *e, const char *key, const char *words)
{
	size_t i;

	for (i = 0; i < e->count; i++)
		if (strstr(e->items[i].key, key) && strstr(e->items[i].message, words))
			return 1;
	return 0;
}

static void test_config(void **state)
{
	char text[1024];
	struct config_errors errs = { 0 };
	struct config *cfg;

	(void)state;
	snprintf(text, sizeof(text),
		 "listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\";\n"
		 "  routes = ( { name = \"ok\"; path_prefix = \"/s/\";\n"
		 "               static = { root = \"%s/root\"; strip_prefix = \"/s\"; index = \"i.html\"; }; } ); } );\n",
		 tmp);
	cfg = config_load_string(text, "test.cfg", &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->listeners[0].routes[0].static_files->strip_prefix, "/s");
	assert_int_equal(cfg->listeners[0].routes[0].static_files->max_age_s, 0);
	config_free(cfg);
	config_errors_clear(&errs);

	snprintf(text, sizeof(text),
		 "listeners = ( { name = \"web\"; bind = \"127.0.0.1:1\";\n"
		 "  routes = ( { name = \"rel\"; static = { root = \"www\"; }; },\n"
		 "             { name = \"file\"; static = { root = \"%s/secret\"; }; },\n"
		 "             { name = \"two\"; pool = \"p\"; static = { root = \"/\"; }; },\n"
		 "             { name = \"noroot\"; static = { index = \"..\"; }; },\n"
		 "             { name = \"dots\"; static = { root = \"/\"; index = \"..\"; }; } ); } );\n"
		 "pools = ( { name = \"p\"; backends = ( { name = \"b\"; address = \"127.0.0.1:3\"; } ); } );\n",
		 tmp);
	cfg = config_load_string(text, "test.cfg", &errs);
	assert_null(cfg);
	assert_true(has_error(&errs, "listeners.web.routes.rel.static.root", "/"));
	assert_true(has_error(&errs, "listeners.web.routes.file.static", "is not a directory"));
	assert_true(has_error(&errs, "listeners.web.routes.two", "exactly one of pool, split, redirect, respond and static (it has 2)"));
	assert_true(has_error(&errs, "listeners.web.routes.noroot.static", "root"));
	assert_true(has_error(&errs, "listeners.web.routes.dots.static", "must be a file name"));
	config_errors_clear(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_plain),
		cmocka_unit_test(test_path_escapes),
		cmocka_unit_test(test_mime),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_dates_and_etags),
		cmocka_unit_test(test_conditionals),
		cmocka_unit_test(test_open_beneath),
		cmocka_unit_test(test_open_nofollow),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, tree_setup, tree_teardown);
}
