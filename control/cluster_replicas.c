/* cluster_replicas.c: cluster mode's replicas: this one's lease-bound key (what it
 * applied, its health, the drains emptied here), and the table of the others' keys. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cluster_replica.h"
#include "ctl_api.h"
#include "ctl_ready.h"
#include "log.h"
#include "worker.h"

#define SCAN_S 0.25                  /* between two looks at what this replica would say */
#define PUT_GAP_S 0.5                /* at least this between two puts of its key */
#define LEAVE_S 1.0                  /* a stopping replica waits this long for its revoke */
#define KEY_MAX 256

static struct {
	int on;
	struct ev_loop *loop;
	struct cluster_store *st;
	char rprefix[KEY_MAX];           /* "<prefix>@replicas/" */
	char key[KEY_MAX + CREPLICA_ID_MAX]; /* this replica's */
	unsigned ttl_s;
	struct creplica self;            /* as last put (or being put) */
	int64_t lease;                   /* 0: none (yet, or it expired) */
	int granting, keeping, putting;  /* a call in flight */
	int dirty;                       /* self changed since the last put */
	double last_put;                 /* ev_now of the last put sent */
	ev_timer scan, keep, put_later;
	struct creplica *others;         /* every replica's key but this one's */
	size_t nothers, capothers;
	int leaving;                     /* stopping: no grant, put or renewal any more */
	void (*left)(void);              /* ctl_replicas_leave's callback, until called */
	ev_timer leave_wait;
} rp;

static void on_scan(struct ev_loop *loop, ev_timer *t, int revents);
static void on_keep(struct ev_loop *loop, ev_timer *t, int revents);
static void on_put_later(struct ev_loop *loop, ev_timer *t, int revents);
static void grant(void);
static void on_grant(void *ctx, const struct cstore_result *r);
static void on_keepalive(void *ctx, const struct cstore_result *r);
static void publish(void);
static void on_put(void *ctx, const struct cstore_result *r);
static int what_now(struct creplica *out);
static struct creplica *other(const char *id);
static void drop_other(size_t i);
static void on_revoked(void *ctx, const struct cstore_result *r);
static void on_leave_wait(struct ev_loop *loop, ev_timer *t, int revents);
static void leave_done(void);

void ctl_replicas_start(struct ev_loop *loop, struct cluster_store *st, const char *prefix,
			const char *id, unsigned ttl_s)
{
	char host[256] = "";
	const char *ctl = ctl_plane.file && ctl_plane.file->control.listen
				  ? ctl_plane.file->control.listen : "";

	memset(&rp, 0, sizeof(rp));
	rp.on = 1;
	rp.loop = loop;
	rp.st = st;
	rp.ttl_s = ttl_s ? ttl_s : 5;
	if (id && *id) {
		snprintf(rp.self.id, sizeof(rp.self.id), "%s", id);
	} else {
		if (gethostname(host, sizeof(host) - 1) == -1)
			host[0] = '\0';
		creplica_default_id(host, ctl, rp.self.id, sizeof(rp.self.id));
	}
	snprintf(rp.self.control, sizeof(rp.self.control), "%s", ctl);
	snprintf(rp.self.version, sizeof(rp.self.version), "%s", FULCRUM_VERSION);
	rp.self.started = ctl_plane.started ? ctl_plane.started : clock_wall_s();
	snprintf(rp.rprefix, sizeof(rp.rprefix), "%s@replicas/", prefix);
	snprintf(rp.key, sizeof(rp.key), "%s%s", rp.rprefix, rp.self.id);
	ev_timer_init(&rp.scan, on_scan, SCAN_S, SCAN_S);
	ev_timer_start(loop, &rp.scan);
	/* the lease is renewed every third of its life: two renewals may fail in a row */
	ev_timer_init(&rp.keep, on_keep, rp.ttl_s / 3.0, rp.ttl_s / 3.0);
	ev_timer_start(loop, &rp.keep);
	ev_timer_init(&rp.put_later, on_put_later, PUT_GAP_S, 0.);
	log_info("cluster: this replica is %s (key %s, lease %us)", rp.self.id, rp.key, rp.ttl_s);
	rp.dirty = 1;
	grant();
}

void ctl_replicas_stop(void)
{
	size_t i;

	if (!rp.on)
		return;
	ev_timer_stop(rp.loop, &rp.scan);
	ev_timer_stop(rp.loop, &rp.keep);
	ev_timer_stop(rp.loop, &rp.put_later);
	ev_timer_stop(rp.loop, &rp.leave_wait);
	creplica_clear(&rp.self);
	for (i = 0; i < rp.nothers; i++)
		creplica_clear(&rp.others[i]);
	free(rp.others);
	memset(&rp, 0, sizeof(rp));
}

