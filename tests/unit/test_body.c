/* test_body.c: unit tests of util/body.c: a body stays in memory up to its limit and the
 * memory budget, then spills to a file up to the disk budget; a failed append changes
 * nothing; peek reads any kept offset again; drop returns memory and the delivered
 * head of the file, and everything delivered empties the file; body_free gives back
 * both budgets in every state (test_body_model.c runs it against a byte array). open, pwrite, ftruncate, pread and
 * malloc are wrapped (-Wl,--wrap) to fail on demand. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "body.h"

#define KB 1024u
#define BLOCK (16 * KB)  /* util/body.c's BODY_BLOCK_SIZE */

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
ssize_t __real_pwrite(int fd, const void *p, size_t n, off_t off);
ssize_t __wrap_pwrite(int fd, const void *p, size_t n, off_t off);
ssize_t __real_pread(int fd, void *p, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *p, size_t n, off_t off);
int __real_ftruncate(int fd, off_t len);
int __wrap_ftruncate(int fd, off_t len);
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

static int open_errno;      /* open fails with this errno (0: it does not) */
static int pwrite_errno;    /* pwrite fails with this errno ... */
static size_t pwrite_short; /* ... after writing at most this many bytes (0: none) */
static int pread_errno;     /* pread fails with this errno */
static int ftruncate_fail;  /* ftruncate fails with EIO */
static int malloc_fail;     /* malloc returns NULL */
static unsigned opens;      /* open calls */

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	int mode;

	va_start(ap, flags);
	mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
	va_end(ap);
	opens++;
	if (open_errno) {
		errno = open_errno;
		return -1;
	}
	return __real_open(path, flags, mode);
}

ssize_t __wrap_pwrite(int fd, const void *p, size_t n, off_t off)
{
	if (pwrite_errno && pwrite_short) {
		size_t put = n < pwrite_short ? n : pwrite_short;

		pwrite_short -= put;
		return __real_pwrite(fd, p, put, off);
	}
	if (pwrite_errno) {
		errno = pwrite_errno;
		return -1;
	}
	return __real_pwrite(fd, p, n, off);
}

ssize_t __wrap_pread(int fd, void *p, size_t n, off_t off)
{
	if (pread_errno) {
		errno = pread_errno;
		return -1;
	}
	return __real_pread(fd, p, n, off);
}

int __wrap_ftruncate(int fd, off_t len)
{
	if (ftruncate_fail) {
		errno = EIO;
		return -1;
	}
	return __real_ftruncate(fd, len);
}

void *__wrap_malloc(size_t n)
{
	if (malloc_fail)
		return NULL;
	return __real_malloc(n);
}

static char dir[64];          /* spill files go here (the group's temp dir) */
static struct body_usage usage;

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_body-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	/* the spill files were never named: the directory is empty */
	return rmdir(dir);
}

static int reset(void **state)
{
	(void)state;
	open_errno = pwrite_errno = pread_errno = ftruncate_fail = malloc_fail = 0;
	pwrite_short = 0;
	opens = 0;
	atomic_store(&usage.memory_bytes, 0);
	atomic_store(&usage.disk_bytes, 0);
	return 0;
}

static uint64_t mem_used(void) { return atomic_load(&usage.memory_bytes); }
static uint64_t disk_used(void) { return atomic_load(&usage.disk_bytes); }

static struct body_limits limits(uint64_t memory, uint64_t memory_budget, uint64_t disk_budget)
{
	struct body_limits lim = {
		.memory_bytes = memory,
		.memory_budget_bytes = memory_budget,
		.disk_budget_bytes = disk_budget,
		.dir = dir,
		.usage = &usage,
	};

	return lim;
}

/* The byte at offset off of the bodies appended by append_pattern. */
static unsigned char pattern(uint64_t off)
{
	return (unsigned char)((off * 2654435761u) >> 11);
}

/* Appends n bytes of the pattern at the body's end; body_append's result. */
static int append_pattern(struct body *b, size_t n)
{
	unsigned char *p = __real_malloc(n ? n : 1);  /* also while malloc is failing */
	size_t i;
	int r;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = pattern(b->end + i);
	r = body_append(b, p, n);
	free(p);
	return r;
}

/* Reads the body from off to its end with body_peek (at most max iovecs a call) and
 * checks every byte against the pattern and that nothing comes after end. */
