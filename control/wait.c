/* wait.c: answers that wait for the data plane (a backend in rotation, a drain emptied
 * here and, in cluster mode, on every live replica) on a 100 ms timer of the control
 * loop each, never blocking it; progress streamed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_replica.h"
#include "ctl_api.h"
#include "log.h"
#include "worker.h"

#define TICK 0.1                     /* seconds between two looks at the backend */
#define PROGRESS_EVERY 1.0           /* a progress line at least this often */

struct wait {
	struct ctl_conn *c;
	ev_timer tick;
	enum ctl_wait_kind kind;
	char pool[CTL_NAME_MAX];
	char name[CTL_NAME_MAX];
	double started, deadline, timeout_s;
	int stream;                      /* progress lines, the outcome in the last one */
	int status_ok;
	unsigned last_active;
	double last_line;
	int64_t rev;                     /* cluster mode: the drain's revision (of the backend's
					  * key), which every replica must report empty at */
};

static const char *const admin_names[] = { "active", "draining", "maint" };

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents);
static void on_cancel(void *arg);
static void end_wait(struct wait *w, int status, cJSON *body);
static void drain_outcome(struct wait *w, struct backend *b, double now);
static void progress(struct wait *w, struct backend *b, double now);
static void deleted_reply(struct ctl_conn *c, void *arg);
static size_t holding(const struct wait *w, cJSON *ids);

/* A drained DELETE in cluster mode: its answer once the removal is applied. */
struct deleted_arg {
	char pool[CTL_NAME_MAX];
	char name[CTL_NAME_MAX];
	int drained;
	unsigned active;
	double waited_s, timeout_s;
};

void ctl_wait_start(struct ctl_conn *c, enum ctl_wait_kind kind, const char *pool,
		    const char *name, double timeout_s, int stream, int status_ok)
{
	struct wait *w = calloc(1, sizeof(*w));

	if (!w) {
		ctl_reply_error(c, 500, "internal", "out of memory");
		return;
	}
	w->c = c;
	w->kind = kind;
	snprintf(w->pool, sizeof(w->pool), "%s", pool);
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->started = ev_now(ctl_plane.loop);
	w->timeout_s = timeout_s;
	w->deadline = w->started + timeout_s;
	w->stream = stream && kind == CTL_WAIT_DRAIN;
	w->status_ok = status_ok;
	w->last_active = ~0u;
	w->rev = ctl_cluster_on() ? ctl_cluster_key_rev(pool, name) : 0;
	ev_timer_init(&w->tick, on_tick, TICK, TICK);
	w->tick.data = w;
	ev_timer_start(ctl_plane.loop, &w->tick);
	ctl_conn_defer(c, on_cancel, w);
	if (w->stream)
		ctl_stream_start(c, 200);
	/* the answer may be known at once */
	on_tick(ctl_plane.loop, &w->tick, 0);
}

/* The client went away (or the server stops): the change stays, the wait ends. */
static void on_cancel(void *arg)
{
	struct wait *w = arg;

	ev_timer_stop(ctl_plane.loop, &w->tick);
	log_info("control: wait for %s/%s ended: the client went away", w->pool, w->name);
	free(w);
}

/* Sends the final answer (a whole reply, or the stream's last line) and frees w. */
static void end_wait(struct wait *w, int status, cJSON *body)
{
	ev_timer_stop(ctl_plane.loop, &w->tick);
	if (w->stream) {
		cJSON_AddBoolToObject(body, "done", 1);
		cJSON_AddNumberToObject(body, "status", status);
		ctl_stream_json(w->c, body);
		ctl_stream_end(w->c);
	} else {
		ctl_reply_json(w->c, status, body);
	}
	free(w);
}

/* The other live replicas that have not reported the backend empty since the drain
 * (cluster mode; ids appended to ids when not NULL); 0 without cluster mode, or for a
 * backend that is no store key (drained by discovery: each replica on its own). */
static size_t holding(const struct wait *w, cJSON *ids)
{
	return w->rev ? ctl_replicas_holding(w->pool, w->name, w->rev, ids) : 0;
}

static void progress(struct wait *w, struct backend *b, double now)
{
	unsigned active = atomic_load(&b->active);
	cJSON *o;

	if (!w->stream || (active == w->last_active && now - w->last_line < PROGRESS_EVERY))
		return;
	w->last_active = active;
	w->last_line = now;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pool", w->pool);
	cJSON_AddStringToObject(o, "name", w->name);
	cJSON_AddNumberToObject(o, "active", active);
	if (w->rev)
		cJSON_AddNumberToObject(o, "replicas_holding", (double)holding(w, NULL));
	cJSON_AddNumberToObject(o, "elapsed_s", now - w->started);
	cJSON_AddNumberToObject(o, "left_s", w->deadline > now ? w->deadline - now : 0);
	ctl_stream_json(w->c, o);
}

/* A drain ended: empty (200) or at its deadline with requests left (408). DELETE then
 * removes the backend either way: it was asked to go. */
