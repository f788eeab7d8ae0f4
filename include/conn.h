/* conn.h: a client connection and its backend (upstream) connection, the explicit
 * state machine that drives both, and why a connection or request ended. */
#ifndef FULCRUM_CONN_H
#define FULCRUM_CONN_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "balance.h"
#include "body.h"
#include "buffer.h"
#include "generation.h"
#include "http.h"
#include "http_rewrite.h"
#include "tls-t.h"

struct worker;
struct client;
struct upstream;
struct producer;
struct mem_pipe;
struct h2_conn;

/* An answer made here, whole, from memory: an error today (503, 504, 400 ...). The
 * protocol writes it in its own framing. */
struct local_answer {
	int status;
	const char *content_type;
	const char *body;
	size_t body_len;
	unsigned retry_after_s;          /* a Retry-After header with this value; 0 = none */
	const char *location;            /* a Location header (a route's redirect); NULL = none */
	unsigned keep_alive:1;           /* the request was its head alone, consumed: the
	                                  * connection may carry the next one (a route's
	                                  * redirect or fixed answer) */
};

/* Seconds a client is told to wait (Retry-After) before trying again after a 503 fulcrum
 * answers itself (no backend, queue full or timed out, drain deadline): one second, the
 * time health checks and the queue need to change their answer. */
#define RETRY_AFTER_S 1

/* What the connection core asks of the protocol a listener speaks: the core owns both
 * sockets' callbacks (its driver, lb/client.c, the only caller of these), event masks
 * (lb/conn_arm.c), timers, close (lb/conn_close.c) and the choice and retry of a
 * backend (lb/backend_producer.c); the protocol owns the bytes, and calls only down,
 * into those files. The calls of one request go one way: driver, protocol, producer,
 * backend (docs/internals/layers.md). HTTP/1.1 (lb/http_proxy.c) and the tunnel
 * (lb/tunnel.c: tcp listeners, and what an HTTP/1.1 connection becomes after 101) are
 * the two byte protocols, and HTTP/2 (lb/h2_conn.c) a third whose streams are internal
 * connections speaking HTTP/1.1. Each call may close c; the core re-arms c after each. */
struct conn_proto {
	const char *name;
	/* the connection is ready for its protocol: after accept, the PROXY header and the
	 * TLS handshake */
	void (*start)(struct client *c);
	/* the client socket is readable and/or writable (revents: EV_READ | EV_WRITE, as the
	 * protocol's bytes go: TLS already accounted for) */
	void (*client_event)(struct client *c, int revents);
	/* the backend connection u of c is readable and/or writable; u may no longer be c's
	 * (a retry replaced it within this callback) */
	void (*upstream_event)(struct client *c, struct upstream *u, int revents);
	/* the exchange's backend connection is connected (new) or was taken from the idle
	 * pool: the request may go */
	void (*upstream_ready)(struct client *c);
	/* sends an answer fulcrum made itself (an error) as the response of the current
	 * exchange, whose backend side is already let go; NULL when the protocol has no way
	 * to say anything in-band (the tunnel: the connection is closed instead) */
	void (*send_answer)(struct client *c, const struct local_answer *a);
	/* optional: a graceful stop began (shutdown): finish what is in flight, take nothing
	 * new, close when done (HTTP/2: GOAWAY); NULL = the core's keep-alive off */
	void (*stop)(struct client *c);
	/* optional: the connection closes: let go of what the protocol holds for it (HTTP/2:
	 * the session and its streams) */
	void (*close)(struct client *c);
};

struct http_edit_vars;

extern const struct conn_proto http1_proto;   /* lb/http_proxy.c */
extern const struct conn_proto tunnel_proto;  /* lb/tunnel.c */
/* A TLS http listener with http2: HTTP/2 or HTTP/1.1, as ALPN chose (lb/h2_conn.c) */
extern const struct conn_proto alpn_proto;
/* A plain http listener with h2c: HTTP/2 when the client starts with its preface (prior
 * knowledge), else HTTP/1.1 (lb/h2_conn.c) */
extern const struct conn_proto preface_proto;

/* Applies the listener's routes to a parsed request head (lb/http_route.c): 0 when the
 * request goes on to a pool (the route's in c->ex->pool, or the listener's), -1 when
 * it was answered here (a redirect, a fixed answer, or 404 for no route). */
