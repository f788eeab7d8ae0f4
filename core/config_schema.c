/* config_schema.c: owns the schema of the configuration file: one declarative table of
 * every key (type, bounds, default, reloadable, doc) and the embedded default config. */
#include <stdint.h>

#include "config-int.h"
#include "http.h"

/* The _Generic terms compile to nothing; they make the build fail when a field's type
 * in config-t.h stops matching the kind of key that fills it. */

#define FIELD(st, f) (((st *)0)->f)
#define K_INT(st, f, lo, hi, d, fl, text)                                                  \
	{ .name = #f, .type = &cfg_ops_int, .flags = (fl), .size = sizeof(FIELD(st, f)),     \
	  .off = offsetof(st, f) +                                                           \
		 0 * sizeof(_Generic(FIELD(st, f), uint32_t: 1, uint64_t: 1)),               \
	  .min = (lo), .max = (hi), .def = (d), .doc = (text) }
#define K_STR(st, f, d, chk, fl, text)                                                     \
	{ .name = #f, .type = &cfg_ops_string, .flags = (fl),                                \
	  .off = offsetof(st, f) + 0 * sizeof(_Generic(FIELD(st, f), char *: 1)),            \
	  .def_str = (d), .rule = (chk), .doc = (text) }
#define K_BOOL(st, f, d, fl, text)                                                         \
	{ .name = #f, .type = &cfg_ops_bool, .flags = (fl),                                  \
	  .off = offsetof(st, f) + 0 * sizeof(_Generic(FIELD(st, f), int: 1)),               \
	  .def = (d), .doc = (text) }
#define K_ENUM(st, f, nm, d, fl, text)                                                     \
	{ .name = #f, .type = &cfg_ops_enum, .flags = (fl), .off = offsetof(st, f),          \
	  .size = sizeof(FIELD(st, f)) +                                                     \
		  0 * sizeof(char[sizeof(FIELD(st, f)) == sizeof(int) ? 1 : -1]),            \
	  .names = (nm), .def = (d), .doc = (text) }
#define K_ADDR(st, f, fl, text)                                                            \
	{ .name = #f, .type = &cfg_ops_addr, .flags = (fl),                                  \
	  .off = offsetof(st, f) + 0 * sizeof(_Generic(FIELD(st, f), struct addr: 1)),       \
	  .doc = (text) }
#define K_PREFIXES(st, f, n, hi, fl, text)                                                 \
	{ .name = #f, .type = &cfg_ops_prefixes, .flags = (fl),                              \
	  .off = offsetof(st, f) + 0 * sizeof(_Generic(FIELD(st, f), struct addr_prefix *: 1)), \
	  .count_off = offsetof(st, n), .min = 0, .max = (hi), .doc = (text) }
#define K_GROUP(st, f, tbl, fl, text)                                                      \
	{ .name = #f, .type = &cfg_ops_group, .flags = (fl), .off = offsetof(st, f),         \
	  .sub = (tbl), .doc = (text) }
#define K_LIST(st, nm, f, n, tbl, lo, hi, fl, text)                                        \
	{ .name = (nm), .type = &cfg_ops_list, .flags = (fl), .off = offsetof(st, f),        \
	  .count_off = offsetof(st, n), .sub = (tbl), .min = (lo), .max = (hi), .doc = (text) }

#define R KEY_RELOAD
#define MS_MAX 3600000       /* one hour: longer than any sane timeout, short of overflow */

static const char *const log_level_names[] = { "debug", "info", "warn", "error", NULL };
static const char *const log_format_names[] = { "json", "combined", NULL };
static const char *const mode_names[] = { "http", "tcp", NULL };
static const char *const balance_names[] = { "wlc", "rr", NULL };
static const char *const health_names[] = { "http", "tcp", "none", NULL };
static const char *const send_proxy_names[] = { "none", "v1", "v2", NULL };
static const char *const state_names[] = { "active", "draining", "maint", NULL };
static const char *const verify_names[] = { "none", "optional", "required", NULL };
static const char *const k8s_family_names[] = { "ipv4", "ipv6", "any", NULL };
static const char *const scope_names[] = { "read", "backends", "admin", NULL };
static const char *const cluster_store_names[] = { "etcd", NULL };

static const struct key log_keys[] = {
	K_ENUM(struct cfg_log, level, log_level_names, LOG_INFO, R,
	       "least severity written to the error log (stderr)"),
	K_STR(struct cfg_log, access, "stdout", &rule_nonempty, R,
	      "access log: \"stdout\", \"stderr\", \"off\" or a file path (reopened on SIGUSR1)"),
	K_ENUM(struct cfg_log, format, log_format_names, LOG_FORMAT_JSON, R,
	       "access log line format"),
	K_INT(struct cfg_log, access_sample, 1, 1000000, 1, R,
	      "write 1 of every N access-log lines per worker; 5xx and failed requests always"),
	{ .name = NULL },
};
static const struct key_table log_table = { "log", log_keys, sizeof(struct cfg_log), -1, -1 };

static const struct key cert_keys[] = {
	K_STR(struct cfg_tls_cert, cert, NULL, &rule_nonempty, KEY_REQUIRED | R,
	      "PEM certificate chain file"),
	K_STR(struct cfg_tls_cert, key, NULL, &rule_nonempty, KEY_REQUIRED | R,
	      "PEM private key file"),
	{ .name = NULL },
};
static const struct key_table cert_table = {
	"certificate", cert_keys, sizeof(struct cfg_tls_cert),
	offsetof(struct cfg_tls_cert, line), -1
};

