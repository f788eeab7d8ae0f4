/* test_h2_msg.c: unit tests of proto/h2_msg.c: every refusal of an HTTP/2 request's
 * header block (RFC 9113 8.1-8.3), the HTTP/1.1 heads made from the accepted ones (each
 * read back by http_parse_request), the limits, and the response and trailer lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2_msg.h"
#include "http.h"

#define LIST_MAX 16384

/* A field; v_len 0 means strlen(v) (explicit lengths carry NULs). */
struct tf {
	const char *n;
	const char *v;
	size_t v_len;
};

static struct http_head H;
static char out[8192];

#define BASE { ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":authority", "example.com", 0 }, \
	     { ":path", "/a?b=c", 0 }

/* Feeds fields[0..n) to r; returns the first nonzero rc (feeding stops there) or 0. */
static int feed(struct h2_req *r, const struct tf *fields, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		size_t vl = fields[i].v_len ? fields[i].v_len : strlen(fields[i].v);

		rc = h2_req_field(r, (const uint8_t *)fields[i].n, strlen(fields[i].n),
				  (const uint8_t *)fields[i].v, vl);
		if (rc)
			return rc;
	}
	return 0;
}

/* The head of fields (which must be accepted), checked by the HTTP/1.1 parser to have
 * method, target and host; returned in out. */
static const char *head_of(const struct tf *fields, size_t n, int end_stream, const char *method,
			   const char *target, const char *host, int64_t *cl)
{
	struct h2_req r;
	int len;

	h2_req_init(&r, LIST_MAX);
	assert_int_equal(feed(&r, fields, n), 0);
	len = h2_req_head(&r, end_stream, out, sizeof(out));
	assert_null(r.error);
	assert_true(len > 0);
	assert_int_equal(strlen(out), len);
	assert_int_equal(http_parse_request(out, (size_t)len, NULL, &H), HTTP_PARSE_DONE);
	assert_int_equal(H.head_len, len);
	assert_true(H.method.len == strlen(method) && memcmp(out + H.method.off, method, H.method.len) == 0);
	assert_true(H.target.len == strlen(target) && memcmp(out + H.target.off, target, H.target.len) == 0);
	assert_true(H.flags & HTTP_F_HAS_HOST);
	assert_true(H.host.len == strlen(host) && memcmp(out + H.host.off, host, H.host.len) == 0);
	if (cl)
		*cl = h2_req_content_length(&r);
	h2_req_free(&r);
	return out;
}

/* fields are refused by h2_req_field with rc and a reason. */
static void field_refused(const struct tf *fields, size_t n, int rc)
{
	struct h2_req r;

	h2_req_init(&r, LIST_MAX);
	assert_int_equal(feed(&r, fields, n), rc);
	assert_non_null(r.error);
	/* a refused block stays refused, and has no head */
	assert_int_equal(h2_req_field(&r, (const uint8_t *)"accept", 6, (const uint8_t *)"x", 1), rc);
	assert_int_equal(h2_req_head(&r, 1, out, sizeof(out)), -1);
	h2_req_free(&r);
}

