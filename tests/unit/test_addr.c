/* test_addr.c: unit tests of util/addr.c: parsing "host:port" (literals, brackets, names,
 * every malformed form), formatting, equality, and trusted-source prefixes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"

/* Table of contents. */
static void test_parse_ipv4(void **state);
static void test_parse_ipv6(void **state);
static void test_parse_ipv6_zone(void **state);
static void test_parse_name_resolved(void **state);
static void test_parse_name_unresolved(void **state);
static void test_parse_name_unknown(void **state);
static void test_parse_rejects(void **state);
static void test_parse_too_long(void **state);
static void test_format(void **state);
static void test_format_small_buffer(void **state);
static void test_equal(void **state);
static void test_prefix_parse(void **state);
static void test_prefix_rejects(void **state);
static void test_prefix_match(void **state);
static struct sockaddr_storage sa_of(const char *ip, uint16_t port);

static void test_parse_ipv4(void **state)
{
	struct addr a;
	char err[128] = "x";
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;

	assert_int_equal(addr_parse("1.2.3.4:80", &a, 1, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 80);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x01020304);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(a.is_name, 0);
	assert_string_equal(a.text, "1.2.3.4:80");
	assert_int_equal(addr_port((const struct sockaddr *)&a.ss), 80);

	/* Literals are filled even without resolution. */
	assert_int_equal(addr_parse("0.0.0.0:65535", &a, 0, err, sizeof(err)), 0);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(addr_port((const struct sockaddr *)&a.ss), 65535);
}

static void test_parse_ipv6(void **state)
{
	struct addr a;
	char err[128];
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;

	assert_int_equal(addr_parse("[::1]:80", &a, 1, err, sizeof(err)), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 80);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_int_equal(a.is_name, 0);

	assert_int_equal(addr_parse("[2001:db8::10]:8443", &a, 0, err, sizeof(err)), 0);
	assert_int_equal(addr_port((const struct sockaddr *)&a.ss), 8443);
	assert_int_equal(sin6->sin6_addr.s6_addr[0], 0x20);
	assert_int_equal(sin6->sin6_addr.s6_addr[15], 0x10);

	assert_int_equal(addr_parse("[::]:443", &a, 1, err, sizeof(err)), 0);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));
}

static void test_parse_ipv6_zone(void **state)
{
	struct addr a;
	char err[128], buf[80];
	unsigned lo = if_nametoindex("lo");
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;

	if (lo == 0)
		skip();
	assert_int_equal(addr_parse("[fe80::1%lo]:80", &a, 1, err, sizeof(err)), 0);
	assert_int_equal(sin6->sin6_scope_id, lo);
	assert_string_equal(addr_format_host((const struct sockaddr *)&a.ss, buf, sizeof(buf)),
			    "fe80::1%lo");
	assert_int_equal(addr_parse("[fe80::1%no-such-if0]:80", &a, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-if0"));
	assert_int_equal(addr_parse("[fe80::1%]:80", &a, 1, err, sizeof(err)), -1);
}

static void test_parse_name_resolved(void **state)
{
	struct addr a;
	char err[128];
	int family;

	assert_int_equal(addr_parse("localhost:80", &a, 1, err, sizeof(err)), 0);
	family = a.ss.ss_family;
	assert_true(family == AF_INET || family == AF_INET6);
	assert_true(a.len > 0);
	assert_int_equal(a.is_name, 1);
	assert_int_equal(addr_port((const struct sockaddr *)&a.ss), 80);
	assert_string_equal(a.text, "localhost:80");
	if (family == AF_INET)
		assert_int_equal(ntohl(((struct sockaddr_in *)&a.ss)->sin_addr.s_addr) >> 24, 127);
	else
		assert_true(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&a.ss)->sin6_addr));
}

static void test_parse_name_unresolved(void **state)
{
	struct addr a;
	char err[128];

	assert_int_equal(addr_parse("web-1.flask.svc.cluster.local:8000", &a, 0, err, sizeof(err)), 0);
	assert_int_equal(a.is_name, 1);
	assert_int_equal(a.len, 0);
	assert_string_equal(a.text, "web-1.flask.svc.cluster.local:8000");
	/* Syntax is still checked without resolution. */
	assert_int_equal(addr_parse("bad name:80", &a, 0, err, sizeof(err)), -1);
	assert_int_equal(addr_parse("a..b:80", &a, 0, err, sizeof(err)), -1);
}

