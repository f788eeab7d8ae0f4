/* config_rules.c: owns the rules string values of the configuration follow (names,
 * paths, header names, URLs), each with the line that describes it in the reference. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "addr.h"
#include "config-int.h"
#include "health.h"
#include "route.h"

/* Table of contents. */
static int check_nonempty(const char *s, char *err, size_t errlen);
static int check_control_listen(const char *s, char *err, size_t errlen);
static int check_tls_version(const char *s, char *err, size_t errlen);
static int check_alpn(const char *s, char *err, size_t errlen);
static int check_http_path(const char *s, char *err, size_t errlen);
static int check_status_list(const char *s, char *err, size_t errlen);
static int check_host_header(const char *s, char *err, size_t errlen);
static int check_header_name(const char *s, char *err, size_t errlen);
static int check_k8s_name(const char *s, char *err, size_t errlen);
static int check_api_server(const char *s, char *err, size_t errlen);
static int check_host_pattern(const char *s, char *err, size_t errlen);
static int check_store_endpoint(const char *s, char *err, size_t errlen);
static int check_method(const char *s, char *err, size_t errlen);
static int check_url_scheme(const char *s, char *err, size_t errlen);
static int check_header_value(const char *s, char *err, size_t errlen);
static int check_any_text(const char *s, char *err, size_t errlen);
static int check_editable_header(const char *s, char *err, size_t errlen);
static int check_header_line(const char *s, char *err, size_t errlen);
static int check_header_cond(const char *s, char *err, size_t errlen);
static int check_pair_cond(const char *s, char *err, size_t errlen);
static int check_regex_text(const char *s, char *err, size_t errlen);
static int check_media_range(const char *s, char *err, size_t errlen);
static int check_coding(const char *s, char *err, size_t errlen);

#define ERR(...) (err != NULL && errlen > 0 ? snprintf(err, errlen, __VA_ARGS__) : 0, -1)

/* Names appear in key paths, metrics labels and API URLs: keep them to a safe set. */
int cfg_check_name(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return ERR("name must be 1..63 characters, got %zu", n);
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return ERR("invalid name '%s' (allowed: letters, digits, '.', '_', '-')", s);
	return 0;
}

static int check_nonempty(const char *s, char *err, size_t errlen)
{
	if (s[0] == '\0')
		return ERR("must not be empty");
	return 0;
}

/* The control server parses this itself; here only the syntax is checked (and names
 * resolved), so that -t catches it. */
static int check_control_listen(const char *s, char *err, size_t errlen)
{
	struct addr a;
	char why[256];

	if (strncmp(s, "unix:", 5) == 0) {
		size_t n = strlen(s + 5);

		if (n == 0)
			return ERR("missing path after \"unix:\"");
		if (n >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return ERR("unix socket path longer than %zu characters",
				   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return 0;
	}
	if (addr_parse(s, &a, 1, why, sizeof(why)) == -1)
		return ERR("%s (expected \"host:port\" or \"unix:/path\")", why);
	return 0;
}

static int check_tls_version(const char *s, char *err, size_t errlen)
{
	if (strcmp(s, "TLSv1.2") != 0 && strcmp(s, "TLSv1.3") != 0)
		return ERR("\"%s\" is not one of \"TLSv1.2\", \"TLSv1.3\"", s);
	return 0;
}

/* "h2,http/1.1": each protocol 1..255 visible characters (the ALPN wire limit). */
static int check_alpn(const char *s, char *err, size_t errlen)
{
	const char *p = s;

	for (;;) {
		size_t n = strcspn(p, ",");
		size_t i;

		if (n == 0 || n > 255)
			return ERR("each ALPN protocol must be 1..255 characters, in \"%s\"", s);
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 127)
				return ERR("ALPN protocol with a space or control character in \"%s\"", s);
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

static int check_http_path(const char *s, char *err, size_t errlen)
{
	size_t i;

	if (s[0] != '/')
		return ERR("path must start with '/'");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127)
			return ERR("path must not contain spaces or control characters");
	return 0;
}

/* "200-399,404": statuses 100..599, single or as inclusive ranges. */
static int check_status_list(const char *s, char *err, size_t errlen)
{
	struct status_set set;

	return health_status_parse(s, &set, err, errlen);
}

/* A Host value goes into a request head as is: no spaces, controls or line breaks. */
static int check_host_header(const char *s, char *err, size_t errlen)
{
	size_t i;

	if (s[0] == '\0')
		return ERR("must not be empty");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127)
			return ERR("must be visible ASCII without spaces");
	return 0;
}

/* An RFC 9110 field name (token characters). */
static int check_header_name(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return ERR("header name must be 1..128 characters");
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		      "!#$%&'*+-.^_`|~") != n)
		return ERR("invalid header name '%s'", s);
	return 0;
}

/* A media type the compressor takes ("text/html") or a whole top-level type ("text/"
 * and "*"): tokens, no parameters. */
