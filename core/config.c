/* config.c: owns the configuration file: one declarative table of every key (type, bounds,
 * default, reloadable, doc) and the generic loader that fills a fresh struct config from it. */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "config-int.h"
#include "health.h"

/* Table of contents. */
static void add_error(struct loader *ld, const config_setting_t *s, int line, const char *key,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add_error_raw(struct config_errors *errs, const char *file, int line,
			  const char *key, const char *msg);
static void sort_errors(struct config_errors *errs);
static void path_join(char *dst, const char *prefix, const char *seg);
static const char *elem_segment(const struct key_table *t, const config_setting_t *elem,
				int index, char *buf, size_t len);
static const char *setting_type_name(const config_setting_t *s);
static const struct key *find_key(const struct key_table *t, const char *name);
static const char *suggest_key(const struct key_table *t, const char *name);
static unsigned edit_distance(const char *a, const char *b);
static int set_defaults(const struct key_table *t, void *obj);
static void free_fields(const struct key_table *t, void *obj);
static void parse_group(struct loader *ld, const config_setting_t *grp,
			const struct key_table *t, void *obj, const char *path);
static void parse_key(struct loader *ld, const config_setting_t *s, const struct key *k,
		      void *obj, const char *path);
static void parse_list(struct loader *ld, const config_setting_t *s, const struct key *k,
		       void *obj, const char *path);
static void parse_prefixes(struct loader *ld, const config_setting_t *s, const struct key *k,
			   void *obj, const char *path);
static char *parse_names(struct loader *ld, const config_setting_t *s, const struct key *k,
			 const char *path);
static void write_names(FILE *out, const char *joined);
static void check_unique_name(struct loader *ld, const config_setting_t *elem,
			      const struct key_table *t, char *items, size_t index,
			      const char *path);
static void check_listeners(struct loader *ld, const struct config *cfg,
			    const config_setting_t *root);
static void check_control(struct loader *ld, const struct config *cfg,
			  const config_setting_t *root);
static void null_owned(const struct key_table *t, void *obj);
static int dup_fields(const struct key_table *t, void *dst, const void *src);
static int write_group(const struct key_table *t, const void *obj, const char *path,
		       int depth, enum config_render_style style, FILE *out);
static void write_string(FILE *out, const char *s);
static void check_pools(struct loader *ld, struct config *cfg, const config_setting_t *root);
static struct config *load_parsed(config_t *lc, int read_ok, const char *name,
				  struct config_errors *errs);
static int reload_diff(const struct key_table *t, const void *a, const void *b,
		       const char *path, int all, const char *file, struct config_errors *errs);
static void print_keys(const struct key_table *t, const char *path, int fixed, FILE *out);
static void describe_bounds(const struct key *k, char *buf, size_t len);
static void describe_default(const struct key *k, char *buf, size_t len);

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
		add_error_raw(errs, path, 0, "", strerror(errno));
		goto out;
	}
	/* libconfig's scanner calls exit() when reading a directory fails; refuse it here. */
	if (fstat(fileno(fp), &st) == -1) {
		add_error_raw(errs, path, 0, "", strerror(errno));
		goto close_fp;
	}
	if (S_ISDIR(st.st_mode)) {
		add_error_raw(errs, path, 0, "", "is a directory, not a config file");
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
	free_fields(&cfg_root_table, cfg);
	free(cfg->source);
	free(cfg);
}

void config_errors_clear(struct config_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->count; i++) {
		free(errs->items[i].file);
		free(errs->items[i].key);
		free(errs->items[i].message);
	}
	free(errs->items);
	errs->items = NULL;
	errs->count = 0;
}

void config_errors_print(const struct config_errors *errs, FILE *out)
{
	size_t i;

	for (i = 0; i < errs->count; i++) {
		const struct config_error *e = &errs->items[i];

		fputs(e->file ? e->file : "?", out);
		if (e->line > 0)
			fprintf(out, ":%d", e->line);
		fputs(": ", out);
		if (e->key != NULL && e->key[0] != '\0')
			fprintf(out, "%s: ", e->key);
		fprintf(out, "%s\n", e->message ? e->message : "");
	}
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
	int n;

	if (errs == NULL)
		errs = &local;
	config_errors_clear(errs);
	n = reload_diff(&cfg_root_table, old, next, "", 0, next->source, errs);
	config_errors_clear(&local);
	return n;
}

void config_keys_print(FILE *out)
{
	fputs("| key | type | values | default | reload | meaning |\n", out);
	fputs("|---|---|---|---|---|---|\n", out);
	print_keys(&cfg_root_table, "", 0, out);
}

int config_backend_init(struct cfg_backend *b)
{
	memset(b, 0, sizeof(*b));
	if (set_defaults(&cfg_backend_table, b) == -1) {
		config_backend_clear(b);
		return -1;
	}
	return 0;
}

