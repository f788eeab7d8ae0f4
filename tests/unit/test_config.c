/* test_config.c: unit tests of core/config*.c: every class of error names its file, line
 * and key; the errors' API (what we ship, files, the docs' key rows: test_config_files.c). */
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
static void test_syntax_error(void **state);
static void test_unknown_key_top(void **state);
static void test_unknown_key_nested(void **state);
static void test_bad_address(void **state);
static void test_duplicate_listener_name(void **state);
static void test_duplicate_backend_name(void **state);
static void test_duplicate_bind(void **state);
static void test_missing_pool(void **state);
static void test_out_of_range(void **state);
static void test_bounds_accepted(void **state);
static void test_wrong_type(void **state);
static void test_bad_enum(void **state);
static void test_accept_proxy(void **state);
static void test_multiple_errors(void **state);
static void test_no_listeners(void **state);
static void test_missing_required(void **state);
static void test_index_paths(void **state);
static void test_names(void **state);
static void test_tls(void **state);
static void test_control_listen(void **state);
static void test_int64(void **state);
static void test_errors_print(void **state);
static void test_errors_reused(void **state);
static void test_find_pool(void **state);
static void test_reload_check(void **state);

/* ---- Each class of error --------------------------------------------------------------- */

static void test_syntax_error(void **state)
{
	struct config_errors errs = { 0 };

	assert_null(config_load_string("workers = 1;\nstate_dir = \"/x\";\nlog = { level = ; };\n",
				       "syntax.cfg", &errs));
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.items[0].file, "syntax.cfg");
	assert_int_equal(errs.items[0].line, 3);
	assert_string_equal(errs.items[0].key, "");
	assert_non_null(strstr(errs.items[0].message, "syntax error"));

	/* libconfig's own check: a key set twice in one group. */
	assert_null(config_load_string("workers = 1;\nworkers = 2;\n", "dup.cfg", &errs));
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.items[0].line, 2);
	assert_non_null(strstr(errs.items[0].message, "duplicate"));
	config_errors_clear(&errs);
}

static void test_unknown_key_top(void **state)
{
	expect_one_error(BASE_LISTENERS BASE_POOLS "wrokers = 2;\n", "wrokers", 11,
			 "did you mean 'workers'");
	expect_one_error(BASE_LISTENERS BASE_POOLS "colour = \"blue\";\n", "colour", 11,
			 "unknown key 'colour'");
}

static void test_unknown_key_nested(void **state)
{
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    backends = (\n"
			 "      { name = \"web-1\"; address = \"127.0.0.1:8001\";\n"
			 "        wieght = 3; }\n"
			 "    );\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.backends.web-1.wieght", 8, "did you mean 'weight'");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    health = { type = \"tcp\";\n"
			 "      intervall = 5; };\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.health.intervall", 7, "unknown key");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    tls = { certificates = ( { cert = \"a\"; key = \"b\"; pem = \"c\"; } ); };\n"
			 "  }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.tls.certificates.[0].pem", 3, "unknown key");
	expect_one_error("log = { level = \"info\"; colour = true; };\n" BASE_LISTENERS BASE_POOLS,
			 "log.colour", 1, "unknown key 'colour' in log");
}

static void test_bad_address(void **state)
{
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    backends = (\n"
			 "      { name = \"web-1\"; address = \"127.0.0.1\"; }\n"
			 "    );\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.backends.web-1.address", 7, "missing port");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    backends = (\n"
			 "      { name = \"web-1\"; address = \"300.1.1.1:80\"; }\n"
			 "    );\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.backends.web-1.address", 7, "invalid IPv4");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"::1:8080\"; pool = \"flask\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.bind", 2, "brackets");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"no-such-host.invalid:8080\"; pool = \"flask\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.bind", 2, "cannot resolve");
}

static void test_duplicate_listener_name(void **state)
{
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; },\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18081\"; pool = \"flask\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.name", 3, "duplicate listener name 'web' (first defined at line 2)");
}

