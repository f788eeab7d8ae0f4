/* conn_io.h: reading and writing a client connection whether it is plain (recv/sendmsg on
 * the socket, zero-copy) or TLS (through the adapter), and the TLS handshake step. */
#ifndef FULCRUM_CONN_IO_H
#define FULCRUM_CONN_IO_H

#include <sys/types.h>
#include <sys/uio.h>

#include "tls-t.h"

struct client;

/* Like read(2) on the client: > 0 bytes, 0 at EOF, -1 with errno (EAGAIN: wait for the
 * direction client_update derives from the adapter). */
ssize_t conn_read(struct client *c, void *buf, size_t len);
/* Like write(2) / writev(2) on the client: bytes written or -1 with errno. Over TLS,
 * small pieces are coalesced into one record and writing goes on record after record
 * until everything is out or the socket is full. */
ssize_t conn_write(struct client *c, const void *buf, size_t len);
ssize_t conn_writev(struct client *c, const struct iovec *iov, int iovcnt);
/* Half-close towards the client: close_notify (TLS) then FIN. */
void conn_shutdown_write(struct client *c);
/* After an error response: FIN first, then drain what the client still sends, so the
 * kernel does not answer unread bytes with a RST that destroys the response. */
void conn_linger_close(struct client *c);
/* CS_LINGERING: reads and drops what the client sends; 1 once it closed, -1 on an
 * error, 0 to go on waiting. */
int conn_linger_drain(struct client *c);

/* Socket events for what the state wants (EV_READ = bytes to read, EV_WRITE = bytes to
 * write): over TLS each follows the direction OpenSSL last waited on (a read may need
 * the socket writable, a write readable), and the handshake its own. */
int conn_physical_events(const struct client *c, int logical);
/* Which of the wanted operations socket events revents allow. */
int conn_logical_events(const struct client *c, int revents);
/* Decrypted bytes already inside OpenSSL make no socket event: when the state wants to
 * read and there are some, an event is queued so they are read without waiting. */
void conn_kick_pending(struct client *c);

/* One handshake step on c (state CS_TLS_HANDSHAKE): 1 complete, 0 waiting, -1 failed
 * (counted and logged; the caller closes the connection). */
int conn_tls_handshake(struct client *c);
/* Counts a failed handshake on the listener and logs it with its reason (rate-limited
 * per worker; clients that close before saying anything only at debug level). */
void conn_tls_failed(struct client *c, enum tls_fail f, const char *detail);

/* Writes as much of c->out as the socket takes. Returns -1 on a fatal error. */
int client_flush_out(struct client *c);

#endif
