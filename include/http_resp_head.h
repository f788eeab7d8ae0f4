/* http_resp_head.h: the response head an HTTP/1.1 client gets (lb/http_resp_head.c),
 * from a backend's head as it came or as the cache stored it. */
#ifndef FULCRUM_HTTP_RESP_HEAD_H
#define FULCRUM_HTTP_RESP_HEAD_H

#include "http.h"

struct client;

/* Appends to c->out (taken or grown as needed) the head for c's client from the
 * backend's head h over base (proto/http_rewrite.c): hop-by-hop fields out, the
 * exchange's X-Request-ID, the listener's HSTS, the route's edits and split cookie,
 * and extra ("Name: value" lines joined by CRLF, no final one; NULL = none). 0, or -1
 * when it does not fit or out of memory. */
int http_resp_head(struct client *c, const char *base, const struct http_head *h, const char *extra);

#endif
