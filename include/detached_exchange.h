/* detached_exchange.h: exchanges fulcrum runs with no client behind them
 * (lb/detached_exchange.c): a pool cache's background refresh. */
#ifndef FULCRUM_DETACHED_EXCHANGE_H
#define FULCRUM_DETACHED_EXCHANGE_H

struct client;
struct buf;

/* A connection of fulcrum's own, on like's listener and generation, whose exchange is
 * like's request (its pool, route, request id, target and compression) as a GET with the
 * request head head (a buffer of like's worker, which the exchange now owns). Its
 * answer is read and dropped. The caller gives it a producer (client_to_backend). NULL
 * out of memory or descriptors (head is the caller's again). */
struct client *detached_exchange_new(struct client *like, struct buf *head);

#endif
