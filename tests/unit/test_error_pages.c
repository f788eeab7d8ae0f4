/* test_error_pages.c: unit tests of core/error_pages.c: pages read from files (one too
 * large refused), and the choice of a page by status and Accept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error_pages.h"

static char dir[64];

static char *write_file(const char *name, size_t size, char fill)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		fputc(fill, f);
	fclose(f);
	return path;
}

static void test_choice_by_status_and_accept(void **state)
{
	struct cfg_error_page cp[3] = {
		{ .status = "502-504", .content_type = "text/html; charset=utf-8" },
		{ .status = "502-504", .content_type = "application/json" },
		{ .status = "404", .content_type = "text/html" },
	};
	struct cfg_listener l = { .error_pages = cp, .nerror_pages = 3 };
	struct error_pages ep;
	const struct error_page *p;
	char err[256];

	(void)state;
	cp[0].file = strdup(write_file("a.html", 10, 'h'));
	cp[1].file = strdup(write_file("a.json", 5, 'j'));
	cp[2].file = strdup(write_file("404.html", 3, 'n'));
	assert_int_equal(error_pages_load(&l, &ep, err, sizeof(err)), 0);
	p = error_pages_find(&ep, 503, "application/json", 16);
	assert_non_null(p);
	assert_int_equal(p->len, 5);
	p = error_pages_find(&ep, 504, "text/html,*/*;q=0.8", 19);
	assert_int_equal(p->len, 10);
	p = error_pages_find(&ep, 502, NULL, 0);
	assert_int_equal(p->len, 10);  /* no Accept: the first */
	p = error_pages_find(&ep, 404, "application/json", 16);
	assert_int_equal(p->len, 3);   /* the only page of that status */
	assert_null(error_pages_find(&ep, 400, "text/html", 9));
	error_pages_free(&ep);
	for (int i = 0; i < 3; i++)
		free(cp[i].file);
}

static void test_too_large_or_missing_refused(void **state)
{
	struct cfg_error_page cp = { .status = "503", .content_type = "text/html" };
	struct cfg_listener l = { .error_pages = &cp, .nerror_pages = 1 };
	struct error_pages ep;
	char err[256];

	(void)state;
	cp.file = strdup(write_file("big.html", ERROR_PAGE_MAX + 1, 'x'));
	assert_int_equal(error_pages_load(&l, &ep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than 8192"));
	assert_int_equal(ep.n, 0);
	free(cp.file);
	cp.file = strdup(write_file("max.html", ERROR_PAGE_MAX, 'x'));
	assert_int_equal(error_pages_load(&l, &ep, err, sizeof(err)), 0);
	assert_int_equal(ep.pages[0].len, ERROR_PAGE_MAX);
	error_pages_free(&ep);
	free(cp.file);
	cp.file = strdup("/nonexistent/page.html");
	assert_int_equal(error_pages_load(&l, &ep, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/page.html"));
	free(cp.file);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_error_pages.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[96];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choice_by_status_and_accept),
		cmocka_unit_test(test_too_large_or_missing_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
