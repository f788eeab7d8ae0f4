/* cluster.c: cluster mode: each control API change committed to the store as one
 * transaction on its key (a leased registration's etcd lease comes first: control/
 * cluster_lease.c), and the store's changes applied here from the list and the watch,
 * in order, through the change path handed down; the head and rollback markers read
 * on the way, the replicas' keys handed to them. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "cluster_replica.h"
#include "cluster_rollback.h"
#include "cluster_store.h"
#include "cluster_write.h"
#include "ctl_api.h"
#include "ctl_http.h"
#include "log.h"

#define RETRY_S 1.0                  /* between two attempts while the store is away */
#define PREFIX_MAX 80                /* "/fulcrum/" + a name + "/" */

/* The mod revision of one key as last applied here, and the store lease it is bound to. */
struct keyrev {
	char pool[CTL_NAME_MAX];
	char name[CTL_NAME_MAX];
	int64_t rev;
	int64_t lease;                   /* 0 = none */
};

static struct {
	int on;
	struct ev_loop *loop;
	struct ctl_cluster_apply apply;  /* what the store says, applied here (state.c) */
	struct ctl_cluster_replicas replicas;  /* their keys (cluster_replicas.c) */
	struct cluster_store st;
	char prefix[PREFIX_MAX];         /* "/fulcrum/<name>/" */
	char head_key[PREFIX_MAX + 8];   /* "<prefix>@head": every write puts it */
	int64_t head;                    /* its revision: the newest change the store holds */
	char probe[PREFIX_MAX + 8];         /* a prefix no key has: a cheap "is it back?" */
	double timeout_s;
	struct cstore_watch *w;
	int64_t seen;                    /* the store revision the list and watch went through */
	int64_t applied;                 /* the revision of the state applied here: of the last
					  * change applied, or the newest one a list held */
	int64_t watch_from;              /* the revision the running watch started at */
	int64_t store_rev;               /* the newest revision any answer carried */
	int listed;                      /* a list was applied since the start */
	int have_copy;                   /* state_dir held this cluster's state at the start */
	char name[CTL_NAME_MAX];
	char copy_path[4096];            /* state_dir/cluster.copy: "this dir holds a copy" */
	int up;                          /* 1: the last call reached the store, and the watch
					  * runs; 0: it did not; -1: not known yet (start) */
	int relist;                      /* the next attempt lists (start, compaction) */
	int busy;                        /* a list or probe is in flight */
	ev_timer retry;
	struct pending *pending;
	struct keyrev *revs;
	size_t nrevs, caprevs;
} cl;

static int split_key(const char *key, char *pool, char *name);
static void set_rev(const char *pool, const char *name, int64_t rev, int64_t lease);
static const struct keyrev *find_rev(const char *pool, const char *name);
static void drop_rev(const char *pool, const char *name);
static void attempt(void);
static void on_retry(struct ev_loop *loop, ev_timer *t, int revents);
static void later(void);
static void set_up(int up, const char *why);
static void on_list(void *ctx, const struct cstore_result *r);
static void on_probe(void *ctx, const struct cstore_result *r);
static void start_watch(void);
static void on_watch(void *ctx, const struct cstore_watch_report *r);
static size_t apply_revision(const struct cstore_event *evs, size_t n);
static void apply_event(const struct cstore_event *ev);
static int same_state(const struct ctl_jentry *a, const struct ctl_jentry *b);
static int rollback_marker(const char *key);
static int own_key(const struct cstore_kv *kv, int deleted);
static void rollback_seen(const struct cstore_kv *kv, char *what, size_t len);
static void on_txn(void *ctx, const struct cstore_result *r);
static void on_revoked(void *ctx, const struct cstore_result *r);
static void on_cancel(void *arg);
static void on_timeout(struct ev_loop *loop, ev_timer *t, int revents);
static void settle(void);
static void unlink_pending(struct pending *p);
static void saw_rev(int64_t rev);
static int read_copy_mark(void);
static void write_copy_mark(void);

/* One key per journal entry: "<prefix><pool>/<name>" (a maintenance entry's pool is
 * "@maint:pool" or "@maint:route"; no name has a '/'). */
void cluster_key_of(const char *pool, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s%s/%s", cl.prefix, pool, name);
}

