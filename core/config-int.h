/* config-int.h: what the files of the configuration loader share and nothing outside
 * core/config*.c needs: the key description, the per-type operations and the walkers. */
#ifndef FULCRUM_CONFIG_INT_H
#define FULCRUM_CONFIG_INT_H

#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

/* What a key holds is its type: the operations every walker calls for it (struct
 * cfg_type_ops below; cfg_ops_int ... cfg_ops_list, each in the file of its kind), set in
 * the schema's key tables. The walkers reach a type only through its key, never by name,
 * so the types that hold other keys (groups, lists) can call the walkers back. */
struct cfg_type_ops;

#define KEY_REQUIRED 0x1u  /* an error when absent */
#define KEY_RELOAD   0x2u  /* a reload (SIGHUP, API) may change it; else restart needed */
#define KEY_POINTER  0x4u  /* group: field is a pointer, NULL when the group is absent */
#define KEY_NAMES    0x8u  /* string: a list ( "a", "b" ) of names, kept joined as "a,b" */

#define KEY_PATH_MAX 512
#define ERR_MAX 512

/* A rule a string value must follow, and how the reference describes it. */
struct str_rule {
	int (*check)(const char *s, char *err, size_t errlen);  /* 0, or -1 with a reason */
	const char *values;          /* the "values" column of the reference */
};

struct key_table;

struct key {
	const char *name;            /* setting name; NULL ends a table */
	const struct cfg_type_ops *type; /* &cfg_ops_int, &cfg_ops_string, ... */
	unsigned flags;              /* KEY_REQUIRED | KEY_RELOAD | KEY_POINTER | KEY_NAMES */
	size_t off;                  /* offset of the field in the struct the table fills */
	size_t size;                 /* integer: width of the field (4 or 8) */
	long long min, max;          /* integer: value bounds; list, prefixes: element count */
	long long def;               /* integer, boolean, enum default */
	const char *def_str;         /* string default, NULL = unset */
	const char *const *names;    /* enum values in enum order, NULL-terminated */
	const struct str_rule *rule; /* string extra rule, NULL = none */
	const struct key_table *sub; /* group, list: what the elements hold */
	size_t count_off;            /* list, prefixes: offset of the size_t count */
	const char *doc;             /* one line for the reference (docs/configuration.md) */
};

struct key_table {
	const char *what;            /* noun for messages: "listener" */
	const struct key *keys;
	size_t size;                 /* sizeof the struct the keys fill */
	long line_off;               /* offset of its "int line" field, -1 when none */
	long name_off;               /* offset of a "char *name" unique in its list, -1 when none */
};

/* State of one load: where errors go and whether any was found. */
struct loader {
	const char *file;            /* path, or the name given to config_load_string */
	struct config_errors *errs;
	int failed;                  /* an error (or an allocation failure) was seen */
};

/* Where config_render writes, and how. */
struct writer {
	enum config_render_style style;
	int flat;                    /* style == CONFIG_RENDER_FLAT */
	FILE *out;
};

/* What config_reload_check has found: errors name file, line 0. */
struct differ {
	const char *file;
	struct config_errors *errs;
	int n;                       /* errors added so far */
};

/* What one key type does, for every walker over the key table. obj is the struct the
 * key's table fills, f the key's field in it (obj + k->off). A NULL entry means
 * "nothing to do" for that type. Adding a key type is one more of these. */
struct cfg_type_ops {
	const char *doc_type;        /* the "type" column of the reference */
	/* a reload replaces a value of this type as a whole (lists): its own reload flag
	 * says nothing about its elements, and the reference shows them under "[]" */
	int whole;
	/* the reload check visits the key even when a reload may change it (embedded
	 * groups hold keys that it may not) */
	int diff_reloadable;
	/* reads setting s into the key's field; reports what is wrong */
	void (*parse)(struct loader *ld, const config_setting_t *s, const struct key *k,
		      void *obj, const char *path);
	/* the error when a required key is absent from group grp */
	void (*missing)(struct loader *ld, const config_setting_t *grp, const struct key *k,
			const struct key_table *t, const char *path);
	/* stores the default into the zeroed field; 0, or -1 on ENOMEM */
	int (*set_default)(const struct key *k, char *f);
	/* frees what the field owns */
	void (*free)(const struct key *k, void *obj, char *f);
	/* clears the pointers (and counts) of a byte copy, so that it owns nothing */
	void (*disown)(const struct key *k, void *obj, char *f);
	/* deep-copies what src's field owns into dst's (a disowned byte copy); 0 or -1 */
	int (*dup)(const struct key *k, void *dst, const void *src);
	/* 1 when the values in a and b differ in a way a reload cannot take (may add the
	 * errors of nested keys to d); all: every key below counts, reloadable or not */
	int (*diff)(const struct key *k, const void *a, const void *b, const char *path,
		    int all, struct differ *d);
	/* 1 when the field holds nothing to write (an unset string, an absent group) */
	int (*unset)(const struct key *k, const char *f);
	/* writes the value after "name = "; 0 or -1 */
	int (*write)(const struct key *k, const void *obj, const char *f, const char *path,
		     int depth, const struct writer *w);
	/* FLAT style: writes the whole key itself (nested keys as paths); 0 or -1 */
	int (*write_flat)(const struct key *k, const void *obj, const char *f, const char *path,
			  const struct writer *w);
	/* the "values" and "default" columns of the reference */
	void (*describe_values)(const struct key *k, char *buf, size_t len);
	void (*describe_default)(const struct key *k, char *buf, size_t len);
};

