/* test_body_model.c: a seeded random run of util/body.c: two bodies sharing one memory
 * and disk budget take random appends, peeks, drops and frees beside plain byte arrays
 * (test_body.c has the cases one by one). After each step the content, the offsets,
 * memory against blocks plus read-back buffers, disk against the files, and that a
 * refusal is ENOSPC, only over the disk budget, changing nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "body.h"

#define KB 1024u
#define BLOCK (16 * KB)  /* util/body.c's BODY_BLOCK_SIZE */
#define PUNCH (64 * KB)  /* util/body.c's BODY_PUNCH_SIZE */

static char dir[64];     /* spill files go here (the group's temp dir) */
static struct body_usage usage;

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_body_model-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return rmdir(dir);
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

/* What a refused append must leave as it was. */
struct snapshot {
	uint64_t start, end, mem_end, mem_bytes, file_bytes, memory, disk, spilled_bytes;
	uint32_t spill_files;
	int spilled, has_file;
};

static struct snapshot snap(const struct body *b)
{
	struct snapshot s;

	memset(&s, 0, sizeof(s));  /* the padding too: compared whole */
	s.start = b->start;
	s.end = b->end;
	s.mem_end = b->mem_end;
	s.mem_bytes = b->mem_bytes;
	s.file_bytes = b->file_bytes;
	s.memory = mem_used();
	s.disk = disk_used();
	s.spilled_bytes = b->spilled_bytes;
	s.spill_files = b->spill_files;
	s.spilled = b->spilled;
	s.has_file = b->fd != -1;
	return s;
}

static void assert_unchanged(const struct body *b, const struct snapshot *s)
{
	struct snapshot now = snap(b);

	assert_memory_equal(&now, s, sizeof(now));
}

/* A small xorshift generator: the same run every time. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n ? rng_state % n : 0;
}

#define MODEL_MAX (2u << 20)

/* A body beside a plain array of every byte appended (at its absolute offset). */
struct modelled {
	struct body b;
	unsigned char *bytes;
	uint64_t start, end;
};

/* Checks m's body against its model: the offsets, the content of a random range read
 * with a random number of iovecs, and the invariants of memory and file. */
