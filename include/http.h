/* http.h: strict, zero-copy HTTP/1.1 message head parser (RFC 9112) and a streaming
 * scanner for chunked bodies. Nothing here allocates or copies: results are offsets. */
#ifndef FULCRUM_HTTP_H
#define FULCRUM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEADERS_MAX 256  /* hard ceiling; the configured limit may be lower */

/* A piece of the input buffer: buf + off, len bytes. */
struct http_slice {
	uint32_t off;
	uint32_t len;
};

struct http_header {
	struct http_slice name;
	struct http_slice value;  /* leading and trailing OWS already excluded */
};

enum http_method {
	HTTP_M_OTHER = 0, HTTP_M_GET, HTTP_M_HEAD, HTTP_M_POST, HTTP_M_PUT, HTTP_M_DELETE,
	HTTP_M_OPTIONS, HTTP_M_TRACE, HTTP_M_CONNECT, HTTP_M_PATCH
};

enum http_body {
	HTTP_BODY_NONE = 0,    /* no body follows the head */
	HTTP_BODY_LENGTH,      /* content_length bytes follow */
	HTTP_BODY_CHUNKED,     /* chunked transfer coding */
	HTTP_BODY_UNTIL_CLOSE  /* response only: body ends when the server closes */
};

enum http_parse_result {
	HTTP_PARSE_DONE = 0,      /* a complete head was parsed; head_len is set */
	HTTP_PARSE_INCOMPLETE,    /* need more bytes (and no limit exceeded yet) */
	HTTP_PARSE_ERROR          /* malformed or over a limit: see error_status / error */
};

struct http_limits {
	uint32_t head_max_bytes;    /* head larger than this -> 431 (request) / 502 (response) */
	uint32_t header_max_count;  /* more header fields than this -> 431; <= HTTP_HEADERS_MAX */
};

/* Flags of semantically important headers found while parsing. */
#define HTTP_F_CONN_CLOSE      0x0001  /* Connection: close */
#define HTTP_F_CONN_KEEPALIVE  0x0002  /* Connection: keep-alive */
#define HTTP_F_CONN_UPGRADE    0x0004  /* Connection: upgrade */
#define HTTP_F_UPGRADE         0x0008  /* an Upgrade header is present */
#define HTTP_F_EXPECT_CONTINUE 0x0010  /* Expect: 100-continue */
#define HTTP_F_HAS_HOST        0x0020  /* a (single) Host header is present */
#define HTTP_F_KEEP_ALIVE      0x0040  /* result: the connection may persist after this message */
#define HTTP_F_CONN_LISTS_OTHER 0x0080 /* Connection lists an option besides close/keep-alive/upgrade */

struct http_head {
	/* request line */
	struct http_slice method;
	struct http_slice target;
	enum http_method method_id;
	/* status line */
	int status;
	struct http_slice reason;
	/* both */
	int version_minor;           /* HTTP/1.<minor>: 0 or 1 */
	uint32_t head_len;           /* bytes up to and including the empty line */
	struct http_header headers[HTTP_HEADERS_MAX];
	uint32_t nheaders;
	/* semantics derived from the headers */
	enum http_body body;
	uint64_t content_length;     /* valid when body == HTTP_BODY_LENGTH */
	uint32_t flags;              /* HTTP_F_* */
	struct http_slice host;      /* value of Host when HTTP_F_HAS_HOST */
	/* on HTTP_PARSE_ERROR */
	int error_status;            /* 400, 431, 501, 505 for requests; 502 for responses */
	const char *error;           /* static string saying what was wrong */
};

/* Parses a request head from buf[0..len). Leading empty lines (CRLF) before the
 * request line are skipped as RFC 9112 2.2 allows; head_len counts them.
 * Rejected (HTTP_PARSE_ERROR, error_status 400 unless said): bare CR, bare LF line
 * endings inside the head are accepted only as CRLF (bare LF -> 400), obs-fold,
 * whitespace between a field name and colon, invalid token characters in method or
 * field names, control characters in values, both Transfer-Encoding and
 * Content-Length, several or invalid Content-Length values (identical duplicates in a
 * list included: rejected), Transfer-Encoding other than exactly "chunked" as final
 * coding (501 for unknown codings), a missing Host in HTTP/1.1 or several Host
 * headers, versions other than HTTP/1.0 and HTTP/1.1 (505), targets with bytes
 * outside visible ASCII, a Connection header that names Content-Length,
 * Transfer-Encoding or Host (a proxy that honoured it would forward the message without
 * the framing it was parsed with: request smuggling). Head over head_max_bytes or more than header_max_count
 * fields: 431. Returns an enum http_parse_result. */
int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
		       struct http_head *h);

/* Parses a response head. request_method tells whether a body can follow (HEAD and
 * 2xx to CONNECT have none); 1xx, 204 and 304 have none either. Errors use
 * error_status 502. A response with neither length nor chunked gets
 * HTTP_BODY_UNTIL_CLOSE (and no HTTP_F_KEEP_ALIVE). */
int http_parse_response(const char *buf, size_t len, const struct http_limits *lim,
			enum http_method request_method, struct http_head *h);

/* Case-insensitive comparison of a slice with a NUL-terminated lower-case token. */
int http_slice_eq(const char *buf, struct http_slice s, const char *lower_token);

/* Streaming scanner of a chunked body. It validates framing and finds where the
 * message ends; the bytes themselves are forwarded unchanged by the caller. */
struct http_chunked {
	int state;            /* internal */
	uint64_t remaining;   /* data bytes left in the current chunk */
	uint32_t line_len;    /* bytes seen of the current size/trailer line (limit) */
	uint32_t trailers;    /* trailer fields seen */
};

enum http_chunked_result {
	HTTP_CHUNKED_MORE = 0,  /* all of the input belongs to the body; feed more */
	HTTP_CHUNKED_DONE,      /* body ended; *consumed bytes of the input belong to it */
	HTTP_CHUNKED_ERROR      /* bad chunk size (overflow, non-hex, bad extension), bad CRLF */
};

void http_chunked_init(struct http_chunked *c);
/* Scans buf[0..len). On MORE, *consumed == len. On DONE, *consumed is the number of
 * bytes up to and including the final CRLF after the (possibly empty) trailer section.
 * Chunk sizes above 2^62 or with more than 16 hex digits are errors. */
int http_chunked_scan(struct http_chunked *c, const char *buf, size_t len, size_t *consumed);
/* Data bytes that come next in the input before any framing byte: the rest of the
 * current chunk while the scanner is inside one, else 0. A caller that takes the data
 * out of the framing (request buffering) copies that many and scans them. */
uint64_t http_chunked_data_next(const struct http_chunked *c);
/* 1 when the next byte the scanner takes belongs to the trailer section (a trailer
 * line, or the CRLF that ends the body): a caller that passes trailers on (as HTTP/2
 * trailers) collects those bytes, already checked by the scanner. */
int http_chunked_in_trailers(const struct http_chunked *c);

#endif