int http_route_request(struct client *c, const char *base, const struct http_head *h);
/* The values of the variables a route's response edit may use, for c's exchange
 * (lb/http_route.c): its response head, or fulcrum's own answer. */
void http_route_edit_vars(struct client *c, struct http_edit_vars *v);

enum client_state {
	CS_PROXY_HEADER = 0,  /* reading a PROXY protocol header (accept_proxy) */
	CS_TLS_HANDSHAKE,     /* TLS listener: handshake in progress (handshake_timeout_ms) */
	CS_READING_HEAD,      /* waiting for / reading a request head (keep-alive idle too) */
	CS_READING_BODY,      /* request buffering: reading the body whole before a backend is
	                       * chosen (idle_timeout_ms between reads, then 408) */
	CS_QUEUED,            /* every eligible backend is at max_conns: waiting in the pool queue */
	CS_CONNECTING,        /* backend chosen, connection being established */
	CS_STREAMING,         /* request and response flowing (http) */
	CS_TUNNEL,            /* opaque bytes both ways: tcp mode, or after 101 Switching Protocols */
	CS_CLOSING,           /* flushing a last response, then close */
	CS_H2,                /* an HTTP/2 connection (lb/h2_conn.c): frames both ways; each
	                       * stream is an internal connection of its own */
	CS_LINGERING,         /* last response sent and write side shut: what the client still
	                       * sends is read and dropped until it closes (or LINGER_S), so
	                       * it reads our answer instead of a reset */
	CS_CLOSED             /* closed; freed once the current callback returns */
};

/* How long a lingering connection (CS_LINGERING) may stay, in seconds, counted from the
 * moment its last response was out (nginx's lingering_timeout is 5 s; a client that reads
 * our early answer stops sending within a round trip). */
#define LINGER_S 2.0

/* Why a request or connection ended: printed in its access-log line. */
enum termination {
	TERM_NONE = 0,
	TERM_DONE,             /* completed normally */
	TERM_CLIENT_CLOSED,    /* client closed or reset */
	TERM_CLIENT_IDLE,      /* keep-alive / tcp idle timeout */
	TERM_HEAD_TIMEOUT,     /* request head too slow (408) */
	TERM_BAD_REQUEST,      /* malformed request (400, 431, 413, 501, 505) */
	TERM_NO_BACKEND,       /* no eligible backend (503) */
	TERM_QUEUE_FULL,       /* wait queue full (503) */
	TERM_QUEUE_TIMEOUT,    /* waited queue_timeout_ms (503) */
	TERM_CONNECT_FAILED,   /* backend refused / unreachable (502) */
	TERM_CONNECT_TIMEOUT,  /* (504) */
	TERM_RESPONSE_TIMEOUT, /* no response within response_timeout_ms (504) */
	TERM_BACKEND_CLOSED,   /* backend closed or reset before/during the response */
	TERM_BAD_RESPONSE,     /* malformed response head (502) */
	TERM_STREAM_IDLE,      /* no bytes either way during a body for idle_timeout_ms */
	TERM_SHUTDOWN,         /* fulcrum stopping */
	TERM_LIMIT,            /* connection limits reached */
	TERM_INTERNAL,         /* out of memory or similar */
	TERM_TLS_TIMEOUT,      /* TLS handshake not complete within handshake_timeout_ms */
	TERM_TLS_FAILED,       /* TLS handshake failed (the error log says why) */
	TERM_DRAIN_DEADLINE,   /* the backend's drain deadline passed with this still on it (503) */
	TERM_CLIENT_BODY_TIMEOUT, /* the client stopped sending its body; no response yet (408) */
	TERM_CLIENT_ABORTED_QUEUED, /* the client left while its request waited in the queue */
	TERM_BUFFER_FULL,      /* a request body did not fit in the buffer budgets (503) */
	TERM_NO_ROUTE,         /* no route matched and the listener has no pool (404) */
	TERM_MAINTENANCE,      /* its pool or route is in maintenance (503, lb/http_maint.c) */
	TERM__COUNT
};

const char *termination_name(enum termination t);

