/* state.c: the control plane's state files (state_dir, its lock, the journal and the kept
 * generations) and the one path by which the plane changes what runs (journal first,
 * then a generation built, stored and published): API changes, the store's, discovery's,
 * reload, rollback. Its start and stop among the other parts are control/lifecycle.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "ctl.h"
#include "ctl_api.h"
#include "ctl_notify.h"
#include "discovery.h"
#include "health.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

static int publish(struct config *cfg, const char *source, const char *kind, const char *from,
		   uint64_t *gen, char *err, size_t errlen);
static void save_generation(const struct generation *g, const struct config *cfg,
			    const char *source);
static int open_state_dir(const char *dir);
static int open_journal_and_store(const struct config *file);
static int journal_unwritable(char *err, size_t errlen);
static int change_refused(char *err, size_t errlen);
static void on_lock_retry(struct ev_loop *loop, ev_timer *t, int revents);
static int mkdir_p(const char *path);
static uint64_t current_id(void);
static ssize_t current_entries(const struct config *file, struct ctl_jentry **out);
static void settle_journal(struct ctl_jentry *entries, size_t n, int changed);
static int reload_file(const char *source, uint64_t *gen, struct config_errors *errs,
		       struct config_errors *warnings, char *err, size_t errlen);
static int rollback_to(uint64_t id, uint64_t *gen, struct config_errors *errs, char *err,
		       size_t errlen);
static void refusal(const char *what, int rc, const struct config_errors *errs,
		    const char *err, char *out, size_t len);

static uint64_t current_id(void)
{
	struct generation *g = proc_current_generation();
	uint64_t id = g ? g->id : 0;

	generation_unref(g);
	return id;
}

/* The journal's entries that still hold against file (the file's own edits of a
 * backend overtake what the API said of it earlier). Logs what is dropped. */
static ssize_t current_entries(const struct config *file, struct ctl_jentry **out)
{
	size_t dropped = 0, i;
	ssize_t n = ctl_journal_current(&ctl_plane.journal, file, out, &dropped);

	for (i = 0; n >= 0 && dropped && i < ctl_plane.journal.n; i++) {
		const struct ctl_jentry *e = &ctl_plane.journal.entries[i];
		ssize_t k;
		int kept = 0;

		for (k = 0; k < n; k++)
			kept |= !strcmp((*out)[k].pool, e->pool) && !strcmp((*out)[k].name, e->name);
		if (!kept)
			log_info("journal: %s/%s was changed in the file since the API set it; "
				 "the file's definition applies now", e->pool, e->name);
	}
	return n;
}

/* Makes entries (taken over) the journal, on disk when possible. changed: some entry
 * differs even if the count does not. */
static void settle_journal(struct ctl_jentry *entries, size_t n, int changed)
{
	char err[512];

	if (n == ctl_plane.journal.n && !changed) {
		free(entries);
		return;
	}
	if (ctl_plane.journal.fd != -1 &&
	    ctl_journal_replace(&ctl_plane.journal, entries, n, err, sizeof(err)) == 0) {
		free(entries);
		return;
	}
	/* a restart would drop the same entries again: memory alone is consistent */
	ctl_journal_adopt(&ctl_plane.journal, entries, n);
}

static int mkdir_p(const char *path)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Creates state_dir and takes its lock: two processes appending to one journal would
 * interleave records. Returns 0 (ours), 1 when the directory cannot be used (fulcrum
 * then runs without persistence, and the API refuses changes), 2 when another process
 * holds it (a restart overlapping the old process: we read its journal, write nothing,
 * and take over when it is gone). */
static int open_state_dir(const char *dir)
{
	char path[4200];
	int fd;

	if (mkdir_p(dir) == -1) {
		log_error("state_dir %s cannot be created: %s; config generations and API changes "
			  "will not be kept", dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_error("state_dir %s is not writable (%s); config generations and API changes "
			  "will not be kept", dir, strerror(errno));
		return 1;
	}
	ctl_plane.lock_fd = fd;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		log_warn("state_dir %s is in use by another fulcrum process (%s is locked): its "
			 "journal applies, but this process writes nothing and the API refuses "
			 "changes until the other one exits", dir, path);
		ctl_plane.locked_out = 1;
		return 2;
	}
	return 0;
}

