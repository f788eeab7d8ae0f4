/* h2_msg.c: the conversion between HTTP/2 messages and the HTTP/1.1 heads fulcrum's
 * HTTP/1.1 path reads and writes (h2_msg.h). Owns the RFC 9113 8.1-8.3 checks on a
 * request's header block; framing, HPACK and streams are the connection's (lb/h2_conn.c). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2_msg.h"

#define H2_FIELD_OVERHEAD 32  /* RFC 9113 6.5.2: each field counts name + value + 32 */
#define H2_CL_DIGITS_MAX  18  /* what http_parse_request takes (< 10^18 fits int64_t) */
/* Lines of the HTTP/1.1 head besides the regular fields: Host and the framing line. */
#define H2_HEAD_EXTRA_LINES 2

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_HEX(c) (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))

/* Output of h2_req_head: bytes go in while they fit; over is set once one did not. */
struct h2_out {
	char *p;
	size_t cap;
	size_t len;
	int over;
};

static int req_fail(struct h2_req *r, int rc, const char *why);
static int is_tchar(unsigned char c);
static int name_check(struct h2_req *r, const uint8_t *name, size_t len);
static int value_check(struct h2_req *r, const uint8_t *value, size_t len);
static int host_valid(const uint8_t *b, size_t len);
/* a[0..alen) equals the lowercase string literal lit, ASCII case-insensitively */
#define EQ_CI(a, alen, lit) eq_ci2((a), (alen), (lit), sizeof(lit) - 1)
static int is_connection_name(const void *name, size_t len);
static int eq_ci2(const void *a, size_t alen, const void *b, size_t blen);
static int value_keep(struct h2_req *r, struct h2_value *v, const uint8_t *p, size_t len);
static int pseudo_field(struct h2_req *r, const uint8_t *name, size_t name_len,
			const uint8_t *value, size_t value_len);
static int regular_field(struct h2_req *r, const uint8_t *name, size_t name_len,
			 const uint8_t *value, size_t value_len);
static int content_length_field(struct h2_req *r, const uint8_t *value, size_t len);
static int host_field(struct h2_req *r, const uint8_t *value, size_t len);
static int line_count(struct h2_req *r);
static int req_check_whole(struct h2_req *r, int end_stream);
static void out_put(struct h2_out *o, const void *s, size_t n);
static int named_by_connection(const char *base, const struct http_header *fields, size_t n,
			       const char *name, size_t len);
static int fields_convert(const char *base, const struct http_header *fields, size_t nfields,
			  int trailer, struct h2_field *out, size_t start, size_t max, char *lower,
			  size_t cap);

void h2_req_init(struct h2_req *r, size_t list_max)
{
	/* the inline space need not be cleared: value_keep writes what it hands out */
	memset(r, 0, offsetof(struct h2_req, inline_buf));
	r->list_max = list_max;
	r->content_length = -1;
}

/* Frees a value kept outside the request's inline space. */
static void value_free(struct h2_req *r, struct h2_value *v)
{
	if (v->p && (v->p < r->inline_buf || v->p >= r->inline_buf + sizeof(r->inline_buf)))
		free(v->p);
}

void h2_req_free(struct h2_req *r)
{
	value_free(r, &r->method);
	value_free(r, &r->scheme);
	value_free(r, &r->authority);
	value_free(r, &r->path);
	value_free(r, &r->protocol);
	value_free(r, &r->host);
	textbuf_free(&r->lines);
	textbuf_free(&r->cookie);
	h2_req_init(r, r->list_max);
}

/* Records the first refusal: the block is dead, later calls return rc again. */
static int req_fail(struct h2_req *r, int rc, const char *why)
{
	r->failed = rc;
	r->error = why;
	return rc;
}

/* What a byte may be, looked up once per byte of every field: TCHAR a token's byte (RFC
 * 9110 5.6.2: a field name or method), REG_NAME a host's (RFC 3986 3.2.2: unreserved and
 * sub-delims; '%' goes with two hex digits), VALUE_BAD one a field value may not hold (NUL, CR,
 * LF: RFC 9113 8.2.1), VALUE_CTL another control that fulcrum's HTTP/1.1 parser refuses
 * (RFC 9110 5.5; HTAB is allowed). UPPER an uppercase letter: its value (32) is what
 * makes it lowercase, added without a branch. */
