/* config_nested.c: owns the operations of the key types that hold other keys: a group
 * { ... } (embedded, or allocated when present) and a list ( {..}, {..} ) of groups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"

/* Table of contents. */
static void group_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
			void *obj, const char *path);
static int group_set_default(const struct key *k, char *f);
static void group_free(const struct key *k, void *obj, char *f);
static void group_disown(const struct key *k, void *obj, char *f);
static int group_dup(const struct key *k, void *dst, const void *src);
static int group_diff(const struct key *k, const void *a, const void *b, const char *path,
		      int all, struct differ *d);
static const void *group_of(const struct key *k, const char *f);
static int group_unset(const struct key *k, const char *f);
static int group_write(const struct key *k, const void *obj, const char *f, const char *path,
		       int depth, const struct writer *w);
static int group_write_flat(const struct key *k, const void *obj, const char *f,
			    const char *path, const struct writer *w);
static void group_values(const struct key *k, char *buf, size_t len);
static void group_default(const struct key *k, char *buf, size_t len);
static void list_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
		       void *obj, const char *path);
static void check_unique_name(struct loader *ld, const config_setting_t *elem,
			      const struct key_table *t, char *items, size_t index,
			      const char *path);
static void list_missing(struct loader *ld, const config_setting_t *grp, const struct key *k,
			 const struct key_table *t, const char *path);
static void list_free(const struct key *k, void *obj, char *f);
static void list_disown(const struct key *k, void *obj, char *f);
static int list_dup(const struct key *k, void *dst, const void *src);
static int list_diff(const struct key *k, const void *a, const void *b, const char *path,
		     int all, struct differ *d);
static int list_write(const struct key *k, const void *obj, const char *f, const char *path,
		      int depth, const struct writer *w);
static int list_write_flat(const struct key *k, const void *obj, const char *f,
			   const char *path, const struct writer *w);

/* The reload check looks inside every group: an embedded one may hold keys a reload
 * cannot change even when the group itself is reloadable. */
const struct cfg_type_ops cfg_ops_group = {
	.doc_type = "group",
	.diff_reloadable = 1,
	.parse = group_parse,
	.set_default = group_set_default,
	.free = group_free,
	.disown = group_disown,
	.dup = group_dup,
	.diff = group_diff,
	.unset = group_unset,
	.write = group_write,
	.write_flat = group_write_flat,
	.describe_values = group_values,
	.describe_default = group_default,
};

const struct cfg_type_ops cfg_ops_list = {
	.doc_type = "list of groups",
	.whole = 1,
	.parse = list_parse,
	.missing = list_missing,
	.free = list_free,
	.disown = list_disown,
	.dup = list_dup,
	.diff = list_diff,
	.write = list_write,
	.write_flat = list_write_flat,
	.describe_values = cfg_entries_values,
	.describe_default = cfg_empty_default,
};

/* ---- Group: k->sub's struct in the field, or (KEY_POINTER) a pointer to one -------- */

static void group_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
			void *obj, const char *path)
{
	char *field = (char *)obj + k->off;
	void *sub = field;

	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		cfg_add_error(ld, s, 0, path, "expected a group { ... }, got %s",
			      cfg_setting_type_name(s));
		return;
	}
	if (k->flags & KEY_POINTER) {
		sub = calloc(1, k->sub->size);
		if (sub == NULL || cfg_set_defaults(k->sub, sub) == -1) {
			if (sub != NULL)
				cfg_free_fields(k->sub, sub);
			free(sub);
			cfg_add_error(ld, s, 0, path, "out of memory");
			return;
		}
		memcpy(field, &sub, sizeof(sub));
	}
	cfg_parse_group(ld, s, k->sub, sub, path);
}

/* An absent optional group stays NULL; an embedded one holds its keys' defaults. */
static int group_set_default(const struct key *k, char *f)
{
	if (k->flags & KEY_POINTER)
		return 0;
	return cfg_set_defaults(k->sub, f);
}

static void group_free(const struct key *k, void *obj, char *f)
{
	void *p;

	if (!(k->flags & KEY_POINTER)) {
		cfg_free_fields(k->sub, f);
		return;
	}
	memcpy(&p, f, sizeof(p));
	if (p != NULL)
		cfg_free_fields(k->sub, p);
	free(p);
}

static void group_disown(const struct key *k, void *obj, char *f)
{
	static void *const none;

	if (k->flags & KEY_POINTER)
		memcpy(f, &none, sizeof(none));
	else
		cfg_null_owned(k->sub, f);
}

