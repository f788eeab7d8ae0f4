/* conn_close.h: the end of a client connection (lb/conn_close.c). */
#ifndef FULCRUM_CONN_CLOSE_H
#define FULCRUM_CONN_CLOSE_H

#include "conn.h"

/* Closes idempotently; the memory goes once the current callback returns. */
void client_close(struct client *c, enum termination why);
/* After the last response of a connection is out: closes, or lingers (CS_LINGERING) when
 * the client may still be sending. */
void client_linger(struct client *c);
/* Frees a closed client (its worker's reap, after the callbacks of a loop pass). */
void client_free(struct client *c);

#endif