enum { TCHAR = 1, VALUE_BAD = 2, VALUE_CTL = 4, REG_NAME = 8, UPPER = 32 };
static const uint8_t byte_class[256] = {
	[0] = VALUE_BAD, [1 ... 8] = VALUE_CTL, [10] = VALUE_BAD, [11 ... 12] = VALUE_CTL,
	[13] = VALUE_BAD, [14 ... 31] = VALUE_CTL, [127] = VALUE_CTL,
	['0' ... '9'] = TCHAR | REG_NAME, ['a' ... 'z'] = TCHAR | REG_NAME,
	['A' ... 'Z'] = TCHAR | REG_NAME | UPPER,
	['!'] = TCHAR | REG_NAME, ['#'] = TCHAR, ['$'] = TCHAR | REG_NAME, ['%'] = TCHAR,
	['&'] = TCHAR | REG_NAME, ['\''] = TCHAR | REG_NAME, ['('] = REG_NAME, [')'] = REG_NAME,
	['*'] = TCHAR | REG_NAME, ['+'] = TCHAR | REG_NAME, [','] = REG_NAME,
	['-'] = TCHAR | REG_NAME, ['.'] = TCHAR | REG_NAME, [';'] = REG_NAME, ['='] = REG_NAME,
	['^'] = TCHAR, ['_'] = TCHAR | REG_NAME, ['`'] = TCHAR, ['|'] = TCHAR,
	['~'] = TCHAR | REG_NAME,
};

static int is_tchar(unsigned char c)
{
	return byte_class[c] & TCHAR;
}

/* A regular field's name (RFC 9113 8.2.1, 8.2: lowercase tokens only). 0 or -1. */
static int name_check(struct h2_req *r, const uint8_t *name, size_t len)
{
	size_t i;

	if (len == 0)
		return req_fail(r, -1, "empty field name");
	for (i = 0; i < len; i++) {
		if (name[i] >= 'A' && name[i] <= 'Z')
			return req_fail(r, -1, "uppercase letter in a field name");
		if (!is_tchar(name[i]))
			return req_fail(r, -1, "invalid character in a field name");
	}
	return 0;
}

/* A field value (RFC 9113 8.2.1: no NUL, CR, LF, no leading or trailing SP/HTAB). The
 * other CTLs (RFC 9110 5.5) are refused as well: the HTTP/1.1 parser that reads the head
 * refuses them, so they would turn into a 400 later. 0 or -1. */
static int value_check(struct h2_req *r, const uint8_t *value, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t k = byte_class[value[i]];

		if (k & (VALUE_BAD | VALUE_CTL))
			return req_fail(r, -1, k & VALUE_BAD ? "NUL, CR or LF in a field value"
							     : "control character in a field value");
	}
	if (len && (value[0] == ' ' || value[0] == '\t' || value[len - 1] == ' ' ||
		    value[len - 1] == '\t'))
		return req_fail(r, -1, "leading or trailing whitespace in a field value");
	return 0;
}

/* The Host grammar http_parse_request applies (RFC 9110 7.2, uri-host [":" port]; no
 * userinfo, RFC 9113 8.3.1), not empty: an IP-literal in brackets or a reg-name. */
static int host_valid(const uint8_t *b, size_t len)
{
	size_t p = 0, start, digits;
	uint32_t port = 0;

	if (len == 0)
		return 0;
	if (b[p] == '[') {
		int colons = 0;

		for (start = ++p; p < len && (IS_HEX(b[p]) || b[p] == ':' || b[p] == '.'); p++)
			colons += b[p] == ':';
		if (p == len || b[p] != ']' || colons < 2)
			return 0;
		p++;
	} else {
		for (start = p; p < len && b[p] != ':'; p++) {
			if (b[p] == '%') {
				if (len - p < 3 || !IS_HEX(b[p + 1]) || !IS_HEX(b[p + 2]))
					return 0;
				p += 2;
			} else if (!(byte_class[b[p]] & REG_NAME)) {
				return 0;
			}
		}
		if (p == start)
			return 0;
	}
	if (p == len)
		return 1;
	if (b[p++] != ':')
		return 0;
	for (digits = 0; p < len; p++, digits++) {
		if (!IS_DIGIT(b[p]) || digits == 5)
			return 0;
		port = port * 10 + (uint32_t)(b[p] - '0');
	}
	return port <= 65535;
}