void ctl_replicas_leave(void (*left)(void))
{
	if (!rp.on || rp.leaving) {
		left();
		return;
	}
	rp.leaving = 1;
	ev_timer_stop(rp.loop, &rp.scan);
	ev_timer_stop(rp.loop, &rp.keep);
	ev_timer_stop(rp.loop, &rp.put_later);
	if (!rp.lease) {
		left();  /* no key to take away (never granted, or expired) */
		return;
	}
	rp.left = left;
	ev_timer_init(&rp.leave_wait, on_leave_wait, LEAVE_S, 0.);
	ev_timer_start(rp.loop, &rp.leave_wait);
	if (rp.st->ops->lease_revoke(rp.st->h, rp.lease, on_revoked, NULL) == -1)
		leave_done();
}

static void on_revoked(void *ctx, const struct cstore_result *r)
{
	if (r->status == CSTORE_OK || r->status == CSTORE_NOT_FOUND)
		log_info("cluster: this replica's key removed (its lease revoked)");
	else
		log_warn("cluster: this replica's lease not revoked (%s); its key ends with the "
			 "lease", r->error ? r->error : "store away");
	leave_done();
}

static void on_leave_wait(struct ev_loop *loop, ev_timer *t, int revents)
{
	log_warn("cluster: no answer to this replica's lease revoke within %.0f s; its key ends "
		 "with the lease", LEAVE_S);
	leave_done();
}

/* once: the revoke's answer or its wait, whichever comes first */
static void leave_done(void)
{
	void (*left)(void) = rp.left;

	ev_timer_stop(rp.loop, &rp.leave_wait);
	rp.left = NULL;
	if (left)
		left();
}

int ctl_replicas_owns(const char *key)
{
	return rp.on && !strncmp(key, rp.rprefix, strlen(rp.rprefix));
}

void ctl_replicas_list_begin(void)
{
	size_t i;

	for (i = 0; i < rp.nothers; i++)
		creplica_clear(&rp.others[i]);
	rp.nothers = 0;
}

static struct creplica *other(const char *id)
{
	size_t i;

	for (i = 0; i < rp.nothers; i++)
		if (!strcmp(rp.others[i].id, id))
			return &rp.others[i];
	return NULL;
}

static void drop_other(size_t i)
{
	creplica_clear(&rp.others[i]);
	rp.others[i] = rp.others[--rp.nothers];
}

void ctl_replicas_kv(const struct cstore_kv *kv)
{
	struct creplica r, *slot;
	char err[160];

	if (creplica_decode(kv->value, kv->value_len, &r, err, sizeof(err)) == -1) {
		log_warn("cluster: replica key %s ignored: %s", kv->key, err);
		return;
	}
	if (strcmp(kv->key + strlen(rp.rprefix), r.id)) {
		log_warn("cluster: replica key %s names replica %s; ignored", kv->key, r.id);
		creplica_clear(&r);
		return;
	}
	if (!strcmp(r.id, rp.self.id)) {
		creplica_clear(&r);  /* this replica's own: what it says is known here */
		return;
	}
	if (!(slot = other(r.id))) {
		if (rp.nothers == rp.capothers) {
			size_t cap = rp.capothers ? 2 * rp.capothers : 8;
			struct creplica *o = realloc(rp.others, cap * sizeof(*o));

			if (!o) {
				creplica_clear(&r);
				return;
			}
			rp.others = o;
			rp.capothers = cap;
		}
		slot = &rp.others[rp.nothers++];
		log_info("cluster: replica %s (%s) joined", r.id, r.control);
	} else {
		creplica_clear(slot);
	}
	*slot = r;
}

void ctl_replicas_deleted(const char *key)
{
	size_t i, plen = strlen(rp.rprefix);

	if (strncmp(key, rp.rprefix, plen))
		return;
	if (!strcmp(key + plen, rp.self.id)) {
		/* this replica's own key went (deleted by hand): put it again */
		rp.dirty = 1;
		publish();
		return;
	}
	for (i = 0; i < rp.nothers; i++)
		if (!strcmp(rp.others[i].id, key + plen)) {
			log_info("cluster: replica %s left (its lease ended)", rp.others[i].id);
			drop_other(i);
			return;
		}
}