/* A connection to a backend; attached to one client at a time, idle in between. */
struct upstream {
	struct worker *w;
	struct backend *backend;         /* reference held */
	int fd;
	ev_io io;
	int events;                      /* EV_READ|EV_WRITE currently armed in libev */
	int want;                        /* what the state wants; events may keep READ beyond it */
	struct buf *in;                  /* bytes from the backend */
	struct buf *out;                 /* request head (and PROXY header) to the backend */
	struct client *client;           /* NULL while idle */
	struct upstream *idle_next, *idle_prev;  /* worker idle list links */
	struct upstream *dead_next;
	/* taken from the idle pool for client, whose protocol is not yet told: on its
	 * worker's ready list (client_run_ready) */
	struct upstream *ready_next;
	double idle_since;
	unsigned requests;               /* requests carried, >1 means reused */
	uint64_t sent;                   /* bytes written on this connection */
	uint64_t sent_before;            /* sent when the current request began (reused: all acked) */
	uint32_t idle_ms;                /* not reused after idling this long (pool, Keep-Alive) */
	unsigned max_idle;               /* pool's keepalive_max_idle when it was attached */
	unsigned connected:1;
	unsigned ready:1;                /* in w->ready, for the client it is attached to */
	unsigned eof:1;
	unsigned closed:1;
	unsigned idle:1;
};

/* One request and its response (http), or the whole connection (tcp): what is kept
 * only while something is in flight. Taken from the worker's free list (lb/exchange.c)
 * at the first byte of a request head (tcp: at accept), given back when the exchange
 * finishes on a keep-alive connection or the connection is freed: an idle keep-alive
 * connection holds none (docs/internals/data-path.md, "Connections and exchanges"). */
struct exchange {
	/* cleared when taken, up to EXCHANGE_CLEARED: field by field in exchange_begin
	 * (a field added here must be cleared there; tests/unit/test_exchange.c checks) */
	const struct producer *producer; /* where the answer comes from (include/producer.h) */
	struct pool *pool;               /* of the current request, inside gen */
	struct route_stats *route_stats; /* the route's per-worker counters; NULL = no route */
	struct route_share *share;       /* the route's share of pool (max_share); NULL = none */
	struct backend *backend;         /* chosen; a slot is held while non-NULL */
	struct backend *failed_backend;  /* the one a retry should avoid */
	/* the backend an error answer (503, 504) or a cut was given on behalf of, after its
	 * slot went: named in the access-log line. Set only as the exchange ends (no retry
	 * follows, so c->gen, which holds the backend, outlives the line) */
	const struct backend *log_backend;
	struct pool_waiter waiter;       /* in the pool's wait queue (CS_QUEUED) */
	/* the worker's counters of the pool this request counts in flight for (its retry
	 * budget), until the exchange is given back; NULL when not counted */
	struct pool_stats *budget;
	/* the cache's part of a request of a pool with a cache (lb/http_cache.c); NULL = none */
	struct http_cache_x *cache;
	/* compression (lb/http_compress.c): the pool's settings (NULL = off), the response's
	 * filter (NULL = as the backend sent it); the coding is compress_enc below */
	const struct cfg_compress *compress_cfg;
	struct http_compress_x *compress;
	struct buf *req_head;            /* rewritten request head, kept until the response starts (retries) */
	uint64_t req_body_sent;
	uint64_t bytes_in, bytes_out;    /* client side, this request (http) or connection (tcp) */
	double t_queued, t_connect_start, t_connected, t_first_byte;
	double t_req_done;               /* the request's last body byte came from the client */
	double t_resp_done;              /* the response's last byte came from the backend */
	uint32_t req_ready;              /* bytes at the front of in that belong to the body, ready to send */
	uint32_t req_head_off;           /* bytes of req_head already sent on this attempt */
	uint32_t resp_ready;             /* bytes at the front of up->in ready to send to the client */
	uint32_t req_kept;               /* body bytes sent but kept at the front of in (keep_body) */
	unsigned connect_attempts;       /* backends tried for this request; bounded by the pool size */
	enum http_method method;
	enum http_body req_body;         /* NONE until a head says otherwise (tcp: always) */
	int status;
	enum termination term;           /* why it ended, for the access log */
	union {
		struct {
			unsigned req_head_sent:1;
			unsigned req_framed:1;       /* the end of the request body has been found */
			unsigned req_done:1;         /* whole request (head+body) sent to the backend */
			unsigned resp_keep_alive:1;  /* the backend connection may carry another request */
			unsigned resp_head_done:1;   /* final response head parsed and queued */
			unsigned resp_done:1;        /* whole response framed */
			unsigned upgrade:1;          /* request asked for an Upgrade */
			unsigned keep_body:1;        /* reused connection: sent body bytes stay (req_kept) until
							  * the response starts, for replay_unread */
			unsigned fresh_conn:1;       /* the next attempt connects anew (no idle reuse) */
			unsigned replayed:1;         /* counted in budget->replays_in_flight */
			unsigned req_buffered:1;     /* the body is read whole into req_store first;
							  * req_body_sent is the next byte of it to send */
			unsigned resp_may_buffer:1;  /* response buffering applies (no stream) */
			unsigned resp_buffered:1;    /* resp_store is made: bytes the client did
							  * not take at once go through it */
			unsigned resp_unbuffered:1;  /* the store refused more (budget): what is in it
							  * goes out, the rest streams at the client's pace */
			unsigned released:1;         /* the whole response is held here: backend,
							  * connection and slot were let go (t_released) */
			unsigned share_held:1;       /* a place of share is held, with the slot of backend */
			unsigned cache_status:3;     /* enum cache_status (lb/http_cache.h), for the access log */
			unsigned compress_enc:2;     /* enum compress_enc the request accepts (identity = 0) */
			unsigned background:1;       /* fulcrum's own request (a cache refresh): a free
							  * slot or nothing, never a place in the queue, so
							  * no client ever waits behind it */
			unsigned cache_wait_fill:1;  /* a cache hit of a response still being fetched has
							  * sent all that came: no write interest until more
							  * comes (lb/http_cache.c) */
		};
		unsigned flags;                  /* all of the above at once, to clear them */
	};