/* pool and name (CTL_NAME_MAX each) of a key under the prefix; 0, or -1. */
static int split_key(const char *key, char *pool, char *name)
{
	size_t plen = strlen(cl.prefix);
	const char *rest = key + plen, *slash;

	if (strncmp(key, cl.prefix, plen) || !(slash = strchr(rest, '/')) ||
	    (size_t)(slash - rest) >= CTL_NAME_MAX || strlen(slash + 1) >= CTL_NAME_MAX ||
	    slash == rest || !slash[1])
		return -1;
	memcpy(pool, rest, (size_t)(slash - rest));
	pool[slash - rest] = '\0';
	snprintf(name, CTL_NAME_MAX, "%s", slash + 1);
	return 0;
}

static void set_rev(const char *pool, const char *name, int64_t rev, int64_t lease)
{
	size_t i;

	for (i = 0; i < cl.nrevs; i++)
		if (!strcmp(cl.revs[i].pool, pool) && !strcmp(cl.revs[i].name, name)) {
			cl.revs[i].rev = rev;
			cl.revs[i].lease = lease;
			return;
		}
	if (cl.nrevs == cl.caprevs) {
		size_t cap = cl.caprevs ? 2 * cl.caprevs : 16;
		struct keyrev *r = realloc(cl.revs, cap * sizeof(*r));

		if (!r)
			return;  /* the next write of it compares on 0 and gets a 409: safe */
		cl.revs = r;
		cl.caprevs = cap;
	}
	snprintf(cl.revs[cl.nrevs].pool, CTL_NAME_MAX, "%s", pool);
	snprintf(cl.revs[cl.nrevs].name, CTL_NAME_MAX, "%s", name);
	cl.revs[cl.nrevs].lease = lease;
	cl.revs[cl.nrevs++].rev = rev;
}

static const struct keyrev *find_rev(const char *pool, const char *name)
{
	size_t i;

	for (i = 0; i < cl.nrevs; i++)
		if (!strcmp(cl.revs[i].pool, pool) && !strcmp(cl.revs[i].name, name))
			return &cl.revs[i];
	return NULL;
}

static void drop_rev(const char *pool, const char *name)
{
	size_t i;

	for (i = 0; i < cl.nrevs; i++)
		if (!strcmp(cl.revs[i].pool, pool) && !strcmp(cl.revs[i].name, name)) {
			cl.revs[i] = cl.revs[--cl.nrevs];
			return;
		}
}

int64_t ctl_cluster_key_rev(const char *pool, const char *name)
{
	const struct keyrev *kr = find_rev(pool, name);

	return kr ? kr->rev : 0;
}

int64_t ctl_cluster_key_lease(const char *pool, const char *name)
{
	const struct keyrev *kr = find_rev(pool, name);

	return kr ? kr->lease : 0;
}

struct cluster_store *ctl_cluster_store(void)
{
	return &cl.st;
}

const char *ctl_cluster_prefix(void)
{
	return cl.prefix;
}

const char *ctl_cluster_head_key(void)
{
	return cl.head_key;
}

int64_t ctl_cluster_head(void)
{
	return cl.head;
}

int ctl_cluster_on(void)
{
	return cl.on;
}

int ctl_cluster_store_up(void)
{
	return cl.up == 1;
}

int64_t ctl_cluster_applied_rev(void)
{
	return cl.applied;
}

int64_t ctl_cluster_store_rev(void)
{
	return cl.store_rev;
}

const char *ctl_cluster_name(void)
{
	return cl.name;
}

void ctl_cluster_store_health(struct cstore_health *out)
{
	memset(out, 0, sizeof(*out));
	if (cl.on)
		cl.st.ops->health(cl.st.h, out);
}

static void saw_rev(int64_t rev)
{
	if (rev > cl.store_rev)
		cl.store_rev = rev;
}

void cluster_heard(const struct cstore_result *r)
{
	saw_rev(r->rev);
	/* a conflict or a lease not found is an answer from a member too */
	if (r->status == CSTORE_OK || r->status == CSTORE_NOT_FOUND ||
	    r->status == CSTORE_CONFLICT)
		set_up(1, NULL);
}

/* Ready once the store's whole state was applied since the start. While the store
 * cannot be reached, a replica whose state_dir held this cluster's state serves that
 * copy (as HAProxy or nginx restarted serve their last config): ready; a fresh one has
 * nothing to serve yet and waits, so a load balancer in front keeps it out. */
