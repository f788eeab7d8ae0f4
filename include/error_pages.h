/* error_pages.h: a listener's and its routes' pages for the answers fulcrum makes
 * itself (502, 503, 504, 4xx), read from their files when a generation is built
 * (core/error_pages.c), chosen per answer by route, status and the client's Accept
 * (lb/http_keep.c, http_error_page); and the bodies of routes' fixed answers kept in
 * files (respond.body_file), read at the same time from the same kind of file. */
#ifndef FULCRUM_ERROR_PAGES_H
#define FULCRUM_ERROR_PAGES_H

#include <stddef.h>
#include <stdio.h>

#include "config-t.h"

/* Longest page: it goes out whole with its head in one buffer. */
#define ERROR_PAGE_MAX 8192

struct error_page {
	struct status_set statuses;
	const char *content_type;    /* the config's string */
	char *body;                  /* the file's bytes, owned */
	size_t len;
	int route;                   /* index of the listener's route it belongs to; -1 = the listener's */
	int fixed;                   /* 1: the body of route's respond (body_file), not an error page */
};

struct error_pages {
	struct error_page *pages;
	size_t n;
};

/* Reads the files of l's error_pages and of its routes' into out. 0, or -1 with a message naming the
 * file in err (out is then empty). */
int error_pages_load(const struct cfg_listener *l, struct error_pages *out, char *err, size_t errlen);
void error_pages_free(struct error_pages *ep);

/* The listener's page for status: of its pages whose statuses hold it, the first whose content type
 * accept names ("text/html", "application/json" ...; accept may be NULL), else the
 * first. NULL when none holds it. */
const struct error_page *error_pages_find(const struct error_pages *ep, int status, const char *accept,
					  size_t accept_len);

/* The page for status of route (an index in the listener's routes, -1 = none): one of
 * the route's pages as error_pages_find chooses, else one of the listener's. */
const struct error_page *error_pages_pick(const struct error_pages *ep, int route, int status,
					  const char *accept, size_t accept_len);

/* The body read from route's respond.body_file, or NULL when it has none. */
const struct error_page *error_pages_fixed(const struct error_pages *ep, int route);

/* What fulcrum -t checks: every error page and body_file can be read and fits. Prints each
 * problem as "file:line: key: message" to out; returns how many there were. */
int error_pages_check(const struct config *cfg, FILE *out);

#endif
