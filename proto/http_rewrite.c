/* http_rewrite.c: the heads fulcrum forwards. Owns which fields pass (hop-by-hop and
 * client claims fulcrum makes itself do not), which fields fulcrum adds, and the rule
 * that a forwarded head is framed exactly as fulcrum framed it. */
#include <string.h>
#include <strings.h>

#include "http_rewrite.h"

enum request_field {
	RF_COPY = 0,       /* passed on as it is */
	RF_OURS,           /* dropped: fulcrum sends its own (X-Forwarded-Proto, ...) */
	RF_XFF,            /* X-Forwarded-For: ours, or the client's chain plus the peer */
	RF_FORWARDED,      /* Forwarded: ours, or the client's elements plus ours */
	RF_REQUEST_ID      /* X-Request-ID: kept when safe, and taken as the request's id */
};

static int append_str(struct buf *b, const char *s);
static int append_uint(struct buf *b, unsigned v);
static int append_uint64(struct buf *b, uint64_t v);
static int append_field(struct buf *b, const char *base, const struct http_header *f);
static int append_forwarded_for(struct buf *b, const struct http_rewrite_req *rq);
static int is_framing_field(const char *base, struct http_slice name);
static int is_hop_by_hop(const char *base, const struct http_head *h, struct http_slice name);
static int named_by_connection(const char *base, const struct http_head *h,
			       struct http_slice name);
static enum request_field classify_request_field(const char *base, struct http_slice name);
static int append_request_id(struct buf *b, const char request_id[HTTP_REQUEST_ID_MAX + 1]);
static void format_request_id(const uint64_t bits[2], char out[HTTP_REQUEST_ID_MAX + 1]);

/* Appends a string literal: its length is known at compile time. */
#define APPEND_LIT(b, lit) buf_append((b), (lit), sizeof(lit) - 1)

static int append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* A status code, a version digit or a port: no printf on the per-request path (the
 * printf family was 40 % of the instructions per request; docs/benchmarks.md). */
static int append_uint(struct buf *b, unsigned v)
{
	char digits[10];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n);
	return buf_append(b, digits + n, sizeof(digits) - n);
}

/* append_uint for lengths beyond 32 bits (a buffered body's Content-Length). */
static int append_uint64(struct buf *b, uint64_t v)
{
	char digits[20];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n);
	return buf_append(b, digits + n, sizeof(digits) - n);
}

static int append_field(struct buf *b, const char *base, const struct http_header *f)
{
	int rc = 0;

	rc |= buf_append(b, base + f->name.off, f->name.len);
	rc |= APPEND_LIT(b, ": ");
	rc |= buf_append(b, base + f->value.off, f->value.len);
	rc |= APPEND_LIT(b, "\r\n");
	return rc;
}

/* for=192.0.2.1 or for="[2001:db8::1]" (RFC 7239 6: an IPv6 node is bracketed and
 * quoted), then ;proto= */
static int append_forwarded_for(struct buf *b, const struct http_rewrite_req *rq)
{
	int rc = 0;

	rc |= APPEND_LIT(b, "for=");
	if (rq->peer_v6)
		rc |= APPEND_LIT(b, "\"[");
	rc |= buf_append(b, rq->peer_ip, rq->peer_ip_len);
	if (rq->peer_v6)
		rc |= APPEND_LIT(b, "]\"");
	rc |= APPEND_LIT(b, ";proto=");
	rc |= rq->tls ? APPEND_LIT(b, "https") : APPEND_LIT(b, "http");
	return rc;
}

/* The fields whose removal would let the next hop frame or route the message otherwise
 * than fulcrum did: a Connection header naming them is not honoured for them. */
static int is_framing_field(const char *base, struct http_slice name)
{
	switch (name.len) {
	case 4:
		return http_slice_eq(base, name, "host");
	case 14:
		return http_slice_eq(base, name, "content-length");
	case 17:
		return http_slice_eq(base, name, "transfer-encoding");
	}
	return 0;
}

/* 1 when a Connection field of h lists name as one of its options. Every Connection
 * field and every option counts (no fixed cap: an option past a cap would pass). */
static int named_by_connection(const char *base, const struct http_head *h,
			       struct http_slice name)
{
	uint32_t i;

	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		uint32_t p, end, s;

		if (f->name.len != 10 || !http_slice_eq(base, f->name, "connection"))
			continue;
		p = f->value.off;
		end = f->value.off + f->value.len;
		while (p < end) {
			while (p < end && (base[p] == ' ' || base[p] == '\t' || base[p] == ','))
				p++;
			s = p;
			while (p < end && base[p] != ',' && base[p] != ' ' && base[p] != '\t')
				p++;
			if (p - s == name.len && !strncasecmp(base + name.off, base + s, name.len))
				return 1;
		}
	}
	return 0;
}

