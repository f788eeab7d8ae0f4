/* test_ctl_put.c: unit tests of control/backend_put.c and control/lease.c: a PUT's
 * left-out fields keep the backend's value in every admin state (a re-weight never
 * un-drains), leases are given, kept and renewed, expired leases are dropped at start,
 * and lease, identity and generation high-water survive a journal round trip. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl_api.h"
#include "ctl_journal.h"

enum field { F_ADDRESS, F_WEIGHT, F_MAX_CONNS, F_STATE, F_IDENTITY, F_TTL, F__COUNT };

static const char *const field_names[F__COUNT] = {
	"address", "weight", "max_conns", "state", "identity", "ttl_s"
};

static struct config *load(const char *text);
static struct ctl_backend_put all_but(enum field left_out, enum admin_state st);

static void test_left_out_fields_keep_their_value(void **state);
static void test_new_backend_defaults_and_pool_lease(void **state);
static void test_lease_renewal_outcomes(void **state);
static void test_expired_at_start(void **state);
static void test_record_roundtrip(void **state);
static void test_merge_identity(void **state);
static void test_rollback_keeps_leases(void **state);

#define NOW 1800000000.0

#define BASE                                                                                  \
	"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; } );\n"  \
	"pools = ( { name = \"flask\"; backends = (\n"                                        \
	"      { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 4; max_conns = 3; },\n" \
	"      { name = \"web-2\"; address = \"127.0.0.1:8002\"; identity = \"pod-2\"; } ); } );\n"

static struct config *load(const char *text)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(text, "test", &errs);

	if (!cfg) {
		config_errors_print(&errs, stderr);
		fail_msg("config does not load");
	}
	return cfg;
}

/* A body that sets every field to a new value except left_out; the new state is one
 * that differs from st. */
static struct ctl_backend_put all_but(enum field left_out, enum admin_state st)
{
	struct ctl_backend_put p;
	char err[256];

	memset(&p, 0, sizeof(p));
	p.has_address = left_out != F_ADDRESS;
	snprintf(p.address, sizeof(p.address), "127.0.0.1:9999");
	assert_int_equal(addr_parse(p.address, &p.addr, 0, err, sizeof(err)), 0);
	p.has_weight = left_out != F_WEIGHT;
	p.weight = 9;
	p.has_max_conns = left_out != F_MAX_CONNS;
	p.max_conns = 77;
	p.has_state = left_out != F_STATE;
	p.state = st == ADMIN_MAINT ? ADMIN_ACTIVE : ADMIN_MAINT;
	p.has_identity = left_out != F_IDENTITY;
	snprintf(p.identity, sizeof(p.identity), "new-id");
	p.has_ttl = left_out != F_TTL;
	p.ttl_s = 60;
	return p;
}

/* The bug of issue 17: {"weight": 4} on a draining or maint backend set it active.
 * Every field, left out alone, keeps the existing backend's value, in every state. */
