/* conn_limit.h: a connection against its listener's max_conns_per_client
 * (lb/conn_limit.c). */
#ifndef FULCRUM_CONN_LIMIT_H
#define FULCRUM_CONN_LIMIT_H

#include <sys/socket.h>

struct client;
struct gen_listener;
struct worker;

/* Counts a connection from sa against gl's max_conns_per_client. Returns 1 (counted:
 * the client must be released with conn_limit_release), 0 (not counted: no limit, not
 * an IP address, or out of memory) or -1 (over the limit: the caller closes the
 * connection; counted in the listener's stats and logged, at most a line a second). */
int conn_limit_admit(struct worker *w, const struct gen_listener *gl, const struct sockaddr *sa);
/* Gives back what conn_limit_admit counted for c (c->limit_counted), once. The key is
 * made again rather than kept (40 bytes on every connection): c->gl may be another
 * generation's by now, but of the same name, whose stats blocks are the same. */
void conn_limit_release(struct client *c);

#endif