static void check_pattern(struct body *b, uint64_t off, int max)
{
	struct iovec iov[16];
	unsigned calls = 0;

	assert_true(max <= 16);
	while (off < b->end) {
		int n = body_peek(b, off, iov, max), i;

		assert_in_range(n, 1, max);
		for (i = 0; i < n; i++) {
			const unsigned char *q = iov[i].iov_base;
			size_t k;

			assert_true(iov[i].iov_len > 0);
			assert_true(iov[i].iov_len <= b->end - off);
			for (k = 0; k < iov[i].iov_len; k++)
				if (q[k] != pattern(off + k))
					fail_msg("byte %llu: %u, not %u", (unsigned long long)(off + k),
						 q[k], pattern(off + k));
			off += iov[i].iov_len;
		}
		assert_true(++calls < 100000);
	}
	assert_int_equal(off, b->end);
	assert_int_equal(body_peek(b, off, iov, max), 0);
}

/* The size of the body's spill file (0 without one). */
static uint64_t file_size(const struct body *b)
{
	struct stat st;

	if (b->fd == -1)
		return 0;
	assert_int_equal(fstat(b->fd, &st), 0);
	return (uint64_t)st.st_size;
}

/* Frees b, the last body holding anything: both budgets must be whole again. */
static void free_last(struct body *b)
{
	body_free(b);
	assert_int_equal(mem_used(), 0);
	assert_int_equal(disk_used(), 0);
}

static void test_in_memory_only(void **state)
{
	struct body_limits lim = limits(64 * KB, 0, 0);
	struct body b;
	size_t sizes[] = { 1, 100, BLOCK - 101, 1, BLOCK, 5000, 0, 7 }, i, total = 0;
	struct iovec iov[8];

	(void)state;
	body_init(&b, &lim);
	assert_int_equal(body_kept(&b), 0);
	assert_int_equal(body_peek(&b, 0, iov, 8), 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(append_pattern(&b, sizes[i]), 0);
		total += sizes[i];
	}
	assert_int_equal(b.end, total);
	assert_int_equal(body_kept(&b), total);
	assert_int_equal(b.fd, -1);
	assert_int_equal(b.spill_files, 0);
	assert_int_equal(b.spilled_bytes, 0);
	assert_int_equal(b.mem_end, total);
	assert_int_equal(disk_used(), 0);
	/* whole blocks as they are needed: three here */
	assert_int_equal(b.mem_bytes, 3 * BLOCK);
	assert_int_equal(mem_used(), 3 * BLOCK);
	/* from memory, one iovec per block */
	assert_int_equal(body_peek(&b, 0, iov, 8), 3);
	assert_int_equal(iov[0].iov_len, BLOCK);
	assert_int_equal(iov[2].iov_len, total - 2 * BLOCK);
	check_pattern(&b, 0, 8);
	check_pattern(&b, BLOCK + 3, 2);
	free_last(&b);
}

static void test_spill_at_exactly_the_limit(void **state)
{
	struct body_limits lim = limits(2 * BLOCK, 0, 0);
	struct body b;
	struct iovec iov[4];

	(void)state;
	/* exactly the limit stays in memory; one byte more goes to a file */
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, BLOCK + 10), 0);
	assert_int_equal(append_pattern(&b, BLOCK - 10), 0);
	assert_int_equal(b.fd, -1);
	assert_int_equal(b.mem_bytes, 2 * BLOCK);
	assert_int_equal(append_pattern(&b, 1), 0);
	assert_int_not_equal(b.fd, -1);
	assert_true(b.spilled);
	assert_int_equal(b.mem_end, 2 * BLOCK);
	assert_int_equal(b.file_bytes, 1);
	assert_int_equal(b.spilled_bytes, 1);
	assert_int_equal(b.spill_files, 1);
	assert_int_equal(disk_used(), 1);
	assert_int_equal(file_size(&b), 1);
	/* memory and file do not mix in one peek */
	assert_int_equal(body_peek(&b, 2 * BLOCK - 1, iov, 4), 1);
	assert_int_equal(iov[0].iov_len, 1);
	assert_int_equal(body_peek(&b, 2 * BLOCK, iov, 4), 1);
	assert_int_equal(iov[0].iov_len, 1);
	check_pattern(&b, 0, 4);
	/* once spilled, new bytes go to the file even though they would fit a block */
	assert_int_equal(append_pattern(&b, 3), 0);
	assert_int_equal(b.file_bytes, 4);
	assert_int_equal(b.mem_bytes, 2 * BLOCK);
	check_pattern(&b, 0, 4);
	free_last(&b);

	/* one append across the limit: its head in memory, its tail in the file */
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 2 * BLOCK - 10), 0);
	assert_int_equal(append_pattern(&b, 25), 0);
	assert_int_equal(b.mem_end, 2 * BLOCK);
	assert_int_equal(b.file_bytes, 15);
	assert_int_equal(disk_used(), 15);
	check_pattern(&b, 0, 4);
	check_pattern(&b, 2 * BLOCK - 12, 1);
	free_last(&b);

	/* a limit that is not a number of blocks: the last block is cut to it */
	lim.memory_bytes = BLOCK + 3616;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, BLOCK + 3616), 0);
	assert_int_equal(b.fd, -1);
	assert_int_equal(b.mem_bytes, BLOCK + 3616);
	assert_int_equal(mem_used(), BLOCK + 3616);
	assert_int_equal(append_pattern(&b, 1), 0);
	assert_int_equal(b.file_bytes, 1);
	check_pattern(&b, 0, 3);
	free_last(&b);
}