static void test_parse_name_unknown(void **state)
{
	struct addr a;
	char err[128];

	/* .invalid never resolves (RFC 6761). */
	assert_int_equal(addr_parse("no-such-host.invalid:80", &a, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-host.invalid"));
	assert_int_equal(a.len, 0);
	assert_string_equal(a.text, "");
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",              /* empty */
		"1.2.3.4",       /* missing port */
		":80",           /* missing host */
		"1.2.3.4:",      /* empty port */
		"1.2.3.4:0",     /* port 0 */
		"1.2.3.4:65536", /* port too large */
		"1.2.3.4:8o",    /* letters in port */
		"1.2.3.4:-1",
		"1.2.3.4: 80",
		"1.2.3.4:080000",
		"[::1]80",       /* no colon after bracket */
		"[::1]",         /* no port */
		"[::1:80",       /* no closing bracket */
		"[]:80",
		"[1.2.3.4]:80",  /* IPv4 in brackets */
		"[::g]:80",
		"::1:80",        /* IPv6 without brackets */
		"fe80::1:80",
		"256.1.1.1:80",  /* octet out of range */
		"1.2.3:80",      /* short dotted quad */
		"1.2.3.4.5:80",
		"01.2.3.4:80",
		"host/x:80",
		"-:80x",
	};
	struct addr a;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (addr_parse(bad[i], &a, 1, err, sizeof(err)) != -1)
			fail_msg("addr_parse accepted \"%s\"", bad[i]);
		if (err[0] == '\0')
			fail_msg("no reason given for \"%s\"", bad[i]);
	}
	assert_int_equal(addr_parse(NULL, &a, 1, err, sizeof(err)), -1);
	/* A NULL error buffer is allowed. */
	assert_int_equal(addr_parse("1.2.3.4", &a, 1, NULL, 0), -1);
}