static const struct key tls_keys[] = {
	K_LIST(struct cfg_tls, "certificates", certs, ncerts, &cert_table, 1, 256,
	       KEY_REQUIRED | R, "certificate/key pairs, at least one"),
	K_STR(struct cfg_tls, min_version, "TLSv1.2", &rule_tls_version, R,
	      "lowest protocol version: \"TLSv1.2\" or \"TLSv1.3\""),
	K_STR(struct cfg_tls, ciphers, NULL, &rule_nonempty, R,
	      "OpenSSL cipher list for TLS 1.2; unset = ECDHE with AES-GCM or ChaCha20 only"),
	K_STR(struct cfg_tls, ciphersuites, NULL, &rule_nonempty, R,
	      "OpenSSL TLS 1.3 ciphersuites; unset = AES-128-GCM, AES-256-GCM, ChaCha20"),
	K_STR(struct cfg_tls, alpn, NULL, &rule_alpn, R,
	      "comma-separated ALPN protocols; unset = \"h2,http/1.1\" on http listeners (\"http/1.1\" with http2 = false)"),
	K_STR(struct cfg_tls, client_ca, NULL, &rule_nonempty, R,
	      "PEM file of the CAs client certificates must chain to (mutual TLS)"),
	K_ENUM(struct cfg_tls, verify_client, verify_names, TLS_VERIFY_NONE, R,
	       "ask for a client certificate: \"none\", \"optional\" or \"required\" (needs client_ca)"),
	K_INT(struct cfg_tls, handshake_timeout_ms, 1, MS_MAX, 10000, R,
	      "the TLS handshake must complete within this time"),
	K_INT(struct cfg_tls, session_timeout_s, 1, 86400, 300, R,
	      "lifetime of a resumable session; generated ticket keys rotate this often"),
	K_BOOL(struct cfg_tls, session_tickets, 1, R,
	       "issue session tickets (stateless resumption); the session cache works either way"),
	K_STR(struct cfg_tls, ticket_key_file, NULL, &rule_nonempty, R,
	      "ticket keys shared by several instances (lines of 160 hex digits); unset = generated"),
	{ .name = NULL },
};
static const struct key_table tls_table = { "tls", tls_keys, sizeof(struct cfg_tls), -1, -1 };

static const struct key token_keys[] = {
	K_STR(struct cfg_token, name, NULL, &rule_name, KEY_REQUIRED | R,
	      "a regular file of this name in control.token_dir holds the token"),
	K_ENUM(struct cfg_token, scope, scope_names, TOKEN_SCOPE_READ, R,
	       "\"read\" (GET calls, /metrics), \"backends\" (read + PUT, drain, DELETE of backends) or \"admin\" (everything)"),
	{ .name = "pools", .type = &cfg_ops_string, .flags = KEY_NAMES | R,
	  .off = offsetof(struct cfg_token, pools) +
		 0 * sizeof(_Generic(FIELD(struct cfg_token, pools), char *: 1)),
	  .max = 1024, .rule = &rule_name,
	  .doc = "backends scope: the pools it may change, ( \"flask\", ... ); unset = all pools" },
	{ .name = NULL },
};
static const struct key_table token_table = {
	"token", token_keys, sizeof(struct cfg_token), offsetof(struct cfg_token, line),
	offsetof(struct cfg_token, name)
};

static const struct key control_keys[] = {
	K_STR(struct cfg_control, listen, NULL, &rule_control_listen, 0,
	      "control API address: \"host:port\" or \"unix:/path\"; unset = no control API"),
	K_STR(struct cfg_control, token_file, NULL, &rule_nonempty, R,
	      "file holding a bearer token of scope admin (re-read when it changes); unset = none"),
	K_STR(struct cfg_control, token_dir, NULL, &rule_nonempty, R,
	      "directory of token files, one token per regular file, named by the file (scope read unless control.tokens says)"),
	K_LIST(struct cfg_control, "tokens", tokens, ntokens, &token_table, 0, 1024, R,
	       "scopes of token_dir's tokens: { name; scope; pools; }"),
	K_INT(struct cfg_control, token_overlap_s, 0, 86400, 60, R,
	      "after a token file changes, its old value still works this long"),
	K_INT(struct cfg_control, generations_keep, 1, 100000, 100, R,
	      "operator configurations (start, reloads, rollbacks) kept in state_dir for rollback (oldest removed first)"),
	K_INT(struct cfg_control, generations_keep_days, 0, 36500, 0, R,
	      "kept generations older than this many days are removed too; 0 = by count only"),
	K_GROUP(struct cfg_control, tls, &tls_table, KEY_POINTER,
		"serve the control API over TLS (same keys as a listener's tls); absent = plain"),
	K_BOOL(struct cfg_control, metrics_public, 0, R,
	       "serve GET /metrics without the bearer token (for scrapers that send none)"),
	{ .name = NULL },
};
static const struct key_table control_table = {
	"control", control_keys, sizeof(struct cfg_control), -1, -1
};

static const struct key redirect_keys[] = {
	K_INT(struct cfg_route_redirect, status, 301, 308, 301, R,
	      "301, 302, 303, 307 or 308 (307 and 308 keep the method and body)"),
	K_STR(struct cfg_route_redirect, scheme, NULL, &rule_url_scheme, R,
	      "\"http\" or \"https\"; unset = the request's"),
	K_STR(struct cfg_route_redirect, host, NULL, &rule_host_header, R,
	      "host of the new URL; unset = the request's Host"),
	K_INT(struct cfg_route_redirect, port, 0, 65535, 0, R,
	      "port of the new URL; 0 = none (the scheme's default)"),
	{ .name = NULL },
};
static const struct key_table redirect_table = {
	"redirect", redirect_keys, sizeof(struct cfg_route_redirect), -1, -1
};

static const struct key respond_keys[] = {
	K_INT(struct cfg_route_respond, status, 200, 599, 200, R, "status of the answer"),
	K_STR(struct cfg_route_respond, body, "", &rule_any_text, R, "body of the answer (up to 4096 bytes)"),
	K_STR(struct cfg_route_respond, body_file, NULL, &rule_nonempty, R,
	      "or the body read from this file (up to 8192 bytes) at start and reload; not with body"),
	K_STR(struct cfg_route_respond, content_type, "text/plain; charset=utf-8", &rule_header_value, R,
	      "Content-Type of the answer"),
	{ .name = NULL },
};
static const struct key_table respond_table = {
	"respond", respond_keys, sizeof(struct cfg_route_respond), -1, -1
};