static void test_small_and_zero_memory_limit(void **state)
{
	struct body_limits lim = limits(100, 0, 0);
	struct body b;

	(void)state;
	/* a limit under one block: one block of that size */
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 150), 0);
	assert_int_equal(b.mem_bytes, 100);
	assert_int_equal(mem_used(), 100);
	assert_int_equal(b.mem_end, 100);
	assert_int_equal(b.file_bytes, 50);
	assert_int_equal(disk_used(), 50);
	check_pattern(&b, 0, 1);
	check_pattern(&b, 99, 2);
	free_last(&b);

	/* 0: everything to disk, no block at all */
	lim.memory_bytes = 0;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 1), 0);
	assert_int_equal(append_pattern(&b, 3 * BODY_READ_MAX + 5), 0);
	assert_null(b.head);
	assert_int_equal(b.mem_bytes, 0);
	assert_int_equal(b.mem_end, 0);
	assert_int_equal(b.file_bytes, 3 * BODY_READ_MAX + 6);
	assert_int_equal(disk_used(), 3 * BODY_READ_MAX + 6);
	assert_int_equal(b.spill_files, 1);
	check_pattern(&b, 0, 4);
	/* reading back takes one buffer, counted as memory */
	assert_non_null(b.back);
	assert_int_equal(mem_used(), BODY_READ_MAX);
	check_pattern(&b, BODY_READ_MAX - 1, 1);
	free_last(&b);
}

static void test_memory_budget_exhausted_goes_to_disk(void **state)
{
	struct body_limits lim = limits(64 * KB, BLOCK, 0);
	struct body a, b, c;

	(void)state;
	body_init(&a, &lim);
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&a, 1000), 0);
	assert_int_equal(mem_used(), BLOCK);
	/* the budget is taken: b goes straight to disk, a goes on after its block */
	assert_int_equal(append_pattern(&b, 10), 0);
	assert_int_equal(b.mem_bytes, 0);
	assert_int_equal(b.file_bytes, 10);
	assert_int_equal(append_pattern(&a, BLOCK), 0);
	assert_int_equal(a.mem_bytes, BLOCK);
	assert_int_equal(a.mem_end, BLOCK);
	assert_int_equal(a.file_bytes, 1000);
	assert_int_equal(mem_used(), BLOCK);
	assert_int_equal(disk_used(), 1010);
	check_pattern(&a, 0, 4);
	/* a's block back, a new body has memory again */
	body_free(&a);
	assert_int_equal(mem_used(), 0);
	assert_int_equal(disk_used(), 10);
	body_init(&c, &lim);
	assert_int_equal(append_pattern(&c, 20), 0);
	assert_int_equal(c.mem_bytes, BLOCK);
	assert_int_equal(c.fd, -1);
	/* a read-back buffer counts in the budget too */
	check_pattern(&b, 0, 4);
	assert_int_equal(mem_used(), BLOCK + BODY_READ_MAX);
	body_free(&c);
	assert_int_equal(append_pattern(&b, 1), 0);
	assert_int_equal(b.file_bytes, 11);
	free_last(&b);
}

/* Everything a failed append must leave as it was. */
struct snapshot {
	uint64_t start, end, mem_end, mem_bytes, file_bytes, memory, disk, spilled_bytes;
	uint32_t spill_files;
	int spilled, has_file;
};

