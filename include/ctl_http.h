/* ctl_http.h: the control API's HTTP/1.1 side: requests as handlers see them, replies
 * (whole or streamed), pending answers, the route table and the bearer token check. */
#ifndef FULCRUM_CTL_HTTP_H
#define FULCRUM_CTL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "config-t.h"
#include "http.h"

#define CTL_HEAD_MAX 16384           /* request head; larger gets 431 */
#define CTL_HEADERS_MAX 64
#define CTL_BODY_MAX 65536           /* request body; larger gets 413 */
#define CTL_CONN_MAX 128             /* concurrent control connections, waits not counted */
#define CTL_UNTRUSTED_MAX 32         /* of which without a complete authenticated request */
#define CTL_CONN_HARD_MAX 4096       /* all connections, long polls included (descriptors) */
#define CTL_TOKEN_NAME_MAX 64        /* a token's name: its file's name in token_dir */
#define CTL_SEGMENT_MAX 256          /* a path segment handed to a handler */

struct ctl_conn;                     /* one client connection (control/server.c) */

/* One request, copied out of the connection's buffer. */
struct ctl_request {
	enum http_method method;
	char method_text[16];
	char path[1024];                 /* target up to '?' */
	char query[1024];                /* after '?', "" when none */
	char *body;                      /* NUL-terminated copy, body_len bytes */
	size_t body_len;
	int stream_ok;                   /* Accept: application/x-ndjson over HTTP/1.1 */
	char peer[128];                  /* "127.0.0.1:5555" or "unix", for logs */
	char token[CTL_TOKEN_NAME_MAX];  /* the token that made it, "" = none ("-": none needed) */
};

enum ctl_route_id {
	CTL_R_NONE = 0,
	CTL_R_PAGE,                      /* GET /: the status page (control/page.c) */
	CTL_R_HEALTHZ,
	CTL_R_READYZ,
	CTL_R_METRICS,
	CTL_R_STATUS,
	CTL_R_BACKENDS,                  /* GET /v1/pools/{pool}/backends */
	CTL_R_BACKEND,                   /* GET PUT DELETE /v1/pools/{pool}/backends/{name} */
	CTL_R_DRAIN,                     /* POST .../{name}/drain */
	CTL_R_RELOAD,
	CTL_R_GENERATIONS,
	CTL_R_GENERATION,                /* GET /v1/config/generations/{gen} */
	CTL_R_DIFF,                      /* GET /v1/config/diff?from=&to= */
	CTL_R_ROLLBACK,
	CTL_R_STATS,                     /* GET /v1/stats: counters for the status page */
	CTL_R_MAINTENANCE,               /* GET POST /v1/maintenance (control/maint.c) */
	CTL_R_CACHE_PURGE,               /* POST /v1/pools/{pool}/cache/purge (control/cache_purge.c) */
	CTL_R_CLUSTER,                   /* GET /v1/cluster (control/cluster_replicas.c) */
	CTL_R_COUNT
};

struct ctl_route_match {
	enum ctl_route_id id;
	int status;                      /* 0 matched, 404 no such path, 405 wrong method */
	char allow[48];                  /* methods of the path, for 405's Allow */
	int public;                      /* answered without a token */
	char pool[CTL_SEGMENT_MAX];      /* raw path segments; handlers validate them */
	char name[CTL_SEGMENT_MAX];
	char gen[CTL_SEGMENT_MAX];
};

/* Matches method and path (without query) against the route table (control/routes.c). */
void ctl_route(const char *method, const char *path, struct ctl_route_match *m);

/* Looks key up in a query string ("a=1&b=x"), percent-decoding the value into out.
 * Returns 1 found, 0 absent, -1 when the value is malformed or does not fit. */
int ctl_query_get(const char *query, const char *key, char *out, size_t outlen);

/* ---- Replies (control/reply.c). Each request gets exactly one reply: a whole one,
 * or a stream started, fed and ended. ---- */

/* Sends status with body (taken over; NULL sends {}), adding headers (may be NULL:
 * "Name: value\r\n" lines). */
void ctl_reply_json(struct ctl_conn *c, int status, cJSON *body);
void ctl_reply_json_hdr(struct ctl_conn *c, int status, const char *headers, cJSON *body);
/* Sends status with len bytes of body (copied) as ctype, adding headers (may be NULL);
 * a Cache-Control among them replaces the default no-store. */
void ctl_reply_body_hdr(struct ctl_conn *c, int status, const char *headers, const char *ctype,
			const void *body, size_t len);
/* Adds "error": error and "detail": the formatted text to o, or to a new object when o
 * is NULL: the shape of every failed call's answer. Returns o (NULL: out of memory). */