void config_backend_clear(struct cfg_backend *b)
{
	free_fields(&cfg_backend_table, b);
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

void config_errors_add(struct config_errors *errs, const char *file, int line, const char *key,
		       const char *message)
{
	add_error_raw(errs, file, line, key, message);
}

struct config *config_dup(const struct config *cfg)
{
	struct config *copy = malloc(sizeof(*copy));

	if (copy == NULL)
		return NULL;
	memcpy(copy, cfg, sizeof(*copy));
	copy->source = NULL;
	null_owned(&cfg_root_table, copy);
	if ((cfg->source != NULL && (copy->source = strdup(cfg->source)) == NULL) ||
	    dup_fields(&cfg_root_table, copy, cfg) == -1) {
		config_free(copy);
		return NULL;
	}
	return copy;
}

int config_render(const struct config *cfg, FILE *out, enum config_render_style style)
{
	if (write_group(&cfg_root_table, cfg, "", 0, style, out) == -1)
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

		add_error_raw(errs, efile ? efile : name, config_error_line(lc), "",
			      etext ? etext : "cannot read");
		return NULL;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		goto nomem;
	cfg->source = strdup(name);
	if (cfg->source == NULL || set_defaults(&cfg_root_table, cfg) == -1)
		goto nomem;
	parse_group(&ld, config_root_setting(lc), &cfg_root_table, cfg, "");
	check_listeners(&ld, cfg, config_root_setting(lc));
	check_control(&ld, cfg, config_root_setting(lc));
	check_pools(&ld, cfg, config_root_setting(lc));
	if (ld.failed) {
		sort_errors(errs);
		goto fail;
	}
	return cfg;

nomem:
	add_error_raw(errs, name, 0, "", "out of memory");
fail:
	config_free(cfg);
	return NULL;
}

/* Reads every member of grp (a libconfig group) into obj as described by t; unknown
 * keys, wrong types, bounds and missing required keys are reported, never fatal, so
 * one load reports everything. obj already holds the defaults. */
static void parse_group(struct loader *ld, const config_setting_t *grp,
			const struct key_table *t, void *obj, const char *path)
{
	char child[KEY_PATH_MAX];
	unsigned long long seen = 0;  /* bit i: key i was present; tables stay under 64 keys */
	int i, n = config_setting_length(grp);
	size_t ki;

	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(m);
		const struct key *k = find_key(t, name);

		path_join(child, path, name);
		if (k == NULL) {
			const char *near = suggest_key(t, name);

			if (near != NULL)
				add_error(ld, m, 0, child, "unknown key '%s' (did you mean '%s'?)",
					  name, near);
			else
				add_error(ld, m, 0, child, "unknown key '%s' in %s", name, t->what);
			continue;
		}
		seen |= 1ull << (k - t->keys);
		parse_key(ld, m, k, obj, child);
	}
	for (ki = 0; t->keys[ki].name != NULL; ki++) {
		const struct key *k = &t->keys[ki];

		if (!(k->flags & KEY_REQUIRED) || (seen & (1ull << ki)))
			continue;
		path_join(child, path, k->name);
		if (k->type == KEY_LIST)
			add_error(ld, grp, 0, child, "at least %lld %s%s required", k->min,
				  k->sub->what, k->min == 1 ? " is" : "s are");
		else
			add_error(ld, grp, 0, child, "missing required key '%s' in %s", k->name,
				  t->what);
	}
}

/* Reads one setting s into the field k describes in obj; reports what is wrong. */
static void parse_key(struct loader *ld, const config_setting_t *s, const struct key *k,
		      void *obj, const char *path)
{
	char *field = (char *)obj + k->off;
	char err[ERR_MAX];
	int type = config_setting_type(s);

	switch (k->type) {
	case KEY_INT: {
		long long v;

		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
			add_error(ld, s, 0, path, "expected an integer, got %s", setting_type_name(s));
			return;
		}
		v = config_setting_get_int64(s);
		if (v < k->min || v > k->max) {
			add_error(ld, s, 0, path, "%lld is out of range %lld..%lld", v, k->min, k->max);
			return;
		}
		if (k->size == sizeof(uint64_t)) {
			uint64_t u = (uint64_t)v;

			memcpy(field, &u, sizeof(u));
		} else {
			uint32_t u = (uint32_t)v;

			memcpy(field, &u, sizeof(u));
		}
		return;
	}
	case KEY_BOOL: {
		int b;

		if (type != CONFIG_TYPE_BOOL) {
			add_error(ld, s, 0, path, "expected true or false, got %s",
				  setting_type_name(s));
			return;
		}
		b = config_setting_get_bool(s) ? 1 : 0;
		memcpy(field, &b, sizeof(b));
		return;
	}
	case KEY_STRING: {
		const char *v;
		char *copy, *old;

		if (k->flags & KEY_NAMES) {
			copy = parse_names(ld, s, k, path);
			if (copy == NULL)
				return;
			memcpy(&old, field, sizeof(old));
			free(old);
			memcpy(field, &copy, sizeof(copy));
			return;
		}
		if (type != CONFIG_TYPE_STRING) {
			add_error(ld, s, 0, path, "expected a string, got %s", setting_type_name(s));
			return;
		}
		v = config_setting_get_string(s);
		if (k->rule != NULL && k->rule->check(v, err, sizeof(err)) == -1) {
			add_error(ld, s, 0, path, "%s", err);
			return;
		}
		copy = strdup(v);
		if (copy == NULL) {
			add_error(ld, s, 0, path, "out of memory");
			return;
		}
		memcpy(&old, field, sizeof(old));
		free(old);
		memcpy(field, &copy, sizeof(copy));
		return;
	}
	case KEY_ENUM: {
		const char *v;
		char list[256] = "";
		int idx;

		if (type == CONFIG_TYPE_STRING) {
			v = config_setting_get_string(s);
			for (idx = 0; k->names[idx] != NULL; idx++) {
				if (strcmp(v, k->names[idx]) == 0) {
					memcpy(field, &idx, sizeof(idx));
					return;
				}
			}
		}
		for (idx = 0; k->names[idx] != NULL; idx++) {
			size_t used = strlen(list);

			snprintf(list + used, sizeof(list) - used, "%s\"%s\"", idx ? ", " : "",
				 k->names[idx]);
		}
		if (type == CONFIG_TYPE_STRING)
			add_error(ld, s, 0, path, "\"%s\" is not one of %s",
				  config_setting_get_string(s), list);
		else
			add_error(ld, s, 0, path, "expected one of %s, got %s", list,
				  setting_type_name(s));
		return;
	}
	case KEY_ADDR:
		if (type != CONFIG_TYPE_STRING) {
			add_error(ld, s, 0, path, "expected an address string, got %s",
				  setting_type_name(s));
			return;
		}
		if (addr_parse(config_setting_get_string(s), (struct addr *)field, 1, err,
			       sizeof(err)) == -1)
			add_error(ld, s, 0, path, "%s", err);
		return;
	case KEY_PREFIXES:
		parse_prefixes(ld, s, k, obj, path);
		return;
	case KEY_GROUP: {
		void *sub = field;

		if (type != CONFIG_TYPE_GROUP) {
			add_error(ld, s, 0, path, "expected a group { ... }, got %s",
				  setting_type_name(s));
			return;
		}
		if (k->flags & KEY_POINTER) {
			sub = calloc(1, k->sub->size);
			if (sub == NULL || set_defaults(k->sub, sub) == -1) {
				if (sub != NULL)
					free_fields(k->sub, sub);
				free(sub);
				add_error(ld, s, 0, path, "out of memory");
				return;
			}
			memcpy(field, &sub, sizeof(sub));
		}
		parse_group(ld, s, k->sub, sub, path);
		return;
	}
	case KEY_LIST:
		parse_list(ld, s, k, obj, path);
		return;
	}
}