static void model_check(struct modelled *m, const struct body_limits *lim)
{
	struct body *b = &m->b;
	struct iovec iov[8];
	uint64_t off;
	int n, i, max;

	assert_int_equal(b->start, m->start);
	assert_int_equal(b->end, m->end);
	assert_true(b->mem_bytes <= lim->memory_bytes);
	assert_true(b->mem_end <= b->end);
	if (b->spilled) {
		/* the file holds [mem_end, end); the delivered head of it, less than one
		 * punch short, is a hole given back */
		uint64_t held = b->end - b->mem_end, punched = held - b->file_bytes;
		uint64_t delivered = b->start > b->mem_end ? b->start - b->mem_end : 0;

		assert_true(b->file_bytes <= held);
		assert_true(punched <= delivered && delivered - punched < PUNCH);
	} else {
		assert_int_equal(b->file_bytes, 0);
	}
	if (b->start == b->end) {
		/* everything delivered: everything given back */
		assert_int_equal(b->mem_bytes, 0);
		assert_int_equal(b->file_bytes, 0);
	}
	off = m->start + rnd(m->end - m->start + 1);
	max = 1 + (int)rnd(8);
	n = body_peek(b, off, iov, max);
	assert_in_range(n, off == m->end ? 0 : 1, max);
	for (i = 0; i < n; i++) {
		assert_true(iov[i].iov_len > 0 && iov[i].iov_len <= m->end - off);
		assert_memory_equal(iov[i].iov_base, m->bytes + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
}

static void test_model_random(void **state)
{
	static const uint64_t mem_limits[] = { 0, 1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 40 * KB, 64 * KB };
	struct modelled m[2];
	struct body_limits lim;
	unsigned round, op, j, fails = 0, spills = 0;

	(void)state;
	for (j = 0; j < 2; j++) {
		m[j].bytes = malloc(MODEL_MAX);
		assert_non_null(m[j].bytes);
	}
	for (round = 0; round < 24; round++) {
		lim = limits(mem_limits[rnd(8)], rnd(2) ? 0 : BLOCK + rnd(64 * KB),
			     64 * KB + rnd(256 * KB));
		for (j = 0; j < 2; j++) {
			body_init(&m[j].b, &lim);
			m[j].start = m[j].end = 0;
		}
		for (op = 0; op < 400; op++) {
			struct modelled *x = &m[rnd(2)];
			uint64_t r = rnd(100), k;

			if (r < 45) {
				/* sizes around the interesting edges: tiny, a block, a read-back */
				static const size_t scale[] = { 16, 1024, 20 * KB, 70 * KB };
				size_t n = (size_t)rnd(scale[rnd(4)] + 1);
				uint64_t disk = disk_used(), was_file = x->b.file_bytes;
				int spilled = x->b.spilled;
				struct snapshot s = snap(&x->b);

				if (x->end + n > MODEL_MAX)
					continue;
				for (k = 0; k < n; k++)
					x->bytes[x->end + k] = (unsigned char)rnd(256);
				if (body_append(&x->b, x->bytes + x->end, n) == -1) {
					assert_int_equal(errno, ENOSPC);
					/* only when the disk part did not fit, and then all of it */
					assert_true(disk + n > lim.disk_budget_bytes);
					assert_unchanged(&x->b, &s);
					fails++;
				} else {
					/* in memory while the block room left is enough for sure */
					if (!spilled && !lim.memory_budget_bytes &&
					    body_kept(&x->b) + BLOCK - 1 <= lim.memory_bytes)
						assert_false(x->b.spilled);
					x->end += n;
					assert_true(disk_used() <= lim.disk_budget_bytes);
					if (spilled) {
						assert_int_equal(x->b.file_bytes, was_file + n);
						assert_int_equal(disk_used(), disk + n);
					}
					if (!spilled && x->b.spilled)
						spills++;
				}
			} else if (r < 65) {
				body_drop(&x->b, x->start + rnd(x->end - x->start + 1 + 100));
				x->start = x->b.start;
				assert_true(x->start <= x->end);
			} else if (r < 70) {
				body_drop(&x->b, x->end);
				x->start = x->end;
			} else if (r < 73) {
				body_free(&x->b);
				body_init(&x->b, &lim);
				x->start = x->end = 0;
			} else {
				/* a whole delivery from start */
				uint64_t off = x->start;
				struct iovec iov[4];
				int n, i;

				while ((n = body_peek(&x->b, off, iov, 4)) > 0)
					for (i = 0; i < n; i++) {
						assert_memory_equal(iov[i].iov_base, x->bytes + off, iov[i].iov_len);
						off += iov[i].iov_len;
					}
				assert_int_equal(n, 0);
				assert_int_equal(off, x->end);
			}
			model_check(&m[0], &lim);
			model_check(&m[1], &lim);
			assert_int_equal(mem_used(), m[0].b.mem_bytes + m[1].b.mem_bytes +
					 (m[0].b.back ? BODY_READ_MAX : 0) + (m[1].b.back ? BODY_READ_MAX : 0));
			assert_int_equal(disk_used(), m[0].b.file_bytes + m[1].b.file_bytes);
			if (lim.memory_budget_bytes)
				assert_true(m[0].b.mem_bytes + m[1].b.mem_bytes <= lim.memory_budget_bytes);
		}
		for (j = 0; j < 2; j++)
			body_free(&m[j].b);
		assert_int_equal(mem_used(), 0);
		assert_int_equal(disk_used(), 0);
	}
	/* the run went through both ways out of memory */
	assert_true(spills > 10);
	assert_true(fails > 10);
	for (j = 0; j < 2; j++)
		free(m[j].bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_random),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