static const struct key static_keys[] = {
	K_STR(struct cfg_route_static, root, NULL, &rule_http_path, KEY_REQUIRED | R,
	      "directory the files are served from (an absolute path)"),
	K_STR(struct cfg_route_static, strip_prefix, NULL, &rule_http_path, R,
	      "removed from the request path before it is looked up in root; unset = none"),
	K_STR(struct cfg_route_static, index, NULL, &rule_name, R,
	      "file served for a directory (\"index.html\"); unset = a directory is 404"),
	K_INT(struct cfg_route_static, max_age_s, 0, 31536000, 0, R,
	      "Cache-Control: max-age of the answers; 0 = no Cache-Control"),
	{ .name = NULL },
};
static const struct key_table static_table = {
	"static", static_keys, sizeof(struct cfg_route_static), -1, -1
};

static const struct key header_edit_keys[] = {
	K_STR(struct cfg_header_edit, set, NULL, &rule_header_line, R,
	      "\"Name: value\": replace every field of that name ($client_ip, $host, $path, $request_id expand)"),
	K_STR(struct cfg_header_edit, add, NULL, &rule_header_line, R,
	      "\"Name: value\": add a field beside any of that name"),
	K_STR(struct cfg_header_edit, remove, NULL, &rule_editable_header, R,
	      "drop every field of this name"),
	{ .name = NULL },
};
static const struct key_table header_edit_table = {
	"header edit", header_edit_keys, sizeof(struct cfg_header_edit),
	offsetof(struct cfg_header_edit, line), -1
};

static const struct key error_page_keys[] = {
	K_STR(struct cfg_error_page, status, NULL, &rule_status_list, KEY_REQUIRED | R,
	      "the statuses this page answers, e.g. \"503\" or \"502-504\" (fulcrum's own answers only)"),
	K_STR(struct cfg_error_page, file, NULL, &rule_nonempty, KEY_REQUIRED | R,
	      "file of the page (up to 8192 bytes), read at start and reload"),
	K_STR(struct cfg_error_page, content_type, "text/html; charset=utf-8", &rule_header_value, R,
	      "its Content-Type; a client whose Accept names it gets this page before another of the same status"),
	{ .name = NULL },
};
static const struct key_table error_page_table = {
	"error page", error_page_keys, sizeof(struct cfg_error_page), offsetof(struct cfg_error_page, line), -1
};

static const struct key split_keys[] = {
	K_STR(struct cfg_split, pool, NULL, &rule_name, KEY_REQUIRED | R, "a pool of the split"),
	K_INT(struct cfg_split, weight, 1, 1000000, 1, R, "its share: weight / the sum of the split's weights"),
	{ .name = NULL },
};
static const struct key_table split_table = {
	"split", split_keys, sizeof(struct cfg_split), offsetof(struct cfg_split, line), -1
};

static const struct key match_header_keys[] = {
	K_STR(struct cfg_match_header, name, NULL, &rule_header_name, KEY_REQUIRED | R,
	      "the header field's name (any case)"),
	K_STR(struct cfg_match_header, value, NULL, &rule_header_value, R,
	      "exactly this value; unset = the field is present with any value"),
	{ .name = NULL },
};
static const struct key_table match_header_table = {
	"header", match_header_keys, sizeof(struct cfg_match_header), -1, -1
};

/* The route's conditions written as one group (DESIGN.md's form); each is the route
 * key of the same name (core/config.c moves them there). */
static const struct key match_keys[] = {
	K_STR(struct cfg_route_match, scheme, NULL, &rule_url_scheme, R, "as the route's scheme"),
	K_STR(struct cfg_route_match, host, NULL, &rule_host_pattern, R, "as the route's host"),
	K_STR(struct cfg_route_match, path, NULL, &rule_http_path, R, "as the route's path"),
	K_STR(struct cfg_route_match, path_prefix, NULL, &rule_http_path, R, "as the route's path_prefix"),
	K_STR(struct cfg_route_match, method, NULL, &rule_method, R, "as the route's method"),
	K_GROUP(struct cfg_route_match, header, &match_header_table, KEY_POINTER | R,
		"a header field: { name = \"X-Canary\"; value = \"1\"; } (value unset = present)"),
	K_STR(struct cfg_route_match, cookie, NULL, &rule_pair_cond, R, "as the route's cookie"),
	K_STR(struct cfg_route_match, query, NULL, &rule_pair_cond, R, "as the route's query"),
	K_STR(struct cfg_route_match, path_regex, NULL, &rule_regex, R, "as the route's path_regex"),
	{ .name = NULL },
};
static const struct key_table match_table = {
	"match", match_keys, sizeof(struct cfg_route_match), -1, -1
};