/* Replays the journal (read only while locked out) and finds where generation ids go
 * on. 0, or -1 when the journal exists but cannot be read. */
static int open_journal_and_store(const struct config *file)
{
	struct ctl_journal_replay rep;
	char err[512], path[4200];
	int writable = !ctl_plane.locked_out;

	snprintf(path, sizeof(path), "%s/journal", ctl_plane.state_dir);
	if (ctl_journal_open(&ctl_plane.journal, path, writable, &rep, err, sizeof(err)) == -1) {
		/* unreadable, not merely damaged: starting without it would silently bring back
		 * backends the API removed */
		log_error("%s", err);
		return -1;
	}
	if (rep.records || rep.bad)
		log_info("journal %s: %zu record(s) replayed into %zu backend entries%s", path,
			 rep.records, ctl_plane.journal.n,
			 rep.bad ? " (bad records were not applied; see above)" : "");
	if (ctl_store_open(&ctl_plane.store, ctl_plane.state_dir, file->control.generations_keep,
			   err, sizeof(err)) == -1)
		log_error("%s; config generations will not be kept", err);
	else
		ctl_plane.store.keep_days = file->control.generations_keep_days;
	if (ctl_plane.store.max_id + 1 > ctl_plane.next_id)
		ctl_plane.next_id = ctl_plane.store.max_id + 1;
	/* runtime generations are not kept: the journal remembers how far ids went */
	if (ctl_plane.journal.gen + 1 > ctl_plane.next_id)
		ctl_plane.next_id = ctl_plane.journal.gen + 1;
	/* the owner numbers and keeps generations; we only learn where it is */
	if (!writable)
		ctl_store_close(&ctl_plane.store);
	return 0;
}

static int journal_unwritable(char *err, size_t errlen)
{
	if (ctl_plane.locked_out)
		snprintf(err, errlen, "state_dir %s is in use by another fulcrum process; changes are "
			 "refused until it exits", ctl_plane.state_dir);
	else
		snprintf(err, errlen, "the journal in state_dir %s cannot be written, so a change "
			 "could not survive a restart", ctl_plane.state_dir ? ctl_plane.state_dir : "");
	return 503;
}

/* 0 when a runtime change may be journaled now, else its status (503) with err set. */
static int change_refused(char *err, size_t errlen)
{
	if (ctl_plane.stopping) {
		snprintf(err, errlen, "fulcrum is stopping");
		return 503;
	}
	if (ctl_plane.journal.fd == -1)
		return journal_unwritable(err, errlen);
	return 0;
}

/* Once a second while locked out: when the other process is gone, state_dir is ours.
 * Its journal may have changed since we read it, so it is read again and applied. */
static void on_lock_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctl_jentry *cur = NULL;
	struct config *cfg;
	char err[512];
	uint64_t gen;
	ssize_t n;

	if (flock(ctl_plane.lock_fd, LOCK_EX | LOCK_NB) == -1)
		return;
	ev_timer_stop(loop, t);
	ctl_plane.locked_out = 0;
	ctl_journal_close(&ctl_plane.journal);
	if (open_journal_and_store(ctl_plane.file) == -1) {
		log_error("state_dir %s: taken over, but its journal cannot be read; API changes "
			  "stay refused", ctl_plane.state_dir);
		return;
	}
	n = current_entries(ctl_plane.file, &cur);
	if (n < 0)
		return;
	settle_journal(cur, (size_t)n, 0);
	cfg = ctl_merge(ctl_base(), ctl_plane.journal.entries, ctl_plane.journal.n, NULL, NULL);
	if (!cfg || publish(cfg, "state_dir taken over", "journal", ctl_plane.state_dir, &gen, err,
			    sizeof(err)) == -1)
		log_error("state_dir %s: taken over, but its journal could not be applied: %s",
			  ctl_plane.state_dir, cfg ? err : "out of memory");
	else
		log_info("state_dir %s is ours now: journal read again (%zu entries)",
			 ctl_plane.state_dir, ctl_plane.journal.n);
}

