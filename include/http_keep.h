/* http_keep.h: what an HTTP exchange keeps of its request head (lb/http_keep.c). The
 * head's buffer is gone once the request is sent on; the access-log line and an answer
 * fulcrum may make later still need a few of its fields. */
#ifndef FULCRUM_HTTP_KEEP_H
#define FULCRUM_HTTP_KEEP_H

#include "http.h"

struct client;
struct error_page;

/* Copies into c's exchange, each cut to its field's size: "METHOD target" (the log's
 * method and path), the Referer and User-Agent when the log format prints them, the
 * Accept when the listener has error pages (to choose one). */
void http_keep_request_head(struct client *c, const char *base, const struct http_head *h);

/* The operator's page for an answer of status to c's current request: its route's
 * (routes[].error_pages), else its listener's, chosen by the request's Accept; NULL
 * when neither has one (the answer keeps its own body). */
const struct error_page *http_error_page(const struct client *c, int status);

#endif