static void test_parse_too_long(void **state)
{
	char text[ADDR_TEXT_MAX + 8], err[128];
	struct addr a;

	/* ADDR_TEXT_MAX - 1 characters fit (syntax fails later: name labels too long). */
	memset(text, 'a', sizeof(text));
	strcpy(text + ADDR_TEXT_MAX - 1 - 3, ":80");
	assert_int_equal(strlen(text), ADDR_TEXT_MAX - 1);
	assert_int_equal(addr_parse(text, &a, 0, err, sizeof(err)), -1);
	assert_null(strstr(err, "longer"));

	memset(text, 'a', sizeof(text));
	strcpy(text + ADDR_TEXT_MAX - 3, ":80");
	assert_int_equal(strlen(text), ADDR_TEXT_MAX);
	assert_int_equal(addr_parse(text, &a, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer"));
}

static void test_format(void **state)
{
	struct sockaddr_storage v4 = sa_of("10.1.2.3", 8080), v6 = sa_of("2001:db8::1", 443);
	char buf[INET6_ADDRSTRLEN + 16];

	assert_string_equal(addr_format((struct sockaddr *)&v4, buf, sizeof(buf)), "10.1.2.3:8080");
	assert_string_equal(addr_format((struct sockaddr *)&v6, buf, sizeof(buf)),
			    "[2001:db8::1]:443");
	assert_string_equal(addr_format_host((struct sockaddr *)&v4, buf, sizeof(buf)), "10.1.2.3");
	assert_string_equal(addr_format_host((struct sockaddr *)&v6, buf, sizeof(buf)),
			    "2001:db8::1");
	assert_int_equal(addr_port((struct sockaddr *)&v6), 443);

	{
		struct sockaddr_storage un;

		memset(&un, 0, sizeof(un));
		un.ss_family = AF_UNIX;
		assert_int_equal(addr_port((struct sockaddr *)&un), 0);
	}
}

static void test_format_small_buffer(void **state)
{
	struct sockaddr_storage v6 = sa_of("2001:db8::1", 443);
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	addr_format((struct sockaddr *)&v6, buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, "[2001:d", 7);
}

static void test_equal(void **state)
{
	struct addr a, b;
	char err[128];

	assert_int_equal(addr_parse("127.0.0.1:80", &a, 1, err, sizeof(err)), 0);
	assert_int_equal(addr_parse("127.0.0.1:80", &b, 1, err, sizeof(err)), 0);
	assert_true(addr_equal(&a, &b));
	assert_int_equal(addr_parse("127.0.0.1:81", &b, 1, err, sizeof(err)), 0);
	assert_false(addr_equal(&a, &b));
	assert_int_equal(addr_parse("127.0.0.2:80", &b, 1, err, sizeof(err)), 0);
	assert_false(addr_equal(&a, &b));
	assert_int_equal(addr_parse("[::1]:80", &b, 1, err, sizeof(err)), 0);
	assert_false(addr_equal(&a, &b));
	assert_int_equal(addr_parse("[::1]:80", &a, 1, err, sizeof(err)), 0);
	assert_true(addr_equal(&a, &b));
	/* A resolved name equals its literal. */
	assert_int_equal(addr_parse("localhost:80", &a, 1, err, sizeof(err)), 0);
	assert_int_equal(addr_parse(a.ss.ss_family == AF_INET ? "127.0.0.1:80" : "[::1]:80", &b,
				    1, err, sizeof(err)), 0);
	assert_true(addr_equal(&a, &b));
	/* Unresolved names compare by text. */
	assert_int_equal(addr_parse("web:80", &a, 0, err, sizeof(err)), 0);
	assert_int_equal(addr_parse("web:80", &b, 0, err, sizeof(err)), 0);
	assert_true(addr_equal(&a, &b));
	assert_int_equal(addr_parse("web:81", &b, 0, err, sizeof(err)), 0);
	assert_false(addr_equal(&a, &b));
}

static void test_prefix_parse(void **state)
{
	struct addr_prefix p;
	char err[128];

	assert_int_equal(addr_prefix_parse("10.0.0.0/8", &p, err, sizeof(err)), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.bits, 8);
	assert_int_equal(p.net[0], 10);

	assert_int_equal(addr_prefix_parse("127.0.0.1", &p, err, sizeof(err)), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.bits, 32);

	assert_int_equal(addr_prefix_parse("::1", &p, err, sizeof(err)), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.bits, 128);
	assert_int_equal(p.net[15], 1);

	assert_int_equal(addr_prefix_parse("2001:db8::/32", &p, err, sizeof(err)), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.bits, 32);

	assert_int_equal(addr_prefix_parse("0.0.0.0/0", &p, err, sizeof(err)), 0);
	assert_int_equal(p.bits, 0);

	/* Host bits are cleared: 10.1.2.3/12 is the network 10.0.0.0/12. */
	assert_int_equal(addr_prefix_parse("10.31.2.3/12", &p, err, sizeof(err)), 0);
	assert_int_equal(p.net[0], 10);
	assert_int_equal(p.net[1], 16);
	assert_int_equal(p.net[2], 0);
	assert_int_equal(p.net[3], 0);
}

static void test_prefix_rejects(void **state)
{
	static const char *const bad[] = {
		"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1",
		"10.0.0.0/8/8", "10.0.0/8", "garbage", "/8", "1.2.3.4:80", "[::1]", "10.0.0.0/1000",
	};
	struct addr_prefix p;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (addr_prefix_parse(bad[i], &p, err, sizeof(err)) != -1)
			fail_msg("addr_prefix_parse accepted \"%s\"", bad[i]);
		if (err[0] == '\0')
			fail_msg("no reason given for \"%s\"", bad[i]);
	}
	assert_int_equal(addr_prefix_parse("10.0.0.0/32", &p, err, sizeof(err)), 0);
	assert_int_equal(addr_prefix_parse("::/128", &p, err, sizeof(err)), 0);
}

static void test_prefix_match(void **state)
{
	struct addr_prefix p;
	struct sockaddr_storage in = sa_of("10.200.3.4", 1), out = sa_of("11.0.0.1", 1);
	struct sockaddr_storage mapped = sa_of("::ffff:10.1.1.1", 1);
	struct sockaddr_storage mapped_out = sa_of("::ffff:192.168.0.1", 1);
	struct sockaddr_storage v6 = sa_of("2001:db8:1::5", 1), v6_out = sa_of("2001:db9::5", 1);
	struct sockaddr_storage lo6 = sa_of("::1", 1);
	char err[128];

	assert_int_equal(addr_prefix_parse("10.0.0.0/8", &p, err, sizeof(err)), 0);
	assert_true(addr_prefix_match(&p, (struct sockaddr *)&in));
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&out));
	assert_true(addr_prefix_match(&p, (struct sockaddr *)&mapped));
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&mapped_out));
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&lo6));

	/* Bit-level boundary: /12 covers 10.16.0.0 .. 10.31.255.255. */
	assert_int_equal(addr_prefix_parse("10.16.0.0/12", &p, err, sizeof(err)), 0);
	in = sa_of("10.31.255.255", 1);
	assert_true(addr_prefix_match(&p, (struct sockaddr *)&in));
	in = sa_of("10.32.0.0", 1);
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&in));
	in = sa_of("10.15.255.255", 1);
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&in));

	assert_int_equal(addr_prefix_parse("2001:db8::/32", &p, err, sizeof(err)), 0);
	assert_true(addr_prefix_match(&p, (struct sockaddr *)&v6));
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&v6_out));
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&out));

	assert_int_equal(addr_prefix_parse("::1", &p, err, sizeof(err)), 0);
	assert_true(addr_prefix_match(&p, (struct sockaddr *)&lo6));
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&v6));

	assert_int_equal(addr_prefix_parse("0.0.0.0/0", &p, err, sizeof(err)), 0);
	assert_true(addr_prefix_match(&p, (struct sockaddr *)&out));
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&v6));

	/* A mapped IPv6 prefix matches a plain IPv4 peer. */
	assert_int_equal(addr_prefix_parse("::ffff:10.0.0.0/104", &p, err, sizeof(err)), 0);
	in = sa_of("10.9.9.9", 1);
	assert_true(addr_prefix_match(&p, (struct sockaddr *)&in));
	assert_false(addr_prefix_match(&p, (struct sockaddr *)&out));
}

/* A sockaddr for an IPv4 or IPv6 literal (test input, asserted valid). */
static struct sockaddr_storage sa_of(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	}
	return ss;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_ipv6_zone),
		cmocka_unit_test(test_parse_name_resolved),
		cmocka_unit_test(test_parse_name_unresolved),
		cmocka_unit_test(test_parse_name_unknown),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_too_long),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_prefix_rejects),
		cmocka_unit_test(test_prefix_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
