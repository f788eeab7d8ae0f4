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
 * resolved. */
struct config *config_load_file(const char *path, struct config_errors *errs);

/* Same, from text in memory; name is used as the file name in errors. */
struct config *config_load_string(const char *text, const char *name, struct config_errors *errs);

void config_free(struct config *cfg);
void config_errors_clear(struct config_errors *errs);
/* Prints "file:line: key: message" lines, one per error. */
void config_errors_print(const struct config_errors *errs, FILE *out);

const struct cfg_pool *config_find_pool(const struct config *cfg, const char *name);

#endif