static const struct key route_keys[] = {
	K_STR(struct cfg_route, name, NULL, &rule_name, KEY_REQUIRED | R,
	      "route name, unique in its listener (access log field route)"),
	K_STR(struct cfg_route, host, NULL, &rule_host_pattern, R,
	      "match the Host (port ignored, any case): \"api.example.com\" or \"*.example.com\"; unset = any"),
	K_STR(struct cfg_route, path, NULL, &rule_http_path, R,
	      "match this exact path (the target before any '?'); unset = any"),
	K_STR(struct cfg_route, path_prefix, NULL, &rule_http_path, R,
	      "match paths that start with this; unset = any"),
	K_STR(struct cfg_route, method, NULL, &rule_method, R,
	      "match this method exactly (\"GET\", \"POST\", ...); unset = any"),
	K_STR(struct cfg_route, header, NULL, &rule_header_cond, R,
	      "match a header field: \"X-Canary\" (present) or \"X-Canary: 1\" (exactly this value; name any case); unset = any"),
	K_STR(struct cfg_route, cookie, NULL, &rule_pair_cond, R,
	      "match a cookie: \"session\" (present) or \"canary=1\" (exactly this value); unset = any"),
	K_STR(struct cfg_route, query, NULL, &rule_pair_cond, R,
	      "match a query parameter as sent (no percent-decoding): \"debug\" (present) or \"debug=1\"; unset = any"),
	K_STR(struct cfg_route, path_regex, NULL, &rule_regex, R,
	      "match the path against this PCRE2 pattern (unanchored unless it says ^ or $); unset = any"),
	K_STR(struct cfg_route, scheme, NULL, &rule_url_scheme, R,
	      "match how the client reached the listener: \"http\" (plain) or \"https\" (TLS); unset = any"),
	K_GROUP(struct cfg_route, match, &match_table, KEY_POINTER | R,
		"the conditions as one group: { scheme; host; path; path_prefix; method; header = { name; value; }; cookie; query; path_regex; }"),
	K_STR(struct cfg_route, pool, NULL, &rule_name, R,
	      "proxy matching requests to this pool (one of pool, split, redirect, respond, static)"),
	K_GROUP(struct cfg_route, redirect, &redirect_table, KEY_POINTER | R,
		"answer matching requests with a redirect: { status; scheme; host; port; }"),
	K_GROUP(struct cfg_route, respond, &respond_table, KEY_POINTER | R,
		"answer matching requests with a fixed answer: { status; body or body_file; content_type; }"),
	/* "static" is a C keyword: the field has another name than the key */
	{ .name = "static", .type = &cfg_ops_group, .flags = KEY_POINTER | R,
	  .off = offsetof(struct cfg_route, static_files), .sub = &static_table,
	  .doc = "serve GET and HEAD from files: { root; strip_prefix; index; max_age_s; }" },
	K_LIST(struct cfg_route, "split", split, nsplit, &split_table, 0, 16, R,
	       "spread matching requests over pools by weight (a canary): ( { pool = \"stable\"; weight = 95; }, { pool = \"canary\"; weight = 5; } )"),
	K_STR(struct cfg_route, sticky_cookie, NULL, &rule_name, R,
	      "split: a cookie of this name keeps each client on its pool (fulcrum sets it when it draws one)"),
	K_STR(struct cfg_route, strip_prefix, NULL, &rule_http_path, R,
	      "pool routes: remove this from the start of the path sent to the backend (\"/api\": /api/users -> /users)"),
	K_INT(struct cfg_route, queue_timeout_ms, 0, MS_MAX, 0, R,
	      "pool routes: a request queued longer than this gets 503; 0 = the pool's"),
	K_INT(struct cfg_route, response_timeout_ms, 0, MS_MAX, 0, R,
	      "pool routes: no response within this after the request was sent gets 504; 0 = the pool's (a slow report endpoint gets more)"),
	K_INT(struct cfg_route, body_max_bytes, 0, INT64_MAX, 0, R,
	      "largest request body on this route; larger gets 413; 0 = the listener's"),
	K_INT(struct cfg_route, max_share, 0, 100, 0, R,
	      "pool routes: percent of the pool's slots (sum of max_conns) its requests may hold at once; the rest wait in the queue; 0 = no share"),
	K_BOOL(struct cfg_route, adaptive_limit, 0, R,
	       "pool routes: learn how many of its requests may be in flight from its own latency (under max_share when set)"),
	K_LIST(struct cfg_route, "request_headers", request_headers, nrequest_headers, &header_edit_table, 0, 64, R,
	       "pool routes: edits of the request head sent to the backend, in order: ( { set = \"X-App: api\"; }, { remove = \"X-Debug\"; } )"),
	K_LIST(struct cfg_route, "response_headers", response_headers, nresponse_headers, &header_edit_table, 0, 64, R,
	       "edits of the response head the client gets (from the backend or made here)"),
	K_LIST(struct cfg_route, "error_pages", error_pages, nerror_pages, &error_page_table, 0, 64, R,
	       "pages for the statuses fulcrum answers itself on this route, before the listener's error_pages"),
	{ .name = NULL },
};
const struct key_table cfg_route_table = {
	"route", route_keys, sizeof(struct cfg_route), offsetof(struct cfg_route, line),
	offsetof(struct cfg_route, name)
};

