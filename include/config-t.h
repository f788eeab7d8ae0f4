/* config-t.h: the types of one parsed, validated configuration. A struct config is
 * built fresh from a file (or the embedded default) and never modified once loaded. */
#ifndef FULCRUM_CONFIG_T_H
#define FULCRUM_CONFIG_T_H

#include <stdint.h>
#include <stddef.h>
#include "addr.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_JSON = 0, LOG_FORMAT_COMBINED };
enum listener_mode { LISTENER_HTTP = 0, LISTENER_TCP };
enum balance_algo { BALANCE_WLC = 0, BALANCE_RR };
enum health_type { HEALTH_HTTP = 0, HEALTH_TCP, HEALTH_NONE };
enum proxy_send { PROXY_SEND_NONE = 0, PROXY_SEND_V1, PROXY_SEND_V2 };
enum admin_state { ADMIN_ACTIVE = 0, ADMIN_DRAINING, ADMIN_MAINT };
enum tls_verify { TLS_VERIFY_NONE = 0, TLS_VERIFY_OPTIONAL, TLS_VERIFY_REQUIRED };
/* Kubernetes discovery: the address family a dual-stack pod is reached by. */
enum k8s_family { K8S_FAMILY_IPV4 = 0, K8S_FAMILY_IPV6, K8S_FAMILY_ANY };

/* What a control API token may do; each includes the ones before it. */
enum token_scope { TOKEN_SCOPE_READ = 0, TOKEN_SCOPE_BACKENDS, TOKEN_SCOPE_ADMIN };

struct cfg_log {
	enum log_level level;        /* log.level: "debug" | "info" | "warn" | "error" */
	char *access;                /* log.access: "stdout" | "stderr" | "off" | a file path */
	enum log_format format;      /* log.format: "json" | "combined" */
	uint32_t access_sample;      /* log.access_sample: 1 line of every N (5xx and failures always) */
};

struct cfg_tls;

/* control.tokens[]: the scope of the token in the file of that name in token_dir. */
struct cfg_token {
	char *name;                  /* a file NAME in control.token_dir */
	enum token_scope scope;      /* "read" | "backends" | "admin" */
	char *pools;                 /* backends scope: "a,b", the pools it may change; NULL = all */
	int line;                    /* line in the config file, for errors */
};

struct cfg_control {
	char *listen;                /* control.listen: "127.0.0.1:9000" or "unix:/path"; NULL = none */
	char *token_file;            /* control.token_file: one token, scope admin; NULL = none */
	char *token_dir;             /* control.token_dir: one token per regular file; NULL = none */
	struct cfg_token *tokens;    /* control.tokens: scopes of token_dir's files */
	size_t ntokens;
	uint32_t token_overlap_s;    /* a changed token file's old value works this long */
	uint32_t generations_keep;   /* applied configs kept in state_dir for rollback, default 100 */
	uint32_t generations_keep_days; /* and none older than this; 0 = no age limit (default) */
	struct cfg_tls *tls;         /* control.tls: TLS (and client certificates); NULL = plain */
	int metrics_public;          /* control.metrics_public: GET /metrics without the token */
};

struct cfg_tls_cert {
	char *cert;                  /* PEM certificate chain file */
	char *key;                   /* PEM private key file */
	int line;                    /* line in the config file, for errors */
};

struct cfg_tls {
	struct cfg_tls_cert *certs;  /* tls.certificates, at least one */
	size_t ncerts;
	char *min_version;           /* "TLSv1.2" (default) | "TLSv1.3" */
	char *ciphers;               /* TLS 1.2 cipher list, NULL = ECDHE + AEAD only (tls/tls_ctx.c) */
	char *ciphersuites;          /* TLS 1.3 suites, NULL = AES-128-GCM, AES-256-GCM, ChaCha20 */
	char *alpn;                  /* comma-separated, NULL = "http/1.1" on http listeners */
	char *client_ca;             /* PEM CA bundle that client certificates must chain to */
	enum tls_verify verify_client; /* "none" (default) | "optional" | "required" */
	uint32_t handshake_timeout_ms; /* the handshake must complete within (default 10000) */
	uint32_t session_timeout_s;  /* session cache and ticket lifetime; ticket keys rotate this often */
	int session_tickets;         /* issue RFC 5077 / TLS 1.3 tickets (default true) */
	char *ticket_key_file;       /* shared ticket keys (several instances); NULL = generated, rotated */
};