struct config *ctl_state_open(const struct config *file)
{
	struct config *merged;
	size_t unresolved = 0, orphans = 0;
	int st;

	ctl_plane.journal.fd = -1;
	ctl_plane.state_dir = strdup(file->state_dir);
	if (!ctl_plane.state_dir)
		return NULL;
	st = open_state_dir(file->state_dir);
	if (st != 1 && open_journal_and_store(file) == -1)
		return NULL;
	{
		struct ctl_jentry *cur = NULL;
		ssize_t n = current_entries(file, &cur);
		size_t expired = 0;

		if (n < 0) {
			log_error("out of memory reading the journal");
			return NULL;
		}
		/* leases that ran out while fulcrum was down never come back; in cluster
		 * mode the store's leases decide (its list brings what is left) */
		if (!file->cluster)
			n = (ssize_t)ctl_lease_expire_entries(cur, (size_t)n, file, clock_wall_s(),
							      &expired);
		settle_journal(cur, (size_t)n, expired > 0);
	}
	merged = ctl_merge(file, ctl_plane.journal.entries, ctl_plane.journal.n, &unresolved,
			   &orphans);
	if (!merged) {
		log_error("out of memory applying the journal");
		return NULL;
	}
	if (unresolved)
		log_warn("journal: %zu backend(s) whose address does not resolve now are left out",
			 unresolved);
	if (orphans)
		log_warn("journal: %zu entr%s name pools the config does not have; kept, not applied",
			 orphans, orphans == 1 ? "y" : "ies");
	return merged;
}

uint64_t ctl_next_generation_id(void)
{
	return ctl_plane.next_id;
}

void ctl_state_start(struct ev_loop *loop, struct generation *g)
{
	char src[CTL_SOURCE_MAX];

	ctl_plane.loop = loop;
	ctl_plane.next_id = g->id + 1;
	if (ctl_plane.locked_out) {
		ev_timer_init(&ctl_plane.lock_retry, on_lock_retry, 1.0, 1.0);
		ev_timer_start(loop, &ctl_plane.lock_retry);
	}
	snprintf(src, sizeof(src), "start: %s", ctl_plane.config_path ? ctl_plane.config_path
								    : "(embedded default)");
	save_generation(g, g->cfg, src);
}

void ctl_set_stopping(void)
{
	ctl_plane.stopping = 1;
	ctl_notify_stopping();
}

void ctl_state_close(void)
{
	if (ctl_plane.loop)
		ev_timer_stop(ctl_plane.loop, &ctl_plane.lock_retry);
	ctl_journal_close(&ctl_plane.journal);
	ctl_store_close(&ctl_plane.store);
	config_free(ctl_plane.file);
	config_free(ctl_plane.rollback_base);
	ctl_plane.file = ctl_plane.rollback_base = NULL;
	free(ctl_plane.state_dir);
	ctl_plane.state_dir = NULL;
	if (ctl_plane.lock_fd != -1)
		close(ctl_plane.lock_fd);
	ctl_plane.lock_fd = -1;
}

/* Keeps cfg (the operator's config of generation g: discovered backends are not in it)
 * in the store for rollback; it is what the running generation is built on from now. */
static void save_generation(const struct generation *g, const struct config *cfg,
			    const char *source)
{
	struct ctl_gen_meta meta;
	char err[512];

	snprintf(ctl_plane.source, sizeof(ctl_plane.source), "%s", source);
	if (!ctl_plane.store.dir)
		return;
	memset(&meta, 0, sizeof(meta));
	meta.id = g->id;
	meta.time = g->applied_at;
	snprintf(meta.source, sizeof(meta.source), "%s", source);
	if (ctl_store_save(&ctl_plane.store, cfg, &meta, err, sizeof(err)) == -1)
		log_error("generation %" PRIu64 " not kept for rollback: %s", g->id, err);
	else
		ctl_plane.kept_id = g->id;
}