static void test_left_out_fields_keep_their_value(void **state)
{
	struct config *cfg = load(BASE);
	struct cfg_backend *cur = ctl_config_backend(cfg, "flask", "web-1");
	struct ctl_jentry j, e;
	enum admin_state st;
	int f;

	assert_non_null(cur);
	cur->identity = strdup("old-id");
	assert_non_null(cur->identity);
	memset(&j, 0, sizeof(j));
	j.op = CTL_JOP_SET;
	j.ttl_s = 30;
	j.expires = NOW + 5;
	for (st = ADMIN_ACTIVE; st <= ADMIN_MAINT; st++) {
		cur->state = st;
		for (f = 0; f < F__COUNT; f++) {
			struct ctl_backend_put p = all_but((enum field)f, st);
			enum ctl_put_outcome out;

			memset(&e, 0, sizeof(e));
			snprintf(e.name, sizeof(e.name), "web-1");
			out = ctl_put_entry(cur, &j, &p, 0, NOW, &e);
			print_message("state %d, %s left out\n", (int)st, field_names[f]);
			assert_int_equal(out, CTL_PUT_CHANGE);
			assert_string_equal(e.address, f == F_ADDRESS ? "127.0.0.1:8001" : "127.0.0.1:9999");
			assert_int_equal(e.weight, f == F_WEIGHT ? 4 : 9);
			assert_int_equal(e.max_conns, f == F_MAX_CONNS ? 3 : 77);
			assert_int_equal(e.state, f == F_STATE ? st : p.state);
			assert_string_equal(e.identity, f == F_IDENTITY ? "old-id" : "new-id");
			assert_int_equal(e.ttl_s, f == F_TTL ? 30 : 60);
			/* a PUT renews whatever lease it leaves */
			assert_true(e.expires == NOW + e.ttl_s);
		}
		/* the weight alone, as fulcrumctl set --weight and the status page send it */
		{
			struct ctl_backend_put p;

			memset(&p, 0, sizeof(p));
			p.has_weight = 1;
			p.weight = 4 + 1;
			memset(&e, 0, sizeof(e));
			snprintf(e.name, sizeof(e.name), "web-1");
			assert_int_equal(ctl_put_entry(cur, NULL, &p, 0, NOW, &e), CTL_PUT_CHANGE);
			assert_int_equal(e.state, st);
			assert_int_equal(e.weight, 5);
			assert_int_equal(e.ttl_s, 0);
		}
		/* an empty body changes nothing; without a lease it writes nothing */
		{
			struct ctl_backend_put p;

			memset(&p, 0, sizeof(p));
			memset(&e, 0, sizeof(e));
			snprintf(e.name, sizeof(e.name), "web-1");
			assert_int_equal(ctl_put_entry(cur, NULL, &p, 0, NOW, &e), CTL_PUT_SAME);
			assert_int_equal(e.state, st);
		}
	}
	config_free(cfg);
}

static void test_new_backend_defaults_and_pool_lease(void **state)
{
	struct ctl_backend_put p;
	struct ctl_jentry e;
	char err[256];

	memset(&p, 0, sizeof(p));
	memset(&e, 0, sizeof(e));
	assert_int_equal(ctl_put_entry(NULL, NULL, &p, 0, NOW, &e), CTL_PUT_INVALID);
	p.has_address = 1;
	snprintf(p.address, sizeof(p.address), "127.0.0.1:8009");
	assert_int_equal(addr_parse(p.address, &p.addr, 0, err, sizeof(err)), 0);
	assert_int_equal(ctl_put_entry(NULL, NULL, &p, 45, NOW, &e), CTL_PUT_CHANGE);
	assert_int_equal(e.op, CTL_JOP_SET);
	assert_int_equal(e.weight, 1);
	assert_int_equal(e.max_conns, 0);
	assert_int_equal(e.state, ADMIN_ACTIVE);
	assert_string_equal(e.identity, "");
	assert_int_equal(e.ttl_s, 45);  /* the pool's lease_ttl_s */
	assert_true(e.expires == NOW + 45);
	/* ttl_s 0 in the body: no lease, whatever the pool says */
	p.has_ttl = 1;
	p.ttl_s = 0;
	assert_int_equal(ctl_put_entry(NULL, NULL, &p, 45, NOW, &e), CTL_PUT_CHANGE);
	assert_int_equal(e.ttl_s, 0);
	assert_true(e.expires == 0);
}

/* An unchanged PUT of a leased backend renews it without a new generation; dropping a
 * lease is a journal record too; the pool default never lands on an existing backend. */