/* One edit of a route's request_headers or response_headers: exactly one of set, add,
 * remove (proto/http_edits.c applies them). */
struct cfg_header_edit {
	char *set;                   /* "Name: value": replaces every field of that name */
	char *add;                   /* "Name: value": added beside any of that name */
	char *remove;                /* "Name": every field of that name dropped */
	int line;
};

/* A page that replaces fulcrum's JSON body for the statuses it answers itself. */
struct cfg_error_page {
	char *status;                /* "503", "502-504", "400-499" */
	char *file;                  /* read when the generation is built; at most 8 KiB */
	char *content_type;          /* default "text/html; charset=utf-8" */
	int line;
};

/* Maintenance set through the control API (POST /v1/maintenance), laid over a config
 * by ctl_merge from the journal: never a config key. While on, requests that would go to
 * the pool, or that take the route, get 503 with Retry-After (lb/http_maint.c). */
struct cfg_maint {
	int on;
	uint32_t retry_after_s;      /* 0 = no Retry-After header */
};

/* One pool of a route's weighted split (a canary: 95 to "stable", 5 to "canary"). */
struct cfg_split {
	char *pool;
	uint32_t weight;             /* 1..1000000 */
	int line;
};

/* A route's redirect answer: the request's URL with the parts set here replaced. */
struct cfg_route_redirect {
	uint32_t status;             /* 301, 302, 303, 307 or 308; default 301 */
	char *scheme;                /* "http" | "https"; NULL = the request's */
	char *host;                  /* NULL = the request's Host (its port dropped when port is set) */
	uint32_t port;               /* 0 = none added (the default port of the scheme) */
};

/* A route's fixed answer (maintenance, /robots.txt). */
/* A route's conditions as one group, the form of DESIGN.md (`match = { path_prefix =
 * "/static/"; }`): the loader moves each into the route's own field of that name
 * (core/config.c), where they may also be written directly; the header condition is a
 * group { name; value; } here, "Name: value" there. */
struct cfg_match_header {
	char *name;                  /* required */
	char *value;                 /* NULL = present with any value */
};

struct cfg_route_match {
	char *scheme;
	char *host;
	char *path;
	char *path_prefix;
	char *method;
	struct cfg_match_header *header;
	char *cookie;
	char *query;
	char *path_regex;
};

struct cfg_route_respond {
	uint32_t status;             /* 200..599, default 200 */
	char *body;                  /* default "" */
	char *body_file;             /* or the body read from this file (core/error_pages.c); NULL = body */
	char *content_type;          /* default "text/plain; charset=utf-8" */
};

/* A route's static files (lb/static_files.c): GET and HEAD answered from a directory. */
struct cfg_route_static {
	char *root;                  /* absolute path of a directory (required) */
	char *strip_prefix;          /* removed from the request path first; NULL = none */
	char *index;                 /* file served for a directory; NULL = none (404) */
	uint32_t max_age_s;          /* Cache-Control: max-age; 0 = no Cache-Control */
};

/* One rule of a listener's routes (core/route.c): every condition set must match (an
 * unset one matches anything); the first route that matches acts. */
struct cfg_route {
	char *name;
	char *host;                  /* "api.example.com" or "*.example.com"; any case, port ignored */
	char *path;                  /* the exact path (before any '?') */
	char *path_prefix;           /* the path starts with this */
	char *method;                /* exactly this method */
	char *header;                /* "Name" (present) or "Name: value" (exact value; name any case) */
	char *cookie;                /* "name" (present) or "name=value": a cookie of the request */
	char *query;                 /* "name" (present) or "name=value": a query parameter, as sent */
	char *path_regex;            /* PCRE2 pattern on the path (compiled per generation) */
	char *scheme;                /* "http" | "https": how the client reached this listener */
	struct cfg_route_match *match; /* the same conditions as a group; moved into these at load */
	char *pool;                  /* proxy to this pool ... */
	struct cfg_route_redirect *redirect;  /* ... or redirect ... */
	struct cfg_route_respond *respond;    /* ... or answer this ... */
	struct cfg_route_static *static_files; /* ... or serve files ... */
	struct cfg_split *split;     /* ... or spread over these pools by weight (exactly one of the five) */
	size_t nsplit;
	char *sticky_cookie;         /* split: this cookie names the client's pool; set when drawn */
	/* what a pool route changes on the way (proto/http_edits.c) */
	char *strip_prefix;          /* removed from the path sent to the backend ("/api") */
	struct cfg_header_edit *request_headers;
	size_t nrequest_headers;
	struct cfg_header_edit *response_headers;  /* also on answers made here */
	size_t nresponse_headers;
	/* limits of its own (0 = the pool's, or for body_max_bytes the listener's) */
	uint32_t queue_timeout_ms;
	uint32_t response_timeout_ms;
	uint64_t body_max_bytes;
	struct cfg_error_page *error_pages;  /* before the listener's for this route's answers */
	size_t nerror_pages;
	struct cfg_maint maint;      /* runtime, not a key (above) */
	/* its share of its pool's concurrency (core/route_share.c) */
	uint32_t max_share;          /* percent of the pool's slots its requests may hold; 0 = no share */
	int adaptive_limit;          /* learn its limit from its own latency (under max_share) */
	int line;
};