/* Builds a generation from cfg (taken over), publishes it and keeps it. The journal
 * change behind it is already written. source is kept with the generation; the log says
 * "<kind>: generation N applied from <from>" (kind "reload" as before the control API,
 * so scripts that wait for that line keep working). A reload or rollback opens the
 * access log again even when its setting did not change, as a reload always did; a
 * backend change need not. Discovered backends are laid over a copy of cfg for the
 * generation; cfg itself (operator intent) is what the store keeps. Only operator
 * configs are kept (kind "reload", "rollback"; the start's in ctl_state_start): membership
 * changes (API, leases, discovery) live in the journal or the discovery layer and are
 * published as runtime generations that are not kept, so hook churn never pushes a
 * rollback target out. 0 with *gen, or -1 with err (cfg freed). */
static int publish(struct config *cfg, const char *source, const char *kind, const char *from,
		   uint64_t *gen, char *err, size_t errlen)
{
	struct generation *cur = proc_current_generation(), *g;
	int by_discovery = !strcmp(kind, "discovery");
	int reopen_log = strcmp(kind, "api") != 0 && strcmp(kind, "lease") != 0 &&
			 strcmp(kind, "cluster") != 0 && !by_discovery;
	int keep = !strcmp(kind, "reload") || !strcmp(kind, "rollback");
	struct config *built = cfg;

	if (discovery_any()) {
		built = config_dup(cfg);
		if (!built || discovery_layer(built) == -1) {
			snprintf(err, errlen, "out of memory");
			config_free(built);
			config_free(cfg);
			generation_unref(cur);
			return -1;
		}
	}
	g = generation_build(built, cur, proc.nworkers, ctl_plane.next_id, err, errlen);
	if (!g) {
		if (built != cfg)
			config_free(built);
		config_free(cfg);
		generation_unref(cur);
		return -1;
	}
	if ((reopen_log || !cur || strcmp(cur->cfg->log.access, cfg->log.access)) &&
	    access_log_open(cfg->log.access) == -1)
		log_warn("cannot open access log %s: %s (keeping the old one)", cfg->log.access,
			 strerror(errno));
	ctl_plane.next_id++;
	log_set_level(cfg->log.level);
	log_set_generation(g->id);
	if (cfg->control.generations_keep)
		ctl_plane.store.keep = cfg->control.generations_keep;
	ctl_plane.store.keep_days = cfg->control.generations_keep_days;
	/* stored before it is published: the list never misses the running operator config */
	if (keep)
		save_generation(g, cfg, source);
	else
		snprintf(ctl_plane.source, sizeof(ctl_plane.source), "%s", source);
	*gen = g->id;
	health_sync(g);  /* new backends wait for their first check before workers see them */
	proc_publish(g);
	ctl_notify_generation();
	log_info("%s: generation %" PRIu64 " applied from %s (%zu listeners, %zu pools)", kind, *gen,
		 from, cfg->nlisteners, cfg->npools);
	/* a reload or rollback may start, restart or stop watchers */
	if (!by_discovery)
		discovery_sync(cfg);
	if (built != cfg)
		config_free(cfg);
	generation_unref(cur);
	return 0;
}

int ctl_apply_discovered(const char *what)
{
	struct config *cfg;
	char err[512], src[CTL_SOURCE_MAX];
	uint64_t gen;

	if (ctl_plane.stopping || !ctl_plane.loop)
		return -1;
	cfg = ctl_merge(ctl_base(), ctl_plane.journal.entries, ctl_plane.journal.n, NULL, NULL);
	if (!cfg) {
		log_error("discovery: out of memory building the next generation");
		return -1;
	}
	snprintf(src, sizeof(src), "discovery: %s", what);
	if (publish(cfg, src, "discovery", what, &gen, err, sizeof(err)) == -1) {
		log_error("discovery: the next generation could not be built: %s", err);
		return -1;
	}
	return 0;
}

