/* error_pages.c: owns reading a listener's error pages (include/error_pages.h) and
 * choosing one for an answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "error_pages.h"
#include "health.h"

/* Reads path whole into a new buffer of at most ERROR_PAGE_MAX bytes. */
static char *read_page(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot read error page %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(ERROR_PAGE_MAX + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, ERROR_PAGE_MAX + 1, f);
	if (ferror(f) || n > ERROR_PAGE_MAX) {
		snprintf(err, errlen, "error page %s: %s", path,
			 ferror(f) ? strerror(errno) : "larger than 8192 bytes");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

int error_pages_load(const struct cfg_listener *l, struct error_pages *out, char *err, size_t errlen)
{
	size_t i;

	out->pages = NULL;
	out->n = 0;
	if (!l->nerror_pages)
		return 0;
	out->pages = calloc(l->nerror_pages, sizeof(*out->pages));
	if (!out->pages) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < l->nerror_pages; i++) {
		const struct cfg_error_page *c = &l->error_pages[i];
		struct error_page *p = &out->pages[i];

		/* the loader checked the status list */
		health_status_parse(c->status, &p->statuses, NULL, 0);
		p->content_type = c->content_type;
		p->body = read_page(c->file, &p->len, err, errlen);
		if (!p->body) {
			error_pages_free(out);
			return -1;
		}
		out->n++;
	}
	return 0;
}

void error_pages_free(struct error_pages *ep)
{
	size_t i;

	for (i = 0; i < ep->n; i++)
		free(ep->pages[i].body);
	free(ep->pages);
	ep->pages = NULL;
	ep->n = 0;
}

/* 1 when the Accept value names the media type of content_type ("text/html" of
 * "text/html; charset=utf-8"), without case. */
static int accepts(const char *accept, size_t accept_len, const char *content_type)
{
	size_t n = strcspn(content_type, "; ");
	size_t i;

	for (i = 0; accept && i + n <= accept_len; i++)
		if (strncasecmp(accept + i, content_type, n) == 0)
			return 1;
	return 0;
}

const struct error_page *error_pages_find(const struct error_pages *ep, int status, const char *accept,
					  size_t accept_len)
{
	const struct error_page *first = NULL;
	size_t i;

	for (i = 0; i < ep->n; i++) {
		const struct error_page *p = &ep->pages[i];
		if (!health_status_match(&p->statuses, status))
			continue;
		if (accepts(accept, accept_len, p->content_type))
			return p;
		if (!first)
			first = p;
	}
	return first;
}

int error_pages_check(const struct config *cfg, FILE *out)
{
	char err[512];
	size_t i, j, len;
	int problems = 0;

	for (i = 0; i < cfg->nlisteners; i++)
		for (j = 0; j < cfg->listeners[i].nerror_pages; j++) {
			const struct cfg_error_page *c = &cfg->listeners[i].error_pages[j];
			char *body = read_page(c->file, &len, err, sizeof(err));
			if (!body) {
				fprintf(out, "%s:%d: listeners.%s.error_pages.file: %s\n", cfg->source,
					c->line, cfg->listeners[i].name, err);
				problems++;
			}
			free(body);
		}
	return problems;
}