static const struct key listener_keys[] = {
	K_STR(struct cfg_listener, name, NULL, &rule_name, KEY_REQUIRED | R,
	      "unique listener name, [A-Za-z0-9._-]{1,63}"),
	K_ADDR(struct cfg_listener, bind, KEY_REQUIRED | R,
	       "address to listen on: \"1.2.3.4:443\", \"[::]:443\" or \"name:443\"; unique"),
	K_ENUM(struct cfg_listener, mode, mode_names, LISTENER_HTTP, R,
	       "\"http\" (L7, per request) or \"tcp\" (L4, per connection)"),
	K_STR(struct cfg_listener, pool, NULL, &rule_name, R,
	      "name of the pool that serves this listener (with routes: what no route matched); required unless routes are set"),
	K_LIST(struct cfg_listener, "routes", routes, nroutes, &cfg_route_table, 0, 1024, R,
	       "http listeners: rules tried in order, the first match acts (see Routes)"),
	K_INT(struct cfg_listener, max_connections, 1, 1000000, 10000, R,
	      "concurrent client connections on this listener"),
	K_INT(struct cfg_listener, max_conns_per_client, 0, 1000000, 256, R,
	      "concurrent connections from one client address (IPv6: one /64) on this listener; 0 = unlimited"),
	K_BOOL(struct cfg_listener, accept_proxy, 0, R,
	       "expect a PROXY protocol v1/v2 header from proxy_trusted sources"),
	K_PREFIXES(struct cfg_listener, proxy_trusted, nproxy_trusted, 1024, R,
		   "sources allowed to send PROXY headers, e.g. (\"10.0.0.0/8\", \"::1\")"),
	K_INT(struct cfg_listener, head_timeout_ms, 1, MS_MAX, 10000, R,
	      "the whole request head must arrive within this time"),
	K_INT(struct cfg_listener, idle_timeout_ms, 1, MS_MAX, 60000, R,
	      "keep-alive idle time (http) or inactivity time (tcp)"),
	K_INT(struct cfg_listener, head_max_bytes, 1024, 1048576, 32768, R,
	      "largest request head; larger gets 431"),
	K_INT(struct cfg_listener, header_max_count, 1, HTTP_HEADERS_MAX, 100, R,
	      "most header fields in a request head; more gets 431"),
	K_INT(struct cfg_listener, body_max_bytes, 0, INT64_MAX, 0, R,
	      "largest request body; larger gets 413; 0 = unlimited (above 2^31-1 add an L suffix)"),
	K_BOOL(struct cfg_listener, trust_forwarded, 0, R,
	       "keep the client's X-Forwarded-For and Forwarded and append to them (a trusted proxy in front)"),
	K_BOOL(struct cfg_listener, http2, 1, R,
	       "TLS http listeners: offer HTTP/2 in ALPN (h2, then http/1.1); each stream is one request through the same path; on by default where it applies (TLS, mode http)"),
	K_BOOL(struct cfg_listener, h2c, 0, R,
	       "plain http listeners: also accept cleartext HTTP/2 from clients that start with its preface (prior knowledge); for a trusted front only"),
	K_INT(struct cfg_listener, h2_max_concurrent_streams, 1, 1000, 100, R,
	      "HTTP/2: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS)"),
	K_INT(struct cfg_listener, h2_max_header_list_bytes, 1024, 1048576, 32768, R,
	      "HTTP/2: largest request header list (names, values and 32 bytes per field); larger gets 431"),
	K_INT(struct cfg_listener, h2_window_bytes, 65535, 16777216, 262144, R,
	      "HTTP/2: a request body's flow-control window (the connection's is 4 times it): what a client may send ahead of fulcrum reading it"),
	K_INT(struct cfg_listener, h2_max_resets, 1, 100000, 200, R,
	      "HTTP/2: streams a client may reset within 10 s on one connection before it is closed with GOAWAY (rapid reset)"),
	K_INT(struct cfg_listener, h2_header_table_bytes, 0, 65536, 4096, R,
	      "HTTP/2: the HPACK dynamic table a client may use for its requests, which each connection holds (SETTINGS_HEADER_TABLE_SIZE); 0 = none"),
	K_GROUP(struct cfg_listener, tls, &tls_table, KEY_POINTER | R,
		"terminate TLS on this listener; absent = plain"),
	K_LIST(struct cfg_listener, "error_pages", error_pages, nerror_pages, &error_page_table, 0, 64, R,
	       "http listeners: pages for the statuses fulcrum answers itself (502, 503, 504, 4xx), instead of its JSON"),
	K_INT(struct cfg_listener, hsts_max_age_s, 0, 315360000, 0, R,
	      "TLS listeners: Strict-Transport-Security: max-age=this on every response; 0 = none"),
	K_BOOL(struct cfg_listener, hsts_include_subdomains, 0, R,
	       "with hsts_max_age_s: add includeSubDomains"),
	K_BOOL(struct cfg_listener, hsts_preload, 0, R,
	       "with hsts_max_age_s: add preload (hstspreload.org wants max-age >= 31536000 and includeSubDomains)"),
	{ .name = NULL },
};
const struct key_table cfg_listener_table = {
	"listener", listener_keys, sizeof(struct cfg_listener),
	offsetof(struct cfg_listener, line), offsetof(struct cfg_listener, name)
};

static const struct key health_keys[] = {
	K_ENUM(struct cfg_health, type, health_names, HEALTH_HTTP, R,
	       "\"http\" (GET path), \"tcp\" (connect) or \"none\" (no active checks)"),
	K_STR(struct cfg_health, path, "/healthz", &rule_http_path, R,
	      "request path of http checks"),
	K_STR(struct cfg_health, host, NULL, &rule_host_header, R,
	      "Host header of http checks; unset = the backend's address as written"),
	K_BOOL(struct cfg_health, https, 0, R,
	       "http checks over TLS (the backend's certificate is not verified)"),
	K_STR(struct cfg_health, expect, "200-399", &rule_status_list, R,
	      "statuses that pass an http check, e.g. \"200,204\" or \"200-299\""),
	K_STR(struct cfg_health, drain_status, NULL, &rule_status_list, R,
	      "statuses by which a backend asks for no new traffic (draining, not a failure); unset = none"),
	K_STR(struct cfg_health, drain_header, NULL, &rule_header_name, R,
	      "header that must come with drain_status for it to mean draining; unset = the status alone"),
	K_STR(struct cfg_health, identity_header, NULL, &rule_header_name, R,
	      "http checks pass only if the answer carries this header with the backend's identity; unset = off"),
	K_INT(struct cfg_health, interval_ms, 1, MS_MAX, 2000, R, "time between two checks"),
	K_INT(struct cfg_health, timeout_ms, 1, MS_MAX, 1000, R,
	      "a check slower than this fails (not counted while the backend visibly serves: see health)"),
	K_INT(struct cfg_health, rise, 1, 100, 2, R, "consecutive successes to mark a backend up"),
	K_INT(struct cfg_health, fall, 1, 100, 3, R, "consecutive failures to mark a backend down"),
	K_INT(struct cfg_health, jitter_percent, 0, 50, 10, R,
	      "each interval is drawn within +-this percent so checks do not align"),
	K_INT(struct cfg_health, max_down_percent, 0, 100, 50, R,
	      "most backends in rotation (admin active; percent, rounded down) that checks and passive detection may hold down; never the last one up"),
	{ .name = NULL },
};
static const struct key_table health_table = {
	"health", health_keys, sizeof(struct cfg_health), -1, -1
};

static const struct key passive_keys[] = {
	K_INT(struct cfg_passive, connect_failures, 0, 1000, 1, R,
	      "failed connects in a row (refused, unreachable, timed out) that eject a backend; 0 = never"),
	K_INT(struct cfg_passive, errors, 0, 1000, 5, R,
	      "failed exchanges in a row (connect, reset, close, bad or cut response, timeout after the whole request) that eject; 0 = never"),
	K_BOOL(struct cfg_passive, eject_on_5xx, 0, R,
	       "count responses with a status in error_status as failed exchanges (any client can make an app answer 500)"),
	K_STR(struct cfg_passive, error_status, "500-599", &rule_status_list, R,
	      "response statuses counted as failed exchanges when eject_on_5xx is on; \"\" = none"),
	K_INT(struct cfg_passive, eject_ms, 1, MS_MAX, 10000, R,
	      "how long a first ejection lasts; each repeat doubles it"),
	K_INT(struct cfg_passive, eject_max_ms, 1, MS_MAX, 300000, R,
	      "longest ejection; a backend up this long after its last ejection starts over at eject_ms"),
	{ .name = NULL },
};
static const struct key_table passive_table = {
	"passive", passive_keys, sizeof(struct cfg_passive), -1, -1
};