static int check_media_range(const char *s, char *err, size_t errlen)
{
	static const char tchar[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
				    "!#$%&'+-.^_`|~";
	size_t a = strspn(s, tchar), b;

	if (a == 0 || s[a] != '/' || a > 64)
		return ERR("'%s' is not a media type (type/subtype or type/*)", s);
	b = strcmp(s + a + 1, "*") == 0 ? 1 : strspn(s + a + 1, tchar);
	if (b == 0 || s[a + 1 + b] != '\0' || b > 64)
		return ERR("'%s' is not a media type (type/subtype or type/*)", s);
	return 0;
}

/* A content coding fulcrum makes. */
static int check_coding(const char *s, char *err, size_t errlen)
{
	if (strcmp(s, "br") && strcmp(s, "zstd") && strcmp(s, "gzip"))
		return ERR("'%s' is not a coding fulcrum makes (\"br\", \"zstd\" or \"gzip\")", s);
	return 0;
}

/* A Kubernetes object name as in a URL and a label selector: an RFC 1123 label. */
static int check_k8s_name(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return ERR("must be 1..63 characters, got %zu", n);
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n || s[0] == '-' || s[n - 1] == '-')
		return ERR("'%s' is not a Kubernetes name (lower-case letters, digits, '-' inside)", s);
	return 0;
}

/* The bearer token goes to it: https only, and nothing that would bend the URL. */
static int check_api_server(const char *s, char *err, size_t errlen)
{
	size_t i;

	if (strncmp(s, "https://", 8) != 0 || s[8] == '\0')
		return ERR("must be an https:// URL (the service-account token is sent to it)");
	for (i = 8; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127 || s[i] == '?' || s[i] == '#')
			return ERR("must be \"https://host:port\" without spaces, query or fragment");
	return 0;
}

/* A cluster store member: "http://host:port" or "https://host:port"; the client adds
 * the paths, so nothing may follow the port. */
static int check_store_endpoint(const char *s, char *err, size_t errlen)
{
	const char *host = !strncmp(s, "http://", 7) ? s + 7 : !strncmp(s, "https://", 8) ? s + 8 : NULL;
	size_t i;

	if (!host)
		return ERR("'%s' must be an http:// or https:// URL", s);
	if (!host[0] || host[0] == ':')
		return ERR("'%s' has no host", s);
	for (i = 0; host[i] != '\0'; i++)
		if ((unsigned char)host[i] <= ' ' || (unsigned char)host[i] >= 127 ||
		    strchr("/?#,@", host[i]))
			return ERR("'%s' must be \"scheme://host:port\" (no path, query, user or spaces)", s);
	return 0;
}

/* A route's host: a DNS name, or "*." and one; compared without case (core/route.c). */
static int check_host_pattern(const char *s, char *err, size_t errlen)
{
	const char *name = strncmp(s, "*.", 2) == 0 ? s + 2 : s;
	size_t n = strlen(name);

	if (n == 0 || n > 253)
		return ERR("host must be 1..253 characters");
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") != n)
		return ERR("'%s' is not a host name or \"*.\" and one (letters, digits, '.', '-'; "
			   "no port: routes ignore the Host's port)", s);
	if (name[0] == '.' || name[n - 1] == '.' || strstr(name, ".."))
		return ERR("'%s' has an empty label", s);
	return 0;
}

/* An HTTP method is a token (RFC 9110 9.1), compared with case. */
static int check_method(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
				       "!#$%&'*+-.^_`|~") != n)
		return ERR("'%s' is not a method (a token of 1..32 characters, e.g. \"GET\")", s);
	return 0;
}

static int check_url_scheme(const char *s, char *err, size_t errlen)
{
	if (strcmp(s, "http") != 0 && strcmp(s, "https") != 0)
		return ERR("scheme must be \"http\" or \"https\", got '%s'", s);
	return 0;
}

/* A field value fulcrum writes itself: no control characters (a CR or LF would end the
 * header and start another). */
static int check_header_value(const char *s, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] == 127)
			return ERR("must not contain control characters");
	if (i > 1024)
		return ERR("must be at most 1024 characters");
	return 0;
}

/* Any text, empty included (a fixed answer's body: its length is checked with the
 * route). */