/* Whether name (any case) is one of the fields that describe an HTTP/1.1 connection,
 * not its message (RFC 9113 8.2.2, RFC 9110 7.6.1): connection, keep-alive,
 * proxy-connection, transfer-encoding, upgrade, te. The length picks the candidate, so a
 * name costs one compare at most. */
static int is_connection_name(const void *name, size_t len)
{
	switch (len) {
	case 2:
		return EQ_CI(name, len, "te");
	case 7:
		return EQ_CI(name, len, "upgrade");
	case 10:
		return EQ_CI(name, len, "connection") || EQ_CI(name, len, "keep-alive");
	case 16:
		return EQ_CI(name, len, "proxy-connection");
	case 17:
		return EQ_CI(name, len, "transfer-encoding");
	default:
		return 0;
	}
}

static int eq_ci2(const void *a, size_t alen, const void *b, size_t blen)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++) {
		unsigned char c = x[i], d = y[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (d >= 'A' && d <= 'Z')
			d = (unsigned char)(d - 'A' + 'a');
		if (c != d)
			return 0;
	}
	return 1;
}

/* Copies a value into v (NUL-ended for convenience), in the request's inline space when
 * it fits. 0, or -1 out of memory. */
static int value_keep(struct h2_req *r, struct h2_value *v, const uint8_t *p, size_t len)
{
	if (len < sizeof(r->inline_buf) - r->inline_used) {
		v->p = r->inline_buf + r->inline_used;
		r->inline_used += len + 1;
	} else if (!(v->p = malloc(len + 1))) {
		return req_fail(r, -1, "out of memory");
	}
	if (len)
		memcpy(v->p, p, len);
	v->p[len] = '\0';
	v->len = len;
	return 0;
}

int h2_req_field(struct h2_req *r, const uint8_t *name, size_t name_len, const uint8_t *value,
		 size_t value_len)
{
	size_t room = r->list_max - r->list_size;

	if (r->failed)
		return r->failed;
	/* the limit comes first: an oversized list is a 431 whatever else is wrong in it
	 * (each step subtracts from what is left, so no sum can wrap) */
	if (name_len > room || value_len > room - name_len ||
	    H2_FIELD_OVERHEAD > room - name_len - value_len)
		return req_fail(r, -2, "header list too large");
	r->list_size += name_len + value_len + H2_FIELD_OVERHEAD;
	if (value_check(r, value, value_len))
		return -1;
	if (name_len && name[0] == ':')
		return pseudo_field(r, name, name_len, value, value_len);
	r->regular_seen = 1;
	return regular_field(r, name, name_len, value, value_len);
}

/* A pseudo-header (RFC 9113 8.3.1): known, request-only, once, before the regular fields,
 * and a value that can go on an HTTP/1.1 request line. */
static int pseudo_field(struct h2_req *r, const uint8_t *name, size_t name_len,
			const uint8_t *value, size_t value_len)
{
	struct h2_value *v;
	size_t i;

	if (r->regular_seen)
		return req_fail(r, -1, "pseudo-header after a regular field");
	if (name_len == 7 && memcmp(name, ":method", 7) == 0) {
		v = &r->method;
		for (i = 0; i < value_len; i++)
			if (!is_tchar(value[i]))
				break;
		if (value_len == 0 || i < value_len)
			return req_fail(r, -1, "invalid :method");
	} else if (name_len == 7 && memcmp(name, ":scheme", 7) == 0) {
		v = &r->scheme;
		/* the head carries no scheme: only the two whose origin-form it can stand for */
		if (!EQ_CI(value, value_len, "https") && !EQ_CI(value, value_len, "http"))
			return req_fail(r, -1, "unsupported :scheme");
	} else if (name_len == 10 && memcmp(name, ":authority", 10) == 0) {
		v = &r->authority;
		if (!host_valid(value, value_len))
			return req_fail(r, -1, "invalid :authority");
	} else if (name_len == 5 && memcmp(name, ":path", 5) == 0) {
		v = &r->path;
		/* what http_parse_request takes as a target: visible ASCII, no fragment */
		for (i = 0; i < value_len; i++)
			if (value[i] < 0x21 || value[i] > 0x7e || value[i] == '#')
				break;
		if (value_len == 0 || i < value_len)
			return req_fail(r, -1, "invalid :path");
	} else if (name_len == 9 && memcmp(name, ":protocol", 9) == 0) {
		v = &r->protocol;  /* RFC 8441: known, refused by h2_req_head */
	} else if (name_len == 7 && memcmp(name, ":status", 7) == 0) {
		return req_fail(r, -1, "response pseudo-header in a request");
	} else {
		return req_fail(r, -1, "unknown pseudo-header");
	}
	if (v->p)
		return req_fail(r, -1, "repeated pseudo-header");
	return value_keep(r, v, value, value_len);
}