	/* set before they are read: not cleared */
	struct local_answer local;       /* local_producer's answer */
	int file_fd;                     /* static_producer: the file whose range is the body; -1 = none */
	/* static_producer: next byte of the file to send, bytes left; a cache hit: the
	 * same of the stored body */
	uint64_t file_off, file_left;
	double t_released;               /* released: the backend was let go (seconds saved from here) */
	struct body req_store;           /* req_buffered: the request body */
	struct body resp_store;          /* resp_buffered: response body bytes the client has not taken */
	unsigned retries_left;           /* replays after the request reached a backend (idempotent only) */
	enum http_body resp_body;
	struct client *client;           /* owner: a queued waiter leads back to it */
	struct exchange *next_free;      /* free-list link while unused */
	double t_start;                  /* head complete (http; its first byte until then) or accept (tcp) */
	uint64_t req_left;               /* body bytes not yet framed (length bodies) */
	uint64_t resp_left;
	struct http_chunked req_chunk;
	struct http_chunked resp_chunk;
	/* for the access log; only their first byte is cleared */
	char request_id[HTTP_REQUEST_ID_MAX + 1]; /* the client's (when safe) or ours */
	char target[160];                /* method and start of the target, for the log */
	char route[64];                  /* the name of the route the request took; "" = none */
	const struct cfg_route *route_cfg; /* that route, inside c->gen's config; NULL = none */
	uint8_t sticky_set;              /* the route's split drew the pool: tell the client (Set-Cookie) */
	char accept[96];                 /* the request's Accept, kept when the listener has error pages */
	/* log.format = "combined" only (else just cleared): the start of the request's
	 * Referer and User-Agent, raw (escaped when the line is written) */
	char referer[128];
	char user_agent[128];
};

/* The end of the part exchange_begin clears. */
#define EXCHANGE_CLEARED offsetof(struct exchange, local)

/* A client connection: what it holds all its life, idle keep-alive included. What is
 * per request is in ex. */
