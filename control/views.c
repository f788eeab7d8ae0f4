/* views.c: the JSON the API shows of live state: one backend (settings, admin and health
 * state, counters) and the process status (generation, uptime, listeners, pools). */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ctl_api.h"
#include "discovery.h"
#include "health.h"
#include "route_share.h"
#include "stats.h"
#include "worker.h"

static const char *const admin_names[] = { "active", "draining", "maint" };

static void add_health_view(cJSON *o, const struct backend *b);
static void shares_json(cJSON *o, const struct gen_listener *gl, size_t r);

/* What health_backend_view() says: the state with warming told apart from up, why and
 * since when, the slow-start share, ejections and the last active check. */
static void add_health_view(cJSON *o, const struct backend *b)
{
	long long now = clock_coarse_ms();
	struct health_view v;
	cJSON *chk;

	health_backend_view(b, now, &v);
	cJSON_AddStringToObject(o, "state", v.state);
	cJSON_AddStringToObject(o, "reason", v.reason);
	if (v.since_ms)
		cJSON_AddNumberToObject(o, "since_s", (now - v.since_ms) / 1e3);
	else
		cJSON_AddNullToObject(o, "since_s");
	cJSON_AddNumberToObject(o, "effective_weight", v.effective_weight);
	cJSON_AddNumberToObject(o, "slow_start_permille", v.weight_permille);
	cJSON_AddNumberToObject(o, "effective_max_conns", backend_effective_max_conns(b));
	cJSON_AddBoolToObject(o, "kept_by_max_down", v.kept);
	cJSON_AddNumberToObject(o, "consecutive_errors", v.consec_errors);
	cJSON_AddNumberToObject(o, "consecutive_connect_failures", v.consec_connect);
	cJSON_AddNumberToObject(o, "ejections", v.ejections);
	cJSON_AddNumberToObject(o, "ejections_total", (double)v.ejections_total);
	if (v.eject_until_ms > now)
		cJSON_AddNumberToObject(o, "ejected_for_s", (v.eject_until_ms - now) / 1e3);
	chk = cJSON_AddObjectToObject(o, "last_check");
	if (!chk)
		return;
	cJSON_AddStringToObject(chk, "result", v.last_result);
	if (v.last_status)
		cJSON_AddNumberToObject(chk, "status", v.last_status);
	else
		cJSON_AddNullToObject(chk, "status");
	cJSON_AddNumberToObject(chk, "duration_ms", v.last_duration_ms);
	if (v.last_check_ms)
		cJSON_AddNumberToObject(chk, "age_s", (now - v.last_check_ms) / 1e3);
	else
		cJSON_AddNullToObject(chk, "age_s");
	cJSON_AddNumberToObject(chk, "checks", (double)v.checks);
	cJSON_AddNumberToObject(chk, "failed", (double)v.checks_failed);
	cJSON_AddNumberToObject(chk, "excused", (double)v.checks_excused);
}

cJSON *ctl_backend_json(const struct backend *b, const struct cfg_backend *cb, const char *pool)
{
	cJSON *o = cJSON_CreateObject();
	const struct ctl_jentry *je;
	int admin, health;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", b ? b->name : cb->name);
	cJSON_AddStringToObject(o, "pool", pool);
	cJSON_AddStringToObject(o, "address", b ? b->addr.text : cb->address.text);
	if (!b) {
		cJSON_AddNumberToObject(o, "weight", cb->weight);
		cJSON_AddNumberToObject(o, "max_conns", cb->max_conns);
		cJSON_AddStringToObject(o, "admin", admin_names[cb->state]);
		return o;
	}
	admin = atomic_load(&b->admin);
	cJSON_AddNumberToObject(o, "weight", atomic_load(&b->weight));
	cJSON_AddNumberToObject(o, "max_conns", atomic_load(&b->max_conns));
	cJSON_AddStringToObject(o, "admin", admin >= 0 && admin <= 2 ? admin_names[admin] : "?");
	health = atomic_load(&b->health);
	cJSON_AddStringToObject(o, "health", health == HEALTH_UP ? "up" :
				health == HEALTH_DRAINING ? "draining" : "down");
	cJSON_AddBoolToObject(o, "in_rotation", ctl_in_rotation(b));
	add_health_view(o, b);
	cJSON_AddNumberToObject(o, "active", atomic_load(&b->active));
	if (admin == ADMIN_DRAINING && atomic_load(&b->drain_cut_ms)) {
		/* when what is still on it is cut; 0 once that has passed */
		long long left = atomic_load(&b->drain_cut_ms) - clock_coarse_ms();
		cJSON_AddNumberToObject(o, "drain_deadline_in_s", left > 0 ? left / 1000.0 : 0);
	}
	if (atomic_load(&b->adaptive_on))
		cJSON_AddNumberToObject(o, "learned_limit", adaptive_limit_get(&b->adaptive));
	cJSON_AddNumberToObject(o, "picks", (double)atomic_load(&b->picks));
	cJSON_AddNumberToObject(o, "failures", (double)atomic_load(&b->failures));
	/* what a health check with identity_header asks of it */
	if (cb) {
		cJSON_AddStringToObject(o, "identity", cb->identity ? cb->identity : b->name);
	} else {
		struct generation *g = proc_current_generation();
		const struct cfg_backend *c = g ? ctl_config_backend(g->cfg, pool, b->name) : NULL;

		cJSON_AddStringToObject(o, "identity", c && c->identity ? c->identity : b->name);
		generation_unref(g);
	}
	je = ctl_journal_find(&ctl_plane.journal, pool, b->name);
	cJSON_AddStringToObject(o, "source",
				discovery_source(pool, b->name) ? "kubernetes" : je ? "api" : "file");
	/* a lease: removed unless renewed (PUT again) before this runs out */
	if (je && je->op == CTL_JOP_SET && je->ttl_s) {
		double left = je->expires - clock_wall_s();

		cJSON_AddNumberToObject(o, "lease_ttl_s", je->ttl_s);
		cJSON_AddNumberToObject(o, "lease_expires_in_s", left > 0 ? left : 0);
	} else {
		cJSON_AddNullToObject(o, "lease_ttl_s");
		cJSON_AddNullToObject(o, "lease_expires_in_s");
	}
	return o;
}

