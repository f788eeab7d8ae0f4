/* cache_refresh.h: the background refresh of a stale cache entry (lb/cache_refresh.c). */
#ifndef FULCRUM_CACHE_REFRESH_H
#define FULCRUM_CACHE_REFRESH_H

struct client;
struct cache_obj;

/* c's request found o stale within its stale-while-revalidate window and c's exchange
 * is the key's fetcher (CACHE_REFRESH): starts fulcrum's own conditional request for o
 * on an internal connection, which takes the fetch over. 0 started (c answers with o and
 * owes no fetch_end); -1 nothing started (out of memory or descriptors: c fetches in the
 * foreground as before). o stays the caller's reference. */
int cache_refresh_start(struct client *c, struct cache_obj *o);

#endif
