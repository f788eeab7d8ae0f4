/* ctl_api.h: the control plane behind the API: its state (the config the journal is laid
 * over, the journal, the generations), the changes it makes, body validation and waits. */
#ifndef FULCRUM_CTL_API_H
#define FULCRUM_CTL_API_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "balance.h"
#include "config-t.h"
#include "ctl_http.h"
#include "ctl_journal.h"
#include "ctl_store.h"
#include "generation.h"

/* The control plane (control/plane.c; changed by control/state.c); lives on the
 * control thread only. */
struct ctl_plane {
	const char *config_path;         /* NULL = the embedded default */
	struct config *(*load)(const char *path, struct config_errors *errs);
	struct config *file;             /* the file as last loaded (start, reload) */
	char file_pools[17];             /* its pools' digest (ctl_pools_fingerprint), made
	                                  * where file is set: what a replica tells the others */
	struct config *rollback_base;    /* after a rollback: its config, until the next reload */
	struct ctl_journal journal;
	struct ctl_store store;
	uint64_t next_id;                /* id of the next generation */
	uint64_t kept_id;                /* the kept operator config the running generation is
	                                  * built on (0: none kept) */
	char source[CTL_SOURCE_MAX];     /* what made the current generation */
	int stopping;                    /* SIGTERM seen: not ready, no more changes */
	double started;                  /* wall clock at start */
	struct ev_loop *loop;
	char *state_dir;
	int lock_fd;                     /* state_dir/lock, flock'd while we own state_dir */
	int locked_out;                  /* another process owns state_dir: read only, retried */
	ev_timer lock_retry;
	int api;                         /* the control API listens */
};

extern struct ctl_plane ctl_plane;

/* The config the journal is laid over now (the file's, or a rollback's). */
const struct config *ctl_base(void);
/* The live backend named name in pool of generation g, or NULL. */
struct backend *ctl_live_backend(struct generation *g, const char *pool, const char *name);
/* 1 when b takes new requests (admin active, health up, weight above 0). */
int ctl_in_rotation(const struct backend *b);

/* ---- Its state files (control/state.c), for the start and stop (control/lifecycle.c) ---- */

/* Takes file's state_dir (creating it, locking it against a second process), replays the
 * journal (dropping the leases that ran out while fulcrum was down) and returns file's
 * config with the journal laid over it; NULL after logging why fulcrum must not start. */
struct config *ctl_state_open(const struct config *file);
/* With the first generation g published on loop: keeps it, and retries the lock of a
 * state_dir another process held. */
void ctl_state_start(struct ev_loop *loop, struct generation *g);
/* Closes the journal, the store and state_dir's lock; forgets the configs. */
void ctl_state_close(void);

/* ---- Changes (control/state.c) ---- */

/* Writes e to the journal (fsync'd), then builds and publishes the generation with it.
 * source names the change for the generation list. On success returns 0 and *gen the
 * new generation id; otherwise nothing changed, err says why and the return value is
 * the HTTP status to answer (503: journal or state not writable / stopping; 500). */
int ctl_change_backend(struct ctl_jentry *e, const char *source, uint64_t *gen, char *err,
		       size_t errlen);

/* Writes e (the backend's settings as they are, with a new or renewed lease) to the
 * journal only: leases are not part of any config, so no generation is made. 0, or the
 * HTTP status to answer with err. */
int ctl_renew_lease(struct ctl_jentry *e, char *err, size_t errlen);

/* ---- Leases (control/lease.c) ----
 * A registration with a lease (ttl_s) is removed when it is not renewed (PUT again) in
 * time: a pod gone without its preStop hook must not leave an address that another app
 * may take over. */

/* Drops from entries[0..n) (a journal image, at start) the leases that ended before
 * now: an entry for a backend file has becomes a delete (seq 0, a new record), any
 * other goes. Logs each; *expired counts them. Returns the new count. Loop over the
 * entries only, no I/O: unit-tested. */
size_t ctl_lease_expire_entries(struct ctl_jentry *entries, size_t n, const struct config *file,
				double now, size_t *expired);
/* Gives the entries a rollback writes (entries[0..n)) the leases they had in the journal
 * cur; a backend the file lacks that comes back without one gets its pool's lease_ttl_s
 * from now: a rollback must not turn a registration into one that lives for ever. */
void ctl_lease_carry(struct ctl_jentry *entries, size_t n, const struct ctl_journal *cur,
		     const struct config *file, double now);
/* How the sweep removes a backend whose lease ended: as an API delete does (control/
 * state.c's ctl_delete_backend, handed down by control/lifecycle.c). 0 or an HTTP
 * status with err. */
