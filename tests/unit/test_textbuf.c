/* test_textbuf.c: unit tests of util/textbuf.c: appended bytes and formatted text of any
 * length end up whole and NUL-terminated, and a buffer that ran out of memory stays
 * failed with what it had. realloc is wrapped (-Wl,--wrap=realloc) to fail on demand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "textbuf.h"

void *__real_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size);

static int fail_next;  /* the next realloc returns NULL */

void *__wrap_realloc(void *p, size_t size)
{
	if (fail_next) {
		fail_next = 0;
		return NULL;
	}
	return __real_realloc(p, size);
}

static void test_append_and_printf(void **state)
{
	struct textbuf sb = { 0 };

	(void)state;
	assert_int_equal(textbuf_append(&sb, "HTTP/1.1 ", 9), 0);
	assert_int_equal(textbuf_printf(&sb, "%d %s\r\n", 200, "OK"), 0);
	assert_int_equal(sb.len, 17);
	assert_string_equal(sb.p, "HTTP/1.1 200 OK\r\n");
	textbuf_free(&sb);
	assert_null(sb.p);
	assert_int_equal(sb.len, 0);
}

static void test_long_text_is_whole(void **state)
{
	struct textbuf sb = { 0 };
	char big[10000];
	size_t i;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(textbuf_printf(&sb, "a"), 0);
	/* more than the first allocation, through printf and through append */
	assert_int_equal(textbuf_printf(&sb, "[%s]", big), 0);
	assert_int_equal(textbuf_append(&sb, big, sizeof(big) - 1), 0);
	assert_int_equal(sb.len, 1 + 2 + 2 * (sizeof(big) - 1));
	assert_int_equal(strlen(sb.p), sb.len);
	assert_int_equal(sb.p[1], '[');
	assert_int_equal(sb.p[sizeof(big) + 1], ']');
	for (i = sizeof(big) + 2; i < sb.len; i++)
		assert_int_equal(sb.p[i], 'x');
	textbuf_free(&sb);
}

static void test_out_of_memory_sticks(void **state)
{
	struct textbuf sb = { 0 };
	char big[8192];

	(void)state;
	memset(big, 'y', sizeof(big));
	assert_int_equal(textbuf_append(&sb, "kept", 4), 0);
	fail_next = 1;
	assert_int_equal(textbuf_append(&sb, big, sizeof(big)), -1);
	assert_true(sb.failed);
	assert_int_equal(sb.len, 4);
	assert_string_equal(sb.p, "kept");
	/* memory is back, but the answer has a hole: nothing more goes in */
	assert_int_equal(textbuf_append(&sb, "x", 1), -1);
	assert_int_equal(textbuf_printf(&sb, "%d", 1), -1);
	assert_int_equal(sb.len, 4);
	textbuf_free(&sb);
	assert_false(sb.failed);
}

/* extend: room for n bytes written in place, counted and NUL-ended; growing past the
 * first allocation keeps what was there; out of memory gives NULL and sticks. */
static void test_extend(void **state)
{
	struct textbuf sb = { 0 };
	char *at;
	size_t i;

	(void)state;
	assert_int_equal(textbuf_append(&sb, "a", 1), 0);
	at = textbuf_extend(&sb, 3);
	assert_non_null(at);
	memcpy(at, "bcd", 3);
	assert_int_equal(sb.len, 4);
	assert_string_equal(sb.p, "abcd");
	at = textbuf_extend(&sb, 10000);
	assert_non_null(at);
	for (i = 0; i < 10000; i++)
		at[i] = 'z';
	assert_int_equal(sb.len, 10004);
	assert_int_equal(strlen(sb.p), 10004);
	assert_memory_equal(sb.p, "abcdz", 5);
	fail_next = 1;
	assert_null(textbuf_extend(&sb, 100000));
	assert_true(sb.failed);
	assert_int_equal(sb.len, 10004);
	assert_null(textbuf_extend(&sb, 1));
	textbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_printf),
		cmocka_unit_test(test_long_text_is_whole),
		cmocka_unit_test(test_out_of_memory_sticks),
		cmocka_unit_test(test_extend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
