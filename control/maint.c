/* maint.c: owns the maintenance of pools and routes set through the control API
 * (POST and GET /v1/maintenance): the body, which name it means, the journal entry that
 * carries it over reloads and restarts, and its views. The workers see it in the
 * generation (struct cfg_maint, laid over the config by ctl_merge). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl_api.h"
#include "log.h"
#include "worker.h"

#define MAINT_RETRY_DEFAULT_S 60

static int config_has_route(const struct config *cfg, const char *name);
static const char *kind_name(const char *key);
static void post_maint(struct ctl_conn *c, const struct ctl_request *req);
static void maint_reply(struct ctl_conn *c, void *arg);

/* What the answer to a maintenance call says (kept across a cluster write). */
struct maint_arg {
	char key[CTL_NAME_MAX];
	char name[CTL_NAME_MAX];
	int on;
	uint32_t retry_after_s;
};

/* 1 when some listener of cfg has a route called name. */
static int config_has_route(const struct config *cfg, const char *name)
{
	size_t i, r;

	for (i = 0; i < cfg->nlisteners; i++)
		for (r = 0; r < cfg->listeners[i].nroutes; r++)
			if (!strcmp(cfg->listeners[i].routes[r].name, name))
				return 1;
	return 0;
}

/* "pool" or "route" of an entry's key (CTL_MAINT_POOL, CTL_MAINT_ROUTE). */
static const char *kind_name(const char *key)
{
	return strcmp(key, CTL_MAINT_ROUTE) ? "pool" : "route";
}