/* fields are accepted one by one, and the head is refused with -1 and a reason. */
static void head_refused(const struct tf *fields, size_t n, int end_stream)
{
	struct h2_req r;

	h2_req_init(&r, LIST_MAX);
	assert_int_equal(feed(&r, fields, n), 0);
	assert_int_equal(h2_req_head(&r, end_stream, out, sizeof(out)), -1);
	assert_non_null(r.error);
	h2_req_free(&r);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define REFUSED(...) do { const struct tf f_[] = { __VA_ARGS__ }; field_refused(f_, N(f_), -1); } while (0)
#define HEAD_REFUSED(es, ...) do { const struct tf f_[] = { __VA_ARGS__ }; head_refused(f_, N(f_), es); } while (0)

static void test_name_uppercase(void **state)
{
	(void)state;
	REFUSED(BASE, { "Accept", "*/*", 0 });
	REFUSED(BASE, { "x-fooB", "1", 0 });
}

static void test_name_not_tchar(void **state)
{
	(void)state;
	REFUSED(BASE, { "x y", "1", 0 });
	REFUSED(BASE, { "a:b", "1", 0 });
	REFUSED(BASE, { "x\xc3\xa9", "1", 0 });
	REFUSED(BASE, { "", "1", 0 });
}

static void test_value_nul_cr_lf(void **state)
{
	(void)state;
	REFUSED(BASE, { "x", "a\0b", 3 });
	REFUSED(BASE, { "x", "a\rb", 0 });
	REFUSED(BASE, { "x", "a\nb", 0 });
	REFUSED(BASE, { "x", "a\r\nInjected: 1", 0 });
	REFUSED({ ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		{ ":path", "/\r\nX: y", 0 });
}

static void test_value_other_ctl(void **state)
{
	(void)state;
	REFUSED(BASE, { "x", "a\x01" "b", 0 });
	REFUSED(BASE, { "x", "a\x7f" "b", 0 });
}

static void test_value_outer_whitespace(void **state)
{
	(void)state;
	REFUSED(BASE, { "x", " a", 0 });
	REFUSED(BASE, { "x", "a ", 0 });
	REFUSED(BASE, { "x", "\ta", 0 });
	REFUSED(BASE, { "x", "a\t", 0 });
}

static void test_pseudo_after_regular(void **state)
{
	(void)state;
	REFUSED({ ":method", "GET", 0 }, { ":scheme", "https", 0 }, { "accept", "*/*", 0 },
		{ ":path", "/", 0 });
}

static void test_pseudo_repeated(void **state)
{
	(void)state;
	REFUSED(BASE, { ":path", "/a?b=c", 0 });
	REFUSED({ ":method", "GET", 0 }, { ":method", "GET", 0 });
}

static void test_pseudo_unknown(void **state)
{
	(void)state;
	REFUSED({ ":method", "GET", 0 }, { ":foo", "1", 0 });
	REFUSED({ ":Method", "GET", 0 });
	REFUSED({ ":", "x", 0 });
}

static void test_pseudo_status(void **state)
{
	(void)state;
	REFUSED({ ":method", "GET", 0 }, { ":status", "200", 0 });
}

static void test_pseudo_values(void **state)
{
	(void)state;
	REFUSED({ ":method", "G T", 0 });
	REFUSED({ ":method", "", 0 });
	REFUSED({ ":path", "/a b", 0 });
	REFUSED({ ":path", "/a#frag", 0 });
	REFUSED({ ":path", "/\xc3\xa9", 0 });
	REFUSED({ ":path", "", 0 });
	REFUSED({ ":authority", "user@example.com", 0 });
	REFUSED({ ":authority", "a/b", 0 });
	REFUSED({ ":authority", "a:99999", 0 });
	REFUSED({ ":authority", "", 0 });
	REFUSED({ ":scheme", "ftp", 0 });
}

static void test_connection_specific(void **state)
{
	static const char *const names[] = {
		"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(names); i++) {
		const struct tf f[] = { BASE, { names[i], "chunked", 0 } };

		field_refused(f, N(f), -1);
	}
}

static void test_te(void **state)
{
	static const struct tf ok[] = { BASE, { "te", "trailers", 0 }, { "accept", "*/*", 0 } };

	(void)state;
	REFUSED(BASE, { "te", "gzip", 0 });
	REFUSED(BASE, { "te", "trailers, gzip", 0 });
	/* te: trailers is fine in HTTP/2 and not passed on: it is hop-by-hop */
	head_of(ok, N(ok), 1, "GET", "/a?b=c", "example.com", NULL);
	assert_string_equal(out, "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\naccept: */*\r\n\r\n");
}

static void test_content_length_differ(void **state)
{
	(void)state;
	REFUSED(BASE, { "content-length", "5", 0 }, { "content-length", "6", 0 });
}

static void test_content_length_not_digits(void **state)
{
	(void)state;
	REFUSED(BASE, { "content-length", "5a", 0 });
	REFUSED(BASE, { "content-length", "-1", 0 });
	REFUSED(BASE, { "content-length", "+1", 0 });
	REFUSED(BASE, { "content-length", "", 0 });
	REFUSED(BASE, { "content-length", "1, 1", 0 });
	REFUSED(BASE, { "content-length", "1234567890123456789", 0 });
}

static void test_content_length_same_twice(void **state)
{
	static const struct tf f[] = {
		{ ":method", "POST", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		{ ":path", "/p", 0 }, { "content-length", "5", 0 }, { "content-length", "5", 0 },
	};
	int64_t cl;

	(void)state;
	head_of(f, N(f), 0, "POST", "/p", "h", &cl);
	assert_int_equal(cl, 5);
	assert_int_equal(H.body, HTTP_BODY_LENGTH);
	assert_int_equal(H.content_length, 5);
}

static void test_host_disagrees(void **state)
{
	static const struct tf same[] = { BASE, { "host", "EXAMPLE.com", 0 } };

	(void)state;
	REFUSED(BASE, { "host", "other.example", 0 });
	REFUSED(BASE, { "host", "example.com:443", 0 });
	/* hosts are case-insensitive: this one agrees, and is not written twice */
	head_of(same, N(same), 1, "GET", "/a?b=c", "example.com", NULL);
	assert_string_equal(out, "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n");
}

static void test_host_several_or_invalid(void **state)
{
	(void)state;
	REFUSED({ ":method", "GET", 0 }, { "host", "a", 0 }, { "host", "a", 0 });
	REFUSED({ ":method", "GET", 0 }, { "host", "a b", 0 });
	REFUSED({ ":method", "GET", 0 }, { "host", "", 0 });
}

static void test_head_missing_pseudo(void **state)
{
	(void)state;
	HEAD_REFUSED(1, { ":scheme", "https", 0 }, { ":authority", "h", 0 }, { ":path", "/", 0 });
	HEAD_REFUSED(1, { ":method", "GET", 0 }, { ":authority", "h", 0 }, { ":path", "/", 0 });
	HEAD_REFUSED(1, { ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 });
	HEAD_REFUSED(1, { ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":path", "/", 0 });
}

static void test_head_connect(void **state)
{
	(void)state;
	HEAD_REFUSED(0, { ":method", "CONNECT", 0 }, { ":authority", "h:443", 0 });
	HEAD_REFUSED(0, { ":method", "CONNECT", 0 }, { ":protocol", "websocket", 0 },
		     { ":scheme", "https", 0 }, { ":authority", "h", 0 }, { ":path", "/chat", 0 });
	HEAD_REFUSED(0, { ":method", "GET", 0 }, { ":protocol", "websocket", 0 },
		     { ":scheme", "https", 0 }, { ":authority", "h", 0 }, { ":path", "/chat", 0 });
}

static void test_head_path_form(void **state)
{
	(void)state;
	HEAD_REFUSED(1, { ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		     { ":path", "http://h/x", 0 });
	HEAD_REFUSED(1, { ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		     { ":path", "x", 0 });
	HEAD_REFUSED(1, { ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		     { ":path", "*", 0 });
}

static void test_head_length_without_data(void **state)
{
	(void)state;
	HEAD_REFUSED(1, BASE, { "content-length", "5", 0 });
}

static void test_get_no_body(void **state)
{
	static const struct tf f[] = { BASE, { "accept", "*/*", 0 }, { "user-agent", "t/1", 0 } };
	int64_t cl;

	(void)state;
	head_of(f, N(f), 1, "GET", "/a?b=c", "example.com", &cl);
	assert_string_equal(out, "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\naccept: */*\r\n"
			    "user-agent: t/1\r\n\r\n");
	assert_int_equal(cl, -1);
	assert_int_equal(H.body, HTTP_BODY_NONE);
}

static void test_post_content_length(void **state)
{
	static const struct tf f[] = {
		{ ":method", "POST", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		{ ":path", "/p", 0 }, { "content-type", "text/plain", 0 }, { "content-length", "11", 0 },
	};
	static const struct tf z[] = { BASE, { "content-length", "0", 0 } };
	int64_t cl;

	(void)state;
	head_of(f, N(f), 0, "POST", "/p", "h", &cl);
	assert_string_equal(out, "POST /p HTTP/1.1\r\nHost: h\r\ncontent-type: text/plain\r\n"
			    "Content-Length: 11\r\n\r\n");
	assert_int_equal(cl, 11);
	/* content-length: 0 and no DATA agree */
	head_of(z, N(z), 1, "GET", "/a?b=c", "example.com", &cl);
	assert_int_equal(cl, 0);
}

static void test_post_chunked(void **state)
{
	static const struct tf f[] = {
		{ ":method", "POST", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		{ ":path", "/p", 0 }, { "content-type", "text/plain", 0 },
	};
	int64_t cl;

	(void)state;
	head_of(f, N(f), 0, "POST", "/p", "h", &cl);
	assert_string_equal(out, "POST /p HTTP/1.1\r\nHost: h\r\ncontent-type: text/plain\r\n"
			    "Transfer-Encoding: chunked\r\n\r\n");
	assert_int_equal(cl, -1);
	assert_int_equal(H.body, HTTP_BODY_CHUNKED);
}

static void test_cookie_crumbs(void **state)
{
	static const struct tf f[] = {
		BASE, { "accept", "*/*", 0 }, { "cookie", "a=1", 0 }, { "x-b", "2", 0 },
		{ "cookie", "b=2", 0 }, { "cookie", "c=3", 0 },
	};

	(void)state;
	head_of(f, N(f), 1, "GET", "/a?b=c", "example.com", NULL);
	assert_string_equal(out, "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\naccept: */*\r\n"
			    "cookie: a=1; b=2; c=3\r\nx-b: 2\r\n\r\n");
}

static void test_host_only_authority_only_both(void **state)
{
	static const struct tf host_only[] = {
		{ ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":path", "/", 0 },
		{ "accept", "*/*", 0 }, { "host", "h.test:8443", 0 },
	};
	static const struct tf auth_only[] = {
		{ ":method", "GET", 0 }, { ":scheme", "http", 0 }, { ":authority", "[::1]:8080", 0 },
		{ ":path", "/", 0 },
	};
	static const struct tf both[] = {
		{ ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":authority", "h.test", 0 },
		{ ":path", "/", 0 }, { "host", "h.test", 0 }, { "accept", "*/*", 0 },
	};

	(void)state;
	head_of(host_only, N(host_only), 1, "GET", "/", "h.test:8443", NULL);
	assert_string_equal(out, "GET / HTTP/1.1\r\nHost: h.test:8443\r\naccept: */*\r\n\r\n");
	head_of(auth_only, N(auth_only), 1, "GET", "/", "[::1]:8080", NULL);
	head_of(both, N(both), 1, "GET", "/", "h.test", NULL);
	assert_string_equal(out, "GET / HTTP/1.1\r\nHost: h.test\r\naccept: */*\r\n\r\n");
	HEAD_REFUSED(1, { ":method", "GET", 0 }, { ":scheme", "https", 0 }, { ":path", "/", 0 });
}

static void test_options_star(void **state)
{
	static const struct tf f[] = {
		{ ":method", "OPTIONS", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		{ ":path", "*", 0 },
	};

	(void)state;
	head_of(f, N(f), 1, "OPTIONS", "*", "h", NULL);
	assert_int_equal(H.method_id, HTTP_M_OPTIONS);
}

static void test_list_size_limit(void **state)
{
	struct h2_req r;

	(void)state;
	/* :method GET costs 7 + 3 + 32 = 42: a limit of 84 takes two such fields, not three */
	h2_req_init(&r, 84);
	assert_int_equal(h2_req_field(&r, (const uint8_t *)":method", 7, (const uint8_t *)"GET", 3), 0);
	assert_int_equal(h2_req_field(&r, (const uint8_t *)"x-abcde", 7, (const uint8_t *)"GET", 3), 0);
	assert_int_equal(r.list_size, 84);
	assert_int_equal(h2_req_field(&r, (const uint8_t *)"a", 1, (const uint8_t *)"", 0), -2);
	assert_non_null(r.error);
	h2_req_free(&r);
	/* over the limit wins over malformed: the answer is a 431 */
	h2_req_init(&r, 35);
	assert_int_equal(h2_req_field(&r, (const uint8_t *)"Bad", 3, (const uint8_t *)"x", 1), -2);
	h2_req_free(&r);
	/* lengths whose sum wraps are over any limit: refused before a byte is read */
	h2_req_init(&r, SIZE_MAX);
	assert_int_equal(h2_req_field(&r, (const uint8_t *)"x", 1, (const uint8_t *)"v", SIZE_MAX - 8), -2);
	h2_req_free(&r);
}

static void test_too_many_fields(void **state)
{
	struct h2_req r;
	char name[16];
	int i, rc = 0;

	(void)state;
	h2_req_init(&r, 1 << 20);
	assert_int_equal(feed(&r, (const struct tf[]){ BASE }, 4), 0);
	for (i = 0; i < HTTP_HEADERS_MAX && rc == 0; i++) {
		snprintf(name, sizeof(name), "x-%d", i);
		rc = h2_req_field(&r, (const uint8_t *)name, strlen(name), (const uint8_t *)"v", 1);
	}
	assert_int_equal(rc, -2);
	assert_int_equal(i, HTTP_HEADERS_MAX - 1);
	h2_req_free(&r);

	/* the most that is accepted still parses, framing line included */
	h2_req_init(&r, 1 << 20);
	assert_int_equal(feed(&r, (const struct tf[]){ BASE }, 4), 0);
	for (i = 0; i < HTTP_HEADERS_MAX - 2; i++) {
		snprintf(name, sizeof(name), "x-%d", i);
		assert_int_equal(h2_req_field(&r, (const uint8_t *)name, strlen(name), (const uint8_t *)"v", 1), 0);
	}
	rc = h2_req_head(&r, 0, out, sizeof(out));
	assert_true(rc > 0);
	assert_int_equal(http_parse_request(out, (size_t)rc, NULL, &H), HTTP_PARSE_DONE);
	assert_int_equal(H.nheaders, HTTP_HEADERS_MAX);
	h2_req_free(&r);
}

static void test_cap_too_small(void **state)
{
	static const struct tf f[] = {
		{ ":method", "POST", 0 }, { ":scheme", "https", 0 }, { ":authority", "h", 0 },
		{ ":path", "/p", 0 }, { "cookie", "a=1", 0 }, { "accept", "*/*", 0 },
		{ "cookie", "b=2", 0 }, { "content-length", "3", 0 },
	};
	struct h2_req r;
	char buf[256];
	int whole, cap;

	(void)state;
	h2_req_init(&r, LIST_MAX);
	assert_int_equal(feed(&r, f, N(f)), 0);
	whole = h2_req_head(&r, 0, buf, sizeof(buf));
	assert_true(whole > 0);
	for (cap = 0; cap <= whole; cap++) {
		memset(out, 'Z', sizeof(out));
		assert_int_equal(h2_req_head(&r, 0, out, (size_t)cap), -2);
		assert_int_equal(out[cap], 'Z');  /* nothing past cap */
	}
	assert_int_equal(h2_req_head(&r, 0, out, (size_t)whole + 1), whole);
	assert_string_equal(out, buf);
	assert_null(r.error);
	h2_req_free(&r);
}

/* The slices of "Name: value\n" lines in s (no OWS around values). */
static size_t slices(const char *s, struct http_header *h, size_t max)
{
	size_t n = 0;
	const char *p = s;

	while (*p && n < max) {
		const char *colon = strchr(p, ':'), *nl = strchr(p, '\n');

		h[n].name = (struct http_slice){ (uint32_t)(p - s), (uint32_t)(colon - p) };
		h[n].value = (struct http_slice){ (uint32_t)(colon + 2 - s), (uint32_t)(nl - colon - 2) };
		n++;
		p = nl + 1;
	}
	return n;
}

static int field_is(const struct h2_field *f, const char *name, const char *value)
{
	return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0 &&
	       f->value_len == strlen(value) && memcmp(f->value, value, f->value_len) == 0;
}

static void test_response_fields(void **state)
{
	static const char resp[] =
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nConnection: keep-alive, X-Hop\r\n"
		"X-Hop: 1\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\n"
		"Proxy-Connection: close\r\nTE: trailers\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n";
	struct h2_field f[8];
	char lower[64], st[4];
	int n;

	(void)state;
	assert_int_equal(http_parse_response(resp, strlen(resp), NULL, HTTP_M_GET, &H), HTTP_PARSE_DONE);
	n = h2_resp_fields(resp, &H, f, 8, lower, sizeof(lower), st);
	assert_int_equal(n, 4);
	assert_string_equal(st, "404");
	assert_true(field_is(&f[0], ":status", "404"));
	assert_true(field_is(&f[1], "content-type", "text/html"));
	assert_true(field_is(&f[2], "set-cookie", "a=1"));
	assert_true(field_is(&f[3], "set-cookie", "b=2"));
	/* the names take 12 + 10 + 10 bytes of lower, the list 4 slots: one less fails */
	assert_int_equal(h2_resp_fields(resp, &H, f, 4, lower, 32, st), 4);
	assert_int_equal(h2_resp_fields(resp, &H, f, 3, lower, 32, st), -1);
	assert_int_equal(h2_resp_fields(resp, &H, f, 4, lower, 31, st), -1);
	assert_int_equal(h2_resp_fields(resp, &H, f, 0, lower, 32, st), -1);
}

static void test_trailer_fields(void **state)
{
	static const char tr[] =
		"X-Checksum: abc\nContent-Length: 5\nHost: h\nTE: trailers\nConnection: X-Gone\n"
		"X-Gone: 1\nTransfer-Encoding: chunked\nServer-Timing: db;dur=5\n";
	struct http_header h[16];
	struct h2_field f[8];
	char lower[64];
	size_t n = slices(tr, h, 16);

	(void)state;
	assert_int_equal(n, 8);
	assert_int_equal(h2_trailer_fields(tr, h, n, f, 8, lower, sizeof(lower)), 2);
	assert_true(field_is(&f[0], "x-checksum", "abc"));
	assert_true(field_is(&f[1], "server-timing", "db;dur=5"));
	assert_int_equal(h2_trailer_fields(tr, h, n, f, 1, lower, sizeof(lower)), -1);
	assert_int_equal(h2_trailer_fields(tr, h, 0, f, 0, lower, 0), 0);
}

/* A trailer section as http_chunked_scan passed it (CRLF lines, OWS around values, the
 * final CRLF): split, filtered and lowercased; anything else of its form is refused. */
static void test_trailer_section(void **state)
{
	static const char sec[] = "Grpc-Status:0\r\nX-Checksum: \t abc \r\nContent-Length: 5\r\n"
				  "Empty:\r\n\r\n";
	struct h2_field f[8];
	char lower[64];

	(void)state;
	assert_int_equal(h2_trailer_section(sec, sizeof(sec) - 1, f, 8, lower, sizeof(lower)), 3);
	assert_true(field_is(&f[0], "grpc-status", "0"));
	assert_true(field_is(&f[1], "x-checksum", "abc"));
	assert_true(field_is(&f[2], "empty", ""));
	/* no trailer: only the final CRLF */
	assert_int_equal(h2_trailer_section("\r\n", 2, f, 8, lower, sizeof(lower)), 0);
	/* not of the form: no final CRLF, a bare LF, no colon, an empty name, bytes after */
	assert_int_equal(h2_trailer_section("A: 1\r\n", 6, f, 8, lower, sizeof(lower)), -1);
	assert_int_equal(h2_trailer_section("A: 1\nB: 2\r\n\r\n", 13, f, 8, lower, sizeof(lower)), -1);
	assert_int_equal(h2_trailer_section("A 1\r\n\r\n", 7, f, 8, lower, sizeof(lower)), -1);
	assert_int_equal(h2_trailer_section(": 1\r\n\r\n", 7, f, 8, lower, sizeof(lower)), -1);
	assert_int_equal(h2_trailer_section("A: 1\r\n\r\nB", 9, f, 8, lower, sizeof(lower)), -1);
	assert_int_equal(h2_trailer_section("", 0, f, 8, lower, sizeof(lower)), -1);
	/* more fields than the list holds */
	assert_int_equal(h2_trailer_section(sec, sizeof(sec) - 1, f, 2, lower, sizeof(lower)), -1);
}

/* A head fulcrum wrote, read in one pass: the same list h2_resp_fields gives, the framing
 * by RFC 9112 6.3 (the method and status first), and -1 (the strict parser then) for
 * what it does not take. */
static void test_resp_head_own(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n"
				   "Keep-Alive: timeout=5\r\nSet-Cookie: a=1\r\nSet-Cookie:  b=2 \r\n"
				   "Content-Length: 12\r\n\r\nhello world\n";
	struct h2_own_head h;
	struct h2_field f[8];
	char lower[128], st[4];

	(void)state;
	assert_int_equal(h2_resp_head_own(head, sizeof(head) - 1, HTTP_M_GET, &h, f, 8, lower, sizeof(lower), st), 5);
	assert_true(field_is(&f[0], ":status", "200"));
	assert_true(field_is(&f[1], "content-type", "text/plain"));
	assert_true(field_is(&f[2], "set-cookie", "a=1"));
	assert_true(field_is(&f[3], "set-cookie", "b=2"));
	assert_true(field_is(&f[4], "content-length", "12"));
	assert_int_equal(h.status, 200);
	assert_int_equal(h.body, HTTP_BODY_LENGTH);
	assert_int_equal(h.content_length, 12);
	assert_int_equal(h.head_len, sizeof(head) - 1 - 12);
	/* HEAD: no body whatever the length says; too few slots or name bytes: -1 */
	assert_int_equal(h2_resp_head_own(head, sizeof(head) - 1, HTTP_M_HEAD, &h, f, 8, lower, sizeof(lower), st), 5);
	assert_int_equal(h.body, HTTP_BODY_NONE);
	assert_int_equal(h2_resp_head_own(head, sizeof(head) - 1, HTTP_M_GET, &h, f, 4, lower, sizeof(lower), st), -1);
	assert_int_equal(h2_resp_head_own(head, sizeof(head) - 1, HTTP_M_GET, &h, f, 8, lower, 20, st), -1);
	/* not whole yet */
	assert_int_equal(h2_resp_head_own(head, 40, HTTP_M_GET, &h, f, 8, lower, sizeof(lower), st), 0);
#define OWN(s) h2_resp_head_own(s, sizeof(s) - 1, HTTP_M_GET, &h, f, 8, lower, sizeof(lower), st)
	assert_int_equal(OWN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 1);
	assert_int_equal(h.body, HTTP_BODY_CHUNKED);
	assert_int_equal(OWN("HTTP/1.1 200 OK\r\n\r\n"), 1);
	assert_int_equal(h.body, HTTP_BODY_UNTIL_CLOSE);
	assert_int_equal(OWN("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"), 2);
	assert_int_equal(h.body, HTTP_BODY_NONE);
	assert_int_equal(OWN("HTTP/1.1 100 Continue\r\n\r\n"), 1);
	assert_int_equal(h.status, 100);
	assert_int_equal(h.head_len, 25);
	/* for the strict parser: a Connection naming a field, two lengths, another coding,
	 * both framings, no status line, a line without a colon or with a space in its name */
	assert_int_equal(OWN("HTTP/1.1 200 OK\r\nConnection: X-Gone\r\nX-Gone: 1\r\n\r\n"), -1);
	assert_int_equal(OWN("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"), -1);
	assert_int_equal(OWN("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), -1);
	assert_int_equal(OWN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"), -1);
	assert_int_equal(OWN("HTTP/2 200\r\n\r\n"), -1);
	assert_int_equal(OWN("HTTP/1.1 200 OK\r\nX-A 1\r\n\r\n"), -1);
	assert_int_equal(OWN("HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n"), -1);
#undef OWN
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_uppercase),
		cmocka_unit_test(test_name_not_tchar),
		cmocka_unit_test(test_value_nul_cr_lf),
		cmocka_unit_test(test_value_other_ctl),
		cmocka_unit_test(test_value_outer_whitespace),
		cmocka_unit_test(test_pseudo_after_regular),
		cmocka_unit_test(test_pseudo_repeated),
		cmocka_unit_test(test_pseudo_unknown),
		cmocka_unit_test(test_pseudo_status),
		cmocka_unit_test(test_pseudo_values),
		cmocka_unit_test(test_connection_specific),
		cmocka_unit_test(test_te),
		cmocka_unit_test(test_content_length_differ),
		cmocka_unit_test(test_content_length_not_digits),
		cmocka_unit_test(test_content_length_same_twice),
		cmocka_unit_test(test_host_disagrees),
		cmocka_unit_test(test_host_several_or_invalid),
		cmocka_unit_test(test_head_missing_pseudo),
		cmocka_unit_test(test_head_connect),
		cmocka_unit_test(test_head_path_form),
		cmocka_unit_test(test_head_length_without_data),
		cmocka_unit_test(test_get_no_body),
		cmocka_unit_test(test_post_content_length),
		cmocka_unit_test(test_post_chunked),
		cmocka_unit_test(test_cookie_crumbs),
		cmocka_unit_test(test_host_only_authority_only_both),
		cmocka_unit_test(test_options_star),
		cmocka_unit_test(test_list_size_limit),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_cap_too_small),
		cmocka_unit_test(test_response_fields),
		cmocka_unit_test(test_trailer_fields),
		cmocka_unit_test(test_trailer_section),
		cmocka_unit_test(test_resp_head_own),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
