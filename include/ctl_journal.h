/* ctl_journal.h: the runtime journal (what the control API last said about each backend,
 * kept in state_dir, fsync'd before a change is acknowledged) and its merge into configs. */
#ifndef FULCRUM_CTL_JOURNAL_H
#define FULCRUM_CTL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "config-t.h"

#define CTL_NAME_MAX 64              /* names are [A-Za-z0-9._-]{1,63} */
#define CTL_RECORD_MAX 4096          /* a record's payload is one small JSON object */
#define CTL_IDENTITY_MAX 256         /* a backend's identity: 1..255 visible ASCII characters */
#define CTL_TTL_MAX 86400            /* longest lease of a registration, seconds */

enum ctl_jop {
	CTL_JOP_SET = 1,             /* the backend exists with these settings */
	CTL_JOP_DELETE,              /* the backend does not exist, whatever the file says */
	CTL_JOP_MAINT                /* a pool or route is in maintenance, or not (POST /v1/maintenance) */
};

/* The pool field of a maintenance entry: its kind, which no pool name can be, so that
 * (pool, name) stays the key of every entry and a maintenance entry never meets a pool. */
#define CTL_MAINT_POOL "@maint:pool"
#define CTL_MAINT_ROUTE "@maint:route"
#define CTL_MAINT_RETRY_MAX 86400    /* longest Retry-After, seconds */

/* The API's last word on one backend of one pool, or on the maintenance of a pool or
 * route (op CTL_JOP_MAINT: pool is CTL_MAINT_POOL or CTL_MAINT_ROUTE, name the pool's or
 * route's; only maint_on and retry_after_s mean something). */
struct ctl_jentry {
	char pool[CTL_NAME_MAX];
	char name[CTL_NAME_MAX];
	enum ctl_jop op;
	char address[ADDR_TEXT_MAX]; /* as the API received it; CTL_JOP_SET only */
	struct addr addr;            /* address resolved when written or replayed; len 0 = unresolved */
	uint32_t weight;
	uint32_t max_conns;
	enum admin_state state;
	char identity[CTL_IDENTITY_MAX]; /* what its health answer must carry; "" = the base's */
	uint32_t ttl_s;              /* lease length; 0 = no lease (lives until removed) */
	double expires;              /* wall clock when the lease ends unless renewed; 0 = none */
	double drain_until;          /* draining by a drain call: its deadline, wall clock (every
	                              * replica cuts then); 0 = none */
	int maint_on;                /* CTL_JOP_MAINT: in maintenance */
	uint32_t retry_after_s;      /* CTL_JOP_MAINT: its Retry-After (0..CTL_MAINT_RETRY_MAX) */
	char file_fp[17];            /* the file's definition of this backend when the entry was
	                              * written (ctl_backend_fingerprint); "" = it had none */
	double time;                 /* wall clock when it was written */
	uint64_t seq;                /* record number, increasing */
	uint64_t gen;                /* highest generation id issued when it was written */
};

/* What ctl_journal_open found in the file. */
struct ctl_journal_replay {
	size_t records;              /* good records applied */
	size_t skipped;              /* checksummed records with content we refuse (logged) */
	size_t bad;                  /* records cut short or failing their checksum */
	off_t bad_offset;            /* where the first bad record starts, -1 when none */
	char bad_reason[128];
};

/* The journal file and the entries it holds, one per (pool, name), in the order they
 * first appeared. The file is a sequence of records, each one line:
 *     "%08x %08x " length crc32 of the payload, the JSON payload, "\n"
 * A record is applied only when its length, checksum, newline and JSON are all good. */
struct ctl_journal {
	int fd;                      /* O_APPEND; -1 when the journal cannot be written */
	char *path;
	off_t size;                  /* bytes of good records in the file */
	uint64_t seq;                /* last sequence number written or read */
	uint64_t gen;                /* highest generation id recorded: ids go on after a restart
	                              * even when the last generations were not kept */
	size_t records;              /* records in the file (compaction when far above n) */
	struct ctl_jentry *entries;
	size_t n, cap;
};

/* Previous state of one key, to undo an append whose generation could not be built. */
struct ctl_journal_undo {
	off_t size;                  /* file size before the append */
	size_t records;
	int had;                     /* an entry for the key existed */
	struct ctl_jentry old;
	size_t index;                /* its position */
};

/* Opens (creating it when writable) and replays the journal at path. Records cut short
 * or failing their checksum are counted in rep and never applied; when writable the
 * file is then rewritten from the good entries so that later appends follow a clean
 * record. fd stays -1 when not writable or when the file cannot be opened for writing:
 * appends then fail. Returns 0, or -1 with err when the file exists but cannot be read. */
int ctl_journal_open(struct ctl_journal *j, const char *path, int writable,
		     struct ctl_journal_replay *rep, char *err, size_t errlen);
void ctl_journal_close(struct ctl_journal *j);

/* Parses a whole journal image (the file's bytes) into j's entries without touching any
 * file; the replay rules of ctl_journal_open. Returns the length of the good prefix. */
size_t ctl_journal_parse(struct ctl_journal *j, const char *buf, size_t len,
			 struct ctl_journal_replay *rep);

/* Writes one record for e (seq and time are set here), fsyncs, and only then updates
 * the entries. On failure nothing changed (a partial write is cut off again) and err
 * says why. undo (may be NULL) receives what ctl_journal_revert needs. 0 or -1. */
int ctl_journal_append(struct ctl_journal *j, struct ctl_jentry *e, struct ctl_journal_undo *undo,
		       char *err, size_t errlen);
/* Takes back the append that filled undo (the file is cut back and fsync'd). */
void ctl_journal_revert(struct ctl_journal *j, const struct ctl_journal_undo *undo);

