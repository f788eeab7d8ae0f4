/* fuzz_body.c: libFuzzer target for util/body.c. The input is a program run on two
 * bodies that share one memory and disk budget, beside plain byte arrays: four bytes of
 * limits (the body's memory 0..64 KiB, the memory budget, a small disk budget), then
 * three bytes per operation (append, peek, read all, drop, drop all, free and init
 * again). After each operation the kept bytes, the offsets and both usage counters
 * must agree with the arrays, a refused append must be ENOSPC over the disk budget and
 * change nothing, and at the end body_free must give every byte back. Spill files go
 * to a directory made once per process (removed at exit: the files have no name). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BLOCK (16 * 1024)    /* util/body.c's BODY_BLOCK_SIZE */
#define PUNCH (64 * 1024)    /* util/body.c's BODY_PUNCH_SIZE */
#define MODEL_MAX (1 << 20)  /* bytes appended to one body before it is freed */
#define OPS_MAX 1000

#define CHECK(c) do { if (!(c)) { \
	fprintf(stderr, "fuzz_body.c:%d: %s\n", __LINE__, #c); abort(); } } while (0)

struct modelled {
	struct body b;
	uint64_t start, end;
	unsigned char bytes[MODEL_MAX];  /* byte k of the body at bytes[k] */
};

static char dir[64];
static struct body_usage usage;
static struct modelled m[2];

static void remove_dir(void)
{
	rmdir(dir);
}

static uint64_t mem_used(void) { return atomic_load(&usage.memory_bytes); }
static uint64_t disk_used(void) { return atomic_load(&usage.disk_bytes); }

static uint64_t file_size(const struct body *b)
{
	struct stat st;

	if (b->fd == -1)
		return 0;
	CHECK(fstat(b->fd, &st) == 0);
	return (uint64_t)st.st_size;
}

/* Reads x's body from off to its end, at most max iovecs a call, against the array. */
static void read_all(struct modelled *x, uint64_t off, int max)
{
	struct iovec iov[8];
	int n, i;

	while ((n = body_peek(&x->b, off, iov, max)) > 0) {
		CHECK(n <= max);
		for (i = 0; i < n; i++) {
			CHECK(iov[i].iov_len > 0 && iov[i].iov_len <= x->end - off);
			CHECK(memcmp(iov[i].iov_base, x->bytes + off, iov[i].iov_len) == 0);
			off += iov[i].iov_len;
		}
	}
	CHECK(n == 0 && off == x->end);
}

/* Appends n bytes made from seed to x; a refusal must be ENOSPC over the disk budget
 * and leave everything as it was. */
static void append(struct modelled *x, const struct body_limits *lim, size_t n, uint32_t seed)
{
	struct body *b = &x->b;
	uint64_t disk = disk_used(), memory = mem_used(), mem_bytes = b->mem_bytes;
	uint64_t file_bytes = b->file_bytes, fsize = file_size(b);
	int spilled = b->spilled;
	size_t k;

	if (x->end + n > MODEL_MAX)
		return;
	for (k = 0; k < n; k++) {
		seed = seed * 1103515245u + 12345u;
		x->bytes[x->end + k] = (unsigned char)(seed >> 16);
	}
	if (body_append(b, x->bytes + x->end, n) == -1) {
		CHECK(errno == ENOSPC);
		CHECK(disk + n > lim->disk_budget_bytes);
		CHECK(b->end == x->end && b->start == x->start);
		CHECK(b->mem_bytes == mem_bytes && b->file_bytes == file_bytes);
		CHECK(b->spilled == spilled && file_size(b) == fsize);
		CHECK(mem_used() == memory && disk_used() == disk);
		return;
	}
	x->end += n;
	CHECK(disk_used() <= lim->disk_budget_bytes);
	if (spilled)
		CHECK(b->file_bytes == file_bytes + n && disk_used() == disk + n);
	/* in memory while the room left in it is enough whatever was dropped */
	if (!spilled && !lim->memory_budget_bytes && body_kept(b) + BLOCK - 1 <= lim->memory_bytes)
		CHECK(!b->spilled);
}

/* The invariants of one body against its array (with the size of its file when
 * stat_file), and a peek at a given kept offset. */
static void check(struct modelled *x, const struct body_limits *lim, uint16_t at, int max,
		  int stat_file)
{
	struct body *b = &x->b;
	struct iovec iov[8];
	uint64_t off = x->start + at % (x->end - x->start + 1);
	int n, i;

	CHECK(b->start == x->start && b->end == x->end);
	CHECK(b->mem_bytes <= lim->memory_bytes && b->mem_end <= b->end);
	if (b->spilled) {
		/* the file holds [mem_end, end); the delivered head of it, less than one
		 * punch short, is a hole given back */
		uint64_t held = b->end - b->mem_end, punched = held - b->file_bytes;
		uint64_t delivered = b->start > b->mem_end ? b->start - b->mem_end : 0;

		CHECK(b->file_bytes <= held);
		CHECK(punched <= delivered && delivered - punched < PUNCH);
		if (stat_file)
			CHECK(file_size(b) == held);
	} else {
		CHECK(b->file_bytes == 0 && (!stat_file || file_size(b) == 0));
	}
	if (b->start == b->end)
		CHECK(b->mem_bytes == 0 && b->file_bytes == 0);
	n = body_peek(b, off, iov, max);
	CHECK(n >= (off < x->end) && n <= max);
	for (i = 0; i < n; i++) {
		CHECK(iov[i].iov_len > 0 && iov[i].iov_len <= x->end - off);
		CHECK(memcmp(iov[i].iov_base, x->bytes + off, iov[i].iov_len) == 0);
		off += iov[i].iov_len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct body_limits lim;
	size_t pos, ops = 0;
	int j;

	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/fuzz_body-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
		CHECK(mkdtemp(dir));
		atexit(remove_dir);
	}
	if (size < 4)
		return 0;
	memset(&lim, 0, sizeof(lim));
	lim.memory_bytes = ((uint64_t)data[0] << 8 | data[1]) % (64 * 1024 + 1);
	lim.memory_budget_bytes = (uint64_t)data[2] * 512;  /* 0: no budget */
	lim.disk_budget_bytes = ((uint64_t)data[3] + 1) * 1024;
	lim.dir = dir;
	lim.usage = &usage;
	CHECK(mem_used() == 0 && disk_used() == 0);
	for (j = 0; j < 2; j++) {
		body_init(&m[j].b, &lim);
		m[j].start = m[j].end = 0;
	}
	for (pos = 4; pos + 3 <= size && ops < OPS_MAX; pos += 3, ops++) {
		uint8_t op = data[pos];
		uint16_t arg = (uint16_t)(data[pos + 1] << 8 | data[pos + 2]);
		struct modelled *x = &m[(op >> 3) & 1];
		int max = 1 + (op >> 4) % 8;

		switch (op & 7) {
		case 0: case 1: case 2: {
			/* sizes around the edges: a few bytes, a block, a read-back buffer */
			static const uint32_t mask[] = { 15, 1023, 0xffff, 0xffff };
			size_t n = arg & mask[(op >> 4) & 3];

			if (((op >> 4) & 3) == 3)
				n += 32768;
			append(x, &lim, n, (uint32_t)pos);
			break;
		}
		case 3:
			check(x, &lim, arg, max, 0);
			break;
		case 4:
			read_all(x, x->start + arg % (x->end - x->start + 1), max);
			break;
		case 5:
			body_drop(&x->b, x->start + arg % (x->end - x->start + 1 + 64));
			CHECK(x->b.start >= x->start && x->b.start <= x->end);
			x->start = x->b.start;
			break;
		case 6:
			body_drop(&x->b, x->end);
			x->start = x->end;
			break;
		case 7:
			body_free(&x->b);
			body_init(&x->b, &lim);
			x->start = x->end = 0;
			break;
		}
		check(&m[0], &lim, arg, max, x == &m[0]);
		check(&m[1], &lim, (uint16_t)(arg >> 3), max, x == &m[1]);
		CHECK(mem_used() == m[0].b.mem_bytes + m[1].b.mem_bytes +
		      (m[0].b.back ? BODY_READ_MAX : 0) + (m[1].b.back ? BODY_READ_MAX : 0));
		CHECK(disk_used() == m[0].b.file_bytes + m[1].b.file_bytes);
		if (lim.memory_budget_bytes)
			CHECK(m[0].b.mem_bytes + m[1].b.mem_bytes <= lim.memory_budget_bytes);
	}
	for (j = 0; j < 2; j++)
		body_free(&m[j].b);
	CHECK(mem_used() == 0 && disk_used() == 0);
	return 0;
}
