/* io_arm.h: arming a connection's io watcher from the events its state wants. */
#ifndef FULCRUM_IO_ARM_H
#define FULCRUM_IO_ARM_H

#include <ev.h>

/* Arms io for want. Dropping from READ to nothing leaves READ armed ("lazy"): a
 * stop/start pair costs libev a failing epoll_ctl each time, and the common cycle is
 * READ -> nothing -> READ. An unwanted event then disarms it for real
 * (io_filter_revents). Returns the new armed mask. */
int io_arm(struct ev_loop *loop, ev_io *io, int fd, int armed, int want);
/* Drops events nobody wants; disarms the lazily kept READ when it fired unwanted. */
int io_filter_revents(struct ev_loop *loop, ev_io *io, int fd, int *armed, int want, int revents);

#endif