struct cfg_listener {
	char *name;
	struct addr bind;
	enum listener_mode mode;     /* "http" | "tcp" */
	char *pool;                  /* name of a pool in the same config: the default route */
	struct cfg_route *routes;    /* http listeners: tried in order before the default */
	size_t nroutes;
	uint32_t max_connections;    /* concurrent client connections, default 10000 */
	uint32_t max_conns_per_client; /* per client address (IPv6: /64), default 256, 0 = unlimited */
	int accept_proxy;            /* expect a PROXY v1/v2 header from trusted sources */
	struct addr_prefix *proxy_trusted;  /* proxy_trusted = ("127.0.0.1/8", ...) */
	size_t nproxy_trusted;
	uint32_t head_timeout_ms;    /* whole request head must arrive within (default 10000) */
	uint32_t idle_timeout_ms;    /* keep-alive idle (http) / inactivity (tcp), default 60000 */
	uint32_t head_max_bytes;     /* default 32768, 431 above */
	uint32_t header_max_count;   /* default 100, 431 above */
	uint64_t body_max_bytes;     /* 0 = unlimited; request body above -> 413 */
	int trust_forwarded;         /* extend the client's X-Forwarded-For / Forwarded (default off) */
	int http2;                   /* TLS: ALPN h2 (lb/h2_conn.c) */
	int h2c;                     /* plain: HTTP/2 with prior knowledge (lb/h2_conn.c) */
	uint32_t h2_max_concurrent_streams;
	uint32_t h2_max_header_list_bytes;
	uint32_t h2_window_bytes;
	uint32_t h2_max_resets;      /* client stream resets per 10 s per connection */
	uint32_t h2_header_table_bytes; /* HPACK: the client's dynamic table for its requests */
	struct cfg_error_page *error_pages;  /* http listeners: bodies of fulcrum's own answers */
	size_t nerror_pages;
	uint32_t hsts_max_age_s;     /* TLS listeners: Strict-Transport-Security max-age; 0 = none */
	int hsts_include_subdomains; /* ... with includeSubDomains */
	int hsts_preload;            /* ... with preload */
	struct cfg_tls *tls;         /* NULL = plain */
	int line;
};

/* A set of HTTP status codes ("200-399,404"), parsed once at load so the data path
 * tests membership with one bit lookup. Bit s is status s (0..639). */
struct status_set {
	uint64_t bits[10];
};

struct cfg_health {
	enum health_type type;       /* "http" | "tcp" | "none" */
	char *path;                  /* default "/healthz" */
	char *host;                  /* Host header of http checks; NULL = the backend's address as written */
	int https;                   /* http checks over TLS (certificate not verified) */
	char *expect;                /* statuses that pass, default "200-399" */
	char *drain_status;          /* statuses that mean "draining"; NULL = none */
	char *drain_header;          /* header that must come with drain_status; NULL = status alone */
	char *identity_header;       /* header whose value must be the backend's identity; NULL = off */
	uint32_t interval_ms;        /* default 2000 */
	uint32_t timeout_ms;         /* default 1000 */
	uint32_t rise;               /* default 2 */
	uint32_t fall;               /* default 3 */
	uint32_t jitter_percent;     /* each interval drawn within +-this share, default 10 */
	uint32_t max_down_percent;   /* most of the pool health may hold out of rotation, default 50 */
	struct status_set expect_set;  /* parsed expect (derived at load, not a key) */
	struct status_set drain_set;   /* parsed drain_status, empty when unset */
};

