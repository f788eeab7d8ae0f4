/* h2_response.c: a stream's response, from what its internal connection wrote (an
 * HTTP/1.1 head and body in the stream's transport) to HTTP/2: the head read in one
 * pass (h2_resp_head_own, the strict parser for what it does not take) becomes HEADERS;
 * the body, its HTTP/1.1 framing taken off, is nghttp2's data source, deferred while the
 * transport is empty; a chunked body's trailer section becomes trailers. */
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>

#include "h2_conn-int.h"
#include "log.h"

#define RESP_FIELDS_MAX 128
#define TRAILERS_MAX_BYTES 8192   /* a response's trailer section passed on; more is dropped */

static __thread struct http_head resp_scratch;

/* One byte of the chunked response's trailer section, kept to go on as HTTP/2 trailers
 * (a section over TRAILERS_MAX_BYTES is dropped whole: the body is complete, and a
 * client's header list limit is about that size). */
static void trailer_byte(struct h2_stream *st, char ch)
{
	if (st->trailers_dropped)
		return;
	if (st->trailers_len == TRAILERS_MAX_BYTES ||
	    (!st->trailers && !(st->trailers = malloc(TRAILERS_MAX_BYTES)))) {
		st->trailers_dropped = 1;
		return;
	}
	st->trailers[st->trailers_len++] = ch;
}

/* The body ended: a trailer section that came with it goes as a HEADERS frame with
 * END_STREAM (nghttp2_submit_trailer, allowed inside the data source callback), and the
 * last DATA frame does not end the stream. Returns 1 when trailers were submitted. */
static int trailers_submit(struct h2_conn *hc, struct h2_stream *st)
{
	static __thread struct h2_field f[H2_TRAILERS_MAX];
	static __thread nghttp2_nv nv[H2_TRAILERS_MAX];
	static __thread char lower[TRAILERS_MAX_BYTES];
	int n, i;

	if (st->trailers_dropped)
		log_warn("h2 stream %d: the backend's trailer section is over %d bytes; not passed on", (int)st->id,
			 TRAILERS_MAX_BYTES);
	if (!st->trailers || st->trailers_dropped)
		return 0;
	n = h2_trailer_section(st->trailers, st->trailers_len, f, H2_TRAILERS_MAX, lower, sizeof(lower));
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++)
		nv[i] = (nghttp2_nv){ (uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].name_len, f[i].value_len,
				      NGHTTP2_NV_FLAG_NONE };
	return nghttp2_submit_trailer(hc->s, st->id, nv, (size_t)n) == 0;
}

/* nghttp2's data source: the body bytes the stream's connection wrote, their HTTP/1.1
 * framing (Content-Length, chunks) taken off. */
/* Moves up to n body bytes at p (the head of out) into buf[*done..length): as many as fit,
 * taken off out. Returns how many. */
static size_t take_body(struct pipe_bytes *out, const char *p, size_t n, uint8_t *buf,
			size_t length, size_t *done)
{
	if (n > length - *done)
		n = length - *done;
	if (n) {
		memcpy(buf + *done, p, n);
		pipe_bytes_take(out, n);
		*done += n;
	}
	return n;
}

static ssize_t data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *ud)
{
	struct h2_stream *st = src->ptr;
	struct pipe_bytes *out = &st->pipe.out;
	size_t done = 0;

	(void)s;
	(void)id;
	(void)ud;
	while (done < length && !st->resp_done) {
		size_t avail = pipe_bytes_len(out), n, used;
		const char *p = pipe_bytes_head(out);

		if (st->resp_body == HTTP_BODY_LENGTH) {
			n = avail < st->resp_left ? avail : (size_t)st->resp_left;
			if ((n = take_body(out, p, n, buf, length, &done)) == 0)
				break;
			st->resp_left -= n;
			if (st->resp_left == 0)
				st->resp_done = 1;
		} else if (st->resp_body == HTTP_BODY_CHUNKED) {
			uint64_t k = http_chunked_data_next(&st->resp_chunk);

			if (avail == 0)
				break;
			if (k > 0) {
				n = avail < k ? avail : (size_t)k;
				n = n < length - done ? n : length - done;
				http_chunked_scan(&st->resp_chunk, p, n, &used);  /* before p is taken */
				take_body(out, p, n, buf, length, &done);
				continue;
			}
			/* framing: a byte at a time up to the next data or the end */
			if (http_chunked_in_trailers(&st->resp_chunk))
				trailer_byte(st, *p);
			switch (http_chunked_scan(&st->resp_chunk, p, 1, &used)) {
			case HTTP_CHUNKED_DONE:
				st->resp_done = 1;
				break;
			case HTTP_CHUNKED_ERROR:
				return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
			default:
				break;
			}
			pipe_bytes_take(out, 1);
		} else {
			/* until close */
			if (take_body(out, p, avail, buf, length, &done) == 0)
				break;
		}
	}
	if (!st->resp_done && st->resp_body == HTTP_BODY_UNTIL_CLOSE && st->pipe.out_eof && pipe_bytes_len(out) == 0)
		st->resp_done = 1;
	if (done > 0)
		mem_pipe_kick(&st->pipe);  /* room again for its connection's writes */
	if (st->resp_done) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (trailers_submit(st->hc, st))
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		return (ssize_t)done;
	}
	if (done == 0) {
		if (st->pipe.out_eof)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  /* cut short: the stream is reset */
		st->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)done;
}

