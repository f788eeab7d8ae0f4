/* cluster_rollback.c: rollback in cluster mode: generation N is the store's state at
 * revision N, and going back to it is one transaction that every replica applies. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "cluster_replica.h"
#include "cluster_rollback.h"
#include "cluster_store.h"
#include "ctl_api.h"
#include "ctl_http.h"
#include "log.h"
#include "worker.h"

#define KEY_MAX 256
#define TTLS_MAX 8                   /* distinct lease TTLs among the objects brought back */

/* One object of revision `to` that differs now: put again. */
struct put {
	char key[KEY_MAX];
	struct ctl_jentry e;
	int ttl_slot;                    /* -1: no lease, or the key's current one (e.lease) */
	int64_t lease;
};

/* A rollback between its read of revision `to` and its commit. */
struct rb {
	struct ctl_conn *c;              /* NULL: the client left; nothing is written */
	int64_t to;
	int64_t head;                    /* the head marker's revision it compares on */
	struct put *puts;
	size_t nputs;
	char (*dels)[KEY_MAX];
	size_t ndels;
	uint32_t ttls[TTLS_MAX];         /* lease TTLs to grant, one lease each */
	int64_t leases[TTLS_MAX];
	size_t nttls, granted;
};

struct reply_arg {
	int64_t to;
};

static void on_read(void *ctx, const struct cstore_result *r);
static int plan(struct rb *b, const struct cstore_result *r);
static int plan_put(struct rb *b, const struct cstore_kv *kv, const struct ctl_jentry *e);
static void grant_next(struct rb *b);
static void on_grant(void *ctx, const struct cstore_result *r);
static void commit(struct rb *b);
static void reply(struct ctl_conn *c, void *arg);
static void on_cancel(void *arg);
static void rb_free(struct rb *b);
static void refuse_store(struct rb *b, const struct cstore_result *r);

void ctl_cluster_rollback(struct ctl_conn *c, uint64_t to)
{
	struct rb *b;
	int64_t newest = ctl_cluster_store_rev();

	if (!ctl_cluster_store_up()) {
		ctl_reply_error(c, 503, "store_unavailable", "the cluster store cannot be reached: "
				"a rollback is one write through it; nothing changed");
		return;
	}
	if (to == 0 || to > (uint64_t)newest) {
		ctl_reply_error(c, 404, "unknown_generation", "generation %" PRIu64 " is no revision "
				"of the cluster store (newest %" PRId64 "); in cluster mode a generation "
				"is the store's state at that revision", to, newest);
		return;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		ctl_reply_error(c, 500, "internal", "out of memory");
		return;
	}
	b->c = c;
	b->to = (int64_t)to;
	b->head = ctl_cluster_head();
	if (ctl_cluster_store()->ops->list_at(ctl_cluster_store()->h, ctl_cluster_prefix(), b->to,
					      on_read, b) == -1) {
		free(b);
		ctl_reply_error(c, 500, "internal", "the store call could not start");
		return;
	}
	ctl_conn_defer(c, on_cancel, b);
}

/* The state at revision `to`: what to put and delete to make it the state again. */
static void on_read(void *ctx, const struct cstore_result *r)
{
	struct rb *b = ctx;

	if (!b->c) {
		rb_free(b);
		return;
	}
	if (r->status == CSTORE_ERROR) {
		ctl_reply_error(b->c, 404, "unknown_generation", "the store cannot give its state at "
				"revision %" PRId64 ": %s (compacted away?); nothing changed", b->to,
				r->error ? r->error : "?");
		rb_free(b);
		return;
	}
	if (r->status != CSTORE_OK) {
		refuse_store(b, r);
		return;
	}
	if (plan(b, r) == -1) {
		rb_free(b);
		return;
	}
	grant_next(b);
}

/* Fills b from the list at `to` and what is applied here: a put of every object whose key
 * changed since (its mod revision differs), a delete of every object made since. 0, or -1
 * with c answered. */