int ctl_cluster_ready(char *detail, size_t len)
{
	if (!cl.on || cl.listed || (cl.have_copy && cl.up == 0))
		return 1;
	if (cl.up == -1)
		snprintf(detail, len, "cluster %s: the first list of the store is under way", cl.name);
	else if (cl.have_copy)
		snprintf(detail, len, "cluster %s: the store answered but its state is not applied yet",
			 cl.name);
	else
		snprintf(detail, len, "cluster %s: the store cannot be reached and state_dir holds no "
			 "copy of the cluster's state from an earlier run: nothing to serve yet", cl.name);
	return 0;
}

/* state_dir/cluster.copy names the cluster whose state the journal holds: written
 * after the first list, read at the start (1: it is this cluster's). */
static int read_copy_mark(void)
{
	char buf[CTL_NAME_MAX + 2];
	FILE *f = cl.copy_path[0] ? fopen(cl.copy_path, "r") : NULL;
	int same = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		same = !strcmp(buf, cl.name);
	}
	fclose(f);
	return same;
}

static void write_copy_mark(void)
{
	char tmp[sizeof(cl.copy_path) + 8];
	int fd, ok;

	if (!cl.copy_path[0] || cl.have_copy)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", cl.copy_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("cluster: %s: cannot write the copy mark; a restart without the store "
			 "will not say ready", tmp);
		return;
	}
	ok = dprintf(fd, "%s\n", cl.name) > 0 && fsync(fd) == 0;
	close(fd);
	if (ok && rename(tmp, cl.copy_path) == 0)
		cl.have_copy = 1;
	else
		unlink(tmp);
}

int ctl_cluster_start(struct ev_loop *loop, const struct cfg_cluster *cfg,
		      const struct ctl_cluster_apply *apply,
		      const struct ctl_cluster_replicas *replicas, char *err, size_t errlen)
{
	struct cstore_etcd_cfg ec;
	char *eps = strdup(cfg->endpoints), *p, *save = NULL;
	int rc;

	if (!eps) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&ec, 0, sizeof(ec));
	for (p = strtok_r(eps, ",", &save); p && ec.nendpoints < CSTORE_ENDPOINTS_MAX;
	     p = strtok_r(NULL, ",", &save))
		ec.endpoints[ec.nendpoints++] = p;
	if (cfg->tls) {
		ec.ca_file = cfg->tls->ca_file;
		ec.cert_file = cfg->tls->cert_file;
		ec.key_file = cfg->tls->key_file;
	}
	ec.timeout_ms = cfg->timeout_ms;
	rc = cstore_etcd_new(loop, &ec, &cl.st, err, errlen);
	free(eps);
	if (rc == -1)
		return -1;
	cl.on = 1;
	cl.loop = loop;
	cl.apply = *apply;
	cl.replicas = *replicas;
	cl.timeout_s = cfg->timeout_ms / 1000.0;
	snprintf(cl.name, sizeof(cl.name), "%s", cfg->name);
	if (ctl_plane.state_dir)
		snprintf(cl.copy_path, sizeof(cl.copy_path), "%s/cluster.copy", ctl_plane.state_dir);
	cl.have_copy = read_copy_mark();
	snprintf(cl.prefix, sizeof(cl.prefix), "/fulcrum/%s/", cfg->name);
	snprintf(cl.probe, sizeof(cl.probe), "%s#probe", cl.prefix);
	snprintf(cl.head_key, sizeof(cl.head_key), "%s@head", cl.prefix);
	cl.relist = 1;
	cl.up = -1;
	ev_timer_init(&cl.retry, on_retry, RETRY_S, 0.);
	cl.replicas.start(loop, &cl.st, cl.prefix, cfg->replica_id, cfg->replica_ttl_s);
	log_info("cluster %s: following etcd at %s under %s (until it answers, the local copy "
		 "in the journal serves)", cfg->name, cfg->endpoints, cl.prefix);
	attempt();
	return 0;
}

void ctl_cluster_stop(void)
{
	if (!cl.on)
		return;
	ev_timer_stop(cl.loop, &cl.retry);
	while (cl.pending) {
		struct pending *p = cl.pending;

		ev_timer_stop(cl.loop, &p->timeout);
		unlink_pending(p);
		free(p);
	}
	cl.replicas.stop();
	/* frees the watch and cancels every call without calling back */
	cl.st.ops->free(cl.st.h);
	free(cl.revs);
	memset(&cl, 0, sizeof(cl));
}

/* Lists (at start, after a compaction) or probes (after the watch broke); the answer
 * goes on to the watch. */
