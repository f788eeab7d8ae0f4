/* body.c: owns a buffered body's memory blocks, its spill file and their shares of the
 * process's memory and disk budgets (include/body.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "body.h"

/* Memory comes in blocks of this size (the last one of a body smaller, when its limit
 * says so): large enough that a 64 KiB body is four mallocs, small enough that a slow
 * client's memory goes back block by block as it reads. */
#define BODY_BLOCK_SIZE (16 * 1024)

/* The delivered head of a spill file goes back to the disk in pieces of this size: a
 * multiple of every filesystem's block, and few enough calls (one per 64 KiB read). */
#define BODY_PUNCH_SIZE (64 * 1024)

struct body_block {
	struct body_block *next;
	uint32_t cap;
	uint32_t len;
	char data[];
};

void body_init(struct body *b, const struct body_limits *lim)
{
	memset(b, 0, sizeof(*b));
	b->lim = *lim;
	b->fd = -1;
}

/* Takes n bytes of the memory budget, or none: 1 when taken. */
static int memory_take(struct body *b, uint64_t n)
{
	uint64_t was = atomic_fetch_add_explicit(&b->lim.usage->memory_bytes, n, memory_order_relaxed);

	if (b->lim.memory_budget_bytes && was + n > b->lim.memory_budget_bytes) {
		atomic_fetch_sub_explicit(&b->lim.usage->memory_bytes, n, memory_order_relaxed);
		return 0;
	}
	return 1;
}

static void memory_give(struct body *b, uint64_t n)
{
	atomic_fetch_sub_explicit(&b->lim.usage->memory_bytes, n, memory_order_relaxed);
}

/* Makes room in memory for up to n more bytes (new blocks within the body's limit and
 * the budget); returns how many of them will fit. *added is the first block made here
 * (NULL: none), for memory_unroom. */
static size_t memory_room(struct body *b, size_t n, struct body_block **added)
{
	size_t room = 0;
	struct body_block *k;

	*added = NULL;
	for (k = b->fill; k; k = k->next)
		room += k->cap - k->len;
	while (room < n && b->mem_bytes < b->lim.memory_bytes) {
		uint64_t cap = b->lim.memory_bytes - b->mem_bytes;

		if (cap > BODY_BLOCK_SIZE)
			cap = BODY_BLOCK_SIZE;
		if (!memory_take(b, cap))
			break;
		k = malloc(sizeof(*k) + cap);
		if (!k) {
			memory_give(b, cap);
			break;  /* out of memory: the rest goes to disk */
		}
		k->next = NULL;
		k->cap = (uint32_t)cap;
		k->len = 0;
		if (!b->head) {
			b->head = k;
			b->head_off = b->end;
		} else {
			struct body_block *t = b->fill ? b->fill : b->head;
			while (t->next)
				t = t->next;
			t->next = k;
		}
		if (!b->fill)
			b->fill = k;
		if (!*added)
			*added = k;
		b->mem_bytes += cap;
		room += cap;
	}
	return room < n ? room : n;
}

/* Gives back the blocks memory_room made from added on (the tail of the list, empty),
 * so that an append that failed leaves the body and the budget as they were. */
static void memory_unroom(struct body *b, struct body_block *added)
{
	struct body_block **at = &b->head, *k, *next;

	while (*at != added)
		at = &(*at)->next;
	*at = NULL;
	for (k = added; k; k = next) {
		next = k->next;
		if (b->fill == k)
			b->fill = NULL;
		b->mem_bytes -= k->cap;
		memory_give(b, k->cap);
		free(k);
	}
}

/* Copies n bytes (room was made by memory_room) into the blocks from fill on. */
static void memory_copy(struct body *b, const char *p, size_t n)
{
	while (n) {
		struct body_block *k = b->fill;
		size_t put = k->cap - k->len;

		if (put > n)
			put = n;
		memcpy(k->data + k->len, p, put);
		k->len += (uint32_t)put;
		p += put;
		n -= put;
		if (k->len == k->cap)
			b->fill = k->next;
	}
}

