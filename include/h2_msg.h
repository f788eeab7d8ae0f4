/* h2_msg.h: HTTP/2 messages as fulcrum's HTTP/1.1 path sees them (issue 21). A request's
 * header block, as HPACK decoded it, is checked (RFC 9113 8.1-8.3) and written as an
 * HTTP/1.1 head that http_parse_request accepts; an HTTP/1.1 response head or trailer
 * section becomes an HTTP/2 header list. Pure: no nghttp2, no I/O (docs/internals/http2.md). */
#ifndef FULCRUM_H2_MSG_H
#define FULCRUM_H2_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "textbuf.h"

/* A pseudo-header's value, owned (NULL when the field was not in the block): in the
 * request's inline space when it fits, else allocated. */
struct h2_value {
	char *p;
	size_t len;
};

/* Bytes of pseudo-header values a request keeps in itself: a usual :method, :scheme,
 * :authority and :path fit, so a stream allocates none of them. */
#define H2_REQ_INLINE 256

/* An HTTP/2 request's header block being received (h2_req_field per field, in order). */
struct h2_req {
	size_t list_max;        /* RFC 9113 6.5.2 header list size limit (name + value + 32 per field) */
	size_t list_size;       /* so far */
	struct h2_value method, scheme, authority, path, protocol; /* pseudo-headers */
	struct h2_value host;   /* the host field, when there was one */
	struct textbuf lines;   /* the regular fields as "name: value\r\n", in order */
	struct textbuf cookie;  /* the cookie crumbs joined with "; " */
	size_t cookie_at;       /* offset in lines where the one Cookie line goes */
	uint32_t nlines;        /* lines in lines, the Cookie line counted once */
	int has_cookie;         /* a cookie field was seen */
	int regular_seen;       /* a regular field came: no pseudo-header may follow */
	int64_t content_length; /* -1: none */
	int failed;             /* the rc of the first refusal: later calls return it again */
	const char *error;      /* static text: why the block was refused (NULL = none) */
	size_t inline_used;     /* bytes of inline_buf taken */
	char inline_buf[H2_REQ_INLINE];
};

void h2_req_init(struct h2_req *r, size_t list_max);
void h2_req_free(struct h2_req *r);

/* One field of the request's header block, as HPACK decoded it (not NUL-terminated, may
 * contain any byte). 0 accepted; -1 malformed (RFC 9113 8.1.1: the stream is reset with
 * PROTOCOL_ERROR; r->error says why; also "out of memory"); -2 the header list is over
 * list_max or has more fields than an HTTP/1.1 head may carry (HTTP_HEADERS_MAX, Host and
 * framing included) (the caller answers 431). After a refusal every call returns it again.
 * Checks: a name with uppercase letters or bytes outside tchar (a leading ':' only for
 * pseudo-headers), a value with NUL, CR or LF (or any other CTL but HTAB: fulcrum's
 * HTTP/1.1 parser refuses them, RFC 9110 5.5) or leading/trailing SP/HTAB;
 * pseudo-headers after a regular field, repeated, unknown, or response-only (:status),
 * or with a value that cannot go on a request line (:method not a token, :path with a
 * byte outside visible ASCII or a '#', :authority not a valid Host, :scheme other than
 * http or https); connection-specific fields (connection, keep-alive, proxy-connection,
 * transfer-encoding, upgrade) and te other than "trailers"; several content-length
 * values that differ or one that is not 1 to 18 digits; several host fields, an invalid
 * one, or one that disagrees with :authority (case-insensitive). Cookie crumbs (several
 * cookie fields) are joined with "; " into one Cookie line (RFC 9113 8.2.3). */
int h2_req_field(struct h2_req *r, const uint8_t *name, size_t name_len, const uint8_t *value,
		 size_t value_len);

