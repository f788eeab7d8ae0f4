/* fuzz_h2_msg.c: libFuzzer target for proto/h2_msg.c. The input is a header block and an
 * HTTP/1.1 response: byte 0 flags (bit 0 end_stream), bytes 1-2 the head's cap, byte 3
 * list_max / 64 - 1, byte 4 the number of fields, byte 5 the response's status, bytes 6-7
 * the response side's max fields and name bytes; then each field as name length, value
 * length, name, value (any bytes); the rest is the response's header lines ('\n' becomes
 * CRLF). Invariants: nothing is written past cap; a head that is returned parses with
 * http_parse_request as a whole with the :method, :path and authority the block had; no
 * connection-specific field, te, second Content-Length or second cookie line survives and
 * the framing is the one promised; a block with a connection-specific field, differing
 * content-lengths or a host other than :authority has no head; -2 means the head is
 * longer than cap; response and trailer lists hold no connection-specific field, lowercase
 * names and the right :status. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h2_msg.h"
#include "http.h"
#include "textbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_BIG 65536

static struct http_head fz_h;

/* What the block said, as the fuzzer saw it (valid when the block was accepted: each of
 * these is then there at most once). */
struct fz_model {
	const uint8_t *method, *path, *authority, *host;
	size_t method_len, path_len, authority_len, host_len;
	struct textbuf cookie;
	int cookies;
	int64_t cl;            /* the first content-length value, if digits (-1: none) */
	int cl_differ;         /* a later one had another value */
	int forbidden;         /* a connection-specific field, or te other than trailers */
};

static int fz_slice_is(const char *b, struct http_slice s, const void *p, size_t len)
{
	return s.len == len && memcmp(b + s.off, p, len) == 0;
}

static int fz_slice_ci(const char *b, struct http_slice s, const void *p, size_t len)
{
	return s.len == len && strncasecmp(b + s.off, p, len) == 0;
}

static void fz_note(struct fz_model *m, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
	if (nl == 7 && memcmp(n, ":method", 7) == 0)
		m->method = v, m->method_len = vl;
	else if (nl == 5 && memcmp(n, ":path", 5) == 0)
		m->path = v, m->path_len = vl;
	else if (nl == 10 && memcmp(n, ":authority", 10) == 0)
		m->authority = v, m->authority_len = vl;
	else if (nl == 4 && memcmp(n, "host", 4) == 0)
		m->host = v, m->host_len = vl;
	else if (nl == 14 && memcmp(n, "content-length", 14) == 0) {
		int64_t x = 0;
		size_t k;

		for (k = 0; k < vl && k < 18 && v[k] >= '0' && v[k] <= '9'; k++)
			x = x * 10 + (v[k] - '0');
		if (m->cl >= 0 && x != m->cl)
			m->cl_differ = 1;
		else
			m->cl = x;
	} else if ((nl == 10 && memcmp(n, "connection", 10) == 0) ||
		   (nl == 10 && memcmp(n, "keep-alive", 10) == 0) ||
		   (nl == 16 && memcmp(n, "proxy-connection", 16) == 0) ||
		   (nl == 17 && memcmp(n, "transfer-encoding", 17) == 0) ||
		   (nl == 7 && memcmp(n, "upgrade", 7) == 0) ||
		   (nl == 2 && memcmp(n, "te", 2) == 0 && !(vl == 8 && strncasecmp((const char *)v, "trailers", 8) == 0)))
		m->forbidden = 1;
	else if (nl == 6 && memcmp(n, "cookie", 6) == 0) {
		if (m->cookies++)
			textbuf_append(&m->cookie, "; ", 2);
		textbuf_append(&m->cookie, v, vl);
	}
}