static void test_lease_renewal_outcomes(void **state)
{
	struct config *cfg = load(BASE);
	struct cfg_backend *cur = ctl_config_backend(cfg, "flask", "web-1");
	struct ctl_backend_put p;
	struct ctl_jentry j, e;

	memset(&p, 0, sizeof(p));
	memset(&j, 0, sizeof(j));
	j.op = CTL_JOP_SET;
	j.ttl_s = 20;
	j.expires = NOW - 100;
	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "web-1");
	assert_int_equal(ctl_put_entry(cur, &j, &p, 0, NOW, &e), CTL_PUT_RENEW);
	assert_int_equal(e.ttl_s, 20);
	assert_true(e.expires == NOW + 20);
	p.has_ttl = 1;
	p.ttl_s = 0;
	assert_int_equal(ctl_put_entry(cur, &j, &p, 0, NOW, &e), CTL_PUT_RENEW);
	assert_int_equal(e.ttl_s, 0);
	p.has_ttl = 0;
	assert_int_equal(ctl_put_entry(cur, NULL, &p, 99, NOW, &e), CTL_PUT_SAME);
	assert_int_equal(e.ttl_s, 0);
	/* the identity a backend has by default is its name: saying so changes nothing */
	p.has_identity = 1;
	snprintf(p.identity, sizeof(p.identity), "web-1");
	assert_int_equal(ctl_put_entry(cur, NULL, &p, 0, NOW, &e), CTL_PUT_SAME);
	snprintf(p.identity, sizeof(p.identity), "web-1b");
	assert_int_equal(ctl_put_entry(cur, NULL, &p, 0, NOW, &e), CTL_PUT_CHANGE);
	/* a drain keeps the lease running as it was (ctl_entry_of) */
	memset(&e, 0, sizeof(e));
	ctl_entry_of(cur, &j, &e);
	assert_int_equal(e.ttl_s, 20);
	assert_true(e.expires == NOW - 100);
	config_free(cfg);
}

static void test_expired_at_start(void **state)
{
	struct config *cfg = load(BASE);
	struct ctl_jentry en[4];
	size_t expired = 0, n, i;

	memset(en, 0, sizeof(en));
	for (i = 0; i < 4; i++) {
		en[i].op = CTL_JOP_SET;
		snprintf(en[i].pool, sizeof(en[i].pool), "flask");
		en[i].seq = i + 1;
	}
	snprintf(en[0].name, sizeof(en[0].name), "web-1");      /* file's, expired */
	en[0].ttl_s = 10;
	en[0].expires = NOW - 1;
	snprintf(en[1].name, sizeof(en[1].name), "pod-a");      /* API's, expired */
	en[1].ttl_s = 10;
	en[1].expires = NOW;
	snprintf(en[2].name, sizeof(en[2].name), "pod-b");      /* API's, still running */
	en[2].ttl_s = 10;
	en[2].expires = NOW + 1;
	snprintf(en[3].name, sizeof(en[3].name), "pod-c");      /* no lease */
	n = ctl_lease_expire_entries(en, 4, cfg, NOW, &expired);
	assert_int_equal(expired, 2);
	assert_int_equal(n, 3);
	assert_string_equal(en[0].name, "web-1");
	assert_int_equal(en[0].op, CTL_JOP_DELETE);
	assert_int_equal(en[0].seq, 0);  /* a new record when the journal is rewritten */
	assert_string_equal(en[1].name, "pod-b");
	assert_int_equal(en[1].op, CTL_JOP_SET);
	assert_string_equal(en[2].name, "pod-c");
	config_free(cfg);
}

/* Lease, identity and the generation high-water mark come back from a record. */
static void test_record_roundtrip(void **state)
{
	struct ctl_journal j;
	struct ctl_journal_replay rep;
	struct ctl_jentry e;
	char buf[CTL_RECORD_MAX + 64], err[256];
	size_t len;

	memset(&e, 0, sizeof(e));
	e.op = CTL_JOP_SET;
	snprintf(e.pool, sizeof(e.pool), "flask");
	snprintf(e.name, sizeof(e.name), "pod-x");
	snprintf(e.address, sizeof(e.address), "127.0.0.1:8005");
	assert_int_equal(ctl_jentry_resolve(&e, err, sizeof(err)), 0);
	snprintf(e.identity, sizeof(e.identity), "pod-x.ns");
	e.ttl_s = 30;
	e.expires = NOW + 12.5;
	e.seq = 4;
	e.gen = 1234;
	len = ctl_journal_encode(&e, buf, sizeof(buf));
	assert_true(len > 0);
	memset(&j, 0, sizeof(j));
	j.fd = -1;
	assert_int_equal(ctl_journal_parse(&j, buf, len, &rep), len);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.entries[0].identity, "pod-x.ns");
	assert_int_equal(j.entries[0].ttl_s, 30);
	assert_true(j.entries[0].expires == NOW + 12.5);
	assert_int_equal(j.gen, 1234);
	free(j.entries);

	/* a lease without its expiry, or a bad identity, is refused whole */
	assert_int_equal(ctl_check_identity("has space", err, sizeof(err)), -1);
	assert_int_equal(ctl_check_identity("", err, sizeof(err)), -1);
	assert_int_equal(ctl_check_identity("pod-7.default", err, sizeof(err)), 0);
}