static const struct key backend_keys[] = {
	K_STR(struct cfg_backend, name, NULL, &rule_name, KEY_REQUIRED | R,
	      "backend name, unique in its pool, [A-Za-z0-9._-]{1,63}"),
	K_ADDR(struct cfg_backend, address, KEY_REQUIRED | R,
	       "\"1.2.3.4:8000\", \"[::1]:8000\" or \"name:8000\" (names resolved at load and reload)"),
	K_INT(struct cfg_backend, weight, 0, 1000, 1, R,
	      "share of traffic relative to the others; 0 = takes no new traffic"),
	K_INT(struct cfg_backend, max_conns, 0, 1000000, 0, R,
	      "most connections in flight to this backend; more wait in the pool queue; 0 = unlimited"),
	K_ENUM(struct cfg_backend, state, state_names, ADMIN_ACTIVE, R,
	       "admin state: \"active\", \"draining\" (no new traffic) or \"maint\" (out)"),
	K_STR(struct cfg_backend, identity, NULL, &rule_host_header, R,
	      "what the pool's health.identity_header must say in its health answers; unset = the name"),
	{ .name = NULL },
};
const struct key_table cfg_backend_table = {
	"backend", backend_keys, sizeof(struct cfg_backend),
	offsetof(struct cfg_backend, line), offsetof(struct cfg_backend, name)
};

static const struct key kubernetes_keys[] = {
	K_STR(struct cfg_kubernetes, namespace, NULL, &rule_k8s_name, R,
	      "namespace of the Service; unset = the service account's (<sa_dir>/namespace), else \"default\""),
	K_STR(struct cfg_kubernetes, service, NULL, &rule_k8s_name, KEY_REQUIRED | R,
	      "the Service whose EndpointSlices (label kubernetes.io/service-name) make the backends"),
	K_INT(struct cfg_kubernetes, port, 0, 65535, 0, R,
	      "endpoint (target) port number; 0 = the port named port_name, or the slice's only port"),
	K_STR(struct cfg_kubernetes, port_name, NULL, &rule_k8s_name, R,
	      "name of the EndpointSlice port to use (the Service port's name); unset = by number"),
	K_STR(struct cfg_kubernetes, api_server, NULL, &rule_api_server, R,
	      "API server URL \"https://host:port\"; unset = https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"),
	K_STR(struct cfg_kubernetes, sa_dir, "/var/run/secrets/kubernetes.io/serviceaccount",
	      &rule_nonempty, R, "service-account directory: token (re-read when it changes), ca.crt, namespace"),
	K_INT(struct cfg_kubernetes, weight, 0, 1000, 1, R, "weight of each discovered backend"),
	K_INT(struct cfg_kubernetes, max_conns, 0, 1000000, 0, R,
	      "max_conns of each discovered backend; 0 = unlimited"),
	K_INT(struct cfg_kubernetes, batch_ms, 0, 60000, 100, R,
	      "endpoint changes arriving within this time are applied as one generation"),
	K_INT(struct cfg_kubernetes, backoff_max_ms, 100, MS_MAX, 30000, R,
	      "longest wait between attempts while the API server cannot be reached (doubling, jittered)"),
	K_ENUM(struct cfg_kubernetes, address_family, k8s_family_names, K8S_FAMILY_IPV4, R,
	       "a pod with IPv4 and IPv6 endpoints is one backend, on \"ipv4\", \"ipv6\", or \"any\" (the family whose endpoint is in the better state, IPv4 on a tie)"),
	K_INT(struct cfg_kubernetes, watch_idle_timeout_s, 1, 3600, 30, R,
	      "a LIST or WATCH that brings no byte for this long is taken as dead and fulcrum lists again; watches ask the server to end them before (timeoutSeconds)"),
	{ .name = NULL },
};
static const struct key_table kubernetes_table = {
	"kubernetes", kubernetes_keys, sizeof(struct cfg_kubernetes), -1, -1
};

static const struct key discovery_keys[] = {
	K_GROUP(struct cfg_discovery, kubernetes, &kubernetes_table, KEY_POINTER | R,
		"follow a Kubernetes Service's EndpointSlices (LIST, then WATCH); absent = off"),
	{ .name = NULL },
};
static const struct key_table discovery_table = {
	"discovery", discovery_keys, sizeof(struct cfg_discovery), -1, -1
};

static const struct key buffering_keys[] = {
	K_BOOL(struct cfg_buffering, request, 1, R,
	       "read a request's body whole before it takes a backend (never for upgrades)"),
	K_BOOL(struct cfg_buffering, response, 1, R,
	       "read a response off the backend at once and free it; event streams and X-Accel-Buffering: no are exempt"),
	K_INT(struct cfg_buffering, memory_bytes, 1024, 1073741824, 65536, R,
	      "one exchange's body in memory; beyond, it spills to an unlinked file in buffer_dir"),
	{ .name = NULL },
};
static const struct key_table buffering_table = {
	"buffering", buffering_keys, sizeof(struct cfg_buffering), -1, -1
};

static const struct key cache_keys[] = {
	K_INT(struct cfg_cache, memory_bytes, 65536, INT64_MAX, 268435456, R,
	      "all stored responses of the pool together (S3-FIFO eviction beyond)"),
	K_INT(struct cfg_cache, max_object_bytes, 1024, 1073741824, 8388608, R,
	      "one stored response (head and body); larger ones are passed, not stored"),
	K_INT(struct cfg_cache, default_ttl_s, 0, 31536000, 0, R,
	      "how long a storable response without Cache-Control max-age or Expires stays fresh; 0 = not stored"),
	K_INT(struct cfg_cache, stale_while_revalidate_s, 0, 86400, 0, R,
	      "for responses that name no stale-while-revalidate: how long past freshness requests that come while the entry is refetched get the stale answer"),
	K_INT(struct cfg_cache, stale_if_error_s, 0, 86400, 0, R,
	      "for responses that name no stale-if-error: how long past freshness a refetch that fails (5xx, no backend, connect refused, timeout) gets the stale answer instead"),
	K_STR(struct cfg_cache, x_cache_header, NULL, &rule_header_name, R,
	      "name of a response header telling the client hit, miss, coalesced, pass or bypass (e.g. \"X-Cache\"); unset = none"),
	{ .name = NULL },
};
static const struct key_table cache_table = {
	"cache", cache_keys, sizeof(struct cfg_cache), -1, -1
};