static struct snapshot snap(const struct body *b)
{
	struct snapshot s = {
		.start = b->start, .end = b->end, .mem_end = b->mem_end,
		.mem_bytes = b->mem_bytes, .file_bytes = b->file_bytes,
		.memory = mem_used(), .disk = disk_used(),
		.spilled_bytes = b->spilled_bytes, .spill_files = b->spill_files,
		.spilled = b->spilled, .has_file = b->fd != -1,
	};

	return s;
}

static void assert_unchanged(const struct body *b, const struct snapshot *s)
{
	struct snapshot now = snap(b);

	assert_int_equal(now.start, s->start);
	assert_int_equal(now.end, s->end);
	assert_int_equal(now.mem_end, s->mem_end);
	assert_int_equal(now.mem_bytes, s->mem_bytes);
	assert_int_equal(now.file_bytes, s->file_bytes);
	assert_int_equal(now.memory, s->memory);
	assert_int_equal(now.disk, s->disk);
	assert_int_equal(now.spilled_bytes, s->spilled_bytes);
	assert_int_equal(now.spill_files, s->spill_files);
	assert_int_equal(now.spilled, s->spilled);
	assert_int_equal(now.has_file, s->has_file);
}

static void test_disk_budget_exhausted(void **state)
{
	struct body_limits lim = limits(BLOCK, 0, 1000);
	struct body b;
	struct snapshot s;

	(void)state;
	body_init(&b, &lim);
	/* not yet spilled, the block full: the part for the disk is over the budget */
	assert_int_equal(append_pattern(&b, 10000), 0);
	s = snap(&b);
	errno = 0;
	assert_int_equal(append_pattern(&b, BLOCK - 10000 + 1001), -1);
	assert_int_equal(errno, ENOSPC);
	assert_unchanged(&b, &s);
	assert_int_equal(b.fd, -1);
	check_pattern(&b, 0, 4);
	/* up to the budget exactly */
	assert_int_equal(append_pattern(&b, BLOCK - 10000 + 1000), 0);
	assert_int_equal(disk_used(), 1000);
	/* spilled: one byte more is refused */
	s = snap(&b);
	errno = 0;
	assert_int_equal(append_pattern(&b, 1), -1);
	assert_int_equal(errno, ENOSPC);
	assert_unchanged(&b, &s);
	check_pattern(&b, 0, 4);
	/* an empty append is no byte more */
	assert_int_equal(append_pattern(&b, 0), 0);
	/* what another body holds counts too */
	{
		struct body other;

		body_free(&b);
		lim.memory_bytes = 0;
		body_init(&b, &lim);
		body_init(&other, &lim);
		assert_int_equal(append_pattern(&other, 600), 0);
		assert_int_equal(append_pattern(&b, 400), 0);
		s = snap(&b);
		assert_int_equal(append_pattern(&b, 1), -1);
		assert_int_equal(errno, ENOSPC);
		assert_unchanged(&b, &s);
		body_free(&other);
		assert_int_equal(append_pattern(&b, 600), 0);
		check_pattern(&b, 0, 4);
	}
	free_last(&b);
}

static void test_failed_spill_changes_nothing(void **state)
{
	struct body_limits lim = limits(BLOCK, 0, 0);
	struct body b;
	struct snapshot s;

	(void)state;
	/* a directory that is not there: nothing appended, nothing counted */
	lim.dir = "/nonexistent/test_body";
	lim.memory_bytes = 0;
	body_init(&b, &lim);
	errno = 0;
	assert_int_equal(append_pattern(&b, 10), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(b.end, 0);
	assert_int_equal(b.fd, -1);
	assert_int_equal(mem_used(), 0);
	assert_int_equal(disk_used(), 0);
	body_free(&b);

	lim.memory_bytes = BLOCK;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 10000), 0);
	s = snap(&b);
	assert_int_equal(append_pattern(&b, 10000), -1);
	assert_int_equal(errno, ENOENT);
	assert_unchanged(&b, &s);
	check_pattern(&b, 0, 4);
	/* what still fits in memory is taken */
	assert_int_equal(append_pattern(&b, BLOCK - 10000), 0);
	check_pattern(&b, 0, 4);
	free_last(&b);

	/* the file cannot be written: it is closed again, nothing counted */
	lim.dir = dir;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 10000), 0);
	s = snap(&b);
	pwrite_errno = EDQUOT;
	pwrite_short = 3000;  /* some bytes reach the file first */
	assert_int_equal(append_pattern(&b, 10000), -1);
	assert_int_equal(errno, EDQUOT);
	assert_unchanged(&b, &s);
	pwrite_errno = 0;
	/* and the next spill works from a fresh file */
	assert_int_equal(append_pattern(&b, 10000), 0);
	assert_int_equal(b.file_bytes, 10000 - (BLOCK - 10000));
	assert_int_equal(disk_used(), b.file_bytes);
	check_pattern(&b, 0, 4);
	/* spilled: a failed write leaves what was there */
	s = snap(&b);
	pwrite_errno = EIO;
	assert_int_equal(append_pattern(&b, 5000), -1);
	assert_int_equal(errno, EIO);
	assert_unchanged(&b, &s);
	pwrite_errno = 0;
	check_pattern(&b, 0, 4);
	assert_int_equal(append_pattern(&b, 5000), 0);
	check_pattern(&b, 0, 4);
	free_last(&b);
}

