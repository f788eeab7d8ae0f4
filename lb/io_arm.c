/* io_arm.c: arming a libev io watcher for the events a connection wants, with the lazy
 * READ that saves an epoll_ctl pair per request (both sockets of a connection use it). */
#include "io_arm.h"

int io_arm(struct ev_loop *loop, ev_io *io, int fd, int armed, int want)
{
	if (want == armed || (want == 0 && armed == EV_READ))
		return armed;
	ev_io_stop(loop, io);
	if (want) {
		ev_io_set(io, fd, want);
		ev_io_start(loop, io);
	}
	return want;
}

int io_filter_revents(struct ev_loop *loop, ev_io *io, int fd, int *armed, int want, int revents)
{
	if (revents & ~want & (EV_READ | EV_WRITE)) {
		/* level-triggered: an unwanted event would fire again at once */
		ev_io_stop(loop, io);
		if (want) {
			ev_io_set(io, fd, want);
			ev_io_start(loop, io);
		}
		*armed = want;
	}
	return revents & want;
}