static void test_duplicate_backend_name(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;

	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    backends = (\n"
			 "      { name = \"web-1\"; address = \"127.0.0.1:8001\"; },\n"
			 "      { name = \"web-1\"; address = \"127.0.0.1:8002\"; }\n"
			 "    );\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.backends.web-1.name", 8, "duplicate backend name");
	expect_one_error(BASE_LISTENERS BASE_POOLS
			 "pools = ();\n", "", 11, "duplicate setting");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\"; },\n"
			 "  { name = \"flask\"; }\n"
			 ");\n",
			 "pools.flask.name", 6, "duplicate pool name");

	/* The same backend name in two pools is fine. */
	cfg = load(BASE_LISTENERS
		   "pools = (\n"
		   "  { name = \"flask\"; backends = ( { name = \"a\"; address = \"127.0.0.1:1\"; } ); },\n"
		   "  { name = \"other\"; backends = ( { name = \"a\"; address = \"127.0.0.1:1\"; } ); }\n"
		   ");\n",
		   &errs);
	assert_non_null(cfg);
	config_free(cfg);
}

static void test_duplicate_bind(void **state)
{
	expect_one_error("listeners = (\n"
			 "  { name = \"a\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; },\n"
			 "  { name = \"b\"; bind = \"127.0.0.2:18080\"; pool = \"flask\"; },\n"
			 "  { name = \"c\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.c.bind", 4, "already bound by listener 'a' (line 2)");
	/* A name that resolves to the same address is the same bind. */
	expect_one_error("listeners = (\n"
			 "  { name = \"a\"; bind = \"[::1]:18080\"; pool = \"flask\"; },\n"
			 "  { name = \"b\"; bind = \"[0:0::1]:18080\"; pool = \"flask\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.b.bind", 3, "already bound");
}

static void test_missing_pool(void **state)
{
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\";\n"
			 "    pool = \"flsak\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.pool", 3, "no pool named 'flsak'");
}

static void test_out_of_range(void **state)
{
	expect_one_error("workers = 1000;\n" BASE_LISTENERS BASE_POOLS, "workers", 1,
			 "1000 is out of range 0..256");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    backends = (\n"
			 "      { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = -1; }\n"
			 "    );\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.backends.web-1.weight", 7, "-1 is out of range 0..1000");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    health = { interval_ms = 0; };\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.health.interval_ms", 6, "out of range 1..3600000");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    header_max_count = 257; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.header_max_count", 3, "out of range 1..256");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    head_max_bytes = 1023; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.head_max_bytes", 3, "out of range 1024..1048576");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    backends = (\n"
			 "      { name = \"web-1\"; address = \"127.0.0.1:8001\"; max_conns = 1000001; }\n"
			 "    );\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.backends.web-1.max_conns", 7, "out of range");
}

static void test_bounds_accepted(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg = load("workers = 256;\n"
				  "listeners = (\n"
				  "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
				  "    header_max_count = 256; head_max_bytes = 1048576; }\n"
				  ");\n"
				  "pools = (\n"
				  "  { name = \"flask\"; health = { interval_ms = 1; timeout_ms = 3600000; };\n"
				  "    backends = (\n"
				  "      { name = \"a\"; address = \"127.0.0.1:1\"; weight = 0; },\n"
				  "      { name = \"b\"; address = \"127.0.0.1:65535\"; weight = 1000;\n"
				  "        max_conns = 1000000; }\n"
				  "    );\n"
				  "  }\n"
				  ");\n",
				  &errs);

	assert_non_null(cfg);
	assert_int_equal(cfg->workers, 256);
	assert_int_equal(cfg->listeners[0].header_max_count, 256);
	assert_int_equal(cfg->listeners[0].head_max_bytes, 1048576);
	assert_int_equal(cfg->pools[0].health.interval_ms, 1);
	assert_int_equal(cfg->pools[0].health.timeout_ms, 3600000);
	assert_int_equal(cfg->pools[0].backends[0].weight, 0);
	assert_int_equal(cfg->pools[0].backends[1].weight, 1000);
	assert_int_equal(cfg->pools[0].backends[1].max_conns, 1000000);
	config_free(cfg);
}

static void test_wrong_type(void **state)
{
	expect_one_error("workers = \"two\";\n" BASE_LISTENERS BASE_POOLS, "workers", 1,
			 "expected an integer, got a string");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    backends = (\n"
			 "      { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 1.5; }\n"
			 "    );\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.backends.web-1.weight", 7, "got a float");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    accept_proxy = \"yes\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.accept_proxy", 3, "expected true or false");
	expect_one_error("log = \"info\";\n" BASE_LISTENERS BASE_POOLS, "log", 1,
			 "expected a group");
	expect_one_error("listeners = { name = \"web\"; };\n" BASE_POOLS, "listeners", 1,
			 "expected a list");
	expect_one_error("listeners = ( 42 );\n" BASE_POOLS, "listeners.[0]", 1,
			 "expected a listener group");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = 8080; pool = \"flask\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.bind", 2, "expected an address string");
}