static void attempt(void)
{
	int rc;

	if (cl.busy)
		return;
	cl.busy = 1;
	rc = cl.relist ? cl.st.ops->list(cl.st.h, cl.prefix, on_list, NULL)
		       : cl.st.ops->list(cl.st.h, cl.probe, on_probe, NULL);
	if (rc == -1) {
		cl.busy = 0;
		later();
	}
}

static void later(void)
{
	ev_timer_stop(cl.loop, &cl.retry);
	ev_timer_set(&cl.retry, RETRY_S, 0.);
	ev_timer_start(cl.loop, &cl.retry);
}

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	attempt();
}

/* A store that stopped answering, or answers again: one log line per change. */
static void set_up(int up, const char *why)
{
	int was = cl.up;

	if (up == cl.up)
		return;
	cl.up = up;
	if (up && was == -1)
		log_info("cluster: the store answers");
	else if (up)
		log_info("cluster: the store answers again; revision %" PRId64 " applied", cl.applied);
	else if (cl.applied)
		log_warn("cluster: the store cannot be reached (%s); serving the state of revision "
			 "%" PRId64 ", changes refused until it is back", why ? why : "no answer",
			 cl.applied);
	else
		log_warn("cluster: the store cannot be reached (%s); serving the local copy in "
			 "state_dir, changes refused until it is back", why ? why : "no answer");
}

/* The whole prefix: the state as of r->rev. Applied unless it is what runs already
 * (a restart whose local copy is current makes no new generation). */
static void on_list(void *ctx, const struct cstore_result *r)
{
	struct ctl_jentry *all = NULL;
	size_t i, n = 0, same;
	int64_t newest = 0;

	cl.busy = 0;
	if (r->status != CSTORE_OK) {
		set_up(0, r->error);
		later();
		return;
	}
	all = r->nkvs ? calloc(r->nkvs, sizeof(*all)) : NULL;
	if (r->nkvs && !all) {
		log_error("cluster: out of memory reading the store's list");
		later();
		return;
	}
	cl.nrevs = 0;
	cl.replicas.list_begin();
	saw_rev(r->rev);
	for (i = 0; i < r->nkvs; i++) {
		const struct cstore_kv *kv = &r->kvs[i];

		if (own_key(kv, 0))
			continue;
		if (rollback_marker(kv->key))
			continue;
		if (kv->mod_rev > newest)
			newest = kv->mod_rev;
		if (ctl_journal_decode(kv->value, kv->value_len, &all[n]) == -1) {
			log_error("cluster: key %s does not hold a record fulcrum wrote; ignored", kv->key);
			continue;
		}
		set_rev(all[n].pool, all[n].name, kv->mod_rev, kv->lease);
		n++;
	}
	same = n == ctl_plane.journal.n;
	for (i = 0; same && i < n; i++) {
		const struct ctl_jentry *cur = ctl_journal_find(&ctl_plane.journal, all[i].pool,
							       all[i].name);

		same = cur && same_state(cur, &all[i]);
	}
	if (!same)
		cl.apply.all(all, n, r->rev, "list");
	free(all);
	/* the list holds the state as of its revision; the last change in it is the head
	 * marker's (every write puts it) or a key's, which is what the replicas that
	 * watched it applied last: the same number everywhere */
	cl.seen = r->rev;
	if (cl.head > newest)
		newest = cl.head;
	if (newest > cl.applied)
		cl.applied = newest;
	cl.relist = 0;
	cl.listed = 1;
	write_copy_mark();
	set_up(1, NULL);
	log_info("cluster: %zu key(s) listed at revision %" PRId64 "%s", n, r->rev,
		 same ? " (the local copy was current)" : "");
	start_watch();
	settle();
}

/* After the watch broke: the store answers again, so the watch resumes after the last
 * revision applied (a compaction since then makes it list). */
static void on_probe(void *ctx, const struct cstore_result *r)
{
	cl.busy = 0;
	if (r->status != CSTORE_OK) {
		set_up(0, r->error);
		later();
		return;
	}
	start_watch();
	if (cl.w)
		set_up(1, NULL);
}

static void start_watch(void)
{
	if (cl.w)
		cl.st.ops->unwatch(cl.st.h, cl.w);
	cl.watch_from = cl.seen + 1;
	cl.w = cl.st.ops->watch(cl.st.h, cl.prefix, cl.watch_from, on_watch, NULL);
	if (!cl.w)
		later();
}