static void test_failed_append_gives_back_new_blocks(void **state)
{
	struct body_limits lim = limits(3 * BLOCK, 0, 1000);
	struct body b;
	struct snapshot s;

	(void)state;
	/* the memory part needs a new block, the disk part is over the budget: the
	 * block made for it goes back with the refusal */
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, BLOCK + 4000), 0);
	s = snap(&b);
	assert_int_equal(append_pattern(&b, 2 * BLOCK - 4000 + 1001), -1);
	assert_int_equal(errno, ENOSPC);
	assert_unchanged(&b, &s);
	check_pattern(&b, 0, 4);
	free_last(&b);

	/* the same with a first block, and with a spill file that cannot be made */
	lim.dir = "/nonexistent/test_body";
	body_init(&b, &lim);
	s = snap(&b);
	assert_int_equal(append_pattern(&b, 3 * BLOCK + 1), -1);
	assert_int_equal(errno, ENOENT);
	assert_unchanged(&b, &s);
	assert_null(b.head);
	assert_int_equal(mem_used(), 0);
	/* and the body goes on as if nothing happened */
	assert_int_equal(append_pattern(&b, 3 * BLOCK), 0);
	assert_int_equal(b.mem_bytes, 3 * BLOCK);
	check_pattern(&b, 0, 4);
	free_last(&b);
}

static void test_failed_write_leaves_no_bytes_on_disk(void **state)
{
	struct body_limits lim = limits(0, 0, 0);
	struct body b;
	struct snapshot s;

	(void)state;
	/* spilled: a write that stops half way takes its bytes off the disk again */
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 1000), 0);
	s = snap(&b);
	pwrite_errno = ENOSPC;
	pwrite_short = 3000;
	assert_int_equal(append_pattern(&b, 10000), -1);
	assert_int_equal(errno, ENOSPC);
	pwrite_errno = 0;
	assert_unchanged(&b, &s);
	assert_int_equal(file_size(&b), 1000);
	check_pattern(&b, 0, 4);
	/* emptied and kept open: the file is empty again after the failed write */
	body_drop(&b, b.end);
	assert_int_equal(file_size(&b), 0);
	pwrite_errno = ENOSPC;
	pwrite_short = 3000;
	assert_int_equal(append_pattern(&b, 10000), -1);
	pwrite_errno = 0;
	assert_int_equal(file_size(&b), 0);
	assert_int_equal(append_pattern(&b, 10), 0);
	assert_int_equal(file_size(&b), 10);
	check_pattern(&b, b.start, 4);
	free_last(&b);
}

static void test_spill_without_o_tmpfile(void **state)
{
	struct body_limits lim = limits(0, 0, 0);
	struct body b;

	(void)state;
	/* a filesystem without O_TMPFILE: a named file, unlinked at once (the group's
	 * teardown removes the directory, which fails if a file is left in it) */
	open_errno = EOPNOTSUPP;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 5000), 0);
	assert_int_not_equal(b.fd, -1);
	check_pattern(&b, 0, 4);
	free_last(&b);
}