static void test_bad_enum(void **state)
{
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    mode = \"udp\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.mode", 3, "\"udp\" is not one of \"http\", \"tcp\"");
	expect_one_error("log = { level = \"verbose\"; };\n" BASE_LISTENERS BASE_POOLS, "log.level",
			 1, "\"verbose\" is not one of");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\"; balance = \"random\"; }\n"
			 ");\n",
			 "pools.flask.balance", 5, "\"wlc\", \"rr\"");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\"; send_proxy = 2; }\n"
			 ");\n",
			 "pools.flask.send_proxy", 5, "got an integer");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\"; backends = (\n"
			 "    { name = \"a\"; address = \"127.0.0.1:1\"; state = \"up\"; } ); }\n"
			 ");\n",
			 "pools.flask.backends.a.state", 6, "\"active\", \"draining\", \"maint\"");
}

static void test_accept_proxy(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;

	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    accept_proxy = true; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.proxy_trusted", 3, "non-empty proxy_trusted");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    accept_proxy = true; proxy_trusted = [ ]; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.proxy_trusted", 3, "non-empty proxy_trusted");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    accept_proxy = true; proxy_trusted = [ \"10.0.0.0/8\", \"::/129\" ]; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.proxy_trusted.[1]", 3, "prefix length");

	cfg = load("listeners = (\n"
		   "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
		   "    accept_proxy = true; proxy_trusted = [ \"10.0.0.0/8\", \"::1\" ]; }\n"
		   ");\n" BASE_POOLS,
		   &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->listeners[0].accept_proxy, 1);
	assert_int_equal(cfg->listeners[0].nproxy_trusted, 2);
	assert_int_equal(cfg->listeners[0].proxy_trusted[0].family, AF_INET);
	assert_int_equal(cfg->listeners[0].proxy_trusted[1].family, AF_INET6);
	assert_int_equal(cfg->listeners[0].proxy_trusted[1].bits, 128);
	config_free(cfg);
}

static void test_multiple_errors(void **state)
{
	struct config_errors errs = { 0 };

	assert_null(load("workers = 1000;\n"                                        /* 1 */
			 "listeners = (\n"                                         /* 2 */
			 "  { name = \"web\"; bind = \"1.2.3.4\"; pool = \"nope\";\n" /* 3 */
			 "    mode = \"udp\"; }\n"                                   /* 4 */
			 ");\n"                                                    /* 5 */
			 "pools = (\n"                                             /* 6 */
			 "  { name = \"flask\"; health = { rise = 0; }; }\n"       /* 7 */
			 ");\n",                                                   /* 8 */
			 &errs));
	assert_int_equal(errs.count, 5);
	expect_error(&errs, "workers", 1, "out of range");
	expect_error(&errs, "listeners.web.bind", 3, "missing port");
	expect_error(&errs, "listeners.web.pool", 3, "no pool named 'nope'");
	expect_error(&errs, "listeners.web.mode", 4, "udp");
	expect_error(&errs, "pools.flask.health.rise", 7, "out of range");
	/* Reported in file order even though the pool check runs last. */
	assert_int_equal(errs.items[0].line, 1);
	assert_int_equal(errs.items[1].line, 3);
	assert_int_equal(errs.items[2].line, 3);
	assert_int_equal(errs.items[3].line, 4);
	assert_int_equal(errs.items[4].line, 7);
	config_errors_clear(&errs);
}

static void test_no_listeners(void **state)
{
	expect_one_error(BASE_POOLS, "listeners", 0, "at least 1 listener is required");
	expect_one_error("listeners = ();\n" BASE_POOLS, "listeners", 1,
			 "at least 1 listener is required");
	expect_one_error("", "listeners", 0, "at least 1 listener is required");
}