/* Hop-by-hop fields (RFC 9110 7.6.1) and those a Connection header names, except the
 * framing fields, which always pass. The fixed names are sorted by length first: most
 * fields are compared once or not at all. */
static int is_hop_by_hop(const char *base, const struct http_head *h, struct http_slice name)
{
	switch (name.len) {
	case 2:
		if (http_slice_eq(base, name, "te"))
			return 1;
		break;
	case 7:
		if (http_slice_eq(base, name, "upgrade"))
			return 1;
		break;
	case 10:
		if (http_slice_eq(base, name, "connection") || http_slice_eq(base, name, "keep-alive"))
			return 1;
		break;
	case 16:
		if (http_slice_eq(base, name, "proxy-connection"))
			return 1;
		break;
	case 18:
		if (http_slice_eq(base, name, "proxy-authenticate"))
			return 1;
		break;
	}
	if (!(h->flags & HTTP_F_CONN_LISTS_OTHER) || is_framing_field(base, name))
		return 0;
	return named_by_connection(base, h, name);
}

/* The fields fulcrum itself answers for towards the backend. A client's copy would let it
 * tell the app (Werkzeug's ProxyFix, Flask's access_route) a scheme, host, port, prefix,
 * address or certificate of its choosing. */
static enum request_field classify_request_field(const char *base, struct http_slice name)
{
	switch (name.len) {
	case 9:
		if (http_slice_eq(base, name, "forwarded"))
			return RF_FORWARDED;
		if (http_slice_eq(base, name, "x-real-ip"))
			return RF_OURS;
		break;
	case 12:
		if (http_slice_eq(base, name, "x-request-id"))
			return RF_REQUEST_ID;
		break;
	case 15:
		if (http_slice_eq(base, name, "x-forwarded-for"))
			return RF_XFF;
		break;
	case 16:
		if (http_slice_eq(base, name, "x-forwarded-host") ||
		    http_slice_eq(base, name, "x-forwarded-port"))
			return RF_OURS;
		break;
	case 17:
		if (http_slice_eq(base, name, "x-forwarded-proto"))
			return RF_OURS;
		break;
	case 18:
		if (http_slice_eq(base, name, "x-forwarded-prefix"))
			return RF_OURS;
		break;
	case 21:
		if (http_slice_eq(base, name, "x-client-cert-subject"))
			return RF_OURS;
		break;
	}
	return RF_COPY;
}

int http_request_id_safe(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HTTP_REQUEST_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '.' || ch == '_' || ch == ':' || ch == '+' || ch == '/' ||
		      ch == '=' || ch == '@'))
			return 0;
	}
	return 1;
}