typedef int (*ctl_lease_remove_fn)(const char *pool, const char *name, const char *source,
				   uint64_t *gen, char *err, size_t errlen);
/* The once-a-second sweep that removes expired leases while running, through remove. */
void ctl_lease_start(struct ev_loop *loop, ctl_lease_remove_fn remove);
void ctl_lease_stop(struct ev_loop *loop);

/* Builds and publishes a generation because discovered backends changed (the layer of
 * include/discovery.h): the base config with the journal, as now, plus that layer. No
 * journal record, and the generation is not kept for rollback (its operator config is
 * the last kept one). what names the change for the log. 0, or -1 (logged). */
int ctl_apply_discovered(const char *what);

/* Re-reads the config file, lays the journal over it and applies it. Returns 0 (*gen
 * set, restart-only keys that changed listed in warnings), 422 with every error in
 * errs, 409 when there is no file, 500/503 with err. */
int ctl_reload(const char *source, uint64_t *gen, struct config_errors *errs,
	       struct config_errors *warnings, char *err, size_t errlen);

/* Applies kept generation id again as a new generation; the journal is rewritten so
 * the backends it had survive a reload and a restart. Returns 0 (*gen set), 404 when
 * id is not kept, 422 with errs when it does not validate, 500/503 with err. */
int ctl_rollback(uint64_t id, uint64_t *gen, struct config_errors *errs, char *err,
		 size_t errlen);

/* JSON views (control/views.c). ctl_backend_json shows the live backend b (with cb,
 * its config in the running generation, or NULL to look it up), or cb alone when b is
 * NULL. */
cJSON *ctl_backend_json(const struct backend *b, const struct cfg_backend *cb, const char *pool);
cJSON *ctl_status_json(void);
/* Route r of the http listener gl as GET /v1/status and /v1/stats show it: its name,
 * the conditions it sets (those unset match anything and are left out), what it does
 * and how many requests took it (all workers, since the process started). */
cJSON *ctl_route_json(const struct gen_listener *gl, size_t r);

/* ---- Maintenance (control/maint.c) ----
 * POST /v1/maintenance puts a pool or a route (every listener's route of that name) in
 * maintenance or takes it out: a journal entry (CTL_JOP_MAINT), then a generation. */

enum ctl_maint_kind { CTL_MAINT_ANY = 0, CTL_MAINT_KIND_POOL, CTL_MAINT_KIND_ROUTE };

/* A parsed POST /v1/maintenance body. */
struct ctl_maint_req {
	enum ctl_maint_kind kind;        /* ANY: "name", for the server to resolve */
	char name[CTL_NAME_MAX];
	int on;
	uint32_t retry_after_s;          /* default 60 */
};

/* Parses {"pool"|"route"|"name": N, "on": bool, "retry_after_s": S}: exactly one of the
 * three names, "on" required. 0, or -1 with err (a 400). */
int ctl_parse_maint(const char *body, size_t len, struct ctl_maint_req *r, char *err, size_t errlen);

/* Checks r's name against cfg (and the journal j, which may hold an entry for a name
 * cfg no longer has, so that it can be turned off): sets r->kind for "name". 0, or the
 * HTTP status (404 neither, 409 both a pool and a route) with err. */
int ctl_maint_resolve(const struct config *cfg, const struct ctl_journal *j, struct ctl_maint_req *r,
		      char *err, size_t errlen);

/* What is in maintenance: [{kind, name, retry_after_s, since, applies}], applies saying
 * whether the running config g has the name. */
cJSON *ctl_maint_list_json(const struct generation *g);

/* GET and POST /v1/maintenance. */
void ctl_maint_handle(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);

/* POST /v1/pools/{pool}/cache/purge (control/cache_purge.c). */
void ctl_cache_purge_handle(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m);
/* A purge's body: exactly one of url, prefix, tag. */
enum ctl_purge_kind { CTL_PURGE_URL, CTL_PURGE_PREFIX, CTL_PURGE_TAG };
struct ctl_purge_req {
	enum ctl_purge_kind kind;
	char value[2048];
};
/* Parses a purge body into *r; 0, or -1 with err (the field, what is wrong). */
int ctl_parse_purge(const char *body, size_t len, struct ctl_purge_req *r, char *err, size_t errlen);

/* ---- Request bodies (control/validate.c) ----
 * Bodies are JSON objects; unknown and repeated fields, wrong types and values out of
 * range are refused with a reason naming the field. An empty body is an empty object. */

/* Parses body into a JSON object whose fields are all in allowed (NULL-terminated). */
cJSON *ctl_json_object(const char *body, size_t len, const char *const *allowed, char *err,
		       size_t errlen);
