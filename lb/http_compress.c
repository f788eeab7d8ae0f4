/* http_compress.c: owns compression on the HTTP/1.1 data path (include/http_compress.h):
 * the coding a request accepts, the response head a compressed answer gets, and the
 * filter between the backend's framed bytes (those response buffering holds first, then
 * the backend's buffer) and the client's buffer. A pool without
 * compress pays one pointer test per request and per response head. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "conn.h"
#include "http_cache.h"
#include "http_compress.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

/* Room a rebuilt head may need beyond the backend's: 2 bytes per field (a space after
 * the colon, W/), the Vary, Content-Encoding and Transfer-Encoding lines */
#define HEAD_EXTRA (2 * HTTP_HEADERS_MAX + 256)
/* Room c->out must have before the encoder writes into it: a chunk's size line and CRLF
 * around some output; below it the client takes bytes first. */
#define OUT_ROOM_MIN 512
#define CHUNK_HDR 10                   /* "ffffffff\r\n" at most: out is under 4 GiB */

static uint64_t cpu_ns(void);
static int build_head(const char *base, const struct http_head *h, enum compress_enc enc, int chunked,
		      char *out, size_t cap);
static int emit(struct client *c, struct http_compress_x *cz, enum compress_op op, const char *in,
		size_t n, size_t *used);
static int end_stream(struct client *c, struct http_compress_x *cz);
static int level_of(const struct cfg_compress *cfg, enum compress_enc e);

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void http_compress_request(struct client *c, const struct cfg_compress *cfg, const char *base,
			   const struct http_head *h)
{
	enum compress_enc order[COMPRESS_ENC_N];
	struct compress_accept a;
	const char *p = cfg->encodings;
	size_t n = 0;

	c->ex->compress_cfg = cfg;
	/* the configured list was checked at load: names of codings, at most three */
	while (p && *p && n < COMPRESS_ENC_N) {
		size_t l = strcspn(p, ",");

		order[n++] = compress_enc_parse(p, l);
		p += l + (p[l] == ',');
	}
	compress_accept_head(&a, base, h);
	c->ex->compress_enc = (unsigned)compress_choose(&a, order, n) & 3u;
}

static int level_of(const struct cfg_compress *cfg, enum compress_enc e)
{
	return e == COMPRESS_GZIP ? (int)cfg->gzip_level : e == COMPRESS_BR ? (int)cfg->brotli_level
									   : (int)cfg->zstd_level;
}

/* The head of h over base as the client (or the cache) gets it: Vary names
 * Accept-Encoding; with a coding also Content-Encoding, a weak ETag, no Content-Length
 * nor Accept-Ranges, and Transfer-Encoding: chunked when chunked. Its length, or -1 when it does not fit. */
