/* test_client_limit.c: unit tests of the per-client connection counts: address blocks
 * (IPv4 address, IPv6 /64), the limit, release, growth and deletion under many
 * addresses, exact counts under threads, and the rate of log lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "client_limit.h"

static void test_blocks(void **state);
static void test_limit_and_release(void **state);
static void test_many_addresses(void **state);
static void test_threads(void **state);
static void test_log_rate(void **state);

static int owner_a, owner_b;  /* two listeners */

/* The key of text address ip (IPv4 or IPv6) on listener owner. */
static void key_of(struct client_limit *t, const void *owner, const char *ip,
		   struct client_limit_key *k)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	assert_int_equal(client_limit_key(t, owner, (struct sockaddr *)&ss, k), 1);
}

static int same_key(const struct client_limit_key *a, const struct client_limit_key *b)
{
	return a->owner == b->owner && a->hash == b->hash && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static void test_blocks(void **state)
{
	struct client_limit *t = client_limit_new();
	struct client_limit_key a, b;
	struct sockaddr_storage un = { .ss_family = AF_UNIX };

	assert_non_null(t);
	key_of(t, &owner_a, "2001:db8:1:2:aaaa::1", &a);
	key_of(t, &owner_a, "2001:db8:1:2:ffff::9", &b);
	assert_true(same_key(&a, &b));              /* one /64 */
	key_of(t, &owner_a, "2001:db8:1:3::1", &b);
	assert_false(same_key(&a, &b));             /* the next /64 */
	key_of(t, &owner_a, "127.0.0.2", &a);
	key_of(t, &owner_a, "127.0.0.3", &b);
	assert_false(same_key(&a, &b));             /* IPv4: each address */
	key_of(t, &owner_a, "::ffff:127.0.0.2", &b);
	assert_true(same_key(&a, &b));              /* mapped = the IPv4 address */
	key_of(t, &owner_b, "127.0.0.2", &b);
	assert_false(same_key(&a, &b));             /* another listener */
	assert_int_equal(client_limit_key(t, &owner_a, (struct sockaddr *)&un, &a), 0);
	client_limit_free(t);
}

static void test_limit_and_release(void **state)
{
	struct client_limit *t = client_limit_new();
	struct client_limit_key a, a_other, c;
	int i;

	assert_non_null(t);
	key_of(t, &owner_a, "192.0.2.1", &a);
	key_of(t, &owner_b, "192.0.2.1", &a_other);
	key_of(t, &owner_a, "192.0.2.2", &c);
	for (i = 0; i < 3; i++)
		assert_int_equal(client_limit_acquire(t, &a, 3), 1);
	assert_int_equal(client_limit_acquire(t, &a, 3), 0);  /* the fourth is refused */
	assert_int_equal(client_limit_count(t, &a), 3);
	/* other addresses and other listeners are counted apart */
	assert_int_equal(client_limit_acquire(t, &c, 3), 1);
	assert_int_equal(client_limit_acquire(t, &a_other, 3), 1);
	assert_int_equal(client_limit_entries(t), 3);
	client_limit_release(t, &a);
	assert_int_equal(client_limit_count(t, &a), 2);
	assert_int_equal(client_limit_acquire(t, &a, 3), 1);  /* room again */
	for (i = 0; i < 3; i++)
		client_limit_release(t, &a);
	assert_int_equal(client_limit_count(t, &a), 0);
	assert_int_equal(client_limit_entries(t), 2);         /* an empty entry is removed */
	client_limit_release(t, &c);
	client_limit_release(t, &a_other);
	assert_int_equal(client_limit_entries(t), 0);
	client_limit_free(t);
}

/* 20,000 addresses (growth of every stripe), then every other one released (deletion
 * moving entries back): the rest must keep their counts. */
static void test_many_addresses(void **state)
{
	struct client_limit *t = client_limit_new();
	struct client_limit_key k;
	char ip[32];
	int i;

	assert_non_null(t);
	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		key_of(t, &owner_a, ip, &k);
		assert_int_equal(client_limit_acquire(t, &k, 2), 1);
		if (i % 3 == 0)
			assert_int_equal(client_limit_acquire(t, &k, 2), 1);
	}
	assert_int_equal(client_limit_entries(t), 20000);
	for (i = 0; i < 20000; i += 2) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		key_of(t, &owner_a, ip, &k);
		client_limit_release(t, &k);
		if (i % 3 == 0)
			client_limit_release(t, &k);
	}
	assert_int_equal(client_limit_entries(t), 10000);
	for (i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		key_of(t, &owner_a, ip, &k);
		assert_int_equal(client_limit_count(t, &k), i % 2 ? (i % 3 == 0 ? 2 : 1) : 0);
	}
	client_limit_free(t);
}

struct hammer {
	struct client_limit *t;
	struct client_limit_key k;
	int got;                     /* acquisitions that succeeded and were kept */
};

/* Takes as many as the limit allows and keeps them, releasing and retaking a few on the
 * way so that releases race with acquisitions on other threads. */
static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	int i;

	for (i = 0; i < 20000; i++) {
		if (client_limit_acquire(h->t, &h->k, 100) != 1)
			continue;
		if (i % 2) {
			client_limit_release(h->t, &h->k);
			continue;
		}
		h->got++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct client_limit *t = client_limit_new();
	struct hammer h[4];
	pthread_t th[4];
	int i, total = 0;

	assert_non_null(t);
	for (i = 0; i < 4; i++) {
		h[i].t = t;
		h[i].got = 0;
		key_of(t, &owner_a, "198.51.100.7", &h[i].k);
		assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += h[i].got;
	}
	/* exactly the limit is held, never more */
	assert_int_equal(total, 100);
	assert_int_equal(client_limit_count(t, &h[0].k), 100);
	client_limit_free(t);
}

static void test_log_rate(void **state)
{
	struct client_limit *t = client_limit_new();
	uint64_t since = 0;

	assert_non_null(t);
	assert_int_equal(client_limit_note_refused(t, 5000, &since), 1);
	assert_int_equal(since, 1);
	assert_int_equal(client_limit_note_refused(t, 5100, &since), 0);
	assert_int_equal(client_limit_note_refused(t, 5999, &since), 0);
	assert_int_equal(client_limit_note_refused(t, 6000, &since), 1);
	assert_int_equal(since, 3);                 /* the two silent ones and this one */
	client_limit_free(t);
	assert_non_null(client_limit_shared());
	assert_ptr_equal(client_limit_shared(), client_limit_shared());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_limit_and_release),
		cmocka_unit_test(test_many_addresses),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_log_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