/* Replaces the whole journal by these entries: a new file written, fsync'd and renamed
 * over the old one (rollback, compaction). On failure nothing changed. 0 or -1. */
int ctl_journal_replace(struct ctl_journal *j, const struct ctl_jentry *entries, size_t n,
			char *err, size_t errlen);

/* Takes entries (malloc'd, n of them) as the journal's entries in memory only, for when
 * the file cannot be rewritten. */
void ctl_journal_adopt(struct ctl_journal *j, struct ctl_jentry *entries, size_t n);

/* Drops the entry for (pool, name) from memory only: the file keeps its records until
 * the next rewrite leaves it out. For a delete of a backend that no config the journal
 * is laid over has, whose entry would change nothing and only pile up. */
void ctl_journal_forget(struct ctl_journal *j, const char *pool, const char *name);

/* The entry for (pool, name), or NULL. */
const struct ctl_jentry *ctl_journal_find(const struct ctl_journal *j, const char *pool,
					  const char *name);

/* Encodes one record (header + JSON + newline) into buf; returns its length, or 0 when it
 * does not fit. */
size_t ctl_journal_encode(const struct ctl_jentry *e, char *buf, size_t len);
/* Reads one record alone (a cluster key's value: length, CRC-32, JSON) into e with the
 * replay's own parser: the same checks as a record replayed from the local file. 0, or
 * -1 when it is not exactly one good record. */
int ctl_journal_decode(const char *rec, size_t len, struct ctl_jentry *e);

/* CRC-32 (IEEE 802.3, as zlib) of buf. */
uint32_t ctl_crc32(const void *buf, size_t len);

/* ---- The merge rule (control/merge.c) ----
 * The applied configuration is the file's, with the journal laid over its pools: for
 * each journal entry whose pool the file has, a SET replaces the file's backend of that
 * name (or adds it after the file's backends, in journal order) and a DELETE removes
 * it. Entries for pools the file does not have are kept but not applied. Everything
 * that is not a backend (listeners, pools' settings, ...) comes from the file alone.
 * Per backend the last word wins: an entry remembers the file's definition of its
 * backend when it was written, and once the file defines that backend differently (an
 * edit seen at reload or start) the file's is newer and the entry is dropped. */

/* A short digest of how cfg defines pool/name (address, weight, max_conns, state) into
 * out; "" when cfg has no such backend. */
void ctl_backend_fingerprint(const struct config *cfg, const char *pool, const char *name,
			     char out[17]);
/* The pools of config cfg (their backends, health, balancing and limits: what the
 * cluster store's changes apply to) as a 16-hex-digit digest (SHA-256 of the "pools."
 * lines of its flat rendering, first 8 bytes). Two replicas whose digests differ send
 * the same request to different places; what is each replica's own (ports, state_dir,
 * replica_id, logs) does not count. "" when it cannot be rendered. */
void ctl_pools_fingerprint(const struct config *cfg, char out[17]);

/* The entries of j that the file has not overtaken (see above); *out malloc'd. Returns
 * the count, or -1 on ENOMEM; *dropped (may be NULL) counts the others. */
ssize_t ctl_journal_current(const struct ctl_journal *j, const struct config *file,
			    struct ctl_jentry **out, size_t *dropped);

/* Returns a new config: base with entries[0..n) applied; NULL on ENOMEM. An entry whose
 * address did not resolve is not applied (base's backend of that name stays) and is
 * counted in *unresolved (may be NULL); one naming a pool base lacks in *orphans. */
struct config *ctl_merge(const struct config *base, const struct ctl_jentry *entries, size_t n,
			 size_t *unresolved, size_t *orphans);

/* A malloc'd copy of j's entries with e applied as ctl_journal_append would (replacing
 * the entry of its key, or appended). Sets *n. NULL on ENOMEM. */
struct ctl_jentry *ctl_journal_entries_with(const struct ctl_journal *j, const struct ctl_jentry *e,
					    size_t *n);

/* The entries that make ctl_merge(file, result) have exactly the backends of target
 * in every pool that both have. Pools that target lacks keep the entries of current
 * (may be NULL). *out is malloc'd; returns its count, or -1 on ENOMEM. */
ssize_t ctl_journal_entries_for(const struct config *file, const struct config *target,
				const struct ctl_journal *current, struct ctl_jentry **out);

/* Edits of a config copy (from config_dup). Set replaces the backend named b->name in
 * pool (or appends it), taking over b's fields (b is zeroed). Remove drops it. 0, or
 * -1 (ENOMEM, or no such pool / backend for remove). */
int ctl_config_set_backend(struct config *cfg, const char *pool, struct cfg_backend *b);
int ctl_config_remove_backend(struct config *cfg, const char *pool, const char *name);
struct cfg_pool *ctl_config_pool(struct config *cfg, const char *pool);
struct cfg_backend *ctl_config_backend(struct config *cfg, const char *pool, const char *name);

/* Lays the maintenance entry e over cfg: the pool it names, or every listener's route of
 * that name. Returns 1, or 0 when cfg has none (the entry then waits: a reload that
 * brings the name back brings its maintenance back). */
int ctl_config_set_maint(struct config *cfg, const struct ctl_jentry *e);

/* A backend identity (what the identity_header of its health answer must say): 1..255
 * visible ASCII characters, no spaces. 0, or -1 with err. */
int ctl_check_identity(const char *s, char *err, size_t errlen);

/* Parses and resolves e->address into e->addr. 0, or -1 with the reason in err. */
int ctl_jentry_resolve(struct ctl_jentry *e, char *err, size_t errlen);

#endif