static void drain_outcome(struct wait *w, struct backend *b, double now)
{
	unsigned active = atomic_load(&b->active);
	cJSON *o = cJSON_CreateObject(), *ids = w->rev ? cJSON_CreateArray() : NULL;
	int drained = active == 0 && holding(w, ids) == 0;

	cJSON_AddStringToObject(o, "pool", w->pool);
	cJSON_AddStringToObject(o, "name", w->name);
	cJSON_AddBoolToObject(o, "drained", drained);
	/* cluster mode: the replicas where requests were left at the deadline */
	if (ids)
		cJSON_AddItemToObject(o, "replicas_holding", ids);
	cJSON_AddNumberToObject(o, "active", active);
	cJSON_AddNumberToObject(o, "waited_s", now - w->started);
	cJSON_AddNumberToObject(o, "timeout_s", w->timeout_s);
	if (w->kind == CTL_WAIT_DELETE && ctl_cluster_on()) {
		struct deleted_arg a;
		struct ctl_jentry e;
		struct ctl_conn *c = w->c;

		memset(&a, 0, sizeof(a));
		snprintf(a.pool, sizeof(a.pool), "%s", w->pool);
		snprintf(a.name, sizeof(a.name), "%s", w->name);
		a.drained = drained;
		a.active = active;
		a.waited_s = now - w->started;
		a.timeout_s = w->timeout_s;
		memset(&e, 0, sizeof(e));
		e.op = CTL_JOP_DELETE;
		memcpy(e.pool, w->pool, sizeof(e.pool));
		memcpy(e.name, w->name, sizeof(e.name));
		cJSON_Delete(o);
		ev_timer_stop(ctl_plane.loop, &w->tick);
		free(w);
		/* the removal goes to the store; it answers (and defers c again) */
		ctl_cluster_write(c, &e, -1, deleted_reply, &a, sizeof(a));
		return;
	}
	if (w->kind == CTL_WAIT_DELETE) {
		char err[512], src[CTL_SOURCE_MAX];
		uint64_t gen = 0;
		int rc;

		snprintf(src, sizeof(src), "api: DELETE %s/%s", w->pool, w->name);
		rc = ctl_delete_backend(w->pool, w->name, src, &gen, err, sizeof(err));
		if (rc) {
			cJSON_Delete(o);
			ev_timer_stop(ctl_plane.loop, &w->tick);
			ctl_reply_error(w->c, rc, rc == 503 ? "unavailable" : "internal", "%s", err);
			free(w);
			return;
		}
		cJSON_AddBoolToObject(o, "removed", 1);
		cJSON_AddNumberToObject(o, "generation", (double)gen);
		end_wait(w, 200, o);
		return;
	}
	if (!drained) {
		ctl_error_json(o, "drain_timeout", "the deadline passed with requests in flight: they are cut");
	}
	end_wait(w, drained ? 200 : 408, o);
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct wait *w = t->data;
	struct generation *g = proc_current_generation();
	struct backend *b = ctl_live_backend(g, w->pool, w->name);
	double now = ev_now(loop);
	cJSON *o;

	if (w->kind == CTL_WAIT_HEALTHY) {
		if (b && ctl_in_rotation(b)) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "pool", w->pool);
			cJSON_AddStringToObject(o, "name", w->name);
			cJSON_AddBoolToObject(o, "in_rotation", 1);
			cJSON_AddNumberToObject(o, "waited_s", now - w->started);
			cJSON_AddNumberToObject(o, "generation", (double)g->id);
			cJSON_AddItemToObject(o, "backend", ctl_backend_json(b, NULL, w->pool));
			end_wait(w, w->status_ok, o);
		} else if (now >= w->deadline) {
			o = ctl_error_json(NULL, "not_in_rotation", "%s", b ?
					   "the backend did not come into rotation before the timeout "
					   "(see admin and health)" : "the backend is no longer in the pool");
			if (b)
				cJSON_AddItemToObject(o, "backend", ctl_backend_json(b, NULL, w->pool));
			end_wait(w, 504, o);
		}
		generation_unref(g);
		return;
	}
	if (!b) {
		if (w->kind == CTL_WAIT_DELETE) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "pool", w->pool);
			cJSON_AddStringToObject(o, "name", w->name);
			cJSON_AddBoolToObject(o, "removed", 1);
			end_wait(w, 200, o);
		} else {
			o = ctl_error_json(NULL, "removed", "the backend was removed during the drain");
			end_wait(w, 409, o);
		}
		generation_unref(g);
		return;
	}
	if (atomic_load(&b->admin) != ADMIN_DRAINING) {
		int admin = atomic_load(&b->admin);

		o = ctl_error_json(NULL, "not_draining", "the backend's state changed during the drain");
		cJSON_AddStringToObject(o, "admin", admin >= 0 && admin <= 2 ? admin_names[admin] : "?");
		end_wait(w, 409, o);
		generation_unref(g);
		return;
	}
	progress(w, b, now);
	if ((atomic_load(&b->active) == 0 && holding(w, NULL) == 0) || now >= w->deadline)
		drain_outcome(w, b, now);
	generation_unref(g);
}

/* The answer to a drained DELETE whose removal the store committed and is applied. */
static void deleted_reply(struct ctl_conn *c, void *arg)
{
	const struct deleted_arg *a = arg;
	struct generation *g = proc_current_generation();
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "pool", a->pool);
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddBoolToObject(o, "drained", a->drained);
	cJSON_AddNumberToObject(o, "active", a->active);
	cJSON_AddNumberToObject(o, "waited_s", a->waited_s);
	cJSON_AddNumberToObject(o, "timeout_s", a->timeout_s);
	cJSON_AddBoolToObject(o, "removed", 1);
	cJSON_AddNumberToObject(o, "generation", (double)(g ? g->id : 0));
	generation_unref(g);
	ctl_reply_json(c, 200, o);
}