/* Reads a list of groups into a new array of k->sub structs (count set before the
 * elements are filled so config_free can always walk it). */
static void parse_list(struct loader *ld, const config_setting_t *s, const struct key *k,
		       void *obj, const char *path)
{
	char child[KEY_PATH_MAX], seg[32];
	const struct key_table *t = k->sub;
	int type = config_setting_type(s);
	size_t n, i;
	char *items;

	/* An empty array "[]" is what many people write for an empty list. */
	if (type == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)
		type = CONFIG_TYPE_LIST;
	if (type != CONFIG_TYPE_LIST) {
		add_error(ld, s, 0, path, "expected a list ( { ... }, ... ), got %s",
			  setting_type_name(s));
		return;
	}
	n = (size_t)config_setting_length(s);
	if ((long long)n < k->min) {
		add_error(ld, s, 0, path, "at least %lld %s%s required", k->min, t->what,
			  k->min == 1 ? " is" : "s are");
		return;
	}
	if ((long long)n > k->max) {
		add_error(ld, s, 0, path, "%zu %ss is more than the limit of %lld", n, t->what,
			  k->max);
		return;
	}
	if (n == 0)
		return;
	items = calloc(n, t->size);
	if (items == NULL) {
		add_error(ld, s, 0, path, "out of memory");
		return;
	}
	memcpy((char *)obj + k->off, &items, sizeof(items));
	memcpy((char *)obj + k->count_off, &n, sizeof(n));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		void *item = items + i * t->size;
		int line = config_setting_source_line(e);

		path_join(child, path, elem_segment(t, e, (int)i, seg, sizeof(seg)));
		if (t->line_off >= 0)
			memcpy((char *)item + t->line_off, &line, sizeof(line));
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			add_error(ld, e, 0, child, "expected a %s group { ... }, got %s", t->what,
				  setting_type_name(e));
			continue;
		}
		if (set_defaults(t, item) == -1) {
			add_error(ld, e, 0, child, "out of memory");
			continue;
		}
		parse_group(ld, e, t, item, child);
		check_unique_name(ld, e, t, items, i, child);
	}
}

/* Reads a list or array of names ( "a", "b" ), each passing k->check, into one malloc'd
 * string "a,b" (names have no commas). NULL when something was wrong (reported). */
static char *parse_names(struct loader *ld, const config_setting_t *s, const struct key *k,
			 const char *path)
{
	char child[KEY_PATH_MAX], seg[32], err[ERR_MAX], *joined;
	int type = config_setting_type(s), bad = 0;
	size_t n, i, len = 1;

	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) {
		add_error(ld, s, 0, path, "expected a list of names ( \"a\", \"b\" ), got %s",
			  setting_type_name(s));
		return NULL;
	}
	n = (size_t)config_setting_length(s);
	if (n == 0 || (long long)n > k->max) {
		add_error(ld, s, 0, path, "%zu names; 1..%lld are allowed", n, k->max);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		snprintf(seg, sizeof(seg), "[%zu]", i);
		path_join(child, path, seg);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			add_error(ld, e, 0, child, "expected a name string, got %s",
				  setting_type_name(e));
			bad = 1;
			continue;
		}
		if (k->rule && k->rule->check(config_setting_get_string(e), err, sizeof(err)) == -1) {
			add_error(ld, e, 0, child, "%s", err);
			bad = 1;
			continue;
		}
		len += strlen(config_setting_get_string(e)) + 1;
	}
	if (bad)
		return NULL;
	joined = calloc(1, len);
	if (joined == NULL) {
		add_error(ld, s, 0, path, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (i)
			strcat(joined, ",");
		strcat(joined, config_setting_get_string(config_setting_get_elem(s, (unsigned)i)));
	}
	return joined;
}

/* Writes "a,b" back as the list [ "a", "b" ] it was read from. */
static void write_names(FILE *out, const char *joined)
{
	const char *p = joined;

	fputs("[ ", out);
	while (*p) {
		size_t l = strcspn(p, ",");
		char name[256];

		snprintf(name, sizeof(name), "%.*s", (int)l, p);
		if (p != joined)
			fputs(", ", out);
		write_string(out, name);
		p += l + (p[l] == ',');
	}
	fputs(" ]", out);
}

