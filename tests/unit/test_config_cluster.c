/* test_config_cluster.c: the cluster key group (core/config_schema.c, core/config.c):
 * absent by default, defaults, the endpoint list kept joined, and bad values refused
 * with file, line and key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config_testlib.h"

#define WITH(cluster) BASE_LISTENERS BASE_POOLS cluster /* line 11 */

static void test_absent_and_defaults(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg = load(BASE_LISTENERS BASE_POOLS, &errs);

	(void)state;
	assert_non_null(cfg);
	assert_null(cfg->cluster);
	config_free(cfg);

	cfg = load(WITH("cluster = { name = \"edge\"; endpoints = ( \"http://127.0.0.1:2379\", "
			"\"https://[::1]:2379\" ); };\n"), &errs);
	if (!cfg)
		config_errors_print(&errs, stderr);
	assert_non_null(cfg);
	assert_non_null(cfg->cluster);
	assert_string_equal(cfg->cluster->name, "edge");
	assert_int_equal(cfg->cluster->store, CLUSTER_STORE_ETCD);
	assert_string_equal(cfg->cluster->endpoints, "http://127.0.0.1:2379,https://[::1]:2379");
	assert_int_equal(cfg->cluster->timeout_ms, 5000);
	assert_null(cfg->cluster->tls);
	assert_null(cfg->cluster->replica_id);
	assert_int_equal(cfg->cluster->replica_ttl_s, 5);
	config_free(cfg);

	cfg = load(WITH("cluster = { name = \"edge\"; endpoints = ( \"http://a:1\" ); "
			"replica_id = \"edge-0\"; replica_ttl_s = 3; };\n"), &errs);
	assert_non_null(cfg);
	assert_string_equal(cfg->cluster->replica_id, "edge-0");
	assert_int_equal(cfg->cluster->replica_ttl_s, 3);
	config_free(cfg);
}

static void test_bad_values(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;

	(void)state;
	cfg = load(WITH("cluster = { store = \"consul\"; timeout_ms = 50; };\n"), &errs);
	assert_null(cfg);
	expect_error(&errs, "cluster.name", 11, "missing required key");
	expect_error(&errs, "cluster.endpoints", 11, "missing required key");
	expect_error(&errs, "cluster.store", 11, "not one of");
	expect_error(&errs, "cluster.timeout_ms", 11, "out of range");
	config_errors_clear(&errs);

	cfg = load(WITH("cluster = { name = \"e\"; endpoints = ( \"ftp://a:1\", \"http://a:1/v3\", "
			"\"http://\" ); };\n"), &errs);
	assert_null(cfg);
	expect_error(&errs, "cluster.endpoints.[0]", 11, "http:// or https://");
	expect_error(&errs, "cluster.endpoints.[1]", 11, "no path");
	expect_error(&errs, "cluster.endpoints.[2]", 11, "no host");
	config_errors_clear(&errs);

	cfg = load(WITH("cluster = { name = \"e\"; endpoints = ( \"http://a:1\" );\n"
			"  tls = { cert_file = \"/c.pem\"; }; };\n"), &errs);
	assert_null(cfg);
	expect_error(&errs, "cluster.tls", 12, "go together");
	assert_non_null(find_error(&errs, "cluster.tls"));
	config_errors_clear(&errs);

	cfg = load(WITH("cluster = { name = \"e\"; endpoints = ( \"http://a:1\" ); "
			"replica_id = \"a/b\"; replica_ttl_s = 1; };\n"), &errs);
	assert_null(cfg);
	expect_error(&errs, "cluster.replica_id", 11, "");
	expect_error(&errs, "cluster.replica_ttl_s", 11, "out of range");
	config_errors_clear(&errs);
}

static void test_tls_no_https(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;

	(void)state;
	cfg = load(WITH("cluster = { name = \"e\"; endpoints = ( \"http://a:1\" );\n"
			"  tls = { ca_file = \"/ca.pem\"; }; };\n"), &errs);
	assert_null(cfg);
	expect_error(&errs, "cluster.tls", 12, "no endpoint is https://");
	config_errors_clear(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent_and_defaults),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_tls_no_https),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
