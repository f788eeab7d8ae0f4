/* conn_state.h: the events and deadline a connection's state wants (lb/conn_state.c). */
#ifndef FULCRUM_CONN_STATE_H
#define FULCRUM_CONN_STATE_H

#include "conn.h"

/* Events (EV_READ | EV_WRITE) the client socket's state wants, before TLS maps them to
 * socket directions (conn_physical_events). */
int conn_state_client_events(const struct client *c);
/* Events the backend connection u wants: its client's state, or READ while idle (to
 * notice the backend closing). */
int conn_state_upstream_events(const struct upstream *u);
/* The moment (ev_now() seconds) c's current state times out, and in *why how that
 * ending is named; 0 (and TERM_NONE) for a state without a deadline. */
double conn_state_deadline(const struct client *c, enum termination *why);
/* 1 while x's request body is unfinished and nothing of it waits to be sent: what
 * happens next depends on the client, not on the backend. */
int conn_state_owes_body(const struct exchange *x);

#endif