static int plan(struct rb *b, const struct cstore_result *r)
{
	const struct ctl_journal *j = &ctl_plane.journal;
	const char *prefix = ctl_cluster_prefix();
	size_t i, k;

	b->puts = r->nkvs ? calloc(r->nkvs, sizeof(*b->puts)) : NULL;
	b->dels = j->n ? calloc(j->n, sizeof(*b->dels)) : NULL;
	if ((r->nkvs && !b->puts) || (j->n && !b->dels)) {
		ctl_reply_error(b->c, 500, "internal", "out of memory");
		return -1;
	}
	for (i = 0; i < r->nkvs; i++) {
		const struct cstore_kv *kv = &r->kvs[i];
		struct ctl_jentry e;

		if (!ctl_cluster_state_key(kv->key))
			continue;
		if (ctl_journal_decode(kv->value, kv->value_len, &e) == -1) {
			log_warn("cluster: rollback: key %s at revision %" PRId64 " holds no record "
				 "fulcrum wrote; left out", kv->key, b->to);
			continue;
		}
		if (ctl_cluster_key_rev(e.pool, e.name) == kv->mod_rev)
			continue;  /* unchanged since */
		if (plan_put(b, kv, &e) == -1)
			return -1;
	}
	for (i = 0; i < j->n; i++) {
		const struct ctl_jentry *cur = &j->entries[i];
		int there = 0;

		for (k = 0; k < r->nkvs && !there; k++) {
			size_t n = strlen(prefix), pl = strlen(cur->pool);
			const char *key = r->kvs[k].key;

			there = !strncmp(key, prefix, n) && !strncmp(key + n, cur->pool, pl) &&
				key[n + pl] == '/' && !strcmp(key + n + pl + 1, cur->name);
		}
		if (!there)
			snprintf(b->dels[b->ndels++], KEY_MAX, "%s%s/%s", prefix, cur->pool, cur->name);
	}
	return 0;
}

/* One object to put back. A registration with a lease comes back on a lease: the key's
 * own while it still has one of that TTL, else a new one (its hook must renew it, as
 * after a local rollback). */
static int plan_put(struct rb *b, const struct cstore_kv *kv, const struct ctl_jentry *e)
{
	struct put *p = &b->puts[b->nputs];
	const struct ctl_jentry *cur = ctl_journal_find(&ctl_plane.journal, e->pool, e->name);
	int64_t lease = ctl_cluster_key_lease(e->pool, e->name);
	size_t t;

	snprintf(p->key, sizeof(p->key), "%s", kv->key);
	p->e = *e;
	p->ttl_slot = -1;
	if (e->op == CTL_JOP_SET && e->ttl_s) {
		if (lease && cur && cur->op == CTL_JOP_SET && cur->ttl_s == e->ttl_s) {
			p->lease = lease;
			p->e.expires = cur->expires;
		} else {
			for (t = 0; t < b->nttls && b->ttls[t] != e->ttl_s; t++)
				;
			if (t == TTLS_MAX) {
				ctl_reply_error(b->c, 409, "rollback_too_varied", "the registrations "
						"revision %" PRId64 " brings back have more than %d lease "
						"TTLs; nothing changed", b->to, TTLS_MAX);
				return -1;
			}
			if (t == b->nttls)
				b->ttls[b->nttls++] = e->ttl_s;
			p->ttl_slot = (int)t;
			p->e.expires = clock_wall_s() + e->ttl_s;
		}
	}
	b->nputs++;
	return 0;
}

/* The leases of the registrations brought back, one TTL at a time, then the commit. */
static void grant_next(struct rb *b)
{
	struct cluster_store *st = ctl_cluster_store();

	if (b->granted == b->nttls) {
		commit(b);
		return;
	}
	if (st->ops->lease_grant(st->h, b->ttls[b->granted], on_grant, b) == -1) {
		ctl_reply_error(b->c, 500, "internal", "the store call could not start");
		rb_free(b);
	}
}