int http_rewrite_request(struct buf *b, const char *base, const struct http_head *h,
			 const struct http_rewrite_req *rq,
			 char request_id[HTTP_REQUEST_ID_MAX + 1])
{
	int has_xff = 0, has_fwd = 0, has_rid = 0;
	uint32_t i;
	int rc = 0;

	rc |= buf_append(b, base + h->method.off, h->method.len);
	rc |= APPEND_LIT(b, " ");
	if (rq->strip_len && rq->strip_len <= h->target.len) {
		/* a route's strip_prefix: "/api/users?x" -> "/users?x", "/api" -> "/" (the route
		 * matched the prefix; what follows it starts a segment, a query or nothing) */
		const char *rest = base + h->target.off + rq->strip_len;
		size_t n = h->target.len - rq->strip_len;
		if (n == 0 || rest[0] != '/')
			rc |= APPEND_LIT(b, "/");
		rc |= buf_append(b, rest, n);
	} else {
		rc |= buf_append(b, base + h->target.off, h->target.len);
	}
	rc |= APPEND_LIT(b, " HTTP/1.");
	rc |= append_uint(b, (unsigned)h->version_minor);
	rc |= APPEND_LIT(b, "\r\n");
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = base + f->value.off;

		if (is_hop_by_hop(base, h, f->name)) {
			if (!(rq->upgrade && http_slice_eq(base, f->name, "upgrade")))
				continue;
		}
		/* a buffered body goes with a Content-Length of its own (http_rewrite_set_length),
		 * and its 100 Continue came from fulcrum */
		if (rq->body_buffered && (http_slice_eq(base, f->name, "content-length") ||
					  http_slice_eq(base, f->name, "transfer-encoding") ||
					  http_slice_eq(base, f->name, "expect")))
			continue;
		/* names with '_' are dropped (as nginx does): WSGI servers map '_' and '-' to
		 * the same variable, which would let a client spoof a header set by us */
		if (memchr(base + f->name.off, '_', f->name.len))
			continue;
		if (rq->nedits && http_edits_drop(rq->edits, rq->nedits, base + f->name.off, f->name.len))
			continue;
		switch (classify_request_field(base, f->name)) {
		case RF_OURS:
			continue;
		case RF_XFF:
			if (!rq->trust_forwarded)
				continue;
			/* a trusted proxy in front: its chain goes on, the peer last */
			rc |= APPEND_LIT(b, "X-Forwarded-For: ");
			rc |= buf_append(b, v, f->value.len);
			rc |= APPEND_LIT(b, ", ");
			rc |= buf_append(b, rq->peer_ip, rq->peer_ip_len);
			rc |= APPEND_LIT(b, "\r\n");
			has_xff = 1;
			continue;
		case RF_FORWARDED:
			if (!rq->trust_forwarded)
				continue;
			rc |= APPEND_LIT(b, "Forwarded: ");
			rc |= buf_append(b, v, f->value.len);
			rc |= APPEND_LIT(b, ", ");
			rc |= append_forwarded_for(b, rq);
			rc |= APPEND_LIT(b, "\r\n");
			has_fwd = 1;
			continue;
		case RF_REQUEST_ID:
			/* the first safe one is the request's id; the others, and unsafe ones
			 * (they would reach the log and the app's logs), are dropped */
			if (has_rid || !http_request_id_safe(v, f->value.len))
				continue;
			memcpy(request_id, v, f->value.len);
			request_id[f->value.len] = '\0';
			has_rid = 1;
			break;
		case RF_COPY:
			break;
		}
		rc |= append_field(b, base, f);
	}
	if (!has_xff) {
		rc |= APPEND_LIT(b, "X-Forwarded-For: ");
		rc |= buf_append(b, rq->peer_ip, rq->peer_ip_len);
		rc |= APPEND_LIT(b, "\r\n");
	}
	rc |= APPEND_LIT(b, "X-Real-IP: ");
	rc |= buf_append(b, rq->peer_ip, rq->peer_ip_len);
	rc |= rq->tls ? APPEND_LIT(b, "\r\nX-Forwarded-Proto: https\r\n")
		      : APPEND_LIT(b, "\r\nX-Forwarded-Proto: http\r\n");
	rc |= APPEND_LIT(b, "X-Forwarded-Port: ");
	rc |= append_uint(b, rq->local_port);
	rc |= APPEND_LIT(b, "\r\n");
	if (h->flags & HTTP_F_HAS_HOST) {
		rc |= APPEND_LIT(b, "X-Forwarded-Host: ");
		rc |= buf_append(b, base + h->host.off, h->host.len);
		rc |= APPEND_LIT(b, "\r\n");
	}
	if (!has_fwd) {
		rc |= APPEND_LIT(b, "Forwarded: ");
		rc |= append_forwarded_for(b, rq);
		if (h->flags & HTTP_F_HAS_HOST) {
			rc |= APPEND_LIT(b, ";host=\"");
			rc |= buf_append(b, base + h->host.off, h->host.len);
			rc |= APPEND_LIT(b, "\"");
		}
		rc |= APPEND_LIT(b, "\r\n");
	}
	/* mutual TLS: who the verified client certificate says the client is */
	if (rq->cert_subject) {
		rc |= APPEND_LIT(b, "X-Client-Cert-Subject: ");
		rc |= append_str(b, rq->cert_subject);
		rc |= APPEND_LIT(b, "\r\n");
	}
	if (!has_rid) {
		format_request_id(rq->id_bits, request_id);
		rc |= APPEND_LIT(b, "X-Request-ID: ");
		rc |= append_str(b, request_id);
		rc |= APPEND_LIT(b, "\r\n");
	}
	if (rq->nedits) {
		const char *t = base + h->target.off, *q = memchr(t, '?', h->target.len);
		struct http_edit_vars v = {
			.client_ip = rq->peer_ip, .client_ip_len = rq->peer_ip_len,
			.host = base + h->host.off, .host_len = (h->flags & HTTP_F_HAS_HOST) ? h->host.len : 0,
			.path = t, .path_len = q ? (size_t)(q - t) : h->target.len,
			.request_id = request_id,
		};
		rc |= http_edits_append(b, rq->edits, rq->nedits, &v);
	}
	if (rq->upgrade)
		rc |= APPEND_LIT(b, "Connection: upgrade\r\n");
	else if (h->version_minor == 0)
		rc |= APPEND_LIT(b, "Connection: keep-alive\r\n");
	rc |= APPEND_LIT(b, "\r\n");
	return rc ? -1 : 0;
}

