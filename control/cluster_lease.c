/* cluster_lease.c: cluster mode's write of one backend's key (ctl_cluster_write): a
 * registration with a lease (ttl_s) first gets its etcd lease, granted or kept alive, so
 * that etcd removes it; then the txn and the answer (control/cluster.c). */
#include <inttypes.h>

#include "clock.h"
#include "cluster_write.h"
#include "ctl_http.h"
#include "log.h"

static void lease_then_txn(struct pending *p);
static void on_keepalive(void *ctx, const struct cstore_result *r);
static void on_grant(void *ctx, const struct cstore_result *r);

void ctl_cluster_write(struct ctl_conn *c, const struct ctl_jentry *e, int64_t if_rev,
		       ctl_cluster_then_fn then, const void *arg, size_t arglen)
{
	struct pending *p;

	if (ctl_plane.stopping) {
		if (c)
			ctl_reply_error(c, 503, "unavailable", "fulcrum is stopping");
		return;
	}
	p = cluster_pending_new(c, then, arg, arglen);
	if (!p) {
		if (c)
			ctl_reply_error(c, 500, "internal", "the change could not be encoded");
		return;
	}
	p->e = *e;
	/* remembered so that a later edit of this backend in the file can overtake it */
	ctl_backend_fingerprint(ctl_plane.file, p->e.pool, p->e.name, p->e.file_fp);
	p->if_rev = if_rev;
	cluster_key_of(e->pool, e->name, p->key, sizeof(p->key));
	lease_then_txn(p);
}

/* A registration with a lease (ttl_s) is a key bound to a store lease of that TTL, so
 * that etcd deletes it when no one renews it. The lease the key holds is reused while its
 * TTL is the entry's: renewed (keep-alive) when the entry's lease runs from a new time (a
 * PUT), not renewed when it runs on as it was (a drain, an admin change); a key without
 * one, or with one of another TTL, gets a new lease. Then the txn, unless the write is a
 * renewal alone: that is the keep-alive only, no write, no revision. */
static void lease_then_txn(struct pending *p)
{
	struct cluster_store *st = ctl_cluster_store();
	int64_t lease = ctl_cluster_key_lease(p->e.pool, p->e.name);
	const struct ctl_jentry *cur = ctl_journal_find(&ctl_plane.journal, p->e.pool, p->e.name);
	int rc;

	if (p->e.op != CTL_JOP_SET || !p->e.ttl_s) {
		cluster_send_txn(p);
		return;
	}
	if (lease && cur && cur->op == CTL_JOP_SET && cur->ttl_s == p->e.ttl_s) {
		p->lease = lease;
		if (cur->expires == p->e.expires) {
			cluster_send_txn(p);
			return;
		}
		rc = st->ops->lease_keepalive(st->h, p->lease, on_keepalive, p);
	} else {
		rc = st->ops->lease_grant(st->h, p->e.ttl_s, on_grant, p);
	}
	if (rc == -1)
		cluster_refuse(p, NULL);
}

/* The lease renewed: a renewal alone is answered now (the journal here records the new
 * end, no generation); anything else goes on to the txn. A lease that ended took its key
 * with it: the registration is made again, on a new lease, compared on the key's absence
 * unless the caller gave a revision. */
static void on_keepalive(void *ctx, const struct cstore_result *r)
{
	struct pending *p = ctx;
	struct cluster_store *st = ctl_cluster_store();
	const struct ctl_jentry *cur;

	cluster_heard(r);
	if (r->status == CSTORE_NOT_FOUND) {
		log_info("lease: %s: store lease %" PRId64 " ended before this renewal; registering "
			 "again on a new one", p->key, p->lease);
		p->lease = 0;
		if (p->if_rev < 0)
			p->if_rev = 0;
		if (st->ops->lease_grant(st->h, p->e.ttl_s, on_grant, p) == -1)
			cluster_refuse(p, NULL);
		return;
	}
	if (r->status != CSTORE_OK) {
		cluster_refuse(p, r);
		return;
	}
	/* what the lease has left as etcd says, for lease_expires_in_s here */
	p->e.expires = clock_wall_s() + (double)(r->ttl > 0 ? r->ttl : p->e.ttl_s);
	cur = ctl_journal_find(&ctl_plane.journal, p->e.pool, p->e.name);
	if (p->if_rev < 0 && cur && cluster_same_config(cur, &p->e)) {
		cluster_renewed(p);
		return;
	}
	cluster_send_txn(p);
}

static void on_grant(void *ctx, const struct cstore_result *r)
{
	struct pending *p = ctx;

	cluster_heard(r);
	if (r->status != CSTORE_OK) {
		cluster_refuse(p, r);
		return;
	}
	p->lease = r->lease;
	p->granted = 1;
	cluster_send_txn(p);
}

