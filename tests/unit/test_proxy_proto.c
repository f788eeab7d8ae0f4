/* test_proxy_proto.c: unit tests of proto/proxy_proto.c: v1 and v2 encoding (exact bytes),
 * round trips, incremental input, and rejection of malformed headers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "proxy_proto.h"

static struct sockaddr_storage sa4(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage sa6(const char *ip, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* Asserts that a parsed address equals the one that was encoded. */
static void assert_same_addr(const struct sockaddr_storage *got,
			     const struct sockaddr_storage *want)
{
	assert_int_equal(got->ss_family, want->ss_family);
	if (want->ss_family == AF_INET) {
		const struct sockaddr_in *g = (const struct sockaddr_in *)got;
		const struct sockaddr_in *w = (const struct sockaddr_in *)want;

		assert_memory_equal(&g->sin_addr, &w->sin_addr, 4);
		assert_int_equal(g->sin_port, w->sin_port);
	} else {
		const struct sockaddr_in6 *g = (const struct sockaddr_in6 *)got;
		const struct sockaddr_in6 *w = (const struct sockaddr_in6 *)want;

		assert_memory_equal(&g->sin6_addr, &w->sin6_addr, 16);
		assert_int_equal(g->sin6_port, w->sin6_port);
	}
}

/* Every strict prefix of a complete header asks for more bytes. */
static void assert_prefixes_need_more(const char *hdr, size_t len)
{
	struct proxy_info info;
	const char *err = NULL;
	size_t i;

	for (i = 0; i < len; i++) {
		int r = proxy_parse(hdr, i, &info, &err);

		if (r != 0)
			fail_msg("prefix of %zu of %zu bytes gave %d (%s)", i, len, r,
				 err ? err : "");
	}
}

/* Encodes with fn, parses back (with request bytes after the header, which must be left
 * alone), and checks the addresses. */
static void round_trip(int (*fn)(char *, size_t, const struct sockaddr *,
				 const struct sockaddr *),
		       int version, struct sockaddr_storage src, struct sockaddr_storage dst)
{
	char buf[PROXY_V2_MAX + 32];
	struct proxy_info info;
	const char *err = NULL;
	int n = fn(buf, PROXY_V2_MAX, SA(src), SA(dst));

	assert_true(n > 0);
	assert_prefixes_need_more(buf, (size_t)n);
	memcpy(buf + n, "GET / HTTP/1.1\r\n", 16);
	assert_int_equal(proxy_parse(buf, (size_t)n + 16, &info, &err), n);
	assert_int_equal(proxy_parse(buf, (size_t)n, &info, &err), n);
	assert_int_equal(info.version, version);
	assert_int_equal(info.local, 0);
	assert_int_equal(info.addr_len, src.ss_family == AF_INET ? sizeof(struct sockaddr_in)
								 : sizeof(struct sockaddr_in6));
	assert_same_addr(&info.src, &src);
	assert_same_addr(&info.dst, &dst);
}

static void test_v1_encode_exact(void **state)
{
	struct sockaddr_storage s4 = sa4("192.0.2.1", 12345), d4 = sa4("198.51.100.7", 443);
	struct sockaddr_storage s6 = sa6("2001:db8::1", 65535), d6 = sa6("::1", 0);
	struct sockaddr_un un;
	char buf[PROXY_V1_MAX];
	const char *want;
	int n;

	want = "PROXY TCP4 192.0.2.1 198.51.100.7 12345 443\r\n";
	n = proxy_v1_encode(buf, sizeof(buf), SA(s4), SA(d4));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, (size_t)n);

	want = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
	n = proxy_v1_encode(buf, sizeof(buf), SA(s6), SA(d6));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, (size_t)n);

	/* Mixed or non-IP families cannot be described. */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	want = "PROXY UNKNOWN\r\n";
	n = proxy_v1_encode(buf, sizeof(buf), SA(s4), SA(d6));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
	n = proxy_v1_encode(buf, sizeof(buf), (struct sockaddr *)&un, (struct sockaddr *)&un);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, (size_t)n);

	/* The exact size is enough (no NUL is written); one byte less is not. */
	want = "PROXY TCP4 192.0.2.1 198.51.100.7 12345 443\r\n";
	assert_int_equal(proxy_v1_encode(buf, strlen(want), SA(s4), SA(d4)), strlen(want));
	assert_int_equal(proxy_v1_encode(buf, strlen(want) - 1, SA(s4), SA(d4)), -1);
	assert_int_equal(proxy_v1_encode(buf, 14, SA(s4), SA(d6)), -1);
}

