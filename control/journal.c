/* journal.c: the runtime journal file: length- and checksum-framed JSON records, fsync'd
 * before the API acknowledges a change, replayed at start (a record cut short is detected). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "array.h"
#include "clock.h"
#include "config.h"
#include "ctl_journal.h"
#include "log.h"

#define HEADER_LEN 18                /* "%08x %08x " */

static const char *const state_names[] = { "active", "draining", "maint" };

static int decode_record(const char *payload, size_t len, struct ctl_jentry *e, char *why,
			 size_t whylen);
static int decode_maint(const cJSON *o, struct ctl_jentry *e, char *why, size_t whylen);
static void apply_entry(struct ctl_journal *j, const struct ctl_jentry *e);
static int reserve(struct ctl_journal *j, size_t n);
static int parse_hex8(const char *p, uint32_t *out);
static int write_all(int fd, const char *buf, size_t len);
static int fsync_dir_of(const char *path);

uint32_t ctl_crc32(const void *buf, size_t len)
{
	static uint32_t table[256];
	static int ready;
	const unsigned char *p = buf;
	uint32_t crc = 0xffffffffu;
	size_t i;

	if (!ready) {
		for (i = 0; i < 256; i++) {
			uint32_t c = (uint32_t)i;
			int k;

			for (k = 0; k < 8; k++)
				c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	for (i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

size_t ctl_journal_encode(const struct ctl_jentry *e, char *buf, size_t len)
{
	cJSON *o = cJSON_CreateObject();
	char *json = NULL;
	size_t plen, total = 0;

	if (!o)
		return 0;
	cJSON_AddNumberToObject(o, "seq", (double)e->seq);
	cJSON_AddNumberToObject(o, "time", e->time);
	if (e->gen)
		cJSON_AddNumberToObject(o, "gen", (double)e->gen);
	if (e->op == CTL_JOP_MAINT) {
		cJSON_AddStringToObject(o, "op", "maint");
		cJSON_AddStringToObject(o, "kind", strcmp(e->pool, CTL_MAINT_ROUTE) ? "pool" : "route");
		cJSON_AddStringToObject(o, "name", e->name);
		cJSON_AddBoolToObject(o, "on", e->maint_on);
		cJSON_AddNumberToObject(o, "retry_after_s", e->retry_after_s);
		goto print;
	}
	cJSON_AddStringToObject(o, "op", e->op == CTL_JOP_DELETE ? "delete" : "set");
	cJSON_AddStringToObject(o, "pool", e->pool);
	cJSON_AddStringToObject(o, "name", e->name);
	cJSON_AddStringToObject(o, "file", e->file_fp);
	if (e->op == CTL_JOP_SET) {
		cJSON_AddStringToObject(o, "address", e->address);
		cJSON_AddNumberToObject(o, "weight", e->weight);
		cJSON_AddNumberToObject(o, "max_conns", e->max_conns);
		cJSON_AddStringToObject(o, "state", state_names[e->state]);
		if (e->identity[0])
			cJSON_AddStringToObject(o, "identity", e->identity);
		if (e->ttl_s) {
			/* absolute: a restart honours the time left, not a fresh lease */
			cJSON_AddNumberToObject(o, "ttl_s", e->ttl_s);
			cJSON_AddNumberToObject(o, "expires", e->expires);
		}
		if (e->state == ADMIN_DRAINING && e->drain_until > 0)
			cJSON_AddNumberToObject(o, "drain_until", e->drain_until);
	}
print:
	json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!json)
		return 0;
	plen = strlen(json);
	if (plen <= CTL_RECORD_MAX && HEADER_LEN + plen + 1 <= len) {
		snprintf(buf, len, "%08zx %08" PRIx32 " ", plen, ctl_crc32(json, plen));
		memcpy(buf + HEADER_LEN, json, plen);
		buf[HEADER_LEN + plen] = '\n';
		total = HEADER_LEN + plen + 1;
	}
	free(json);
	return total;
}

int ctl_journal_decode(const char *rec, size_t len, struct ctl_jentry *e)
{
	struct ctl_journal j;
	struct ctl_journal_replay rep;
	int rc = -1;

	memset(&j, 0, sizeof(j));
	j.fd = -1;
	ctl_journal_parse(&j, rec, len, &rep);
	if (j.n == 1 && !rep.bad && !rep.skipped) {
		*e = j.entries[0];
		rc = 0;
	}
	ctl_journal_close(&j);
	return rc;
}

static int parse_hex8(const char *p, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 8; i++) {
		char c = p[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/* Reads one payload into e. A checksummed record can still hold something we refuse
 * (written by a newer version, edited by hand): then -1 with the reason, and the
 * caller skips it whole. */
static int decode_record(const char *payload, size_t len, struct ctl_jentry *e, char *why,
			 size_t whylen)
{
	cJSON *o = cJSON_ParseWithLength(payload, len);
	const cJSON *op, *pool, *name, *seq, *tm, *addr, *w, *mc, *st, *fp, *gen, *id, *ttl, *exp, *du;
	char err[256];
	int rc = -1;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (!o || !cJSON_IsObject(o)) {
		snprintf(why, whylen, "not a JSON object");
		goto out;
	}
	op = cJSON_GetObjectItemCaseSensitive(o, "op");
	if (cJSON_IsString(op) && !strcmp(op->valuestring, "maint")) {
		rc = decode_maint(o, e, why, whylen);
		goto out;
	}
	pool = cJSON_GetObjectItemCaseSensitive(o, "pool");
	name = cJSON_GetObjectItemCaseSensitive(o, "name");
	seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
	tm = cJSON_GetObjectItemCaseSensitive(o, "time");
	if (!cJSON_IsString(op) || !cJSON_IsString(pool) || !cJSON_IsString(name) ||
	    !cJSON_IsNumber(seq)) {
		snprintf(why, whylen, "missing op, pool, name or seq");
		goto out;
	}
	if (config_check_name(pool->valuestring, err, sizeof(err)) == -1 ||
	    config_check_name(name->valuestring, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "%.150s", err);
		goto out;
	}
	snprintf(e->pool, sizeof(e->pool), "%s", pool->valuestring);
	snprintf(e->name, sizeof(e->name), "%s", name->valuestring);
	/* compared before the cast: a double beyond uint64_t makes the cast undefined
	 * (found by tests/fuzz/fuzz_journal.c); we write integers up to 2^53 only */
	if (!(seq->valuedouble >= 0 && seq->valuedouble <= 9007199254740992.0)) {
		snprintf(why, whylen, "seq out of range");
		goto out;
	}
	e->seq = (uint64_t)seq->valuedouble;
	e->time = cJSON_IsNumber(tm) ? tm->valuedouble : 0;
	gen = cJSON_GetObjectItemCaseSensitive(o, "gen");
	if (cJSON_IsNumber(gen) && gen->valuedouble >= 0 && gen->valuedouble <= 9007199254740992.0)
		e->gen = (uint64_t)gen->valuedouble;
	fp = cJSON_GetObjectItemCaseSensitive(o, "file");
	if (cJSON_IsString(fp) && strlen(fp->valuestring) < sizeof(e->file_fp))
		snprintf(e->file_fp, sizeof(e->file_fp), "%s", fp->valuestring);
	if (!strcmp(op->valuestring, "delete")) {
		e->op = CTL_JOP_DELETE;
		rc = 0;
		goto out;
	}
	if (strcmp(op->valuestring, "set")) {
		snprintf(why, whylen, "unknown op '%.32s'", op->valuestring);
		goto out;
	}
	e->op = CTL_JOP_SET;
	addr = cJSON_GetObjectItemCaseSensitive(o, "address");
	w = cJSON_GetObjectItemCaseSensitive(o, "weight");
	mc = cJSON_GetObjectItemCaseSensitive(o, "max_conns");
	st = cJSON_GetObjectItemCaseSensitive(o, "state");
	if (!cJSON_IsString(addr) || !cJSON_IsNumber(w) || !cJSON_IsNumber(mc) ||
	    !cJSON_IsString(st)) {
		snprintf(why, whylen, "set without address, weight, max_conns or state");
		goto out;
	}
	if (strlen(addr->valuestring) >= sizeof(e->address) || w->valuedouble < 0 ||
	    w->valuedouble > 1000 || mc->valuedouble < 0 || mc->valuedouble > 1000000) {
		snprintf(why, whylen, "address, weight or max_conns out of range");
		goto out;
	}
	snprintf(e->address, sizeof(e->address), "%s", addr->valuestring);
	e->weight = (uint32_t)w->valuedouble;
	e->max_conns = (uint32_t)mc->valuedouble;
	for (i = 0; i < 3; i++)
		if (!strcmp(st->valuestring, state_names[i]))
			break;
	if (i == 3) {
		snprintf(why, whylen, "unknown state '%.32s'", st->valuestring);
		goto out;
	}
	e->state = (enum admin_state)i;
	id = cJSON_GetObjectItemCaseSensitive(o, "identity");
	ttl = cJSON_GetObjectItemCaseSensitive(o, "ttl_s");
	exp = cJSON_GetObjectItemCaseSensitive(o, "expires");
	if (id && (!cJSON_IsString(id) || ctl_check_identity(id->valuestring, err, sizeof(err)) == -1)) {
		snprintf(why, whylen, "identity: %.150s", cJSON_IsString(id) ? err : "not a string");
		goto out;
	}
	if (id)
		snprintf(e->identity, sizeof(e->identity), "%s", id->valuestring);
	if (ttl && (!cJSON_IsNumber(ttl) || !cJSON_IsNumber(exp) || ttl->valuedouble < 1 ||
		    ttl->valuedouble > CTL_TTL_MAX || !(exp->valuedouble >= 0 && exp->valuedouble < 1e11))) {
		snprintf(why, whylen, "ttl_s or expires out of range");
		goto out;
	}
	if (ttl) {
		e->ttl_s = (uint32_t)ttl->valuedouble;
		e->expires = exp->valuedouble;
	}
	du = cJSON_GetObjectItemCaseSensitive(o, "drain_until");
	if (du && (!cJSON_IsNumber(du) || !(du->valuedouble >= 0 && du->valuedouble < 1e11))) {
		snprintf(why, whylen, "drain_until out of range");
		goto out;
	}
	if (du && e->state == ADMIN_DRAINING)
		e->drain_until = du->valuedouble;
	if (addr_parse(e->address, &e->addr, 0, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "address: %.150s", err);
		goto out;
	}
	/* a name that does not resolve now keeps its entry, unapplied (ctl_merge) */
	if (e->addr.is_name && ctl_jentry_resolve(e, err, sizeof(err)) == -1)
		log_warn("journal: backend %s/%s: %s", e->pool, e->name, err);
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

/* Reads a maintenance record ({"op": "maint", "kind", "name", "on", "retry_after_s",
 * "seq", ...}) into e. 0, or -1 with the reason. */
static int decode_maint(const cJSON *o, struct ctl_jentry *e, char *why, size_t whylen)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *on = cJSON_GetObjectItemCaseSensitive(o, "on");
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(o, "retry_after_s");
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
	const cJSON *tm = cJSON_GetObjectItemCaseSensitive(o, "time");
	const cJSON *gen = cJSON_GetObjectItemCaseSensitive(o, "gen");
	char err[256];

	if (!cJSON_IsString(kind) || !cJSON_IsString(name) || !cJSON_IsBool(on) ||
	    !cJSON_IsNumber(ra) || !cJSON_IsNumber(seq)) {
		snprintf(why, whylen, "maint without kind, name, on, retry_after_s or seq");
		return -1;
	}
	if (strcmp(kind->valuestring, "pool") && strcmp(kind->valuestring, "route")) {
		snprintf(why, whylen, "unknown maint kind '%.32s'", kind->valuestring);
		return -1;
	}
	if (config_check_name(name->valuestring, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "%.150s", err);
		return -1;
	}
	if (!(ra->valuedouble >= 0 && ra->valuedouble <= CTL_MAINT_RETRY_MAX) ||
	    !(seq->valuedouble >= 0 && seq->valuedouble <= 9007199254740992.0)) {
		snprintf(why, whylen, "retry_after_s or seq out of range");
		return -1;
	}
	e->op = CTL_JOP_MAINT;
	snprintf(e->pool, sizeof(e->pool), "%s", strcmp(kind->valuestring, "pool") ? CTL_MAINT_ROUTE : CTL_MAINT_POOL);
	snprintf(e->name, sizeof(e->name), "%s", name->valuestring);
	e->maint_on = cJSON_IsTrue(on);
	e->retry_after_s = (uint32_t)ra->valuedouble;
	e->seq = (uint64_t)seq->valuedouble;
	e->time = cJSON_IsNumber(tm) ? tm->valuedouble : 0;
	if (cJSON_IsNumber(gen) && gen->valuedouble >= 0 && gen->valuedouble <= 9007199254740992.0)
		e->gen = (uint64_t)gen->valuedouble;
	return 0;
}

static int reserve(struct ctl_journal *j, size_t n)
{
	return ARRAY_GROW(&j->entries, &j->cap, n, 16);
}

/* The entry replaces the one of its key where it stands, or is added at the end: the
 * order of first appearance is the order in which the merge appends new backends. */
static void apply_entry(struct ctl_journal *j, const struct ctl_jentry *e)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (!strcmp(j->entries[i].pool, e->pool) && !strcmp(j->entries[i].name, e->name)) {
			j->entries[i] = *e;
			return;
		}
	if (reserve(j, j->n + 1) == -1)
		return;
	j->entries[j->n++] = *e;
}

const struct ctl_jentry *ctl_journal_find(const struct ctl_journal *j, const char *pool,
					  const char *name)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		if (!strcmp(j->entries[i].pool, pool) && !strcmp(j->entries[i].name, name))
			return &j->entries[i];
	return NULL;
}

void ctl_journal_adopt(struct ctl_journal *j, struct ctl_jentry *entries, size_t n)
{
	free(j->entries);
	j->entries = entries;
	j->n = j->cap = n;
}

void ctl_journal_forget(struct ctl_journal *j, const char *pool, const char *name)
{
	const struct ctl_jentry *e = ctl_journal_find(j, pool, name);
	size_t i;

	if (!e)
		return;
	i = (size_t)(e - j->entries);
	memmove(&j->entries[i], &j->entries[i + 1], (j->n - i - 1) * sizeof(*j->entries));
	j->n--;
}

struct ctl_jentry *ctl_journal_entries_with(const struct ctl_journal *j, const struct ctl_jentry *e,
					    size_t *n)
{
	struct ctl_jentry *copy = malloc((j->n + 1) * sizeof(*copy));
	size_t i;

	if (!copy)
		return NULL;
	if (j->n)
		memcpy(copy, j->entries, j->n * sizeof(*copy));
	*n = j->n;
	for (i = 0; i < j->n; i++)
		if (!strcmp(copy[i].pool, e->pool) && !strcmp(copy[i].name, e->name)) {
			copy[i] = *e;
			return copy;
		}
	copy[(*n)++] = *e;
	return copy;
}

size_t ctl_journal_parse(struct ctl_journal *j, const char *buf, size_t len,
			 struct ctl_journal_replay *rep)
{
	size_t pos = 0, good_end = 0;
	int clean = 1;

	memset(rep, 0, sizeof(*rep));
	rep->bad_offset = -1;
	while (pos < len) {
		const char *reason = NULL;
		uint32_t plen = 0, crc = 0;
		struct ctl_jentry e;
		char why[192];

		if (len - pos < HEADER_LEN)
			reason = "record header cut short";
		else if (parse_hex8(buf + pos, &plen) == -1 || buf[pos + 8] != ' ' ||
			 parse_hex8(buf + pos + 9, &crc) == -1 || buf[pos + 17] != ' ')
			reason = "malformed record header";
		else if (plen == 0 || plen > CTL_RECORD_MAX)
			reason = "record length out of range";
		else if (len - pos - HEADER_LEN < (size_t)plen + 1)
			reason = "record cut short";
		else if (buf[pos + HEADER_LEN + plen] != '\n')
			reason = "record not terminated by a newline";
		else if (ctl_crc32(buf + pos + HEADER_LEN, plen) != crc)
			reason = "checksum mismatch";
		if (reason) {
			const char *nl;

			rep->bad++;
			if (rep->bad_offset < 0) {
				rep->bad_offset = (off_t)pos;
				snprintf(rep->bad_reason, sizeof(rep->bad_reason), "%s", reason);
			}
			clean = 0;
			/* payloads hold no newline: the next record, if any, starts after one */
			nl = memchr(buf + pos, '\n', len - pos);
			if (!nl)
				break;
			pos = (size_t)(nl - buf) + 1;
			continue;
		}
		if (decode_record(buf + pos + HEADER_LEN, plen, &e, why, sizeof(why)) == -1) {
			rep->skipped++;
			log_error("journal %s: record at offset %zu skipped: %s",
				  j->path ? j->path : "(memory)", pos, why);
		} else {
			apply_entry(j, &e);
			rep->records++;
			if (e.seq > j->seq)
				j->seq = e.seq;
			if (e.gen > j->gen)
				j->gen = e.gen;
		}
		pos += HEADER_LEN + plen + 1;
		if (clean)
			good_end = pos;
	}
	j->records = rep->records + rep->skipped;
	return good_end;
}

int ctl_journal_open(struct ctl_journal *j, const char *path, int writable,
		     struct ctl_journal_replay *rep, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int rfd;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->path = strdup(path);
	if (!j->path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (writable)
		j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	rfd = j->fd != -1 ? j->fd : open(path, O_RDONLY | O_CLOEXEC);
	if (rfd == -1) {
		if (errno == ENOENT) {
			memset(rep, 0, sizeof(*rep));
			rep->bad_offset = -1;
			return 0;  /* nothing recorded and nowhere to record: appends fail */
		}
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(rfd, &st) == -1) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (st.st_size > 0) {
		buf = malloc((size_t)st.st_size);
		if (!buf) {
			snprintf(err, errlen, "out of memory reading %s", path);
			goto fail;
		}
		while (got < (size_t)st.st_size) {
			ssize_t r = pread(rfd, buf + got, (size_t)st.st_size - got, (off_t)got);

			if (r == -1 && errno == EINTR)
				continue;
			if (r == -1) {
				snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
				goto fail;
			}
			if (r == 0)
				break;
			got += (size_t)r;
		}
	}
	ctl_journal_parse(j, buf, got, rep);
	free(buf);
	buf = NULL;
	j->size = (off_t)got;
	if (rfd != j->fd)
		close(rfd);
	if (rep->bad) {
		log_error("journal %s: %zu bad record(s), the first at offset %lld (%s): not applied; "
			  "%zu good record(s) applied", path, rep->bad, (long long)rep->bad_offset,
			  rep->bad_reason, rep->records);
	}
	/* Rewrite after a bad record (so appends never follow garbage) and when the file
	 * holds far more records than entries. */
	if (j->fd != -1 && (rep->bad || j->records > 4 * j->n + 64)) {
		char why[256];

		if (ctl_journal_replace(j, j->entries, j->n, why, sizeof(why)) == -1)
			log_error("journal %s: cannot rewrite: %s", path, why);
	}
	return 0;
fail:
	free(buf);
	if (rfd != j->fd)
		close(rfd);
	ctl_journal_close(j);
	return -1;
}

void ctl_journal_close(struct ctl_journal *j)
{
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
	free(j->path);
	free(j->entries);
	j->path = NULL;
	j->entries = NULL;
	j->n = j->cap = 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int ctl_journal_append(struct ctl_journal *j, struct ctl_jentry *e, struct ctl_journal_undo *undo,
		       char *err, size_t errlen)
{
	char rec[HEADER_LEN + CTL_RECORD_MAX + 1];
	const struct ctl_jentry *old;
	size_t len;

	if (j->fd == -1) {
		snprintf(err, errlen, "the journal %s cannot be written", j->path ? j->path : "");
		return -1;
	}
	if (reserve(j, j->n + 1) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->seq = j->seq + 1;
	e->time = clock_wall_s();
	e->gen = j->gen;
	len = ctl_journal_encode(e, rec, sizeof(rec));
	if (len == 0) {
		snprintf(err, errlen, "journal record too large");
		return -1;
	}
	if (write_all(j->fd, rec, len) == -1 || fdatasync(j->fd) == -1) {
		snprintf(err, errlen, "cannot write the journal %s: %s", j->path, strerror(errno));
		/* a partial record must not stay in front of the next one */
		if (ftruncate(j->fd, j->size) == -1)
			log_error("journal %s: cannot cut off a failed write: %s", j->path,
				  strerror(errno));
		return -1;
	}
	if (undo) {
		old = ctl_journal_find(j, e->pool, e->name);
		undo->size = j->size;
		undo->records = j->records;
		undo->had = old != NULL;
		undo->index = old ? (size_t)(old - j->entries) : j->n;
		if (old)
			undo->old = *old;
	}
	j->seq = e->seq;
	j->size += (off_t)len;
	j->records++;
	apply_entry(j, e);
	if (j->records > 4 * j->n + 64 && ctl_journal_replace(j, j->entries, j->n, err, errlen) == 0 &&
	    undo)
		undo->size = -1;  /* compacted: undo rewrites instead of cutting */
	return 0;
}

void ctl_journal_revert(struct ctl_journal *j, const struct ctl_journal_undo *undo)
{
	char err[256];

	if (undo->had) {
		j->entries[undo->index] = undo->old;
	} else if (undo->index < j->n) {
		memmove(&j->entries[undo->index], &j->entries[undo->index + 1],
			(j->n - undo->index - 1) * sizeof(*j->entries));
		j->n--;
	}
	if (undo->size >= 0 && j->fd != -1 && ftruncate(j->fd, undo->size) == 0 &&
	    fdatasync(j->fd) == 0) {
		j->size = undo->size;
		j->records = undo->records;
		return;
	}
	if (ctl_journal_replace(j, j->entries, j->n, err, sizeof(err)) == -1)
		log_error("journal %s: cannot take back a change: %s", j->path, err);
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd != -1) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

int ctl_journal_replace(struct ctl_journal *j, const struct ctl_jentry *entries, size_t n,
			char *err, size_t errlen)
{
	char rec[HEADER_LEN + CTL_RECORD_MAX + 1], *tmp = NULL;
	struct ctl_jentry *copy = NULL;
	uint64_t seq = j->seq;
	double now = clock_wall_s();
	off_t size = 0;
	size_t i;
	int fd = -1, nfd;

	if (!j->path) {
		snprintf(err, errlen, "no journal path");
		return -1;
	}
	if (asprintf(&tmp, "%s.tmp", j->path) == -1) {
		tmp = NULL;
		goto nomem;
	}
	if (n && !(copy = malloc(n * sizeof(*copy))))
		goto nomem;
	if (n)
		memcpy(copy, entries, n * sizeof(*copy));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		goto ioerr;
	for (i = 0; i < n; i++) {
		size_t len;

		/* entries made for a rollback are new records */
		if (copy[i].seq == 0) {
			copy[i].seq = ++seq;
			copy[i].time = now;
		}
		copy[i].gen = j->gen;
		len = ctl_journal_encode(&copy[i], rec, sizeof(rec));

		if (len == 0 || write_all(fd, rec, len) == -1)
			goto ioerr;
		size += (off_t)len;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto ioerr;
	}
	fd = -1;
	if (rename(tmp, j->path) == -1)
		goto ioerr;
	fsync_dir_of(j->path);
	nfd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (nfd == -1)
		log_error("journal %s: reopened for appending failed: %s", j->path, strerror(errno));
	if (j->fd != -1)
		close(j->fd);
	j->fd = nfd;
	free(j->entries);
	j->entries = copy;
	j->n = j->cap = n;
	j->size = size;
	j->records = n;
	j->seq = seq;
	free(tmp);
	return 0;
ioerr:
	snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(copy);
	return -1;
nomem:
	snprintf(err, errlen, "out of memory");
	free(tmp);
	free(copy);
	return -1;
}
