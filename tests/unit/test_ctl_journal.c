/* test_ctl_journal.c: unit tests of control/journal.c and control/merge.c: records survive
 * a round trip, a journal cut short anywhere in its last record (or damaged in the middle)
 * is detected and the bad record never applied, appends and rewrites, and the merge rule. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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

#include "config.h"
#include "ctl_journal.h"

static struct ctl_jentry set_entry(const char *pool, const char *name, const char *address,
				   uint32_t weight, enum admin_state st, uint64_t seq);
static struct ctl_jentry del_entry(const char *pool, const char *name, uint64_t seq);
static size_t image(const struct ctl_jentry *e, size_t n, char *buf, size_t len, size_t *ends);
static struct config *load(const char *text);
static char *temp_dir(void);
static void write_file(const char *path, const char *buf, size_t len);
static off_t file_size(const char *path);
static const struct cfg_backend *backend_at(const struct config *cfg, const char *pool, size_t i);

static void test_crc32(void **state);
static void test_roundtrip(void **state);
static void test_cut_short_anywhere(void **state);
static void test_damaged_middle(void **state);
static void test_refused_content(void **state);
static void test_open_rewrites_torn_tail(void **state);
static void test_append_revert_replace(void **state);
static void test_merge_rule(void **state);
static void test_entries_for_rollback(void **state);
static void test_file_edits_overtake(void **state);

#define BASE                                                                                  \
	"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; } );\n"  \
	"pools = (\n"                                                                         \
	"  { name = \"flask\"; backends = (\n"                                                \
	"      { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 4; },\n"             \
	"      { name = \"web-2\"; address = \"127.0.0.1:8002\"; weight = 2; } ); },\n"        \
	"  { name = \"other\"; backends = (\n"                                                \
	"      { name = \"o-1\"; address = \"127.0.0.1:9001\"; } ); }\n"                       \
	");\n"

static struct ctl_jentry set_entry(const char *pool, const char *name, const char *address,
				   uint32_t weight, enum admin_state st, uint64_t seq)
{
	struct ctl_jentry e;
	char err[256];

	memset(&e, 0, sizeof(e));
	e.op = CTL_JOP_SET;
	snprintf(e.pool, sizeof(e.pool), "%s", pool);
	snprintf(e.name, sizeof(e.name), "%s", name);
	snprintf(e.address, sizeof(e.address), "%s", address);
	e.weight = weight;
	e.max_conns = 3;
	e.state = st;
	e.seq = seq;
	e.time = 1700000000.5;
	if (ctl_jentry_resolve(&e, err, sizeof(err)) == -1)
		e.addr.len = 0;
	return e;
}

static struct ctl_jentry del_entry(const char *pool, const char *name, uint64_t seq)
{
	struct ctl_jentry e;

	memset(&e, 0, sizeof(e));
	e.op = CTL_JOP_DELETE;
	snprintf(e.pool, sizeof(e.pool), "%s", pool);
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.seq = seq;
	return e;
}

/* Encodes n records one after the other; ends[i] = offset just after record i. */
static size_t image(const struct ctl_jentry *e, size_t n, char *buf, size_t len, size_t *ends)
{
	size_t used = 0, i;

	for (i = 0; i < n; i++) {
		size_t k = ctl_journal_encode(&e[i], buf + used, len - used);

		assert_true(k > 0);
		used += k;
		if (ends)
			ends[i] = used;
	}
	return used;
}

static struct config *load(const char *text)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load_string(text, "test", &errs);

	if (!cfg) {
		config_errors_print(&errs, stderr);
		fail_msg("config does not load");
	}
	return cfg;
}

