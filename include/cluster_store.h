/* cluster_store.h: the store a cluster of fulcrum replicas converges through (etcd now, a
 * Kubernetes-API store later): list, conditional transaction, leases, watch, health. Every
 * call is asynchronous on the control thread's libev loop; no call blocks or starts a thread. */
#ifndef FULCRUM_CLUSTER_STORE_H
#define FULCRUM_CLUSTER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

/* One key as the store holds it. key and value are NUL-terminated for convenience but
 * are bytes: their lengths count, a value may hold NULs. */
struct cstore_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t mod_rev;                 /* revision of the key's last change */
	int64_t create_rev;              /* revision that created it */
	int64_t lease;                   /* the lease it is bound to, 0 = none */
};

/* How a call ended. */
enum cstore_status {
	CSTORE_OK = 0,
	CSTORE_CONFLICT,                 /* txn: the compared key moved on; kvs hold its state */
	CSTORE_NOT_FOUND,                /* lease keep-alive or revoke: the lease is gone */
	CSTORE_UNAVAILABLE,              /* no member answered in time, or a write's outcome is
					  * unknown (it may or may not have committed) */
	CSTORE_ERROR                     /* the store refused the request (error says why) */
};

/* A finished call, valid during the completion callback only (the store frees it). */
struct cstore_result {
	enum cstore_status status;
	int64_t rev;                     /* store revision the answer was taken at: of the list,
					  * of the commit, of the conflicting read */
	const struct cstore_kv *kvs;     /* list: the keys, sorted; conflict: the compared key
					  * (none when it is absent) */
	size_t nkvs;
	int64_t lease;                   /* lease grant and keep-alive: the lease */
	int64_t ttl;                     /* lease grant and keep-alive: seconds it has left */
	const char *error;               /* not OK: what went wrong, for a log line or a 503 */
};

/* Called once per started call, from the loop (never from inside the call that started
 * it). ctx is the caller's. */
typedef void (*cstore_done_fn)(void *ctx, const struct cstore_result *r);

enum cstore_op_type {
	CSTORE_PUT = 0,
	CSTORE_DELETE,                   /* the key */
	CSTORE_DELETE_PREFIX             /* every key starting with key */
};

/* One write of a transaction. */
struct cstore_op {
	enum cstore_op_type type;
	const char *key;                 /* NUL-terminated */
	const void *value;               /* PUT: the bytes (value_len of them) */
	size_t value_len;
	int64_t lease;                   /* PUT: bind the key to this lease, 0 = none */
};

/* "Apply ops if cmp_key's mod revision is still cmp_rev (0: cmp_key must be absent)";
 * cmp_key NULL applies them unconditionally. All ops commit at one revision, or none. */
struct cstore_txn {
	const char *cmp_key;
	int64_t cmp_rev;
	const struct cstore_op *ops;
	size_t nops;
};

enum cstore_watch_what {
	CSTORE_WATCH_EVENTS = 0,         /* events, in revision order */
	CSTORE_WATCH_COMPACTED,          /* the store no longer has the revisions asked for:
					  * list again, then watch from the list's rev + 1 */
	CSTORE_WATCH_ERROR               /* the watch broke (error says why): watch again from
					  * the last revision seen + 1 */
};

enum cstore_event_type {
	CSTORE_EV_PUT = 0,
	CSTORE_EV_DELETE
};

struct cstore_event {
	enum cstore_event_type type;
	struct cstore_kv kv;             /* DELETE: key and mod_rev (the deletion's) only */
};

/* What a watch reports, valid during the callback only. After COMPACTED or ERROR the
 * watch is over: nothing more comes; the caller still ends it with unwatch. */
struct cstore_watch_report {
	enum cstore_watch_what what;
	const struct cstore_event *events;
	size_t nevents;
	int64_t rev;                     /* the store's revision when the report was sent */
	int64_t compact_rev;             /* COMPACTED: the oldest revision still kept */
	const char *error;               /* ERROR: why */
};

typedef void (*cstore_watch_fn)(void *ctx, const struct cstore_watch_report *r);

struct cstore_watch;                 /* one watch, owned by the store until unwatch */

/* Whether the store can be reached, as the last calls found it. */
struct cstore_health {
	int reachable;                   /* the last call that ended reached a member */
	double last_ok;                  /* ev_now of the last answer from a member, 0 = none */
	char last_error[256];            /* the last failure ("" = none since the last answer) */
	char endpoint[256];              /* the member calls go to now */
};

/* A store implementation: every call takes the handle first. The calls that start
 * something return 0 and call done (or fn) later, exactly once per call (a watch: until
 * it is over or unwatched), or -1 at once when the call cannot start (out of memory, a
 * bad argument), done not called then. */
struct cluster_store_ops {
	const char *name;                /* "etcd" */
	/* Every key starting with prefix, their values and revisions. */
	int (*list)(void *h, const char *prefix, cstore_done_fn done, void *ctx);
	/* The same as it was at revision rev (> 0); ERROR when the store compacted it away
	 * or has not reached it. */
	int (*list_at)(void *h, const char *prefix, int64_t rev, cstore_done_fn done, void *ctx);
	int (*txn)(void *h, const struct cstore_txn *t, cstore_done_fn done, void *ctx);
	/* A lease of ttl_s seconds: result lease and ttl. */
	int (*lease_grant)(void *h, int64_t ttl_s, cstore_done_fn done, void *ctx);
	/* Renews the lease: result ttl, or NOT_FOUND when it expired. */
	int (*lease_keepalive)(void *h, int64_t lease, cstore_done_fn done, void *ctx);
	/* Ends the lease; the keys bound to it are deleted. */
	int (*lease_revoke)(void *h, int64_t lease, cstore_done_fn done, void *ctx);
	/* Watches every key starting with prefix, from revision from_rev on (0: from now).
	 * NULL when it cannot start. */
	struct cstore_watch *(*watch)(void *h, const char *prefix, int64_t from_rev,
				      cstore_watch_fn fn, void *ctx);
	/* Ends and frees a watch (also after it reported COMPACTED or ERROR). May be called
	 * from the watch's own callback. */
	void (*unwatch)(void *h, struct cstore_watch *w);
	void (*health)(void *h, struct cstore_health *out);
	/* Cancels every call in progress (their callbacks are not called) and frees h. Not
	 * from inside one of its callbacks. */
	void (*free)(void *h);
};

/* A store: its operations and its handle. */
struct cluster_store {
	const struct cluster_store_ops *ops;
	void *h;
};

/* ---- The etcd v3 store (control/store_etcd.c) ---- */

#define CSTORE_ENDPOINTS_MAX 16

struct cstore_etcd_cfg {
	const char *endpoints[CSTORE_ENDPOINTS_MAX]; /* "http://host:port" or "https://..." */
	size_t nendpoints;
	const char *ca_file;             /* https: the CA to verify members with (NULL: system's) */
	const char *cert_file;           /* https: client certificate (NULL: none) */
	const char *key_file;            /* its key */
	unsigned timeout_ms;             /* bound of every call, failover included (0: 5000) */
};

/* An etcd store on loop (the control thread's, which drives libcurl through
 * util/curl_loop.c). The strings are copied. 0 and *out set, or -1 with err filled. */
int cstore_etcd_new(struct ev_loop *loop, const struct cstore_etcd_cfg *cfg,
		    struct cluster_store *out, char *err, size_t errlen);

#endif