/* A regular field: checked, then kept as an HTTP/1.1 line unless it is one the head
 * writes itself (host, content-length, cookie) or drops (te). */
static int regular_field(struct h2_req *r, const uint8_t *name, size_t name_len,
			 const uint8_t *value, size_t value_len)
{
	char *line;

	if (name_check(r, name, name_len))
		return -1;
	if (EQ_CI(name, name_len, "te")) {
		if (!EQ_CI(value, value_len, "trailers"))
			return req_fail(r, -1, "te other than trailers");
		return 0;  /* hop-by-hop: the backend's connection is not this one */
	}
	/* RFC 9113 8.2.2: meaningless in HTTP/2, and each would change the framing or the
	 * connection of the HTTP/1.1 message made from this one */
	if (is_connection_name(name, name_len))
		return req_fail(r, -1, "connection-specific field");
	if (EQ_CI(name, name_len, "content-length"))
		return content_length_field(r, value, value_len);
	if (EQ_CI(name, name_len, "host"))
		return host_field(r, value, value_len);
	if (EQ_CI(name, name_len, "cookie")) {
		/* RFC 9113 8.2.3: crumbs are joined before the message goes to HTTP/1.1 */
		if (!r->has_cookie) {
			if (line_count(r))
				return -2;
			r->has_cookie = 1;
			r->cookie_at = r->lines.len;
		} else if (textbuf_append(&r->cookie, "; ", 2)) {
			return req_fail(r, -1, "out of memory");
		}
		if (value_len && textbuf_append(&r->cookie, value, value_len))
			return req_fail(r, -1, "out of memory");
		return 0;
	}
	if (line_count(r))
		return -2;
	/* one line, written in place: one growth check per field, not four */
	if (!(line = textbuf_extend(&r->lines, name_len + value_len + 4)))
		return req_fail(r, -1, "out of memory");
	memcpy(line, name, name_len);
	memcpy(line + name_len, ": ", 2);
	if (value_len)
		memcpy(line + name_len + 2, value, value_len);
	memcpy(line + name_len + 2 + value_len, "\r\n", 2);
	return 0;
}

/* content-length: 1*DIGIT; repeats only with the same value (RFC 9110 8.6), written once. */
static int content_length_field(struct h2_req *r, const uint8_t *value, size_t len)
{
	int64_t n = 0;
	size_t i;

	if (len == 0 || len > H2_CL_DIGITS_MAX)
		return req_fail(r, -1, "invalid content-length");
	for (i = 0; i < len; i++) {
		if (!IS_DIGIT(value[i]))
			return req_fail(r, -1, "invalid content-length");
		n = n * 10 + (value[i] - '0');
	}
	if (r->content_length >= 0 && r->content_length != n)
		return req_fail(r, -1, "content-length values differ");
	r->content_length = n;
	return 0;
}

/* host: valid, once, and the same authority as :authority when both are there (RFC 9113
 * 8.3.1); routing reads Host, so two authorities would let one pick the other's route. */
static int host_field(struct h2_req *r, const uint8_t *value, size_t len)
{
	if (r->host.p)
		return req_fail(r, -1, "several host fields");
	if (!host_valid(value, len))
		return req_fail(r, -1, "invalid host");
	if (r->authority.p && !eq_ci2(value, len, r->authority.p, r->authority.len))
		return req_fail(r, -1, "host disagrees with :authority");
	return value_keep(r, &r->host, value, len);
}

