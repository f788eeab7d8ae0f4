/* config_errors.c: owns the list of configuration errors (file:line: key: message): adding
 * one, for a load or for checks made outside the loader, ordering, printing, clearing. Every
 * other file of the loader reports here; this one calls none of them. */
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-int.h"

void config_errors_clear(struct config_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->count; i++) {
		free(errs->items[i].file);
		free(errs->items[i].key);
		free(errs->items[i].message);
	}
	free(errs->items);
	errs->items = NULL;
	errs->count = 0;
}

void config_errors_print(const struct config_errors *errs, FILE *out)
{
	size_t i;

	for (i = 0; i < errs->count; i++) {
		const struct config_error *e = &errs->items[i];

		fputs(e->file ? e->file : "?", out);
		if (e->line > 0)
			fprintf(out, ":%d", e->line);
		fputs(": ", out);
		if (e->key != NULL && e->key[0] != '\0')
			fprintf(out, "%s: ", e->key);
		fprintf(out, "%s\n", e->message ? e->message : "");
	}
}

/* Appends a copy of one error to errs. When memory runs out the error is dropped; the
 * caller's load fails anyway because the error was counted by its loader. */
void config_errors_add(struct config_errors *errs, const char *file, int line, const char *key,
		       const char *message)
{
	struct config_error *items, *e;

	items = realloc(errs->items, (errs->count + 1) * sizeof(*items));
	if (items == NULL)
		return;
	errs->items = items;
	e = &items[errs->count];
	e->file = strdup(file ? file : "?");
	e->line = line;
	e->key = strdup(key ? key : "");
	e->message = strdup(message);
	if (e->file == NULL || e->key == NULL || e->message == NULL) {
		free(e->file);
		free(e->key);
		free(e->message);
		return;
	}
	errs->count++;
}

/* Records an error at setting s (its file and line), or at line when s is NULL. */
void cfg_add_error(struct loader *ld, const config_setting_t *s, int line, const char *key,
		   const char *fmt, ...)
{
	char msg[ERR_MAX];
	const char *file = ld->file;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL) {
		line = config_setting_source_line(s);
		if (config_setting_source_file(s) != NULL)
			file = config_setting_source_file(s);
	}
	ld->failed = 1;
	config_errors_add(ld->errs, file, line, key, msg);
}

/* Orders errors by line, stably, so they read top to bottom like the file even though
 * cross-checks run after the whole tree was read. Errors from an @include'd file keep
 * their place relative to each other. */
void cfg_sort_errors(struct config_errors *errs)
{
	size_t i, j;

	for (i = 1; i < errs->count; i++) {
		struct config_error e = errs->items[i];

		for (j = i; j > 0; j--) {
			const struct config_error *p = &errs->items[j - 1];

			if (strcmp(p->file, e.file) != 0 || p->line <= e.line)
				break;
			errs->items[j] = *p;
		}
		errs->items[j] = e;
	}
}