/* The head h2_req_head wrote, read back by the HTTP/1.1 parser. */
static void fz_check_head(struct h2_req *r, const struct fz_model *m, int end_stream,
			  const char *head, int n)
{
	const uint8_t *auth = m->authority ? m->authority : m->host;
	size_t auth_len = m->authority ? m->authority_len : m->host_len;
	int64_t cl = h2_req_content_length(r);
	uint32_t i, cookies = 0;

	assert(strlen(head) == (size_t)n);
	assert(http_parse_request(head, (size_t)n, NULL, &fz_h) == HTTP_PARSE_DONE);
	assert(fz_h.head_len == (uint32_t)n);
	assert(m->method && fz_slice_is(head, fz_h.method, m->method, m->method_len));
	assert(m->path && fz_slice_is(head, fz_h.target, m->path, m->path_len));
	assert(auth && (fz_h.flags & HTTP_F_HAS_HOST));
	assert(fz_slice_is(head, fz_h.host, auth, auth_len));
	assert(fz_h.method_id != HTTP_M_CONNECT);
	/* what must have been refused was */
	assert(!m->forbidden && !m->cl_differ);
	assert(!(m->authority && m->host) ||
	       (m->authority_len == m->host_len &&
		strncasecmp((const char *)m->authority, (const char *)m->host, m->host_len) == 0));
	assert(cl == m->cl);
	for (i = 0; i < fz_h.nheaders; i++) {
		struct http_slice nm = fz_h.headers[i].name;

		assert(!fz_slice_ci(head, nm, "connection", 10) && !fz_slice_ci(head, nm, "keep-alive", 10) &&
		       !fz_slice_ci(head, nm, "proxy-connection", 16) && !fz_slice_ci(head, nm, "upgrade", 7) &&
		       !fz_slice_ci(head, nm, "te", 2));
		if (fz_slice_ci(head, nm, "cookie", 6)) {
			const char *c = m->cookie.p ? m->cookie.p : "";
			size_t cl_len = m->cookie.len;

			/* the parser trims the OWS an empty last crumb leaves ("a=1; ") */
			while (cl_len && (c[cl_len - 1] == ' ' || c[cl_len - 1] == '\t'))
				cl_len--;
			cookies++;
			assert(fz_slice_is(head, fz_h.headers[i].value, c, cl_len));
		}
	}
	assert(cookies == (m->cookies > 0));
	if (cl >= 0)
		assert(fz_h.body == HTTP_BODY_LENGTH && fz_h.content_length == (uint64_t)cl &&
		       (!end_stream || cl == 0));
	else if (!end_stream)
		assert(fz_h.body == HTTP_BODY_CHUNKED);
	else
		assert(fz_h.body == HTTP_BODY_NONE);
}

/* A Connection field of h lists name. */
static int fz_conn_names(const char *b, const struct http_head *h, const char *name, size_t len)
{
	uint32_t i;

	for (i = 0; i < h->nheaders; i++) {
		const char *v = b + h->headers[i].value.off, *end = v + h->headers[i].value.len;

		if (!fz_slice_ci(b, h->headers[i].name, "connection", 10))
			continue;
		while (v < end) {
			const char *s = v;

			while (v < end && *v != ',')
				v++;
			while (s < v && (*s == ' ' || *s == '\t'))
				s++;
			if ((size_t)(v - s) >= len && strncasecmp(s, name, len) == 0) {
				const char *t = s + len;

				while (t < v && (*t == ' ' || *t == '\t'))
					t++;
				if (t == v)
					return 1;
			}
			v++;
		}
	}
	return 0;
}

