/* config.c: owns loading the configuration: reading a file or string with libconfig into a
 * fresh struct config, the cross-key checks, and the rest of config.h (copy, render, reload
 * check); the errors it reports are kept by config_errors.c. */
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "config-int.h"
#include "health.h"
#include "route.h"

/* Table of contents. */
static struct config *load_parsed(config_t *lc, int read_ok, const char *name,
				  struct config_errors *errs);
static void check_routes(struct loader *ld, const struct config *cfg, const struct cfg_listener *l,
			 const config_setting_t *list, const char *base, int pools_named);
static void check_static(struct loader *ld, const config_setting_t *e, const char *base,
			 const struct cfg_route_static *st);
static void default_http2(struct config *cfg, const config_setting_t *root);
static void check_listeners(struct loader *ld, const struct config *cfg,
			    const config_setting_t *root);
static void check_control(struct loader *ld, const struct config *cfg,
			  const config_setting_t *root);
static void check_pools(struct loader *ld, struct config *cfg, const config_setting_t *root);
static void check_cluster(struct loader *ld, const struct config *cfg,
			  const config_setting_t *root);

/* ---- Public API -------------------------------------------------------------------- */

struct config *config_load_file(const char *path, struct config_errors *errs)
{
	struct config_errors local = { 0 };
	struct config *cfg = NULL;
	struct stat st;
	config_t lc;
	FILE *fp;
	char *dir = NULL, *slash;
	int ok;

	if (errs == NULL)
		errs = &local;
	config_errors_clear(errs);
	fp = fopen(path, "r");
	if (fp == NULL) {
		config_errors_add(errs, path, 0, "", strerror(errno));
		goto out;
	}
	/* libconfig's scanner calls exit() when reading a directory fails; refuse it here. */
	if (fstat(fileno(fp), &st) == -1) {
		config_errors_add(errs, path, 0, "", strerror(errno));
		goto close_fp;
	}
	if (S_ISDIR(st.st_mode)) {
		config_errors_add(errs, path, 0, "", "is a directory, not a config file");
		goto close_fp;
	}
	config_init(&lc);
	/* @include paths are relative to the including file, not to the cwd. */
	dir = strdup(path);
	if (dir != NULL && (slash = strrchr(dir, '/')) != NULL) {
		slash[slash == dir ? 1 : 0] = '\0';
		config_set_include_dir(&lc, dir);
	}
	ok = config_read(&lc, fp);
	cfg = load_parsed(&lc, ok, path, errs);
	config_destroy(&lc);
	free(dir);
close_fp:
	fclose(fp);
out:
	config_errors_clear(&local);
	return cfg;
}

struct config *config_load_string(const char *text, const char *name, struct config_errors *errs)
{
	struct config_errors local = { 0 };
	struct config *cfg;
	config_t lc;
	int ok;

	if (errs == NULL)
		errs = &local;
	config_errors_clear(errs);
	if (name == NULL)
		name = "(string)";
	config_init(&lc);
	ok = config_read_string(&lc, text);
	cfg = load_parsed(&lc, ok, name, errs);
	config_destroy(&lc);
	config_errors_clear(&local);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	cfg_free_fields(&cfg_root_table, cfg);
	free(cfg->source);
	free(cfg);
}

const struct cfg_pool *config_find_pool(const struct config *cfg, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].name != NULL && strcmp(cfg->pools[i].name, name) == 0)
			return &cfg->pools[i];
	return NULL;
}

int config_reload_check(const struct config *old, const struct config *next,
			struct config_errors *errs)
{
	struct config_errors local = { 0 };
	struct differ d = { .file = next->source, .n = 0 };

	if (errs == NULL)
		errs = &local;
	config_errors_clear(errs);
	d.errs = errs;
	cfg_reload_diff(&cfg_root_table, old, next, "", 0, &d);
	config_errors_clear(&local);
	return d.n;
}