int ctl_change_backend(struct ctl_jentry *e, const char *source, uint64_t *gen, char *err,
		       size_t errlen)
{
	struct ctl_journal_undo undo;
	struct ctl_jentry *entries;
	struct config *cfg;
	size_t n;
	int rc;

	/* remembered so that a later edit of this backend in the file can overtake it */
	ctl_backend_fingerprint(ctl_plane.file, e->pool, e->name, e->file_fp);

	if ((rc = change_refused(err, errlen)))
		return rc;
	/* cluster mode: the store decides, and the change comes back through the watch */
	if (ctl_cluster_on()) {
		ctl_cluster_write(NULL, e, -1, NULL, NULL, 0);
		*gen = current_id();
		return 0;
	}
	/* the config it will be, before anything is written */
	entries = ctl_journal_entries_with(&ctl_plane.journal, e, &n);
	cfg = entries ? ctl_merge(ctl_base(), entries, n, NULL, NULL) : NULL;
	free(entries);
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return 500;
	}
	/* the record carries the id about to be used, so ids go on after a restart */
	ctl_plane.journal.gen = ctl_plane.next_id;
	if (ctl_journal_append(&ctl_plane.journal, e, &undo, err, errlen) == -1) {
		config_free(cfg);
		return 503;
	}
	if (publish(cfg, source, strncmp(source, "lease", 5) ? "api" : "lease",
		    source + (strncmp(source, "api: ", 5) ? 0 : 5), gen, err, errlen) == -1) {
		ctl_journal_revert(&ctl_plane.journal, &undo);
		return 500;
	}
	/* Kubernetes names every pod anew: tombstones of API-only backends would pile up.
	 * Neither config the journal is laid over has it, so forgetting it changes nothing. */
	if (e->op == CTL_JOP_DELETE && !ctl_config_backend(ctl_plane.file, e->pool, e->name) &&
	    !(ctl_plane.rollback_base &&
	      ctl_config_backend(ctl_plane.rollback_base, e->pool, e->name)))
		ctl_journal_forget(&ctl_plane.journal, e->pool, e->name);
	return 0;
}

/* Generation ids follow the store's revisions in cluster mode, so that "generation N"
 * is the same state on every replica; ids never go back (a local reload may have gone
 * past a revision: then the id is the next one, and logged). */
static void id_for_revision(int64_t rev)
{
	if (rev > 0 && (uint64_t)rev >= ctl_plane.next_id)
		ctl_plane.next_id = (uint64_t)rev;
	else
		log_warn("cluster: revision %" PRId64 " applied as generation %" PRIu64
			 " (generation ids went past it)", rev, ctl_plane.next_id);
	ctl_plane.journal.gen = ctl_plane.next_id;
}

/* Builds and publishes the journal as it is now, from the store's revision rev. */
static int publish_remote(int64_t rev, const char *what)
{
	struct config *cfg;
	char err[512], src[CTL_SOURCE_MAX];
	uint64_t gen;

	cfg = ctl_merge(ctl_base(), ctl_plane.journal.entries, ctl_plane.journal.n, NULL, NULL);
	if (!cfg) {
		log_error("cluster: out of memory applying revision %" PRId64, rev);
		return -1;
	}
	id_for_revision(rev);
	snprintf(src, sizeof(src), "cluster: revision %" PRId64 " (%s)", rev, what);
	if (publish(cfg, src, "cluster", what, &gen, err, sizeof(err)) == -1) {
		log_error("cluster: revision %" PRId64 " could not be applied: %s", rev, err);
		return -1;
	}
	return 0;
}

