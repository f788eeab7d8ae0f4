/* static_files.h: a route's static files (lb/static_files.c): GET and HEAD answered
 * from a directory by fulcrum itself, the body sent from the file as the client takes
 * it, so those requests never take a backend worker. */
#ifndef FULCRUM_STATIC_FILES_H
#define FULCRUM_STATIC_FILES_H

#include "config-t.h"
#include "http.h"

struct client;

/* Answers the request whose head is h (in base) from st's directory: the answer's head
 * is queued in c->out and its body, if any, is x->file_fd's range; static_producer
 * then makes the exchange, which the protocol writes with static_files_send. A request
 * with a body is answered and the connection closed (its body is never read). */
void static_files_answer(struct client *c, const struct cfg_route_static *st, const char *base,
			 const struct http_head *h);

/* Writes the queued head and the file's range as the client's socket takes them (plain:
 * sendfile(2); TLS: through c->out and the TLS adapter). Returns 1 while more is to go
 * (the socket is full, or this turn's share is spent), 0 when all is out, -1 when the
 * client is gone, -2 when the file ended before its range (changed under us). */
int static_files_send(struct client *c);

/* Opens rel (a relative path without "..", from http_static_path; "" = dirfd itself)
 * beneath the directory dirfd: openat2(2) with RESOLVE_BENEATH, or, where the kernel has
 * no openat2, one component at a time refusing every symlink. -1 and errno. */
int static_files_open(int dirfd, const char *rel, int flags);
/* The fallback of static_files_open: each component opened with O_NOFOLLOW from the
 * last, so no symlink is followed anywhere. -1 and errno (ELOOP or ENOTDIR on one). */
int static_files_open_nofollow(int dirfd, const char *rel, int flags);

#endif
