/* route_index.c: owns a listener's route index (include/route_index.h): a hash table of
 * the routes' exact hosts and a prefix tree of their paths, each giving a set of
 * candidate routes (a bitset over route numbers). A request's candidates are the
 * intersection of its host's set and the sets on its path's walk down the tree; they
 * are checked in config order by route.c's own matcher (without the host when the
 * table decided it), so the first that matches is route_find's answer: the sets only
 * ever leave out routes that cannot match. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_index.h"

#define NONE UINT32_MAX
#define WORD_BITS 64

/* One slot of the host table: an exact host (lower case) and its candidate set. */
struct ix_host {
	uint32_t off;                /* the host in ix->keys */
	uint32_t len;
	uint32_t hash;
	uint32_t set;                /* its set: ix->host_sets + set * words; NONE = a free slot */
};

/* One node of the prefix tree: the path byte that leads to it from its parent. */
struct ix_node {
	uint32_t child;              /* its first child; 0 = none (the root, node 0, is nobody's) */
	uint32_t sibling;            /* its parent's next child; 0 = none */
	uint32_t term;               /* ix->path_sets + term * 2 * words: routes whose path_prefix
				      * ends here, then routes whose exact path does; NONE = none */
	unsigned char byte;
};

struct route_index {
	size_t n;                    /* routes indexed */
	size_t words;                /* 64-bit words of a set */
	struct ix_host *slots;       /* open addressing, a power of two, at most half full */
	size_t nslots;               /* 0 = no route has an exact host */
	char *keys;                  /* the hosts, lower case, one after another */
	uint64_t *host_sets;         /* per host: routes whose host matches it (unset, the same,
				      * or a "*." suffix of it) */
	uint64_t *other_set;         /* for any other host: routes without a host or with "*." */
	struct ix_node *nodes;       /* nodes[0] is the root (the empty path) */
	size_t nnodes;
	uint64_t *path_sets;         /* two sets per node with routes ending there */
	size_t nterms;
	uint64_t *nopath_set;        /* routes with neither path nor path_prefix */
};

static uint32_t host_hash(const char *h, size_t n);
static const uint64_t *host_set(const struct route_index *ix, const char *h, size_t n,
				int *decided);
static int hosts_build(struct route_index *ix, const struct cfg_route *routes);
static int paths_build(struct route_index *ix, const struct cfg_route *routes);

/* c in lower case, ASCII only (as route.c compares hosts). */
static inline unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

static inline void set_add(uint64_t *set, size_t i)
{
	set[i / WORD_BITS] |= (uint64_t)1 << (i % WORD_BITS);
}

/* A "*." pattern: matched by suffix, so not a key of the host table. */
static int host_is_wildcard(const char *h)
{
	return h[0] == '*' && h[1] == '.';
}

/* FNV-1a of h[0..n) with bit 0x20 set in every byte: two hosts equal without case
 * (ASCII) hash the same, for one instruction a byte instead of a range test. */
static uint32_t host_hash(const char *h, size_t n)
{
	uint32_t x = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		x = (x ^ ((unsigned char)h[i] | 0x20u)) * 16777619u;
	return x;
}

/* The candidate set of the normalized host h[0..n): its own when it is one of the
 * routes' exact hosts (*decided = 1: every route in it takes this host), else the set
 * of routes without an exact host (*decided = 0: its wildcards are still to check). */
static const uint64_t *host_set(const struct route_index *ix, const char *h, size_t n,
				int *decided)
{
	uint32_t x;
	size_t s, i;

	*decided = 0;
	if (!ix->nslots)
		return ix->other_set;
	x = host_hash(h, n);
	for (s = x & (ix->nslots - 1); ix->slots[s].set != NONE; s = (s + 1) & (ix->nslots - 1)) {
		const struct ix_host *e = &ix->slots[s];
		const char *k = ix->keys + e->off;

		if (e->hash != x || e->len != n)
			continue;
		/* k is in lower case: most hosts come so, and the byte is equal at once */
		for (i = 0; i < n && ((unsigned char)h[i] == (unsigned char)k[i] ||
				      ascii_lower((unsigned char)h[i]) == (unsigned char)k[i]); i++)
			;
		if (i == n) {
			*decided = 1;
			return ix->host_sets + (size_t)e->set * ix->words;
		}
	}
	return ix->other_set;
}