int ctl_apply_remote(struct ctl_jentry *e, int64_t rev)
{
	char err[512], what[2 * CTL_NAME_MAX + 8];
	struct ctl_jentry *all;
	size_t n;

	snprintf(what, sizeof(what), "%s/%s", e->pool, e->name);
	/* the local copy first, so a restart without the store comes up with it; a journal
	 * that cannot be written (locked out) still follows the store in memory */
	if (ctl_plane.journal.fd == -1 ||
	    ctl_journal_append(&ctl_plane.journal, e, NULL, err, sizeof(err)) == -1) {
		all = ctl_journal_entries_with(&ctl_plane.journal, e, &n);
		if (!all) {
			log_error("cluster: out of memory applying revision %" PRId64, rev);
			return -1;
		}
		ctl_journal_adopt(&ctl_plane.journal, all, n);
	}
	return publish_remote(rev, what);
}

void ctl_apply_remote_renewal(struct ctl_jentry *e)
{
	struct ctl_jentry *all;
	char err[512];
	size_t n;

	if (ctl_plane.journal.fd != -1 &&
	    ctl_journal_append(&ctl_plane.journal, e, NULL, err, sizeof(err)) == 0)
		return;
	all = ctl_journal_entries_with(&ctl_plane.journal, e, &n);
	if (all)
		ctl_journal_adopt(&ctl_plane.journal, all, n);
}

int ctl_apply_remote_all(const struct ctl_jentry *entries, size_t n, int64_t rev, const char *what)
{
	struct ctl_jentry *copy = n ? malloc(n * sizeof(*copy)) : NULL;
	char err[512];

	if (n && !copy) {
		log_error("cluster: out of memory applying revision %" PRId64, rev);
		return -1;
	}
	if (n)
		memcpy(copy, entries, n * sizeof(*copy));
	if (ctl_plane.journal.fd == -1 ||
	    ctl_journal_replace(&ctl_plane.journal, copy, n, err, sizeof(err)) == -1)
		ctl_journal_adopt(&ctl_plane.journal, copy, n);
	else
		free(copy);
	return publish_remote(rev, what);
}

int ctl_renew_lease(struct ctl_jentry *e, char *err, size_t errlen)
{
	int rc;

	ctl_backend_fingerprint(ctl_plane.file, e->pool, e->name, e->file_fp);
	if ((rc = change_refused(err, errlen)))
		return rc;
	if (ctl_cluster_on()) {
		ctl_cluster_write(NULL, e, -1, NULL, NULL, 0);
		return 0;
	}
	if (ctl_journal_append(&ctl_plane.journal, e, NULL, err, errlen) == -1)
		return 503;
	return 0;
}

int ctl_delete_backend(const char *pool, const char *name, const char *source, uint64_t *gen,
		       char *err, size_t errlen)
{
	struct ctl_jentry e;

	memset(&e, 0, sizeof(e));
	e.op = CTL_JOP_DELETE;
	snprintf(e.pool, sizeof(e.pool), "%s", pool);
	snprintf(e.name, sizeof(e.name), "%s", name);
	return ctl_change_backend(&e, source, gen, err, errlen);
}

/* The short reason a reload or rollback (what) changed nothing, for the service
 * manager's status line: the first config error, or err. */
static void refusal(const char *what, int rc, const struct config_errors *errs,
		    const char *err, char *out, size_t len)
{
	const struct config_error *e = errs && errs->count ? &errs->items[0] : NULL;

	if (rc == 422 && e)
		snprintf(out, len, "%s refused, running config kept: %s:%d: %s%s", what,
			 e->file ? e->file : "?", e->line, e->message ? e->message : "",
			 errs->count > 1 ? " (and more errors)" : "");
	else
		snprintf(out, len, "%s refused, running config kept: %s", what,
			 *err ? err : "invalid config");
}

/* Every reload (SIGHUP, POST /v1/config/reload) goes through here: the service
 * manager hears RELOADING before and READY after, whether it applied or not. */