/* Counts one more line of the head; -2 once the HTTP/1.1 parser would refuse the count. */
static int line_count(struct h2_req *r)
{
	if (r->nlines >= HTTP_HEADERS_MAX - H2_HEAD_EXTRA_LINES)
		return req_fail(r, -2, "too many header fields");
	r->nlines++;
	return 0;
}

/* What a whole request must have (RFC 9113 8.3.1, 8.5). 0 or -1 (r->error). */
static int req_check_whole(struct h2_req *r, int end_stream)
{
	if (!r->method.p)
		return req_fail(r, -1, "missing :method");
	if (strcmp(r->method.p, "CONNECT") == 0)
		return req_fail(r, -1, r->protocol.p ? "extended CONNECT is not supported"
						      : "CONNECT is not supported");
	if (r->protocol.p)
		return req_fail(r, -1, ":protocol without CONNECT");
	if (!r->scheme.p)
		return req_fail(r, -1, "missing :scheme");
	if (!r->path.p)
		return req_fail(r, -1, "missing :path");
	if (strcmp(r->path.p, "*") == 0) {
		if (strcmp(r->method.p, "OPTIONS") != 0)
			return req_fail(r, -1, ":path * other than with OPTIONS");
	} else if (r->path.p[0] != '/') {
		return req_fail(r, -1, ":path not in origin-form");
	}
	if (!r->authority.p && !r->host.p)
		return req_fail(r, -1, "missing :authority and host");
	if (end_stream && r->content_length > 0)
		return req_fail(r, -1, "content-length disagrees with DATA");
	return 0;
}

static void out_put(struct h2_out *o, const void *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = 1;
		return;
	}
	if (n)
		memcpy(o->p + o->len, s, n);
	o->len += n;
}

int h2_req_head(struct h2_req *r, int end_stream, char *out, size_t cap)
{
	struct h2_out o = { out, cap, 0, 0 };
	const struct h2_value *host = r->authority.p ? &r->authority : &r->host;
	const char *lines = r->lines.p ? r->lines.p : "";
	char cl[48];
	int n;

	if (r->failed)
		return r->failed == -2 ? -1 : r->failed;
	if (req_check_whole(r, end_stream))
		return -1;
	out_put(&o, r->method.p, r->method.len);
	out_put(&o, " ", 1);
	out_put(&o, r->path.p, r->path.len);
	out_put(&o, " HTTP/1.1\r\nHost: ", 17);
	out_put(&o, host->p, host->len);
	out_put(&o, "\r\n", 2);
	if (r->has_cookie) {
		out_put(&o, lines, r->cookie_at);
		out_put(&o, "cookie: ", 8);
		out_put(&o, r->cookie.p ? r->cookie.p : "", r->cookie.len);
		out_put(&o, "\r\n", 2);
		out_put(&o, lines + r->cookie_at, r->lines.len - r->cookie_at);
	} else {
		out_put(&o, lines, r->lines.len);
	}
	if (r->content_length >= 0) {
		n = snprintf(cl, sizeof(cl), "Content-Length: %lld\r\n", (long long)r->content_length);
		out_put(&o, cl, (size_t)n);
	} else if (!end_stream) {
		out_put(&o, "Transfer-Encoding: chunked\r\n", 28);
	}
	out_put(&o, "\r\n", 3);  /* with the NUL */
	if (o.over || o.len - 1 > INT32_MAX)
		return -2;
	return (int)(o.len - 1);
}

int64_t h2_req_content_length(const struct h2_req *r)
{
	return r->content_length;
}

/* Whether a Connection field among fields[0..n) lists name (RFC 9110 7.6.1: the fields it
 * names are the connection's too). */
static int named_by_connection(const char *base, const struct http_header *fields, size_t n,
			       const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *v = base + fields[i].value.off, *end = v + fields[i].value.len;

		if (!EQ_CI(base + fields[i].name.off, fields[i].name.len, "connection"))
			continue;
		while (v < end) {
			const char *s = v, *e;

			while (v < end && *v != ',')
				v++;
			e = v++;
			while (s < e && (*s == ' ' || *s == '\t'))
				s++;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (eq_ci2(s, (size_t)(e - s), name, len))
				return 1;
		}
	}
	return 0;
}