static void test_missing_required(void **state)
{
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.pool", 2, "missing required key 'pool' in listener");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { name = \"flask\";\n"
			 "    backends = ( { name = \"web-1\"; weight = 2; } );\n"
			 "  }\n"
			 ");\n",
			 "pools.flask.backends.web-1.address", 6, "missing required key 'address'");
	expect_one_error(BASE_LISTENERS
			 "pools = (\n"
			 "  { backends = (); }\n"
			 ");\n",
			 "pools.[0].name", 5, "missing required key 'name' in pool");
}

static void test_index_paths(void **state)
{
	struct config_errors errs = { 0 };

	/* Without a usable name, elements are named by index. */
	assert_null(load("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; },\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18081\"; pool = \"flask\"; },\n"
			 "  { name = \"bad name!\"; bind = \"1.2.3.4:99999\"; pool = \"flask\"; }\n"
			 ");\n" BASE_POOLS,
			 &errs));
	assert_int_equal(errs.count, 3);
	expect_error(&errs, "listeners.web.name", 3, "duplicate");
	expect_error(&errs, "listeners.[2].name", 4, "invalid name");
	expect_error(&errs, "listeners.[2].bind", 4, "invalid port");
	config_errors_clear(&errs);
}

static void test_names(void **state)
{
	char text[1024];
	char name63[64], name64[65];
	struct config_errors errs = { 0 };
	struct config *cfg;

	memset(name63, 'n', 63);
	name63[63] = '\0';
	memset(name64, 'n', 64);
	name64[64] = '\0';

	snprintf(text, sizeof(text),
		 "listeners = ( { name = \"%s\"; bind = \"127.0.0.1:1\"; pool = \"A.b_c-9\"; } );\n"
		 "pools = ( { name = \"A.b_c-9\"; } );\n", name63);
	cfg = load(text, &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->listeners[0].name, name63);
	config_free(cfg);

	snprintf(text, sizeof(text),
		 "listeners = ( { name = \"%s\"; bind = \"127.0.0.1:1\"; pool = \"p\"; } );\n"
		 "pools = ( { name = \"p\"; } );\n", name64);
	expect_one_error(text, "listeners.[0].name", 1, "1..63 characters");
	expect_one_error("listeners = ( { name = \"\"; bind = \"127.0.0.1:1\"; pool = \"p\"; } );\n"
			 "pools = ( { name = \"p\"; } );\n",
			 "listeners.[0].name", 1, "1..63 characters");
	expect_one_error("listeners = ( { name = \"w\"; bind = \"127.0.0.1:1\"; pool = \"p\"; } );\n"
			 "pools = ( { name = \"p/q\"; } );\n",
			 "pools.[0].name", 2, "invalid name 'p/q'");
}

static void test_tls(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;

	cfg = load("listeners = (\n"
		   "  { name = \"web\"; bind = \"127.0.0.1:18443\"; pool = \"flask\";\n"
		   "    tls = { certificates = ( { cert = \"a.crt\"; key = \"a.key\"; },\n"
		   "                             { cert = \"b.crt\"; key = \"b.key\"; } );\n"
		   "            min_version = \"TLSv1.3\"; ciphersuites = \"TLS_AES_128_GCM_SHA256\";\n"
		   "            alpn = \"h2,http/1.1\"; };\n"
		   "  }\n"
		   ");\n" BASE_POOLS,
		   &errs);
	assert_non_null(cfg);
	assert_non_null(cfg->listeners[0].tls);
	assert_int_equal(cfg->listeners[0].tls->ncerts, 2);
	assert_string_equal(cfg->listeners[0].tls->certs[1].cert, "b.crt");
	assert_int_equal(cfg->listeners[0].tls->certs[1].line, 4);
	assert_string_equal(cfg->listeners[0].tls->min_version, "TLSv1.3");
	assert_string_equal(cfg->listeners[0].tls->ciphersuites, "TLS_AES_128_GCM_SHA256");
	assert_null(cfg->listeners[0].tls->ciphers);
	assert_string_equal(cfg->listeners[0].tls->alpn, "h2,http/1.1");
	config_free(cfg);

	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18443\"; pool = \"flask\";\n"
			 "    tls = { min_version = \"TLSv1.2\"; }; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.tls.certificates", 3, "at least 1 certificate");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18443\"; pool = \"flask\";\n"
			 "    tls = { certificates = (); }; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.tls.certificates", 3, "at least 1 certificate");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18443\"; pool = \"flask\";\n"
			 "    tls = { certificates = ( { cert = \"a.crt\"; } ); }; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.tls.certificates.[0].key", 3, "missing required key 'key'");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18443\"; pool = \"flask\";\n"
			 "    tls = { certificates = ( { cert = \"\"; key = \"k\"; } ); }; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.tls.certificates.[0].cert", 3, "must not be empty");
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18443\"; pool = \"flask\";\n"
			 "    tls = { certificates = ( { cert = \"c\"; key = \"k\"; } );\n"
			 "            min_version = \"SSLv3\"; }; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.tls.min_version", 4, "\"SSLv3\" is not one of");
}

