/* config_scalar.c: owns the operations of the key types that hold one value in place
 * (integer, boolean, enum, address): reading, default, compare, writing, reference. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "config-int.h"

/* Table of contents. */
static void int_store(const struct key *k, char *f, long long v);
static void int_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
		      void *obj, const char *path);
static int int_set_default(const struct key *k, char *f);
static int int_diff(const struct key *k, const void *a, const void *b, const char *path,
		    int all, struct differ *d);
static int int_write(const struct key *k, const void *obj, const char *f, const char *path,
		     int depth, const struct writer *w);
static void int_values(const struct key *k, char *buf, size_t len);
static void int_default(const struct key *k, char *buf, size_t len);
static void bool_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
		       void *obj, const char *path);
static int int_field_set_default(const struct key *k, char *f);
static int int_field_diff(const struct key *k, const void *a, const void *b, const char *path,
			  int all, struct differ *d);
static int bool_write(const struct key *k, const void *obj, const char *f, const char *path,
		      int depth, const struct writer *w);
static void bool_values(const struct key *k, char *buf, size_t len);
static void bool_default(const struct key *k, char *buf, size_t len);
static void enum_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
		       void *obj, const char *path);
static int enum_write(const struct key *k, const void *obj, const char *f, const char *path,
		      int depth, const struct writer *w);
static void enum_values(const struct key *k, char *buf, size_t len);
static void enum_default(const struct key *k, char *buf, size_t len);
static void addr_key_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
			   void *obj, const char *path);
static int addr_diff(const struct key *k, const void *a, const void *b, const char *path,
		     int all, struct differ *d);
static int addr_write(const struct key *k, const void *obj, const char *f, const char *path,
		      int depth, const struct writer *w);
static void addr_values(const struct key *k, char *buf, size_t len);
static void unset_default(const struct key *k, char *buf, size_t len);

const struct cfg_type_ops cfg_ops_int = {
	.doc_type = "integer",
	.parse = int_parse,
	.set_default = int_set_default,
	.diff = int_diff,
	.write = int_write,
	.describe_values = int_values,
	.describe_default = int_default,
};

const struct cfg_type_ops cfg_ops_bool = {
	.doc_type = "boolean",
	.parse = bool_parse,
	.set_default = int_field_set_default,
	.diff = int_field_diff,
	.write = bool_write,
	.describe_values = bool_values,
	.describe_default = bool_default,
};

const struct cfg_type_ops cfg_ops_enum = {
	.doc_type = "enum",
	.parse = enum_parse,
	.set_default = int_field_set_default,
	.diff = int_field_diff,
	.write = enum_write,
	.describe_values = enum_values,
	.describe_default = enum_default,
};

const struct cfg_type_ops cfg_ops_addr = {
	.doc_type = "address",
	.parse = addr_key_parse,
	.diff = addr_diff,
	.write = addr_write,
	.describe_values = addr_values,
	.describe_default = unset_default,
};

/* ---- Integer: a uint32_t or uint64_t field (k->size), within k->min..k->max -------- */

/* Stores v into an integer field of the key's width. */
static void int_store(const struct key *k, char *f, long long v)
{
	if (k->size == sizeof(uint64_t)) {
		uint64_t u = (uint64_t)v;

		memcpy(f, &u, sizeof(u));
	} else {
		uint32_t u = (uint32_t)v;

		memcpy(f, &u, sizeof(u));
	}
}

static void int_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
		      void *obj, const char *path)
{
	int type = config_setting_type(s);
	long long v;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		cfg_add_error(ld, s, 0, path, "expected an integer, got %s",
			      cfg_setting_type_name(s));
		return;
	}
	v = config_setting_get_int64(s);
	if (v < k->min || v > k->max) {
		cfg_add_error(ld, s, 0, path, "%lld is out of range %lld..%lld", v, k->min, k->max);
		return;
	}
	int_store(k, (char *)obj + k->off, v);
}

static int int_set_default(const struct key *k, char *f)
{
	int_store(k, f, k->def);
	return 0;
}

static int int_diff(const struct key *k, const void *a, const void *b, const char *path,
		    int all, struct differ *d)
{
	return memcmp((const char *)a + k->off, (const char *)b + k->off, k->size) != 0;
}