int ctl_reload(const char *source, uint64_t *gen, struct config_errors *errs,
	       struct config_errors *warnings, char *err, size_t errlen)
{
	char why[256];
	int rc;

	if (errlen)
		err[0] = '\0';
	ctl_notify_reloading();
	rc = reload_file(source, gen, errs, warnings, err, errlen);
	if (rc)
		refusal("reload", rc, errs, err, why, sizeof(why));
	ctl_notify_reloaded(rc ? why : NULL);
	return rc;
}

/* The body of ctl_reload. */
static int reload_file(const char *source, uint64_t *gen, struct config_errors *errs,
		       struct config_errors *warnings, char *err, size_t errlen)
{
	struct ctl_jentry *entries = NULL;
	struct generation *cur;
	struct config *file, *cfg;
	ssize_t n;
	size_t i;

	if (ctl_plane.stopping) {
		snprintf(err, errlen, "fulcrum is stopping");
		return 503;
	}
	if (!ctl_plane.config_path) {
		snprintf(err, errlen, "running on the embedded default config: there is no file to re-read");
		return 409;
	}
	file = ctl_plane.load(ctl_plane.config_path, errs);
	if (!file) {
		stats_reload_done(0);
		return 422;
	}
	n = current_entries(file, &entries);
	cfg = n >= 0 ? ctl_merge(file, entries, (size_t)n, NULL, NULL) : NULL;
	if (!cfg) {
		free(entries);
		config_free(file);
		snprintf(err, errlen, "out of memory");
		stats_reload_done(0);
		return 500;
	}
	cur = proc_current_generation();
	/* restart-only keys keep their running values; the rest still applies */
	config_reload_check(cur->cfg, cfg, warnings);
	generation_unref(cur);
	for (i = 0; warnings && i < warnings->count; i++)
		log_warn("reload: %s: %s (needs a restart; the running value stays)",
			 warnings->items[i].key, warnings->items[i].message);
	if (publish(cfg, source, "reload", ctl_plane.config_path, gen, err, errlen) == -1) {
		free(entries);
		config_free(file);
		stats_reload_done(0);
		return 500;
	}
	stats_reload_done(1);
	settle_journal(entries, (size_t)n, 0);
	if (ctl_auth_load(file, ev_now(ctl_plane.loop), err, errlen) == -1)
		log_error("reload: %s (the previous token stays)", err);
	config_free(ctl_plane.file);
	config_free(ctl_plane.rollback_base);
	ctl_plane.file = file;
	ctl_pools_fingerprint(file, ctl_plane.file_pools);
	ctl_plane.rollback_base = NULL;
	return 0;
}

/* A rollback is a reload to the service manager: RELOADING before, READY after. */
int ctl_rollback(uint64_t id, uint64_t *gen, struct config_errors *errs, char *err,
		 size_t errlen)
{
	char why[256];
	int rc;

	if (errlen)
		err[0] = '\0';
	ctl_notify_reloading();
	rc = rollback_to(id, gen, errs, err, errlen);
	if (rc)
		refusal("rollback", rc, errs, err, why, sizeof(why));
	ctl_notify_reloaded(rc ? why : NULL);
	return rc;
}

