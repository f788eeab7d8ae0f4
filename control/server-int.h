/* server-int.h: what the parts of the control API's HTTP/1.1 server share and nothing
 * outside needs: the connection (control/server.c: sockets, TLS, deadlines) and the
 * server's state, which the request side (control/request.c: framing, checks, dispatch;
 * control/reply.c: answers) reads and writes through the connection's srv. */
#ifndef FULCRUM_CTL_SERVER_INT_H
#define FULCRUM_CTL_SERVER_INT_H

#include <ev.h>

#include "ctl_http.h"
#include "http.h"
#include "textbuf.h"
#include "tls.h"

enum conn_state {
	CC_READ = 0,                     /* waiting for (the rest of) a request */
	CC_BUSY,                         /* a handler owes the answer (a wait) */
	CC_STREAM,                       /* a chunked answer is being fed */
	CC_CLOSING                       /* the last answer is written, then close */
};

/* One client connection: its socket and TLS state (server.c), the request being answered
 * (request.c) and the answer's bytes (reply.c). */
struct ctl_conn {
	struct ctl_server *srv;          /* the server it came to: its loop, its counts */
	struct ctl_conn *next, *prev;
	int fd;
	ev_io io;
	int events;                      /* mask the watcher is armed with */
	struct tls_conn tls;             /* zeroed = plain */
	int handshaking;                 /* TLS: no request bytes until the handshake is done */
	double accepted;                 /* the handshake deadline counts from here */
	enum conn_state state;
	char *in;                        /* request bytes not consumed yet */
	size_t in_len, in_cap;
	struct textbuf out;               /* answer bytes not written yet: from out_off on */
	size_t out_off;
	int keep_alive;                  /* the current request allows another after it */
	int continue_sent;               /* 100 Continue sent for the current request */
	double request_started;          /* first byte of the current request, 0 = none */
	double last_io;
	struct ctl_request req;          /* the request being answered */
	void (*cancel)(void *);          /* a deferred answer's owner */
	void *cancel_arg;
	char peer[128];
	int trusted;                     /* has sent a complete authenticated request */
	int waiting;                     /* a deferred answer (long poll): not a short slot */
	double idle_since;               /* accepted, or the last answer finished */
};

/* The server: one per process, on the control thread's loop (control/server.c). */
struct ctl_server {
	int fd;
	char *address;                   /* as configured */
	char *unix_path;                 /* to unlink at close */
	struct ev_loop *loop;
	ev_io io;
	ev_timer sweep;
	struct ctl_conn *conns;          /* newest first */
	unsigned nconns;
	unsigned nwaiting;               /* of which waiting (long polls) */
	int full_logged;
	double evict_logged;             /* when the last eviction was logged */
	unsigned evicted;                /* evictions since then */
	struct http_head head;           /* parse results, used synchronously */
	struct tls_ctx *tls;             /* control.tls, NULL = plain */
	double hs_timeout;               /* control.tls.handshake_timeout_ms, in seconds */
	int verify;                      /* verify_client as configured */
	struct tls_fail_log fail_log;    /* handshake failure lines, TLS_FAIL_LOGS a second */
};

extern struct ctl_server ctl_srv;

/* Frames the requests in c's input buffer and answers them in order, while c reads
 * (control/request.c). */
void ctl_conn_input(struct ctl_conn *c);
/* An answer the server gives on its own (malformed request, limits, a request that did
 * not arrive in time): a stand-in request answered with the error, then the connection
 * closes (control/reply.c). */
void ctl_conn_reject(struct ctl_conn *c, int status, const char *error, const char *detail);

#endif
