/* http_body.h: the bodies of an HTTP/1.1 exchange that live in its stores (lb/http_body.c):
 * a request body read whole before a backend is chosen, a response held for a slow client. */
#ifndef FULCRUM_HTTP_BODY_H
#define FULCRUM_HTTP_BODY_H

#include "buffering.h"
#include "conn.h"
#include "http.h"

/* Starts request buffering for c's request, whose head is parsed and rewritten: the
 * body goes into the exchange's store (CS_READING_BODY) from what c->in holds, and a
 * client that waits for it (expect_continue) is told 100 Continue. Returns what
 * http_body_buffer_request returns. */
int http_body_begin_request(struct client *c, int expect_continue);
/* Moves the body bytes c->in holds into the exchange's store. Returns 1 when the body
 * is whole and the request head has its length (the caller sends the request on), 0
 * while more is to come, -1 when the request failed (answered or closed). */
int http_body_buffer_request(struct client *c);
/* Response buffering: 1 when the response whose head h starts c's backend buffer may be
 * held in the exchange's store (read off the backend as fast as it comes, the backend
 * let go once it is whole there), 0 when it streams at the client's pace. A body already
 * here whole is no stream whatever it says (the usual small answer: its headers are not
 * searched). The store is made when first needed (http_body_hold_response). Inline: it
 * runs for every response, as it did inside http_proxy.c. */
static inline int http_body_resp_may_buffer(struct client *c, const struct http_head *h)
{
	struct upstream *u = c->up;

	return h->status != 101 && h->body != HTTP_BODY_NONE && buffering_wanted(c, 1) &&
	       ((h->body == HTTP_BODY_LENGTH && h->content_length <= buf_len(u->in) - h->head_len) ||
		!buffering_response_streams(buf_head(u->in), h));
}

/* Moves what the client did not take of the response into the exchange's store and lets
 * the backend go once the response is whole there. */
void http_body_hold_response(struct client *c);

#endif
