/* h2_conn-int.h: what lb/h2_conn.c (the connection, its streams, nghttp2's callbacks) and
 * lb/h2_response.c (a stream's response, from its internal connection's HTTP/1.1 to
 * HTTP/2 frames) share. Not for the rest of lb/: include/h2_conn.h is. */
#ifndef FULCRUM_H2_CONN_INT_H
#define FULCRUM_H2_CONN_INT_H

#include <nghttp2/nghttp2.h>
#include <stdint.h>

#include "h2_conn.h"
#include "h2_msg.h"
#include "http.h"
#include "mem_pipe.h"
#include "textbuf.h"

#define STREAM_OUT_MAX (64 * 1024)  /* a stream's response bytes held before its writes stop */

struct h2_stream;

struct h2_conn {
	struct h2_conn_view v;           /* first: what the connection core reads */
	nghttp2_session *s;
	struct client *c;
	struct h2_stream *streams;       /* open streams */
	struct pipe_bytes wq;            /* frames waiting for the socket */
	ev_timer kick;                   /* a pump soon: a stream's connection wrote or read */
	double resets_since;             /* start of the reset budget's window */
	uint32_t resets;                 /* client resets in that window */
	uint32_t empty_frames;
	uint32_t continuations;          /* of the header block being received */
	unsigned goaway:1;               /* no new streams; close once the last one ends */
	unsigned freeing:1;
};

struct h2_stream {
	int32_t id;
	struct h2_conn *hc;
	struct h2_stream *next, *prev;
	struct mem_pipe pipe;            /* its connection's transport */
	struct h2_req req;               /* the header block (until the head is written) */
	int64_t req_cl;                  /* the request's content-length; -1 = none */
	uint64_t req_data;               /* DATA bytes received */
	size_t consumed;                 /* bytes its connection read, for WINDOW_UPDATE */
	int refuse;                      /* answer this status at the end of the headers (431) */
	enum http_method method;
	enum http_body resp_body;
	uint64_t resp_left;              /* HTTP_BODY_LENGTH: body bytes still to come */
	struct http_chunked resp_chunk;
	char *trailers;                  /* the chunked response's trailer section, as it came */
	uint32_t trailers_len;
	unsigned started:1;              /* the request went to its connection */
	unsigned chunked_req:1;          /* the body goes to it chunked */
	unsigned req_ended:1;            /* END_STREAM came */
	unsigned resp_head:1;            /* the response's HEADERS were submitted */
	unsigned resp_done:1;            /* its body is whole (its last DATA is submitted) */
	unsigned deferred:1;             /* the data source waits for bytes */
	unsigned closing:1;              /* being freed: pipe notifications are ignored */
	unsigned trailers_dropped:1;     /* the section outgrew TRAILERS_MAX_BYTES */
	struct textbuf lines_spare;      /* the request's field-lines buffer, kept for reuse */
	struct h2_stream *spare_next;    /* in the worker's spare list */
};

/* What the streams' connections did since the last pump becomes frames: request body
 * bytes read are granted back (WINDOW_UPDATE), a response head becomes HEADERS, a data
 * source that waited resumes. (h2_response.c) */
void h2_pump_streams(struct h2_conn *hc);

#endif
