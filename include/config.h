/* config.h: loading and validating configuration files into struct config. */
#ifndef FULCRUM_CONFIG_H
#define FULCRUM_CONFIG_H

#include <stdio.h>
#include "config-t.h"

/* The embedded default configuration (libconfig text) used when no -c is given:
 * an http listener on 127.0.0.1:8080 in front of pool "flask" with backends on
 * 127.0.0.1:8001..8003, control on 127.0.0.1:9000, state_dir under /tmp. */
extern const char config_default_text[];

/* Loads and fully validates a file. On success returns a new config (caller frees
 * with config_free) and leaves errs empty. On failure returns NULL and fills errs
 * with every problem found (file, line, key, message). Host names in addresses are
 * resolved. errs may be NULL; otherwise it must be zeroed or hold an earlier result
 * (it is cleared first). @include paths are relative to the file's directory. */
struct config *config_load_file(const char *path, struct config_errors *errs);

/* Same, from text in memory; name is used as the file name in errors. */
struct config *config_load_string(const char *text, const char *name, struct config_errors *errs);

void config_free(struct config *cfg);
void config_errors_clear(struct config_errors *errs);
/* Prints "file:line: key: message" lines, one per error. */
void config_errors_print(const struct config_errors *errs, FILE *out);

const struct cfg_pool *config_find_pool(const struct config *cfg, const char *name);

/* Compares a loaded config with the one a reload would apply and adds one error (key,
 * message; file = next->source, line 0) per key that differs but that a reload cannot
 * change (workers, state_dir, user, group, control.listen: see the "reload" column of
 * docs/configuration.md). Clears errs first; returns how many it added. The caller
 * decides whether that refuses the reload or only warns. errs may be NULL. */
int config_reload_check(const struct config *old, const struct config *next,
			struct config_errors *errs);

/* Deep copy of cfg: every string, group and list is duplicated, so the copy can be
 * edited (the control API's next generation) and freed on its own. NULL on ENOMEM. */
struct config *config_dup(const struct config *cfg);

enum config_render_style {
	CONFIG_RENDER_LIBCONFIG = 0,  /* a complete file that loads back into an equal config */
	CONFIG_RENDER_FLAT            /* "path = value" per line (paths as in errors), for diffs */
};

/* Writes cfg as text in the given style: every key with its value, defaults included,
 * unset strings and absent groups left out. Generations kept for rollback are written
 * this way. Returns 0, or -1 on a write error. */
int config_render(const struct config *cfg, FILE *out, enum config_render_style style);

/* Appends one error (copies of the strings), for checks made outside the loader. */
void config_errors_add(struct config_errors *errs, const char *file, int line, const char *key,
		       const char *message);

/* A backend with every key at its default (what a config file's backend without those
 * keys would hold), for backends that arrive through the control API; and the release
 * of what one owns. init returns 0, or -1 on ENOMEM. */
int config_backend_init(struct cfg_backend *b);
void config_backend_clear(struct cfg_backend *b);

/* The rule for listener, pool and backend names ([A-Za-z0-9._-]{1,63}), for names that
 * arrive through the control API. 0, or -1 with a reason in err. */
int config_check_name(const char *s, char *err, size_t errlen);

/* 1 when a is 127.0.0.0/8 or ::1. */
int config_addr_is_loopback(const struct addr *a);

/* Prints the reference table of every key (markdown: key, type, values, default,
 * reload, meaning), generated from the loader's own key table; docs/configuration.md
 * embeds it and test_config checks that they agree. */
void config_keys_print(FILE *out);

#endif