static int group_dup(const struct key *k, void *dst, const void *src)
{
	char *df = (char *)dst + k->off;
	const char *sf = (const char *)src + k->off;
	const void *sp;
	void *dp;

	if (!(k->flags & KEY_POINTER))
		return cfg_dup_fields(k->sub, df, sf);
	memcpy(&sp, sf, sizeof(sp));
	if (sp == NULL)
		return 0;
	if ((dp = malloc(k->sub->size)) == NULL)
		return -1;
	memcpy(dp, sp, k->sub->size);
	cfg_null_owned(k->sub, dp);
	memcpy(df, &dp, sizeof(dp));
	return cfg_dup_fields(k->sub, dp, sp);
}

/* An embedded group is compared key by key (all of it when the group itself cannot be
 * reloaded). An optional group the running process set up once (control.tls): added,
 * removed or changed inside needs a restart. */
static int group_diff(const struct key *k, const void *a, const void *b, const char *path,
		      int all, struct differ *d)
{
	const char *fa = (const char *)a + k->off, *fb = (const char *)b + k->off;
	const void *ga, *gb;

	if (!(k->flags & KEY_POINTER)) {
		cfg_reload_diff(k->sub, fa, fb, path, all || !(k->flags & KEY_RELOAD), d);
		return 0;
	}
	if (!all && (k->flags & KEY_RELOAD))
		return 0;
	memcpy(&ga, fa, sizeof(ga));
	memcpy(&gb, fb, sizeof(gb));
	if ((ga == NULL) != (gb == NULL))
		return 1;
	if (ga)
		cfg_reload_diff(k->sub, ga, gb, path, 1, d);
	return 0;
}

/* The struct a group field holds: the field itself, or what it points to. Only pointer
 * fields are read as pointers: a 4-byte field at the end of its struct has no 8 bytes. */
static const void *group_of(const struct key *k, const char *f)
{
	const void *p;

	if (!(k->flags & KEY_POINTER))
		return f;
	memcpy(&p, f, sizeof(p));
	return p;
}

/* Nothing to write for an absent group: it loads back as absent. */
static int group_unset(const struct key *k, const char *f)
{
	return group_of(k, f) == NULL;
}

static int group_write(const struct key *k, const void *obj, const char *f, const char *path,
		       int depth, const struct writer *w)
{
	fputs("{\n", w->out);
	if (cfg_write_group(k->sub, group_of(k, f), path, depth + 1, w) == -1)
		return -1;
	fprintf(w->out, "%*s}", depth * 2, "");
	return 0;
}

static int group_write_flat(const struct key *k, const void *obj, const char *f,
			    const char *path, const struct writer *w)
{
	return cfg_write_group(k->sub, group_of(k, f), path, 0, w);
}

static void group_values(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "`{ ... }`");
}

static void group_default(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, (k->flags & KEY_POINTER) ? "absent" : "defaults below");
}

/* ---- List: an array of k->sub structs and its size_t count ------------------------- */

/* Reads a list of groups into a new array of k->sub structs (count set before the
 * elements are filled so config_free can always walk it). */
static void list_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
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
		cfg_add_error(ld, s, 0, path, "expected a list ( { ... }, ... ), got %s",
			      cfg_setting_type_name(s));
		return;
	}
	n = (size_t)config_setting_length(s);
	if ((long long)n < k->min) {
		cfg_add_error(ld, s, 0, path, "at least %lld %s%s required", k->min, t->what,
			      k->min == 1 ? " is" : "s are");
		return;
	}
	if ((long long)n > k->max) {
		cfg_add_error(ld, s, 0, path, "%zu %ss is more than the limit of %lld", n, t->what,
			      k->max);
		return;
	}
	if (n == 0)
		return;
	items = calloc(n, t->size);
	if (items == NULL) {
		cfg_add_error(ld, s, 0, path, "out of memory");
		return;
	}
	memcpy((char *)obj + k->off, &items, sizeof(items));
	memcpy((char *)obj + k->count_off, &n, sizeof(n));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		void *item = items + i * t->size;
		int line = config_setting_source_line(e);

		cfg_path_join(child, path, cfg_elem_segment(t, e, (int)i, seg, sizeof(seg)));
		if (t->line_off >= 0)
			memcpy((char *)item + t->line_off, &line, sizeof(line));
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			cfg_add_error(ld, e, 0, child, "expected a %s group { ... }, got %s", t->what,
				      cfg_setting_type_name(e));
			continue;
		}
		if (cfg_set_defaults(t, item) == -1) {
			cfg_add_error(ld, e, 0, child, "out of memory");
			continue;
		}
		cfg_parse_group(ld, e, t, item, child);
		check_unique_name(ld, e, t, items, i, child);
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
		cfg_path_join(key, path, "name");
		cfg_add_error(ld, config_setting_get_member(elem, "name"), 0, key,
			      "duplicate %s name '%s' (first defined at line %d)", t->what, name,
			      line);
		return;
	}
}

