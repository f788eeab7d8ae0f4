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

/* Prints the reference table of every key (markdown: key, type, values, default,
 * reload, meaning), generated from the loader's own key table; docs/configuration.md
 * embeds it and test_config checks that they agree. */
void config_keys_print(FILE *out);

#endif