static int build_head(const char *base, const struct http_head *h, enum compress_enc enc, int chunked,
		      char *out, size_t cap)
{
	char vary[2048];
	size_t n = 0, vl = 0;
	int m, has_ae = 0, star = 0;
	uint32_t i;

#define PUT(...)                                                  \
	do {                                                      \
		m = snprintf(out + n, cap - n, __VA_ARGS__);      \
		if (m < 0 || (size_t)m >= cap - n)                \
			return -1;                                \
		n += (size_t)m;                                   \
	} while (0)
	PUT("HTTP/1.1 %d %.*s\r\n", h->status, (int)h->reason.len, base + h->reason.off);
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = base + f->value.off;
		int vlen = (int)f->value.len;

		if (http_slice_eq(base, f->name, "vary")) {
			const char *s;

			/* one Vary with every element, Accept-Encoding once */
			for (s = v; s + 15 <= v + vlen; s++)
				if (!strncasecmp(s, "accept-encoding", 15))
					has_ae = 1;
			if (memchr(v, '*', (size_t)vlen))
				star = 1;
			if (vl + (size_t)vlen + 2 >= sizeof(vary))
				return -1;  /* none is dropped: the response goes as it is */
			if (vlen) {
				if (vl)
					vary[vl++] = ',', vary[vl++] = ' ';
				memcpy(vary + vl, v, (size_t)vlen);
				vl += (size_t)vlen;
			}
			continue;
		}
		if (enc != COMPRESS_NONE) {
			/* (an identity Content-Encoding is no coding at all; a range of the
			 * compressed bytes is not offered, as nginx's gzip does not) */
			if (http_slice_eq(base, f->name, "content-length") ||
			    http_slice_eq(base, f->name, "transfer-encoding") ||
			    http_slice_eq(base, f->name, "content-encoding") ||
			    http_slice_eq(base, f->name, "accept-ranges"))
				continue;
			if (http_slice_eq(base, f->name, "etag")) {
				/* the bytes differ from the app's: the tag can only be weak now
				 * (RFC 9110 8.8.1); a weak one stays as it is */
				if (vlen >= 2 && v[0] == 'W' && v[1] == '/')
					PUT("ETag: %.*s\r\n", vlen, v);
				else
					PUT("ETag: W/%.*s\r\n", vlen, v);
				continue;
			}
		}
		PUT("%.*s: %.*s\r\n", (int)f->name.len, base + f->name.off, vlen, v);
	}
	if (star)
		PUT("Vary: *\r\n");
	else
		PUT("Vary: %.*s%s%s\r\n", (int)vl, vary, vl && !has_ae ? ", " : "", has_ae ? "" : "Accept-Encoding");
	if (enc != COMPRESS_NONE) {
		PUT("Content-Encoding: %s\r\n", compress_enc_name(enc));
		if (chunked)
			PUT("Transfer-Encoding: chunked\r\n");
	}
	PUT("\r\n");
#undef PUT
	return (int)n;
}

/* The heads http_compress_response_head makes, in one block the caller frees once the
 * cache and the rewrite have copied them. */
struct rebuilt {
	struct http_head h, cache_h;
	size_t cap;
	char *text, *cache_text;
	char mem[];
};

int http_compress_response_head(struct client *c, const char **base, const struct http_head **h,
				const char **cache_base, const struct http_head **cache_h, void **held)
{
	struct exchange *x = c->ex;
	const struct cfg_compress *cfg = x->compress_cfg;
	enum compress_enc enc = (enum compress_enc)x->compress_enc;
	struct http_limits lim;
	struct http_compress_x *cz;
	struct rebuilt *rb;
	int chunked = c->version_minor >= 1, n, m = 0;

	*cache_base = *base;
	*cache_h = *h;
	*held = NULL;
	if (compress_response_check(x->method, *base, *h, cfg->types, cfg->min_bytes) != COMPRESS_OK)
		return 0;
	/* the new head is longer by the Vary and coding lines, a space after each colon and
	 * W/ of an ETag: a field adds at most 2 bytes */
	if (!(rb = malloc(sizeof(*rb) + 2 * ((size_t)(*h)->head_len + HEAD_EXTRA))))
		return -1;
	rb->cap = (size_t)(*h)->head_len + HEAD_EXTRA;
	rb->text = rb->mem;
	rb->cache_text = rb->mem + rb->cap;
	lim = (struct http_limits){ (uint32_t)rb->cap, HTTP_HEADERS_MAX };
	*held = rb;
	/* it may be compressed: its variants differ by Accept-Encoding, whatever this client
	 * asked (a cache keeps this one for clients asking the same) */
	n = build_head(*base, *h, enc, chunked, rb->text, rb->cap);
	if (n >= 0 && enc != COMPRESS_NONE && !chunked)
		m = build_head(*base, *h, enc, 1, rb->cache_text, rb->cap);
	if (n < 0 || m < 0 || http_parse_response(rb->text, (size_t)n, &lim, x->method, &rb->h) != HTTP_PARSE_DONE ||
	    (m > 0 && http_parse_response(rb->cache_text, (size_t)m, &lim, x->method, &rb->cache_h) != HTTP_PARSE_DONE)) {
		/* a Vary too long to merge (over 2 KiB): sent as it is, not compressed */
		free(rb);
		*held = NULL;
		return 0;
	}
	*cache_base = m > 0 ? rb->cache_text : rb->text;
	*cache_h = m > 0 ? &rb->cache_h : &rb->h;
	if (enc != COMPRESS_NONE) {
		if (!(cz = calloc(1, sizeof(*cz))))
			return -1;
		if (!(cz->s = compress_new(enc, level_of(cfg, enc)))) {
			free(cz);
			return -1;
		}
		cz->enc = enc;
		cz->from = (*h)->body;
		http_chunked_init(&cz->dechunk);
		cz->chunked = (unsigned)chunked;
		cz->to_cache = x->cache != NULL;
		x->compress = cz;
		if (!chunked)
			c->keep_alive = 0;  /* the body ends when the connection does */
	}
	*base = rb->text;
	*h = &rb->h;
	return 0;
}