/* The body of ctl_rollback. */
static int rollback_to(uint64_t id, uint64_t *gen, struct config_errors *errs, char *err,
		       size_t errlen)
{
	struct ctl_jentry *entries = NULL, *old = NULL;
	struct ctl_gen_meta meta;
	struct config *target, *cfg, *keep;
	char name[4200], *text;
	size_t nold;
	ssize_t n;

	if (ctl_plane.stopping) {
		snprintf(err, errlen, "fulcrum is stopping");
		return 503;
	}
	text = ctl_store_read(&ctl_plane.store, id, &meta);
	if (!text) {
		snprintf(err, errlen, "generation %" PRIu64 " is not kept in %s", id,
			 ctl_plane.store.dir ? ctl_plane.store.dir : "(no state_dir)");
		return 404;
	}
	/* errors name the kept file, which the operator can open */
	snprintf(name, sizeof(name), "%s/%08" PRIu64 ".cfg", ctl_plane.store.dir, id);
	target = config_load_string(text, name, errs);
	free(text);
	if (!target)
		return 422;
	/* files the config names (certificates) are relative to the config file's
	 * directory, as when the file itself is loaded */
	if (ctl_plane.file->source) {
		char *src = strdup(ctl_plane.file->source);

		if (!src) {
			config_free(target);
			snprintf(err, errlen, "out of memory");
			return 500;
		}
		free(target->source);
		target->source = src;
	}
	if (ctl_plane.journal.fd == -1) {
		config_free(target);
		return journal_unwritable(err, errlen);
	}
	n = ctl_journal_entries_for(ctl_plane.file, target, &ctl_plane.journal, &entries);
	if (n > 0)
		ctl_lease_carry(entries, (size_t)n, &ctl_plane.journal, ctl_plane.file, clock_wall_s());
	keep = config_dup(target);
	cfg = n >= 0 ? ctl_merge(target, entries, (size_t)n, NULL, NULL) : NULL;
	nold = ctl_plane.journal.n;
	old = nold ? malloc(nold * sizeof(*old)) : NULL;
	if (n < 0 || !cfg || !keep || (nold && !old)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (nold)
		memcpy(old, ctl_plane.journal.entries, nold * sizeof(*old));
	{
		struct generation *cur = proc_current_generation();
		struct config_errors restart = { 0 };
		size_t i;

		if (cur && config_reload_check(cur->cfg, cfg, &restart) > 0)
			for (i = 0; i < restart.count; i++)
				log_warn("rollback: %s: %s (needs a restart; the running value stays)",
					 restart.items[i].key, restart.items[i].message);
		config_errors_clear(&restart);
		generation_unref(cur);
	}
	if (ctl_journal_replace(&ctl_plane.journal, entries, (size_t)n, err, errlen) == -1) {
		config_free(cfg);
		cfg = NULL;
		goto fail_503;
	}
	{
		char src[CTL_SOURCE_MAX];

		snprintf(src, sizeof(src), "rollback to generation %" PRIu64, id);
		if (publish(cfg, src, "rollback", name, gen, err, errlen) == -1) {
			char why[256];

			cfg = NULL;
			if (ctl_journal_replace(&ctl_plane.journal, old, nold, why, sizeof(why)) == -1)
				log_error("rollback: cannot restore the journal: %s", why);
			goto fail;
		}
	}
	config_free(ctl_plane.rollback_base);
	ctl_plane.rollback_base = keep;
	config_free(target);
	free(entries);
	free(old);
	return 0;
fail_503:
	config_free(keep);
	config_free(target);
	free(entries);
	free(old);
	return 503;
fail:
	config_free(cfg);
	config_free(keep);
	config_free(target);
	free(entries);
	free(old);
	return 500;
}

void ctl_reload_signal(void)
{
	struct config_errors errs = { 0 }, warnings = { 0 };
	char err[512], src[CTL_SOURCE_MAX];
	uint64_t gen = 0;
	int rc;

	if (!ctl_plane.config_path) {
		log_warn("reload: running on the embedded default config; nothing to re-read");
		return;
	}
	log_info("reload: reading %s", ctl_plane.config_path);
	snprintf(src, sizeof(src), "SIGHUP: reload of %s", ctl_plane.config_path);
	rc = ctl_reload(src, &gen, &errs, &warnings, err, sizeof(err));
	if (rc == 422) {
		config_errors_print(&errs, stderr);
		log_error("reload refused: %s has errors (listed above); generation %" PRIu64 " stays",
			  ctl_plane.config_path, current_id());
	} else if (rc != 0) {
		log_error("reload refused: %s; generation %" PRIu64 " stays", err, current_id());
	}
	config_errors_clear(&errs);
	config_errors_clear(&warnings);
}