void config_keys_print(FILE *out)
{
	fputs("| key | type | values | default | reload | meaning |\n", out);
	fputs("|---|---|---|---|---|---|\n", out);
	cfg_print_keys(&cfg_root_table, "", 0, out);
}

int config_backend_init(struct cfg_backend *b)
{
	memset(b, 0, sizeof(*b));
	if (cfg_set_defaults(&cfg_backend_table, b) == -1) {
		config_backend_clear(b);
		return -1;
	}
	return 0;
}

void config_backend_clear(struct cfg_backend *b)
{
	cfg_free_fields(&cfg_backend_table, b);
	memset(b, 0, sizeof(*b));
}

int config_check_name(const char *s, char *err, size_t errlen)
{
	return cfg_check_name(s, err, errlen);
}

int config_addr_is_loopback(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return 0;
}

struct config *config_dup(const struct config *cfg)
{
	struct config *copy = malloc(sizeof(*copy));

	if (copy == NULL)
		return NULL;
	memcpy(copy, cfg, sizeof(*copy));
	copy->source = NULL;
	cfg_null_owned(&cfg_root_table, copy);
	if ((cfg->source != NULL && (copy->source = strdup(cfg->source)) == NULL) ||
	    cfg_dup_fields(&cfg_root_table, copy, cfg) == -1) {
		config_free(copy);
		return NULL;
	}
	return copy;
}

int config_render(const struct config *cfg, FILE *out, enum config_render_style style)
{
	struct writer w = { .style = style, .flat = style == CONFIG_RENDER_FLAT, .out = out };

	if (cfg_write_group(&cfg_root_table, cfg, "", 0, &w) == -1)
		return -1;
	return ferror(out) ? -1 : 0;
}

/* ---- Loading ----------------------------------------------------------------------- */

/* Turns a libconfig parse into a config: reports the syntax error, or parses the tree
 * against the key table and cross-checks it. Returns the config, or NULL with errs
 * filled and everything freed. */
static struct config *load_parsed(config_t *lc, int read_ok, const char *name,
				  struct config_errors *errs)
{
	struct loader ld = { .file = name, .errs = errs, .failed = 0 };
	struct config *cfg;

