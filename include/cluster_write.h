/* cluster_write.h: a write of cluster mode between the API call and its answer, and the
 * steps of it that control/cluster.c (the pending calls, the txn, the answer) gives
 * control/cluster_lease.c (a backend's write, the etcd lease of a registration). Internal
 * to cluster mode. */
#ifndef FULCRUM_CLUSTER_WRITE_H
#define FULCRUM_CLUSTER_WRITE_H

#include <stdint.h>

#include <ev.h>

#include "cluster_store.h"
#include "ctl_api.h"

#define CLUSTER_KEY_MAX 256

/* An API call whose change is sent or committed, waiting to be applied here. */
struct pending {
	struct pending *next;
	struct ctl_conn *c;              /* NULL: no one waits (gone, or a lease expiry) */
	ctl_cluster_then_fn then;
	unsigned char arg[CTL_CLUSTER_ARG_MAX];
	char key[CLUSTER_KEY_MAX];
	struct ctl_jentry e;             /* the change */
	int64_t if_rev;                  /* what the txn compares on; -1: the key's as applied */
	int64_t lease;                   /* the store lease the key is put bound to, 0 = none */
	int granted;                     /* that lease was granted for this write */
	int64_t rev;                     /* the commit's revision; 0 while the txn runs */
	ev_timer timeout;                /* committed but not seen in the watch: answer anyway */
};

/* A pending call for c (NULL: no one waits) answered by then(c, arg) (arg: arglen bytes,
 * copied) once applied here: linked, its timeout set up, c's answer deferred. The caller
 * sets its key and what it sends. NULL when arg does not fit or memory is short. */
struct pending *cluster_pending_new(struct ctl_conn *c, ctl_cluster_then_fn then,
				   const void *arg, size_t arglen);
/* The key of pool/name: "<prefix><pool>/<name>". */
void cluster_key_of(const char *pool, const char *name, char *out, size_t len);
/* The txn of p: its key's record bound to p->lease, and the head marker. */
void cluster_send_txn(struct pending *p);
/* Ends p unanswered by the store (r NULL: the call could not start): 503 or 500. */
void cluster_refuse(struct pending *p, const struct cstore_result *r);
/* Ends p with its answer (then, or 200). */
void cluster_finish(struct pending *p);
/* p was a renewal alone, kept alive in the store: the journal here records the lease's
 * new end (no generation, no revision), then p ends with its answer. */
void cluster_renewed(struct pending *p);
/* The same config: what a generation is built from, not the lease. */
int cluster_same_config(const struct ctl_jentry *a, const struct ctl_jentry *b);
/* A store answer heard: its revision noted, the store up if it answered. */
void cluster_heard(const struct cstore_result *r);

#endif