/* One response or trailer list of rc fields (from first: :status before) in lower[0..cap). */
static void fz_check_list(const char *b, const struct h2_field *f, int rc, int first,
			  const char *lower, size_t cap, int trailer)
{
	int i;
	size_t j;

	for (i = first; i < rc; i++) {
		assert(f[i].name >= lower && f[i].name + f[i].name_len <= lower + cap);
		assert(f[i].name_len > 0 && f[i].name[0] != ':');
		for (j = 0; j < f[i].name_len; j++)
			assert(!(f[i].name[j] >= 'A' && f[i].name[j] <= 'Z'));
		assert(!fz_conn_names(b, &fz_h, f[i].name, f[i].name_len));
#define FZ_NOT(s) assert(!(f[i].name_len == sizeof(s) - 1 && memcmp(f[i].name, s, sizeof(s) - 1) == 0))
		FZ_NOT("connection");
		FZ_NOT("keep-alive");
		FZ_NOT("proxy-connection");
		FZ_NOT("transfer-encoding");
		FZ_NOT("upgrade");
		FZ_NOT("te");
		if (trailer) {
			FZ_NOT("content-length");
			FZ_NOT("host");
		}
#undef FZ_NOT
	}
}

/* The response side: a head from the rest of the input, converted with the given limits
 * and with ample ones; a refusal only when the ample list needs more than was given. */