/* Passive failure detection in the data path (pools[].passive). */
struct cfg_passive {
	uint32_t connect_failures;   /* connect failures in a row that eject, default 1; 0 = off */
	uint32_t errors;             /* failed exchanges in a row (any kind) that eject, default 5; 0 = off */
	int eject_on_5xx;            /* error_status responses count as failed exchanges, default 0 */
	char *error_status;          /* the statuses eject_on_5xx counts, default "500-599" */
	uint32_t eject_ms;           /* hold of a first ejection, default 10000; doubles on repeats */
	uint32_t eject_max_ms;       /* longest hold, default 300000 */
	struct status_set error_set;   /* parsed error_status (derived at load, not a key) */
};

/* Kubernetes EndpointSlice discovery of one pool (pools[].discovery.kubernetes). */
struct cfg_kubernetes {
	char *namespace;             /* unset = <sa_dir>/namespace, else "default" */
	char *service;               /* the Service whose EndpointSlices are followed */
	uint32_t port;               /* endpoint port number; 0 = by port_name, or the slice's only port */
	char *port_name;             /* the slice port of this name; NULL = by number */
	char *api_server;            /* "https://host:port"; NULL = KUBERNETES_SERVICE_HOST/PORT */
	char *sa_dir;                /* service-account directory: token, ca.crt, namespace */
	uint32_t weight;             /* of every discovered backend, default 1 */
	uint32_t max_conns;          /* of every discovered backend, default 0 = unlimited */
	uint32_t batch_ms;           /* events within this time make one generation, default 100 */
	uint32_t backoff_max_ms;     /* longest wait between attempts to reach the API server */
	enum k8s_family address_family;  /* a pod with addresses of both families: which one */
	uint32_t watch_idle_timeout_s;   /* a watch silent this long is dead: list again */
};

struct cfg_discovery {
	struct cfg_kubernetes *kubernetes;  /* NULL = no Kubernetes discovery */
};

struct cfg_backend {
	char *name;                  /* [A-Za-z0-9._-]{1,63} */
	struct addr address;
	uint32_t weight;             /* 0..1000, default 1; 0 = takes no new traffic */
	uint32_t max_conns;          /* 0 = unlimited */
	enum admin_state state;      /* "active" (default) | "draining" | "maint" */
	char *identity;              /* value health.identity_header must carry; NULL = the name */
	double drain_until;          /* not a key: draining by a drain call, its deadline (wall
	                              * clock, the call's timeout_s), the same instant on every
	                              * replica; 0 = drain_timeout_s from when it began here */
	int line;
};

/* pools[].buffering: bodies held between the client and the backend (issue 24). */
struct cfg_buffering {
	int request;                 /* a request body is read whole before it takes a backend, default 1 */
	int response;                /* a response is read off the backend at once, default 1 */
	uint64_t memory_bytes;       /* one exchange's body in memory before it spills, default 65536 */
};

/* pools[].cache: the pool's edge cache (issue 19); present = on. */
struct cfg_cache {
	uint64_t memory_bytes;       /* all stored responses of the pool, default 256 MiB */
	uint64_t max_object_bytes;   /* one response; larger ones are not stored, default 8 MiB */
	uint32_t default_ttl_s;      /* freshness of a storable response without its own, default 0 */
	uint32_t stale_while_revalidate_s; /* reserved: not served stale yet */
	uint32_t stale_if_error_s;   /* reserved: not served stale yet */
	char *x_cache_header;        /* a response header saying hit or miss; NULL = none */
};

/* Compression of responses on the way out (lb/http_compress.c, proto/compress.c). */
struct cfg_compress {
	char *types;                 /* media types compressed, joined "text/html,application/json" */
	uint64_t min_bytes;          /* a Content-Length below this is sent as it is, default 1024 */
	char *encodings;             /* codings in the pool's preference, joined "br,zstd,gzip" */
	uint32_t gzip_level;         /* zlib 1..9, default 4 */
	uint32_t brotli_level;       /* brotli quality 0..11, default 4 */
	uint32_t zstd_level;         /* zstd 1..19, default 3 */
};