static void on_watch(void *ctx, const struct cstore_watch_report *r)
{
	size_t i;

	saw_rev(r->rev);
	switch (r->what) {
	case CSTORE_WATCH_EVENTS:
		for (i = 0; i < r->nevents; i += apply_revision(r->events + i, r->nevents - i))
			;
		set_up(1, NULL);
		settle();
		return;
	case CSTORE_WATCH_COMPACTED:
		log_warn("cluster: revisions after %" PRId64 " are compacted away (oldest kept %" PRId64
			 "); listing again", cl.seen, r->compact_rev);
		cl.relist = 1;
		break;
	case CSTORE_WATCH_ERROR:
		set_up(0, r->error);
		break;
	}
	cl.st.ops->unwatch(cl.st.h, cl.w);
	cl.w = NULL;
	if (cl.relist)
		attempt();
	else
		later();
}

/* The changes of one revision at evs[0] (of n): a txn that changed one object (every
 * API write) applied as one event, one that changed several (a rollback) as one new
 * journal and one generation. Returns how many events it took. */
static size_t apply_revision(const struct cstore_event *evs, size_t n)
{
	int64_t rev = evs[0].kv.mod_rev;
	size_t k, i, nstate = 0, nall;
	struct ctl_jentry *all, e;
	char what[64] = "several keys", pool[CTL_NAME_MAX], name[CTL_NAME_MAX];

	for (k = 0; k < n && evs[k].kv.mod_rev == rev; k++)
		if (ctl_cluster_state_key(evs[k].kv.key))
			nstate++;
	if (nstate < 2 || rev < cl.watch_from) {
		for (i = 0; i < k; i++)
			apply_event(&evs[i]);
		return k;
	}
	all = malloc((ctl_plane.journal.n + nstate) * sizeof(*all));
	if (!all) {
		log_error("cluster: out of memory applying revision %" PRId64 "; listing again", rev);
		cl.relist = 1;
		return k;
	}
	nall = ctl_plane.journal.n;
	memcpy(all, ctl_plane.journal.entries, nall * sizeof(*all));
	saw_rev(rev);
	cl.seen = rev;
	for (i = 0; i < k; i++) {
		const struct cstore_event *ev = &evs[i];
		size_t j;

		if (own_key(&ev->kv, ev->type == CSTORE_EV_DELETE))
			continue;
		if (rollback_marker(ev->kv.key)) {
			if (ev->type == CSTORE_EV_PUT)
				rollback_seen(&ev->kv, what, sizeof(what));
			continue;
		}
		if (ev->type == CSTORE_EV_DELETE) {
			if (split_key(ev->kv.key, pool, name) == -1)
				continue;
			drop_rev(pool, name);
		} else if (ctl_journal_decode(ev->kv.value, ev->kv.value_len, &e) == -1) {
			log_error("cluster: key %s at revision %" PRId64 " does not hold a record "
				  "fulcrum wrote; ignored", ev->kv.key, rev);
			continue;
		} else {
			snprintf(pool, sizeof(pool), "%s", e.pool);
			snprintf(name, sizeof(name), "%s", e.name);
			set_rev(pool, name, rev, ev->kv.lease);
		}
		for (j = 0; j < nall; j++)
			if (!strcmp(all[j].pool, pool) && !strcmp(all[j].name, name))
				break;
		if (ev->type == CSTORE_EV_DELETE) {
			if (j < nall)
				all[j] = all[--nall];
		} else if (j < nall) {
			all[j] = e;
		} else {
			all[nall++] = e;
		}
	}
	cl.apply.all(all, nall, rev, what);
	free(all);
	cl.applied = rev;
	return k;
}

