/* test_config_compress.c: the pool key group compress (core/config_schema.c,
 * core/config_rules.c): defaults, the lists kept joined, and bad values refused with
 * file, line and key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config_testlib.h"

#define POOL_WITH(compress)                                                              \
	BASE_LISTENERS                                                                   \
	"pools = (\n"                                                 /* 4 */            \
	"  { name = \"flask\";\n"                                     /* 5 */            \
	"    " compress "\n"                                          /* 6 */            \
	"    backends = ( { name = \"web-1\"; address = \"127.0.0.1:8001\"; } );\n"      \
	"  }\n"                                                                          \
	");\n"

static void test_absent_and_defaults(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg = load(BASE_LISTENERS BASE_POOLS, &errs);
	const struct cfg_compress *z;

	(void)state;
	assert_non_null(cfg);
	assert_null(cfg->pools[0].compress);  /* absent = off */
	config_free(cfg);
	cfg = load(POOL_WITH("compress = { };"), &errs);
	assert_non_null(cfg);
	z = cfg->pools[0].compress;
	assert_non_null(z);
	assert_string_equal(z->types, "text/*,application/json,application/javascript");
	assert_string_equal(z->encodings, "br,zstd,gzip");
	assert_int_equal(z->min_bytes, 1024);
	assert_int_equal(z->gzip_level, 4);
	assert_int_equal(z->brotli_level, 4);
	assert_int_equal(z->zstd_level, 3);
	config_free(cfg);
	cfg = load(POOL_WITH("compress = { types = ( \"text/html\", \"image/*\" ); min_bytes = 0; "
			     "encodings = ( \"gzip\" ); gzip_level = 9; };"), &errs);
	assert_non_null(cfg);
	z = cfg->pools[0].compress;
	assert_string_equal(z->types, "text/html,image/*");
	assert_string_equal(z->encodings, "gzip");
	assert_int_equal(z->min_bytes, 0);
	assert_int_equal(z->gzip_level, 9);
	config_free(cfg);
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_one_error(POOL_WITH("compress = { encodings = ( \"br\", \"deflate\" ); };"),
			 "pools.flask.compress.encodings.[1]", 6, "'deflate' is not a coding");
	expect_one_error(POOL_WITH("compress = { types = ( \"text\" ); };"),
			 "pools.flask.compress.types.[0]", 6, "is not a media type");
	expect_one_error(POOL_WITH("compress = { types = ( \"text/html; charset=utf-8\" ); };"),
			 "pools.flask.compress.types.[0]", 6, "is not a media type");
	expect_one_error(POOL_WITH("compress = { types = ( ); };"),
			 "pools.flask.compress.types", 6, "1..64 are allowed");
	expect_one_error(POOL_WITH("compress = { encodings = ( \"br\", \"zstd\", \"gzip\", \"br\" ); };"),
			 "pools.flask.compress.encodings", 6, "1..3 are allowed");
	expect_one_error(POOL_WITH("compress = { gzip_level = 0; };"), "pools.flask.compress.gzip_level", 6,
			 "out of range");
	expect_one_error(POOL_WITH("compress = { zstd_level = 20; };"), "pools.flask.compress.zstd_level", 6,
			 "out of range");
	expect_one_error(POOL_WITH("compress = { brotli_level = 12; };"),
			 "pools.flask.compress.brotli_level", 6, "out of range");
	expect_one_error(POOL_WITH("compress = { level = 3; };"), "pools.flask.compress.level", 6,
			 "unknown key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent_and_defaults),
		cmocka_unit_test(test_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