static void test_v2_encode_exact(void **state)
{
	static const unsigned char want4[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21, 0x11, 0x00, 0x0c,
		192, 0, 2, 1,  198, 51, 100, 7,  0x30, 0x39,  0x01, 0xbb,
	};
	static const unsigned char want6[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21, 0x21, 0x00, 0x24,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0xff, 0xff,  0x00, 0x50,
	};
	static const unsigned char want_local[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x20, 0x00, 0x00, 0x00,
	};
	struct sockaddr_storage s4 = sa4("192.0.2.1", 12345), d4 = sa4("198.51.100.7", 443);
	struct sockaddr_storage s6 = sa6("2001:db8::1", 65535), d6 = sa6("::1", 80);
	char buf[PROXY_V2_MAX];

	assert_int_equal(proxy_v2_encode(buf, sizeof(buf), SA(s4), SA(d4)), sizeof(want4));
	assert_memory_equal(buf, want4, sizeof(want4));
	assert_int_equal(proxy_v2_encode(buf, sizeof(buf), SA(s6), SA(d6)), sizeof(want6));
	assert_memory_equal(buf, want6, sizeof(want6));
	assert_int_equal(proxy_v2_encode(buf, sizeof(buf), SA(s4), SA(d6)), sizeof(want_local));
	assert_memory_equal(buf, want_local, sizeof(want_local));

	assert_int_equal(proxy_v2_encode(buf, sizeof(want4), SA(s4), SA(d4)), sizeof(want4));
	assert_int_equal(proxy_v2_encode(buf, sizeof(want4) - 1, SA(s4), SA(d4)), -1);
	assert_int_equal(proxy_v2_encode(buf, sizeof(want6) - 1, SA(s6), SA(d6)), -1);
	assert_int_equal(proxy_v2_encode(buf, 15, SA(s4), SA(d6)), -1);
}

static void test_round_trips(void **state)
{
	round_trip(proxy_v1_encode, 1, sa4("10.1.2.3", 40000), sa4("10.9.8.7", 8443));
	round_trip(proxy_v1_encode, 1, sa4("0.0.0.0", 0), sa4("255.255.255.255", 65535));
	round_trip(proxy_v1_encode, 1, sa6("2001:db8:85a3::8a2e:370:7334", 1),
		   sa6("fe80::1", 443));
	round_trip(proxy_v1_encode, 1, sa6("::ffff:192.0.2.9", 5555), sa6("::", 80));
	round_trip(proxy_v2_encode, 2, sa4("10.1.2.3", 40000), sa4("10.9.8.7", 8443));
	round_trip(proxy_v2_encode, 2, sa6("2001:db8:85a3::8a2e:370:7334", 1),
		   sa6("fe80::1", 443));
}

