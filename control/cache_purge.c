/* cache_purge.c: owns POST /v1/pools/{pool}/cache/purge: the body (a URL, a prefix or a
 * tag), what it means in the pool's cache keys (host + target, lb/http_cache.c), and the
 * purge of the current generation's store (core/cache_store.c). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "balance.h"
#include "cache_store.h"
#include "ctl_api.h"
#include "log.h"
#include "worker.h"

/* What a purge matches: a key (host + target) or, without a host, a target on any host;
 * exact or as a prefix. */
struct purge_target {
	const char *s;
	size_t len;
	int any_host;
	int prefix;
};

static int purge_pred(const struct cache_obj *o, void *arg);

int ctl_parse_purge(const char *body, size_t len, struct ctl_purge_req *r, char *err, size_t errlen)
{
	static const char *const allowed[] = { "url", "prefix", "tag", NULL };
	cJSON *o = ctl_json_object(body, len, allowed, err, errlen);
	int i, given = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	if (!o)
		return -1;
	for (i = 0; i < 3; i++) {
		char v[sizeof(r->value)];
		int got = ctl_json_string(o, allowed[i], v, sizeof(v), err, errlen);

		if (got == -1)
			goto out;
		if (got == 1) {
			r->kind = (enum ctl_purge_kind)i;
			memcpy(r->value, v, sizeof(v));
			given++;
		}
	}
	if (given != 1) {
		snprintf(err, errlen, "give exactly one of 'url', 'prefix' or 'tag'");
		goto out;
	}
	if (r->value[0] == '\0') {
		snprintf(err, errlen, "'%s' must not be empty", allowed[r->kind]);
		goto out;
	}
	for (i = 0; r->value[i]; i++)
		if ((unsigned char)r->value[i] <= ' ' || r->value[i] == 0x7f) {
			snprintf(err, errlen, "'%s' must not hold spaces or control characters", allowed[r->kind]);
			goto out;
		}
	if (r->kind != CTL_PURGE_TAG && r->value[0] != '/' && strncmp(r->value, "http://", 7) &&
	    strncmp(r->value, "https://", 8)) {
		snprintf(err, errlen, "'%s' is an absolute URL (http://host/path) or a path (/path)",
			 allowed[r->kind]);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

/* Turns a URL or path (in place) into what the keys hold: "http://Host:8080/a?b" ->
 * "host:8080/a?b"; a path stays (any host). */
static void to_key(char *v, struct purge_target *t)
{
	char *p = v, *slash;

	t->any_host = v[0] == '/';
	if (!t->any_host) {
		p = strstr(v, "://") + 3;
		slash = strchr(p, '/');
		for (char *q = p; *q && q != slash; q++)
			*q = (char)tolower((unsigned char)*q);
		if (!slash && strlen(v) + 1 < sizeof(((struct ctl_purge_req *)0)->value))
			strcat(p, "/");  /* "http://host" is the root */
	}
	t->s = p;
	t->len = strlen(p);
}

/* cache_store_purge_match's predicate: o's key against t. */
static int purge_pred(const struct cache_obj *o, void *arg)
{
	const struct purge_target *t = arg;
	const char *k = o->key;
	size_t n = o->key_len;

	if (t->any_host) {
		const char *slash = memchr(k, '/', n);

		if (!slash)
			return 0;
		n -= (size_t)(slash - k);
		k = slash;
	}
	return t->prefix ? n >= t->len && !memcmp(k, t->s, t->len) : n == t->len && !memcmp(k, t->s, n);
}

void ctl_cache_purge_handle(struct ctl_conn *c, const struct ctl_request *req, const struct ctl_route_match *m)
{
	struct generation *g = proc_current_generation();
	struct ctl_purge_req r;
	struct purge_target t = { 0 };
	struct pool *p;
	char err[512];
	size_t n;
	cJSON *o;

	if (ctl_check_name("pool", m->pool, err, sizeof(err)) == -1) {
		ctl_reply_error(c, 400, "invalid_name", "%s", err);
		goto out;
	}
	if (!g) {
		ctl_reply_error(c, 503, "unavailable", "no configuration applied yet");
		goto out;
	}
	if (!(p = generation_find_pool(g, m->pool))) {
		ctl_reply_error(c, 404, "unknown_pool", "there is no pool '%s'", m->pool);
		goto out;
	}
	if (!p->cache) {
		ctl_reply_error(c, 409, "no_cache", "pool '%s' has no cache (pools[].cache)", m->pool);
		goto out;
	}
	if (ctl_parse_purge(req->body, req->body_len, &r, err, sizeof(err)) == -1) {
		ctl_reply_error(c, 400, "invalid_body", "%s", err);
		goto out;
	}
	if (r.kind == CTL_PURGE_TAG) {
		n = cache_store_purge_tag(p->cache, r.value, strlen(r.value));
	} else {
		to_key(r.value, &t);
		t.prefix = r.kind == CTL_PURGE_PREFIX;
		n = !t.any_host && !t.prefix ? cache_store_purge_key(p->cache, t.s, t.len)
					     : cache_store_purge_match(p->cache, purge_pred, &t);
	}
	log_info("cache purge in pool %s by %s %s: %zu objects", m->pool,
		 r.kind == CTL_PURGE_TAG ? "tag" : r.kind == CTL_PURGE_PREFIX ? "prefix" : "url", r.value, n);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pool", m->pool);
	cJSON_AddNumberToObject(o, "purged", (double)n);
	ctl_reply_json(c, 200, o);
out:
	generation_unref(g);
}
