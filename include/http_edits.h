/* http_edits.h: an operator's header edits (a route's request_headers and
 * response_headers, struct cfg_header_edit) applied to a head fulcrum writes
 * (proto/http_edits.c). A field of the original head is dropped when an edit removes or
 * sets its name; the set and add lines are appended after fulcrum's own fields, with
 * their variables expanded. The loader refused edits of framing, hop-by-hop and
 * forwarding fields, so no edit changes how a message is framed. */
#ifndef FULCRUM_HTTP_EDITS_H
#define FULCRUM_HTTP_EDITS_H

#include <stddef.h>

#include "buffer.h"
#include "config-t.h"

/* What $client_ip, $host, $path and $request_id stand for in an edit's value. */
struct http_edit_vars {
	const char *client_ip;
	size_t client_ip_len;
	const char *host;
	size_t host_len;
	const char *path;            /* the path the client asked for, before any '?' */
	size_t path_len;
	const char *request_id;      /* NUL-terminated */
};

/* 1 when edits[0..n) drop a field named name[0..len) (remove, or set of that name). */
int http_edits_drop(const struct cfg_header_edit *edits, size_t n, const char *name, size_t len);

/* Appends each set and add line of edits[0..n), in order, at b's tail. 0, or -1 when b
 * has no room. */
int http_edits_append(struct buf *b, const struct cfg_header_edit *edits, size_t n,
		      const struct http_edit_vars *v);

#endif