	if (!read_ok) {
		const char *efile = config_error_file(lc);
		const char *etext = config_error_text(lc);

		config_errors_add(errs, efile ? efile : name, config_error_line(lc), "",
			      etext ? etext : "cannot read");
		return NULL;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		goto nomem;
	cfg->source = strdup(name);
	if (cfg->source == NULL || cfg_set_defaults(&cfg_root_table, cfg) == -1)
		goto nomem;
	cfg_parse_group(&ld, config_root_setting(lc), &cfg_root_table, cfg, "");
	default_http2(cfg, config_root_setting(lc));
	check_listeners(&ld, cfg, config_root_setting(lc));
	check_control(&ld, cfg, config_root_setting(lc));
	check_cluster(&ld, cfg, config_root_setting(lc));
	check_pools(&ld, cfg, config_root_setting(lc));
	if (ld.failed) {
		cfg_sort_errors(errs);
		goto fail;
	}
	return cfg;

nomem:
	config_errors_add(errs, name, 0, "", "out of memory");
fail:
	config_free(cfg);
	return NULL;
}

/* A static route's root is a directory now (a missing one would only show as 404s),
 * and its index a plain file name. */
static void check_static(struct loader *ld, const config_setting_t *e, const char *base,
			 const struct cfg_route_static *st)
{
	char path[KEY_PATH_MAX];
	struct stat sb;

	cfg_path_join(path, base, "static");
	if (st->root && (stat(st->root, &sb) == -1 || !S_ISDIR(sb.st_mode)))
		cfg_add_error(ld, e, 0, path, "static.root '%s' is not a directory", st->root);
	if (st->index && (strcmp(st->index, ".") == 0 || strcmp(st->index, "..") == 0))
		cfg_add_error(ld, e, 0, path, "static.index must be a file name, got '%s'", st->index);
}

/* Moves one condition of a route's match group into the route's own field: an error
 * when the route sets it both ways (key names it under match). */
static void match_move(struct loader *ld, const config_setting_t *e, const char *base, const char *key,
		       char **from, char **to)
{
	char path[KEY_PATH_MAX];

	if (*from == NULL)
		return;
	if (*to != NULL) {
		cfg_path_join(path, base, key);
		cfg_add_error(ld, e, 0, path, "the route sets this condition twice (in match and on the route); keep one");
		return;
	}
	*to = *from;  /* the route's field owns it now */
	*from = NULL;
}

/* A route's match group (DESIGN.md's form) into the route's condition fields, which the
 * matcher, the index and the views read: one set of conditions however written. */
static void match_merge(struct loader *ld, const config_setting_t *e, const char *base, struct cfg_route *r)
{
	struct cfg_route_match *m = r->match;
	char mbase[KEY_PATH_MAX];

	if (m == NULL)
		return;
	cfg_path_join(mbase, base, "match");
	match_move(ld, e, mbase, "scheme", &m->scheme, &r->scheme);
	match_move(ld, e, mbase, "host", &m->host, &r->host);
	match_move(ld, e, mbase, "path", &m->path, &r->path);
	match_move(ld, e, mbase, "path_prefix", &m->path_prefix, &r->path_prefix);
	match_move(ld, e, mbase, "method", &m->method, &r->method);
	match_move(ld, e, mbase, "cookie", &m->cookie, &r->cookie);
	match_move(ld, e, mbase, "query", &m->query, &r->query);
	match_move(ld, e, mbase, "path_regex", &m->path_regex, &r->path_regex);
	if (m->header != NULL && m->header->name != NULL) {
		/* the route's own form: "Name" or "Name: value" */
		char *line = NULL;

		if (m->header->value == NULL)
			line = strdup(m->header->name);
		else if (asprintf(&line, "%s: %s", m->header->name, m->header->value) < 0)
			line = NULL;
		if (line == NULL) {
			cfg_add_error(ld, e, 0, mbase, "out of memory");
			return;
		}
		match_move(ld, e, mbase, "header", &line, &r->header);
		free(line);  /* NULL when it moved */
	}
}

/* A listener's routes (core/route.c): only on http listeners; each does exactly one
 * thing, to a pool that exists; a fixed body fits an answer. (Names are unique by the
 * key table.) */
static void check_routes(struct loader *ld, const struct config *cfg, const struct cfg_listener *l,
			 const config_setting_t *list, const char *base, int pools_named)
{
	char path[KEY_PATH_MAX], rbase[KEY_PATH_MAX], seg[32];
	size_t i;

	if (list == NULL || l->nroutes != (size_t)config_setting_length(list))
		return;
	if (l->mode != LISTENER_HTTP) {
		cfg_path_join(path, base, "routes");
		cfg_add_error(ld, list, 0, path, "routes need mode = \"http\" (a tcp listener has no requests to route)");
		return;
	}
	for (i = 0; i < l->nroutes; i++) {
		const struct cfg_route *r = &l->routes[i];
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		int actions = (r->pool != NULL) + (r->redirect != NULL) + (r->respond != NULL) +
			      (r->nsplit > 0) + (r->static_files != NULL);

		if (config_setting_type(e) != CONFIG_TYPE_GROUP || r->name == NULL)
			continue;
		cfg_path_join(rbase, "routes", cfg_elem_segment(&cfg_route_table, e, (int)i, seg, sizeof(seg)));
		cfg_path_join(path, base, rbase);
		match_merge(ld, e, path, &l->routes[i]);
		if (actions != 1)
			cfg_add_error(ld, e, 0, path, "a route needs exactly one of pool, split, redirect, respond and static (it has %d)",
				      actions);
		for (size_t k = 0; k < r->nsplit; k++)
			if (r->split[k].pool != NULL && pools_named && config_find_pool(cfg, r->split[k].pool) == NULL)
				cfg_add_error(ld, NULL, r->split[k].line, path, "split: no pool named '%s' is defined",
					      r->split[k].pool);
		if (r->sticky_cookie != NULL && r->nsplit == 0)
			cfg_add_error(ld, e, 0, path, "sticky_cookie needs a split");
		if (r->static_files != NULL)
			check_static(ld, config_setting_get_member(e, "static"), path, r->static_files);
		if (r->pool != NULL && pools_named && config_find_pool(cfg, r->pool) == NULL) {
			char p2[KEY_PATH_MAX];
			cfg_path_join(p2, path, "pool");
			cfg_add_error(ld, config_setting_get_member(e, "pool"), 0, p2,
				      "no pool named '%s' is defined", r->pool);
		}
		if (r->redirect != NULL && r->redirect->status != 301 && r->redirect->status != 302 &&
		    r->redirect->status != 303 && r->redirect->status != 307 && r->redirect->status != 308)
			cfg_add_error(ld, e, 0, path, "redirect.status must be 301, 302, 303, 307 or 308, got %u",
				      r->redirect->status);
		if (r->respond != NULL && (r->respond->status == 204 || r->respond->status == 304) &&
		    (r->respond->body[0] != '\0' || r->respond->body_file != NULL))
			cfg_add_error(ld, e, 0, path, "respond.status %u has no body; remove respond.%s",
				      r->respond->status, r->respond->body_file ? "body_file" : "body");
		if (r->respond != NULL && r->respond->body_file != NULL && r->respond->body[0] != '\0')
			cfg_add_error(ld, e, 0, path, "respond has both body and body_file; keep one");
		if (r->respond != NULL && strlen(r->respond->body) > ROUTE_BODY_MAX)
			cfg_add_error(ld, e, 0, path, "respond.body is %zu bytes; at most %d",
				      strlen(r->respond->body), ROUTE_BODY_MAX);
		for (size_t k = 0; k < r->nrequest_headers + r->nresponse_headers; k++) {
			const struct cfg_header_edit *he = k < r->nrequest_headers ? &r->request_headers[k]
				: &r->response_headers[k - r->nrequest_headers];
			const char *line = he->set ? he->set : he->add;
			if ((he->set != NULL) + (he->add != NULL) + (he->remove != NULL) != 1)
				cfg_add_error(ld, NULL, he->line, path,
					      "a header edit needs exactly one of set, add and remove");
			else if (k >= r->nrequest_headers && line && strstr(line, "$host"))
				cfg_add_error(ld, NULL, he->line, path,
					      "response_headers cannot use $host (only $client_ip, $path, $request_id)");
		}
		if (r->pool == NULL && r->nsplit == 0 &&
		    (r->strip_prefix != NULL || r->nrequest_headers > 0 || r->queue_timeout_ms ||
		     r->response_timeout_ms || r->body_max_bytes))
			cfg_add_error(ld, e, 0, path, "strip_prefix, request_headers, queue_timeout_ms, response_timeout_ms "
				      "and body_max_bytes apply to pool and split routes only");
		if (r->pool == NULL && r->nsplit == 0 && (r->max_share || r->adaptive_limit))
			cfg_add_error(ld, e, 0, path, "max_share and adaptive_limit apply to pool and split routes only");
		if (r->path != NULL && r->path_prefix != NULL)
			cfg_add_error(ld, e, 0, path, "set path or path_prefix, not both");
		if (r->path_regex != NULL) {
			/* compiled here to refuse a bad one with its line; the generation compiles
			 * the copy the workers use (core/generation.c) */
			char msg[320], p2[KEY_PATH_MAX];
			struct route_regex *re = route_regex_compile(r->path_regex, msg, sizeof(msg));
			if (re == NULL) {
				cfg_path_join(p2, path, "path_regex");
				cfg_add_error(ld, config_setting_get_member(e, "path_regex"), 0, p2, "%s", msg);
			}
			route_regex_free(re);
		}
	}
}

/* Cross-checks that need the whole file: a listener's pool exists, PROXY headers are
 * only accepted from somewhere, and no two listeners bind the same address. Lines come
 * from the settings, which are still alive. */
/* http2 is on by default, which means on every TLS listener in mode http: where it
 * cannot act (no TLS, or mode tcp) the default quietly does not apply, so that a plain
 * listener need not say http2 = false; an explicit http2 = true there stays on, for
 * check_listeners to refuse. */
static void default_http2(struct config *cfg, const config_setting_t *root)
{
	const config_setting_t *list = config_setting_get_member(root, "listeners");
	size_t i;

	if (list == NULL || cfg->nlisteners != (size_t)config_setting_length(list))
		return;
	for (i = 0; i < cfg->nlisteners; i++) {
		struct cfg_listener *l = &cfg->listeners[i];
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);

		if (l->http2 && (l->mode != LISTENER_HTTP || l->tls == NULL) &&
		    (e == NULL || config_setting_get_member(e, "http2") == NULL))
			l->http2 = 0;
	}
}