/* Puts the fields of fields[0..nfields) that HTTP/2 carries into out[start..max), names
 * lowercased into lower[0..cap). trailer: also drop what must not be a trailer. Returns
 * the count in out (start included), or -1 when out or lower is too small. */
static int fields_convert(const char *base, const struct http_header *fields, size_t nfields,
			  int trailer, struct h2_field *out, size_t start, size_t max, char *lower,
			  size_t cap)
{
	size_t i, j, n = start, used = 0;
	int has_connection = 0;

	/* most messages have no Connection field: then no field needs its list searched */
	for (i = 0; i < nfields && !has_connection; i++)
		has_connection = EQ_CI(base + fields[i].name.off, fields[i].name.len, "connection");
	for (i = 0; i < nfields; i++) {
		const char *name = base + fields[i].name.off;
		size_t len = fields[i].name.len;

		if (is_connection_name(name, len) ||
		    (has_connection && named_by_connection(base, fields, nfields, name, len)))
			continue;
		if (trailer && (len == 0 || name[0] == ':' || EQ_CI(name, len, "content-length") ||
				EQ_CI(name, len, "host")))
			continue;
		if (n >= max || len > cap - used)
			return -1;
		for (j = 0; j < len; j++)
			lower[used + j] = (name[j] >= 'A' && name[j] <= 'Z')
						  ? (char)(name[j] - 'A' + 'a') : name[j];
		out[n] = (struct h2_field){ lower + used, len, base + fields[i].value.off,
					    fields[i].value.len };
		used += len;
		n++;
	}
	return n > INT32_MAX ? -1 : (int)n;
}

int h2_resp_fields(const char *base, const struct http_head *h, struct h2_field *out, size_t max,
		   char *lower, size_t cap, char status_buf[4])
{
	int s = h->status;

	if (max < 1 || s < 100 || s > 999)
		return -1;
	status_buf[0] = (char)('0' + s / 100);
	status_buf[1] = (char)('0' + s / 10 % 10);
	status_buf[2] = (char)('0' + s % 10);
	status_buf[3] = '\0';
	out[0] = (struct h2_field){ ":status", 7, status_buf, 3 };
	return fields_convert(base, h->headers, h->nheaders, 0, out, 1, max, lower, cap);
}

