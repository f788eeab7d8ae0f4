/* fuzz_http_rewrite.c: libFuzzer target for the heads fulcrum forwards (proto/http_rewrite.c).
 * Input: a request head, then the bytes the client sends after it. Whatever the parser
 * accepts is framed as the proxy frames it, rewritten, and the forwarded bytes (the new
 * head, then the framed body) are parsed again as a backend would. Invariants:
 *  - they parse as exactly one request: framed the same way (the same Content-Length, or
 *    chunked), the body ends exactly where the forwarded bytes end, the same Host;
 *  - none of fulcrum's own fields comes from the client, and the request id is safe;
 *  - the response rewrite of any parsed response keeps its framing too. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "http.h"
#include "http_rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How many bytes of body[0..len) the proxy forwards as this request's body, or -1 when
 * the body is incomplete or bad (the proxy would wait or refuse: nothing to check). */
static long frame_body(const struct http_head *h, const char *body, size_t len)
{
	struct http_chunked ck;
	size_t used = 0;

	switch (h->body) {
	case HTTP_BODY_NONE:
		return 0;
	case HTTP_BODY_LENGTH:
		return h->content_length <= len ? (long)h->content_length : -1;
	case HTTP_BODY_CHUNKED:
		http_chunked_init(&ck);
		if (http_chunked_scan(&ck, body, len, &used) != HTTP_CHUNKED_DONE)
			return -1;
		return (long)used;
	default:
		return -1;
	}
}

static struct buf *new_buf(uint32_t cap)
{
	struct buf *b = malloc(sizeof(*b) + cap);

	assert(b);
	b->next_free = NULL;
	b->cap = cap;
	b->start = b->end = 0;
	return b;
}

static void check_request(const char *in, size_t size)
{
	static struct http_head h, again;
	struct http_limits lim = { 8192, 64 };
	struct http_limits out_lim = { 16384, 128 };
	char rid[HTTP_REQUEST_ID_MAX + 1];
	struct http_rewrite_req rq = {
		.peer_ip = "192.0.2.7", .peer_ip_len = 9, .tls = 1, .local_port = 443,
		.cert_subject = "CN=client", .id_bits = { 1, 2 },
	};
	struct buf *head, *out;
	long body_len, again_len;
	uint32_t head_len, i;

	if (http_parse_request(in, size, &lim, &h) != HTTP_PARSE_DONE)
		return;
	body_len = frame_body(&h, in + h.head_len, size - h.head_len);
	if (body_len < 0)
		return;
	rq.upgrade = (h.flags & HTTP_F_UPGRADE) && (h.flags & HTTP_F_CONN_UPGRADE);
	rq.trust_forwarded = size & 1;
	/* the room the proxy gives the new head (lb/http_proxy.c) */
	head = new_buf(h.head_len + 1024);
	if (http_rewrite_request(head, in, &h, &rq, rid) == -1) {
		free(head);  /* the proxy answers 431: nothing forwarded */
		return;
	}
	head_len = buf_len(head);
	assert(http_request_id_safe(rid, strlen(rid)));
	out = new_buf(head_len + (uint32_t)body_len);
	assert(buf_append(out, buf_head(head), head_len) == 0);
	assert(buf_append(out, in + h.head_len, (size_t)body_len) == 0);
	free(head);

	/* the backend's view: one request, framed as fulcrum framed it */
	assert(http_parse_request(buf_head(out), buf_len(out), &out_lim, &again) == HTTP_PARSE_DONE);
	assert(again.head_len == head_len);
	assert(again.body == h.body);
	if (h.body == HTTP_BODY_LENGTH)
		assert(again.content_length == h.content_length);
	again_len = frame_body(&again, buf_head(out) + head_len, buf_len(out) - head_len);
	assert(again_len == body_len);
	assert((h.flags & HTTP_F_HAS_HOST) == (again.flags & HTTP_F_HAS_HOST));
	if (h.flags & HTTP_F_HAS_HOST)
		assert(again.host.len == h.host.len &&
		       !memcmp(buf_head(out) + again.host.off, in + h.host.off, h.host.len));
	assert(again.method_id == h.method_id && again.target.len == h.target.len);
	/* one X-Client-Cert-Subject, fulcrum's */
	for (i = 0; i < again.nheaders; i++) {
		const struct http_header *f = &again.headers[i];
		if (http_slice_eq(buf_head(out), f->name, "x-client-cert-subject"))
			assert(f->value.len == 9 && !memcmp(buf_head(out) + f->value.off, "CN=client", 9));
		if (http_slice_eq(buf_head(out), f->name, "x-forwarded-port"))
			assert(f->value.len == 3 && !memcmp(buf_head(out) + f->value.off, "443", 3));
	}
	free(out);
}

static void check_response(const char *in, size_t size)
{
	static struct http_head h, again;
	struct http_limits lim = { 8192, 64 };
	struct http_limits out_lim = { 16384, HTTP_HEADERS_MAX };  /* ours adds a field */
	struct buf *out;

	if (http_parse_response(in, size, &lim, HTTP_M_GET, &h) != HTTP_PARSE_DONE)
		return;
	out = new_buf(h.head_len + 256);
	if (http_rewrite_response(out, in, &h, (int)(size & 1), 1, NULL) == 0) {
		assert(http_parse_response(buf_head(out), buf_len(out), &out_lim, HTTP_M_GET, &again) ==
		       HTTP_PARSE_DONE);
		assert(again.head_len == buf_len(out));
		assert(again.status == h.status);
		/* a body the backend framed by length or chunks reaches the client so framed;
		 * one that ends at close may only lose keep-alive, never gain a length */
		if (h.body == HTTP_BODY_LENGTH || h.body == HTTP_BODY_CHUNKED)
			assert(again.body == h.body && again.content_length == h.content_length);
		else
			assert(again.body == h.body);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;

	check_request(in, size);
	check_response(in, size);
	return 0;
}