/* The journal's identity reaches the merged config; "" leaves the base's. */
static void test_merge_identity(void **state)
{
	struct config *cfg = load(BASE), *m;
	struct ctl_jentry en[2];
	char err[256];
	int i;

	memset(en, 0, sizeof(en));
	for (i = 0; i < 2; i++) {
		en[i].op = CTL_JOP_SET;
		snprintf(en[i].pool, sizeof(en[i].pool), "flask");
		snprintf(en[i].address, sizeof(en[i].address), "127.0.0.1:800%d", i + 1);
		assert_int_equal(ctl_jentry_resolve(&en[i], err, sizeof(err)), 0);
		en[i].weight = 1;
	}
	snprintf(en[0].name, sizeof(en[0].name), "web-1");
	snprintf(en[0].identity, sizeof(en[0].identity), "pod-1");
	snprintf(en[1].name, sizeof(en[1].name), "web-2");
	m = ctl_merge(cfg, en, 2, NULL, NULL);
	assert_non_null(m);
	assert_string_equal(ctl_config_backend(m, "flask", "web-1")->identity, "pod-1");
	assert_string_equal(ctl_config_backend(m, "flask", "web-2")->identity, "pod-2");
	config_free(m);
	config_free(cfg);
}

/* A rollback's journal keeps the leases it had, and a registration it brings back gets
 * the pool's lease rather than none. */
static void test_rollback_keeps_leases(void **state)
{
	struct config *cfg = load("listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; } );\n"
				  "pools = ( { name = \"flask\"; lease_ttl_s = 40; backends = (\n"
				  "  { name = \"web-1\"; address = \"127.0.0.1:8001\"; } ); } );\n");
	struct ctl_journal cur;
	struct ctl_jentry en[3], was;
	int i;

	memset(&cur, 0, sizeof(cur));
	memset(&was, 0, sizeof(was));
	was.op = CTL_JOP_SET;
	snprintf(was.pool, sizeof(was.pool), "flask");
	snprintf(was.name, sizeof(was.name), "pod-a");
	was.ttl_s = 25;
	was.expires = NOW + 7;
	cur.entries = &was;
	cur.n = 1;
	memset(en, 0, sizeof(en));
	for (i = 0; i < 3; i++) {
		en[i].op = CTL_JOP_SET;
		snprintf(en[i].pool, sizeof(en[i].pool), "flask");
	}
	snprintf(en[0].name, sizeof(en[0].name), "pod-a");   /* leased now: keeps it */
	snprintf(en[1].name, sizeof(en[1].name), "pod-b");   /* gone, brought back */
	snprintf(en[2].name, sizeof(en[2].name), "web-1");   /* the file's: no lease */
	ctl_lease_carry(en, 3, &cur, cfg, NOW);
	assert_int_equal(en[0].ttl_s, 25);
	assert_true(en[0].expires == NOW + 7);
	assert_int_equal(en[1].ttl_s, 40);
	assert_true(en[1].expires == NOW + 40);
	assert_int_equal(en[2].ttl_s, 0);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_left_out_fields_keep_their_value),
		cmocka_unit_test(test_new_backend_defaults_and_pool_lease),
		cmocka_unit_test(test_lease_renewal_outcomes),
		cmocka_unit_test(test_expired_at_start),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_merge_identity),
		cmocka_unit_test(test_rollback_keeps_leases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