/* An unnamed file in the body's directory: O_TMPFILE, or where the filesystem has none,
 * a named one unlinked at once. 0 or -1 (errno). */
static int spill_open(struct body *b)
{
	char path[4096];
	int fd;

	fd = open(b->lim.dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		if (snprintf(path, sizeof(path), "%s/body-XXXXXX", b->lim.dir) >= (int)sizeof(path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = mkostemp(path, O_CLOEXEC);
		if (fd != -1)
			unlink(path);
	}
	if (fd == -1)
		return -1;
	b->fd = fd;
	return 0;
}

/* Writes n bytes at the file's offset off, whole. 0 or -1 (errno). */
static int spill_write(int fd, const char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int body_append(struct body *b, const void *p, size_t n)
{
	struct body_block *added = NULL;
	size_t mem = b->spilled ? 0 : memory_room(b, n, &added);
	size_t disk = n - mem;
	uint64_t was;
	int opened = 0, e;

	if (disk) {
		was = atomic_fetch_add_explicit(&b->lim.usage->disk_bytes, disk, memory_order_relaxed);
		if (b->lim.disk_budget_bytes && was + disk > b->lim.disk_budget_bytes) {
			errno = ENOSPC;
			goto fail_budget;
		}
		if (b->fd == -1) {
			if (spill_open(b) == -1)
				goto fail_budget;
			opened = 1;
		}
		/* the file starts where memory ends: after this call's memory part */
		if (spill_write(b->fd, (const char *)p + mem, disk,
				b->spilled ? b->end - b->mem_end : 0) == -1)
			goto fail_file;
		if (!b->spilled) {
			b->spilled = 1;
			b->mem_end = b->end + mem;
			b->spill_files++;
		}
		b->file_bytes += disk;
		b->spilled_bytes += disk;
	}
	if (mem) {
		memory_copy(b, p, mem);
		if (!b->spilled)
			b->mem_end = b->end + mem;
	}
	b->end += n;
	return 0;

fail_file:
	e = errno;
	if (opened) {
		close(b->fd);
		b->fd = -1;
	} else if (ftruncate(b->fd, (off_t)(b->spilled ? b->end - b->mem_end : 0)) == -1) {
		/* what reached the file stays past its end, uncounted, until it is emptied or
		 * written over: nothing better to do with a file that will not shrink */
	}
	errno = e;
fail_budget:
	e = errno;
	atomic_fetch_sub_explicit(&b->lim.usage->disk_bytes, disk, memory_order_relaxed);
	/* the blocks made for this append go back: a failed append changes nothing */
	if (added)
		memory_unroom(b, added);
	errno = e;
	return -1;
}

/* Reads file bytes from offset off (in the file part) into the read-back buffer. */
static int read_back(struct body *b, uint64_t off)
{
	uint64_t want = b->end - off;
	ssize_t r;

	if (!b->back) {
		/* counted, but taken even over the budget: it is small and delivery must not
		 * stall on it */
		atomic_fetch_add_explicit(&b->lim.usage->memory_bytes, BODY_READ_MAX,
					  memory_order_relaxed);
		b->back = malloc(BODY_READ_MAX);
		if (!b->back) {
			memory_give(b, BODY_READ_MAX);
			errno = ENOMEM;
			return -1;
		}
	}
	if (want > BODY_READ_MAX)
		want = BODY_READ_MAX;
	do
		r = pread(b->fd, b->back, want, (off_t)(off - b->mem_end));
	while (r == -1 && errno == EINTR);
	if (r <= 0) {
		if (r == 0)
			errno = EIO;  /* the file is shorter than what was written to it */
		b->back_len = 0;
		return -1;
	}
	b->back_off = off;
	b->back_len = (uint32_t)r;
	return 0;
}

int body_peek(struct body *b, uint64_t off, struct iovec *iov, int max)
{
	struct body_block *k;
	uint64_t at;
	int n = 0;

	if (off < b->start || off >= b->end || max <= 0)
		return 0;
	if (off < b->mem_end || !b->spilled) {
		for (k = b->head, at = b->head_off; k && n < max; at += k->len, k = k->next) {
			if (k->len == 0)
				break;
			if (off >= at + k->len)
				continue;
			iov[n].iov_base = k->data + (off - at);
			iov[n].iov_len = k->len - (off - at);
			off += iov[n].iov_len;
			n++;
		}
		return n;
	}
	if (!(b->back_len && off >= b->back_off && off < b->back_off + b->back_len) &&
	    read_back(b, off) == -1)
		return -1;
	iov[0].iov_base = b->back + (off - b->back_off);
	iov[0].iov_len = b->back_off + b->back_len - off;
	return 1;
}

/* Gives the disk under the delivered head of b's spill file back, in whole pieces,
 * with its share of the budget: a body read almost as fast as it comes is never quite
 * empty, so never truncated, and would otherwise hold every byte since it spilled, up
 * to the disk budget. The file keeps its length and offsets (the hole is never read:
 * nothing before start is). file_bytes counts what the holes left: the file's first
 * (end - mem_end) - file_bytes bytes are punched. */
static void spill_punch(struct body *b)
{
	uint64_t punched = b->end - b->mem_end - b->file_bytes, to;

	if (b->start <= b->mem_end)
		return;
	to = (b->start - b->mem_end) / BODY_PUNCH_SIZE * BODY_PUNCH_SIZE;
	if (to <= punched)
		return;
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)punched,
		      (off_t)(to - punched)) == -1)
		return;  /* no holes here: the share comes back when the body is emptied */
	atomic_fetch_sub_explicit(&b->lim.usage->disk_bytes, to - punched, memory_order_relaxed);
	b->file_bytes -= to - punched;
}

