/* client_limit.c: concurrent connections per listener and client address, exact across
 * workers: an open-addressing hash table of counts split in 64 stripes, each with its own
 * lock, taken only at accept and close, for a few instructions. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "client_limit.h"

#define STRIPES 64               /* power of two; locks contended only by the same stripe */
#define SLOTS_MIN 16             /* per stripe, power of two, allocated on first use */

/* One address block of one listener with connections open; count 0 = empty slot. */
struct slot {
	const void *owner;
	uint64_t addr[2];
	uint64_t hash;
	uint32_t count;
};

struct stripe {
	pthread_mutex_t lock;
	struct slot *slots;          /* cap of them; linear probing, kept at most half full */
	uint32_t cap, used;
} __attribute__((aligned(64)));

struct client_limit {
	uint64_t seed;               /* random: addresses cannot be chosen to collide */
	atomic_ullong refused;       /* connections refused, all listeners */
	atomic_ullong refused_logged;  /* value of refused at the last log line */
	atomic_llong log_due_ms;     /* no log line before this time */
	struct stripe stripes[STRIPES];
};

static uint64_t mix(uint64_t x);
static struct slot *find(struct stripe *s, const struct client_limit_key *k, int *found);
static int grow(struct stripe *s);
static void remove_at(struct stripe *s, uint32_t i);

static struct client_limit *shared;
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

struct client_limit *client_limit_new(void)
{
	struct client_limit *t;
	int i;

	if (posix_memalign((void **)&t, 64, sizeof(*t)) != 0)
		return NULL;
	memset(t, 0, sizeof(*t));
	if (getrandom(&t->seed, sizeof(t->seed), 0) != (ssize_t)sizeof(t->seed)) {
		free(t);
		return NULL;
	}
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&t->stripes[i].lock, NULL);
	return t;
}

void client_limit_free(struct client_limit *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_destroy(&t->stripes[i].lock);
		free(t->stripes[i].slots);
	}
	free(t);
}

static void make_shared(void)
{
	shared = client_limit_new();
}

struct client_limit *client_limit_shared(void)
{
	pthread_once(&shared_once, make_shared);
	return shared;
}

/* The splitmix64 finalizer: every input bit reaches every output bit. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

int client_limit_key(const struct client_limit *t, const void *owner, const struct sockaddr *sa,
		     struct client_limit_key *k)
{
	unsigned char b[16];

	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memset(b, 0, 10);
		b[10] = b[11] = 0xff;
		memcpy(b + 12, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(b, &s6->sin6_addr, 16);
		/* one host gets a whole /64 and picks addresses in it at will: count the
		 * block. An IPv4-mapped address is one IPv4 host, counted as such */
		if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			memset(b + 8, 0, 8);
	} else {
		return 0;
	}
	k->owner = owner;
	memcpy(k->addr, b, 16);
	k->hash = mix(mix(mix(t->seed ^ (uint64_t)(uintptr_t)owner) ^ k->addr[0]) ^ k->addr[1]);
	return 1;
}

/* The slot holding k, or the empty slot where it would go (*found = 0). The caller holds
 * the stripe's lock and the stripe has slots. */
static struct slot *find(struct stripe *s, const struct client_limit_key *k, int *found)
{
	uint32_t mask = s->cap - 1, i = (uint32_t)(k->hash >> 6) & mask;

	for (;; i = (i + 1) & mask) {
		struct slot *sl = &s->slots[i];

		if (sl->count == 0) {
			*found = 0;
			return sl;
		}
		if (sl->hash == k->hash && sl->owner == k->owner && sl->addr[0] == k->addr[0] &&
		    sl->addr[1] == k->addr[1]) {
			*found = 1;
			return sl;
		}
	}
}

/* Doubles the stripe's slots (or makes the first ones). 0, or -1 out of memory. */
static int grow(struct stripe *s)
{
	uint32_t ncap = s->cap ? s->cap * 2 : SLOTS_MIN, i, j;
	struct slot *n = calloc(ncap, sizeof(*n));

	if (!n)
		return -1;
	for (i = 0; i < s->cap; i++) {
		if (s->slots[i].count == 0)
			continue;
		for (j = (uint32_t)(s->slots[i].hash >> 6) & (ncap - 1); n[j].count; j = (j + 1) & (ncap - 1))
			;
		n[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = n;
	s->cap = ncap;
	return 0;
}

/* Empties slot i, moving later entries of its probe run back so that every entry stays
 * reachable from its home slot (deletion without tombstones). */
static void remove_at(struct stripe *s, uint32_t i)
{
	uint32_t mask = s->cap - 1, j = i, home;

	for (;;) {
		j = (j + 1) & mask;
		if (s->slots[j].count == 0)
			break;
		home = (uint32_t)(s->slots[j].hash >> 6) & mask;
		/* the entry at j may fill the hole at i unless its home lies in (i, j] */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		s->slots[i] = s->slots[j];
		i = j;
	}
	memset(&s->slots[i], 0, sizeof(s->slots[i]));
	s->used--;
}

int client_limit_acquire(struct client_limit *t, const struct client_limit_key *k, uint32_t max)
{
	struct stripe *s = &t->stripes[k->hash & (STRIPES - 1)];
	struct slot *sl;
	int found, rc = 1;

	pthread_mutex_lock(&s->lock);
	if ((s->used + 1) * 2 > s->cap && grow(s) == -1) {
		rc = -1;
		goto out;
	}
	sl = find(s, k, &found);
	if (!found) {
		if (max == 0) {
			rc = 0;
			goto out;
		}
		sl->owner = k->owner;
		sl->addr[0] = k->addr[0];
		sl->addr[1] = k->addr[1];
		sl->hash = k->hash;
		sl->count = 1;
		s->used++;
	} else if (sl->count >= max) {
		rc = 0;
	} else {
		sl->count++;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void client_limit_release(struct client_limit *t, const struct client_limit_key *k)
{
	struct stripe *s = &t->stripes[k->hash & (STRIPES - 1)];
	struct slot *sl;
	int found = 0;

	pthread_mutex_lock(&s->lock);
	sl = s->cap ? find(s, k, &found) : NULL;
	if (found && --sl->count == 0)
		remove_at(s, (uint32_t)(sl - s->slots));
	pthread_mutex_unlock(&s->lock);
}

uint32_t client_limit_count(struct client_limit *t, const struct client_limit_key *k)
{
	struct stripe *s = &t->stripes[k->hash & (STRIPES - 1)];
	struct slot *sl;
	uint32_t n = 0;
	int found = 0;

	pthread_mutex_lock(&s->lock);
	sl = s->cap ? find(s, k, &found) : NULL;
	if (found)
		n = sl->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t client_limit_entries(struct client_limit *t)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_lock(&t->stripes[i].lock);
		n += t->stripes[i].used;
		pthread_mutex_unlock(&t->stripes[i].lock);
	}
	return n;
}

int client_limit_note_refused(struct client_limit *t, int64_t now_ms, uint64_t *since)
{
	uint64_t n = atomic_fetch_add(&t->refused, 1) + 1;
	long long due = atomic_load(&t->log_due_ms);

	/* one worker wins the right to log; the others only count */
	if (now_ms < due || !atomic_compare_exchange_strong(&t->log_due_ms, &due, now_ms + 1000))
		return 0;
	*since = n - atomic_exchange(&t->refused_logged, n);
	return 1;
}