static const struct key compress_keys[] = {
	{ .name = "types", .type = &cfg_ops_string, .flags = KEY_NAMES | R,
	  .off = offsetof(struct cfg_compress, types) +
		 0 * sizeof(_Generic(FIELD(struct cfg_compress, types), char *: 1)),
	  .max = 64, .rule = &rule_media_range, .def_str = "text/*,application/json,application/javascript",
	  .doc = "media types compressed (a Content-Type's parameters are ignored)" },
	K_INT(struct cfg_compress, min_bytes, 0, 1073741824, 1024, R,
	      "a response whose Content-Length is below this goes as it is (a chunked one is compressed)"),
	{ .name = "encodings", .type = &cfg_ops_string, .flags = KEY_NAMES | R,
	  .off = offsetof(struct cfg_compress, encodings) +
		 0 * sizeof(_Generic(FIELD(struct cfg_compress, encodings), char *: 1)),
	  .max = 3, .rule = &rule_coding, .def_str = "br,zstd,gzip",
	  .doc = "codings offered, first preferred when the client's q-values tie" },
	K_INT(struct cfg_compress, gzip_level, 1, 9, 4, R, "zlib level of gzip"),
	K_INT(struct cfg_compress, brotli_level, 0, 11, 4, R, "brotli quality of br"),
	K_INT(struct cfg_compress, zstd_level, 1, 19, 3, R, "zstd level"),
	{ .name = NULL },
};
static const struct key_table compress_table = {
	"compress", compress_keys, sizeof(struct cfg_compress), -1, -1
};

static const struct key pool_keys[] = {
	K_STR(struct cfg_pool, name, NULL, &rule_name, KEY_REQUIRED | R,
	      "unique pool name, [A-Za-z0-9._-]{1,63}"),
	K_ENUM(struct cfg_pool, balance, balance_names, BALANCE_WLC, R,
	       "\"wlc\" (weighted least connections) or \"rr\" (weighted round robin)"),
	K_GROUP(struct cfg_pool, health, &health_table, R, "active health checks"),
	K_GROUP(struct cfg_pool, passive, &passive_table, R,
		"passive failure detection on live traffic"),
	K_INT(struct cfg_pool, slow_start_s, 0, 3600, 0, R,
	      "ramp a joining or recovering backend's weight up over this time; 0 = off"),
	K_INT(struct cfg_pool, drain_timeout_s, 0, 86400, 30, R,
	      "a draining backend's connections are cut after this time"),
	K_INT(struct cfg_pool, lease_ttl_s, 0, 86400, 0, R,
	      "backends the API adds without ttl_s are removed unless re-PUT within this time; 0 = no lease"),
	K_INT(struct cfg_pool, connect_timeout_ms, 1, MS_MAX, 3000, R,
	      "time allowed to connect to a backend"),
	K_INT(struct cfg_pool, response_timeout_ms, 1, MS_MAX, 60000, R,
	      "time from the request sent to the first response byte"),
	K_INT(struct cfg_pool, queue_timeout_ms, 1, MS_MAX, 5000, R,
	      "a request queued (all backends full) longer than this gets 503"),
	K_INT(struct cfg_pool, queue_max, 0, 1000000, 1024, R,
	      "queued requests per pool and worker; beyond, 503; 0 = no queue"),
	K_INT(struct cfg_pool, keepalive_max_idle, 0, 10000, 256, R,
	      "idle backend connections kept per backend and worker; 0 = no reuse"),
	K_INT(struct cfg_pool, backend_idle_timeout_ms, 1, MS_MAX, 1500, R,
	      "an idle backend connection is never reused after this (keep it below the backends' keep-alive)"),
	K_INT(struct cfg_pool, retries, 0, 10, 1, R,
	      "retries on another backend for idempotent requests"),
	K_INT(struct cfg_pool, retry_budget_percent, 0, 100, 20, R,
	      "replays (retries of requests a backend already had) in flight may be at most this share of the pool's requests in flight (at least 10); 0 = none"),
	K_BOOL(struct cfg_pool, retry_on_response_timeout, 0, R,
	       "replay an idempotent request on another backend after response_timeout_ms passed (the client waits twice)"),
	K_GROUP(struct cfg_pool, buffering, &buffering_table, R,
		"bodies held between client and backend, so slow clients never hold a backend (http)"),
	K_GROUP(struct cfg_pool, cache, &cache_table, KEY_POINTER | R,
		"the pool's edge cache of GET and HEAD responses (http); absent = off"),
	K_GROUP(struct cfg_pool, compress, &compress_table, KEY_POINTER | R,
		"compress responses for clients that accept br, zstd or gzip (http); absent = off"),
	K_STR(struct cfg_pool, buffer_dir, NULL, &rule_nonempty, R,
	      "existing directory for spill files (O_TMPFILE); unset = state_dir + \"/buffers\""),
	K_ENUM(struct cfg_pool, send_proxy, send_proxy_names, PROXY_SEND_NONE, R,
	       "send a PROXY protocol header to backends: \"none\", \"v1\" or \"v2\""),
	K_INT(struct cfg_pool, resolve_interval_s, 1, 86400, 30, R,
	      "reserved: names are resolved at load and reload only (periodic re-resolution is not built yet)"),
	K_GROUP(struct cfg_pool, discovery, &discovery_table, R,
		"backends found at run time, besides the listed ones"),
	K_BOOL(struct cfg_pool, adaptive_limit, 0, R,
	       "learn each backend's concurrency limit from its response times (max_conns, if set, caps it); http only"),
	K_BOOL(struct cfg_pool, allow_empty, 0, R,
	       "/readyz may say ready while this pool has no backend in rotation"),
	K_LIST(struct cfg_pool, "backends", backends, nbackends, &cfg_backend_table, 0, 10000, R,
	       "the pool's backends; may be empty (added later through the API or by discovery)"),
	{ .name = NULL },
};
const struct key_table cfg_pool_table = {
	"pool", pool_keys, sizeof(struct cfg_pool),
	offsetof(struct cfg_pool, line), offsetof(struct cfg_pool, name)
};

