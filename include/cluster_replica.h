/* cluster_replica.h: the replicas of a cluster: each keeps a lease-bound key
 * <prefix>@replicas/<id> saying what it applied and which drains it has emptied, and
 * every replica reads the others' from its watch (control/cluster_replicas.c; the
 * key's JSON in control/cluster_record.c). */
#ifndef FULCRUM_CLUSTER_REPLICA_H
#define FULCRUM_CLUSTER_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "cluster_store.h"

#define CREPLICA_ID_MAX 64           /* [A-Za-z0-9._-]{1,63} */
#define CREPLICA_TEXT_MAX 128        /* control address, version */
#define CREPLICA_NAME_MAX 64         /* a pool's or backend's name */
#define CREPLICA_EMPTY_MAX 256       /* drains one key reports */

/* A draining backend with nothing left on it here, as of the backend key's revision. */
struct creplica_empty {
	char pool[CREPLICA_NAME_MAX];
	char name[CREPLICA_NAME_MAX];
	int64_t rev;                     /* the backend's key revision (its drain's, or later) */
};

/* What one replica says about itself. */
struct creplica {
	char id[CREPLICA_ID_MAX];
	char control[CREPLICA_TEXT_MAX]; /* its control API address ("" = none) */
	char version[CREPLICA_TEXT_MAX]; /* fulcrum's version */
	int64_t applied;                 /* the store revision of the state it runs */
	double started;                  /* wall clock at its start, seconds */
	int store_up;                    /* it reaches the store and its watch runs */
	int ready;                       /* its /readyz says ready */
	char config[17];                 /* its config file's pools, digested
	                                  * (ctl_pools_fingerprint); "" = not said */
	struct creplica_empty *empty;    /* nempty of them, malloc'd */
	size_t nempty;
};

/* ---- The key's JSON (control/cluster_record.c, pure) ---- */

/* r as the key's value: {"id","control","version","applied_revision","started",
 * "store_up","ready","pools_config","empty":[{"pool","name","revision"}]}; malloc'd,
 * NULL on ENOMEM. */
char *creplica_encode(const struct creplica *r);
/* Reads a key's value into r (cleared first; free with creplica_clear). "id" and
 * "applied_revision" are required, the rest optional (an older or newer replica's key
 * still counts). 0, or -1 with err. */
int creplica_decode(const char *text, size_t len, struct creplica *r, char *err, size_t errlen);
void creplica_clear(struct creplica *r);
/* 1 when r reports pool/name empty at revision rev or later. */
int creplica_empty_at(const struct creplica *r, const char *pool, const char *name, int64_t rev);
/* 1 when a and b say the same (what a re-put would change). */
int creplica_same(const struct creplica *a, const struct creplica *b);
/* id for a replica without cluster.replica_id: host and control address, every
 * character outside [A-Za-z0-9._-] made '-', cut to CREPLICA_ID_MAX - 1. */
void creplica_default_id(const char *host, const char *control, char *out, size_t len);

/* ---- The replicas (control/cluster_replicas.c), on the control loop ---- */

/* Starts this replica's registration under prefix ("/fulcrum/<name>/") on st: a lease
 * of ttl_s, its key put and kept alive, re-put (at most twice a second) when what it
 * says changes. id NULL: creplica_default_id. Copies what it keeps. */
void ctl_replicas_start(struct ev_loop *loop, struct cluster_store *st, const char *prefix,
			const char *id, unsigned ttl_s);
/* Stops the timers and forgets the table (the store is freed by the caller). */
void ctl_replicas_stop(void);
/* A replica that stops takes its key away at once, its lease revoked, so that the others
 * stop counting it (GET /v1/cluster, drain --wait) now rather than when the lease would
 * end; nothing is granted, put or renewed after this. left() is called when the store
 * answered, or after a second without an answer, or at once outside cluster mode. */
void ctl_replicas_leave(void (*left)(void));
/* 1 when key (under the prefix) is one of the replicas' keys, which are not journal
 * records: the list and the watch (control/cluster.c, through the struct
 * ctl_cluster_replicas control/lifecycle.c hands it) hand them here. */
int ctl_replicas_owns(const char *key);
/* Before a list: the table will be rebuilt from ctl_replicas_kv calls. */
void ctl_replicas_list_begin(void);
/* A replicas' key, from a list or a put event. */
void ctl_replicas_kv(const struct cstore_kv *kv);
/* A replicas' key deleted (its lease expired, it was revoked, or deleted by hand). */
void ctl_replicas_deleted(const char *key);
/* Live replicas other than this one that do not report pool/name empty at rev or
 * later: their count, and their ids appended to ids (an array, may be NULL). */
size_t ctl_replicas_holding(const char *pool, const char *name, int64_t rev, cJSON *ids);
/* GET /v1/cluster: the cluster, its store and every replica. NULL on ENOMEM. */
cJSON *ctl_cluster_json(void);

/* ---- From control/cluster.c, for the replicas and readiness ---- */

/* The store revision of the last answer heard from the store (list, watch, write). */
int64_t ctl_cluster_store_rev(void);
/* The cluster's name. */
const char *ctl_cluster_name(void);
/* The key every write also puts, so that the revision of the last change is known:
 * "<prefix>@head". */
const char *ctl_cluster_head_key(void);
/* The revision of the latest change the store holds, as this replica knows it. */
int64_t ctl_cluster_head(void);
/* The store's health (member, last error), for GET /v1/cluster. */
void ctl_cluster_store_health(struct cstore_health *out);
/* Whether this replica may say ready: 1, or 0 with why (a sentence) in detail. In
 * cluster mode it is ready once it applied the store's whole state since it started,
 * or, while the store cannot be reached, when its state dir holds a copy of the
 * cluster's state from an earlier run. */
int ctl_cluster_ready(char *detail, size_t len);

#endif