/* A route's max_share and adaptive_limit, and per pool it sends to, its requests in
 * flight and its limit now (null: nothing bounds it), into o. */
static void shares_json(cJSON *o, const struct gen_listener *gl, size_t r)
{
	const struct cfg_route *cr = &gl->cfg->routes[r];
	cJSON *a;
	size_t k;

	if (cr->max_share)
		cJSON_AddNumberToObject(o, "max_share", cr->max_share);
	if (cr->adaptive_limit)
		cJSON_AddBoolToObject(o, "adaptive_limit", 1);
	a = cJSON_AddArrayToObject(o, "shares");
	for (k = 0; a && k < (cr->nsplit ? cr->nsplit : 1); k++) {
		struct route_share *sh = gl->route_shares[r][k];
		struct pool *p = cr->nsplit ? gl->route_splits[r].pools[k] : gl->route_pools[r];
		cJSON *e = cJSON_CreateObject();
		unsigned limit;

		if (!e || !p) {
			cJSON_Delete(e);
			continue;
		}
		cJSON_AddStringToObject(e, "pool", p->name);
		cJSON_AddNumberToObject(e, "inflight", atomic_load(&sh->inflight));
		if ((limit = route_share_limit(sh, p)))
			cJSON_AddNumberToObject(e, "limit", limit);
		else
			cJSON_AddNullToObject(e, "limit");
		cJSON_AddItemToArray(a, e);
	}
}

cJSON *ctl_route_json(const struct gen_listener *gl, size_t r)
{
	const struct cfg_route *cr = &gl->cfg->routes[r];
	cJSON *o = cJSON_CreateObject(), *m, *a;
	struct route_stats_sum s;
	double n = 0;
	int k;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", cr->name);
	m = cJSON_AddObjectToObject(o, "match");
	if (cr->scheme)
		cJSON_AddStringToObject(m, "scheme", cr->scheme);
	if (cr->host)
		cJSON_AddStringToObject(m, "host", cr->host);
	if (cr->path)
		cJSON_AddStringToObject(m, "path", cr->path);
	if (cr->path_prefix)
		cJSON_AddStringToObject(m, "path_prefix", cr->path_prefix);
	if (cr->method)
		cJSON_AddStringToObject(m, "method", cr->method);
	if (cr->header)
		cJSON_AddStringToObject(m, "header", cr->header);
	if (cr->cookie)
		cJSON_AddStringToObject(m, "cookie", cr->cookie);
	if (cr->query)
		cJSON_AddStringToObject(m, "query", cr->query);
	if (cr->path_regex)
		cJSON_AddStringToObject(m, "path_regex", cr->path_regex);
	if (cr->pool) {
		cJSON_AddStringToObject(o, "action", "pool");
		cJSON_AddStringToObject(o, "pool", cr->pool);
	} else if (cr->nsplit) {
		size_t si;
		cJSON *sp;
		cJSON_AddStringToObject(o, "action", "split");
		sp = cJSON_AddArrayToObject(o, "split");
		for (si = 0; sp && si < cr->nsplit; si++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "pool", cr->split[si].pool);
			cJSON_AddNumberToObject(e, "weight", cr->split[si].weight);
			cJSON_AddItemToArray(sp, e);
		}
		if (cr->sticky_cookie)
			cJSON_AddStringToObject(o, "sticky_cookie", cr->sticky_cookie);
	} else if (cr->redirect) {
		cJSON_AddStringToObject(o, "action", "redirect");
		a = cJSON_AddObjectToObject(o, "redirect");
		cJSON_AddNumberToObject(a, "status", cr->redirect->status);
		if (cr->redirect->scheme)
			cJSON_AddStringToObject(a, "scheme", cr->redirect->scheme);
		if (cr->redirect->host)
			cJSON_AddStringToObject(a, "host", cr->redirect->host);
		if (cr->redirect->port)
			cJSON_AddNumberToObject(a, "port", cr->redirect->port);
	} else if (cr->respond) {
		cJSON_AddStringToObject(o, "action", "respond");
		a = cJSON_AddObjectToObject(o, "respond");
		cJSON_AddNumberToObject(a, "status", cr->respond->status);
		cJSON_AddStringToObject(a, "content_type", cr->respond->content_type);
		cJSON_AddNumberToObject(a, "body_bytes", (double)strlen(cr->respond->body));
	} else if (cr->static_files) {
		cJSON_AddStringToObject(o, "action", "static");
	}
	stats_route_sum(gl->route_stats ? gl->route_stats[r] : NULL, &s);
	for (k = 0; k < STATS_CLASSES; k++)
		n += (double)s.requests[k];
	cJSON_AddNumberToObject(o, "requests", n);
	if (gl->route_shares && gl->route_shares[r])
		shares_json(o, gl, r);
	return o;
}

