/* buffer.c: the per-worker free list of I/O buffers.
 * Standard buffers are recycled; oversized ones (large heads) go back to malloc. */
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

void buf_pool_init(struct buf_pool *bp, uint32_t max_free)
{
	memset(bp, 0, sizeof(*bp));
	bp->max_free = max_free;
}

void buf_pool_destroy(struct buf_pool *bp)
{
	struct buf *b;

	while ((b = bp->free)) {
		bp->free = b->next_free;
		free(b);
		bp->allocated--;
	}
	bp->nfree = 0;
}

struct buf *buf_get(struct buf_pool *bp)
{
	struct buf *b = bp->free;

	if (b) {
		bp->free = b->next_free;
		bp->nfree--;
	} else {
		b = malloc(sizeof(*b) + BUF_SIZE);
		if (!b)
			return NULL;
		b->cap = BUF_SIZE;
		bp->allocated++;
	}
	b->next_free = NULL;
	b->start = b->end = 0;
	return b;
}

struct buf *buf_grow(struct buf_pool *bp, struct buf *old, uint32_t cap)
{
	struct buf *b;
	uint32_t n = old ? buf_len(old) : 0;

	if (cap < n)
		cap = n;
	b = malloc(sizeof(*b) + cap);
	if (!b)
		return NULL;
	bp->allocated++;
	b->next_free = NULL;
	b->cap = cap;
	b->start = 0;
	b->end = n;
	if (n)
		memcpy(b->data, buf_head(old), n);
	if (old)
		buf_put(bp, old);
	return b;
}

void buf_put(struct buf_pool *bp, struct buf *b)
{
	if (!b)
		return;
	if (b->cap != BUF_SIZE || bp->nfree >= bp->max_free) {
		free(b);
		bp->allocated--;
		return;
	}
	b->next_free = bp->free;
	bp->free = b;
	bp->nfree++;
}

void buf_compact(struct buf *b)
{
	uint32_t n = buf_len(b);

	if (b->start == 0)
		return;
	memmove(b->data, b->data + b->start, n);
	b->start = 0;
	b->end = n;
}

void buf_grow_bulk(struct buf_pool *bp, struct buf **b)
{
	struct buf *nb;

	if ((*b)->cap >= BUF_BULK_SIZE)
		return;
	nb = buf_grow(bp, *b, BUF_BULK_SIZE);
	if (nb)
		*b = nb;
}