static void test_control_listen(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;

	cfg = load("control = { listen = \"unix:/run/fulcrum/control.sock\"; token_file = \"/t\"; };\n"
		   BASE_LISTENERS BASE_POOLS, &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->control.listen, "unix:/run/fulcrum/control.sock");
	assert_string_equal(cfg->control.token_file, "/t");
	config_free(cfg);
	cfg = load("control = { listen = \"[::1]:9000\"; };\n" BASE_LISTENERS BASE_POOLS, &errs);
	assert_non_null(cfg);
	config_free(cfg);

	expect_one_error("control = { listen = \"unix:\"; };\n" BASE_LISTENERS BASE_POOLS,
			 "control.listen", 1, "missing path");
	expect_one_error("control = { listen = \"9000\"; };\n" BASE_LISTENERS BASE_POOLS,
			 "control.listen", 1, "host:port");
	expect_one_error("control = {\n  token = \"x\"; };\n" BASE_LISTENERS BASE_POOLS,
			 "control.token", 2, "unknown key");

	/* anyone who can reach a non-loopback control API could change the pools */
	expect_one_error("control = {\n  listen = \"0.0.0.0:9000\"; };\n" BASE_LISTENERS BASE_POOLS,
			 "control.listen", 2, "needs control.token_file");
	expect_one_error("control = { listen = \"[::]:9000\"; };\n" BASE_LISTENERS BASE_POOLS,
			 "control.listen", 1, "needs control.token_file");
	cfg = load("control = { listen = \"0.0.0.0:9000\"; token_file = \"/t\"; };\n"
		   BASE_LISTENERS BASE_POOLS, &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->control.generations_keep, 100);
	config_free(cfg);
	cfg = load("control = { listen = \"127.0.0.2:9000\"; generations_keep = 5; };\n"
		   BASE_LISTENERS BASE_POOLS, &errs);
	assert_non_null(cfg);
	assert_int_equal(cfg->control.generations_keep, 5);
	config_free(cfg);
	expect_one_error("control = { generations_keep = 0; };\n" BASE_LISTENERS BASE_POOLS,
			 "control.generations_keep", 1, "out of range");
}

static void test_int64(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg = load("listeners = (\n"
				  "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
				  "    body_max_bytes = 10000000000L; }\n"
				  ");\n" BASE_POOLS,
				  &errs);

	assert_non_null(cfg);
	assert_true(cfg->listeners[0].body_max_bytes == 10000000000ull);
	config_free(cfg);
	expect_one_error("workers = 10000000000L;\n" BASE_LISTENERS BASE_POOLS, "workers", 1,
			 "out of range");
}

/* ---- API around the errors and the config ------------------------------------------- */

static void test_errors_print(void **state)
{
	struct config_errors errs = { 0 };
	char *out = NULL;
	size_t outlen = 0;
	FILE *fp;

	assert_null(config_load_string("workers = -3;\nlisteners = ();\n", "t.cfg", &errs));
	fp = open_memstream(&out, &outlen);
	assert_non_null(fp);
	config_errors_print(&errs, fp);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(out, "t.cfg:1: workers: -3 is out of range 0..256\n"
				 "t.cfg:2: listeners: at least 1 listener is required\n");
	free(out);

	assert_null(config_load_string("a = ;\n", "s.cfg", &errs));
	fp = open_memstream(&out, &outlen);
	assert_non_null(fp);
	config_errors_print(&errs, fp);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(out, "s.cfg:1: syntax error\n");
	free(out);
	config_errors_clear(&errs);
	assert_int_equal(errs.count, 0);
	assert_null(errs.items);
}

