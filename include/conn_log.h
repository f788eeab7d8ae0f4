/* conn_log.h: writing the access-log line of a request or tcp connection (lb/conn_log.c). */
#ifndef FULCRUM_CONN_LOG_H
#define FULCRUM_CONN_LOG_H

struct client;
struct worker;

/* Bytes of access-log lines a worker gathers before one write. */
#define CONN_LOG_BUF_CAP (64 * 1024)

/* The current request of c (tcp: the connection) ends: its counters, then its line
 * unless sampled out. Nothing when c has no exchange. */
void conn_log_request(struct client *c);
/* Writes the lines w has gathered (before its loop sleeps, and when it stops). */
void conn_log_flush(struct worker *w);

#endif