/* The response head in the stream's transport, once whole: HEADERS (and a data source
 * when a body follows). 0 submitted or not whole yet; -1 unusable (the stream is reset). */
static int response_head(struct h2_conn *hc, struct h2_stream *st)
{
	struct pipe_bytes *out = &st->pipe.out;
	struct http_limits lim = { STREAM_OUT_MAX, HTTP_HEADERS_MAX };
	struct h2_field f[RESP_FIELDS_MAX];
	nghttp2_nv nv[RESP_FIELDS_MAX];
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = data_read };
	struct h2_own_head own;
	char lower[8192], status[4];
	int n, i, r;

	for (;;) {
		if (pipe_bytes_len(out) == 0)
			return st->pipe.out_eof ? -1 : 0;
		/* the head is fulcrum's own writing: read in one pass, and only what that pass
		 * does not take is parsed the strict way */
		n = h2_resp_head_own(pipe_bytes_head(out), pipe_bytes_len(out), st->method, &own, f,
				     RESP_FIELDS_MAX, lower, sizeof(lower), status);
		if (n == 0 && pipe_bytes_len(out) < STREAM_OUT_MAX)
			return st->pipe.out_eof ? -1 : 0;
		if (n <= 0) {
			r = http_parse_response(pipe_bytes_head(out), pipe_bytes_len(out), &lim, st->method,
						&resp_scratch);
			if (r == HTTP_PARSE_INCOMPLETE)
				return st->pipe.out_eof ? -1 : 0;
			if (r == HTTP_PARSE_ERROR)
				return -1;
			own = (struct h2_own_head){ resp_scratch.status, resp_scratch.body,
						    resp_scratch.content_length, resp_scratch.head_len };
			n = resp_scratch.status < 200 ? 1
				: h2_resp_fields(pipe_bytes_head(out), &resp_scratch, f, RESP_FIELDS_MAX, lower,
						 sizeof(lower), status);
			if (n < 0)
				return -1;
		}
		if (own.status >= 200)
			break;
		pipe_bytes_take(out, own.head_len);  /* 100 Continue: HTTP/2 needs none */
	}
	for (i = 0; i < n; i++)
		nv[i] = (nghttp2_nv){ (uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].name_len, f[i].value_len,
				      NGHTTP2_NV_FLAG_NONE };
	st->resp_body = own.body;
	st->resp_left = own.body == HTTP_BODY_LENGTH ? own.content_length : 0;
	http_chunked_init(&st->resp_chunk);
	st->resp_head = 1;
	if (st->resp_body == HTTP_BODY_NONE || (st->resp_body == HTTP_BODY_LENGTH && st->resp_left == 0))
		st->resp_done = 1;
	/* the fields point into out: submitted (nghttp2 copies them) before it moves */
	r = nghttp2_submit_response(hc->s, st->id, nv, (size_t)n, st->resp_done ? NULL : &prd);
	pipe_bytes_take(out, own.head_len);
	return r == 0 ? 0 : -1;
}

void h2_pump_streams(struct h2_conn *hc)
{
	struct h2_stream *st, *next;

	for (st = hc->streams; st; st = next) {
		next = st->next;
		if (st->consumed) {
			nghttp2_session_consume(hc->s, st->id, st->consumed);
			st->consumed = 0;
		}
		if (!st->started || st->resp_done)
			continue;
		if (!st->resp_head && (pipe_bytes_len(&st->pipe.out) > 0 || st->pipe.out_eof) &&
		    response_head(hc, st) == -1) {
			nghttp2_submit_rst_stream(hc->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
			st->resp_done = 1;
			continue;
		}
		if (st->resp_head && st->deferred && (pipe_bytes_len(&st->pipe.out) > 0 || st->pipe.out_eof)) {
			st->deferred = 0;
			nghttp2_session_resume_data(hc->s, st->id);
		}
	}
}