/* The longest lines the spec allows are accepted; one byte more is not. */
static void test_v1_limits(void **state)
{
	const char *longest6 = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	char line[PROXY_V1_MAX + 8];
	struct proxy_info info;
	const char *err = NULL;

	assert_int_equal(strlen(longest6), 104);
	assert_int_equal(proxy_parse(longest6, strlen(longest6), &info, &err), 104);

	/* UNKNOWN with 107 bytes in all: ignored filler up to the limit. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + PROXY_V1_MAX - 2, "\r\n", 2);
	assert_prefixes_need_more(line, PROXY_V1_MAX);
	assert_int_equal(proxy_parse(line, PROXY_V1_MAX, &info, &err), PROXY_V1_MAX);
	assert_int_equal(info.version, 1);
	assert_int_equal(info.local, 1);

	/* 108 bytes: fails as soon as 107 bytes without a line end are there. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + PROXY_V1_MAX - 1, "\r\n", 2);
	err = NULL;
	assert_int_equal(proxy_parse(line, PROXY_V1_MAX - 1, &info, &err), 0);
	assert_int_equal(proxy_parse(line, PROXY_V1_MAX, &info, &err), -1);
	assert_non_null(err);
	assert_int_equal(proxy_parse(line, PROXY_V1_MAX + 1, &info, &err), -1);
}

static void test_v1_unknown(void **state)
{
	static const char *ok[] = {
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY UNKNOWN anything at all\r\n",
	};
	struct proxy_info info;
	const char *err = NULL;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&info, 0xa5, sizeof(info));
		assert_int_equal(proxy_parse(ok[i], strlen(ok[i]), &info, &err),
				 (int)strlen(ok[i]));
		assert_int_equal(info.version, 1);
		assert_int_equal(info.local, 1);
		assert_int_equal(info.addr_len, 0);
	}
	assert_int_equal(proxy_parse("PROXY UNKNOWNX\r\n", 16, &info, &err), -1);
	assert_int_equal(proxy_parse("PROXY UNKNOWN", 13, &info, &err), 0);
}

static void test_v1_malformed(void **state)
{
	static const char *bad[] = {
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n",           /* LF without CR */
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 22\n",
		"PROXY UNKNOWN x\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\r\n",       /* stray CR */
		"PROXY TCP4 1.2.3 192.0.2.2 1 2\r\n",             /* three octets */
		"PROXY TCP4 192.0.2.1 1.2.3.256 1 2\r\n",         /* octet > 255 */
		"PROXY TCP4 192.0.2.1 01.2.3.4 1 2\r\n",          /* leading zero octet */
		"PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n",     /* port too large */
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 99999\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 080 2\r\n",       /* leading zero port */
		"PROXY TCP4 192.0.2.1 192.0.2.2 00 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 +1 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1a 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 \r\n",          /* empty port */
		"PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n",        /* double spaces */
		"PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1  2\r\n",
		"PROXY  TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n",        /* trailing space */
		"PROXY TCP4 192.0.2.1\t192.0.2.2 1 2\r\n",        /* tab */
		"PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n",       /* extra field */
		"PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n",           /* missing field */
		"PROXY TCP4\r\n",
		"PROXY \r\n",
		"PROXY TCP4 ::1 ::1 1 2\r\n",                     /* IPv6 under TCP4 */
		"PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n",         /* IPv4 under TCP6 */
		"PROXY TCP6 [::1] ::1 1 2\r\n",
		"PROXY TCP6 ::1::2 ::1 1 2\r\n",
		"PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n",         /* unknown protocol */
		"PROXY tcp4 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n",
		"PROXY TCP4 host.example 192.0.2.2 1 2\r\n",
	};
	struct proxy_info info;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *err = NULL;
		int r = proxy_parse(bad[i], strlen(bad[i]), &info, &err);

		if (r != -1)
			fail_msg("accepted (%d): %s", r, bad[i]);
		assert_non_null(err);
	}

	/* The reason names the actual fault, for the log line of the refused client. */
	{
		const char *err = NULL;
		const char *two = "PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n";
		const char *nocr = "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n";

		assert_int_equal(proxy_parse(two, strlen(two), &info, &err), -1);
		assert_non_null(strstr(err, "single spaces"));
		assert_int_equal(proxy_parse(nocr, strlen(nocr), &info, &err), -1);
		assert_non_null(strstr(err, "CRLF"));
	}
}