/* Reads an optional integer field; 1 present, 0 absent, -1 wrong (err says why). */
int ctl_json_uint(const cJSON *o, const char *name, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t errlen);
/* Reads an optional string field into out; 1, 0 or -1 as above. */
int ctl_json_string(const cJSON *o, const char *name, char *out, size_t outlen, char *err,
		    size_t errlen);

/* PUT /v1/pools/{pool}/backends/{name}: {address, weight, max_conns, state, identity,
 * ttl_s}. */
struct ctl_backend_put {
	int has_address, has_weight, has_max_conns, has_state, has_identity, has_ttl;
	char address[ADDR_TEXT_MAX];
	struct addr addr;                /* resolved */
	uint32_t weight, max_conns;
	enum admin_state state;
	char identity[CTL_IDENTITY_MAX];
	uint32_t ttl_s;                  /* 0 = no lease */
};
int ctl_parse_backend_put(const char *body, size_t len, struct ctl_backend_put *p, char *err,
			  size_t errlen);
/* ---- What a PUT becomes (control/backend_put.c) ---- */

enum ctl_put_outcome {
	CTL_PUT_INVALID = -1,            /* a new backend without an address */
	CTL_PUT_SAME,                    /* nothing to write */
	CTL_PUT_RENEW,                   /* only the lease changes: a journal record, no generation */
	CTL_PUT_CHANGE                   /* the backend changes: journal and a new generation */
};

/* The journal entry of a backend as it is now (cur, its config; j, its journal entry
 * or NULL), lease kept as it runs. e's pool and name are the caller's. */
void ctl_entry_of(const struct cfg_backend *cur, const struct ctl_jentry *j, struct ctl_jentry *e);

/* The entry a PUT with body p makes of the backend cur (NULL: it is added) into e (pool
 * and name set by the caller): every field p leaves out keeps cur's value, a new one
 * gets weight 1, max_conns 0, state active and the pool's lease pool_ttl_s; a lease
 * (kept or given) runs ttl_s from now. Loop-free, for the unit tests. */
enum ctl_put_outcome ctl_put_entry(const struct cfg_backend *cur, const struct ctl_jentry *j,
				   const struct ctl_backend_put *p, uint32_t pool_ttl_s, double now,
				   struct ctl_jentry *e);

/* POST .../drain: {timeout_s}; *timeout_s untouched when absent. */
int ctl_parse_drain(const char *body, size_t len, uint32_t *timeout_s, char *err, size_t errlen);
/* POST /v1/config/rollback: {generation}, required. */
int ctl_parse_rollback(const char *body, size_t len, uint64_t *generation, char *err,
		       size_t errlen);
/* A pool or backend name from the path: the config's name rule. */
int ctl_check_name(const char *what, const char *name, char *err, size_t errlen);

/* ---- Waits (control/wait.c): answers given later, without blocking the loop ---- */

enum ctl_wait_kind {
	CTL_WAIT_HEALTHY,                /* PUT ?wait=healthy: until in rotation, else 504 */
	CTL_WAIT_DRAIN,                  /* drain ?wait=1: until no request left, else 408 */
	CTL_WAIT_DELETE                  /* DELETE: drain, then remove */
};

/* Defers c's answer until the condition holds or timeout_s passes. status_ok is the
 * status of a success (200 or 201 for PUT). stream: chunked progress lines. */
void ctl_wait_start(struct ctl_conn *c, enum ctl_wait_kind kind, const char *pool,
		    const char *name, double timeout_s, int stream, int status_ok);

/* Removes pool/name (journal, then a new generation). 0 or an HTTP status with err. */
int ctl_delete_backend(const char *pool, const char *name, const char *source, uint64_t *gen,
		       char *err, size_t errlen);

/* ---- Cluster mode (control/cluster.c) ----
 * The control API's changes committed to the cluster store, one transaction each, and
 * every replica applying the store's changes from its watch, in revision order, through
 * the change pipeline (control/state.c). */

struct cluster_store;
struct cstore_kv;
struct cstore_txn;

#define CTL_CLUSTER_ARG_MAX 256      /* bytes of a continuation's argument */

/* What answers the API call once its change is committed and applied here: c is the
 * caller's connection (it replies, or defers again), arg a copy of what it gave. */
typedef void (*ctl_cluster_then_fn)(struct ctl_conn *c, void *arg);

/* How cluster mode applies what the store says here: one entry at revision rev, a lease
 * renewal (the journal record only), or the whole journal as of rev (control/state.c's
 * ctl_apply_remote, ctl_apply_remote_renewal and ctl_apply_remote_all, handed down by
 * control/lifecycle.c). */
struct ctl_cluster_apply {
	int (*entry)(struct ctl_jentry *e, int64_t rev);
	void (*renewal)(struct ctl_jentry *e);
	int (*all)(const struct ctl_jentry *entries, size_t n, int64_t rev, const char *what);
};