/* Reads a list or array of prefix strings ("10.0.0.0/8") into an addr_prefix array. */
static void parse_prefixes(struct loader *ld, const config_setting_t *s, const struct key *k,
			   void *obj, const char *path)
{
	char child[KEY_PATH_MAX], seg[32], err[ERR_MAX];
	struct addr_prefix *arr;
	int type = config_setting_type(s);
	size_t n, i;

	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) {
		add_error(ld, s, 0, path, "expected a list of prefixes (\"10.0.0.0/8\", ...), got %s",
			  setting_type_name(s));
		return;
	}
	n = (size_t)config_setting_length(s);
	if ((long long)n > k->max) {
		add_error(ld, s, 0, path, "%zu prefixes is more than the limit of %lld", n, k->max);
		return;
	}
	if (n == 0)
		return;
	arr = calloc(n, sizeof(*arr));
	if (arr == NULL) {
		add_error(ld, s, 0, path, "out of memory");
		return;
	}
	memcpy((char *)obj + k->off, &arr, sizeof(arr));
	memcpy((char *)obj + k->count_off, &n, sizeof(n));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		snprintf(seg, sizeof(seg), "[%zu]", i);
		path_join(child, path, seg);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			add_error(ld, e, 0, child, "expected a prefix string, got %s",
				  setting_type_name(e));
			continue;
		}
		if (addr_prefix_parse(config_setting_get_string(e), &arr[i], err, sizeof(err)) == -1)
			add_error(ld, e, 0, child, "%s", err);
	}
}

/* Reports element index of items when its name was already used by an earlier one. */
static void check_unique_name(struct loader *ld, const config_setting_t *elem,
			      const struct key_table *t, char *items, size_t index,
			      const char *path)
{
	char key[KEY_PATH_MAX];
	const char *name, *other;
	size_t j;
	int line;

	if (t->name_off < 0)
		return;
	memcpy(&name, items + index * t->size + t->name_off, sizeof(name));
	if (name == NULL)
		return;
	for (j = 0; j < index; j++) {
		memcpy(&other, items + j * t->size + t->name_off, sizeof(other));
		if (other == NULL || strcmp(name, other) != 0)
			continue;
		line = 0;
		if (t->line_off >= 0)
			memcpy(&line, items + j * t->size + t->line_off, sizeof(line));
		path_join(key, path, "name");
		add_error(ld, config_setting_get_member(elem, "name"), 0, key,
			  "duplicate %s name '%s' (first defined at line %d)", t->what, name, line);
		return;
	}
}

/* Cross-checks that need the whole file: a listener's pool exists, PROXY headers are
 * only accepted from somewhere, and no two listeners bind the same address. Lines come
 * from the settings, which are still alive. */
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
		path_join(base, "listeners", elem_segment(&cfg_listener_table, e, (int)i, seg, sizeof(seg)));
		if (l->pool != NULL && pools_named && config_find_pool(cfg, l->pool) == NULL) {
			path_join(path, base, "pool");
			add_error(ld, config_setting_get_member(e, "pool"), 0, path,
				  "no pool named '%s' is defined", l->pool);
		} else if (l->pool != NULL && l->mode == LISTENER_TCP && pools_named &&
			   config_find_pool(cfg, l->pool)->adaptive_limit) {
			path_join(path, base, "pool");
			add_error(ld, config_setting_get_member(e, "pool"), 0, path,
				  "pool '%s' has adaptive_limit = true, which learns from HTTP response "
				  "times; a tcp listener cannot use it", l->pool);
		}
		if (l->accept_proxy && l->nproxy_trusted == 0) {
			path_join(path, base, "proxy_trusted");
			add_error(ld, config_setting_get_member(e, "accept_proxy"), 0, path,
				  "accept_proxy = true needs a non-empty proxy_trusted list "
				  "(the sources allowed to send PROXY headers)");
		}
		if (l->bind.len == 0)
			continue;
		for (j = 0; j < i; j++) {
			const struct cfg_listener *o = &cfg->listeners[j];

			if (o->bind.len == 0 || !addr_equal(&l->bind, &o->bind))
				continue;
			path_join(path, base, "bind");
			add_error(ld, config_setting_get_member(e, "bind"), 0, path,
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
			add_error(ld, e, t->line, key, "control.tokens needs control.token_dir");
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", cfg->control.token_dir, t->name);
		if (stat(path, &st) == -1)
			add_error(ld, e, t->line, key, "no token file %s: %s", path, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			add_error(ld, e, t->line, key, "token file %s is not a regular file", path);
		if (t->pools && t->scope != TOKEN_SCOPE_BACKENDS)
			add_error(ld, e, t->line, key, "pools applies only to scope \"backends\"");
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
	add_error(ld, grp ? config_setting_get_member(grp, "listen") : NULL, 0, "control.listen",
		  "the control API on non-loopback address %s needs control.token_file, token_dir or "
		  "control.tls with verify_client = \"required\" "
		  "(anyone who can connect could change the pools)", cfg->control.listen);
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
			path_join(base, "pools", elem_segment(&cfg_pool_table, e, (int)i, seg, sizeof(seg)));
			path_join(path, base, "health.expect");
			add_error(ld, h ? config_setting_get_member(h, "expect") : e, 0, path,
				  "expect must name at least one status");
		}
		if (p->discovery.kubernetes && p->discovery.kubernetes->port &&
		    p->discovery.kubernetes->port_name && e) {
			const config_setting_t *d = config_setting_get_member(e, "discovery");
			const config_setting_t *k = d ? config_setting_get_member(d, "kubernetes") : NULL;

			path_join(base, "pools", elem_segment(&cfg_pool_table, e, (int)i, seg, sizeof(seg)));
			path_join(path, base, "discovery.kubernetes.port_name");
			add_error(ld, k ? config_setting_get_member(k, "port_name") : e, 0, path,
				  "set port or port_name, not both");
		}
		if (p->health.drain_header && !p->health.drain_status && e) {
			path_join(base, "pools", elem_segment(&cfg_pool_table, e, (int)i, seg, sizeof(seg)));
			path_join(path, base, "health.drain_header");
			add_error(ld, h ? config_setting_get_member(h, "drain_header") : e, 0, path,
				  "drain_header needs drain_status (the statuses it qualifies)");
		}
	}
}