static int int_write(const struct key *k, const void *obj, const char *f, const char *path,
		     int depth, const struct writer *w)
{
	uint64_t v = 0;

	if (k->size == sizeof(uint64_t)) {
		memcpy(&v, f, sizeof(v));
	} else {
		uint32_t u;

		memcpy(&u, f, sizeof(u));
		v = u;
	}
	/* libconfig truncates plain integers above 2^31-1 */
	fprintf(w->out, "%llu%s", (unsigned long long)v, v > INT32_MAX ? "L" : "");
	return 0;
}

static void int_values(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lld..%lld", k->min, k->max);
}

static void int_default(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", k->def);
}

/* ---- Boolean and enum: an int field (0/1, or the index in k->names) ---------------- */

static void bool_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
		       void *obj, const char *path)
{
	int b;

	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_add_error(ld, s, 0, path, "expected true or false, got %s",
			      cfg_setting_type_name(s));
		return;
	}
	b = config_setting_get_bool(s) ? 1 : 0;
	memcpy((char *)obj + k->off, &b, sizeof(b));
}

static int int_field_set_default(const struct key *k, char *f)
{
	int v = (int)k->def;

	memcpy(f, &v, sizeof(v));
	return 0;
}

static int int_field_diff(const struct key *k, const void *a, const void *b, const char *path,
			  int all, struct differ *d)
{
	return memcmp((const char *)a + k->off, (const char *)b + k->off, sizeof(int)) != 0;
}

static int bool_write(const struct key *k, const void *obj, const char *f, const char *path,
		      int depth, const struct writer *w)
{
	int b;

	memcpy(&b, f, sizeof(b));
	fputs(b ? "true" : "false", w->out);
	return 0;
}

static void bool_values(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "`true`, `false`");
}

static void bool_default(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "`%s`", k->def ? "true" : "false");
}

static void enum_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
		       void *obj, const char *path)
{
	int type = config_setting_type(s);
	char list[256] = "";
	const char *v;
	int idx;

	if (type == CONFIG_TYPE_STRING) {
		v = config_setting_get_string(s);
		for (idx = 0; k->names[idx] != NULL; idx++) {
			if (strcmp(v, k->names[idx]) == 0) {
				memcpy((char *)obj + k->off, &idx, sizeof(idx));
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
		cfg_add_error(ld, s, 0, path, "\"%s\" is not one of %s",
			      config_setting_get_string(s), list);
	else
		cfg_add_error(ld, s, 0, path, "expected one of %s, got %s", list,
			      cfg_setting_type_name(s));
}

static int enum_write(const struct key *k, const void *obj, const char *f, const char *path,
		      int depth, const struct writer *w)
{
	int idx;

	memcpy(&idx, f, sizeof(idx));
	cfg_write_string(w->out, k->names[idx]);
	return 0;
}

static void enum_values(const struct key *k, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	for (i = 0; k->names[i] != NULL && used < len; i++) {
		snprintf(buf + used, len - used, "%s`\"%s\"`", i ? ", " : "", k->names[i]);
		used = strlen(buf);
	}
}

static void enum_default(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "`\"%s\"`", k->names[k->def]);
}

/* ---- Address: "host:port" into a struct addr (names resolved at load) -------------- */

static void addr_key_parse(struct loader *ld, const config_setting_t *s, const struct key *k,
			   void *obj, const char *path)
{
	char err[ERR_MAX];

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_add_error(ld, s, 0, path, "expected an address string, got %s",
			      cfg_setting_type_name(s));
		return;
	}
	if (addr_parse(config_setting_get_string(s), (struct addr *)((char *)obj + k->off), 1,
		       err, sizeof(err)) == -1)
		cfg_add_error(ld, s, 0, path, "%s", err);
}

static int addr_diff(const struct key *k, const void *a, const void *b, const char *path,
		     int all, struct differ *d)
{
	return !addr_equal((const struct addr *)((const char *)a + k->off),
			   (const struct addr *)((const char *)b + k->off));
}

static int addr_write(const struct key *k, const void *obj, const char *f, const char *path,
		      int depth, const struct writer *w)
{
	cfg_write_string(w->out, ((const struct addr *)f)->text);
	return 0;
}

static void addr_values(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "`host:port`");
}

static void unset_default(const struct key *k, char *buf, size_t len)
{
	snprintf(buf, len, "unset");
}
