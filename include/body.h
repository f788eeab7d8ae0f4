/* body.h: a message body held between the two sides of an exchange (request and
 * response buffering). Bytes are appended at the tail as one side brings them and read
 * from any offset by the other (a replay reads from 0 again); what was delivered is
 * dropped from the head. A body lives in memory up to its own limit and while the
 * process's memory budget allows, then in an unlinked temp file (O_TMPFILE: it
 * vanishes with the process) while the process's disk budget allows. Offsets are
 * absolute: byte k of the body keeps offset k whatever was dropped before it.
 * Not thread-safe: one body belongs to one exchange on one worker; only the usage
 * counters are shared. */
#ifndef FULCRUM_BODY_H
#define FULCRUM_BODY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Bytes of file data read back at once for body_peek. */
#define BODY_READ_MAX (32 * 1024)

/* What all bodies of the process hold together, for the budgets and the metrics. */
struct body_usage {
	atomic_ullong memory_bytes;   /* memory blocks and read-back buffers */
	atomic_ullong disk_bytes;     /* bytes in spill files */
};

/* Where and how much a body may hold; copied into the body at body_init. */
struct body_limits {
	uint64_t memory_bytes;         /* this body in memory; beyond, it spills */
	uint64_t memory_budget_bytes;  /* all bodies in memory; beyond, new bytes go to disk (0: no limit) */
	uint64_t disk_budget_bytes;    /* all spill files; beyond, body_append fails (ENOSPC) (0: no limit) */
	const char *dir;               /* spill files are made here; must outlive the body */
	struct body_usage *usage;      /* the process's counters */
};

struct body_block;

struct body {
	struct body_limits lim;
	struct body_block *head;      /* memory blocks in order; bytes from head_off */
	struct body_block *fill;      /* the block the next memory byte goes to */
	uint64_t head_off;            /* offset of head's first byte */
	uint64_t start;               /* first byte kept: everything before was dropped */
	uint64_t end;                 /* one past the last byte appended */
	uint64_t mem_end;             /* memory holds [head_off, mem_end) ... */
	uint64_t mem_bytes;           /* memory held (blocks), counted in usage */
	uint64_t file_bytes;          /* ... and the file [mem_end, end) from its offset 0;
	                               * counted in usage: what delivered holes (punched in
	                               * body_drop) left of it */
	char *back;                   /* file bytes read back (BODY_READ_MAX), or NULL */
	uint64_t back_off;            /* offset of back[0] */
	uint32_t back_len;            /* valid bytes in back */
	int fd;                       /* spill file, or -1 */
	unsigned spilled:1;           /* new bytes go to the file (until everything is dropped) */
	/* for the metrics: what went to disk over the body's life */
	uint64_t spilled_bytes;
	uint32_t spill_files;         /* times a spill began */
};

/* An empty body that will hold at most what lim allows. Allocates nothing. */
void body_init(struct body *b, const struct body_limits *lim);
/* Releases everything b holds (memory, file, budget shares). b is empty after (and may
 * be initialised again). */
void body_free(struct body *b);

/* Appends n bytes of p: all of them, or none. 0, or -1 with errno: ENOSPC (the disk
 * budget or the disk is full), or what opening or writing the spill file said. b is
 * unchanged on failure. */
int body_append(struct body *b, const void *p, size_t n);

/* Fills up to max iovecs with the body's bytes from offset off (start <= off <= end)
 * on, in order: pointers into memory blocks, or into a buffer of file bytes read back
 * (valid until the next body_* call). Returns the number of iovecs filled (0 at the
 * end of what was appended), -1 with errno when the file cannot be read. */
int body_peek(struct body *b, uint64_t off, struct iovec *iov, int max);

/* Forgets the bytes before offset upto (delivered): memory blocks go back, and when
 * nothing is left the spill file is emptied and its budget share returned. */
void body_drop(struct body *b, uint64_t upto);

/* Bytes appended and not yet dropped. */
static inline uint64_t body_kept(const struct body *b) { return b->end - b->start; }

#endif