/* The key types, named only by the schema's key tables (config_schema.c). A new type is
 * one more of these. Addresses and prefixes are strings parsed into addr.h types. */
extern const struct cfg_type_ops
	/* config_scalar.c: one value in place */
	cfg_ops_int,       /* integer into a uint32_t or uint64_t field, checked against min..max */
	cfg_ops_bool,      /* int 0/1 */
	cfg_ops_enum,      /* string from names[] stored as its index in an enum field */
	cfg_ops_addr,      /* "host:port" into a struct addr, names resolved */
	/* config_text.c: values that own memory */
	cfg_ops_string,    /* char *, malloc'd; optional rule */
	cfg_ops_prefixes,  /* list of "net/bits" into an addr_prefix array + count */
	/* config_nested.c: values that hold other keys */
	cfg_ops_group,     /* { ... } described by sub, embedded or (KEY_POINTER) allocated */
	cfg_ops_list;      /* ( {..}, {..} ) of sub into an array + count; min..max elements */
/* config_text.c: a libconfig string literal; the reference columns of a list (its
 * element count, "empty"). */
void cfg_write_string(FILE *out, const char *s);
void cfg_entries_values(const struct key *k, char *buf, size_t len);
void cfg_empty_default(const struct key *k, char *buf, size_t len);

/* config_schema.c: the key tables. */
extern const struct key_table cfg_root_table, cfg_listener_table, cfg_pool_table,
	cfg_backend_table, cfg_route_table;

/* config_rules.c: the rules string values follow. */
extern const struct str_rule rule_name, rule_nonempty, rule_control_listen, rule_tls_version,
	rule_alpn, rule_http_path, rule_status_list, rule_host_header, rule_header_name,
	rule_k8s_name, rule_api_server, rule_host_pattern, rule_method, rule_url_scheme,
	rule_header_value, rule_any_text, rule_editable_header, rule_header_line,
	rule_header_cond, rule_pair_cond, rule_regex, rule_media_range, rule_coding,
	rule_store_endpoint;
int cfg_check_name(const char *s, char *err, size_t errlen);

/* config_walk.c: the walkers over a key table; each calls the operations of each key's
 * type (k->type). */
void cfg_parse_group(struct loader *ld, const config_setting_t *grp, const struct key_table *t,
		     void *obj, const char *path);
int cfg_set_defaults(const struct key_table *t, void *obj);
void cfg_free_fields(const struct key_table *t, void *obj);
void cfg_null_owned(const struct key_table *t, void *obj);
int cfg_dup_fields(const struct key_table *t, void *dst, const void *src);
void cfg_reload_diff(const struct key_table *t, const void *a, const void *b, const char *path,
		     int all, struct differ *d);
int cfg_write_group(const struct key_table *t, const void *obj, const char *path, int depth,
		    const struct writer *w);
void cfg_print_keys(const struct key_table *t, const char *path, int fixed, FILE *out);

/* config_walk.c: paths and names. */
void cfg_path_join(char *dst, const char *prefix, const char *seg);
const char *cfg_elem_segment(const struct key_table *t, const config_setting_t *elem,
			     int index, char *buf, size_t len);
const char *cfg_setting_type_name(const config_setting_t *s);

/* config_errors.c: records an error of the load ld at setting s (its file and line), or
 * at line when s is NULL, and marks the load failed; orders a load's errors by line. */
void cfg_add_error(struct loader *ld, const config_setting_t *s, int line, const char *key,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void cfg_sort_errors(struct config_errors *errs);

#endif