/* A Connection value that names only close and keep-alive (themselves dropped anyway). */
static int connection_plain(const char *v, size_t len)
{
	size_t p = 0;

	while (p < len) {
		size_t s, e;

		while (p < len && (v[p] == ' ' || v[p] == '\t' || v[p] == ','))
			p++;
		for (s = p; p < len && v[p] != ','; p++)
			;
		for (e = p; e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'); e--)
			;
		if (e > s && !EQ_CI(v + s, e - s, "close") && !EQ_CI(v + s, e - s, "keep-alive"))
			return 0;
	}
	return 1;
}

int h2_resp_head_own(const char *base, size_t len, enum http_method rm, struct h2_own_head *h,
		     struct h2_field *out, size_t max, char *lower, size_t cap, char status_buf[4])
{
	const char *p, *eol, *last = base + len;
	size_t n = 1, used = 0;
	int has_cl = 0, chunked = 0, s;

	if (len < 14)
		return memchr(base, '\n', len) ? -1 : 0;
	if (max < 1 || (memcmp(base, "HTTP/1.1 ", 9) && memcmp(base, "HTTP/1.0 ", 9)) || !IS_DIGIT(base[9]) ||
	    !IS_DIGIT(base[10]) || !IS_DIGIT(base[11]) || (base[12] != ' ' && base[12] != '\r'))
		return -1;
	s = (base[9] - '0') * 100 + (base[10] - '0') * 10 + (base[11] - '0');
	if (s < 100)
		return -1;
	memcpy(status_buf, base + 9, 3);
	status_buf[3] = '\0';
	out[0] = (struct h2_field){ ":status", 7, status_buf, 3 };
	memset(h, 0, sizeof(*h));
	h->status = s;
	/* line by line (memchr finds each LF); no LF before the empty line: not whole yet */
	if (!(eol = memchr(base, '\n', len)))
		return 0;
	if (eol[-1] != '\r')
		return -1;
	for (p = eol + 1;; p = eol + 1) {
		const char *q, *v, *ve;
		char *name = lower + used;
		size_t nl;

		if (!(eol = memchr(p, '\n', (size_t)(last - p))))
			return 0;
		if (eol == p || eol[-1] != '\r')
			return -1;
		if (eol - 1 == p)
			break;  /* the empty line */
		/* the name, checked and lowercased into lower as it is read (kept only if used
		 * moves past it); it ends at the first byte that is no tchar, which must be the
		 * colon (CR is none either, so the line's end stops it too) */
		if ((size_t)(eol - p) > cap - used)
			return -1;
		for (q = p;; q++) {
			unsigned k = byte_class[(unsigned char)*q];

			if (!(k & TCHAR))
				break;
			name[q - p] = (char)(*q + (k & UPPER));
		}
		if (q == p || *q != ':')
			return -1;
		nl = (size_t)(q - p);
		for (v = q + 1; v < eol - 1 && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol - 1; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		if (nl == 14 && !memcmp(name, "content-length", 14)) {
			uint64_t cl = 0;
			const char *d;

			if (has_cl++ || v == ve || ve - v > H2_CL_DIGITS_MAX)
				return -1;
			for (d = v; d < ve; d++) {
				if (!IS_DIGIT(*d))
					return -1;
				cl = cl * 10 + (uint64_t)(*d - '0');
			}
			h->content_length = cl;
		} else if (nl == 17 && !memcmp(name, "transfer-encoding", 17)) {
			if (chunked++ || !EQ_CI(v, (size_t)(ve - v), "chunked"))
				return -1;
			continue;
		} else if (nl == 10 && !memcmp(name, "connection", 10)) {
			if (!connection_plain(v, (size_t)(ve - v)))
				return -1;
			continue;
		} else if (is_connection_name(name, nl)) {
			continue;
		}
		if (n >= max)
			return -1;
		out[n++] = (struct h2_field){ name, nl, v, (size_t)(ve - v) };
		used += nl;
	}
	h->head_len = (size_t)(eol + 1 - base);
	if (chunked && has_cl)
		return -1;  /* both: the strict parser says what that is */
	if (rm == HTTP_M_HEAD || s < 200 || s == 204 || s == 304)
		h->body = HTTP_BODY_NONE;
	else if (chunked)
		h->body = HTTP_BODY_CHUNKED;
	else
		h->body = has_cl ? HTTP_BODY_LENGTH : HTTP_BODY_UNTIL_CLOSE;
	return n > INT32_MAX ? -1 : (int)n;
}

int h2_trailer_fields(const char *base, const struct http_header *fields, size_t nfields,
		      struct h2_field *out, size_t max, char *lower, size_t cap)
{
	return fields_convert(base, fields, nfields, 1, out, 0, max, lower, cap);
}

int h2_trailer_section(const char *sec, size_t len, struct h2_field *out, size_t max, char *lower,
		       size_t cap)
{
	struct http_header f[H2_TRAILERS_MAX];
	size_t n = 0, pos = 0;

	for (;;) {
		size_t start = pos, colon, vs, ve;

		while (pos < len && sec[pos] != '\r' && sec[pos] != '\n')
			pos++;
		if (pos + 1 >= len || sec[pos + 1] != '\n')
			return -1;  /* every line ends in CRLF */
		if (pos == start)
			break;  /* the empty line: the section ends */
		for (colon = start; colon < pos && sec[colon] != ':'; colon++)
			;
		if (colon == start || colon == pos || n == H2_TRAILERS_MAX)
			return -1;
		for (vs = colon + 1; vs < pos && (sec[vs] == ' ' || sec[vs] == '\t'); vs++)
			;
		for (ve = pos; ve > vs && (sec[ve - 1] == ' ' || sec[ve - 1] == '\t'); ve--)
			;
		f[n].name = (struct http_slice){ (uint32_t)start, (uint32_t)(colon - start) };
		f[n].value = (struct http_slice){ (uint32_t)vs, (uint32_t)(ve - vs) };
		n++;
		pos += 2;
	}
	if (pos + 2 != len)
		return -1;  /* bytes after the end */
	return fields_convert(sec, f, n, 1, out, 0, max, lower, cap);
}
