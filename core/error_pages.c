/* error_pages.c: owns reading a listener's and its routes' error pages
 * (include/error_pages.h) and choosing one for an answer; and reading the files of
 * routes' fixed answers (respond.body_file), which are pages of the same kind. */
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
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
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
		snprintf(err, errlen, "%s: %s", path,
			 ferror(f) ? strerror(errno) : "larger than 8192 bytes");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Reads n configured pages c into out's array after what it holds, marked route. */
static int load_pages(const struct cfg_error_page *c, size_t n, int route, struct error_pages *out,
		      char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct error_page *p = &out->pages[out->n];

		/* the loader checked the status list */
		health_status_parse(c[i].status, &p->statuses, NULL, 0);
		p->content_type = c[i].content_type;
		p->route = route;
		p->body = read_page(c[i].file, &p->len, err, errlen);
		if (!p->body)
			return -1;
		out->n++;
	}
	return 0;
}

/* The body of route r's respond.body_file, if it has one, after what out holds. */
static int load_fixed(const struct cfg_route *r, int route, struct error_pages *out, char *err,
		      size_t errlen)
{
	struct error_page *p = &out->pages[out->n];

	if (!r->respond || !r->respond->body_file)
		return 0;
	p->content_type = r->respond->content_type;
	p->route = route;
	p->fixed = 1;
	p->body = read_page(r->respond->body_file, &p->len, err, errlen);
	if (!p->body)
		return -1;
	out->n++;
	return 0;
}

int error_pages_load(const struct cfg_listener *l, struct error_pages *out, char *err, size_t errlen)
{
	size_t total = l->nerror_pages, r;

	out->pages = NULL;
	out->n = 0;
	for (r = 0; r < l->nroutes; r++)
		total += l->routes[r].nerror_pages + (l->routes[r].respond && l->routes[r].respond->body_file);
	if (!total)
		return 0;
	out->pages = calloc(total, sizeof(*out->pages));
	if (!out->pages) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (load_pages(l->error_pages, l->nerror_pages, -1, out, err, errlen) == -1)
		goto fail;
	for (r = 0; r < l->nroutes; r++) {
		if (load_pages(l->routes[r].error_pages, l->routes[r].nerror_pages, (int)r, out, err,
			       errlen) == -1 || load_fixed(&l->routes[r], (int)r, out, err, errlen) == -1)
			goto fail;
	}
	return 0;
fail:
	error_pages_free(out);
	return -1;
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

/* The page of owner (a route index or -1) for status, chosen by Accept, or NULL. */
static const struct error_page *find_of(const struct error_pages *ep, int owner, int status,
					const char *accept, size_t accept_len)
{
	const struct error_page *first = NULL;
	size_t i;

	for (i = 0; i < ep->n; i++) {
		const struct error_page *p = &ep->pages[i];
		if (p->route != owner || p->fixed || !health_status_match(&p->statuses, status))
			continue;
		if (accepts(accept, accept_len, p->content_type))
			return p;
		if (!first)
			first = p;
	}
	return first;
}

const struct error_page *error_pages_find(const struct error_pages *ep, int status, const char *accept,
					  size_t accept_len)
{
	return find_of(ep, -1, status, accept, accept_len);
}

const struct error_page *error_pages_pick(const struct error_pages *ep, int route, int status,
					  const char *accept, size_t accept_len)
{
	const struct error_page *p = route >= 0 ? find_of(ep, route, status, accept, accept_len) : NULL;

	return p ? p : find_of(ep, -1, status, accept, accept_len);
}

const struct error_page *error_pages_fixed(const struct error_pages *ep, int route)
{
	size_t i;

	for (i = 0; i < ep->n; i++)
		if (ep->pages[i].fixed && ep->pages[i].route == route)
			return &ep->pages[i];
	return NULL;
}

/* Prints a problem for each of the n pages c whose file cannot be read or is too large;
 * key names them in the message. Returns how many there were. */
static int check_pages(const struct config *cfg, const struct cfg_error_page *c, size_t n,
		       const char *key, FILE *out)
{
	char err[512];
	size_t j, len;
	int problems = 0;

	for (j = 0; j < n; j++) {
		char *body = read_page(c[j].file, &len, err, sizeof(err));
		if (!body) {
			fprintf(out, "%s:%d: %s.error_pages.file: %s\n", cfg->source, c[j].line, key, err);
			problems++;
		}
		free(body);
	}
	return problems;
}

/* Prints the problem of route r's respond.body_file, if it cannot be read or is too
 * large. Returns 1 then, else 0. */
static int check_fixed(const struct config *cfg, const struct cfg_route *r, const char *key, FILE *out)
{
	char err[512], *body;
	size_t len;

	if (!r->respond || !r->respond->body_file)
		return 0;
	body = read_page(r->respond->body_file, &len, err, sizeof(err));
	if (body) {
		free(body);
		return 0;
	}
	fprintf(out, "%s:%d: %s.respond.body_file: %s\n", cfg->source, r->line, key, err);
	return 1;
}

int error_pages_check(const struct config *cfg, FILE *out)
{
	char key[160];
	size_t i, r;
	int problems = 0;

	for (i = 0; i < cfg->nlisteners; i++) {
		const struct cfg_listener *l = &cfg->listeners[i];

		snprintf(key, sizeof(key), "listeners.%s", l->name);
		problems += check_pages(cfg, l->error_pages, l->nerror_pages, key, out);
		for (r = 0; r < l->nroutes; r++) {
			snprintf(key, sizeof(key), "listeners.%s.routes.%s", l->name, l->routes[r].name);
			problems += check_pages(cfg, l->routes[r].error_pages, l->routes[r].nerror_pages,
						key, out);
			problems += check_fixed(cfg, &l->routes[r], key, out);
		}
	}
	return problems;
}