static void test_out_of_memory_goes_to_disk(void **state)
{
	struct body_limits lim = limits(64 * KB, 0, 0);
	struct body b;
	struct iovec iov[2];

	(void)state;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 100), 0);
	malloc_fail = 1;
	/* no new block: the rest of the block, then the file */
	assert_int_equal(append_pattern(&b, BLOCK), 0);
	malloc_fail = 0;
	assert_int_equal(b.mem_bytes, BLOCK);
	assert_int_equal(mem_used(), BLOCK);
	assert_int_equal(b.file_bytes, 100);
	check_pattern(&b, 0, 2);
	free_last(&b);

	/* no memory for the read-back buffer: ENOMEM, and nothing counted for it */
	lim.memory_bytes = 0;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 10), 0);
	malloc_fail = 1;
	errno = 0;
	assert_int_equal(body_peek(&b, 0, iov, 2), -1);
	assert_int_equal(errno, ENOMEM);
	malloc_fail = 0;
	assert_null(b.back);
	assert_int_equal(mem_used(), 0);
	check_pattern(&b, 0, 2);
	free_last(&b);
}

static void test_unreadable_file(void **state)
{
	struct body_limits lim = limits(0, 0, 0);
	struct body b;
	struct iovec iov[2];

	(void)state;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 100), 0);
	pread_errno = EIO;
	errno = 0;
	assert_int_equal(body_peek(&b, 0, iov, 2), -1);
	assert_int_equal(errno, EIO);
	pread_errno = 0;
	check_pattern(&b, 0, 2);
	free_last(&b);
}

static void test_replay_after_partial_drops(void **state)
{
	struct body_limits lim = limits(2 * BLOCK, 0, 0);
	struct body b;
	struct iovec iov[4];
	uint64_t total = 2 * BLOCK + 3 * BODY_READ_MAX + 77;

	(void)state;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, (size_t)total), 0);
	/* delivered once without dropping (a request kept for a retry), then replayed */
	check_pattern(&b, 0, 4);
	check_pattern(&b, 0, 1);
	/* read back from the file's end, then from memory again, then the file's start */
	check_pattern(&b, total - 5, 4);
	check_pattern(&b, 7, 4);
	check_pattern(&b, 2 * BLOCK + 1, 4);
	/* the client took part of it: the rest reads from where it dropped, over and
	 * over; what was dropped is no longer there */
	body_drop(&b, 100);
	assert_int_equal(b.start, 100);
	assert_int_equal(body_kept(&b), total - 100);
	assert_int_equal(body_peek(&b, 0, iov, 4), 0);
	assert_int_equal(body_peek(&b, 99, iov, 4), 0);
	check_pattern(&b, 100, 4);
	check_pattern(&b, 100, 2);
	/* the first block goes back once wholly dropped */
	assert_int_equal(b.mem_bytes, 2 * BLOCK);
	body_drop(&b, BLOCK);
	assert_int_equal(b.mem_bytes, BLOCK);
	assert_int_equal(b.head_off, BLOCK);
	check_pattern(&b, BLOCK, 4);
	/* into the file: memory all back, the file kept until everything is delivered */
	body_drop(&b, 2 * BLOCK + BODY_READ_MAX + 3);
	assert_int_equal(b.mem_bytes, 0);
	assert_int_equal(mem_used(), BODY_READ_MAX);
	assert_int_equal(disk_used(), total - 2 * BLOCK);
	check_pattern(&b, b.start, 4);
	check_pattern(&b, total - 1, 1);
	/* appended after the drops, still in the file */
	assert_int_equal(append_pattern(&b, 10), 0);
	check_pattern(&b, b.start, 3);
	free_last(&b);
}

static void test_peek_one_iovec_at_a_time(void **state)
{
	struct body_limits lim = limits(3 * BLOCK, 0, 0);
	struct body b;
	struct iovec iov[4];
	uint64_t off = 0;
	unsigned calls = 0;

	(void)state;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 3 * BLOCK + 2 * BODY_READ_MAX + 1), 0);
	/* max 1: exactly one iovec each time, a block or a read-back at most */
	while (off < b.end) {
		iov[1].iov_base = NULL;
		assert_int_equal(body_peek(&b, off, iov, 1), 1);
		assert_null(iov[1].iov_base);
		assert_true(iov[0].iov_len <= BLOCK || (off >= b.mem_end && iov[0].iov_len <= BODY_READ_MAX));
		assert_memory_equal(iov[0].iov_base, (char[]){ (char)pattern(off) }, 1);
		off += iov[0].iov_len;
		calls++;
	}
	assert_int_equal(calls, 3 + 3);
	check_pattern(&b, 0, 1);
	/* max 0 fills nothing */
	assert_int_equal(body_peek(&b, 0, iov, 0), 0);
	assert_int_equal(body_peek(&b, b.end, iov, 1), 0);
	body_free(&b);
}

