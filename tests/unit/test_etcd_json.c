/* test_etcd_json.c: unit tests of the etcd client's pure part (control/store_etcd_json.c):
 * base64 both ways, prefix range ends, the request JSON the gateway gets, and the parsing
 * of its answers (ranges, txns, leases, errors) and watch messages, the answers taken from
 * etcd 3.4.23's gateway. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "etcd_json.h"

#define HDR "\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":\"1\",\"revision\":\"7\",\"raft_term\":\"2\"}"

static void b64_round(const char *in, size_t n, const char *want)
{
	char enc[64], *dec;
	size_t len;

	assert_int_equal(etcd_b64_encode(in, n, enc), strlen(want));
	assert_string_equal(enc, want);
	assert_int_equal(etcd_b64_decode(enc, strlen(enc), &dec, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(dec, in, n);
	assert_int_equal(dec[n], '\0');
	free(dec);
}

static void b64_bad(const char *in)
{
	char *dec = (char *)1;
	size_t len = 9;

	assert_int_equal(etcd_b64_decode(in, strlen(in), &dec, &len), -1);
	assert_null(dec);
	assert_int_equal(len, 0);
}

static void test_base64(void **state)
{
	char *dec;
	size_t len;

	b64_round("", 0, "");
	b64_round("f", 1, "Zg==");
	b64_round("fo", 2, "Zm8=");
	b64_round("foo", 3, "Zm9v");
	b64_round("foob", 4, "Zm9vYg==");
	b64_round("\x00\xff\n\x00", 4, "AP8KAA==");
	b64_round("\xfb\xff", 2, "+/8=");
	/* unpadded is taken too */
	assert_int_equal(etcd_b64_decode("Zm8", 3, &dec, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(dec, "fo", 2);
	free(dec);
	b64_bad("!!");
	b64_bad("Z");             /* one character carries no byte */
	b64_bad("Zm9=v");         /* padding in the middle */
	b64_bad("Zg=");           /* padding that does not complete a group */
	b64_bad("Zh==");          /* non-zero bits in the padding */
	b64_bad("Zm9v\n");
	b64_bad("Zg===");
}

static void test_prefix_end(void **state)
{
	char out[8];

	assert_int_equal(etcd_prefix_end("/a/", 3, out), 3);
	assert_memory_equal(out, "/a0", 3);
	assert_int_equal(etcd_prefix_end("a\xff\xff", 3, out), 1);
	assert_memory_equal(out, "b", 1);
	assert_int_equal(etcd_prefix_end("\xff", 1, out), 0);
	assert_int_equal(etcd_prefix_end("", 0, out), 0);
}

/* The string field name of object o, "" when absent. */
static const char *field(const cJSON *o, const char *name)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(j) ? j->valuestring : "";
}

