/* policy.c: who may make a control API call, beyond holding a valid token: the token's
 * scope, and the cross-site rules (content type, Origin, Host). Pure functions. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl_http.h"

static int pool_listed(const char *pools, const char *pool);
static int media_is_json(const char *ctype);
static int host_allowed(const char *host, const char *listen);

const char *ctl_scope_name(enum token_scope s)
{
	switch (s) {
	case TOKEN_SCOPE_READ: return "read";
	case TOKEN_SCOPE_BACKENDS: return "backends";
	case TOKEN_SCOPE_ADMIN: return "admin";
	}
	return "?";
}

/* pools is "a,b" (names have no commas). */
static int pool_listed(const char *pools, const char *pool)
{
	size_t n = strlen(pool);
	const char *p = pools;

	while (*p) {
		size_t l = strcspn(p, ",");

		if (l == n && !strncmp(p, pool, n))
			return 1;
		p += l + (p[l] == ',');
	}
	return 0;
}

int ctl_scope_check(const struct ctl_principal *who, enum http_method method,
		    const struct ctl_route_match *m, char *detail, size_t len)
{
	/* what a hook of the pool may do: its backends, and purging its cache (an app's
	 * write hook purges the pages the write changed) */
	int backend_change = (m->id == CTL_R_BACKEND &&
			      (method == HTTP_M_PUT || method == HTTP_M_DELETE)) ||
			     m->id == CTL_R_DRAIN || m->id == CTL_R_CACHE_PURGE;

	if (who->scope == TOKEN_SCOPE_ADMIN)
		return 1;
	if (method == HTTP_M_GET || method == HTTP_M_HEAD)
		return 1;  /* every scope reads */
	if (backend_change && who->scope == TOKEN_SCOPE_BACKENDS) {
		if (!who->pools || pool_listed(who->pools, m->pool))
			return 1;
		snprintf(detail, len, "token '%s' may change backends only in pools %s, not in '%s'",
			 who->name, who->pools, m->pool);
		return 0;
	}
	snprintf(detail, len, "token '%s' has scope %s; this call needs scope %s", who->name,
		 ctl_scope_name(who->scope), backend_change ? "backends" : "admin");
	return 0;
}

/* "application/json", any case, parameters (charset) allowed. */
static int media_is_json(const char *ctype)
{
	size_t n = strcspn(ctype, ";");

	while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
		n--;
	return n == 16 && !strncasecmp(ctype, "application/json", 16);
}

/* A Host a browser can only send when the page's own URL named fulcrum: an IP literal,
 * localhost (or a name under it), or the host of control.listen. A name an attacker
 * controls, resolved to 127.0.0.1 (DNS rebinding), is none of these. */
static int host_allowed(const char *host, const char *listen)
{
	char name[256], lhost[256];
	unsigned char buf[16];
	const char *colon;
	size_t n;

	if (host[0] == '[')
		return 1;  /* an IPv6 literal */
	colon = strrchr(host, ':');
	n = colon ? (size_t)(colon - host) : strlen(host);
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, host, n);
	name[n] = '\0';
	if (name[n - 1] == '.')
		name[--n] = '\0';
	if (inet_pton(AF_INET, name, buf) == 1)
		return 1;
	if (!strcasecmp(name, "localhost") ||
	    (n > 10 && !strcasecmp(name + n - 10, ".localhost")))
		return 1;
	colon = strrchr(listen, ':');
	n = colon ? (size_t)(colon - listen) : strlen(listen);
	if (n == 0 || n >= sizeof(lhost))
		return 0;
	memcpy(lhost, listen, n);
	lhost[n] = '\0';
	return !strcasecmp(lhost, name);
}

int ctl_cross_site_check(const struct ctl_site *s, char *error, size_t elen, char *detail,
			 size_t dlen)
{
	int changes = s->method != HTTP_M_GET && s->method != HTTP_M_HEAD;

	/* DNS rebinding matters only where no token is asked: a page cannot know one */
	if (s->host && s->listen && strncmp(s->listen, "unix:", 5) && !s->token_required &&
	    !host_allowed(s->host, s->listen)) {
		snprintf(error, elen, "forbidden_host");
		snprintf(detail, dlen, "Host '%s' is not this control listener's address nor a "
			 "loopback name (a DNS rebinding page?); use %s", s->host, s->listen);
		return 403;
	}
	if (!changes)
		return 0;
	/* the content types a page may send without a CORS preflight (text/plain, forms),
	 * and a body without a type, are refused: a cross-site page cannot send JSON */
	if ((s->body_len > 0 || s->ctype) && (!s->ctype || !media_is_json(s->ctype))) {
		snprintf(error, elen, "unsupported_media_type");
		snprintf(detail, dlen, "a %s needs Content-Type: application/json%s%s%s",
			 s->body_len > 0 ? "request with a body" : "change with a Content-Type",
			 s->ctype ? " (got '" : "", s->ctype ? s->ctype : "", s->ctype ? "')" : "");
		return 415;
	}
	if (s->origin) {
		char own[300];

		snprintf(own, sizeof(own), "%s://%s", s->tls ? "https" : "http",
			 s->host ? s->host : "");
		if (!s->host || strcasecmp(own, s->origin)) {
			snprintf(error, elen, "forbidden_origin");
			snprintf(detail, dlen, "a change from a page of origin '%s' is refused: "
				 "only pages of this listener (%s) may make one", s->origin,
				 s->host ? own : "its own origin");
			return 403;
		}
	}
	return 0;
}