/* ---- Table walkers ----------------------------------------------------------------- */

/* Stores every default of t into obj (zeroed), recursing into embedded groups.
 * Returns 0, or -1 when a default string could not be copied. */
static int set_defaults(const struct key_table *t, void *obj)
{
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		char *field = (char *)obj + k->off;

		switch (k->type) {
		case KEY_INT:
			if (k->size == sizeof(uint64_t)) {
				uint64_t u = (uint64_t)k->def;

				memcpy(field, &u, sizeof(u));
			} else {
				uint32_t u = (uint32_t)k->def;

				memcpy(field, &u, sizeof(u));
			}
			break;
		case KEY_BOOL:
		case KEY_ENUM: {
			int v = (int)k->def;

			memcpy(field, &v, sizeof(v));
			break;
		}
		case KEY_STRING:
			if (k->def_str != NULL) {
				char *copy = strdup(k->def_str);

				if (copy == NULL)
					return -1;
				memcpy(field, &copy, sizeof(copy));
			}
			break;
		case KEY_GROUP:
			if (!(k->flags & KEY_POINTER) && set_defaults(k->sub, field) == -1)
				return -1;
			break;
		case KEY_ADDR:
		case KEY_PREFIXES:
		case KEY_LIST:
			break;
		}
	}
	return 0;
}

/* Frees everything obj owns as described by t (not obj itself). */
static void free_fields(const struct key_table *t, void *obj)
{
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		char *field = (char *)obj + k->off;
		void *p;

		switch (k->type) {
		case KEY_STRING:
		case KEY_PREFIXES:
			memcpy(&p, field, sizeof(p));
			free(p);
			break;
		case KEY_GROUP:
			if (k->flags & KEY_POINTER) {
				memcpy(&p, field, sizeof(p));
				if (p != NULL)
					free_fields(k->sub, p);
				free(p);
			} else {
				free_fields(k->sub, field);
			}
			break;
		case KEY_LIST: {
			size_t n, i;

			memcpy(&p, field, sizeof(p));
			memcpy(&n, (char *)obj + k->count_off, sizeof(n));
			for (i = 0; p != NULL && i < n; i++)
				free_fields(k->sub, (char *)p + i * k->sub->size);
			free(p);
			break;
		}
		case KEY_INT:
		case KEY_BOOL:
		case KEY_ENUM:
		case KEY_ADDR:
			break;
		}
	}
}

/* Adds an error for each key of t that differs between a and b but that a reload
 * cannot change. Lists are replaced as a whole by a reload, so only scalars and
 * embedded groups are compared. Returns how many were added. */
/* all: t is (part of) a key a reload cannot change, so every key in it counts. */
static int reload_diff(const struct key_table *t, const void *a, const void *b,
		       const char *path, int all, const char *file, struct config_errors *errs)
{
	char child[KEY_PATH_MAX], msg[ERR_MAX];
	const struct key *k;
	int n = 0;

	for (k = t->keys; k->name != NULL; k++) {
		const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
		int differ = 0;

		path_join(child, path, k->name);
		if (k->type == KEY_GROUP && !(k->flags & KEY_POINTER)) {
			n += reload_diff(k->sub, fa, fb, child, all || !(k->flags & KEY_RELOAD), file,
					 errs);
			continue;
		}
		if (!all && (k->flags & KEY_RELOAD))
			continue;
		/* an optional group the running process set up once (control.tls): added,
		 * removed or changed inside needs a restart */
		if (k->type == KEY_GROUP) {
			const void *ga, *gb;

			memcpy(&ga, fa, sizeof(ga));
			memcpy(&gb, fb, sizeof(gb));
			if ((ga == NULL) != (gb == NULL))
				differ = 1;
			else if (ga)
				n += reload_diff(k->sub, ga, gb, child, 1, file, errs);
		} else if (k->type == KEY_LIST && all) {
			const char *la, *lb;
			size_t ca, cb, i;

			memcpy(&la, fa, sizeof(la));
			memcpy(&lb, fb, sizeof(lb));
			memcpy(&ca, (const char *)a + k->count_off, sizeof(ca));
			memcpy(&cb, (const char *)b + k->count_off, sizeof(cb));
			if (ca != cb)
				differ = 1;
			else
				for (i = 0; i < ca; i++)
					n += reload_diff(k->sub, la + i * k->sub->size,
							 lb + i * k->sub->size, child, 1, file, errs);
		}
		switch (k->type) {
		case KEY_INT:
		case KEY_BOOL:
		case KEY_ENUM:
			differ = memcmp(fa, fb, k->type == KEY_INT ? k->size : sizeof(int)) != 0;
			break;
		case KEY_STRING: {
			const char *sa, *sb;

			memcpy(&sa, fa, sizeof(sa));
			memcpy(&sb, fb, sizeof(sb));
			differ = (sa == NULL) != (sb == NULL) || (sa && sb && strcmp(sa, sb) != 0);
			break;
		}
		case KEY_ADDR:
			differ = !addr_equal((const struct addr *)fa, (const struct addr *)fb);
			break;
		case KEY_PREFIXES:
		case KEY_GROUP:
		case KEY_LIST:
			break;
		}
		if (!differ)
			continue;
		snprintf(msg, sizeof(msg), "changed, but a reload cannot change %s; restart fulcrum",
			 k->name);
		add_error_raw(errs, file, 0, child, msg);
		n++;
	}
	return n;
}

