/* routes.c: the control API's route table (method and path pattern to endpoint, which
 * endpoints need no token) and query-string lookup. Pure functions: unit-tested alone. */
#include <stdio.h>
#include <string.h>

#include "ctl_http.h"

struct route {
	const char *pattern;             /* segments; "{pool}", "{name}", "{gen}" capture one */
	const char *methods;             /* space-separated */
	enum ctl_route_id id;
	int public;                      /* probes carry no token; the page holds no data */
};

static const struct route routes[] = {
	{ "/", "GET", CTL_R_PAGE, 1 },
	{ "/healthz", "GET", CTL_R_HEALTHZ, 1 },
	{ "/readyz", "GET", CTL_R_READYZ, 1 },
	{ "/metrics", "GET", CTL_R_METRICS, 0 },
	{ "/v1/status", "GET", CTL_R_STATUS, 0 },
	{ "/v1/pools/{pool}/backends", "GET", CTL_R_BACKENDS, 0 },
	{ "/v1/pools/{pool}/backends/{name}", "GET PUT DELETE", CTL_R_BACKEND, 0 },
	{ "/v1/pools/{pool}/backends/{name}/drain", "POST", CTL_R_DRAIN, 0 },
	{ "/v1/config/reload", "POST", CTL_R_RELOAD, 0 },
	{ "/v1/config/generations", "GET", CTL_R_GENERATIONS, 0 },
	{ "/v1/config/generations/{gen}", "GET", CTL_R_GENERATION, 0 },
	{ "/v1/config/diff", "GET", CTL_R_DIFF, 0 },
	{ "/v1/config/rollback", "POST", CTL_R_ROLLBACK, 0 },
	{ "/v1/stats", "GET", CTL_R_STATS, 0 },
	{ "/v1/maintenance", "GET POST", CTL_R_MAINTENANCE, 0 },
	{ "/v1/pools/{pool}/cache/purge", "POST", CTL_R_CACHE_PURGE, 0 },
	{ "/v1/cluster", "GET", CTL_R_CLUSTER, 0 },
};

static int match(const char *pattern, const char *path, struct ctl_route_match *m);
static int method_in(const char *methods, const char *method);
static int hexval(char c);

/* Walks pattern and path segment by segment; a capture takes one non-empty segment. */
static int match(const char *pattern, const char *path, struct ctl_route_match *m)
{
	const char *p = pattern, *s = path;

	if (!strcmp(pattern, "/"))  /* the root has no segment to walk */
		return !strcmp(path, "/");
	while (*p && *s) {
		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		{
			size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
			char *dst = NULL;

			if (slen == 0)
				return 0;
			if (plen > 2 && p[0] == '{') {
				if (!strncmp(p, "{pool}", plen))
					dst = m->pool;
				else if (!strncmp(p, "{name}", plen))
					dst = m->name;
				else
					dst = m->gen;
				if (slen >= CTL_SEGMENT_MAX)
					return 0;
				memcpy(dst, s, slen);
				dst[slen] = '\0';
			} else if (plen != slen || strncmp(p, s, plen)) {
				return 0;
			}
			p += plen;
			s += slen;
		}
	}
	return *p == '\0' && *s == '\0';
}

static int method_in(const char *methods, const char *method)
{
	size_t n = strlen(method);
	const char *p = methods;

	while (*p) {
		size_t k = strcspn(p, " ");

		if (k == n && !strncmp(p, method, n))
			return 1;
		p += k;
		while (*p == ' ')
			p++;
	}
	return 0;
}

void ctl_route(const char *method, const char *path, struct ctl_route_match *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->status = 404;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		struct ctl_route_match t;

		memset(&t, 0, sizeof(t));
		if (!match(routes[i].pattern, path, &t))
			continue;
		*m = t;
		m->public = routes[i].public;
		if (!method_in(routes[i].methods, method)) {
			const char *p;
			size_t k = 0;

			m->status = 405;
			m->id = CTL_R_NONE;
			/* "GET PUT" -> "GET, PUT" */
			for (p = routes[i].methods; *p && k + 3 < sizeof(m->allow); p++) {
				if (*p == ' ') {
					m->allow[k++] = ',';
					m->allow[k++] = ' ';
				} else {
					m->allow[k++] = *p;
				}
			}
			m->allow[k] = '\0';
			return;
		}
		m->status = 0;
		m->id = routes[i].id;
		return;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ctl_query_get(const char *query, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = query;

	while (p && *p) {
		size_t plen = strcspn(p, "&");

		if (plen >= klen && !strncmp(p, key, klen) && (plen == klen || p[klen] == '=')) {
			const char *v = plen == klen ? p + plen : p + klen + 1, *end = p + plen;
			size_t n = 0;

			for (; v < end; v++) {
				char c = *v;

				if (c == '%') {
					int hi, lo;

					if (end - v < 3 || (hi = hexval(v[1])) < 0 || (lo = hexval(v[2])) < 0)
						return -1;
					c = (char)(hi << 4 | lo);
					v += 2;
				} else if (c == '+') {
					c = ' ';
				}
				if (c == '\0' || n + 1 >= outlen)
					return -1;
				out[n++] = c;
			}
			out[n] = '\0';
			return 1;
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	return 0;
}
