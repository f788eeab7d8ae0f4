/* compress.h: content codings on the way out (proto/compress.c, proto/accept_encoding.c):
 * a streaming encoder over zlib (gzip), libbrotli (br) and libzstd (zstd) with a bounded
 * window, and the decisions around it: which coding a request's Accept-Encoding allows
 * (RFC 9110 12.5.3), whether a Content-Type is in a list, whether a response may be
 * compressed at all. Pure: no I/O, no globals; the encoder allocates its own state only. */
#ifndef FULCRUM_COMPRESS_H
#define FULCRUM_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

enum compress_enc {
	COMPRESS_NONE = 0,  /* identity */
	COMPRESS_GZIP,
	COMPRESS_BR,
	COMPRESS_ZSTD,
	COMPRESS_ENC_N
};

/* Levels used when the configuration does not say: fast ones, as an edge compresses
 * every response on the fly (measured in docs/internals/compression.md). */
#define COMPRESS_GZIP_LEVEL_DEFAULT 4   /* zlib 1..9 */
#define COMPRESS_BR_LEVEL_DEFAULT   4   /* brotli quality 0..11 */
#define COMPRESS_ZSTD_LEVEL_DEFAULT 3   /* zstd 1..19 */
/* The window of every stream: 2^18 = 256 KiB, so one stream's state stays within about
 * 1 MiB whatever the coding and level (zlib: 2^15, its largest). */
#define COMPRESS_WINDOW_LOG 18

/* "gzip", "br", "zstd" ("identity" for COMPRESS_NONE). */
const char *compress_enc_name(enum compress_enc e);
/* The coding named by name[0..len) (case-insensitive; "x-gzip" is gzip, RFC 9110
 * 8.4.1.3), or COMPRESS_NONE. */
enum compress_enc compress_enc_parse(const char *name, size_t len);
/* The level range of coding e: *lo..*hi. */
void compress_level_range(enum compress_enc e, int *lo, int *hi);

/* ---- the encoder ---- */

struct compress_stream;

enum compress_op {
	COMPRESS_RUN = 0,   /* take input; output comes when the library has a block */
	COMPRESS_FLUSH,     /* take input, then emit everything taken so far */
	COMPRESS_FINISH     /* take input, then end the stream (its trailer) */
};

/* A stream of coding e at level (within compress_level_range; clamped). NULL out of
 * memory or for COMPRESS_NONE. The caller owns it (compress_free). */
struct compress_stream *compress_new(enum compress_enc e, int level);
/* Feeds in[0..n) and writes output into out[0..cap). *used and *produced say how much of
 * each was taken / written. Returns 1 when the operation is complete (all input taken;
 * for FLUSH all of it emitted; for FINISH the stream ended), 0 when out was too small
 * (call again with the rest of the input, same op, more room), -1 on a library error.
 * After FINISH returned 1 the stream takes nothing more. */
int compress_run(struct compress_stream *s, const void *in, size_t n, size_t *used,
		 void *out, size_t cap, size_t *produced, enum compress_op op);
void compress_free(struct compress_stream *s);

/* ---- negotiation ---- */

/* The q-values a request's Accept-Encoding fields give each coding, in thousandths: -1
 * for a coding the fields do not name (then "*" decides). */
struct compress_accept {
	int16_t q[COMPRESS_ENC_N];  /* [COMPRESS_NONE]: identity */
	int16_t star;               /* "*", -1 when absent */
	uint8_t present;            /* at least one Accept-Encoding field */
};

/* Adds one Accept-Encoding field value v[0..len) to *a (start with compress_accept_init).
 * Elements that do not parse (a bad q-value, a bad token) are skipped. The largest q
 * of a coding named twice wins. */
void compress_accept_init(struct compress_accept *a);
void compress_accept_add(struct compress_accept *a, const char *v, size_t len);
/* All Accept-Encoding fields of request head h over base. */
void compress_accept_head(struct compress_accept *a, const char *base, const struct http_head *h);
/* The coding to send among order[0..n) (the pool's preference): the highest q above 0,
 * ties to the earlier in order; a coding not named gets the q of "*". COMPRESS_NONE when
 * none is acceptable, when the request has no Accept-Encoding (a client that says
 * nothing gets what the app sent), or when identity is named with a higher q than every
 * candidate. */
enum compress_enc compress_choose(const struct compress_accept *a, const enum compress_enc *order, size_t n);

/* Whether media type ct[0..len) (a Content-Type value; parameters ignored, case-
 * insensitive) matches one of types, a comma-separated list ("text/html", or "text/"
 * and a star for a whole top-level type, as the configuration keeps its list). */
int compress_type_match(const char *ct, size_t len, const char *types);

/* Why a response is not compressed (compress_response_check). */
enum compress_skip {
	COMPRESS_OK = 0,
	COMPRESS_SKIP_METHOD,    /* HEAD, CONNECT or a method whose answer has no body */
	COMPRESS_SKIP_STATUS,    /* not 200, 203, 404, 410 or another with a plain body */
	COMPRESS_SKIP_NOBODY,    /* the response has no body (204, 304, Content-Length: 0) */
	COMPRESS_SKIP_ENCODED,   /* a Content-Encoding other than identity */
	COMPRESS_SKIP_NOTRANSFORM, /* Cache-Control: no-transform */
	COMPRESS_SKIP_RANGE,     /* Content-Range (a 206, or a 416's) */
	COMPRESS_SKIP_TYPE,      /* no Content-Type, or not in the list */
	COMPRESS_SKIP_SMALL      /* Content-Length below min_bytes */
};

/* Whether the response head h over base, to a request of method, may be compressed for
 * types (as compress_type_match) and min_bytes. COMPRESS_OK or the first reason it may
 * not. */
enum compress_skip compress_response_check(enum http_method method, const char *base, const struct http_head *h,
					   const char *types, uint64_t min_bytes);

#endif
