/* conn_arm.h: a connection's watchers and timer armed from its state (lb/conn_arm.c). */
#ifndef FULCRUM_CONN_ARM_H
#define FULCRUM_CONN_ARM_H

struct client;

/* Re-arms the client and upstream watchers and the timer from the state. */
void client_update(struct client *c);

#endif