static void check_listeners(struct loader *ld, const struct config *cfg,
			    const config_setting_t *root)
{
	const config_setting_t *list = config_setting_get_member(root, "listeners");
	char path[KEY_PATH_MAX], base[KEY_PATH_MAX], seg[32];
	int pools_named = 1;
	size_t i, j;

	if (list == NULL || cfg->nlisteners != (size_t)config_setting_length(list))
		return;
	/* A pool whose name is missing or invalid was already reported; the listener that
	 * means it would only add a second, misleading error. */
	for (i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].name == NULL)
			pools_named = 0;
	for (i = 0; i < cfg->nlisteners; i++) {
		const struct cfg_listener *l = &cfg->listeners[i];
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			continue;
		cfg_path_join(base, "listeners",
			      cfg_elem_segment(&cfg_listener_table, e, (int)i, seg, sizeof(seg)));
		if (l->pool == NULL && l->nroutes == 0 && config_setting_get_member(e, "pool") == NULL) {
			cfg_path_join(path, base, "pool");
			cfg_add_error(ld, e, 0, path, "missing required key 'pool' in listener (an http listener may have routes instead)");
		}
		if (l->nroutes > 0)
			check_routes(ld, cfg, l, config_setting_get_member(e, "routes"), base, pools_named);
		if (l->pool != NULL && pools_named && config_find_pool(cfg, l->pool) == NULL) {
			cfg_path_join(path, base, "pool");
			cfg_add_error(ld, config_setting_get_member(e, "pool"), 0, path,
				      "no pool named '%s' is defined", l->pool);
		} else if (l->pool != NULL && l->mode == LISTENER_TCP && pools_named &&
			   config_find_pool(cfg, l->pool)->adaptive_limit) {
			cfg_path_join(path, base, "pool");
			cfg_add_error(ld, config_setting_get_member(e, "pool"), 0, path,
				      "pool '%s' has adaptive_limit = true, which learns from HTTP response "
				      "times; a tcp listener cannot use it", l->pool);
		}
		/* HTTP/2 is offered only where it can be: ALPN needs TLS, prior knowledge needs
		 * cleartext, and both need an http listener (a tcp one passes bytes through).
		 * Only an explicit http2 = true gets here (default_http2) */
		if (l->http2 && (l->mode != LISTENER_HTTP || l->tls == NULL)) {
			cfg_path_join(path, base, "http2");
			cfg_add_error(ld, config_setting_get_member(e, "http2"), 0, path,
				      "http2 needs mode = \"http\" and tls (HTTP/2 is chosen by ALPN in the TLS "
				      "handshake; for cleartext HTTP/2 from a trusted front use h2c)");
		}
		if (l->h2c && (l->mode != LISTENER_HTTP || l->tls != NULL)) {
			cfg_path_join(path, base, "h2c");
			cfg_add_error(ld, config_setting_get_member(e, "h2c"), 0, path,
				      "h2c needs mode = \"http\" without tls (on a TLS listener use http2)");
		}
		if (l->nerror_pages && l->mode != LISTENER_HTTP) {
			cfg_path_join(path, base, "error_pages");
			cfg_add_error(ld, e, 0, path, "error_pages need mode = \"http\" (a tcp listener answers nothing itself)");
		}
		if ((l->hsts_max_age_s || l->hsts_include_subdomains || l->hsts_preload) && l->tls == NULL) {
			cfg_path_join(path, base, "hsts_max_age_s");
			cfg_add_error(ld, e, 0, path, "HSTS needs a TLS listener (browsers ignore it over plain http; "
				      "redirect http to https with a route instead)");
		} else if ((l->hsts_include_subdomains || l->hsts_preload) && l->hsts_max_age_s == 0) {
			cfg_path_join(path, base, "hsts_max_age_s");
			cfg_add_error(ld, e, 0, path, "hsts_include_subdomains and hsts_preload need hsts_max_age_s > 0");
		}
		if (l->accept_proxy && l->nproxy_trusted == 0) {
			cfg_path_join(path, base, "proxy_trusted");
			cfg_add_error(ld, config_setting_get_member(e, "accept_proxy"), 0, path,
				      "accept_proxy = true needs a non-empty proxy_trusted list "
				      "(the sources allowed to send PROXY headers)");
		}
		if (l->bind.len == 0)
			continue;
		for (j = 0; j < i; j++) {
			const struct cfg_listener *o = &cfg->listeners[j];

			if (o->bind.len == 0 || !addr_equal(&l->bind, &o->bind))
				continue;
			cfg_path_join(path, base, "bind");
			cfg_add_error(ld, config_setting_get_member(e, "bind"), 0, path,
				      "address '%s' is already bound by listener '%s' (line %d)",
				      l->bind.text, o->name ? o->name : "?", o->line);
			break;
		}
	}
}

