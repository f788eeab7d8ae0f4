/* fuzz_journal.c: libFuzzer target for the journal reader: any bytes as the journal
 * file's content (ctl_journal_parse, what ctl_journal_open replays). A mutation almost
 * never keeps a record's CRC right, so when the first byte is odd the rest is taken as
 * payload lines that the target frames with their true length and checksum: that way
 * the JSON decoding behind the checksum is fuzzed too. Checked: the good
 * prefix lies within the input; every entry applied has valid names and a known op;
 * and writing the entries out again (ctl_journal_encode) and reading that back gives
 * the same entries with nothing bad or skipped (a journal survives its own rewrite). */
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ctl_journal.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames each '\n'-separated line of in as a record with its length and CRC. */
static char *frame_lines(const char *in, size_t len, size_t *outlen)
{
	char *out = malloc(len + (len + 1) * 19 + 1), *p = out;
	size_t pos = 0;

	if (!out)
		return NULL;
	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - in) - pos : len - pos;

		p += sprintf(p, "%08zx %08" PRIx32 " ", n, ctl_crc32(in + pos, n));
		memcpy(p, in + pos, n);
		p += n;
		*p++ = '\n';
		pos += n + 1;
	}
	*outlen = (size_t)(p - out);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in;
	char *framed = NULL;
	struct ctl_journal j, back;
	struct ctl_journal_replay rep, rep2;
	size_t good, i, len = 0, cap;
	char *img;

	addr_resolve_offline(1);
	/* skipped records are logged as errors: quiet, or stderr dominates the run */
	log_set_level((enum log_level)(LOG_ERROR + 1));
	if (size < 1 || size > 1 << 20)
		return 0;
	in = (const char *)data + 1;
	size--;
	if (data[0] & 1) {
		framed = frame_lines(in, size, &size);
		if (!framed)
			return 0;
		in = framed;
	}
	memset(&j, 0, sizeof(j));
	j.fd = -1;
	good = ctl_journal_parse(&j, in, size, &rep);
	assert(good <= size);
	assert(rep.bad == 0 || rep.bad_offset >= 0);
	assert(j.n <= rep.records);
	cap = (j.n + 1) * (CTL_RECORD_MAX + 32);
	img = malloc(cap);
	assert(img);
	for (i = 0; i < j.n; i++) {
		const struct ctl_jentry *e = &j.entries[i];
		size_t n;

		assert(e->op == CTL_JOP_SET || e->op == CTL_JOP_DELETE);
		assert(e->pool[0] && e->name[0]);
		assert(memchr(e->pool, '\0', sizeof(e->pool)) && memchr(e->name, '\0', sizeof(e->name)));
		n = ctl_journal_encode(e, img + len, cap - len);
		assert(n > 0);
		len += n;
	}
	memset(&back, 0, sizeof(back));
	back.fd = -1;
	assert(ctl_journal_parse(&back, img, len, &rep2) == len);
	assert(rep2.bad == 0 && rep2.skipped == 0 && back.n == j.n);
	for (i = 0; i < j.n; i++) {
		const struct ctl_jentry *a = &j.entries[i], *b = &back.entries[i];

		assert(!strcmp(a->pool, b->pool) && !strcmp(a->name, b->name) && a->op == b->op);
		assert(a->op == CTL_JOP_DELETE || (!strcmp(a->address, b->address) &&
			a->weight == b->weight && a->max_conns == b->max_conns && a->state == b->state));
	}
	free(img);
	free(framed);
	ctl_journal_close(&back);
	ctl_journal_close(&j);
	return 0;
}