/* The host table: each distinct exact host once, with the routes it can take, which
 * route.c's matcher decides (a wildcard route belongs to the hosts it matches). 0, or
 * -1 out of memory. */
static int hosts_build(struct route_index *ix, const struct cfg_route *routes)
{
	size_t i, j, nexact = 0, keys_len = 0, nhosts = 0, used = 0;

	ix->other_set = calloc(ix->words, sizeof(uint64_t));
	if (!ix->other_set)
		return -1;
	for (i = 0; i < ix->n; i++) {
		if (!routes[i].host || host_is_wildcard(routes[i].host)) {
			set_add(ix->other_set, i);
		} else {
			nexact++;
			keys_len += strlen(routes[i].host);
		}
	}
	if (!nexact)
		return 0;
	for (ix->nslots = 1; ix->nslots < 2 * nexact; ix->nslots *= 2)
		;
	ix->slots = malloc(ix->nslots * sizeof(*ix->slots));
	ix->keys = malloc(keys_len);
	ix->host_sets = calloc(nexact * ix->words, sizeof(uint64_t));
	if (!ix->slots || !ix->keys || !ix->host_sets)
		return -1;
	for (i = 0; i < ix->nslots; i++)
		ix->slots[i].set = NONE;
	for (i = 0; i < ix->n; i++) {
		const char *h = routes[i].host;
		size_t len, s;
		uint32_t x;
		int seen;

		if (!h || host_is_wildcard(h))
			continue;
		len = strlen(h);
		host_set(ix, h, len, &seen);
		if (seen)
			continue;  /* a host seen before, in any case */
		x = host_hash(h, len);
		for (s = x & (ix->nslots - 1); ix->slots[s].set != NONE; s = (s + 1) & (ix->nslots - 1))
			;
		for (j = 0; j < len; j++)
			ix->keys[used + j] = (char)ascii_lower((unsigned char)h[j]);
		ix->slots[s] = (struct ix_host){ .off = (uint32_t)used, .len = (uint32_t)len, .hash = x,
						 .set = (uint32_t)nhosts++ };
		used += len;
	}
	for (i = 0; i < ix->nslots; i++) {
		const struct ix_host *e = &ix->slots[i];
		struct route_request q = { .host = ix->keys + e->off, .host_len = e->len };

		if (e->set == NONE)
			continue;
		for (j = 0; j < ix->n; j++) {
			struct cfg_route host_only = { .host = routes[j].host };
			if (route_matches_normalized(&host_only, NULL, &q))
				set_add(ix->host_sets + (size_t)e->set * ix->words, j);
		}
	}
	return 0;
}

/* The child of node p reached by byte c, or 0. */
static uint32_t node_child(const struct route_index *ix, uint32_t p, unsigned char c)
{
	uint32_t k;

	for (k = ix->nodes[p].child; k && ix->nodes[k].byte != c; k = ix->nodes[k].sibling)
		;
	return k;
}

/* The prefix tree of the routes' path (exact) or else path_prefix; a route with neither
 * goes to nopath_set. 0, or -1 out of memory. */
