/* config_walk.c: owns the walks over a key table (read, defaults, free, copy, reload
 * check, write, reference); each leaves what a key's type means to that type's
 * operations, which it reaches through the key (k->type) and never by name. */
#include <stdio.h>
#include <string.h>

#include "config-int.h"

/* Table of contents. */
static const struct key *find_key(const struct key_table *t, const char *name);
static const char *suggest_key(const struct key_table *t, const char *name);
static unsigned edit_distance(const char *a, const char *b);

/* ---- The walkers ------------------------------------------------------------------- */

/* Reads every member of grp (a libconfig group) into obj as described by t; unknown
 * keys, wrong types, bounds and missing required keys are reported, never fatal, so
 * one load reports everything. obj already holds the defaults. */
void cfg_parse_group(struct loader *ld, const config_setting_t *grp, const struct key_table *t,
		     void *obj, const char *path)
{
	char child[KEY_PATH_MAX];
	unsigned long long seen = 0;  /* bit i: key i was present; tables stay under 64 keys */
	int i, n = config_setting_length(grp);
	size_t ki;

	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(m);
		const struct key *k = find_key(t, name);

		cfg_path_join(child, path, name);
		if (k == NULL) {
			const char *near = suggest_key(t, name);

			if (near != NULL)
				cfg_add_error(ld, m, 0, child,
					      "unknown key '%s' (did you mean '%s'?)", name, near);
			else
				cfg_add_error(ld, m, 0, child, "unknown key '%s' in %s", name,
					      t->what);
			continue;
		}
		seen |= 1ull << (k - t->keys);
		k->type->parse(ld, m, k, obj, child);
	}
	for (ki = 0; t->keys[ki].name != NULL; ki++) {
		const struct key *k = &t->keys[ki];

		if (!(k->flags & KEY_REQUIRED) || (seen & (1ull << ki)))
			continue;
		cfg_path_join(child, path, k->name);
		if (k->type->missing != NULL)
			k->type->missing(ld, grp, k, t, child);
		else
			cfg_add_error(ld, grp, 0, child, "missing required key '%s' in %s",
				      k->name, t->what);
	}
}

/* Stores every default of t into obj (zeroed), recursing into embedded groups.
 * Returns 0, or -1 when a default string could not be copied. */
int cfg_set_defaults(const struct key_table *t, void *obj)
{
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		const struct cfg_type_ops *ops = k->type;

		if (ops->set_default != NULL && ops->set_default(k, (char *)obj + k->off) == -1)
			return -1;
	}
	return 0;
}

/* Frees everything obj owns as described by t (not obj itself). */
void cfg_free_fields(const struct key_table *t, void *obj)
{
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++)
		if (k->type->free != NULL)
			k->type->free(k, obj, (char *)obj + k->off);
}

/* Clears every pointer obj owns as described by t (and the counts that go with them),
 * recursing into embedded groups: obj is then a byte copy that owns nothing. */
void cfg_null_owned(const struct key_table *t, void *obj)
{
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++)
		if (k->type->disown != NULL)
			k->type->disown(k, obj, (char *)obj + k->off);
}

/* Deep-copies into dst what src owns as described by t. dst starts as a byte copy of
 * src passed through cfg_null_owned, so values that are not keys (lines, sets derived
 * at load such as health.expect_set) come along, and on failure dst owns only what was
 * copied so far and cfg_free_fields can release it. Returns 0, or -1 when memory ran
 * out. */
int cfg_dup_fields(const struct key_table *t, void *dst, const void *src)
{
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		const struct cfg_type_ops *ops = k->type;

		if (ops->dup != NULL && ops->dup(k, dst, src) == -1)
			return -1;
	}
	return 0;
}

/* Adds an error to d for each key of t that differs between a and b but that a reload
 * cannot change. Lists are replaced as a whole by a reload, so only scalars and
 * embedded groups are compared. all: t is (part of) a key a reload cannot change, so
 * every key in it counts. */
void cfg_reload_diff(const struct key_table *t, const void *a, const void *b, const char *path,
		     int all, struct differ *d)
{
	char child[KEY_PATH_MAX], msg[ERR_MAX];
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		const struct cfg_type_ops *ops = k->type;

		cfg_path_join(child, path, k->name);
		if (!ops->diff_reloadable && !all && (k->flags & KEY_RELOAD))
			continue;
		if (ops->diff == NULL || !ops->diff(k, a, b, child, all, d))
			continue;
		snprintf(msg, sizeof(msg), "changed, but a reload cannot change %s; restart fulcrum",
			 k->name);
		config_errors_add(d->errs, d->file, 0, child, msg);
		d->n++;
	}
}

/* Writes the keys of obj (described by t). LIBCONFIG style: "name = value;" lines
 * indented by depth, groups and lists nested, so the result loads back; unset strings
 * and absent groups are left out, which is how they load. FLAT style: "path = value"
 * lines, list elements named as in error paths, for diffs. Returns 0 or -1. */
int cfg_write_group(const struct key_table *t, const void *obj, const char *path, int depth,
		    const struct writer *w)
{
	char child[KEY_PATH_MAX];
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		const struct cfg_type_ops *ops = k->type;
		const char *f = (const char *)obj + k->off;

		cfg_path_join(child, path, k->name);
		/* Nothing to write for unset values: they load back as unset. */
		if (ops->unset != NULL && ops->unset(k, f))
			continue;
		/* a list element's name is already in its path */
		if (w->flat && t->name_off == (long)k->off)
			continue;
		if (w->flat && ops->write_flat != NULL) {
			if (ops->write_flat(k, obj, f, child, w) == -1)
				return -1;
			continue;
		}
		if (w->flat)
			fprintf(w->out, "%s = ", child);
		else
			fprintf(w->out, "%*s%s = ", depth * 2, "", k->name);
		if (ops->write(k, obj, f, child, depth, w) == -1)
			return -1;
		fputs(w->flat ? "\n" : ";\n", w->out);
	}
	return 0;
}

/* Prints one markdown row per key of t, depth first; list elements show as "[]".
 * fixed: t sits under a key a reload cannot change, so none of its keys can either. */
void cfg_print_keys(const struct key_table *t, const char *path, int fixed, FILE *out)
{
	char child[KEY_PATH_MAX], values[256], def[128];
	const struct key *k;

	for (k = t->keys; k->name != NULL; k++) {
		const struct cfg_type_ops *ops = k->type;
		int sub_fixed = fixed || (!ops->whole && !(k->flags & KEY_RELOAD));

		cfg_path_join(child, path, k->name);
		values[0] = '\0';
		ops->describe_values(k, values, sizeof(values));
		if (k->flags & KEY_REQUIRED)
			snprintf(def, sizeof(def), "required");
		else
			ops->describe_default(k, def, sizeof(def));

		fprintf(out, "| `%s` | %s | %s | %s | %s | %s |\n", child,
			(k->flags & KEY_NAMES) ? "list of names" : ops->doc_type,
			values, def, !fixed && (k->flags & KEY_RELOAD) ? "yes" : "no", k->doc);
		if (k->sub == NULL)
			continue;
		if (ops->whole)
			strncat(child, "[]", sizeof(child) - strlen(child) - 1);
		cfg_print_keys(k->sub, child, sub_fixed, out);
	}
}

/* ---- Paths and names --------------------------------------------------------------- */

/* dst = prefix "." seg, or seg alone at the top; truncated to KEY_PATH_MAX. */
void cfg_path_join(char *dst, const char *prefix, const char *seg)
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
const char *cfg_elem_segment(const struct key_table *t, const config_setting_t *elem,
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

const char *cfg_setting_type_name(const config_setting_t *s)
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
