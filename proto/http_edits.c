/* http_edits.c: owns applying a route's header edits to a head (include/http_edits.h). */
#include <string.h>
#include <strings.h>

#include "http_edits.h"

/* The name of a "Name: value" line: its length. */
static size_t line_name_len(const char *line)
{
	const char *colon = strchr(line, ':');

	return colon ? (size_t)(colon - line) : strlen(line);
}

int http_edits_drop(const struct cfg_header_edit *edits, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *e = edits[i].remove ? edits[i].remove : edits[i].set;
		if (e && line_name_len(e) == len && strncasecmp(e, name, len) == 0)
			return 1;
	}
	return 0;
}

/* Appends value with $client_ip, $host, $path and $request_id replaced; any other '$'
 * is kept as it is. */
static int append_expanded(struct buf *b, const char *value, const struct http_edit_vars *v)
{
	static const struct {
		const char *name;
		size_t len;
	} vars[] = { { "$client_ip", 10 }, { "$host", 5 }, { "$path", 5 }, { "$request_id", 11 } };
	const char *p = value, *d;
	int rc = 0;
	size_t k;

	while ((d = strchr(p, '$'))) {
		rc |= buf_append(b, p, (size_t)(d - p));
		for (k = 0; k < sizeof(vars) / sizeof(vars[0]); k++)
			if (strncmp(d, vars[k].name, vars[k].len) == 0)
				break;
		switch (k) {
		case 0: rc |= buf_append(b, v->client_ip, v->client_ip_len); break;
		case 1: rc |= buf_append(b, v->host, v->host_len); break;
		case 2: rc |= buf_append(b, v->path, v->path_len); break;
		case 3: rc |= buf_append(b, v->request_id, strlen(v->request_id)); break;
		default: rc |= buf_append(b, "$", 1); p = d + 1; continue;
		}
		p = d + vars[k].len;
	}
	rc |= buf_append(b, p, strlen(p));
	return rc;
}

int http_edits_append(struct buf *b, const struct cfg_header_edit *edits, size_t n,
		      const struct http_edit_vars *v)
{
	size_t i, name_len;
	int rc = 0;

	for (i = 0; i < n; i++) {
		const char *line = edits[i].set ? edits[i].set : edits[i].add;
		const char *value;

		if (!line)
			continue;
		name_len = line_name_len(line);
		value = line + name_len + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		rc |= buf_append(b, line, name_len);
		rc |= buf_append(b, ": ", 2);
		rc |= append_expanded(b, value, v);
		rc |= buf_append(b, "\r\n", 2);
	}
	return rc ? -1 : 0;
}