/* Prints one markdown row per key of t, depth first; list elements show as "[]".
 * fixed: t sits under a key a reload cannot change, so none of its keys can either. */
static void print_keys(const struct key_table *t, const char *path, int fixed, FILE *out)
{
	static const char *const type_names[] = {
		[KEY_INT] = "integer", [KEY_STRING] = "string", [KEY_BOOL] = "boolean",
		[KEY_ENUM] = "enum", [KEY_ADDR] = "address", [KEY_PREFIXES] = "list of prefixes",
		[KEY_GROUP] = "group", [KEY_LIST] = "list of groups",
	};
	char child[KEY_PATH_MAX], bounds[256], def[128];
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		int sub_fixed = fixed || (k->type != KEY_LIST && !(k->flags & KEY_RELOAD));

		path_join(child, path, k->name);
		describe_bounds(k, bounds, sizeof(bounds));
		describe_default(k, def, sizeof(def));

		fprintf(out, "| `%s` | %s | %s | %s | %s | %s |\n", child,
			(k->flags & KEY_NAMES) ? "list of names" : type_names[k->type],
			bounds, def, !fixed && (k->flags & KEY_RELOAD) ? "yes" : "no", k->doc);
		if (k->type == KEY_GROUP) {
			print_keys(k->sub, child, sub_fixed, out);
		} else if (k->type == KEY_LIST) {
			strncat(child, "[]", sizeof(child) - strlen(child) - 1);
			print_keys(k->sub, child, sub_fixed, out);
		}
	}
}

/* The "values" column of the reference: range, choices or count of elements. */
static void describe_bounds(const struct key *k, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	switch (k->type) {
	case KEY_INT:
		snprintf(buf, len, "%lld..%lld", k->min, k->max);
		break;
	case KEY_ENUM:
		for (i = 0; k->names[i] != NULL && used < len; i++) {
			snprintf(buf + used, len - used, "%s`\"%s\"`", i ? ", " : "", k->names[i]);
			used = strlen(buf);
		}
		break;
	case KEY_LIST:
	case KEY_PREFIXES:
		snprintf(buf, len, "%lld..%lld entries", k->min, k->max);
		break;
	case KEY_STRING:
		snprintf(buf, len, "%s", k->rule != NULL ? k->rule->values : "non-empty");
		break;
	case KEY_ADDR:
		snprintf(buf, len, "`host:port`");
		break;
	case KEY_BOOL:
		snprintf(buf, len, "`true`, `false`");
		break;
	case KEY_GROUP:
		snprintf(buf, len, "`{ ... }`");
		break;
	}
}

/* The "default" column of the reference. */
static void describe_default(const struct key *k, char *buf, size_t len)
{
	if (k->flags & KEY_REQUIRED) {
		snprintf(buf, len, "required");
		return;
	}
	switch (k->type) {
	case KEY_INT:
		snprintf(buf, len, "%lld", k->def);
		break;
	case KEY_BOOL:
		snprintf(buf, len, "`%s`", k->def ? "true" : "false");
		break;
	case KEY_ENUM:
		snprintf(buf, len, "`\"%s\"`", k->names[k->def]);
		break;
	case KEY_STRING:
		if (k->def_str != NULL)
			snprintf(buf, len, "`\"%s\"`", k->def_str);
		else
			snprintf(buf, len, "unset");
		break;
	case KEY_GROUP:
		snprintf(buf, len, (k->flags & KEY_POINTER) ? "absent" : "defaults below");
		break;
	case KEY_LIST:
	case KEY_PREFIXES:
		snprintf(buf, len, "empty");
		break;
	case KEY_ADDR:
		snprintf(buf, len, "unset");
		break;
	}
}

/* ---- Copying and writing back ------------------------------------------------------ */

/* Clears every pointer obj owns as described by t (and the counts that go with them),
 * recursing into embedded groups: obj is then a byte copy that owns nothing. */
static void null_owned(const struct key_table *t, void *obj)
{
	static void *const none;
	static const size_t zero;
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		char *f = (char *)obj + k->off;

		switch (k->type) {
		case KEY_STRING:
			memcpy(f, &none, sizeof(none));
			break;
		case KEY_PREFIXES:
		case KEY_LIST:
			memcpy(f, &none, sizeof(none));
			memcpy((char *)obj + k->count_off, &zero, sizeof(zero));
			break;
		case KEY_GROUP:
			if (k->flags & KEY_POINTER)
				memcpy(f, &none, sizeof(none));
			else
				null_owned(k->sub, f);
			break;
		case KEY_INT:
		case KEY_BOOL:
		case KEY_ENUM:
		case KEY_ADDR:
			break;
		}
	}
}

/* Deep-copies into dst what src owns as described by t. dst starts as a byte copy of
 * src passed through null_owned, so values that are not keys (lines, sets derived at
 * load such as health.expect_set) come along, and on failure dst owns only what was
 * copied so far and free_fields can release it. Returns 0, or -1 when memory ran out. */
