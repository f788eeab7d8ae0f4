/* config_text.c: owns the operations of the key types that own memory (string, list of
 * names, prefixes): reading, default, release, copy, compare, writing, reference. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config-int.h"

/* Table of contents. */
static void string_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
			 void *obj, const char *path);
static char *parse_names(struct loader *ld, const config_setting_t *s, const struct key *k,
			 const char *path);
static int string_set_default(const struct key *k, char *f);
static void pointer_free(const struct key *k, void *obj, char *f);
static void pointer_disown(const struct key *k, void *obj, char *f);
static int string_dup(const struct key *k, void *dst, const void *src);
static int string_diff(const struct key *k, const void *a, const void *b, const char *path,
		       int all, struct differ *d);
static int string_unset(const struct key *k, const char *f);
static int string_write(const struct key *k, const void *obj, const char *f, const char *path,
			int depth, const struct writer *w);
static void write_names(FILE *out, const char *joined);
static void string_values(const struct key *k, char *buf, size_t len);
static void string_default(const struct key *k, char *buf, size_t len);
static void prefixes_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
			   void *obj, const char *path);
static void prefixes_disown(const struct key *k, void *obj, char *f);
static int prefixes_dup(const struct key *k, void *dst, const void *src);
static int prefixes_write(const struct key *k, const void *obj, const char *f,
			  const char *path, int depth, const struct writer *w);

const struct cfg_type_ops cfg_ops_string = {
	.doc_type = "string",
	.parse = string_parse,
	.set_default = string_set_default,
	.free = pointer_free,
	.disown = pointer_disown,
	.dup = string_dup,
	.diff = string_diff,
	.unset = string_unset,
	.write = string_write,
	.describe_values = string_values,
	.describe_default = string_default,
};

/* A reload replaces the list, so the reload check does not compare prefixes. */
const struct cfg_type_ops cfg_ops_prefixes = {
	.doc_type = "list of prefixes",
	.parse = prefixes_parse,
	.free = pointer_free,
	.disown = prefixes_disown,
	.dup = prefixes_dup,
	.write = prefixes_write,
	.describe_values = cfg_entries_values,
	.describe_default = cfg_empty_default,
};

/* ---- String: a malloc'd char *, NULL when unset; KEY_NAMES: a list kept as "a,b" --- */

static void string_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
			 void *obj, const char *path)
{
	char *field = (char *)obj + k->off;
	char err[ERR_MAX];
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
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_add_error(ld, s, 0, path, "expected a string, got %s",
			      cfg_setting_type_name(s));
		return;
	}
	v = config_setting_get_string(s);
	if (k->rule != NULL && k->rule->check(v, err, sizeof(err)) == -1) {
		cfg_add_error(ld, s, 0, path, "%s", err);
		return;
	}
	copy = strdup(v);
	if (copy == NULL) {
		cfg_add_error(ld, s, 0, path, "out of memory");
		return;
	}
	memcpy(&old, field, sizeof(old));
	free(old);
	memcpy(field, &copy, sizeof(copy));
}

/* Reads a list or array of names ( "a", "b" ), each passing k's rule, into one malloc'd
 * string "a,b" (names have no commas). NULL when something was wrong (reported). */
static char *parse_names(struct loader *ld, const config_setting_t *s, const struct key *k,
			 const char *path)
{
	char child[KEY_PATH_MAX], seg[32], err[ERR_MAX], *joined;
	int type = config_setting_type(s), bad = 0;
	size_t n, i, len = 1;

	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) {
		cfg_add_error(ld, s, 0, path, "expected a list of names ( \"a\", \"b\" ), got %s",
			      cfg_setting_type_name(s));
		return NULL;
	}
	n = (size_t)config_setting_length(s);
	if (n == 0 || (long long)n > k->max) {
		cfg_add_error(ld, s, 0, path, "%zu names; 1..%lld are allowed", n, k->max);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		snprintf(seg, sizeof(seg), "[%zu]", i);
		cfg_path_join(child, path, seg);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_add_error(ld, e, 0, child, "expected a name string, got %s",
				      cfg_setting_type_name(e));
			bad = 1;
			continue;
		}
		if (k->rule && k->rule->check(config_setting_get_string(e), err, sizeof(err)) == -1) {
			cfg_add_error(ld, e, 0, child, "%s", err);
			bad = 1;
			continue;
		}
		len += strlen(config_setting_get_string(e)) + 1;
	}
	if (bad)
		return NULL;
	joined = calloc(1, len);
	if (joined == NULL) {
		cfg_add_error(ld, s, 0, path, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (i)
			strcat(joined, ",");
		strcat(joined, config_setting_get_string(config_setting_get_elem(s, (unsigned)i)));
	}
	return joined;
}

static int string_set_default(const struct key *k, char *f)
{
	char *copy;

	if (k->def_str == NULL)
		return 0;
	copy = strdup(k->def_str);
	if (copy == NULL)
		return -1;
	memcpy(f, &copy, sizeof(copy));
	return 0;
}

/* Frees the one malloc'd block a pointer field owns (a string, a prefix array). */
static void pointer_free(const struct key *k, void *obj, char *f)
{
	void *p;

	memcpy(&p, f, sizeof(p));
	free(p);
}

static void pointer_disown(const struct key *k, void *obj, char *f)
{
	static void *const none;

	memcpy(f, &none, sizeof(none));
}