/* One change of the watch, applied in the order it came (the store's revision order). */
static void apply_event(const struct cstore_event *ev)
{
	struct ctl_jentry e;
	char pool[CTL_NAME_MAX], name[CTL_NAME_MAX];
	int64_t rev = ev->kv.mod_rev;

	/* (the ops of one transaction share its revision: each is applied) */
	if (rev < cl.watch_from)
		return;  /* seen in a list already */
	saw_rev(rev);
	cl.seen = rev;
	if (rollback_marker(ev->kv.key)) {
		char what[64];

		if (ev->type == CSTORE_EV_PUT)
			rollback_seen(&ev->kv, what, sizeof(what));
		return;
	}
	/* a replica's key or the head marker: not part of the state served */
	if (own_key(&ev->kv, ev->type == CSTORE_EV_DELETE))
		return;
	if (ev->type == CSTORE_EV_DELETE) {
		/* removed in the store by hand: the key's entry leaves the local copy */
		int named = split_key(ev->kv.key, pool, name) == 0;
		const struct keyrev *kr = named ? find_rev(pool, name) : NULL;

		if (named && ctl_journal_find(&ctl_plane.journal, pool, name)) {
			/* a key bound to a lease is deleted by etcd itself when the lease
			 * ends (not renewed within its TTL): every replica applies that one
			 * deletion at once */
			if (kr && kr->lease)
				log_info("lease: backend %s/%s removed at revision %" PRId64 " (its key, "
					 "bound to store lease %" PRId64 ", was deleted: the lease ended "
					 "unless a DELETE removed it)", pool, name, rev, kr->lease);
			struct ctl_jentry *rest = malloc((ctl_plane.journal.n + 1) * sizeof(*rest));
			size_t i, n = 0;

			if (rest) {
				for (i = 0; i < ctl_plane.journal.n; i++)
					if (strcmp(ctl_plane.journal.entries[i].pool, pool) ||
					    strcmp(ctl_plane.journal.entries[i].name, name))
						rest[n++] = ctl_plane.journal.entries[i];
				cl.apply.all(rest, n, rev, "removed");
				free(rest);
			}
			drop_rev(pool, name);
		}
	} else if (ctl_journal_decode(ev->kv.value, ev->kv.value_len, &e) == -1) {
		log_error("cluster: key %s at revision %" PRId64 " does not hold a record fulcrum "
			  "wrote; ignored", ev->kv.key, rev);
	} else {
		const struct ctl_jentry *cur = ctl_journal_find(&ctl_plane.journal, e.pool, e.name);

		set_rev(e.pool, e.name, rev, ev->kv.lease);
		/* a lease renewal is a journal record only, as without cluster mode: a hook
		 * renewing every few seconds makes no generation */
		if (cur && cluster_same_config(cur, &e) &&
		    (cur->ttl_s != e.ttl_s || cur->expires != e.expires))
			cl.apply.renewal(&e);
		else
			cl.apply.entry(&e, rev);
	}
	cl.applied = rev;
}

/* The rollback marker's key ("<prefix>@rollback"): not state. */
static int rollback_marker(const char *key)
{
	size_t n = strlen(cl.prefix);

	return cl.on && !strncmp(key, cl.prefix, n) && !strcmp(key + n, CROLLBACK_KEY);
}

/* The marker as put at a revision (a rollback's transaction, control/cluster_rollback.c):
 * logged, and its text names the generation ("rollback to N"); what (len bytes) gets
 * "rollback to N", or is left as it is when it is not one. */
static void rollback_seen(const struct cstore_kv *kv, char *what, size_t len)
{
	struct crollback m;
	char err[128];

	if (crollback_decode(kv->value, kv->value_len, &m, err, sizeof(err)) == -1) {
		log_error("cluster: %s at revision %" PRId64 ": %s; ignored", kv->key, kv->mod_rev, err);
		return;
	}
	log_warn("cluster: rollback to generation %" PRId64 " (the store's state at that revision) "
		 "applied as revision %" PRId64, m.to, kv->mod_rev);
	snprintf(what, len, "rollback to %" PRId64, m.to);
}

/* The head marker and the replicas' keys, put (deleted: 0) or deleted: the head's
 * revision noted, a replica's key handed to the replicas. 1 when kv was one of them. */
static int own_key(const struct cstore_kv *kv, int deleted)
{
	if (!strcmp(kv->key, cl.head_key)) {
		if (!deleted && kv->mod_rev > cl.head)
			cl.head = kv->mod_rev;  /* a deleted head marker stays what it was */
		return 1;
	}
	if (!cl.replicas.owns(kv->key))
		return 0;
	if (deleted)
		cl.replicas.deleted(kv->key);
	else
		cl.replicas.kv(kv);
	return 1;
}

int ctl_cluster_state_key(const char *key)
{
	if (!cl.on)
		return 1;
	return strcmp(key, cl.head_key) && !cl.replicas.owns(key) && !rollback_marker(key);
}

/* The same config (what a generation is built from; not the lease, nor the local
 * bookkeeping: time, sequence, addresses resolved). */
