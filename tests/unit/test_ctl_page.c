/* test_ctl_page.c: unit tests of control/page.c and the page compiled in: the CSP allows
 * each inline block by the SHA-256 of its exact bytes and nothing else; the embedded page
 * has one script and one style block and never turns data into markup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ctl_page.h"

static size_t count(const char *hay, size_t len, const char *needle);

static void test_hashes_of_blocks(void **state);
static void test_no_blocks(void **state);
static void test_too_small(void **state);
static void test_embedded_page(void **state);
static void test_page_never_parses_data(void **state);

static size_t count(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, nlen = strlen(needle);
	const char *p = hay, *end = hay + len;

	while ((p = memmem(p, (size_t)(end - p), needle, nlen))) {
		n++;
		p += nlen;
	}
	return n;
}

/* Expected values from Python: base64(sha256(b"a{}")) and so on. */
static void test_hashes_of_blocks(void **state)
{
	static const char html[] =
		"<p><style>a{}</style></p><script>x()</script>\n<script>y()\n</script>";
	char csp[1024];

	assert_int_equal(ctl_page_csp(html, sizeof(html) - 1, csp, sizeof(csp)), 0);
	assert_string_equal(csp,
		"default-src 'none'; "
		"script-src 'sha256-D6IGS8VMvCoyaR/l0h9tERrBTATY01CoPS7l6xDv0kI=' "
		"'sha256-+iRtBv8IxoqkkJ7HE2wUIW/5nEZks8kBXKS3R8MLYL8='; "
		"style-src 'sha256-X1RutGBrXCt9KkSaXMK7tHftWiRscFHOhxsS8tv8hBk='; "
		"connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
		"frame-ancestors 'none'");
}

/* No block, or one that never closes: nothing of that kind may run. */
static void test_no_blocks(void **state)
{
	static const char html[] = "<p>plain</p><script>never closed";
	char csp[1024];

	assert_int_equal(ctl_page_csp(html, sizeof(html) - 1, csp, sizeof(csp)), 0);
	assert_non_null(strstr(csp, "script-src 'none';"));
	assert_non_null(strstr(csp, "style-src 'none';"));
	/* the length bounds the search: a block past it does not count */
	assert_int_equal(ctl_page_csp("<style>a{}</style>", 10, csp, sizeof(csp)), 0);
	assert_non_null(strstr(csp, "style-src 'none';"));
}

static void test_too_small(void **state)
{
	static const char html[] = "<style>a{}</style><script>x()</script>";
	char csp[1024];
	size_t full;

	assert_int_equal(ctl_page_csp(html, sizeof(html) - 1, csp, sizeof(csp)), 0);
	full = strlen(csp);
	assert_int_equal(ctl_page_csp(html, sizeof(html) - 1, csp, full), -1);
	assert_int_equal(ctl_page_csp(html, sizeof(html) - 1, csp, 40), -1);
	assert_int_equal(ctl_page_csp(html, sizeof(html) - 1, csp, 0), -1);
	assert_int_equal(ctl_page_csp(html, sizeof(html) - 1, csp, full + 1), 0);
}

static void test_embedded_page(void **state)
{
	const char *page = (const char *)ctl_status_page_html;
	size_t len = ctl_status_page_html_len;
	char csp[1024];

	assert_true(len > 1000);
	assert_memory_equal(page, "<!doctype html>", 15);
	/* one block of each: the CSP allows exactly these; any other would not run */
	assert_int_equal(count(page, len, "<script"), 1);
	assert_int_equal(count(page, len, "<script>"), 1);
	assert_int_equal(count(page, len, "<style"), 1);
	assert_int_equal(count(page, len, "<style>"), 1);
	/* style attributes would need 'unsafe-inline' or 'unsafe-hashes' */
	assert_int_equal(count(page, len, " style="), 0);
	assert_int_equal(ctl_page_csp(page, len, csp, sizeof(csp)), 0);
	assert_int_equal(count(csp, strlen(csp), "'sha256-"), 2);
	assert_null(strstr(csp, "unsafe"));
	assert_null(strstr(csp, "'none'; style-src"));  /* the script is allowed */
}

/* Backend names and health reasons are user input: the page only ever sets text. */
static void test_page_never_parses_data(void **state)
{
	static const char *const sinks[] = {
		"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
		"new Function", "setAttribute(\"style\"", "srcdoc",
	};
	const char *page = (const char *)ctl_status_page_html;
	size_t i;

	for (i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
		if (count(page, ctl_status_page_html_len, sinks[i]))
			fail_msg("control/status_page.html uses %s", sinks[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashes_of_blocks),
		cmocka_unit_test(test_no_blocks),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_embedded_page),
		cmocka_unit_test(test_page_never_parses_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