int http_rewrite_response(struct buf *b, const char *base, const struct http_head *h,
			  int keep_alive, int client_minor,
			  const char request_id[HTTP_REQUEST_ID_MAX + 1])
{
	return http_rewrite_response_extra(b, base, h, keep_alive, client_minor, request_id, NULL);
}

int http_rewrite_response_extra(struct buf *b, const char *base, const struct http_head *h,
				int keep_alive, int client_minor,
				const char request_id[HTTP_REQUEST_ID_MAX + 1],
				const struct http_rewrite_resp *rs)
{
	uint32_t i;
	int rc = 0;

	rc |= APPEND_LIT(b, "HTTP/1.1 ");
	rc |= append_uint(b, (unsigned)h->status);
	rc |= APPEND_LIT(b, " ");
	rc |= buf_append(b, base + h->reason.off, h->reason.len);
	rc |= APPEND_LIT(b, "\r\n");
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];

		if (is_hop_by_hop(base, h, f->name) &&
		    !(h->status == 101 && http_slice_eq(base, f->name, "upgrade")))
			continue;
		/* the app's word to its proxy (Flask apps set it for nginx), not the client's */
		if (f->name.len == 17 && http_slice_eq(base, f->name, "x-accel-buffering"))
			continue;
		/* one id on the way back: the one the backend was sent, whatever it echoes */
		if (request_id && f->name.len == 12 && (base[f->name.off] | 0x20) == 'x' &&
		    http_slice_eq(base, f->name, "x-request-id"))
			continue;
		if (rs && ((rs->hsts && http_slice_eq(base, f->name, "strict-transport-security")) ||
			   (rs->nedits && http_edits_drop(rs->edits, rs->nedits, base + f->name.off, f->name.len))))
			continue;
		rc |= append_field(b, base, f);
	}
	if (request_id)
		rc |= append_request_id(b, request_id);
	if (rs && rs->hsts) {
		rc |= APPEND_LIT(b, "Strict-Transport-Security: ");
		rc |= append_str(b, rs->hsts);
		rc |= APPEND_LIT(b, "\r\n");
	}
	if (rs && rs->nedits)
		rc |= http_edits_append(b, rs->edits, rs->nedits, rs->vars);
	if (rs && rs->extra) {
		rc |= append_str(b, rs->extra);
		rc |= APPEND_LIT(b, "\r\n");
	}
	if (h->status == 101)
		rc |= APPEND_LIT(b, "Connection: upgrade\r\n");
	else if (!keep_alive)
		rc |= APPEND_LIT(b, "Connection: close\r\n");
	else if (client_minor == 0)
		rc |= APPEND_LIT(b, "Connection: keep-alive\r\n");
	rc |= APPEND_LIT(b, "\r\n");
	return rc ? -1 : 0;
}

/* "X-Request-ID: id\r\n" at b's tail. This is on every response: the id is copied as
 * its whole array (a fixed size the compiler copies in a few moves) and the end set
 * after its real length. 0, or -1 when b has no room for the longest id. */
static int append_request_id(struct buf *b, const char request_id[HTTP_REQUEST_ID_MAX + 1])
{
	static const char name[] = "X-Request-ID: ";
	size_t n = strnlen(request_id, HTTP_REQUEST_ID_MAX);
	char *p;

	if (buf_room(b) < sizeof(name) - 1 + HTTP_REQUEST_ID_MAX + 2)
		return -1;
	p = buf_tail(b);
	memcpy(p, name, sizeof(name) - 1);
	memcpy(p + sizeof(name) - 1, request_id, HTTP_REQUEST_ID_MAX);
	memcpy(p + sizeof(name) - 1 + n, "\r\n", 2);
	b->end += (uint32_t)(sizeof(name) - 1 + n + 2);
	return 0;
}

int http_rewrite_set_length(struct buf *b, uint64_t length)
{
	int rc = 0;

	if (buf_len(b) < 4 || memcmp(buf_tail(b) - 4, "\r\n\r\n", 4) != 0)
		return -1;
	b->end -= 2;  /* the blank line comes again after the field */
	rc |= APPEND_LIT(b, "Content-Length: ");
	rc |= append_uint64(b, length);
	rc |= APPEND_LIT(b, "\r\n\r\n");
	if (rc) {
		b->end = b->start;
		return -1;
	}
	return 0;
}

/* A new request id: the 128 bits as 32 hex characters, low nibble first. */
static void format_request_id(const uint64_t bits[2], char out[HTTP_REQUEST_ID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	int i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < 16; i++)
			out[k * 16 + i] = hex[(bits[k] >> (i * 4)) & 15];
	out[32] = '\0';
}