int cluster_same_config(const struct ctl_jentry *a, const struct ctl_jentry *b)
{
	return a->op == b->op && !strcmp(a->address, b->address) && a->weight == b->weight &&
	       a->max_conns == b->max_conns && a->state == b->state &&
	       !strcmp(a->identity, b->identity) && a->maint_on == b->maint_on &&
	       a->retry_after_s == b->retry_after_s && !strcmp(a->file_fp, b->file_fp);
}

/* The same config and the same lease. */
static int same_state(const struct ctl_jentry *a, const struct ctl_jentry *b)
{
	return cluster_same_config(a, b) && a->ttl_s == b->ttl_s && a->expires == b->expires;
}

struct pending *cluster_pending_new(struct ctl_conn *c, ctl_cluster_then_fn then,
				   const void *arg, size_t arglen)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p || arglen > sizeof(p->arg)) {
		free(p);
		return NULL;
	}
	p->c = c;
	p->then = then;
	if (arglen)
		memcpy(p->arg, arg, arglen);
	ev_timer_init(&p->timeout, on_timeout, cl.timeout_s, 0.);
	p->timeout.data = p;
	p->next = cl.pending;
	cl.pending = p;
	if (c)
		ctl_conn_defer(c, on_cancel, p);
	return p;
}

void ctl_cluster_commit(struct ctl_conn *c, const struct cstore_txn *t, const char *what,
			ctl_cluster_then_fn then, const void *arg, size_t arglen)
{
	struct pending *p = cluster_pending_new(c, then, arg, arglen);

	if (!p) {
		if (c)
			ctl_reply_error(c, 500, "internal", "out of memory");
		return;
	}
	snprintf(p->key, sizeof(p->key), "%s%s", cl.prefix, what);
	if (cl.st.ops->txn(cl.st.h, t, on_txn, p) == -1)
		cluster_refuse(p, NULL);
}

/* The txn of p: its key's record (bound to p->lease) and the head marker, compared on
 * the key's revision. */
void cluster_send_txn(struct pending *p)
{
	char rec[CTL_RECORD_MAX + 32];
	struct ctl_jentry w = p->e;
	struct cstore_op op[2];
	struct cstore_txn t;
	size_t len;

	/* the local bookkeeping is each replica's own */
	w.time = 0;
	w.seq = 0;
	w.gen = 0;
	len = ctl_journal_encode(&w, rec, sizeof(rec));
	if (!len) {
		unlink_pending(p);
		if (p->c)
			ctl_reply_error(p->c, 500, "internal", "the change could not be encoded");
		free(p);
		return;
	}
	memset(op, 0, sizeof(op));
	op[0].type = CSTORE_PUT;
	op[0].key = p->key;
	op[0].value = rec;
	op[0].value_len = len;
	op[0].lease = p->lease;
	/* the head marker moves with every change, so the revision of the newest change
	 * is known to a replica that only lists (GET /v1/cluster's "latest") */
	op[1].type = CSTORE_PUT;
	op[1].key = cl.head_key;
	op[1].value = cl.name;
	op[1].value_len = strlen(cl.name);
	/* a removal of a backend no file defines is the key's deletion, not a tombstone:
	 * hooks name every pod anew, and tombstones would pile up in the store */
	if (w.op == CTL_JOP_DELETE && !ctl_config_backend(ctl_plane.file, w.pool, w.name) &&
	    !(ctl_plane.rollback_base && ctl_config_backend(ctl_plane.rollback_base, w.pool, w.name))) {
		op[0].type = CSTORE_DELETE;
		op[0].value = NULL;
		op[0].value_len = 0;
		op[0].lease = 0;
	}
	t.cmp_key = p->key;
	t.cmp_rev = p->if_rev >= 0 ? p->if_rev : ctl_cluster_key_rev(p->e.pool, p->e.name);
	t.ops = op;
	t.nops = 2;
	if (cl.st.ops->txn(cl.st.h, &t, on_txn, p) == -1)
		cluster_refuse(p, NULL);
}