static char *temp_dir(void)
{
	char *d = strdup("/tmp/fulcrum-test-journal.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void write_file(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static const struct cfg_backend *backend_at(const struct config *cfg, const char *pool, size_t i)
{
	const struct cfg_pool *p = config_find_pool(cfg, pool);

	assert_non_null(p);
	assert_true(i < p->nbackends);
	return &p->backends[i];
}

/* ---- Framing ---- */

static void test_crc32(void **state)
{
	/* the check value of CRC-32/ISO-HDLC (zlib's crc32) */
	assert_int_equal(ctl_crc32("123456789", 9), 0xcbf43926u);
	assert_int_equal(ctl_crc32("", 0), 0);
}

static void test_roundtrip(void **state)
{
	struct ctl_jentry in[3] = {
		set_entry("flask", "web-3", "127.0.0.1:8003", 5, ADMIN_ACTIVE, 1),
		set_entry("flask", "web-1", "[::1]:8001", 0, ADMIN_DRAINING, 2),
		del_entry("other", "o-1", 3),
	};
	struct ctl_journal j = { .fd = -1 };
	struct ctl_journal_replay rep;
	const struct ctl_jentry *e;
	char buf[4096];
	size_t len;

	/* a drain's deadline goes with a draining entry only */
	in[1].drain_until = 1796550000.25;
	in[0].drain_until = 1796550000.25;
	len = image(in, 3, buf, sizeof(buf), NULL);
	/* one human-readable line per record: length, checksum, JSON */
	assert_int_equal(buf[8], ' ');
	assert_int_equal(buf[17], ' ');
	assert_int_equal(buf[18], '{');
	assert_int_equal(ctl_journal_parse(&j, buf, len, &rep), len);
	assert_int_equal(rep.records, 3);
	assert_int_equal(rep.bad, 0);
	assert_int_equal(rep.bad_offset, -1);
	assert_int_equal(j.n, 3);
	assert_int_equal(j.seq, 3);
	e = ctl_journal_find(&j, "flask", "web-3");
	assert_non_null(e);
	assert_int_equal(e->op, CTL_JOP_SET);
	assert_string_equal(e->address, "127.0.0.1:8003");
	assert_true(e->addr.len > 0);
	assert_int_equal(e->weight, 5);
	assert_int_equal(e->max_conns, 3);
	assert_int_equal(e->state, ADMIN_ACTIVE);
	e = ctl_journal_find(&j, "flask", "web-1");
	assert_int_equal(e->state, ADMIN_DRAINING);
	assert_int_equal(e->weight, 0);
	assert_int_equal(e->addr.ss.ss_family, AF_INET6);
	assert_true(e->drain_until == 1796550000.25);
	assert_true(ctl_journal_find(&j, "flask", "web-3")->drain_until == 0);
	e = ctl_journal_find(&j, "other", "o-1");
	assert_int_equal(e->op, CTL_JOP_DELETE);
	assert_null(ctl_journal_find(&j, "other", "web-1"));
	ctl_journal_close(&j);
}

/* A crash while writing the last record leaves any prefix of it: each one is detected,
 * counted as bad, and the record is not applied, while every earlier record is. */
static void test_cut_short_anywhere(void **state)
{
	struct ctl_jentry in[3] = {
		set_entry("flask", "web-1", "127.0.0.1:8001", 5, ADMIN_ACTIVE, 1),
		set_entry("flask", "web-9", "127.0.0.1:8009", 1, ADMIN_ACTIVE, 2),
		set_entry("flask", "web-1", "127.0.0.1:8001", 9, ADMIN_DRAINING, 3),
	};
	char buf[4096];
	size_t ends[3], len = image(in, 3, buf, sizeof(buf), ends), cut;

	for (cut = ends[1]; cut < len; cut++) {
		struct ctl_journal j = { .fd = -1 };
		struct ctl_journal_replay rep;
		const struct ctl_jentry *e;
		size_t good = ctl_journal_parse(&j, buf, cut, &rep);

		assert_int_equal(good, ends[1]);
		assert_int_equal(rep.records, 2);
		assert_int_equal(rep.bad, cut == ends[1] ? 0 : 1);
		if (cut > ends[1])
			assert_int_equal(rep.bad_offset, (off_t)ends[1]);
		e = ctl_journal_find(&j, "flask", "web-1");
		assert_non_null(e);
		/* the second write of web-1 (weight 9, draining) was cut: not half-applied */
		assert_int_equal(e->weight, 5);
		assert_int_equal(e->state, ADMIN_ACTIVE);
		assert_int_equal(j.seq, 2);
		ctl_journal_close(&j);
	}
}

static void test_damaged_middle(void **state)
{
	struct ctl_jentry in[3] = {
		set_entry("flask", "a", "127.0.0.1:1001", 1, ADMIN_ACTIVE, 1),
		set_entry("flask", "b", "127.0.0.1:1002", 2, ADMIN_ACTIVE, 2),
		set_entry("flask", "c", "127.0.0.1:1003", 3, ADMIN_ACTIVE, 3),
	};
	struct ctl_journal j = { .fd = -1 };
	struct ctl_journal_replay rep;
	char buf[4096], copy[4096];
	size_t ends[3], len = image(in, 3, buf, sizeof(buf), ends);

	/* a flipped bit in record 2's payload: its checksum fails, 1 and 3 still apply */
	memcpy(copy, buf, len);
	copy[ends[0] + 40] ^= 0x01;
	assert_int_equal(ctl_journal_parse(&j, copy, len, &rep), ends[0]);
	assert_int_equal(rep.records, 2);
	assert_int_equal(rep.bad, 1);
	assert_int_equal(rep.bad_offset, (off_t)ends[0]);
	assert_string_equal(rep.bad_reason, "checksum mismatch");
	assert_non_null(ctl_journal_find(&j, "flask", "a"));
	assert_null(ctl_journal_find(&j, "flask", "b"));
	assert_non_null(ctl_journal_find(&j, "flask", "c"));
	ctl_journal_close(&j);

	/* a damaged header (length) */
	memcpy(copy, buf, len);
	copy[ends[0] + 3] = 'x';
	memset(&j, 0, sizeof(j));
	j.fd = -1;
	ctl_journal_parse(&j, copy, len, &rep);
	assert_int_equal(rep.bad, 1);
	assert_string_equal(rep.bad_reason, "malformed record header");
	assert_null(ctl_journal_find(&j, "flask", "b"));
	assert_non_null(ctl_journal_find(&j, "flask", "c"));
	ctl_journal_close(&j);

	/* a length that runs into the next record: no newline where it should end */
	memcpy(copy, buf, len);
	copy[ends[0] + 7] = copy[ends[0] + 7] == '0' ? '1' : '0';
	memset(&j, 0, sizeof(j));
	j.fd = -1;
	ctl_journal_parse(&j, copy, len, &rep);
	assert_int_equal(rep.bad, 1);
	assert_null(ctl_journal_find(&j, "flask", "b"));
	ctl_journal_close(&j);
}

/* A record whose checksum holds but whose content is refused is skipped whole. */
static void test_refused_content(void **state)
{
	static const char *const payloads[] = {
		"{\"seq\":2,\"op\":\"rename\",\"pool\":\"flask\",\"name\":\"b\"}",
		"{\"seq\":2,\"op\":\"set\",\"pool\":\"flask\",\"name\":\"b c\",\"address\":\"127.0.0.1:1\","
		"\"weight\":1,\"max_conns\":0,\"state\":\"active\"}",
		"{\"seq\":2,\"op\":\"set\",\"pool\":\"flask\",\"name\":\"b\",\"address\":\"127.0.0.1:1\","
		"\"weight\":1001,\"max_conns\":0,\"state\":\"active\"}",
		"{\"seq\":2,\"op\":\"set\",\"pool\":\"flask\",\"name\":\"b\",\"address\":\"127.0.0.1\","
		"\"weight\":1,\"max_conns\":0,\"state\":\"active\"}",
		"[1]",
		/* found by fuzz_journal: a seq no uint64_t can hold (the cast was undefined) */
		"{\"seq\":1e300,\"op\":\"delete\",\"pool\":\"flask\",\"name\":\"b\"}",
		"{\"seq\":-5,\"op\":\"delete\",\"pool\":\"flask\",\"name\":\"b\"}",
		"{\"seq\":2,\"op\":\"set\",\"pool\":\"flask\",\"name\":\"b\",\"address\":\"127.0.0.1:1\","
		"\"weight\":1,\"max_conns\":0,\"state\":\"draining\",\"drain_until\":\"soon\"}",
		"{\"seq\":2,\"op\":\"set\",\"pool\":\"flask\",\"name\":\"b\",\"address\":\"127.0.0.1:1\","
		"\"weight\":1,\"max_conns\":0,\"state\":\"draining\",\"drain_until\":-1}",
	};
	size_t i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		struct ctl_jentry a = set_entry("flask", "a", "127.0.0.1:1001", 1, ADMIN_ACTIVE, 1);
		struct ctl_journal j = { .fd = -1 };
		struct ctl_journal_replay rep;
		char buf[4096];
		size_t len = ctl_journal_encode(&a, buf, sizeof(buf)), plen = strlen(payloads[i]);

		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%08zx %08x %s\n", plen,
					ctl_crc32(payloads[i], plen), payloads[i]);
		ctl_journal_parse(&j, buf, len, &rep);
		assert_int_equal(rep.records, 1);
		assert_int_equal(rep.skipped, 1);
		assert_int_equal(rep.bad, 0);
		assert_int_equal(j.n, 1);
		assert_null(ctl_journal_find(&j, "flask", "b"));
		ctl_journal_close(&j);
	}
}

