/* mem_pipe.h: the in-memory transport of an internal connection (lb/mem_pipe.c): what
 * stands in for a socket when a connection fulcrum makes itself carries one exchange
 * for something that is not a socket: an HTTP/2 stream (lb/h2_conn.c). The owner writes
 * the request's bytes in and reads the response's bytes out; the connection reads and
 * writes through conn_io.c as it would a socket, and its "readiness" is fed to its io
 * watcher (ev_feed_event) instead of coming from epoll. */
#ifndef FULCRUM_MEM_PIPE_H
#define FULCRUM_MEM_PIPE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct client;

/* A queue of bytes (malloc'd, grown up to what its writer allows). */
struct pipe_bytes {
	char *p;
	size_t start, end, cap;
};

struct mem_pipe {
	struct pipe_bytes in;            /* for the connection to read (its request) */
	struct pipe_bytes out;           /* what the connection wrote (its response) */
	size_t out_max;                  /* the connection's writes stop (EAGAIN) at this much */
	unsigned in_eof:1;               /* the owner will write no more in */
	unsigned out_eof:1;              /* the connection shut its writing side or closed */
	struct client *c;                /* the connection; NULL once it closed */
	struct client *parent;           /* the HTTP/2 connection of the stream (outlives it) */
	uint32_t stream_id;              /* the HTTP/2 stream (the access log) */
	/* the owner's: called when out grew, the connection read some of in (consumed:
	 * bytes taken), or out_eof was set. Never re-entered into the connection: the owner
	 * only notes it and acts from its own event. */
	void (*notify)(struct mem_pipe *p, size_t consumed);
	void *owner;
};

static inline size_t pipe_bytes_len(const struct pipe_bytes *b) { return b->end - b->start; }
static inline const char *pipe_bytes_head(const struct pipe_bytes *b) { return b->p + b->start; }
/* Appends n bytes: 0, or -1 out of memory. */
int pipe_bytes_put(struct pipe_bytes *b, const void *s, size_t n);
/* Drops n bytes from the front. */
void pipe_bytes_take(struct pipe_bytes *b, size_t n);
void pipe_bytes_free(struct pipe_bytes *b);

/* The connection's side (conn_io.c): as read(2), writev(2) and shutdown(SHUT_WR). */
ssize_t mem_pipe_read(struct mem_pipe *p, void *buf, size_t len);
ssize_t mem_pipe_writev(struct mem_pipe *p, const struct iovec *iov, int iovcnt);
void mem_pipe_shutdown(struct mem_pipe *p);

/* The events the connection wants (EV_READ | EV_WRITE) that the pipe can satisfy now:
 * bytes or EOF to read, room to write. */
int mem_pipe_ready(const struct mem_pipe *p, int want);
/* Feeds the connection's io watcher the events it wants that are ready (the owner calls
 * it after writing in or taking out; the connection after re-arming). */
void mem_pipe_kick(struct mem_pipe *p);

#endif
