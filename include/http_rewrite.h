/* http_rewrite.h: the request head a backend gets and the response head a client gets,
 * written from a parsed head (include/http.h). Pure: no connection, no loop, no
 * allocation; the fuzz target tests/fuzz/fuzz_http_rewrite.c drives it directly. */
#ifndef FULCRUM_HTTP_REWRITE_H
#define FULCRUM_HTTP_REWRITE_H

#include <stddef.h>

#include "buffer.h"
#include "http.h"
#include "http_edits.h"

/* A request id kept from the client or made by fulcrum: at most this many characters. */
#define HTTP_REQUEST_ID_MAX 64

/* What the request rewrite needs to know about the connection and the listener. */
struct http_rewrite_req {
	const char *peer_ip;        /* the client's address as text (no brackets) */
	size_t peer_ip_len;
	int peer_v6;                /* bracket and quote it in Forwarded */
	int tls;                    /* X-Forwarded-Proto https, else http */
	unsigned local_port;        /* X-Forwarded-Port: the port the client connected to */
	const char *cert_subject;   /* verified client certificate subject, or NULL */
	int upgrade;                /* keep Upgrade and send Connection: upgrade */
	int trust_forwarded;        /* extend the client's X-Forwarded-For / Forwarded chains */
	int body_buffered;          /* the body is read whole first: drop Content-Length,
	                             * Transfer-Encoding and Expect (http_rewrite_set_length) */
	/* 128 random bits the caller drew: the request's id (32 hex characters) when the
	 * client sent none or an unsafe one. Handed in, not asked for through a callback,
	 * so that the codec calls nothing above it. */
	uint64_t id_bits[2];
	/* a route's changes (zero = none): the path prefix it strips, its header edits */
	size_t strip_len;            /* strip the first strip_len bytes of the target (see below) */
	const struct cfg_header_edit *edits;
	size_t nedits;
};

/* What a response head gets beyond the backend's fields: a route's edits and the
 * listener's Strict-Transport-Security line (http_rewrite_response_extra). */
struct http_rewrite_resp {
	const struct cfg_header_edit *edits;
	size_t nedits;
	const struct http_edit_vars *vars;
	const char *hsts;            /* "max-age=...; ..." or NULL */
	const char *extra;           /* one more "Name: value" line (a split's Set-Cookie), or NULL */
};

/* Writes the backend's request head into out (appended at out's tail): the request line,
 * the client's fields minus hop-by-hop ones and minus those fulcrum owns, then fulcrum's
 * X-Forwarded-For/-Proto/-Host/-Port, X-Real-IP, Forwarded, X-Client-Cert-Subject,
 * X-Request-ID. Content-Length, Transfer-Encoding and Host are always kept as the client
 * sent them (the parser refuses a Connection header that names them), so the backend
 * frames the body exactly as fulcrum did. request_id receives the id used (the client's
 * when it is 1..HTTP_REQUEST_ID_MAX characters of [A-Za-z0-9._:+/=@-], else a new one).
 * Returns 0, or -1 when out has no room (out then holds a partial head: discard it). */
int http_rewrite_request(struct buf *out, const char *base, const struct http_head *h,
			 const struct http_rewrite_req *rq,
			 char request_id[HTTP_REQUEST_ID_MAX + 1]);

/* Adds "Content-Length: length" to a head written by http_rewrite_request with
 * body_buffered, once the body is whole (a chunked upload goes on with a length, as
 * nginx sends it). 0, or -1 when b has no room or does not end a head (b is emptied). */
int http_rewrite_set_length(struct buf *b, uint64_t length);

/* Writes the client's response head into out: "HTTP/1.1 status reason", the backend's
 * fields minus hop-by-hop ones and X-Accel-Buffering (the framing fields are never dropped), then fulcrum's
 * X-Request-ID: request_id (unless NULL; a whole array, NUL-terminated, is read; the
 * backend's own X-Request-ID is then dropped, so the client sees one, the id the backend
 * was sent), Connection: upgrade for a 101,
 * close when !keep_alive, keep-alive to an HTTP/1.0 client. 0, or -1 when out has no
 * room. */
int http_rewrite_response(struct buf *out, const char *base, const struct http_head *h,
			  int keep_alive, int client_minor,
			  const char request_id[HTTP_REQUEST_ID_MAX + 1]);

/* http_rewrite_response with a route's edits and an HSTS line (rs). */
int http_rewrite_response_extra(struct buf *out, const char *base, const struct http_head *h,
				int keep_alive, int client_minor,
				const char request_id[HTTP_REQUEST_ID_MAX + 1],
				const struct http_rewrite_resp *rs);

/* 1 when s[0..n) may be logged and forwarded as a request id as it is. */
int http_request_id_safe(const char *s, size_t n);

#endif