struct client {
	struct worker *w;
	struct client *next, *prev;      /* worker's list of live clients; once closed, next
	                                  * links the worker's dead list */
	struct generation *gen;          /* reference held; refreshed between requests */
	const struct gen_listener *gl;   /* inside gen */
	const struct conn_proto *proto;  /* the listener's; the tunnel after 101 */
	struct exchange *ex;             /* the request in flight (tcp: the connection); NULL while idle */
	ev_io io;
	ev_timer timer;
	double timer_at;                 /* when the armed timer fires */
	double last_activity;
	double head_started;             /* first byte of the current head */
	struct tls_conn tls;             /* TLS listener: the adapter; zeroed = plain */
	struct buf *in;                  /* bytes from the client */
	struct buf *out;                 /* heads and error responses to the client */
	struct upstream *up;             /* the backend connection of the exchange */
	/* is_stream: an HTTP/2 stream's in-memory transport (struct mem_pipe, lb/mem_pipe.c),
	 * which names its connection; is_h2: an HTTP/2 connection's session (struct h2_conn,
	 * lb/h2_conn.c); else NULL. Through client_pipe() and client_h2(). */
	void *ext;
	int fd;
	int events;                      /* armed in libev */
	int want;                        /* what the state wants; events may keep READ beyond it */
	enum client_state state;
	uint32_t id;                     /* connection number on its worker (logs: conn=worker.id) */
	union addr_ip peer;              /* client address (or from the PROXY header) */
	union addr_ip local;

	unsigned keep_alive:1;           /* client connection persists after this response */
	unsigned in_eof:1;               /* client sent FIN */
	unsigned out_shut:1;             /* we sent FIN to the client (tunnel) */
	unsigned up_shut:1;              /* we sent FIN to the backend (tunnel) */
	unsigned counted_in_listener:1;
	unsigned limit_counted:1;        /* holds one of max_conns_per_client, keyed by the
	                                  * listener's stats blocks and peer (lb/client_limit.c) */
	unsigned in_request:1;           /* a request is being handled (for logging) */
	unsigned answered:1;             /* a request was answered: idle_timeout_ms applies
	                                  * between requests, not head_timeout_ms */
	unsigned internal:1;             /* fulcrum's own (a cache refresh, an HTTP/2 stream):
	                                  * not counted as a connection; a refresh not in the
	                                  * listener's requests either (client_new_internal) */
	unsigned is_stream:1;            /* ext is the transport of an HTTP/2 stream */
	unsigned is_h2:1;                /* ext is an HTTP/2 connection's session */

	/* HTTP/1.x minor version of the last request head parsed on this connection: the
	 * access-log line of a head that did not parse prints it */
	uint8_t version_minor;
	uint8_t peer_text_len;           /* length of peer_text; 0 = not formatted yet */
	char peer_text[ADDR_HOST_TEXT_MAX];  /* peer's host as text: client_peer_text() */
};

/* The connection core's driver (lb/client.c): every event of a client's sockets and
 * timer enters there. Creates a client for an accepted socket speaking proto and starts
 * reading. */
void client_accept(struct worker *w, int fd, const struct sockaddr_storage *peer,
		   int listener_index, const struct conn_proto *proto);
/* Gives c (w, gen, gl, proto, addresses set) its id and socket fd, links it into its
 * worker's list of clients and readies its watchers (nothing armed). */
void client_join_worker(struct client *c, int fd);
/* A connection fulcrum opens to itself to run one exchange with no client behind it (a
 * cache's background refresh, lb/detached_exchange.c; lb/client_internal.c): fd is its socket (one end of a
 * socketpair whose other end the caller reads and drops), its listener, generation,
 * protocol and addresses those of like. Plain (no TLS), in the worker's list of
 * clients, no exchange yet, nothing armed. NULL out of memory. */
struct client *client_new_internal(struct worker *w, const struct client *like, int fd);
/* The same over an in-memory transport (an HTTP/2 stream of parent, which holds the
 * TLS): fd -1, events fed by p (mem_pipe_kick), counted as a request of the listener.
 * The caller sets c->proto and starts it. NULL out of memory. */
struct client *client_new_stream(struct worker *w, struct client *parent, struct mem_pipe *p);
/* An HTTP/2 stream's transport (lb/mem_pipe.c); NULL for a socket. */
static inline struct mem_pipe *client_pipe(const struct client *c)
{
	return c->is_stream ? (struct mem_pipe *)c->ext : NULL;
}
/* An HTTP/2 connection's session (lb/h2_conn.c); NULL for any other. */
static inline struct h2_conn *client_h2(const struct client *c)
{
	return c->is_h2 ? (struct h2_conn *)c->ext : NULL;
}
/* The HTTP/2 connection of a stream (it outlives the stream); NULL for any other. */
struct client *client_parent(const struct client *c);
/* The TLS a client's requests came over (its own, or its HTTP/2 connection's); NULL =
 * plain. */