/* One encoder call whose output goes to c->out, framed as a chunk for an HTTP/1.1
 * client, and to the cache's copy as a chunk. Returns as compress_run; 0 without a call
 * when c->out has too little room (the client takes bytes first). */
static int emit(struct client *c, struct http_compress_x *cz, enum compress_op op, const char *in,
		size_t n, size_t *used)
{
	struct buf *b;
	size_t produced = 0, hl;
	char hdr[CHUNK_HDR + 1], *t;
	int r;

	*used = 0;
	if (!c->out && !(c->out = buf_get(&c->w->bufs)))
		return -1;
	b = c->out;
	if (buf_room(b) < OUT_ROOM_MIN && b->start > 0)
		buf_compact(b);
	if (buf_room(b) < OUT_ROOM_MIN)
		return 0;
	t = buf_tail(b);
	r = compress_run(cz->s, in, n, used, t + CHUNK_HDR, buf_room(b) - CHUNK_HDR - 2, &produced, op);
	if (r < 0)
		return -1;
	cz->in += *used;
	cz->out += produced;
	if (*used)
		cz->dirty = 1;
	if (produced == 0)
		return r;
	hl = (size_t)snprintf(hdr, sizeof(hdr), "%zx\r\n", produced);
	if (cz->chunked) {
		memmove(t + hl, t + CHUNK_HDR, produced);
		memcpy(t, hdr, hl);
		memcpy(t + hl + produced, "\r\n", 2);
		b->end += (uint32_t)(hl + produced + 2);
		if (cz->to_cache)
			http_cache_body(c, t, hl + produced + 2);
	} else {
		memmove(t, t + CHUNK_HDR, produced);
		b->end += (uint32_t)produced;
		if (cz->to_cache) {
			http_cache_body(c, hdr, hl);
			http_cache_body(c, t, produced);
			http_cache_body(c, "\r\n", 2);
		}
	}
	return r;
}

/* The stream ended (its last bytes are in c->out): the last chunk, the cache's copy
 * stored, the counters, the encoder freed. 0, or 0 without effect when c->out has no
 * room for the last chunk yet (finished stays 0). */
static int end_stream(struct client *c, struct http_compress_x *cz)
{
	struct pool_stats *ps;
	const struct pool *p = c->ex->pool ? c->ex->pool : c->gl->pool;

	if (cz->chunked) {
		if (!c->out && !(c->out = buf_get(&c->w->bufs)))
			return -1;
		if (buf_room(c->out) < 5)
			buf_compact(c->out);
		if (buf_append(c->out, "0\r\n\r\n", 5) == -1)
			return 0;
	}
	if (cz->to_cache) {
		http_cache_body(c, "0\r\n\r\n", 5);
		http_cache_response_done(c);
	}
	cz->finished = 1;
	compress_free(cz->s);
	cz->s = NULL;
	if (p && p->stats) {
		ps = &p->stats[c->w->id];
		stat_add(&ps->compress_in[cz->enc - 1], cz->in);
		stat_add(&ps->compress_out[cz->enc - 1], cz->out);
		stat_add(&ps->compress_cpu_ns[cz->enc - 1], cz->cpu_ns);
		stat_add(&ps->compress_responses[cz->enc - 1], 1);
	}
	return 0;
}

