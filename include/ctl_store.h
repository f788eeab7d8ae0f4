/* ctl_store.h: config generations kept in state_dir (numbered files with time, source and
 * hash, loadable as config files) for listing, diffs and rollback. */
#ifndef FULCRUM_CTL_STORE_H
#define FULCRUM_CTL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config-t.h"

#define CTL_SOURCE_MAX 200

struct ctl_gen_meta {
	uint64_t id;
	double time;                     /* wall clock seconds when applied */
	char source[CTL_SOURCE_MAX];     /* "start: /etc/fulcrum.cfg", "api: PUT flask/web-4", ... */
	char sha256[65];                 /* of the config text (the file without its header) */
};

/* The directory of generations: <state_dir>/generations/<id>.cfg, each file
 *     # fulcrum generation <id>
 *     # time <epoch seconds> <ISO 8601 UTC>
 *     # source <text>
 *     # sha256 <hex>
 * followed by the config as config_render writes it (so `fulcrum -t -c` reads it). */
struct ctl_store {
	char *dir;                       /* NULL when generations are not kept */
	uint32_t keep;                   /* files kept; older ones are removed */
	uint32_t keep_days;              /* and files older than this; 0 = no age limit */
	uint64_t max_id;                 /* highest id found or written */
};

/* Opens (creating it) <state_dir>/generations. Returns 0, or -1 with err (the store is
 * then disabled: saves fail, listing is empty). */
int ctl_store_open(struct ctl_store *s, const char *state_dir, uint32_t keep, char *err,
		   size_t errlen);
void ctl_store_close(struct ctl_store *s);

/* Writes generation id (cfg rendered) with its metadata (meta->id, time, source used;
 * sha256 filled in), fsync'd and renamed into place, then removes the files beyond keep
 * and those older than keep_days, never id itself nor the newest generation read from
 * the config file (a start or reload). 0, or -1 with err. */
int ctl_store_save(struct ctl_store *s, const struct config *cfg, struct ctl_gen_meta *meta,
		   char *err, size_t errlen);

/* 1 when a generation's source says it was read from the config file (start, reload). */
int ctl_store_is_file_source(const char *source);

/* Every kept generation's metadata, sorted by id; *out malloc'd. Returns the count or -1. */
ssize_t ctl_store_list(const struct ctl_store *s, struct ctl_gen_meta **out);

/* The config text of generation id (malloc'd, NUL-terminated, the header included) and
 * its metadata. NULL with errno ENOENT when it is not kept. */
char *ctl_store_read(const struct ctl_store *s, uint64_t id, struct ctl_gen_meta *meta);

/* Renders cfg to a malloc'd string in the given style (enum config_render_style). */
char *ctl_render(const struct config *cfg, int style);

/* SHA-256 of buf as 64 hex characters. */
void ctl_sha256_hex(const void *buf, size_t len, char out[65]);

/* One difference between two configs, by key path (as in config errors). */
struct ctl_diff_item {
	char *key;
	char *from;                      /* NULL: the key is new */
	char *to;                        /* NULL: the key is gone */
};

/* Differences between two configs given as text (loaded with config_load_string, so
 * both must be valid): each key whose value differs, is new or is gone, sorted by key.
 * Returns the count and *out (free with ctl_diff_free), or -1 with err. */
ssize_t ctl_diff_texts(const char *a, const char *b, struct ctl_diff_item **out, char *err,
		       size_t errlen);
/* Same from two loaded configs. */
ssize_t ctl_diff_configs(const struct config *a, const struct config *b,
			 struct ctl_diff_item **out);
void ctl_diff_free(struct ctl_diff_item *items, size_t n);

#endif