static void test_requests(void **state)
{
	struct cstore_op ops[3] = {
		{ .type = CSTORE_PUT, .key = "/p/a", .value = "\0x", .value_len = 2, .lease = 77 },
		{ .type = CSTORE_DELETE, .key = "/p/b" },
		{ .type = CSTORE_DELETE_PREFIX, .key = "/q/" },
	};
	struct cstore_txn t = { .cmp_key = "/p/a", .cmp_rev = 12, .ops = ops, .nops = 3 };
	char *s;
	cJSON *root, *o;

	s = etcd_req_range("/fulcrum/");
	root = cJSON_Parse(s);
	assert_string_equal(field(root, "key"), "L2Z1bGNydW0v");      /* /fulcrum/ */
	assert_string_equal(field(root, "range_end"), "L2Z1bGNydW0w"); /* /fulcrum0 */
	cJSON_Delete(root);
	free(s);

	s = etcd_req_range("");
	root = cJSON_Parse(s);
	assert_string_equal(field(root, "key"), "AA==");
	assert_string_equal(field(root, "range_end"), "AA==");
	cJSON_Delete(root);
	free(s);

	/* a list as of a revision (a rollback's read); none without one */
	s = etcd_req_range_at("/fulcrum/", 9007199254740993LL);
	root = cJSON_Parse(s);
	assert_string_equal(field(root, "key"), "L2Z1bGNydW0v");
	assert_string_equal(field(root, "revision"), "9007199254740993");
	cJSON_Delete(root);
	free(s);
	s = etcd_req_range_at("/fulcrum/", 0);
	root = cJSON_Parse(s);
	assert_null(cJSON_GetObjectItem(root, "revision"));
	cJSON_Delete(root);
	free(s);

	s = etcd_req_txn(&t);
	root = cJSON_Parse(s);
	assert_non_null(root);
	o = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "compare"), 0);
	assert_string_equal(field(o, "key"), "L3AvYQ==");
	assert_string_equal(field(o, "target"), "MOD");
	assert_string_equal(field(o, "result"), "EQUAL");
	assert_string_equal(field(o, "mod_revision"), "12");
	o = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "failure"), 0), "request_range");
	assert_string_equal(field(o, "key"), "L3AvYQ==");
	o = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "success"), 0), "request_put");
	assert_string_equal(field(o, "value"), "AHg=");
	assert_string_equal(field(o, "lease"), "77");
	o = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "success"), 1), "request_delete_range");
	assert_string_equal(field(o, "key"), "L3AvYg==");
	assert_null(cJSON_GetObjectItem(o, "range_end"));
	o = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "success"), 2), "request_delete_range");
	assert_string_equal(field(o, "range_end"), "L3Ew"); /* /q0 */
	cJSON_Delete(root);
	free(s);

	/* "absent": mod revision 0; unconditional: no compare, no failure branch */
	t.cmp_rev = 0;
	s = etcd_req_txn(&t);
	assert_non_null(strstr(s, "\"mod_revision\":\"0\""));
	free(s);
	t.cmp_key = NULL;
	s = etcd_req_txn(&t);
	assert_null(strstr(s, "compare"));
	assert_null(strstr(s, "failure"));
	free(s);
	/* a put without a key, a negative revision: refused */
	ops[0].key = "";
	assert_null(etcd_req_txn(&t));
	ops[0].key = "/p/a";
	t.cmp_key = "/p/a";
	t.cmp_rev = -1;
	assert_null(etcd_req_txn(&t));

	s = etcd_req_watch("/w/", 42);
	root = cJSON_Parse(s);
	o = cJSON_GetObjectItem(root, "create_request");
	assert_string_equal(field(o, "key"), "L3cv");
	assert_string_equal(field(o, "range_end"), "L3cw");
	assert_string_equal(field(o, "start_revision"), "42");
	cJSON_Delete(root);
	free(s);
	s = etcd_req_watch("/w/", 0);
	assert_null(strstr(s, "start_revision"));
	free(s);

	s = etcd_req_lease_grant(5);
	assert_string_equal(s, "{\"TTL\":\"5\"}");
	free(s);
	s = etcd_req_lease_id(4111120469908131081);
	assert_string_equal(s, "{\"ID\":\"4111120469908131081\"}");
	free(s);
}

static void test_parse_range(void **state)
{
	const char *ok = "{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
			 "\"mod_revision\":\"5\",\"version\":\"1\",\"value\":\"AP8KAA==\",\"lease\":\"9\"},"
			 "{\"key\":\"Zm9w\",\"create_revision\":\"3\",\"mod_revision\":\"3\"}],\"count\":\"2\"}";
	struct cstore_kv *kvs;
	size_t n;
	int64_t rev;
	char err[128];

	assert_int_equal(etcd_parse_range(ok, strlen(ok), &kvs, &n, &rev, err, sizeof(err)), 0);
	assert_int_equal(rev, 7);
	assert_int_equal(n, 2);
	assert_string_equal(kvs[0].key, "foo");
	assert_int_equal(kvs[0].value_len, 4);
	assert_memory_equal(kvs[0].value, "\0\xff\n\0", 4);
	assert_int_equal(kvs[0].mod_rev, 5);
	assert_int_equal(kvs[0].create_rev, 2);
	assert_int_equal(kvs[0].lease, 9);
	assert_string_equal(kvs[1].key, "fop");
	assert_int_equal(kvs[1].value_len, 0);   /* an empty value is left out by the gateway */
	assert_string_equal(kvs[1].value, "");
	etcd_kvs_free(kvs, n);

	/* an empty range: no kvs at all */
	assert_int_equal(etcd_parse_range("{" HDR "}", strlen("{" HDR "}"), &kvs, &n, &rev, err,
					  sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_null(kvs);

	/* wrong shapes */
	const char *bad[] = {
		"[]", "{}", "{\"header\":{\"revision\":\"x\"}}",
		"{" HDR ",\"kvs\":{}}",
		"{" HDR ",\"kvs\":[{\"key\":\"!!\"}]}",
		"{" HDR ",\"kvs\":[{\"value\":\"Zm9v\",\"mod_revision\":\"1\"}]}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":\"-1\"}]}",
		"{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"mod_revision\":\"1\"},{\"key\":\"Zm9v\",\"mod_revision\":true}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(etcd_parse_range(bad[i], strlen(bad[i]), &kvs, &n, &rev, err,
						  sizeof(err)), -1);
		assert_null(kvs);
		assert_true(err[0]);
	}
}