struct cfg_pool {
	char *name;
	enum balance_algo balance;   /* "wlc" (default) | "rr" */
	struct cfg_health health;
	struct cfg_passive passive;
	uint32_t slow_start_s;       /* default 0 */
	uint32_t drain_timeout_s;    /* default 30 */
	uint32_t lease_ttl_s;        /* lease of backends the API adds without ttl_s; 0 = none */
	uint32_t connect_timeout_ms; /* default 3000 */
	uint32_t response_timeout_ms;/* time to the first response byte, default 60000 */
	uint32_t queue_timeout_ms;   /* default 5000; queued longer -> 503 */
	uint32_t queue_max;          /* queued requests per pool and worker, default 1024 */
	struct cfg_maint maint;      /* runtime, not a key (struct cfg_maint) */
	uint32_t keepalive_max_idle; /* idle backend connections kept per backend and worker, default 256 */
	uint32_t backend_idle_timeout_ms; /* idle backend connections are not reused after this, default 1500 */
	uint32_t retries;            /* retries on another backend for idempotent requests, default 1 */
	uint32_t retry_budget_percent; /* replays may add at most this share of requests, default 20 */
	int retry_on_response_timeout; /* replay an idempotent request after a response timeout, default 0 */
	struct cfg_buffering buffering;
	struct cfg_cache *cache;     /* NULL = no cache */
	struct cfg_compress *compress; /* NULL = responses go as the backend sent them */
	char *buffer_dir;            /* spill files; NULL = state_dir/buffers */
	enum proxy_send send_proxy;  /* "none" (default) | "v1" | "v2" */
	uint32_t resolve_interval_s; /* re-resolve named backends, default 30 */
	struct cfg_discovery discovery;  /* backends found at run time (besides backends) */
	int adaptive_limit;          /* learn each backend's concurrency limit, default 0 */
	int allow_empty;             /* ready (/readyz) without a backend in rotation, default 0 */
	struct cfg_backend *backends;
	size_t nbackends;
	int line;
};

/* The TLS of a cluster's store endpoints (cluster.tls). */
struct cfg_cluster_tls {
	char *ca_file;               /* PEM CAs the members' certificates chain to; NULL = the system's */
	char *cert_file;             /* client certificate; NULL = none */
	char *key_file;              /* its key */
};

enum cluster_store_kind { CLUSTER_STORE_ETCD = 0 };

/* Cluster mode (cluster = { ... }): the control API writes through a store that every
 * replica watches (control/cluster.c). Restart-only. */
struct cfg_cluster {
	char *name;                  /* the cluster's name: its keys live under /fulcrum/<name>/ */
	enum cluster_store_kind store; /* "etcd" */
	char *endpoints;             /* "http://h:p,https://h:p" (a list kept as "a,b") */
	struct cfg_cluster_tls *tls; /* NULL = no TLS settings */
	uint32_t timeout_ms;         /* bound of every store call (default 5000) */
	char *replica_id;            /* this replica's key under <prefix>@replicas/; NULL = host
				      * name and control address */
	uint32_t replica_ttl_s;      /* lease of the replica's key (default 5) */
};

struct config {
	char *source;                /* file path, or "(embedded default)" */
	uint32_t workers;            /* 0 = one per CPU */
	char *state_dir;             /* default "/var/lib/fulcrum" */
	char *user;                  /* drop privileges to this user after binding; NULL = stay */
	char *group;
	uint32_t max_connections;    /* all listeners together, default 100000 */
	uint32_t shutdown_timeout_s; /* graceful stop deadline, default 30 */
	uint64_t buffer_memory_budget_bytes; /* all buffered bodies in memory, default 256 MiB */
	uint64_t buffer_disk_budget_bytes;   /* all spill files, default 1 GiB */
	struct cfg_log log;
	struct cfg_control control;
	struct cfg_listener *listeners;
	size_t nlisteners;
	struct cfg_pool *pools;
	size_t npools;
	struct cfg_cluster *cluster; /* NULL = no cluster: the local journal alone */
};

/* One error found while loading; a load reports all it finds. */
struct config_error {
	char *file;
	int line;                    /* 0 when not tied to a line */
	char *key;                   /* dotted path, e.g. "pools.[0].backends.[1].address" or "pools.flask.backends.web-1.address" */
	char *message;
};

struct config_errors {
	struct config_error *items;
	size_t count;
};

#endif