/* The replicas' part of cluster mode (control/cluster_replicas.c's ctl_replicas_*, handed
 * down by control/lifecycle.c): started with it on its store and prefix and stopped with
 * it; the list and the watch hand it the keys it owns instead of applying them. */
struct ctl_cluster_replicas {
	void (*start)(struct ev_loop *loop, struct cluster_store *st, const char *prefix,
		      const char *id, unsigned ttl_s);
	void (*stop)(void);
	int (*owns)(const char *key);
	void (*list_begin)(void);
	void (*kv)(const struct cstore_kv *kv);
	void (*deleted)(const char *key);
};

/* Starts cluster mode on loop with cfg (copied): the store client, the replicas, the
 * first list of the prefix (applied through apply when it differs from the local copy),
 * then the watch. 0, or -1 with err when the store cannot be set up (fulcrum must not
 * start). */
int ctl_cluster_start(struct ev_loop *loop, const struct cfg_cluster *cfg,
		      const struct ctl_cluster_apply *apply,
		      const struct ctl_cluster_replicas *replicas, char *err, size_t errlen);
/* Ends the watch and every call; waiting API calls are cancelled with their connections. */
void ctl_cluster_stop(void);

/* 1 when cluster mode runs: API changes go through ctl_cluster_write. */
int ctl_cluster_on(void);

/* Commits e (one key per journal entry; a registration's lease first: control/
 * cluster_lease.c) to the store, compared on if_rev (the key's mod revision the client
 * read; -1: the one this replica last applied, 0 when it has none), and answers c: 409
 * with the current state on a conflict, 503 store_unavailable when the store cannot be
 * reached (nothing changes then), else then(c, arg) once the change is applied here
 * (or timeout_ms after the commit). c may be NULL (a lease expiry): the outcome is only
 * logged. Owns the answer in every case. */
void ctl_cluster_write(struct ctl_conn *c, const struct ctl_jentry *e, int64_t if_rev,
		       ctl_cluster_then_fn then, const void *arg, size_t arglen);

/* The mod revision of pool/name as last applied here (0: the store has none), and the
 * store lease its key is bound to (0: none). */
int64_t ctl_cluster_key_rev(const char *pool, const char *name);
int64_t ctl_cluster_key_lease(const char *pool, const char *name);

/* Commits t (compared on a key such as the head marker, which every write moves) and
 * answers c as ctl_cluster_write does: 409 conflict, 503 store_unavailable, else
 * then(c, arg) once the commit is applied here. what names it in logs and the 409. */
void ctl_cluster_commit(struct ctl_conn *c, const struct cstore_txn *t, const char *what,
			ctl_cluster_then_fn then, const void *arg, size_t arglen);
/* 1 when key (under the prefix) holds state (a journal record), not one of cluster mode's
 * own keys: the head marker, a replica's key, the rollback marker. */
int ctl_cluster_state_key(const char *key);
/* The store and the cluster's key prefix ("/fulcrum/<name>/"), for cluster_rollback.c. */
struct cluster_store *ctl_cluster_store(void);
const char *ctl_cluster_prefix(void);

/* ---- Rollback as one store write (control/cluster_rollback.c) ---- */

/* POST /v1/config/rollback in cluster mode: generation `to` is the store's state at
 * revision `to` (over the same file on every replica). Reads it, and commits in one
 * transaction compared on the head marker the puts and deletes that make the store's
 * state that again, with the rollback marker; answers c {generation, rolled_back_to}
 * once applied here, or 404 unknown_generation, 409 conflict, 503 store_unavailable. */
void ctl_cluster_rollback(struct ctl_conn *c, uint64_t to);

/* For /metrics: whether the store answers (the last call reached it and the watch runs),
 * and the revision applied last. */
int ctl_cluster_store_up(void);
int64_t ctl_cluster_applied_rev(void);

/* ---- Applying (control/state.c); cluster mode calls these through its struct
 * ctl_cluster_apply ---- */

/* Applies one entry from the store at revision rev: journal (the local copy), then a
 * generation numbered rev (when ids have not gone past it). 0 or -1 (logged). */
int ctl_apply_remote(struct ctl_jentry *e, int64_t rev);
/* A lease renewal from the store: the journal record only, no generation. */
void ctl_apply_remote_renewal(struct ctl_jentry *e);
/* Makes entries (n, copied) the whole journal as of revision rev and publishes it, what
 * naming the change in the generation's source ("list", "rollback to 12"). */
int ctl_apply_remote_all(const struct ctl_jentry *entries, size_t n, int64_t rev,
			 const char *what);

#endif