static void on_grant(void *ctx, const struct cstore_result *r)
{
	struct rb *b = ctx;

	if (!b->c) {
		rb_free(b);  /* the leases granted bind nothing: they end by themselves */
		return;
	}
	if (r->status != CSTORE_OK) {
		refuse_store(b, r);
		return;
	}
	b->leases[b->granted++] = r->lease;
	grant_next(b);
}

/* One transaction compared on the head marker (every write moves it: any change since
 * this replica's view gives a 409): the puts, the deletes, the marker, the head. */
static void commit(struct rb *b)
{
	size_t nops = b->nputs + b->ndels + 2, i, k = 0;
	struct cstore_op *ops = calloc(nops, sizeof(*ops));
	char (*recs)[CTL_RECORD_MAX + 32] = b->nputs ? calloc(b->nputs, sizeof(*recs)) : NULL;
	char mkey[KEY_MAX], *marker;
	struct crollback m = { .to = b->to, .from = b->head, .time = clock_wall_s() };
	struct reply_arg a = { .to = b->to };
	struct cstore_txn t;

	marker = crollback_encode(&m);
	if (!ops || (b->nputs && !recs) || !marker) {
		ctl_reply_error(b->c, 500, "internal", "out of memory");
		goto out;
	}
	for (i = 0; i < b->nputs; i++) {
		struct put *p = &b->puts[i];
		struct ctl_jentry w = p->e;

		w.time = 0;
		w.seq = 0;
		w.gen = 0;
		ops[k].type = CSTORE_PUT;
		ops[k].key = p->key;
		ops[k].value = recs[i];
		ops[k].value_len = ctl_journal_encode(&w, recs[i], sizeof(recs[i]));
		ops[k].lease = p->ttl_slot >= 0 ? b->leases[p->ttl_slot] : p->lease;
		if (!ops[k].value_len) {
			ctl_reply_error(b->c, 500, "internal", "a record could not be encoded");
			goto out;
		}
		k++;
	}
	for (i = 0; i < b->ndels; i++) {
		ops[k].type = CSTORE_DELETE;
		ops[k++].key = b->dels[i];
	}
	snprintf(mkey, sizeof(mkey), "%s%s", ctl_cluster_prefix(), CROLLBACK_KEY);
	ops[k].type = CSTORE_PUT;
	ops[k].key = mkey;
	ops[k].value = marker;
	ops[k++].value_len = strlen(marker);
	ops[k].type = CSTORE_PUT;
	ops[k].key = ctl_cluster_head_key();
	ops[k].value = ctl_cluster_name();
	ops[k++].value_len = strlen(ctl_cluster_name());
	t.cmp_key = ctl_cluster_head_key();
	t.cmp_rev = b->head;
	t.ops = ops;
	t.nops = k;
	/* answers c from here on (the request is built before this returns) */
	ctl_cluster_commit(b->c, &t, "@head", reply, &a, sizeof(a));
	b->c = NULL;
out:
	free(marker);
	free(recs);
	free(ops);
	rb_free(b);
}

static void reply(struct ctl_conn *c, void *arg)
{
	const struct reply_arg *a = arg;
	struct generation *g = proc_current_generation();
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "generation", (double)g->id);
	cJSON_AddNumberToObject(o, "rolled_back_to", (double)a->to);
	generation_unref(g);
	ctl_reply_json(c, 200, o);
}

static void on_cancel(void *arg)
{
	struct rb *b = arg;

	b->c = NULL;
}

static void refuse_store(struct rb *b, const struct cstore_result *r)
{
	ctl_reply_error(b->c, 503, "store_unavailable", "the cluster store did not answer (%s); "
			"nothing changed", r->error ? r->error : "no member answered");
	rb_free(b);
}

static void rb_free(struct rb *b)
{
	free(b->puts);
	free(b->dels);
	free(b);
}