static void test_parse_txn(void **state)
{
	const char *won = "{" HDR ",\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":{\"revision\":\"7\"}}}]}";
	const char *lost = "{" HDR ",\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"7\"},"
			   "\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"6\","
			   "\"version\":\"2\",\"value\":\"YmFy\"}],\"count\":\"1\"}}]}";
	const char *absent = "{" HDR ",\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"7\"}}}]}";
	struct cstore_kv *kvs;
	size_t n;
	int64_t rev;
	int ok;
	char err[128];

	assert_int_equal(etcd_parse_txn(won, strlen(won), &ok, &rev, &kvs, &n, err, sizeof(err)), 0);
	assert_true(ok);
	assert_int_equal(rev, 7);
	assert_int_equal(n, 0);
	assert_int_equal(etcd_parse_txn(lost, strlen(lost), &ok, &rev, &kvs, &n, err, sizeof(err)), 0);
	assert_false(ok);
	assert_int_equal(n, 1);
	assert_int_equal(kvs[0].mod_rev, 6);
	assert_string_equal(kvs[0].value, "bar");
	etcd_kvs_free(kvs, n);
	assert_int_equal(etcd_parse_txn(absent, strlen(absent), &ok, &rev, &kvs, &n, err, sizeof(err)), 0);
	assert_false(ok);
	assert_int_equal(n, 0);
	assert_int_equal(etcd_parse_txn("{" HDR ",\"succeeded\":\"yes\"}", strlen("{" HDR ",\"succeeded\":\"yes\"}"),
					&ok, &rev, &kvs, &n, err, sizeof(err)), -1);
	assert_int_equal(etcd_parse_txn("{" HDR ",\"responses\":[{\"response_range\":[]}]}",
					strlen("{" HDR ",\"responses\":[{\"response_range\":[]}]}"),
					&ok, &rev, &kvs, &n, err, sizeof(err)), -1);
}

static void test_parse_lease_and_error(void **state)
{
	const char *grant = "{" HDR ",\"ID\":\"4111120469908131081\",\"TTL\":\"5\"}";
	const char *kept = "{\"result\":{" HDR ",\"ID\":\"4111120469908131081\",\"TTL\":\"5\"}}";
	const char *gone = "{\"result\":{" HDR ",\"ID\":\"123\"}}";
	const char *e = "{\"error\":\"etcdserver: requested lease not found\",\"message\":"
			"\"etcdserver: requested lease not found\",\"code\":5}";
	const char *se = "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"no leader\"}}";
	int64_t id, ttl;
	int code;
	char err[128];

	assert_int_equal(etcd_parse_lease(grant, strlen(grant), &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(id, 4111120469908131081);
	assert_int_equal(ttl, 5);
	assert_int_equal(etcd_parse_lease(kept, strlen(kept), &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 5);
	assert_int_equal(etcd_parse_lease(gone, strlen(gone), &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(id, 123);
	assert_int_equal(ttl, 0);
	assert_int_equal(etcd_parse_lease("{\"TTL\":\"-3\"}", 12, &id, &ttl, err, sizeof(err)), -1);
	assert_int_equal(etcd_parse_lease("{\"result\":7}", 12, &id, &ttl, err, sizeof(err)), -1);

	assert_int_equal(etcd_parse_error(e, strlen(e), &code, err, sizeof(err)), 0);
	assert_int_equal(code, 5);
	assert_string_equal(err, "etcdserver: requested lease not found");
	assert_int_equal(etcd_parse_error(se, strlen(se), &code, err, sizeof(err)), 0);
	assert_int_equal(code, 14);
	assert_string_equal(err, "no leader");
	assert_int_equal(etcd_parse_error("404 page not found", 18, &code, err, sizeof(err)), -1);
	assert_int_equal(etcd_parse_error("{\"x\":1}", 7, &code, err, sizeof(err)), -1);
}

static void test_parse_watch(void **state)
{
	const char *created = "{\"result\":{" HDR ",\"created\":true}}";
	const char *events = "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"Zm9v\",\"create_revision\":\"2\","
			     "\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"YmFy\"}},{\"type\":\"DELETE\","
			     "\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"3\"}}]}}";
	const char *compacted = "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"raft_term\":\"2\"},"
				"\"canceled\":true,\"compact_revision\":\"6\"}}";
	const char *canceled = "{\"result\":{" HDR ",\"canceled\":true,\"cancel_reason\":\"permission denied\"}}";
	const char *stream_err = "{\"error\":{\"grpc_code\":1,\"http_code\":408,\"message\":\"context canceled\"}}";
	const char *bad[] = {
		"{\"result\":{" HDR ",\"events\":[{\"type\":\"TOUCH\",\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"3\"}}]}}",
		"{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"3\"}},"
		"{\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"2\"}}]}}",
		"{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"Zm9v\"}}]}}",
		"{\"result\":{" HDR ",\"events\":{}}}",
		"{\"result\":{" HDR ",\"compact_revision\":\"x\"}}",
		"{\"result\":[]}",
		"{}",
		"nope",
	};
	struct etcd_watch_msg m;
	char err[128];
	size_t i;

	assert_int_equal(etcd_parse_watch(created, strlen(created), &m, err, sizeof(err)), 0);
	assert_int_equal(m.kind, ETCD_W_CREATED);
	assert_int_equal(m.rev, 7);
	assert_int_equal(etcd_parse_watch(events, strlen(events), &m, err, sizeof(err)), 0);
	assert_int_equal(m.kind, ETCD_W_EVENTS);
	assert_int_equal(m.nevents, 2);
	assert_int_equal(m.events[0].type, CSTORE_EV_PUT);
	assert_string_equal(m.events[0].kv.value, "bar");
	assert_int_equal(m.events[0].kv.mod_rev, 2);
	assert_int_equal(m.events[1].type, CSTORE_EV_DELETE);
	assert_string_equal(m.events[1].kv.key, "foo");
	assert_int_equal(m.events[1].kv.mod_rev, 3);
	etcd_watch_msg_clear(&m);
	assert_int_equal(etcd_parse_watch(compacted, strlen(compacted), &m, err, sizeof(err)), 0);
	assert_int_equal(m.kind, ETCD_W_COMPACTED);
	assert_int_equal(m.compact_rev, 6);
	assert_int_equal(etcd_parse_watch(canceled, strlen(canceled), &m, err, sizeof(err)), 0);
	assert_int_equal(m.kind, ETCD_W_CANCELED);
	assert_string_equal(m.message, "permission denied");
	assert_int_equal(etcd_parse_watch(stream_err, strlen(stream_err), &m, err, sizeof(err)), 0);
	assert_int_equal(m.kind, ETCD_W_ERROR);
	assert_string_equal(m.message, "context canceled");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(etcd_parse_watch(bad[i], strlen(bad[i]), &m, err, sizeof(err)), -1);
		assert_null(m.events);
		assert_true(err[0]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_parse_txn),
		cmocka_unit_test(test_parse_lease_and_error),
		cmocka_unit_test(test_parse_watch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