static int check_any_text(const char *s, char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

/* Fields a route may not edit: the framing and hop-by-hop fields fulcrum frames and
 * strips itself (an edit could smuggle a second body length), and the ones fulcrum
 * writes on every request or response (they would be doubled or lose their meaning). */
static const char *const fields_not_editable[] = {
	"content-length", "transfer-encoding", "host", "connection", "keep-alive", "te",
	"trailer", "upgrade", "proxy-connection", "expect", "x-request-id", "x-forwarded-for",
	"x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip", "forwarded",
	"x-client-cert-subject", "strict-transport-security", NULL
};

static int check_editable_header(const char *s, char *err, size_t errlen)
{
	size_t i;

	if (check_header_name(s, err, errlen) == -1)
		return -1;
	for (i = 0; fields_not_editable[i]; i++)
		if (strcasecmp(s, fields_not_editable[i]) == 0)
			return ERR("%s is fulcrum's to set (framing, hop-by-hop or forwarding); a route cannot edit it", s);
	return 0;
}

/* "Name: value" with an editable name and a value without control characters. */
static int check_header_line(const char *s, char *err, size_t errlen)
{
	const char *colon = strchr(s, ':');
	char name[130];
	size_t n;

	if (!colon)
		return ERR("must be \"Name: value\"");
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(name))
		return ERR("header name must be 1..128 characters");
	memcpy(name, s, n);
	name[n] = '\0';
	if (check_editable_header(name, err, errlen) == -1)
		return -1;
	return check_header_value(colon + 1, err, errlen);
}

/* A route's header condition: "Name" or "Name: value" (the value as the parser keeps
 * it: no control characters, no space at either end). */
static int check_header_cond(const char *s, char *err, size_t errlen)
{
	const char *colon = strchr(s, ':'), *v;
	size_t n = colon ? (size_t)(colon - s) : strlen(s), i, vlen;

	if (n == 0 || n > 128 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
					"!#$%&'*+-.^_`|~") != n)
		return ERR("'%s' is not \"Name\" or \"Name: value\" (Name a header field name)", s);
	if (!colon)
		return 0;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	vlen = strlen(v);
	for (i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < ' ' || (unsigned char)v[i] == 127)
			return ERR("the header value must not contain control characters");
	if (vlen > 1024)
		return ERR("the header value must be at most 1024 characters");
	if (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		return ERR("the header value ends in a space, which a request's value never does");
	return 0;
}

/* A route's cookie or query condition: "name" or "name=value", visible ASCII without
 * spaces, ';', '&' or '#' (the separators of the lists they are found in). */
static int check_pair_cond(const char *s, char *err, size_t errlen)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 1024 || s[0] == '=')
		return ERR("must be \"name\" or \"name=value\" (1..1024 characters)");
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127 || s[i] == ';' || s[i] == '&' ||
		    s[i] == '#')
			return ERR("'%s' must be visible ASCII without spaces, ';', '&' or '#'", s);
	return 0;
}

/* A path_regex's text; whether it compiles is checked with its route (core/config.c). */
static int check_regex_text(const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0 || n > ROUTE_REGEX_MAX)
		return ERR("a regex must be 1..%d characters", ROUTE_REGEX_MAX);
	return 0;
}

#undef ERR

/* The rules the key table names, with the "values" column of the reference. */
const struct str_rule rule_name = { cfg_check_name, "`[A-Za-z0-9._-]{1,63}`" };
const struct str_rule rule_nonempty = { check_nonempty, "non-empty" };
const struct str_rule rule_control_listen = { check_control_listen, "`host:port`, `unix:/path`" };
const struct str_rule rule_tls_version = { check_tls_version, "`\"TLSv1.2\"`, `\"TLSv1.3\"`" };
const struct str_rule rule_alpn = { check_alpn, "comma-separated" };
const struct str_rule rule_http_path = { check_http_path, "starts with `/`" };
const struct str_rule rule_status_list = {
	check_status_list, "statuses `100-599` and `a-b` ranges, comma-separated; `\"\"` = none"
};
const struct str_rule rule_host_header = { check_host_header, "visible ASCII, no spaces" };
const struct str_rule rule_header_name = { check_header_name, "header field name" };
const struct str_rule rule_k8s_name = { check_k8s_name, "`[a-z0-9-]{1,63}`" };
const struct str_rule rule_api_server = { check_api_server, "`https://host:port`" };
const struct str_rule rule_store_endpoint = { check_store_endpoint, "`http://host:port`, `https://host:port`" };
const struct str_rule rule_host_pattern = { check_host_pattern, "host name or `*.`host name" };
const struct str_rule rule_method = { check_method, "method token" };
const struct str_rule rule_header_cond = { check_header_cond, "`Name` or `Name: value`" };
const struct str_rule rule_pair_cond = { check_pair_cond, "`name` or `name=value`" };
const struct str_rule rule_regex = { check_regex_text, "PCRE2 pattern" };
const struct str_rule rule_url_scheme = { check_url_scheme, "`\"http\"`, `\"https\"`" };
const struct str_rule rule_header_value = { check_header_value, "no control characters" };
const struct str_rule rule_any_text = { check_any_text, "any text" };
const struct str_rule rule_editable_header = { check_editable_header, "header field name" };
const struct str_rule rule_header_line = { check_header_line, "`\"Name: value\"`" };
const struct str_rule rule_media_range = { check_media_range, "`type/subtype` or `type/*`" };
const struct str_rule rule_coding = { check_coding, "`\"br\"`, `\"zstd\"`, `\"gzip\"`" };
