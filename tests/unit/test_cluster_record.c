/* test_cluster_record.c: unit tests of a replica key's JSON (control/cluster_record.c):
 * a round trip, what a reader requires and refuses, "empty at revision" lookups, the
 * comparison that decides a re-put, and the default replica id. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_replica.h"

static struct creplica sample(void)
{
	struct creplica r;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "edge-0");
	snprintf(r.control, sizeof(r.control), "10.0.0.5:9000");
	snprintf(r.version, sizeof(r.version), "0.1.0");
	snprintf(r.config, sizeof(r.config), "0123456789abcdef");
	r.applied = 9007199254740991LL;  /* 2^53 - 1: exact through JSON */
	r.started = 1765000000.5;
	r.store_up = 1;
	r.ready = 0;
	r.empty = calloc(2, sizeof(*r.empty));
	assert_non_null(r.empty);
	snprintf(r.empty[0].pool, sizeof(r.empty[0].pool), "flask");
	snprintf(r.empty[0].name, sizeof(r.empty[0].name), "web-1");
	r.empty[0].rev = 40;
	snprintf(r.empty[1].pool, sizeof(r.empty[1].pool), "flask");
	snprintf(r.empty[1].name, sizeof(r.empty[1].name), "web-2");
	r.empty[1].rev = 41;
	r.nempty = 2;
	return r;
}

static void test_round_trip(void **state)
{
	struct creplica r = sample(), back;
	char err[128], *text = creplica_encode(&r);

	(void)state;
	assert_non_null(text);
	assert_non_null(strstr(text, "\"applied_revision\":9007199254740991"));
	assert_non_null(strstr(text, "\"empty\":[{\"pool\":\"flask\",\"name\":\"web-1\",\"revision\":40}"));
	assert_int_equal(creplica_decode(text, strlen(text), &back, err, sizeof(err)), 0);
	assert_true(creplica_same(&r, &back));
	assert_string_equal(back.control, "10.0.0.5:9000");
	assert_int_equal(back.applied, 9007199254740991LL);
	assert_true(back.store_up);
	assert_false(back.ready);
	assert_string_equal(back.config, "0123456789abcdef");
	assert_int_equal(back.nempty, 2);
	back.config[0] = '1';  /* another config file: a key to put again */
	assert_false(creplica_same(&r, &back));
	back.config[0] = '0';
	back.empty[1].rev = 42;
	assert_false(creplica_same(&r, &back));
	back.empty[1].rev = 41;
	back.applied--;
	assert_false(creplica_same(&r, &back));
	creplica_clear(&back);
	free(text);
	creplica_clear(&r);
}

static void test_minimal_and_unknown_fields(void **state)
{
	const char *text = "{\"id\":\"r1\",\"applied_revision\":7,\"future\":{\"x\":1}}";
	struct creplica r;
	char err[128];

	(void)state;
	assert_int_equal(creplica_decode(text, strlen(text), &r, err, sizeof(err)), 0);
	assert_string_equal(r.id, "r1");
	assert_int_equal(r.applied, 7);
	assert_string_equal(r.control, "");
	assert_string_equal(r.config, "");  /* an older replica says none */
	assert_int_equal(r.nempty, 0);
	assert_null(r.empty);
	creplica_clear(&r);
}

static void expect_refused(const char *text, const char *words)
{
	struct creplica r;
	char err[128] = "";

	assert_int_equal(creplica_decode(text, strlen(text), &r, err, sizeof(err)), -1);
	if (!strstr(err, words))
		fail_msg("decoding %s: error '%s' lacks '%s'", text, err, words);
	assert_null(r.empty);
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused("[1]", "not a JSON object");
	expect_refused("{\"id\":\"r", "not a JSON object");
	expect_refused("{\"applied_revision\":1}", "\"id\"");
	expect_refused("{\"id\":\"\",\"applied_revision\":1}", "\"id\"");
	expect_refused("{\"id\":\"r1\"}", "\"applied_revision\"");
	expect_refused("{\"id\":\"r1\",\"applied_revision\":-1}", "not a revision");
	expect_refused("{\"id\":\"r1\",\"applied_revision\":1.5}", "not a revision");
	expect_refused("{\"id\":\"r1\",\"applied_revision\":\"5\"}", "not a revision");
	expect_refused("{\"id\":\"r1\",\"applied_revision\":1,\"empty\":{}}", "not an array");
	expect_refused("{\"id\":\"r1\",\"applied_revision\":1,\"empty\":[1]}", "not an object");
	expect_refused("{\"id\":\"r1\",\"applied_revision\":1,\"empty\":[{\"pool\":\"p\",\"revision\":3}]}",
		       "\"name\"");
	expect_refused("{\"id\":\"r1\",\"applied_revision\":1,\"empty\":[{\"pool\":\"p\",\"name\":\"n\"}]}",
		       "\"revision\"");
	expect_refused("{\"id\":\"r1\",\"applied_revision\":1,\"control\":5}", "\"control\"");
}

static void test_too_many_empty(void **state)
{
	size_t i, cap = 64 + 40 * (CREPLICA_EMPTY_MAX + 1);
	char *text = malloc(cap), *p = text;

	(void)state;
	assert_non_null(text);
	p += sprintf(p, "{\"id\":\"r1\",\"applied_revision\":1,\"empty\":[");
	for (i = 0; i <= CREPLICA_EMPTY_MAX; i++)
		p += sprintf(p, "%s{\"pool\":\"p\",\"name\":\"n%zu\",\"revision\":1}", i ? "," : "", i);
	sprintf(p, "]}");
	expect_refused(text, "more than");
	free(text);
}

static void test_empty_at(void **state)
{
	struct creplica r = sample();

	(void)state;
	assert_true(creplica_empty_at(&r, "flask", "web-1", 40));
	assert_true(creplica_empty_at(&r, "flask", "web-1", 39));
	/* empty as of an older revision says nothing about a drain after it */
	assert_false(creplica_empty_at(&r, "flask", "web-1", 41));
	assert_false(creplica_empty_at(&r, "flask", "web-3", 1));
	assert_false(creplica_empty_at(&r, "other", "web-1", 1));
	creplica_clear(&r);
}

static void test_default_id(void **state)
{
	char id[CREPLICA_ID_MAX];
	char host[200];

	(void)state;
	creplica_default_id("lb-7", "127.0.0.1:9000", id, sizeof(id));
	assert_string_equal(id, "lb-7-127.0.0.1-9000");
	creplica_default_id("lb-7", "[::1]:9000", id, sizeof(id));
	assert_string_equal(id, "lb-7----1--9000");
	creplica_default_id("lb-7", "unix:/run/fulcrum/ctl.sock", id, sizeof(id));
	assert_string_equal(id, "lb-7-unix--run-fulcrum-ctl.sock");
	creplica_default_id("", "", id, sizeof(id));
	assert_string_equal(id, "fulcrum");
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	creplica_default_id(host, "1.2.3.4:5", id, sizeof(id));
	assert_int_equal(strlen(id), CREPLICA_ID_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_minimal_and_unknown_fields),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_too_many_empty),
		cmocka_unit_test(test_empty_at),
		cmocka_unit_test(test_default_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