static int string_dup(const struct key *k, void *dst, const void *src)
{
	const char *sp;
	char *dp;

	memcpy(&sp, (const char *)src + k->off, sizeof(sp));
	if (sp == NULL)
		return 0;
	if ((dp = strdup(sp)) == NULL)
		return -1;
	memcpy((char *)dst + k->off, &dp, sizeof(dp));
	return 0;
}

static int string_diff(const struct key *k, const void *a, const void *b, const char *path,
		       int all, struct differ *d)
{
	const char *sa, *sb;

	memcpy(&sa, (const char *)a + k->off, sizeof(sa));
	memcpy(&sb, (const char *)b + k->off, sizeof(sb));
	return (sa == NULL) != (sb == NULL) || (sa && sb && strcmp(sa, sb) != 0);
}

/* Nothing to write for an unset string: it loads back as unset. */
static int string_unset(const struct key *k, const char *f)
{
	const char *p;

	memcpy(&p, f, sizeof(p));
	return p == NULL;
}

static int string_write(const struct key *k, const void *obj, const char *f, const char *path,
			int depth, const struct writer *w)
{
	const char *p;

	memcpy(&p, f, sizeof(p));
	if (k->flags & KEY_NAMES)
		write_names(w->out, p);
	else
		cfg_write_string(w->out, p);
	return 0;
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
		cfg_write_string(out, name);
		p += l + (p[l] == ',');
	}
	fputs(" ]", out);
}

/* A libconfig string literal: quotes, backslashes and control bytes escaped. */
void cfg_write_string(FILE *out, const char *s)
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

static void string_values(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%s", k->rule != NULL ? k->rule->values : "non-empty");
}

static void string_default(const struct key *k, char *buf, size_t len)
{
	if (k->def_str != NULL)
		snprintf(buf, len, "`\"%s\"`", k->def_str);
	else
		snprintf(buf, len, "unset");
}

/* ---- Prefixes: ( "10.0.0.0/8", ... ) into an addr_prefix array and a count --------- */

/* Reads a list or array of prefix strings ("10.0.0.0/8") into an addr_prefix array. */
static void prefixes_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
			   void *obj, const char *path)
{
	char child[KEY_PATH_MAX], seg[32], err[ERR_MAX];
	struct addr_prefix *arr;
	int type = config_setting_type(s);
	size_t n, i;

	if (type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY) {
		cfg_add_error(ld, s, 0, path,
			      "expected a list of prefixes (\"10.0.0.0/8\", ...), got %s",
			      cfg_setting_type_name(s));
		return;
	}
	n = (size_t)config_setting_length(s);
	if ((long long)n > k->max) {
		cfg_add_error(ld, s, 0, path, "%zu prefixes is more than the limit of %lld", n,
			      k->max);
		return;
	}
	if (n == 0)
		return;
	arr = calloc(n, sizeof(*arr));
	if (arr == NULL) {
		cfg_add_error(ld, s, 0, path, "out of memory");
		return;
	}
	memcpy((char *)obj + k->off, &arr, sizeof(arr));
	memcpy((char *)obj + k->count_off, &n, sizeof(n));
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		snprintf(seg, sizeof(seg), "[%zu]", i);
		cfg_path_join(child, path, seg);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_add_error(ld, e, 0, child, "expected a prefix string, got %s",
				      cfg_setting_type_name(e));
			continue;
		}
		if (addr_prefix_parse(config_setting_get_string(e), &arr[i], err, sizeof(err)) == -1)
			cfg_add_error(ld, e, 0, child, "%s", err);
	}
}

static void prefixes_disown(const struct key *k, void *obj, char *f)
{
	static const size_t zero;

	pointer_disown(k, obj, f);
	memcpy((char *)obj + k->count_off, &zero, sizeof(zero));
}

static int prefixes_dup(const struct key *k, void *dst, const void *src)
{
	const void *sp;
	void *dp;
	size_t n;

	memcpy(&sp, (const char *)src + k->off, sizeof(sp));
	memcpy(&n, (const char *)src + k->count_off, sizeof(n));
	if (sp == NULL || n == 0)
		return 0;
	if ((dp = malloc(n * sizeof(struct addr_prefix))) == NULL)
		return -1;
	memcpy(dp, sp, n * sizeof(struct addr_prefix));
	memcpy((char *)dst + k->off, &dp, sizeof(dp));
	memcpy((char *)dst + k->count_off, &n, sizeof(n));
	return 0;
}

static int prefixes_write(const struct key *k, const void *obj, const char *f,
			  const char *path, int depth, const struct writer *w)
{
	char host[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];
	const struct addr_prefix *ap;
	size_t n, i;

	memcpy(&ap, f, sizeof(ap));
	memcpy(&n, (const char *)obj + k->count_off, sizeof(n));
	fputs("[ ", w->out);
	for (i = 0; i < n; i++) {
		if (inet_ntop(ap[i].family, ap[i].net, host, sizeof(host)) == NULL)
			return -1;
		snprintf(text, sizeof(text), "%s/%u", host, ap[i].bits);
		if (i)
			fputs(", ", w->out);
		cfg_write_string(w->out, text);
	}
	fputs(n ? " ]" : "]", w->out);
	return 0;
}

/* The "values" column of a list: how many elements it may have. */
void cfg_entries_values(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lld..%lld entries", k->min, k->max);
}

void cfg_empty_default(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "empty");
}