static int dup_fields(const struct key_table *t, void *dst, const void *src)
{
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		char *df = (char *)dst + k->off;
		const char *sf = (const char *)src + k->off;
		const void *sp;
		void *dp;
		size_t n, i;

		switch (k->type) {
		case KEY_INT:
		case KEY_BOOL:
		case KEY_ENUM:
		case KEY_ADDR:
			break;  /* in the byte copy already */
		case KEY_STRING:
			memcpy(&sp, sf, sizeof(sp));
			if (sp == NULL)
				break;
			if ((dp = strdup(sp)) == NULL)
				return -1;
			memcpy(df, &dp, sizeof(dp));
			break;
		case KEY_PREFIXES:
			memcpy(&sp, sf, sizeof(sp));
			memcpy(&n, (const char *)src + k->count_off, sizeof(n));
			if (sp == NULL || n == 0)
				break;
			if ((dp = malloc(n * sizeof(struct addr_prefix))) == NULL)
				return -1;
			memcpy(dp, sp, n * sizeof(struct addr_prefix));
			memcpy(df, &dp, sizeof(dp));
			memcpy((char *)dst + k->count_off, &n, sizeof(n));
			break;
		case KEY_GROUP:
			if (!(k->flags & KEY_POINTER)) {
				if (dup_fields(k->sub, df, sf) == -1)
					return -1;
				break;
			}
			memcpy(&sp, sf, sizeof(sp));
			if (sp == NULL)
				break;
			if ((dp = malloc(k->sub->size)) == NULL)
				return -1;
			memcpy(dp, sp, k->sub->size);
			null_owned(k->sub, dp);
			memcpy(df, &dp, sizeof(dp));
			if (dup_fields(k->sub, dp, sp) == -1)
				return -1;
			break;
		case KEY_LIST:
			memcpy(&sp, sf, sizeof(sp));
			memcpy(&n, (const char *)src + k->count_off, sizeof(n));
			if (sp == NULL || n == 0)
				break;
			if ((dp = malloc(n * k->sub->size)) == NULL)
				return -1;
			memcpy(dp, sp, n * k->sub->size);
			for (i = 0; i < n; i++)
				null_owned(k->sub, (char *)dp + i * k->sub->size);
			memcpy(df, &dp, sizeof(dp));
			memcpy((char *)dst + k->count_off, &n, sizeof(n));
			for (i = 0; i < n; i++)
				if (dup_fields(k->sub, (char *)dp + i * k->sub->size,
					       (const char *)sp + i * k->sub->size) == -1)
					return -1;
			break;
		}
	}
	return 0;
}

/* A libconfig string literal: quotes, backslashes and control bytes escaped. */
static void write_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* Writes the keys of obj (described by t). LIBCONFIG style: "name = value;" lines
 * indented by depth, groups and lists nested, so the result loads back; unset strings
 * and absent groups are left out, which is how they load. FLAT style: "path = value"
 * lines, list elements named as in error paths, for diffs. Returns 0 or -1. */
static int write_group(const struct key_table *t, const void *obj, const char *path,
		       int depth, enum config_render_style style, FILE *out)
{
	int flat = style == CONFIG_RENDER_FLAT;
	char child[KEY_PATH_MAX], seg[32];
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		const char *f = (const char *)obj + k->off;
		const void *p;
		size_t n, i;

		path_join(child, path, k->name);
		/* only pointer fields are read as pointers: a 4-byte field at the end of its
		 * struct has no 8 bytes to read */
		p = NULL;
		if (k->type == KEY_STRING || k->type == KEY_PREFIXES || k->type == KEY_LIST ||
		    (k->type == KEY_GROUP && (k->flags & KEY_POINTER)))
			memcpy(&p, f, sizeof(p));
		/* Nothing to write for unset values: they load back as unset. */
		if ((k->type == KEY_STRING || (k->type == KEY_GROUP && (k->flags & KEY_POINTER))) &&
		    p == NULL)
			continue;
		/* a list element's name is already in its path */
		if (flat && k->type == KEY_STRING && t->name_off == (long)k->off)
			continue;
		if (k->type == KEY_GROUP && flat) {
			if (write_group(k->sub, (k->flags & KEY_POINTER) ? p : (const void *)f, child,
					0, style, out) == -1)
				return -1;
			continue;
		}
		if (flat)
			fprintf(out, "%s = ", child);
		else
			fprintf(out, "%*s%s = ", depth * 2, "", k->name);
		switch (k->type) {
		case KEY_INT: {
			uint64_t v = 0;

			if (k->size == sizeof(uint64_t)) {
				memcpy(&v, f, sizeof(v));
			} else {
				uint32_t u;

				memcpy(&u, f, sizeof(u));
				v = u;
			}
			/* libconfig truncates plain integers above 2^31-1 */
			fprintf(out, "%llu%s", (unsigned long long)v, v > INT32_MAX ? "L" : "");
			break;
		}
		case KEY_BOOL: {
			int b;

			memcpy(&b, f, sizeof(b));
			fputs(b ? "true" : "false", out);
			break;
		}
		case KEY_ENUM: {
			int idx;

			memcpy(&idx, f, sizeof(idx));
			write_string(out, k->names[idx]);
			break;
		}
		case KEY_STRING:
			if (k->flags & KEY_NAMES)
				write_names(out, p);
			else
				write_string(out, p);
			break;
		case KEY_ADDR:
			write_string(out, ((const struct addr *)f)->text);
			break;
		case KEY_PREFIXES: {
			const struct addr_prefix *ap = p;
			char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];

			memcpy(&n, (const char *)obj + k->count_off, sizeof(n));
			fputs("[ ", out);
			for (i = 0; i < n; i++) {
				if (inet_ntop(ap[i].family, ap[i].net, host, sizeof(host)) == NULL)
					return -1;
				snprintf(text, sizeof(text), "%s/%u", host, ap[i].bits);
				if (i)
					fputs(", ", out);
				write_string(out, text);
			}
			fputs(n ? " ]" : "]", out);
			break;
		}
		case KEY_GROUP:
			fputs("{\n", out);
			if (write_group(k->sub, (k->flags & KEY_POINTER) ? p : (const void *)f, child,
					depth + 1, style, out) == -1)
				return -1;
			fprintf(out, "%*s}", depth * 2, "");
			break;
		case KEY_LIST:
			memcpy(&n, (const char *)obj + k->count_off, sizeof(n));
			if (flat) {
				/* the count, so that an emptied list still shows in a diff */
				fprintf(out, "%zu %s%s\n", n, k->sub->what, n == 1 ? "" : "s");
				for (i = 0; i < n; i++) {
					const char *e = (const char *)p + i * k->sub->size;
					const char *name = NULL;
					char epath[KEY_PATH_MAX];

					if (k->sub->name_off >= 0)
						memcpy(&name, e + k->sub->name_off, sizeof(name));
					if (name == NULL) {
						snprintf(seg, sizeof(seg), "[%zu]", i);
						name = seg;
					}
					path_join(epath, child, name);
					if (write_group(k->sub, e, epath, 0, style, out) == -1)
						return -1;
				}
				continue;
			}
			fputs("(", out);
			for (i = 0; i < n; i++) {
				fprintf(out, "%s\n%*s{\n", i ? "," : "", (depth + 1) * 2, "");
				if (write_group(k->sub, (const char *)p + i * k->sub->size, child,
						depth + 2, style, out) == -1)
					return -1;
				fprintf(out, "%*s}", (depth + 1) * 2, "");
			}
			fprintf(out, n ? "\n%*s)" : "%*s)", n ? depth * 2 : 0, "");
			break;
		}
		fputs(flat ? "\n" : ";\n", out);
	}
	return 0;
}