static void fz_response(const uint8_t *p, size_t len, unsigned status, size_t max, size_t cap)
{
	static struct h2_field f[HTTP_HEADERS_MAX + 1], g[HTTP_HEADERS_MAX + 1], own_f[HTTP_HEADERS_MAX + 1];
	static char big[FZ_BIG], own_lower[FZ_BIG];
	struct h2_own_head own;
	int own_rc;
	char *b = malloc(len * 2 + 40), *lower = malloc(cap ? cap : 1), st[4], *head;
	size_t n, i, need = 0;
	int rc, full;

	if (!b || !lower)
		goto out;
	n = (size_t)sprintf(b, "HTTP/1.1 %03u X\r\n", status);
	for (i = 0; i < len; i++) {
		if (p[i] == '\n')
			b[n++] = '\r';
		b[n++] = (char)p[i];
	}
	b[n++] = '\r';
	b[n++] = '\n';
	/* the one-pass reader takes any bytes without harm; its verdict is checked below */
	own_rc = h2_resp_head_own(b, n, HTTP_M_GET, &own, g, HTTP_HEADERS_MAX + 1, big, sizeof(big), st);
	assert(own_rc >= -1 && own_rc <= (int)HTTP_HEADERS_MAX + 1);
	if (http_parse_response(b, n, NULL, HTTP_M_GET, &fz_h) != HTTP_PARSE_DONE)
		goto out;
	/* on a head the strict parser takes, the one-pass reader gives up (-1) or agrees on
	 * everything: status, framing, length, the head's end and the field list */
	assert(own_rc != 0);
	if (own_rc > 0) {
		assert(own.status == fz_h.status && own.body == fz_h.body && own.head_len == fz_h.head_len);
		assert(own.body != HTTP_BODY_LENGTH || own.content_length == fz_h.content_length);
		memcpy(own_f, g, sizeof(g[0]) * (size_t)own_rc);
		memcpy(own_lower, big, sizeof(big));
		full = h2_resp_fields(b, &fz_h, g, HTTP_HEADERS_MAX + 1, big, sizeof(big), st);
		assert(full == own_rc);
		assert(own_f[0].name_len == 7 && own_f[0].value_len == 3 && own_f[0].value == st);
		for (i = 1; i < (size_t)full; i++) {
			/* the reader's names were in big, now in own_lower at the same place */
			const char *own_name = own_lower + (own_f[i].name - big);

			assert(g[i].name_len == own_f[i].name_len && g[i].value_len == own_f[i].value_len);
			assert(memcmp(g[i].name, own_name, g[i].name_len) == 0);
			assert(g[i].value == own_f[i].value);
		}
	}
	full = h2_resp_fields(b, &fz_h, g, HTTP_HEADERS_MAX + 1, big, sizeof(big), st);
	assert(full >= 1 && full <= (int)fz_h.nheaders + 1);
	assert(g[0].name_len == 7 && memcmp(g[0].name, ":status", 7) == 0 && g[0].value_len == 3);
	assert((unsigned)atoi(st) == status && st[3] == '\0');
	fz_check_list(b, g, full, 1, big, sizeof(big), 0);
	for (i = 1; i < (size_t)full; i++)
		need += g[i].name_len;
	rc = h2_resp_fields(b, &fz_h, f, max, lower, cap, st);
	if (rc < 0)
		assert((size_t)full > max || need > cap);
	else
		assert(rc == full);

	full = h2_trailer_fields(b, fz_h.headers, fz_h.nheaders, g, HTTP_HEADERS_MAX, big, sizeof(big));
	assert(full >= 0 && full <= (int)fz_h.nheaders);
	fz_check_list(b, g, full, 0, big, sizeof(big), 1);
	rc = h2_trailer_fields(b, fz_h.headers, fz_h.nheaders, f, max, lower, cap);
	assert(rc == -1 || rc == full);
	/* the same fields as a trailer section's bytes (after the status line, up to the
	 * head's end: an empty line may end it early): the same list whenever it fits
	 * H2_TRAILERS_MAX */
	head = strchr(b, '\n') + 1;
	rc = h2_trailer_section(head, fz_h.head_len - (size_t)(head - b), f, HTTP_HEADERS_MAX, big,
				sizeof(big));
	if (fz_h.nheaders <= H2_TRAILERS_MAX) {
		assert(rc == full);
		fz_check_list(b, f, rc, 0, big, sizeof(big), 1);
	} else {
		assert(rc == -1);
	}
out:
	free(b);
	free(lower);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char big[FZ_BIG], again[FZ_BIG];
	const uint8_t *p = data + 8, *end = data + size;
	struct fz_model m;
	struct h2_req r;
	int end_stream, rc = 0, n, n2;
	size_t cap, nfields, i;
	char *out;

	if (size < 8)
		return 0;
	end_stream = data[0] & 1;
	cap = (size_t)data[1] | (size_t)data[2] << 8;
	nfields = data[4];
	memset(&m, 0, sizeof(m));
	m.cl = -1;
	h2_req_init(&r, 64 * ((size_t)data[3] + 1));
	for (i = 0; i < nfields && end - p >= 2; i++) {
		size_t nl = p[0], vl = p[1];
		uint8_t *name, *value;

		p += 2;
		if ((size_t)(end - p) < nl + vl)
			break;
		/* each in a buffer of exactly its size, so a read past it shows under ASan */
		name = malloc(nl ? nl : 1);
		value = malloc(vl ? vl : 1);
		assert(name && value);
		memcpy(name, p, nl);
		memcpy(value, p + nl, vl);
		fz_note(&m, p, nl, p + nl, vl);
		rc = h2_req_field(&r, name, nl, value, vl);
		assert(rc == 0 || rc == -1 || rc == -2);
		assert((rc == 0) == (r.error == NULL));
		assert(r.list_size <= r.list_max);
		free(name);
		free(value);
		p += nl + vl;
		if (rc)
			break;
	}
	out = malloc(cap ? cap : 1);
	assert(out);
	n = h2_req_head(&r, end_stream, out, cap);
	assert(n >= -2 && n < (int)cap);
	if (rc)
		assert(n == -1);
	if (n != -1) {
		n2 = h2_req_head(&r, end_stream, big, sizeof(big));
		assert(n2 >= 0 && (n == -2 ? (size_t)n2 >= cap : n2 == n));
		if (n >= 0)
			assert(memcmp(out, big, (size_t)n + 1) == 0);
		fz_check_head(&r, &m, end_stream, big, n2);
		assert(h2_req_head(&r, end_stream, again, sizeof(again)) == n2);
	} else {
		assert(r.error != NULL);
	}
	free(out);
	h2_req_free(&r);
	textbuf_free(&m.cookie);
	fz_response(p, (size_t)(end - p), 100 + data[5] * 3u, data[6], (size_t)data[7] * 4);
	return 0;
}