/* Bytes that cannot start either header fail at once; prefixes of either wait. */
static void test_detection(void **state)
{
	struct proxy_info info;
	const char *err = NULL;

	assert_int_equal(proxy_parse("", 0, &info, &err), 0);
	assert_int_equal(proxy_parse("P", 1, &info, &err), 0);
	assert_int_equal(proxy_parse("PROXY", 5, &info, &err), 0);
	assert_int_equal(proxy_parse("\r\n\r\n\0\r", 6, &info, &err), 0);
	assert_int_equal(proxy_parse("GET / HTTP/1.1\r\n", 16, &info, &err), -1);
	assert_string_equal(err, "not a PROXY header");
	assert_int_equal(proxy_parse("PROXX", 5, &info, &err), -1);
	assert_int_equal(proxy_parse("PROXYTCP4", 9, &info, &err), -1);
	assert_int_equal(proxy_parse("\x16\x03\x01", 3, &info, &err), -1);  /* TLS hello */
	assert_int_equal(proxy_parse("\r\n\r\nX", 5, &info, &err), -1);
	assert_int_equal(proxy_parse("\r\n\r\n\0\r\nQUIX\n\x21\x11\0\x0c", 16, &info, &err), -1);
}

/* Builds a v2 header: signature, ver_cmd, fam, a body of body_len bytes (pattern-filled,
 * byte i of the body is i + 1). Returns the total length. */
static size_t v2_build(unsigned char *buf, unsigned ver_cmd, unsigned fam, size_t body_len)
{
	static const unsigned char sig[] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					     0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	size_t i;

	memcpy(buf, sig, 12);
	buf[12] = (unsigned char)ver_cmd;
	buf[13] = (unsigned char)fam;
	buf[14] = (unsigned char)(body_len >> 8);
	buf[15] = (unsigned char)body_len;
	for (i = 0; i < body_len; i++)
		buf[16 + i] = (unsigned char)(i + 1);
	return 16 + body_len;
}

static void test_v2_malformed(void **state)
{
	static const struct { unsigned ver_cmd, fam; size_t body; const char *what; } bad[] = {
		{ 0x11, 0x11, 12, "version 1 in a v2 header" },
		{ 0x31, 0x11, 12, "version 3" },
		{ 0x01, 0x11, 12, "version 0" },
		{ 0x22, 0x11, 12, "command 2" },
		{ 0x2f, 0x11, 12, "command 15" },
		{ 0x21, 0x12, 12, "UDP over IPv4" },
		{ 0x21, 0x22, 36, "UDP over IPv6" },
		{ 0x21, 0x31, 216, "UNIX stream" },
		{ 0x21, 0x32, 216, "UNIX datagram" },
		{ 0x21, 0x00, 0, "UNSPEC with PROXY" },
		{ 0x21, 0x10, 12, "IPv4 with UNSPEC transport" },
		{ 0x21, 0x41, 12, "family 4" },
		{ 0x20, 0x41, 0, "family 4 even with LOCAL" },
		{ 0x20, 0x13, 0, "transport 3 even with LOCAL" },
		{ 0x21, 0x11, 11, "IPv4 length too small" },
		{ 0x21, 0x11, 0, "IPv4 length zero" },
		{ 0x21, 0x21, 35, "IPv6 length too small" },
		{ 0x21, 0x21, 12, "IPv6 with IPv4 length" },
		{ 0x21, 0x11, 2049, "longer than accepted" },
		{ 0x20, 0x00, 65535, "LOCAL longer than accepted" },
	};
	unsigned char buf[16 + 65535];
	struct proxy_info info;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *err = NULL;
		size_t total = v2_build(buf, bad[i].ver_cmd, bad[i].fam, bad[i].body);

		/* Judged from the fixed part alone, without waiting for the body. */
		if (proxy_parse((char *)buf, 16, &info, &err) != -1)
			fail_msg("16 bytes accepted: %s", bad[i].what);
		if (proxy_parse((char *)buf, total, &info, &err) != -1)
			fail_msg("accepted: %s", bad[i].what);
		assert_non_null(err);
	}
}