static void test_drop_beyond_end(void **state)
{
	struct body_limits lim = limits(BLOCK, 0, 0);
	struct body b;

	(void)state;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 500), 0);
	body_drop(&b, 100000);
	assert_int_equal(b.start, 500);
	assert_int_equal(b.end, 500);
	assert_int_equal(body_kept(&b), 0);
	assert_int_equal(mem_used(), 0);
	/* a drop behind start is nothing */
	body_drop(&b, 10);
	assert_int_equal(b.start, 500);
	/* offsets go on from where the body ended */
	assert_int_equal(append_pattern(&b, 300), 0);
	assert_int_equal(b.start, 500);
	assert_int_equal(b.end, 800);
	assert_int_equal(b.head_off, 500);
	check_pattern(&b, 500, 2);
	body_drop(&b, UINT64_MAX);
	assert_int_equal(b.start, 800);
	free_last(&b);
}

static void test_drop_all_then_append_again(void **state)
{
	struct body_limits lim = limits(BLOCK, 0, 0);
	struct body b;
	int fd;

	(void)state;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, BLOCK + BODY_READ_MAX + 9), 0);
	fd = b.fd;
	check_pattern(&b, 0, 4);
	assert_int_equal(mem_used(), BLOCK + BODY_READ_MAX);
	body_drop(&b, b.end);
	/* the file emptied and its budget back, memory usable again */
	assert_false(b.spilled);
	assert_int_equal(b.file_bytes, 0);
	assert_int_equal(disk_used(), 0);
	assert_int_equal(file_size(&b), 0);
	assert_int_equal(b.mem_bytes, 0);
	assert_null(b.back);
	assert_int_equal(mem_used(), 0);
	assert_int_equal(b.mem_end, b.end);
	/* new bytes in memory again; the file (kept open) takes the overflow from its
	 * start */
	assert_int_equal(append_pattern(&b, 1000), 0);
	assert_int_equal(b.mem_bytes, BLOCK);
	assert_int_equal(b.file_bytes, 0);
	assert_int_equal(append_pattern(&b, BLOCK), 0);
	assert_int_equal(b.fd, fd);
	assert_int_equal(b.mem_end, BLOCK + BODY_READ_MAX + 9 + BLOCK);
	assert_int_equal(b.file_bytes, 1000);
	assert_int_equal(file_size(&b), 1000);
	assert_int_equal(disk_used(), 1000);
	assert_int_equal(b.spill_files, 2);
	assert_int_equal(b.spilled_bytes, BODY_READ_MAX + 9 + 1000);
	check_pattern(&b, b.start, 4);
	/* a file that cannot be emptied stays, counted, and takes new bytes at its end */
	ftruncate_fail = 1;
	body_drop(&b, b.end);
	ftruncate_fail = 0;
	assert_true(b.spilled);
	assert_int_equal(disk_used(), 1000);
	assert_int_equal(append_pattern(&b, 50), 0);
	assert_int_equal(b.file_bytes, 1050);
	check_pattern(&b, b.start, 4);
	body_drop(&b, b.end);
	assert_int_equal(disk_used(), 0);
	assert_int_equal(file_size(&b), 0);
	/* dropped in memory only: the block being filled goes back too */
	assert_int_equal(append_pattern(&b, 10), 0);
	assert_int_equal(mem_used(), BLOCK);
	body_drop(&b, b.end);
	assert_null(b.head);
	assert_int_equal(mem_used(), 0);
	free_last(&b);
}