cJSON *ctl_error_json(cJSON *o, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* {"error": error, "detail": formatted} with status. */
void ctl_reply_error(struct ctl_conn *c, int status, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sends status with len bytes of body (copied) as content type ctype. */
void ctl_reply_body(struct ctl_conn *c, int status, const char *ctype, const char *body,
		    size_t len);
/* A chunked application/x-ndjson answer: one JSON object per line as it happens. */
void ctl_stream_start(struct ctl_conn *c, int status);
void ctl_stream_json(struct ctl_conn *c, cJSON *line);   /* takes line */
void ctl_stream_end(struct ctl_conn *c);

/* The handler answers later (a wait). cancel(arg) runs if the connection ends first
 * (client gone, server stopping); after it, c must not be used. A reply ends the wait. */
void ctl_conn_defer(struct ctl_conn *c, void (*cancel)(void *arg), void *arg);

/* The request being answered on c. */
const struct ctl_request *ctl_conn_request(const struct ctl_conn *c);

/* ---- The listener (control/server.c) ---- */

/* Opens the listening socket for control.listen ("host:port" or "unix:/path"), before
 * privileges are dropped. 0, or -1 with err. */
int ctl_server_open(const char *listen, char *err, size_t errlen);
/* Starts accepting on loop. */
void ctl_server_start(struct ev_loop *loop);
/* Closes the listener and every connection (pending waits are cancelled). */
void ctl_server_close(void);
/* Where it listens ("127.0.0.1:9000", "unix:/run/x.sock"), or NULL. */
const char *ctl_server_address(void);
/* Serves the control API over TLS with cfg's control.tls (call after ctl_server_open):
 * every connection then starts with a handshake, refused without a valid client
 * certificate when verify_client = "required". 0, or -1 with a message in err. */
struct config;
int ctl_server_tls(const struct config *cfg, char *err, size_t errlen);
/* "TLS, client certificate required" and the like, for the start-up line; "" = plain. */
const char *ctl_server_tls_note(void);

/* Implemented by the API (control/api.c): answers one authorised, routed request. */
void ctl_dispatch(struct ctl_conn *c, const struct ctl_request *req,
		  const struct ctl_route_match *m);

/* ---- The bearer tokens (control/auth.c) ---- */

/* Who made a call: the token that matched. */
struct ctl_principal {
	char name[CTL_TOKEN_NAME_MAX];   /* "token_file", a token_dir file name, "-" = no token needed */
	enum token_scope scope;
	const char *pools;               /* backends scope: "a,b"; NULL = all. Valid until the
					  * next ctl_auth_* call */
};

/* Reads the tokens of cfg's control group (token_file: scope admin; each regular file of
 * token_dir, scope from control.tokens, else read), checking each file is the running
 * user's (cfg->user after the privilege drop) or root's and writable by nobody else.
 * They become the ones required from now on (neither set: none required); a token that
 * was rotating keeps its old value for the rest of its overlap. 0, or -1 with err (the
 * previous tokens stay). now: the loop's clock. */
int ctl_auth_load(const struct config *cfg, double now, char *err, size_t errlen);
int ctl_auth_required(void);
/* Re-reads the token files and token_dir that changed since they were read: a changed
 * value replaces the old one, which works token_overlap_s longer. Cheap (stat calls). */
void ctl_auth_refresh(double now);
/* 1 with *who filled when the value of an Authorization header ("Bearer <token>")
 * carries a current token (or a rotated one within its overlap), or when no token is
 * required; 0 otherwise. The time taken does not depend on which token matched. */
int ctl_auth_identify(const char *value, size_t len, double now, struct ctl_principal *who);
void ctl_auth_clear(void);

/* ---- Policy (control/policy.c): pure functions ---- */

/* 1 when who's scope allows method on the route m (read: GET; backends: also PUT,
 * DELETE and drain of backends in its pools; admin: everything); else 0 with detail. */
int ctl_scope_check(const struct ctl_principal *who, enum http_method method,
		    const struct ctl_route_match *m, char *detail, size_t len);
const char *ctl_scope_name(enum token_scope s);

/* What the cross-site rules look at in a request. */
struct ctl_site {
	enum http_method method;
	size_t body_len;
	const char *ctype;               /* Content-Type, NULL = absent */
	const char *origin;              /* Origin, NULL = absent */
	const char *host;                /* Host, NULL = absent */
	const char *listen;              /* control.listen as configured */
	int tls;                         /* the listener speaks TLS */
	int token_required;
};

/* A change (any method but GET and HEAD) must come with Content-Type: application/json
 * when it has a body or any Content-Type (else 415), and an Origin, when sent, must be the
 * listener's own (else 403); without a token, every call's Host must be an IP literal,
 * localhost or control.listen's host (else 403: DNS rebinding). 0 when allowed, else the
 * status with error and detail. */
int ctl_cross_site_check(const struct ctl_site *s, char *error, size_t elen, char *detail,
			 size_t dlen);

#endif
