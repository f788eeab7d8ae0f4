/* h2_conn.h: HTTP/2 client connections (lb/h2_conn.c): libnghttp2's framing, HPACK and
 * flow control on fulcrum's own sockets, TLS and loop; each stream an internal
 * connection that carries one HTTP/1.1 exchange through the same path as any request. */
#ifndef FULCRUM_H2_CONN_H
#define FULCRUM_H2_CONN_H

#include "conn.h"

/* What the connection core reads of an HTTP/2 connection's session (the first member of
 * struct h2_conn): lb/conn_state.c arms and times the connection from it. */
struct h2_conn_view {
	uint32_t streams_open;           /* no idle timeout while any is */
	uint32_t frames_pending;         /* bytes of frames waiting for the socket */
};

/* The protocol of a connection that chose h2 by ALPN: its start makes the session. */
extern const struct conn_proto h2_proto;

/* Graceful stop (shutdown, or its listener gone): GOAWAY now, the streams in flight
 * finish, then the connection closes. (h2_proto's stop.) */
void h2_conn_goaway(struct client *c);

#endif
