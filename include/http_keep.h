/* http_keep.h: what an HTTP exchange keeps of its request head (lb/http_keep.c). The
 * head's buffer is gone once the request is sent on; the access-log line and an answer
 * fulcrum may make later still need a few of its fields. */
#ifndef FULCRUM_HTTP_KEEP_H
#define FULCRUM_HTTP_KEEP_H

#include "http.h"

struct client;

/* Copies into c's exchange, each cut to its field's size: "METHOD target" (the log's
 * method and path), the Referer and User-Agent when the log format prints them, the
 * Accept when the listener has error pages (to choose one). */
void http_keep_request_head(struct client *c, const char *base, const struct http_head *h);

#endif