void body_drop(struct body *b, uint64_t upto)
{
	if (upto > b->end)
		upto = b->end;
	if (upto <= b->start)
		return;
	b->start = upto;
	/* blocks wholly before start go back; one still being filled only when no byte
	 * will be added to it (spilled: new bytes go to the file) or every byte was
	 * delivered */
	while (b->head && b->head_off + b->head->len <= b->start &&
	       (b->head->len == b->head->cap || b->spilled || b->start == b->end)) {
		struct body_block *k = b->head;

		b->head = k->next;
		b->head_off += k->len;
		if (b->fill == k)
			b->fill = k->next;
		b->mem_bytes -= k->cap;
		memory_give(b, k->cap);
		free(k);
	}
	if (!b->head) {
		b->head_off = b->end;
		b->fill = NULL;
	}
	if (b->start < b->end && b->spilled)
		spill_punch(b);
	if (b->start == b->end && b->spilled) {
		/* delivered up to what came: the file starts over empty and memory is usable
		 * again, so a long body read about as fast as it comes stays small */
		if (ftruncate(b->fd, 0) == 0) {
			atomic_fetch_sub_explicit(&b->lim.usage->disk_bytes, b->file_bytes,
						  memory_order_relaxed);
			b->file_bytes = 0;
			b->spilled = 0;
			b->mem_end = b->end;
			b->back_len = 0;
		}
	}
	if (b->back && !b->spilled) {
		free(b->back);
		b->back = NULL;
		memory_give(b, BODY_READ_MAX);
	}
}

void body_free(struct body *b)
{
	struct body_block *k, *next;

	if (!b->lim.usage)
		return;  /* never initialised (or already freed) */
	for (k = b->head; k; k = next) {
		next = k->next;
		free(k);
	}
	if (b->mem_bytes)
		memory_give(b, b->mem_bytes);
	if (b->back) {
		free(b->back);
		memory_give(b, BODY_READ_MAX);
	}
	if (b->file_bytes)
		atomic_fetch_sub_explicit(&b->lim.usage->disk_bytes, b->file_bytes, memory_order_relaxed);
	if (b->fd != -1)
		close(b->fd);
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}