int ctl_parse_maint(const char *body, size_t len, struct ctl_maint_req *r, char *err, size_t errlen)
{
	static const char *const allowed[] = { "pool", "route", "name", "on", "retry_after_s", NULL };
	static const char *const names[] = { "name", "pool", "route" };
	cJSON *o = ctl_json_object(body, len, allowed, err, errlen);
	const cJSON *on;
	uint64_t ra = MAINT_RETRY_DEFAULT_S;
	int i, given = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	if (!o)
		return -1;
	for (i = 0; i < 3; i++) {
		int got = ctl_json_string(o, names[i], r->name, sizeof(r->name), err, errlen);

		if (got == -1)
			goto out;
		if (got == 1) {
			r->kind = (enum ctl_maint_kind)i;
			given++;
		}
	}
	if (given != 1) {
		snprintf(err, errlen, "give exactly one of 'pool', 'route' or 'name'");
		goto out;
	}
	if (ctl_check_name(names[r->kind], r->name, err, errlen) == -1)
		goto out;
	on = cJSON_GetObjectItemCaseSensitive(o, "on");
	if (!on) {
		snprintf(err, errlen, "'on' is required (true or false)");
		goto out;
	}
	if (!cJSON_IsBool(on)) {
		snprintf(err, errlen, "'on' must be true or false");
		goto out;
	}
	r->on = cJSON_IsTrue(on);
	if (ctl_json_uint(o, "retry_after_s", 0, CTL_MAINT_RETRY_MAX, &ra, err, errlen) == -1)
		goto out;
	r->retry_after_s = (uint32_t)ra;
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

int ctl_maint_resolve(const struct config *cfg, const struct ctl_journal *j, struct ctl_maint_req *r,
		      char *err, size_t errlen)
{
	int pool = config_find_pool(cfg, r->name) != NULL, route = config_has_route(cfg, r->name);
	/* an entry whose name the config lost can still be turned off */
	const struct ctl_jentry *jp = j ? ctl_journal_find(j, CTL_MAINT_POOL, r->name) : NULL;
	const struct ctl_jentry *jr = j ? ctl_journal_find(j, CTL_MAINT_ROUTE, r->name) : NULL;

	if (!r->on) {
		pool |= jp && jp->maint_on;
		route |= jr && jr->maint_on;
	}
	if (r->kind == CTL_MAINT_ANY && pool && route) {
		snprintf(err, errlen, "'%s' is both a pool and a route: say \"pool\" or \"route\" instead of \"name\"",
			 r->name);
		return 409;
	}
	if (r->kind == CTL_MAINT_ANY)
		r->kind = pool ? CTL_MAINT_KIND_POOL : route ? CTL_MAINT_KIND_ROUTE : CTL_MAINT_ANY;
	if ((r->kind == CTL_MAINT_KIND_POOL && !pool) || (r->kind == CTL_MAINT_KIND_ROUTE && !route) ||
	    r->kind == CTL_MAINT_ANY) {
		snprintf(err, errlen, "there is no %s '%s'",
			 r->kind == CTL_MAINT_KIND_POOL ? "pool" : r->kind == CTL_MAINT_KIND_ROUTE ? "route"
											  : "pool or route",
			 r->name);
		return 404;
	}
	return 0;
}

cJSON *ctl_maint_list_json(const struct generation *g)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; a && i < ctl_plane.journal.n; i++) {
		const struct ctl_jentry *e = &ctl_plane.journal.entries[i];
		cJSON *o;
		int applies;

		if (e->op != CTL_JOP_MAINT || !e->maint_on)
			continue;
		applies = g && (!strcmp(e->pool, CTL_MAINT_POOL) ? config_find_pool(g->cfg, e->name) != NULL
							       : config_has_route(g->cfg, e->name));
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", kind_name(e->pool));
		cJSON_AddStringToObject(o, "name", e->name);
		cJSON_AddNumberToObject(o, "retry_after_s", e->retry_after_s);
		cJSON_AddNumberToObject(o, "since", e->time);
		cJSON_AddBoolToObject(o, "applies", applies);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* POST /v1/maintenance: parse, resolve, and unless it is already so, journal and publish. */
static void post_maint(struct ctl_conn *c, const struct ctl_request *req)
{
	struct generation *g = proc_current_generation();
	struct ctl_maint_req r;
	struct maint_arg a;
	struct ctl_jentry e;
	const struct ctl_jentry *cur;
	char err[512], src[CTL_SOURCE_MAX];
	uint64_t gen = 0;
	int rc;

	if (ctl_parse_maint(req->body, req->body_len, &r, err, sizeof(err)) == -1) {
		ctl_reply_error(c, 400, "invalid_body", "%s", err);
		goto out;
	}
	if (!g) {
		ctl_reply_error(c, 503, "unavailable", "no configuration applied yet");
		goto out;
	}
	if ((rc = ctl_maint_resolve(g->cfg, &ctl_plane.journal, &r, err, sizeof(err)))) {
		ctl_reply_error(c, rc, rc == 409 ? "ambiguous_name" : "not_found", "%s", err);
		goto out;
	}
	memset(&e, 0, sizeof(e));
	e.op = CTL_JOP_MAINT;
	snprintf(e.pool, sizeof(e.pool), "%s", r.kind == CTL_MAINT_KIND_POOL ? CTL_MAINT_POOL : CTL_MAINT_ROUTE);
	snprintf(e.name, sizeof(e.name), "%s", r.name);
	e.maint_on = r.on;
	e.retry_after_s = r.on ? r.retry_after_s : 0;
	memset(&a, 0, sizeof(a));
	snprintf(a.key, sizeof(a.key), "%s", e.pool);
	snprintf(a.name, sizeof(a.name), "%s", r.name);
	a.on = r.on;
	a.retry_after_s = e.retry_after_s;
	cur = ctl_journal_find(&ctl_plane.journal, e.pool, e.name);
	/* the same word again changes nothing and makes no generation (hooks may retry) */
	if ((cur && cur->maint_on == e.maint_on && (!e.maint_on || cur->retry_after_s == e.retry_after_s)) ||
	    (!cur && !e.maint_on)) {
		gen = g->id;
	} else if (ctl_cluster_on()) {
		ctl_cluster_write(c, &e, -1, maint_reply, &a, sizeof(a));
		goto out;
	} else {
		snprintf(src, sizeof(src), "api: maintenance %s %s %s", r.on ? "on" : "off", kind_name(e.pool),
			 r.name);
		if ((rc = ctl_change_backend(&e, src, &gen, err, sizeof(err)))) {
			ctl_reply_error(c, rc, rc == 503 ? "unavailable" : "internal", "%s", err);
			goto out;
		}
		log_info("maintenance %s for %s %s (Retry-After %u s)", r.on ? "on" : "off", kind_name(e.pool),
			 r.name, e.retry_after_s);
	}
	maint_reply(c, &a);
out:
	generation_unref(g);
}

/* The answer to a maintenance call that is applied (or changed nothing). */
static void maint_reply(struct ctl_conn *c, void *arg)
{
	const struct maint_arg *a = arg;
	struct generation *g = proc_current_generation();
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "kind", kind_name(a->key));
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddBoolToObject(o, "on", a->on);
	cJSON_AddNumberToObject(o, "retry_after_s", a->retry_after_s);
	cJSON_AddNumberToObject(o, "generation", (double)(g ? g->id : 0));
	generation_unref(g);
	ctl_reply_json(c, 200, o);
}

void ctl_maint_handle(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct generation *g;
	cJSON *o;

	(void)m;
	if (req->method != HTTP_M_GET) {
		post_maint(c, req);
		return;
	}
	g = proc_current_generation();
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "maintenance", ctl_maint_list_json(g));
	generation_unref(g);
	ctl_reply_json(c, 200, o);
}
