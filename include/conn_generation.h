/* conn_generation.h: a connection follows a reload (lb/conn_generation.c). */
#ifndef FULCRUM_CONN_GENERATION_H
#define FULCRUM_CONN_GENERATION_H

struct client;

/* Moves c to its worker's current generation, between requests or before a (re)pick:
 * the new generation's listener with c's socket (listen group), else with its listener's
 * name. 0 when moved or already current; -1 when the new generation has neither (c
 * stays where it is). The one rule for a connection to follow a reload. */
int client_follow_generation(struct client *c);

#endif