static int paths_build(struct route_index *ix, const struct cfg_route *routes)
{
	size_t i, k, cap = 1;

	for (i = 0; i < ix->n; i++) {
		const char *key = routes[i].path ? routes[i].path : routes[i].path_prefix;
		cap += key ? strlen(key) : 0;
	}
	ix->nodes = calloc(cap, sizeof(*ix->nodes));
	ix->path_sets = calloc(2 * ix->n * ix->words + 1, sizeof(uint64_t));
	ix->nopath_set = calloc(ix->words, sizeof(uint64_t));
	if (!ix->nodes || !ix->path_sets || !ix->nopath_set)
		return -1;
	ix->nodes[0].term = NONE;
	ix->nnodes = 1;
	for (i = 0; i < ix->n; i++) {
		/* a route with both (the loader refuses it) is indexed by its exact path; the
		 * matcher checks its prefix */
		const char *key = routes[i].path ? routes[i].path : routes[i].path_prefix;
		uint32_t p = 0, c;

		if (!key) {
			set_add(ix->nopath_set, i);
			continue;
		}
		for (k = 0; key[k] != '\0'; k++, p = c) {
			c = node_child(ix, p, (unsigned char)key[k]);
			if (c)
				continue;
			c = (uint32_t)ix->nnodes++;
			ix->nodes[c] = (struct ix_node){ .child = 0, .sibling = ix->nodes[p].child,
							 .term = NONE, .byte = (unsigned char)key[k] };
			ix->nodes[p].child = c;
		}
		if (ix->nodes[p].term == NONE)
			ix->nodes[p].term = (uint32_t)ix->nterms++;
		set_add(ix->path_sets + (2 * (size_t)ix->nodes[p].term + (routes[i].path ? 1 : 0)) * ix->words, i);
	}
	return 0;
}

struct route_index *route_index_build(const struct cfg_route *routes, size_t n, char *err,
				      size_t errlen)
{
	struct route_index *ix;

	if (n > ROUTE_INDEX_MAX) {
		snprintf(err, errlen, "%zu routes in one listener, at most %d", n, ROUTE_INDEX_MAX);
		return NULL;
	}
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ix->n = n;
	ix->words = n ? (n + WORD_BITS - 1) / WORD_BITS : 1;
	if (hosts_build(ix, routes) == -1 || paths_build(ix, routes) == -1) {
		route_index_free(ix);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return ix;
}

void route_index_free(struct route_index *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	free(ix->keys);
	free(ix->host_sets);
	free(ix->other_set);
	free(ix->nodes);
	free(ix->path_sets);
	free(ix->nopath_set);
	free(ix);
}

/* The host is normalized once; the walk down the tree follows the path byte by byte
 * and stops where no route's path goes on, so it costs at most the longest route path. */
int route_index_find(const struct route_index *ix, const struct cfg_route *routes,
		     struct route_regex *const *res, const struct route_request *rq)
{
	struct route_request q = *rq;
	uint64_t cand[ROUTE_INDEX_MAX / WORD_BITS];
	const uint64_t *hs;
	size_t w, k = 0, words = ix->words;
	uint32_t p = 0;
	int decided;

	q.host_len = route_host_normalized_len(rq->host, rq->host_len);
	hs = host_set(ix, q.host, q.host_len, &decided);
	for (w = 0; w < words; w++)
		cand[w] = ix->nopath_set[w];
	for (;;) {
		const struct ix_node *nd = &ix->nodes[p];

		if (nd->term != NONE) {
			const uint64_t *ps = ix->path_sets + 2 * (size_t)nd->term * words;
			for (w = 0; w < words; w++)
				cand[w] |= ps[w] | (k == q.path_len ? ps[words + w] : 0);
		}
		if (k == q.path_len || !(p = node_child(ix, p, (unsigned char)q.path[k])))
			break;
		k++;
	}
	for (w = 0; w < words; w++) {
		uint64_t m = cand[w] & hs[w];

		for (; m; m &= m - 1) {
			size_t i = w * WORD_BITS + (size_t)__builtin_ctzll(m);
			const struct route_regex *re = res ? res[i] : NULL;
			if (decided ? route_matches_rest(&routes[i], re, &q)
				    : route_matches_normalized(&routes[i], re, &q))
				return (int)i;
		}
	}
	return -1;
}