size_t ctl_replicas_holding(const char *pool, const char *name, int64_t rev, cJSON *ids)
{
	size_t i, n = 0;

	for (i = 0; i < rp.nothers; i++)
		if (!creplica_empty_at(&rp.others[i], pool, name, rev)) {
			n++;
			if (ids)
				cJSON_AddItemToArray(ids, cJSON_CreateString(rp.others[i].id));
		}
	return n;
}

/* What this replica would say now into out (its empty list malloc'd). 0, or -1 on
 * ENOMEM. A draining backend counts as empty once nothing is in flight on it and its
 * key has a revision (a backend drained by discovery is no store key: nobody waits). */
static int what_now(struct creplica *out)
{
	struct generation *g = proc_current_generation();
	cJSON *ready;
	size_t i, k;

	*out = rp.self;
	out->empty = NULL;
	out->nempty = 0;
	out->applied = ctl_cluster_applied_rev();
	memcpy(out->config, ctl_plane.file_pools, sizeof(out->config));
	out->store_up = ctl_cluster_store_up();
	ready = ctl_ready_json(&out->ready);
	cJSON_Delete(ready);
	for (i = 0; g && i < g->npools; i++) {
		const struct pool *p = &g->pools[i];

		for (k = 0; k < p->nbackends && out->nempty < CREPLICA_EMPTY_MAX; k++) {
			struct backend *b = p->backends[k];
			int64_t rev;
			struct creplica_empty *e;

			if (atomic_load(&b->admin) != ADMIN_DRAINING || atomic_load(&b->active) ||
			    !(rev = ctl_cluster_key_rev(p->name, b->name)))
				continue;
			if (!out->empty && !(out->empty = calloc(CREPLICA_EMPTY_MAX, sizeof(*e)))) {
				generation_unref(g);
				return -1;
			}
			e = &out->empty[out->nempty++];
			snprintf(e->pool, sizeof(e->pool), "%s", p->name);
			snprintf(e->name, sizeof(e->name), "%s", b->name);
			e->rev = rev;
		}
	}
	generation_unref(g);
	return 0;
}

/* Every SCAN_S: a change of what this replica says is put (rate-limited). */
static void on_scan(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct creplica now;

	if (what_now(&now) == -1)
		return;
	if (creplica_same(&now, &rp.self)) {
		creplica_clear(&now);
	} else {
		creplica_clear(&rp.self);
		rp.self = now;
		rp.dirty = 1;
	}
	publish();
}

static void grant(void)
{
	if (rp.granting || rp.lease || rp.leaving)
		return;
	rp.granting = 1;
	if (rp.st->ops->lease_grant(rp.st->h, rp.ttl_s, on_grant, NULL) == -1)
		rp.granting = 0;  /* the next keep-alive tick tries again */
}

static void on_grant(void *ctx, const struct cstore_result *r)
{
	rp.granting = 0;
	if (r->status != CSTORE_OK || rp.leaving)
		return;  /* the store is away: the next keep-alive tick tries again; or stopping,
			  * when the lease ends unused */
	rp.lease = r->lease;
	rp.dirty = 1;
	publish();
}

/* Renews the lease; without one (not granted yet, or it expired) asks for one. */
static void on_keep(struct ev_loop *loop, ev_timer *t, int revents)
{
	if (!rp.lease) {
		grant();
		return;
	}
	if (!rp.keeping) {
		rp.keeping = 1;
		if (rp.st->ops->lease_keepalive(rp.st->h, rp.lease, on_keepalive, NULL) == -1)
			rp.keeping = 0;
	}
	publish();  /* a put that failed while the store was away */
}

static void on_keepalive(void *ctx, const struct cstore_result *r)
{
	rp.keeping = 0;
	if (r->status == CSTORE_NOT_FOUND && !rp.leaving) {
		/* it expired (the store was away longer than its TTL): the key went with it */
		log_warn("cluster: the lease of this replica's key expired; registering again");
		rp.lease = 0;
		rp.dirty = 1;
		grant();
	}
}

/* Puts this replica's key when it changed and the last put is PUT_GAP_S old, else
 * once it is; one put at a time. */