static void test_v2_local(void **state)
{
	unsigned char buf[64];
	struct proxy_info info;
	const char *err = NULL;
	size_t total;

	total = v2_build(buf, 0x20, 0x00, 0);
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(proxy_parse((char *)buf, total, &info, &err), 16);
	assert_int_equal(info.version, 2);
	assert_int_equal(info.local, 1);
	assert_int_equal(info.addr_len, 0);

	/* LOCAL ignores the family and skips whatever block it announces. */
	total = v2_build(buf, 0x20, 0x11, 12);
	assert_prefixes_need_more((char *)buf, total);
	assert_int_equal(proxy_parse((char *)buf, total, &info, &err), 28);
	assert_int_equal(info.local, 1);
	total = v2_build(buf, 0x20, 0x12, 40);
	assert_int_equal(proxy_parse((char *)buf, total, &info, &err), 56);
	assert_int_equal(info.local, 1);
}

/* TLVs after the addresses (here PP2_TYPE_ALPN "h2" and a NOOP) are skipped whole. */
static void test_v2_tlvs_skipped(void **state)
{
	static const unsigned char hdr[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
		0x21, 0x11, 0x00, 0x0c + 5 + 6,
		10, 0, 0, 1,  10, 0, 0, 2,  0x1f, 0x90,  0x00, 0x50,
		0x01, 0x00, 0x02, 'h', '2',
		0x04, 0x00, 0x03, 0, 0, 0,
	};
	struct sockaddr_storage s4 = sa4("10.0.0.1", 8080), d4 = sa4("10.0.0.2", 80);
	unsigned char buf[sizeof(hdr) + 4];
	struct proxy_info info;
	const char *err = NULL;

	memcpy(buf, hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), "GET ", 4);
	assert_prefixes_need_more((const char *)hdr, sizeof(hdr));
	assert_int_equal(proxy_parse((char *)buf, sizeof(buf), &info, &err), sizeof(hdr));
	assert_int_equal(info.version, 2);
	assert_int_equal(info.local, 0);
	assert_same_addr(&info.src, &s4);
	assert_same_addr(&info.dst, &d4);
}

/* The largest accepted header (16 + 2048) parses; it needs all its bytes first. */
static void test_v2_longest_accepted(void **state)
{
	unsigned char *buf = calloc(1, PROXY_V2_ACCEPT_MAX);
	struct proxy_info info;
	const char *err = NULL;
	size_t total;

	assert_non_null(buf);
	total = v2_build(buf, 0x21, 0x21, PROXY_V2_ACCEPT_MAX - 16);
	assert_int_equal(total, PROXY_V2_ACCEPT_MAX);
	assert_int_equal(proxy_parse((char *)buf, total - 1, &info, &err), 0);
	assert_int_equal(proxy_parse((char *)buf, total, &info, &err), PROXY_V2_ACCEPT_MAX);
	assert_int_equal(info.addr_len, sizeof(struct sockaddr_in6));
	assert_int_equal(((struct sockaddr_in6 *)&info.src)->sin6_addr.s6_addr[0], 1);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&info.dst)->sin6_port), 0x2324);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_encode_exact),
		cmocka_unit_test(test_v2_encode_exact),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_v1_limits),
		cmocka_unit_test(test_v1_unknown),
		cmocka_unit_test(test_v1_malformed),
		cmocka_unit_test(test_detection),
		cmocka_unit_test(test_v2_malformed),
		cmocka_unit_test(test_v2_local),
		cmocka_unit_test(test_v2_tlvs_skipped),
		cmocka_unit_test(test_v2_longest_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