/* The encoder's next input: the framed bytes response buffering holds (they came first),
 * else those in the backend's buffer. Their length and *p; 0 when there are none yet;
 * (size_t)-1 when a spilled body cannot be read back. */
static size_t next_input(struct client *c, const char **p)
{
	struct exchange *x = c->ex;
	struct upstream *u = c->up;
	struct iovec iov;

	if (x->resp_buffered && body_kept(&x->resp_store) > 0) {
		if (body_peek(&x->resp_store, x->resp_store.start, &iov, 1) != 1) {
			log_error("buffering: a spilled response cannot be read back: %s", strerror(errno));
			return (size_t)-1;
		}
		*p = iov.iov_base;
		return iov.iov_len;
	}
	if (u && u->in && x->resp_ready) {
		*p = buf_head(u->in);
		return x->resp_ready;
	}
	return 0;
}

/* n bytes of next_input's were taken */
static void input_done(struct client *c, size_t n)
{
	struct exchange *x = c->ex;

	if (x->resp_buffered && body_kept(&x->resp_store) > 0) {
		body_drop(&x->resp_store, x->resp_store.start + n);
		return;
	}
	buf_consume(c->up->in, (uint32_t)n);
	x->resp_ready -= (uint32_t)n;
}

int http_compress_pump(struct client *c)
{
	struct exchange *x = c->ex;
	struct http_compress_x *cz = x->compress;
	const char *p = NULL;
	size_t avail;
	uint64_t t0;
	int r = 0;

	if (!cz || cz->finished)
		return 0;
	t0 = cpu_ns();
	for (;;) {
		size_t used;

		if (cz->has_pending) {
			/* a flush or the end, until all its output is out */
			r = emit(c, cz, cz->pending, NULL, 0, &used);
			if (r <= 0)
				break;
			cz->has_pending = 0;
			if (cz->pending == COMPRESS_FINISH) {
				r = end_stream(c, cz);
				break;
			}
			continue;
		}
		if ((avail = next_input(c, &p)) == (size_t)-1) {
			r = -1;
			break;
		}
		if (avail > 0) {
			size_t data = avail, scanned;
			uint64_t next = 0;

			if (cz->from == HTTP_BODY_CHUNKED && !(next = http_chunked_data_next(&cz->dechunk))) {
				/* a framing byte: through the scanner, not the encoder (it was
				 * checked when framed) */
				http_chunked_scan(&cz->dechunk, p, 1, &scanned);
				input_done(c, 1);
				continue;
			}
			if (cz->from == HTTP_BODY_CHUNKED && next < data)
				data = (size_t)next;
			r = emit(c, cz, COMPRESS_RUN, p, data, &used);
			if (r < 0)
				break;
			if (cz->from == HTTP_BODY_CHUNKED && used)
				http_chunked_scan(&cz->dechunk, p, used, &scanned);
			input_done(c, used);
			if (used < data || r == 0)
				break;  /* c->out is full: the client takes bytes first */
			continue;
		}
		/* all that came is in: end the stream, or flush it so a client of a stream
		 * sees what the backend sent so far */
		if (x->resp_done) {
			cz->pending = COMPRESS_FINISH;
			cz->has_pending = 1;
		} else if (cz->dirty) {
			cz->pending = COMPRESS_FLUSH;
			cz->has_pending = 1;
			cz->dirty = 0;
		} else {
			break;
		}
	}
	cz->cpu_ns += cpu_ns() - t0;
	return r < 0 ? -1 : 0;
}