static void publish(void)
{
	double now = ev_now(rp.loop), wait = rp.last_put + PUT_GAP_S - now;
	char *text;
	struct cstore_op op;
	struct cstore_txn t;

	if (!rp.dirty || !rp.lease || rp.putting || rp.leaving || ev_is_active(&rp.put_later))
		return;
	if (wait > 0) {
		ev_timer_set(&rp.put_later, wait, 0.);
		ev_timer_start(rp.loop, &rp.put_later);
		return;
	}
	if (!(text = creplica_encode(&rp.self)))
		return;
	memset(&op, 0, sizeof(op));
	op.type = CSTORE_PUT;
	op.key = rp.key;
	op.value = text;
	op.value_len = strlen(text);
	op.lease = rp.lease;
	memset(&t, 0, sizeof(t));
	t.ops = &op;
	t.nops = 1;
	rp.dirty = 0;
	rp.last_put = now;
	rp.putting = 1;
	if (rp.st->ops->txn(rp.st->h, &t, on_put, NULL) == -1) {
		rp.putting = 0;
		rp.dirty = 1;
	}
	free(text);
}

static void on_put_later(struct ev_loop *loop, ev_timer *t, int revents)
{
	publish();
}

static void on_put(void *ctx, const struct cstore_result *r)
{
	rp.putting = 0;
	if (rp.leaving)
		return;  /* a put that crossed the revoke: nothing to register again */
	if (r->status == CSTORE_ERROR) {
		/* etcd refuses a put on a lease it no longer has */
		log_warn("cluster: this replica's key not put (%s); registering again",
			 r->error ? r->error : "?");
		rp.lease = 0;
		rp.dirty = 1;
		grant();
		return;
	}
	if (r->status != CSTORE_OK)
		rp.dirty = 1;  /* the next keep-alive tick puts it again */
	else
		publish();     /* what changed while this one was in flight */
}

/* One replica as GET /v1/cluster shows it. */
static cJSON *replica_json(const struct creplica *r, int self, int64_t head)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddBoolToObject(o, "self", self);
	cJSON_AddStringToObject(o, "control", r->control);
	cJSON_AddStringToObject(o, "version", r->version);
	cJSON_AddNumberToObject(o, "applied_revision", (double)r->applied);
	cJSON_AddBoolToObject(o, "latest", r->applied >= head);
	cJSON_AddBoolToObject(o, "store_up", r->store_up);
	cJSON_AddBoolToObject(o, "ready", r->ready);
	cJSON_AddNumberToObject(o, "started", r->started);
	cJSON_AddStringToObject(o, "pools_config", r->config);
	a = cJSON_AddArrayToObject(o, "empty");
	for (i = 0; a && i < r->nempty; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "pool", r->empty[i].pool);
		cJSON_AddStringToObject(e, "name", r->empty[i].name);
		cJSON_AddNumberToObject(e, "revision", (double)r->empty[i].rev);
		cJSON_AddItemToArray(a, e);
	}
	return o;
}

cJSON *ctl_cluster_json(void)
{
	cJSON *o = cJSON_CreateObject(), *s, *a;
	struct cstore_health h;
	struct creplica me;
	int64_t head = ctl_cluster_head();
	size_t i;

	if (!o || what_now(&me) == -1) {
		cJSON_Delete(o);
		return NULL;
	}
	ctl_cluster_store_health(&h);
	cJSON_AddStringToObject(o, "cluster", ctl_cluster_name());
	cJSON_AddStringToObject(o, "self", rp.self.id);
	s = cJSON_AddObjectToObject(o, "store");
	cJSON_AddStringToObject(s, "kind", rp.st && rp.st->ops ? rp.st->ops->name : "");
	cJSON_AddStringToObject(s, "state", ctl_cluster_store_up() ? "up" : "unavailable");
	cJSON_AddNumberToObject(s, "revision", (double)ctl_cluster_store_rev());
	cJSON_AddStringToObject(s, "endpoint", h.endpoint);
	if (h.last_error[0])
		cJSON_AddStringToObject(s, "last_error", h.last_error);
	cJSON_AddNumberToObject(o, "latest_revision", (double)head);
	a = cJSON_AddArrayToObject(o, "replicas");
	cJSON_AddItemToArray(a, replica_json(&me, 1, head));
	for (i = 0; i < rp.nothers; i++)
		cJSON_AddItemToArray(a, replica_json(&rp.others[i], 0, head));
	/* a reload is each replica's own: this says whether they all run the same pools (an
	 * older replica that does not say is not counted) */
	for (i = 0; i < rp.nothers; i++)
		if (rp.others[i].config[0] && me.config[0] && strcmp(rp.others[i].config, me.config))
			break;
	cJSON_AddBoolToObject(o, "pools_agree", i == rp.nothers);
	creplica_clear(&me);
	return o;
}