/* The block is whole: checks what a request must have (:method; :scheme and :path unless
 * CONNECT; :path origin-form "/..." or "*" only for OPTIONS; CONNECT and extended CONNECT
 * are refused with r->error; :authority or host, at least one) and writes into out (cap
 * bytes, NUL-ended) the HTTP/1.1 head fulcrum's parser reads:
 *   "<method> <path> HTTP/1.1\r\nHost: <authority or host>\r\n" + the regular fields in
 *   their order (host itself not repeated, te dropped) + framing + "\r\n"
 * framing: "Content-Length: n" when the request had one; else, when end_stream is 0 (DATA
 * frames will follow), "Transfer-Encoding: chunked"; else nothing. A content-length
 * other than 0 with end_stream 1 is malformed (no DATA can match it, RFC 9113 8.1.1).
 * The head parses (limits of at least cap bytes and HTTP_HEADERS_MAX fields) with the
 * same method, target and Host. r is not changed but for r->error on -1, so a -2 may be
 * retried with more room. Returns the length; -1 malformed (r->error); -2 does not fit
 * in cap (out then holds nothing useful; nothing past cap is written). */
int h2_req_head(struct h2_req *r, int end_stream, char *out, size_t cap);

/* The request's content-length, or -1 when it had none (the connection side counts DATA
 * against it: a mismatch is malformed, RFC 9113 8.1.1). Valid after h2_req_head. */
int64_t h2_req_content_length(const struct h2_req *r);

/* One field of an HTTP/2 header list: pointers into the caller's buffers. */
struct h2_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* The HTTP/2 header list for the HTTP/1.1 response head h (parsed by http_parse_response
 * over base): ":status" first (its three digits written into status_buf, NUL-ended), then
 * each field of h in order except the connection-specific ones (connection and every
 * field it names, keep-alive, proxy-connection, transfer-encoding, upgrade, te), each
 * name lowercased into lower (cap bytes, all names one after the other). Values point
 * into base. Returns the count; -1 when max fields or cap bytes are not enough. */
int h2_resp_fields(const char *base, const struct http_head *h, struct h2_field *out, size_t max,
		   char *lower, size_t cap, char status_buf[4]);

/* What h2_resp_head_own found in a response head besides its fields. */
struct h2_own_head {
	int status;
	enum http_body body;
	uint64_t content_length;  /* body == HTTP_BODY_LENGTH */
	size_t head_len;          /* bytes up to and including the empty line */
};

/* h2_resp_fields for a response head fulcrum wrote itself (a stream's internal
 * connection writes every head it sends, after the strict parser took the backend's
 * apart), read in one pass without parsing it again: the status line, then each
 * "name: value" line, the framing fields noted (HTTP/1.1 6.3 framing with the request's
 * method rm). Connection-specific fields are dropped; a Connection field naming anything
 * but close or keep-alive, a second content-length, a transfer-encoding other than
 * chunked, or anything not of that form returns -1: the caller then parses the head the
 * strict way (http_parse_response, h2_resp_fields). Returns the count (":status" first),
 * 0 while the head is not whole, -1 as said or when max or cap are not enough. */
int h2_resp_head_own(const char *base, size_t len, enum http_method rm, struct h2_own_head *h,
		     struct h2_field *out, size_t max, char *lower, size_t cap, char status_buf[4]);

/* The same for trailers: the fields of a chunked body's trailer section (base, with
 * nfields fields as struct http_header slices), minus the ones that must not be trailers
 * (connection-specific fields and those a Connection field names, content-length, host,
 * te, and pseudo-like names). Returns the count; -1 as above. */
int h2_trailer_fields(const char *base, const struct http_header *fields, size_t nfields,
		      struct h2_field *out, size_t max, char *lower, size_t cap);

/* The same from the trailer section's bytes as http_chunked_scan checked them: lines of
 * "name:" OWS value OWS CRLF, then the CRLF that ends the body (sec[0..len), the last-chunk
 * line not included). Values point into sec. Returns the count (0: no trailer); -1 when
 * the section is not of that form or max, cap or H2_TRAILERS_MAX are not enough. */
#define H2_TRAILERS_MAX 64
int h2_trailer_section(const char *sec, size_t len, struct h2_field *out, size_t max, char *lower,
		       size_t cap);

#endif