cJSON *ctl_status_json(void)
{
	struct generation *g = proc_current_generation();
	cJSON *o = cJSON_CreateObject(), *gen, *ls, *ps;
	size_t i, k;

	if (!o || !g) {
		generation_unref(g);
		return o;
	}
	cJSON_AddStringToObject(o, "version", FULCRUM_VERSION);
	gen = cJSON_AddObjectToObject(o, "generation");
	cJSON_AddNumberToObject(gen, "id", (double)g->id);
	cJSON_AddNumberToObject(gen, "applied_at", g->applied_at);
	cJSON_AddStringToObject(gen, "source", ctl_plane.source);
	/* runtime generations (API membership changes, leases, discovery) are not kept:
	 * config_generation is the kept operator config the running one is built on */
	cJSON_AddBoolToObject(gen, "kept", g->id == ctl_plane.kept_id);
	if (ctl_plane.kept_id)
		cJSON_AddNumberToObject(gen, "config_generation", (double)ctl_plane.kept_id);
	else
		cJSON_AddNullToObject(gen, "config_generation");
	cJSON_AddNumberToObject(o, "uptime_s", clock_wall_s() - ctl_plane.started);
	cJSON_AddBoolToObject(o, "stopping", ctl_plane.stopping);
	cJSON_AddNumberToObject(o, "workers", proc.nworkers);
	cJSON_AddNumberToObject(o, "connections", atomic_load(&proc.connections));
	cJSON_AddNumberToObject(o, "queued", atomic_load(&proc.queued_total));
	cJSON_AddStringToObject(o, "config", ctl_plane.config_path ? ctl_plane.config_path
								   : "(embedded default)");
	cJSON_AddStringToObject(o, "state_dir", ctl_plane.state_dir ? ctl_plane.state_dir : "");
	cJSON_AddNumberToObject(o, "journal_entries", (double)ctl_plane.journal.n);
	cJSON_AddBoolToObject(o, "journal_writable", ctl_plane.journal.fd != -1);
	ls = cJSON_AddArrayToObject(o, "listeners");
	for (i = 0; i < g->nlisteners; i++) {
		const struct gen_listener *gl = &g->listeners[i];
		cJSON *l = cJSON_CreateObject();

		cJSON_AddStringToObject(l, "name", gl->cfg->name);
		cJSON_AddStringToObject(l, "bind", gl->cfg->bind.text);
		cJSON_AddStringToObject(l, "mode", gl->cfg->mode == LISTENER_TCP ? "tcp" : "http");
		cJSON_AddStringToObject(l, "pool", gl->cfg->pool);
		cJSON_AddNumberToObject(l, "connections", atomic_load(&gl->group->active));
		if (gl->cfg->mode == LISTENER_HTTP) {
			cJSON *rs = cJSON_AddArrayToObject(l, "routes");
			for (k = 0; rs && k < gl->cfg->nroutes; k++)
				cJSON_AddItemToArray(rs, ctl_route_json(gl, k));
		}
		cJSON_AddItemToArray(ls, l);
	}
	ps = cJSON_AddArrayToObject(o, "pools");
	for (i = 0; i < g->npools; i++) {
		struct pool *p = &g->pools[i];
		cJSON *po = cJSON_CreateObject();
		unsigned active = 0, rot = 0;

		for (k = 0; k < p->nbackends; k++) {
			active += atomic_load(&p->backends[k]->active);
			rot += ctl_in_rotation(p->backends[k]) ? 1 : 0;
		}
		cJSON_AddStringToObject(po, "name", p->name);
		cJSON_AddStringToObject(po, "balance", p->algo == BALANCE_RR ? "rr" : "wlc");
		cJSON_AddNumberToObject(po, "backends", (double)p->nbackends);
		cJSON_AddNumberToObject(po, "in_rotation", rot);
		cJSON_AddNumberToObject(po, "active", active);
		cJSON_AddNumberToObject(po, "waiting", atomic_load(&p->waiting));
		cJSON_AddItemToArray(ps, po);
	}
	cJSON_AddItemToObject(o, "maintenance", ctl_maint_list_json(g));
	generation_unref(g);
	return o;
}
