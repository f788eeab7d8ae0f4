/* config_testlib.h: what the config unit tests (test_config.c, test_config_files.c)
 * share: a small valid config to splice changes into, loading from a string, finding
 * and asserting errors, and files in the source tree and in temporary directories.
 * Static inline, so that each test uses what it needs without unused-function warnings. */
#ifndef FULCRUM_CONFIG_TESTLIB_H
#define FULCRUM_CONFIG_TESTLIB_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* A small valid config; tests splice one change into it. Line numbers are fixed. */
#define BASE_LISTENERS                                                                   \
	"listeners = (\n"                                             /* 1 */            \
	"  { name = \"web\"; bind = \"127.0.0.1:18080\"; pool = \"flask\"; }\n" /* 2 */ \
	");\n"                                                        /* 3 */
#define BASE_POOLS                                                                       \
	"pools = (\n"                                                 /* 4 */            \
	"  { name = \"flask\";\n"                                     /* 5 */            \
	"    backends = (\n"                                          /* 6 */            \
	"      { name = \"web-1\"; address = \"127.0.0.1:8001\"; }\n" /* 7 */            \
	"    );\n"                                                    /* 8 */            \
	"  }\n"                                                       /* 9 */            \
	");\n"                                                        /* 10 */

static inline struct config *load(const char *text, struct config_errors *errs)
{
	return config_load_string(text, "test.cfg", errs);
}

static inline const struct config_error *find_error(const struct config_errors *errs, const char *key)
{
	size_t i;

	for (i = 0; i < errs->count; i++)
		if (strcmp(errs->items[i].key, key) == 0)
			return &errs->items[i];
	return NULL;
}

/* Asserts errs holds an error for key at line whose message contains words. */
static inline void expect_error(const struct config_errors *errs, const char *key, int line,
			 const char *words)
{
	const struct config_error *e = find_error(errs, key);

	if (e == NULL) {
		config_errors_print(errs, stderr);
		fail_msg("no error for key '%s'", key);
	}
	if (e->line != line || strstr(e->message, words) == NULL) {
		config_errors_print(errs, stderr);
		fail_msg("error for '%s': want line %d and \"%s\"", key, line, words);
	}
	assert_non_null(e->file);
}

/* Loads text and asserts it fails with exactly one error, at key and line, file
 * "test.cfg", message containing words. */
static inline void expect_one_error(const char *text, const char *key, int line, const char *words)
{
	struct config_errors errs = { 0 };
	struct config *cfg = load(text, &errs);
	const struct config_error *e = errs.count == 1 ? &errs.items[0] : NULL;
	int ok = e != NULL && strcmp(e->key, key) == 0 && e->line == line &&
		 strstr(e->message, words) != NULL && strcmp(e->file, "test.cfg") == 0;

	/* Report and free before failing: cmocka's failure longjmps out of this frame. */
	if (!ok) {
		fprintf(stderr, "want exactly: test.cfg:%d: %s: ...%s...\ngot%s:\n", line, key,
			words, cfg ? " a loaded config" : "");
		config_errors_print(&errs, stderr);
	}
	config_free(cfg);
	config_errors_clear(&errs);
	if (!ok)
		fail_msg("expected one error for '%s'", key);
}

/* A path inside the source tree: $FULCRUM_SRCDIR, else the current directory (make runs
 * the tests from the top of the tree). */
static inline char *src_path(const char *rel)
{
	const char *dir = getenv("FULCRUM_SRCDIR");
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir && dir[0] ? dir : ".", rel) == -1)
		fail_msg("out of memory");
	return p;
}

static inline char *write_temp(const char *dir, const char *name, const char *text)
{
	char *path = NULL;
	FILE *fp;

	if (asprintf(&path, "%s/%s", dir, name) == -1)
		fail_msg("out of memory");
	fp = fopen(path, "w");
	if (fp == NULL)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static inline char *read_all(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int c;

	if (fp == NULL)
		return NULL;
	mem = open_memstream(&buf, &len);
	if (mem == NULL) {
		fclose(fp);
		return NULL;
	}
	while ((c = getc(fp)) != EOF)
		putc(c, mem);
	fclose(fp);
	fclose(mem);
	return buf;
}

#endif