/* ---- Errors and paths -------------------------------------------------------------- */

/* Records an error at setting s (its file and line), or at line when s is NULL. */
static void add_error(struct loader *ld, const config_setting_t *s, int line, const char *key,
		      const char *fmt, ...)
{
	char msg[ERR_MAX];
	const char *file = ld->file;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL) {
		line = config_setting_source_line(s);
		if (config_setting_source_file(s) != NULL)
			file = config_setting_source_file(s);
	}
	ld->failed = 1;
	add_error_raw(ld->errs, file, line, key, msg);
}

/* Appends a copy of one error to errs. When memory runs out the error is dropped; the
 * caller's load fails anyway because the error was counted by its loader. */
static void add_error_raw(struct config_errors *errs, const char *file, int line,
			  const char *key, const char *msg)
{
	struct config_error *items, *e;

	items = realloc(errs->items, (errs->count + 1) * sizeof(*items));
	if (items == NULL)
		return;
	errs->items = items;
	e = &items[errs->count];
	e->file = strdup(file ? file : "?");
	e->line = line;
	e->key = strdup(key ? key : "");
	e->message = strdup(msg);
	if (e->file == NULL || e->key == NULL || e->message == NULL) {
		free(e->file);
		free(e->key);
		free(e->message);
		return;
	}
	errs->count++;
}

/* Orders errors by line, stably, so they read top to bottom like the file even though
 * cross-checks run after the whole tree was read. Errors from an @include'd file keep
 * their place relative to each other. */
static void sort_errors(struct config_errors *errs)
{
	size_t i, j;

	for (i = 1; i < errs->count; i++) {
		struct config_error e = errs->items[i];

		for (j = i; j > 0; j--) {
			const struct config_error *p = &errs->items[j - 1];

			if (strcmp(p->file, e.file) != 0 || p->line <= e.line)
				break;
			errs->items[j] = *p;
		}
		errs->items[j] = e;
	}
}

/* dst = prefix "." seg, or seg alone at the top; truncated to KEY_PATH_MAX. */
static void path_join(char *dst, const char *prefix, const char *seg)
{
	size_t used = 0, n;

	if (prefix != NULL && prefix[0] != '\0') {
		n = strnlen(prefix, KEY_PATH_MAX - 2);
		memcpy(dst, prefix, n);
		dst[n] = '.';
		used = n + 1;
	}
	n = strnlen(seg, KEY_PATH_MAX - 1 - used);
	memcpy(dst + used, seg, n);
	dst[used + n] = '\0';
}

/* The path segment naming a list element: its "name" when it has a valid one (the
 * operator searches for that), else "[index]". */
static const char *elem_segment(const struct key_table *t, const config_setting_t *elem,
				int index, char *buf, size_t len)
{
	const char *name = NULL;

	if (t->name_off >= 0 && config_setting_type(elem) == CONFIG_TYPE_GROUP &&
	    config_setting_lookup_string(elem, "name", &name) == CONFIG_TRUE &&
	    cfg_check_name(name, NULL, 0) == 0)
		return name;
	snprintf(buf, len, "[%d]", index);
	return buf;
}

static const char *setting_type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "nothing";
	}
}

static const struct key *find_key(const struct key_table *t, const char *name)
{
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* The key of t closest to a misspelt name (at most 2 edits), or NULL. */
static const char *suggest_key(const struct key_table *t, const char *name)
{
	const struct key *k, *best = NULL;
	unsigned d, best_d = 3;

	for (k = t->keys; k->name != NULL; k++) {
		d = edit_distance(name, k->name);
		if (d < best_d) {
			best_d = d;
			best = k;
		}
	}
	return best ? best->name : NULL;
}

/* Levenshtein distance with adjacent swaps counted as one edit; names longer than 63
 * characters are never close to a key. */
static unsigned edit_distance(const char *a, const char *b)
{
	unsigned d[64][64];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la >= 64 || lb >= 64)
		return 1000;
	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}