static inline const struct tls_conn *client_tls(const struct client *c)
{
	const struct client *p = c->is_stream ? client_parent(c) : NULL;

	return p ? &p->tls : &c->tls;
}
/* The client's address as text ("192.0.2.1", "2001:db8::1"), formatted the first time
 * it is needed and kept for the connection: X-Forwarded-For, Forwarded and the access
 * log of every request use it. *len gets its length. */
static inline const char *client_peer_text(struct client *c, size_t *len)
{
	if (!c->peer_text_len) {
		addr_format_host(&c->peer.sa, c->peer_text, sizeof(c->peer_text));
		c->peer_text_len = (uint8_t)strlen(c->peer_text);
	}
	*len = c->peer_text_len;
	return c->peer_text;
}

/* A waiting exchange's turn came (queue_next_turn): it holds a slot of b, or b is NULL
 * when its pool has no eligible backend left (503). The driver's entry for it. */
void client_queue_turn(struct exchange *x, struct backend *b);
/* Hands the protocol of each client whose backend connection the layers below found
 * ready (w->ready: one taken from the idle pool) its upstream_ready, and re-arms it. The
 * driver runs it after each of its events; the worker's reap, for those made ready
 * elsewhere (a queue run, a cache's waiters woken), before it frees anything. */
void client_run_ready(struct worker *w);

/* tunnel.c: the switch of an HTTP/1.1 connection to a tunnel after 101 */
void tunnel_start(struct client *c);

/* upstream.c */
/* The io callback of a backend connection while a client owns it (the core's). */
typedef void (*upstream_io_fn)(struct ev_loop *loop, ev_io *io, int revents);
/* Connects (or reuses an idle connection) to c->ex->backend; sets c->up, whose events
 * go to on_io. 0 or -1 (errno). */
int upstream_attach(struct client *c, upstream_io_fn on_io);
/* The driver's io callback for a backend connection a client owns (lb/client.c), for
 * its worker's upstream_io. */
upstream_io_fn client_upstream_callback(void);
/* Detaches from c: back to the idle pool when reusable, else closed. */
void upstream_release(struct upstream *u, int reusable);
void upstream_close(struct upstream *u);
void upstream_free(struct upstream *u);
/* Closes w's idle connections past their idle time or to backends out of rotation. */
void upstream_sweep_idle(struct worker *w, double now);
/* Re-arms the watcher from the client's state and the buffers, only when it changes. */
void upstream_update(struct upstream *u);
/* 1 when u was reused and the backend's kernel acknowledged none of the bytes written
 * since the current request began (TCP_INFO): its application cannot have read any of
 * them. 0 otherwise, also when the kernel cannot say. */
int upstream_request_unacked(const struct upstream *u);
/* The idle time a backend announces in "Keep-Alive: timeout=N" of its response head h
 * (over base; seconds, RFC 2068 19.7.1.1, of the HTTP/1.0 era, still sent by some
 * servers), made safe for reuse: half a second shorter, as the backend counts from its
 * write and fulcrum from its read, on event loops that may be late. 0 = do not reuse;
 * UINT32_MAX when there is none. */
uint32_t upstream_keep_alive_ms(const char *base, const struct http_head *h);


/* An error-log line about client c, naming its connection (log_conn_msg). */
#define conn_log(level, c, ...) log_conn_msg((level), (c)->w->id, (c)->id, __VA_ARGS__)

/* conn_stats.c: counting into the worker's own blocks (include/stats.h) */
/* The current request of c ends with status (0 = no response) at backend b. */
void conn_stats_backend_done(struct client *c, struct backend *b, int status);
/* The current HTTP request of c ends (its access-log line is written): the listener's
 * counters, and the backend's when one is still attached. */
void conn_stats_request_done(struct client *c);
/* A request of c's pool ended in the pool's own way: a 503 (queue timeout, queue full, no
 * backend) or its client left while it was queued (client_aborted_queued). */
void conn_stats_pool(struct client *c, enum termination why);

/* The largest request body c's current request may send: its route's limit, else the
 * listener's (0 = unlimited). */
static inline uint64_t exchange_body_max(const struct client *c)
{
	const struct cfg_route *r = c->ex ? c->ex->route_cfg : NULL;

	return r && r->body_max_bytes ? r->body_max_bytes : c->gl->cfg->body_max_bytes;
}

#endif
