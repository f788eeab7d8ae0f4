/* client_limit.h: concurrent client connections per listener and client address (IPv4
 * address, IPv6 /64), counted exactly across workers (listeners[].max_conns_per_client). */
#ifndef FULCRUM_CLIENT_LIMIT_H
#define FULCRUM_CLIENT_LIMIT_H

#include <stdint.h>
#include <sys/socket.h>

struct client_limit;  /* the table (lb/client_limit.c) */

/* Who a connection is counted as: a listener and an address block. */
struct client_limit_key {
	const void *owner;           /* the listener: any pointer that names it for as long as
	                              * its connections live (its named stats blocks) */
	uint64_t addr[2];            /* IPv4 as ::ffff:a.b.c.d; IPv6 the /64, low half zero */
	uint64_t hash;               /* of the above, with the table's random seed */
};

/* A table with its own random hash seed; NULL when out of memory or randomness. */
struct client_limit *client_limit_new(void);
void client_limit_free(struct client_limit *t);
/* The process's table, made on first use (thread-safe); NULL if that failed. */
struct client_limit *client_limit_shared(void);

/* Fills k for a connection from sa on listener owner. Returns 1, or 0 when sa is not
 * an IP address (nothing to count). IPv4-mapped IPv6 addresses count as IPv4. */
int client_limit_key(const struct client_limit *t, const void *owner, const struct sockaddr *sa,
		     struct client_limit_key *k);
/* Counts one more connection for k unless max are open already. Returns 1 (counted:
 * the caller must release it exactly once), 0 (over the limit: not counted), or -1
 * (out of memory: not counted). O(1) on average; holds one of 64 locks briefly. */
int client_limit_acquire(struct client_limit *t, const struct client_limit_key *k, uint32_t max);
/* Gives back one connection counted by client_limit_acquire. */
void client_limit_release(struct client_limit *t, const struct client_limit_key *k);
/* Connections counted for k now. */
uint32_t client_limit_count(struct client_limit *t, const struct client_limit_key *k);
/* Address blocks with connections counted now (all listeners). */
uint64_t client_limit_entries(struct client_limit *t);

/* Notes one refused connection at now_ms (any clock in milliseconds). Returns 1 when a
 * log line is due (at most one a second, process-wide), with the number refused since
 * the previous line (this one included) in *since. */
int client_limit_note_refused(struct client_limit *t, int64_t now_ms, uint64_t *since);

#endif