/* A control API that anyone on the network can reach must authenticate its callers:
 * refuse a non-loopback listen without token_file unless TLS requires a client
 * certificate (then the CA in client_ca decides who gets in). */
static void check_control(struct loader *ld, const struct config *cfg,
			  const config_setting_t *root)
{
	const config_setting_t *grp = config_setting_get_member(root, "control");
	const config_setting_t *list = grp ? config_setting_get_member(grp, "tokens") : NULL;
	struct addr a;
	char why[256];
	size_t i;

	/* every scoped name must be a token file: a typo would otherwise leave a token
	 * that the operator thinks is scoped with the default scope, or none at all */
	for (i = 0; i < cfg->control.ntokens; i++) {
		const struct cfg_token *t = &cfg->control.tokens[i];
		const config_setting_t *e = list ? config_setting_get_elem(list, (unsigned)i) : NULL;
		char path[4200], key[96];
		struct stat st;

		snprintf(key, sizeof(key), "control.tokens.%s", t->name ? t->name : "?");
		if (!t->name)
			continue;  /* reported as missing */
		if (!cfg->control.token_dir) {
			cfg_add_error(ld, e, t->line, key, "control.tokens needs control.token_dir");
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", cfg->control.token_dir, t->name);
		if (stat(path, &st) == -1)
			cfg_add_error(ld, e, t->line, key, "no token file %s: %s", path, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			cfg_add_error(ld, e, t->line, key, "token file %s is not a regular file", path);
		if (t->pools && t->scope != TOKEN_SCOPE_BACKENDS)
			cfg_add_error(ld, e, t->line, key, "pools applies only to scope \"backends\"");
	}
	if (cfg->control.listen == NULL || cfg->control.token_file != NULL ||
	    cfg->control.token_dir != NULL ||
	    strncmp(cfg->control.listen, "unix:", 5) == 0 ||
	    (cfg->control.tls && cfg->control.tls->verify_client == TLS_VERIFY_REQUIRED))
		return;
	if (addr_parse(cfg->control.listen, &a, 1, why, sizeof(why)) == -1)
		return;  /* already reported by check_control_listen */
	if (config_addr_is_loopback(&a))
		return;
	cfg_add_error(ld, grp ? config_setting_get_member(grp, "listen") : NULL, 0, "control.listen",
		      "the control API on non-loopback address %s needs control.token_file, token_dir or "
		      "control.tls with verify_client = \"required\" "
		      "(anyone who can connect could change the pools)", cfg->control.listen);
}

/* cluster.tls: a client certificate comes with its key, and TLS settings mean an
 * https:// member to use them with. */
static void check_cluster(struct loader *ld, const struct config *cfg,
			  const config_setting_t *root)
{
	const config_setting_t *grp = config_setting_get_member(root, "cluster");
	const config_setting_t *tls = grp ? config_setting_get_member(grp, "tls") : NULL;
	const struct cfg_cluster *c = cfg->cluster;

	if (!c || !c->tls || !c->endpoints)
		return;
	if (!c->tls->cert_file != !c->tls->key_file)
		cfg_add_error(ld, tls, 0, "cluster.tls",
			      "cert_file and key_file go together (a client certificate and its key)");
	if (!strstr(c->endpoints, "https://"))
		cfg_add_error(ld, tls, 0, "cluster.tls",
			      "TLS settings, but no endpoint is https://");
}

/* Derives what the data path and the checks use from the pools' strings (status sets,
 * parsed once here so no request parses text), and cross-checks health keys. The
 * strings were validated by their key's check, so parsing cannot fail here. */
static void check_pools(struct loader *ld, struct config *cfg, const config_setting_t *root)
{
	const config_setting_t *list = config_setting_get_member(root, "pools");
	char path[KEY_PATH_MAX], base[KEY_PATH_MAX], seg[32];
	size_t i;

	for (i = 0; i < cfg->npools; i++) {
		struct cfg_pool *p = &cfg->pools[i];
		const config_setting_t *e = list ? config_setting_get_elem(list, (unsigned)i) : NULL;
		const config_setting_t *h = e ? config_setting_get_member(e, "health") : NULL;

		if (p->health.expect)
			health_status_parse(p->health.expect, &p->health.expect_set, NULL, 0);
		if (p->health.drain_status)
			health_status_parse(p->health.drain_status, &p->health.drain_set, NULL, 0);
		if (p->passive.error_status)
			health_status_parse(p->passive.error_status, &p->passive.error_set, NULL, 0);
		if (health_status_empty(&p->health.expect_set) && e) {
			cfg_path_join(base, "pools",
				      cfg_elem_segment(&cfg_pool_table, e, (int)i, seg, sizeof(seg)));
			cfg_path_join(path, base, "health.expect");
			cfg_add_error(ld, h ? config_setting_get_member(h, "expect") : e, 0, path,
				      "expect must name at least one status");
		}
		if (p->discovery.kubernetes && p->discovery.kubernetes->port &&
		    p->discovery.kubernetes->port_name && e) {
			const config_setting_t *d = config_setting_get_member(e, "discovery");
			const config_setting_t *k = d ? config_setting_get_member(d, "kubernetes") : NULL;

			cfg_path_join(base, "pools",
				      cfg_elem_segment(&cfg_pool_table, e, (int)i, seg, sizeof(seg)));
			cfg_path_join(path, base, "discovery.kubernetes.port_name");
			cfg_add_error(ld, k ? config_setting_get_member(k, "port_name") : e, 0, path,
				      "set port or port_name, not both");
		}
		if (p->health.drain_header && !p->health.drain_status && e) {
			cfg_path_join(base, "pools",
				      cfg_elem_segment(&cfg_pool_table, e, (int)i, seg, sizeof(seg)));
			cfg_path_join(path, base, "health.drain_header");
			cfg_add_error(ld, h ? config_setting_get_member(h, "drain_header") : e, 0, path,
				      "drain_header needs drain_status (the statuses it qualifies)");
		}
	}
}
