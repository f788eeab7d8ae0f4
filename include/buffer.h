/* buffer.h: byte buffers taken from a per-worker free list when a connection needs
 * one and given back as soon as it is empty, so idle connections hold none. */
#ifndef FULCRUM_BUFFER_H
#define FULCRUM_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#define BUF_SIZE (16 * 1024)
/* A response body or a tunnel's stream that fills a standard buffer in one read and
 * goes on moves in pieces this large instead: a recv or send costs the kernel about
 * the same per call whatever its size up to here (loopback and GSO segments are
 * 64 KiB), so a 1 MiB body took 64 of each and twice the kernel time HAProxy needs
 * (docs/benchmarks.md, "Large responses"). Only while such a stream flows; small
 * responses never grow, and a bulk buffer goes back to malloc when released. */
#define BUF_BULK_SIZE (64 * 1024)

struct buf {
	struct buf *next_free;  /* free-list link while unused */
	uint32_t cap;           /* bytes in data[] */
	uint32_t start;         /* first unread byte */
	uint32_t end;           /* one past the last written byte */
	char data[];
};

/* One per worker thread; not shared. */
struct buf_pool {
	struct buf *free;
	uint32_t nfree;
	uint32_t max_free;      /* keep at most this many cached */
	uint64_t allocated;     /* buffers alive (in use + cached), for memory accounting */
};

void buf_pool_init(struct buf_pool *bp, uint32_t max_free);
void buf_pool_destroy(struct buf_pool *bp);
/* A standard BUF_SIZE buffer, empty. NULL on ENOMEM. */
struct buf *buf_get(struct buf_pool *bp);
/* A buffer of at least cap bytes (heads larger than BUF_SIZE, bulk bodies), holding a copy of
 * old's unread bytes; old is released. NULL on ENOMEM (old untouched). */
struct buf *buf_grow(struct buf_pool *bp, struct buf *old, uint32_t cap);
void buf_put(struct buf_pool *bp, struct buf *b);
/* Grows *b to BUF_BULK_SIZE when it is smaller (a bulk stream, above), keeping its
 * unread bytes. On ENOMEM *b stays as it was: it still works, in smaller pieces. */
void buf_grow_bulk(struct buf_pool *bp, struct buf **b);

static inline uint32_t buf_len(const struct buf *b) { return b->end - b->start; }
static inline uint32_t buf_room(const struct buf *b) { return b->cap - b->end; }
static inline char *buf_head(struct buf *b) { return b->data + b->start; }
static inline char *buf_tail(struct buf *b) { return b->data + b->end; }
/* Consumes n bytes from the front; resets to empty when nothing is left. */
static inline void buf_consume(struct buf *b, uint32_t n)
{
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = 0;
}
/* Appends n bytes at the tail: 0, or -1 (nothing written) when there is no room. */
static inline int buf_append(struct buf *b, const void *s, size_t n)
{
	if (n > buf_room(b))
		return -1;
	__builtin_memcpy(buf_tail(b), s, n);
	b->end += (uint32_t)n;
	return 0;
}
/* Moves unread bytes to the front so that room is maximal. */
void buf_compact(struct buf *b);

#endif