static void list_missing(struct loader *ld, const config_setting_t *grp, const struct key *k,
			 const struct key_table *t, const char *path)
{
	cfg_add_error(ld, grp, 0, path, "at least %lld %s%s required", k->min, k->sub->what,
		      k->min == 1 ? " is" : "s are");
}

static void list_free(const struct key *k, void *obj, char *f)
{
	size_t n, i;
	void *p;

	memcpy(&p, f, sizeof(p));
	memcpy(&n, (char *)obj + k->count_off, sizeof(n));
	for (i = 0; p != NULL && i < n; i++)
		cfg_free_fields(k->sub, (char *)p + i * k->sub->size);
	free(p);
}

static void list_disown(const struct key *k, void *obj, char *f)
{
	static void *const none;
	static const size_t zero;

	memcpy(f, &none, sizeof(none));
	memcpy((char *)obj + k->count_off, &zero, sizeof(zero));
}

static int list_dup(const struct key *k, void *dst, const void *src)
{
	const void *sp;
	void *dp;
	size_t n, i;

	memcpy(&sp, (const char *)src + k->off, sizeof(sp));
	memcpy(&n, (const char *)src + k->count_off, sizeof(n));
	if (sp == NULL || n == 0)
		return 0;
	if ((dp = malloc(n * k->sub->size)) == NULL)
		return -1;
	memcpy(dp, sp, n * k->sub->size);
	for (i = 0; i < n; i++)
		cfg_null_owned(k->sub, (char *)dp + i * k->sub->size);
	memcpy((char *)dst + k->off, &dp, sizeof(dp));
	memcpy((char *)dst + k->count_off, &n, sizeof(n));
	for (i = 0; i < n; i++)
		if (cfg_dup_fields(k->sub, (char *)dp + i * k->sub->size,
				   (const char *)sp + i * k->sub->size) == -1)
			return -1;
	return 0;
}

/* A reload replaces a list as a whole; only a list under a key a reload cannot change
 * is compared (count, then element by element). */
static int list_diff(const struct key *k, const void *a, const void *b, const char *path,
		     int all, struct differ *d)
{
	const char *la, *lb;
	size_t ca, cb, i;

	if (!all)
		return 0;
	memcpy(&la, (const char *)a + k->off, sizeof(la));
	memcpy(&lb, (const char *)b + k->off, sizeof(lb));
	memcpy(&ca, (const char *)a + k->count_off, sizeof(ca));
	memcpy(&cb, (const char *)b + k->count_off, sizeof(cb));
	if (ca != cb)
		return 1;
	for (i = 0; i < ca; i++)
		cfg_reload_diff(k->sub, la + i * k->sub->size, lb + i * k->sub->size, path, 1, d);
	return 0;
}

static int list_write(const struct key *k, const void *obj, const char *f, const char *path,
		      int depth, const struct writer *w)
{
	const char *p;
	size_t n, i;

	memcpy(&p, f, sizeof(p));
	memcpy(&n, (const char *)obj + k->count_off, sizeof(n));
	fputs("(", w->out);
	for (i = 0; i < n; i++) {
		fprintf(w->out, "%s\n%*s{\n", i ? "," : "", (depth + 1) * 2, "");
		if (cfg_write_group(k->sub, p + i * k->sub->size, path, depth + 2, w) == -1)
			return -1;
		fprintf(w->out, "%*s}", (depth + 1) * 2, "");
	}
	fprintf(w->out, n ? "\n%*s)" : "%*s)", n ? depth * 2 : 0, "");
	return 0;
}

/* "path = N things", then each element's keys under the element's name (or [index]). */
static int list_write_flat(const struct key *k, const void *obj, const char *f,
			   const char *path, const struct writer *w)
{
	char epath[KEY_PATH_MAX], seg[32];
	const char *p;
	size_t n, i;

	memcpy(&p, f, sizeof(p));
	memcpy(&n, (const char *)obj + k->count_off, sizeof(n));
	fprintf(w->out, "%s = ", path);
	/* the count, so that an emptied list still shows in a diff */
	fprintf(w->out, "%zu %s%s\n", n, k->sub->what, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		const char *e = p + i * k->sub->size;
		const char *name = NULL;

		if (k->sub->name_off >= 0)
			memcpy(&name, e + k->sub->name_off, sizeof(name));
		if (name == NULL) {
			snprintf(seg, sizeof(seg), "[%zu]", i);
			name = seg;
		}
		cfg_path_join(epath, path, name);
		if (cfg_write_group(k->sub, e, epath, 0, w) == -1)
			return -1;
	}
	return 0;
}