static const struct key cluster_tls_keys[] = {
	K_STR(struct cfg_cluster_tls, ca_file, NULL, &rule_nonempty, 0,
	      "PEM CAs the https:// members' certificates must chain to; unset = the system's"),
	K_STR(struct cfg_cluster_tls, cert_file, NULL, &rule_nonempty, 0,
	      "PEM client certificate shown to the members; unset = none"),
	K_STR(struct cfg_cluster_tls, key_file, NULL, &rule_nonempty, 0,
	      "PEM key of cert_file"),
	{ .name = NULL },
};
static const struct key_table cluster_tls_table = {
	"tls", cluster_tls_keys, sizeof(struct cfg_cluster_tls), -1, -1
};

static const struct key cluster_keys[] = {
	K_STR(struct cfg_cluster, name, NULL, &rule_name, KEY_REQUIRED,
	      "the cluster's name; its state lives under /fulcrum/<name>/ in the store"),
	K_ENUM(struct cfg_cluster, store, cluster_store_names, CLUSTER_STORE_ETCD, 0,
	       "the store replicas converge through: \"etcd\" (v3, its JSON gateway)"),
	{ .name = "endpoints", .type = &cfg_ops_string, .flags = KEY_NAMES | KEY_REQUIRED,
	  .off = offsetof(struct cfg_cluster, endpoints) +
		 0 * sizeof(_Generic(FIELD(struct cfg_cluster, endpoints), char *: 1)),
	  .max = 16, .rule = &rule_store_endpoint,
	  .doc = "the store's members, ( \"http://10.0.0.1:2379\", ... ); calls fail over between them" },
	K_GROUP(struct cfg_cluster, tls, &cluster_tls_table, KEY_POINTER,
		"https:// members: the CA, and a client certificate; absent = the system's CAs, no client certificate"),
	K_INT(struct cfg_cluster, timeout_ms, 100, 60000, 5000, 0,
	      "bound of every store call, failing over included; a write not committed within it gets 503"),
	K_STR(struct cfg_cluster, replica_id, NULL, &rule_name, 0,
	      "this replica's name in GET /v1/cluster (its key /fulcrum/<name>/@replicas/<id>); unset = host name and control address"),
	K_INT(struct cfg_cluster, replica_ttl_s, 2, 60, 5, 0,
	      "lease of the replica's key, renewed every third of it: a replica that dies leaves the list this long after"),
	{ .name = NULL },
};
static const struct key_table cluster_table = {
	"cluster", cluster_keys, sizeof(struct cfg_cluster), -1, -1
};

static const struct key root_keys[] = {
	K_INT(struct config, workers, 0, 256, 0, 0, "event-loop threads; 0 = one per CPU"),
	K_STR(struct config, state_dir, "/var/lib/fulcrum", &rule_nonempty, 0,
	      "directory for config generations and the runtime journal"),
	K_STR(struct config, user, NULL, &rule_nonempty, 0,
	      "drop privileges to this user after binding; unset = stay"),
	K_STR(struct config, group, NULL, &rule_nonempty, 0,
	      "drop privileges to this group after binding; unset = the user's group"),
	K_INT(struct config, max_connections, 1, 10000000, 100000, R,
	      "concurrent client connections over all listeners"),
	K_INT(struct config, shutdown_timeout_s, 0, 3600, 30, R,
	      "on SIGTERM, in-flight work is cut after this time"),
	K_INT(struct config, buffer_memory_budget_bytes, 1048576, INT64_MAX, 268435456, R,
	      "buffered bodies in memory, all pools together; beyond, bodies go straight to disk"),
	K_INT(struct config, buffer_disk_budget_bytes, 65536, INT64_MAX, 1073741824, R,
	      "spill files, all pools together; beyond, a request body that does not fit gets 503 and a response streams at the client's pace"),
	K_GROUP(struct config, log, &log_table, R, "logging"),
	K_GROUP(struct config, control, &control_table, R, "control API"),
	K_LIST(struct config, "listeners", listeners, nlisteners, &cfg_listener_table, 1, 1024,
	       KEY_REQUIRED | R, "where clients connect; at least one"),
	K_LIST(struct config, "pools", pools, npools, &cfg_pool_table, 0, 1024, R,
	       "groups of backends that listeners send traffic to"),
	K_GROUP(struct config, cluster, &cluster_table, KEY_POINTER,
		"cluster mode: the control API writes through a store every replica follows; absent = the local journal alone"),
	{ .name = NULL },
};
const struct key_table cfg_root_table = { "config", root_keys, sizeof(struct config), -1, -1 };

#undef R

const char config_default_text[] =
	"# fulcrum embedded default: a demo listener in front of three local Flask instances.\n"
	"workers = 1;\n"
	"# state_dir: set at start to $XDG_RUNTIME_DIR/fulcrum or /tmp/fulcrum-<uid> (0700)\n"
	"log = { level = \"info\"; format = \"json\"; access = \"stdout\"; };\n"
	"control = { listen = \"127.0.0.1:9000\"; };\n"
	"listeners = (\n"
	"  { name = \"demo\"; bind = \"127.0.0.1:8080\"; mode = \"http\"; pool = \"flask\"; }\n"
	");\n"
	"pools = (\n"
	"  { name = \"flask\"; balance = \"wlc\";\n"
	"    health = { type = \"http\"; path = \"/healthz\"; interval_ms = 2000;\n"
	"               timeout_ms = 1000; rise = 2; fall = 3; };\n"
	"    backends = (\n"
	"      { name = \"web-1\"; address = \"127.0.0.1:8001\"; weight = 4; max_conns = 4; },\n"
	"      { name = \"web-2\"; address = \"127.0.0.1:8002\"; weight = 2; max_conns = 2; },\n"
	"      { name = \"web-3\"; address = \"127.0.0.1:8003\"; weight = 1; max_conns = 1; }\n"
	"    );\n"
	"  }\n"
	");\n";