/* Opening a journal whose last record was cut short rewrites it from the good records, so
 * that the next append does not land behind garbage, and a later replay sees all. */
static void test_open_rewrites_torn_tail(void **state)
{
	struct ctl_jentry in[2] = {
		set_entry("flask", "a", "127.0.0.1:1001", 1, ADMIN_ACTIVE, 1),
		set_entry("flask", "b", "127.0.0.1:1002", 2, ADMIN_ACTIVE, 2),
	};
	struct ctl_jentry next = set_entry("flask", "c", "127.0.0.1:1003", 3, ADMIN_ACTIVE, 0);
	struct ctl_journal j;
	struct ctl_journal_replay rep;
	char buf[4096], *dir = temp_dir(), *path = NULL, err[256];
	size_t ends[2], len = image(in, 2, buf, sizeof(buf), ends);

	assert_true(asprintf(&path, "%s/journal", dir) > 0);
	write_file(path, buf, len - 10);
	/* read only (another process holds state_dir): replayed, never rewritten */
	assert_int_equal(ctl_journal_open(&j, path, 0, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 1);
	assert_int_equal(rep.bad, 1);
	assert_int_equal(j.fd, -1);
	assert_int_equal(file_size(path), (off_t)(len - 10));
	ctl_journal_close(&j);
	assert_int_equal(ctl_journal_open(&j, path, 1, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 1);
	assert_int_equal(rep.bad, 1);
	assert_int_equal(file_size(path), (off_t)ends[0]);
	assert_int_equal(ctl_journal_append(&j, &next, NULL, err, sizeof(err)), 0);
	assert_int_equal(next.seq, 2);
	ctl_journal_close(&j);

	assert_int_equal(ctl_journal_open(&j, path, 1, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 2);
	assert_int_equal(rep.bad, 0);
	assert_non_null(ctl_journal_find(&j, "flask", "a"));
	assert_null(ctl_journal_find(&j, "flask", "b"));
	assert_non_null(ctl_journal_find(&j, "flask", "c"));
	ctl_journal_close(&j);

	/* a journal that does not exist yet is created empty */
	unlink(path);
	assert_int_equal(ctl_journal_open(&j, path, 1, &rep, err, sizeof(err)), 0);
	assert_int_equal(j.n, 0);
	assert_true(j.fd != -1);
	ctl_journal_close(&j);
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

static void test_append_revert_replace(void **state)
{
	struct ctl_jentry a = set_entry("flask", "a", "127.0.0.1:1001", 1, ADMIN_ACTIVE, 0);
	struct ctl_jentry a2 = set_entry("flask", "a", "127.0.0.1:1001", 7, ADMIN_DRAINING, 0);
	struct ctl_jentry b = set_entry("flask", "b", "127.0.0.1:1002", 2, ADMIN_ACTIVE, 0);
	struct ctl_journal_undo undo;
	struct ctl_journal_replay rep;
	struct ctl_journal j;
	char *dir = temp_dir(), *path = NULL, err[256];
	off_t size;

	assert_true(asprintf(&path, "%s/journal", dir) > 0);
	assert_int_equal(ctl_journal_open(&j, path, 1, &rep, err, sizeof(err)), 0);
	assert_int_equal(ctl_journal_append(&j, &a, NULL, err, sizeof(err)), 0);
	size = file_size(path);
	assert_int_equal(size, j.size);

	/* an append taken back: the file and the entries are as before */
	assert_int_equal(ctl_journal_append(&j, &a2, &undo, err, sizeof(err)), 0);
	assert_int_equal(ctl_journal_find(&j, "flask", "a")->weight, 7);
	ctl_journal_revert(&j, &undo);
	assert_int_equal(file_size(path), size);
	assert_int_equal(ctl_journal_find(&j, "flask", "a")->weight, 1);
	assert_int_equal(ctl_journal_append(&j, &b, &undo, err, sizeof(err)), 0);
	ctl_journal_revert(&j, &undo);
	assert_null(ctl_journal_find(&j, "flask", "b"));
	assert_int_equal(j.n, 1);

	/* forget: gone from memory at once, from the file at the next rewrite */
	assert_int_equal(ctl_journal_append(&j, &b, NULL, err, sizeof(err)), 0);
	ctl_journal_forget(&j, "flask", "b");
	ctl_journal_forget(&j, "flask", "never-there");
	assert_null(ctl_journal_find(&j, "flask", "b"));
	assert_int_equal(j.n, 1);

	/* replace: the file holds exactly the new entries */
	{
		struct ctl_jentry list[2] = { b, del_entry("other", "o-1", 0) };

		assert_int_equal(ctl_journal_replace(&j, list, 2, err, sizeof(err)), 0);
		assert_int_equal(j.n, 2);
		assert_null(ctl_journal_find(&j, "flask", "a"));
	}
	ctl_journal_close(&j);
	assert_int_equal(ctl_journal_open(&j, path, 1, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.records, 2);
	assert_null(ctl_journal_find(&j, "flask", "a"));
	assert_non_null(ctl_journal_find(&j, "flask", "b"));
	assert_int_equal(ctl_journal_find(&j, "other", "o-1")->op, CTL_JOP_DELETE);
	ctl_journal_close(&j);

	/* a journal that cannot be written refuses appends, and says so */
	{
		struct ctl_journal ro = { .fd = -1, .path = path };

		assert_int_equal(ctl_journal_append(&ro, &a, NULL, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "cannot be written"));
	}
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

/* ---- The merge rule ---- */

static void test_merge_rule(void **state)
{
	struct config *file = load(BASE), *m;
	struct ctl_jentry e[5] = {
		set_entry("flask", "web-2", "127.0.0.1:8022", 9, ADMIN_DRAINING, 1), /* replaces */
		set_entry("flask", "web-3", "127.0.0.1:8003", 1, ADMIN_ACTIVE, 2),   /* appended */
		del_entry("flask", "web-1", 3),                                      /* removed */
		set_entry("gone", "x", "127.0.0.1:1", 1, ADMIN_ACTIVE, 4),           /* orphan */
		set_entry("other", "o-2", "127.0.0.1:9002", 1, ADMIN_ACTIVE, 5),
	};
	size_t unresolved = 9, orphans = 9;
	const struct cfg_pool *p;

	e[4].addr.len = 0;  /* as if its name no longer resolved */
	e[0].drain_until = 1796550000.5;  /* a drain call's deadline goes into the config */
	m = ctl_merge(file, e, 5, &unresolved, &orphans);
	assert_non_null(m);
	assert_int_equal(unresolved, 1);
	assert_int_equal(orphans, 1);
	p = config_find_pool(m, "flask");
	assert_int_equal(p->nbackends, 2);
	assert_string_equal(backend_at(m, "flask", 0)->name, "web-2");
	assert_string_equal(backend_at(m, "flask", 0)->address.text, "127.0.0.1:8022");
	assert_int_equal(backend_at(m, "flask", 0)->weight, 9);
	assert_int_equal(backend_at(m, "flask", 0)->state, ADMIN_DRAINING);
	assert_true(backend_at(m, "flask", 0)->drain_until == 1796550000.5);
	assert_true(backend_at(m, "flask", 1)->drain_until == 0);
	/* a backend the file has keeps what the journal does not say (here its line) */
	assert_int_equal(backend_at(m, "flask", 0)->line, backend_at(file, "flask", 1)->line);
	assert_string_equal(backend_at(m, "flask", 1)->name, "web-3");
	assert_int_equal(backend_at(m, "flask", 1)->line, 0);
	assert_int_equal(config_find_pool(m, "other")->nbackends, 1);
	assert_null(config_find_pool(m, "gone"));
	/* everything that is not a backend is the file's; the file itself is untouched */
	assert_int_equal(m->nlisteners, 1);
	assert_string_equal(m->listeners[0].bind.text, "127.0.0.1:18080");
	assert_int_equal(config_find_pool(file, "flask")->nbackends, 2);
	assert_int_equal(backend_at(file, "flask", 1)->weight, 2);
	config_free(m);

	/* deleting something the file does not have, and an empty journal, change nothing */
	{
		struct ctl_jentry d = del_entry("flask", "nope", 1);

		m = ctl_merge(file, &d, 1, NULL, NULL);
		assert_int_equal(config_find_pool(m, "flask")->nbackends, 2);
		config_free(m);
		m = ctl_merge(file, NULL, 0, NULL, NULL);
		assert_int_equal(config_find_pool(m, "flask")->nbackends, 2);
		config_free(m);
	}
	config_free(file);
}

/* Rollback writes entries that make the file plus the journal equal to the target. */
static void test_entries_for_rollback(void **state)
{
	struct config *file = load(BASE);
	struct config *target = load(
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; } );\n"
		"pools = (\n"
		"  { name = \"flask\"; backends = (\n"
		"      { name = \"web-2\"; address = \"127.0.0.1:8002\"; weight = 2; },\n"
		"      { name = \"web-7\"; address = \"127.0.0.1:8007\"; weight = 3; state = \"maint\"; },\n"
		"      { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 1; } ); },\n"
		"  { name = \"extra\"; } );\n");
	struct ctl_jentry keep = set_entry("other", "o-9", "127.0.0.1:9009", 1, ADMIN_ACTIVE, 7);
	struct ctl_journal cur = { .fd = -1, .entries = &keep, .n = 1, .cap = 1 };
	struct ctl_jentry *out = NULL;
	struct config *m;
	ssize_t n = ctl_journal_entries_for(file, target, &cur, &out), i;
	const struct cfg_pool *tp, *mp;
	size_t k;

	assert_true(n >= 0);
	/* o-9: pool "other" is not in the target, its entry stays; web-1 (weight differs) and
	 * web-7 (new) are set; web-2 is the file's already: no entry */
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_string_not_equal(out[i].name, "web-2");
	m = ctl_merge(file, out, (size_t)n, NULL, NULL);
	tp = config_find_pool(target, "flask");
	mp = config_find_pool(m, "flask");
	assert_int_equal(mp->nbackends, tp->nbackends);
	for (k = 0; k < tp->nbackends; k++) {
		const struct cfg_backend *want = &tp->backends[k], *got = NULL;
		size_t x;

		for (x = 0; x < mp->nbackends; x++)
			if (!strcmp(mp->backends[x].name, want->name))
				got = &mp->backends[x];
		assert_non_null(got);
		assert_string_equal(got->address.text, want->address.text);
		assert_int_equal(got->weight, want->weight);
		assert_int_equal(got->state, want->state);
	}
	assert_int_equal(config_find_pool(m, "other")->nbackends, 2);
	config_free(m);
	/* laid over the target itself they change nothing */
	m = ctl_merge(target, out, (size_t)n, NULL, NULL);
	assert_int_equal(config_find_pool(m, "flask")->nbackends, 3);
	assert_int_equal(backend_at(m, "flask", 2)->weight, 1);
	config_free(m);
	free(out);

	/* a target that lost a backend of the file gets a delete entry */
	n = ctl_journal_entries_for(target, file, NULL, &out);
	assert_true(n >= 1);
	m = ctl_merge(target, out, (size_t)n, NULL, NULL);
	assert_int_equal(config_find_pool(m, "flask")->nbackends, 2);
	config_free(m);
	free(out);
	config_free(file);
	config_free(target);
}

/* Per backend the newer word wins: an entry holds until the file edits its backend. */
static void test_file_edits_overtake(void **state)
{
	struct config *file = load(BASE), *edited;
	struct ctl_jentry e[4] = {
		set_entry("flask", "web-1", "127.0.0.1:8001", 9, ADMIN_ACTIVE, 1),  /* re-weight */
		del_entry("flask", "web-2", 2),                                     /* delete */
		set_entry("flask", "web-3", "127.0.0.1:8003", 1, ADMIN_ACTIVE, 3),  /* add */
		set_entry("gone", "x", "127.0.0.1:1", 1, ADMIN_ACTIVE, 4),          /* no pool */
	};
	struct ctl_journal j = { .fd = -1, .entries = e, .n = 4, .cap = 4 };
	struct ctl_jentry *out = NULL;
	struct ctl_journal_replay rep;
	char buf[4096], fp[17];
	size_t dropped = 9, len, i;
	ssize_t n;

	for (i = 0; i < 4; i++)
		ctl_backend_fingerprint(file, e[i].pool, e[i].name, e[i].file_fp);
	assert_int_equal(strlen(e[0].file_fp), 16);
	assert_string_equal(e[2].file_fp, "");
	/* the file as it was: every entry holds */
	n = ctl_journal_current(&j, file, &out, &dropped);
	assert_int_equal(n, 4);
	assert_int_equal(dropped, 0);
	free(out);
	/* the fingerprint goes through the journal file */
	len = ctl_journal_encode(&e[0], buf, sizeof(buf));
	{
		struct ctl_journal r = { .fd = -1 };

		ctl_journal_parse(&r, buf, len, &rep);
		assert_string_equal(r.entries[0].file_fp, e[0].file_fp);
		ctl_journal_close(&r);
	}
	/* the file re-weights web-1 and defines web-3: those entries are overtaken; web-2's
	 * definition is unchanged (only reformatted), so its delete holds */
	edited = load(
		"listeners = ( { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; } );\n"
		"pools = ( { name = \"flask\"; backends = (\n"
		"  { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 5; },\n"
		"  { weight = 2; address = \"127.0.0.1:8002\"; name = \"web-2\"; },\n"
		"  { name = \"web-3\"; address = \"127.0.0.1:8003\"; } ); } );\n");
	ctl_backend_fingerprint(edited, "flask", "web-2", fp);
	assert_string_equal(fp, e[1].file_fp);
	n = ctl_journal_current(&j, edited, &out, &dropped);
	assert_int_equal(n, 2);
	assert_int_equal(dropped, 2);
	assert_string_equal(out[0].name, "web-2");
	assert_string_equal(out[1].name, "x");
	free(out);
	config_free(edited);
	config_free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_cut_short_anywhere),
		cmocka_unit_test(test_damaged_middle),
		cmocka_unit_test(test_refused_content),
		cmocka_unit_test(test_open_rewrites_torn_tail),
		cmocka_unit_test(test_append_revert_replace),
		cmocka_unit_test(test_merge_rule),
		cmocka_unit_test(test_entries_for_rollback),
		cmocka_unit_test(test_file_edits_overtake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