/* The commit, the conflict or the failure of a write. */
static void on_txn(void *ctx, const struct cstore_result *r)
{
	struct pending *p = ctx;
	struct ctl_conn *c = p->c;
	cJSON *o;

	saw_rev(r->rev);
	if (r->status == CSTORE_OK) {
		set_up(1, NULL);
		p->rev = r->rev;
		if (cl.seen >= p->rev) {
			cluster_finish(p);
			return;
		}
		ev_timer_start(cl.loop, &p->timeout);
		return;
	}
	if (r->status != CSTORE_CONFLICT) {
		cluster_refuse(p, r);
		return;
	}
	unlink_pending(p);
	set_up(1, NULL);
	/* a lease granted for this write binds nothing now: it goes at once, not at its end */
	if (p->granted)
		cl.st.ops->lease_revoke(cl.st.h, p->lease, on_revoked, NULL);
	if (!c) {
		log_info("cluster: %s was changed by another write; this one is dropped", p->key);
	} else {
		struct ctl_jentry cur;
		const char *rec = r->nkvs ? r->kvs[0].value : NULL;

		o = ctl_error_json(NULL, "conflict", "%s was changed by another write since the "
				   "revision this one was compared on; read it again and retry",
				   p->key + strlen(cl.prefix));
		cJSON_AddNumberToObject(o, "revision", (double)r->rev);
		cJSON_AddNumberToObject(o, "key_revision", r->nkvs ? (double)r->kvs[0].mod_rev : 0);
		/* the current state: the record's JSON, after its length and checksum */
		if (rec && ctl_journal_decode(rec, r->kvs[0].value_len, &cur) == 0 &&
		    r->kvs[0].value_len > 18) {
			cJSON *now = cJSON_ParseWithLength(rec + 18, r->kvs[0].value_len - 18);

			/* the writer's local bookkeeping, not state */
			cJSON_DeleteItemFromObject(now, "seq");
			cJSON_DeleteItemFromObject(now, "time");
			cJSON_AddItemToObject(o, "current", now);
		} else
			cJSON_AddNullToObject(o, "current");
		ctl_reply_json(c, 409, o);
	}
	free(p);
}

static void on_revoked(void *ctx, const struct cstore_result *r)
{
}

/* A write the store did not take (r: its answer; NULL: the call could not start):
 * nothing changed here; the caller hears 503 when the store cannot be reached. */
void cluster_refuse(struct pending *p, const struct cstore_result *r)
{
	struct ctl_conn *c = p->c;
	const char *why = r && r->error ? r->error : NULL;

	unlink_pending(p);
	if (r && r->status == CSTORE_UNAVAILABLE)
		set_up(0, why);
	if (p->granted)
		cl.st.ops->lease_revoke(cl.st.h, p->lease, on_revoked, NULL);
	if (!r) {
		if (c)
			ctl_reply_error(c, 500, "internal", "the store call could not start");
		else
			log_error("cluster: %s not written: the store call could not start", p->key);
	} else if (!c)
		log_error("cluster: %s not written: %s", p->key, why ? why : "?");
	else if (r->status == CSTORE_UNAVAILABLE)
		ctl_reply_error(c, 503, "store_unavailable", "etcd did not commit the change "
				"(%s); nothing changed here: retry when the store is back "
				"(a write whose outcome was unknown may still show up)",
				why ? why : "no member answered");
	else
		ctl_reply_error(c, 500, "store_error", "etcd refused the change: %s", why ? why : "?");
	free(p);
}

/* The client went away: the change goes on; no one hears of it. */
static void on_cancel(void *arg)
{
	struct pending *p = arg;

	p->c = NULL;
}

/* Committed, but the watch did not bring it within timeout_ms (it broke, or lags):
 * the change is in the store, so the call succeeded; the answer says what runs here. */
static void on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct pending *p = t->data;

	log_warn("cluster: %s committed at revision %" PRId64 " but not applied here yet "
		 "(applied: %" PRId64 "); answering", p->key, p->rev, cl.applied);
	cluster_finish(p);
}

/* Answers every committed write that is applied now. */
static void settle(void)
{
	struct pending *p = cl.pending, *next;

	for (; p; p = next) {
		next = p->next;
		if (p->rev && p->rev <= cl.seen)
			cluster_finish(p);
	}
}

void cluster_renewed(struct pending *p)
{
	cl.apply.renewal(&p->e);
	cluster_finish(p);
}

void cluster_finish(struct pending *p)
{
	ev_timer_stop(cl.loop, &p->timeout);
	unlink_pending(p);
	if (p->c && p->then)
		p->then(p->c, p->arg);
	else if (p->c)
		ctl_reply_json(p->c, 200, NULL);
	free(p);
}

static void unlink_pending(struct pending *p)
{
	struct pending **pp;

	for (pp = &cl.pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}
