/* sock_io.h: the byte moves on a plain (non-TLS) TCP socket, client or backend side, as
 * recv(2) / send(2) / sendmsg(2) rather than read(2) / write(2) / writev(2). Same bytes,
 * same errors; but read and write on a socket first pass through the VFS (fdget_pos,
 * rw_verify_area, an indirect call to sock_read_iter / sock_write_iter) before they
 * reach the protocol, and the socket calls go there directly. Four of these calls per
 * proxied request: docs/benchmarks.md has the measurement. MSG_NOSIGNAL keeps a peer
 * that closed mid-write an EPIPE even where SIGPIPE is not ignored (the unit tests). */
#ifndef FULCRUM_SOCK_IO_H
#define FULCRUM_SOCK_IO_H

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

static inline ssize_t sock_read(int fd, void *buf, size_t len)
{
	return recv(fd, buf, len, 0);
}

static inline ssize_t sock_write(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL);
}

static inline ssize_t sock_writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	return sendmsg(fd, &m, MSG_NOSIGNAL);
}

/* Acknowledge what was read now rather than by the delayed-ACK timer. Linux delays
 * the ACK of a request/response connection (its "pingpong" mode) for up to 40 ms; a
 * backend whose send buffer is full of unacknowledged bytes, or that holds a small write
 * under Nagle's rule, sits out that timer in the middle of its response, and a sync
 * worker is held for it. TCP_QUICKACK is not sticky (the kernel leaves quick-ACK mode on
 * its own), so it is set after each read that leaves more to come. */
static inline void sock_ack_now(int fd)
{
	int one = 1;

	if (fd >= 0)  /* an HTTP/2 stream's internal connection has none (lb/mem_pipe.c) */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

#endif