static void test_errors_reused(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;

	assert_null(load("workers = 1000;\n", &errs));
	assert_true(errs.count > 0);
	/* A later successful load leaves errs empty (the old errors are freed). */
	cfg = load(BASE_LISTENERS BASE_POOLS, &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	config_free(cfg);
	/* errs may be NULL; nothing leaks. */
	assert_null(config_load_string("workers = 1000;\n", "x", NULL));
	assert_null(config_load_file("/nonexistent", NULL));
	config_free(NULL);
}

/* HTTP/2 keys only where they can act: http2 (ALPN) needs a TLS http listener, h2c
 * (prior knowledge) a plain http one; a plain listener with h2c loads. http2's default
 * (on) applies only where it can act: a plain or tcp listener that does not name it
 * loads with it off. */
static void test_http2_keys_placed(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;

	(void)state;
	expect_one_error("listeners = (\n"
			 "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\";\n"
			 "    http2 = true; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.web.http2", 3, "http2 needs mode = \"http\" and tls");
	expect_one_error("listeners = (\n"
			 "  { name = \"raw\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; mode = \"tcp\";\n"
			 "    h2c = true; }\n"
			 ");\n" BASE_POOLS,
			 "listeners.raw.h2c", 3, "h2c needs mode = \"http\" without tls");
	cfg = load("listeners = (\n"
		   "  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; h2c = true; }\n"
		   ");\n" BASE_POOLS, &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	assert_int_equal(cfg->listeners[0].h2c, 1);
	assert_int_equal(cfg->listeners[0].http2, 0);
	config_free(cfg);
	config_errors_clear(&errs);
	cfg = load("listeners = (\n"
		   "  { name = \"raw\"; bind = \"127.0.0.1:18081\"; pool = \"flask\"; mode = \"tcp\"; }\n"
		   ");\n" BASE_POOLS, &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	assert_int_equal(cfg->listeners[0].http2, 0);
	config_free(cfg);
	config_errors_clear(&errs);
}

static void test_find_pool(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg = load(BASE_LISTENERS
				  "pools = ( { name = \"flask\"; }, { name = \"api\"; } );\n", &errs);

	assert_non_null(cfg);
	assert_ptr_equal(config_find_pool(cfg, "api"), &cfg->pools[1]);
	assert_ptr_equal(config_find_pool(cfg, "flask"), &cfg->pools[0]);
	assert_null(config_find_pool(cfg, "API"));
	assert_null(config_find_pool(cfg, NULL));
	config_free(cfg);
}

static void test_reload_check(void **state)
{
	struct config_errors errs = { 0 };
	struct config *a = load("workers = 2;\n" BASE_LISTENERS BASE_POOLS, &errs);
	struct config *b = load("workers = 2; log = { level = \"debug\"; };\n"
				BASE_LISTENERS "pools = ( { name = \"flask\"; } );\n", &errs);
	struct config *c = load("workers = 4; state_dir = \"/srv/f\";\n"
				"control = { listen = \"127.0.0.1:9001\"; };\n"
				BASE_LISTENERS BASE_POOLS, &errs);

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	/* Log level and the backends may change on reload. */
	assert_int_equal(config_reload_check(a, b, &errs), 0);
	assert_int_equal(errs.count, 0);
	assert_int_equal(config_reload_check(a, c, &errs), 3);
	assert_int_equal(errs.count, 3);
	expect_error(&errs, "workers", 0, "restart");
	expect_error(&errs, "state_dir", 0, "restart");
	expect_error(&errs, "control.listen", 0, "restart");
	assert_string_equal(errs.items[0].file, c->source);
	config_errors_clear(&errs);
	config_free(a);
	config_free(b);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_unknown_key_top),
		cmocka_unit_test(test_unknown_key_nested),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_duplicate_listener_name),
		cmocka_unit_test(test_duplicate_backend_name),
		cmocka_unit_test(test_duplicate_bind),
		cmocka_unit_test(test_missing_pool),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_bounds_accepted),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_bad_enum),
		cmocka_unit_test(test_accept_proxy),
		cmocka_unit_test(test_multiple_errors),
		cmocka_unit_test(test_no_listeners),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_index_paths),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_control_listen),
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_errors_print),
		cmocka_unit_test(test_errors_reused),
		cmocka_unit_test(test_http2_keys_placed),
		cmocka_unit_test(test_find_pool),
		cmocka_unit_test(test_reload_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