static void test_stream_never_quite_drained(void **state)
{
	struct body_limits lim = limits(BLOCK, 0, 100 * KB);
	struct body b;
	struct stat st;
	int i;

	(void)state;
	/* spilled once, then read a little behind what comes, never to the end: the
	 * delivered part of the file goes back, in whole 64 KiB pieces, so the body keeps
	 * going on a disk budget far smaller than what passes through it */
	body_init(&b, &lim);
	for (i = 0; i < 100; i++) {
		assert_int_equal(append_pattern(&b, 10 * KB), 0);
		check_pattern(&b, b.start, 4);
		body_drop(&b, b.end - 5000);
		assert_true(disk_used() < 64 * KB + 15 * KB);
		assert_int_equal(disk_used(), b.file_bytes);
	}
	assert_true(b.spilled);
	assert_int_equal(b.spill_files, 1);
	/* the file keeps its offsets; its disk blocks are gone */
	assert_int_equal(file_size(&b), b.end - b.mem_end);
	assert_int_equal(fstat(b.fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 < 200 * KB);
	/* and everything delivered still empties it */
	body_drop(&b, b.end);
	assert_int_equal(disk_used(), 0);
	assert_int_equal(file_size(&b), 0);
	free_last(&b);
}

/* Frees b and checks that every byte of both budgets came back; b can be used again. */
static void free_and_check(struct body *b, const struct body_limits *lim)
{
	body_free(b);
	assert_int_equal(mem_used(), 0);
	assert_int_equal(disk_used(), 0);
	assert_int_equal(b->fd, -1);
	assert_null(b->head);
	assert_null(b->back);
	body_free(b);  /* twice is harmless */
	assert_int_equal(mem_used(), 0);
	body_init(b, lim);
}

static void test_free_returns_both_budgets(void **state)
{
	struct body_limits lim = limits(2 * BLOCK, 10 * BLOCK, 1 << 20);
	struct body b, never;
	struct snapshot s;

	(void)state;
	memset(&never, 0, sizeof(never));
	body_free(&never);  /* zeroed, never initialised */
	body_init(&b, &lim);
	free_and_check(&b, &lim);  /* empty */
	assert_int_equal(append_pattern(&b, 10), 0);
	free_and_check(&b, &lim);  /* one block partly filled */
	assert_int_equal(append_pattern(&b, 2 * BLOCK), 0);
	free_and_check(&b, &lim);  /* memory full */
	assert_int_equal(append_pattern(&b, 2 * BLOCK + 1), 0);
	free_and_check(&b, &lim);  /* spilled */
	assert_int_equal(append_pattern(&b, 3 * BLOCK), 0);
	check_pattern(&b, 0, 4);
	free_and_check(&b, &lim);  /* spilled, read back */
	assert_int_equal(append_pattern(&b, 3 * BLOCK), 0);
	check_pattern(&b, 0, 4);
	body_drop(&b, BLOCK + 5);
	free_and_check(&b, &lim);  /* spilled, partly dropped */
	assert_int_equal(append_pattern(&b, 3 * BLOCK), 0);
	body_drop(&b, 3 * BLOCK);
	free_and_check(&b, &lim);  /* dropped to the end */
	assert_int_equal(append_pattern(&b, 3 * BLOCK), 0);
	body_drop(&b, 2 * BLOCK + 1);
	free_and_check(&b, &lim);  /* memory all dropped, file not */
	assert_int_equal(append_pattern(&b, 2 * BLOCK), 0);
	s = snap(&b);
	pwrite_errno = ENOSPC;
	assert_int_equal(append_pattern(&b, 1), -1);
	pwrite_errno = 0;
	assert_unchanged(&b, &s);
	free_and_check(&b, &lim);  /* after a failed append */
	lim.memory_bytes = 0;
	body_init(&b, &lim);
	assert_int_equal(append_pattern(&b, 100), 0);
	free_and_check(&b, &lim);  /* disk only */
	body_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_in_memory_only, reset),
		cmocka_unit_test_setup(test_spill_at_exactly_the_limit, reset),
		cmocka_unit_test_setup(test_small_and_zero_memory_limit, reset),
		cmocka_unit_test_setup(test_memory_budget_exhausted_goes_to_disk, reset),
		cmocka_unit_test_setup(test_disk_budget_exhausted, reset),
		cmocka_unit_test_setup(test_failed_spill_changes_nothing, reset),
		cmocka_unit_test_setup(test_failed_append_gives_back_new_blocks, reset),
		cmocka_unit_test_setup(test_failed_write_leaves_no_bytes_on_disk, reset),
		cmocka_unit_test_setup(test_spill_without_o_tmpfile, reset),
		cmocka_unit_test_setup(test_out_of_memory_goes_to_disk, reset),
		cmocka_unit_test_setup(test_unreadable_file, reset),
		cmocka_unit_test_setup(test_replay_after_partial_drops, reset),
		cmocka_unit_test_setup(test_peek_one_iovec_at_a_time, reset),
		cmocka_unit_test_setup(test_drop_beyond_end, reset),
		cmocka_unit_test_setup(test_drop_all_then_append_again, reset),
		cmocka_unit_test_setup(test_stream_never_quite_drained, reset),
		cmocka_unit_test_setup(test_free_returns_both_budgets, reset),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
