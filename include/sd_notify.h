/* sd_notify.h: the service manager's notification datagrams (systemd's sd_notify
 * protocol, spoken directly: no libsystemd). Every function is a no-op when fulcrum was
 * not started with NOTIFY_SOCKET, so callers need not ask first. */
#ifndef FULCRUM_SD_NOTIFY_H
#define FULCRUM_SD_NOTIFY_H

#include <stdint.h>

/* Sends msg, newline-separated KEY=VALUE assignments ("READY=1\nSTATUS=..."), as one
 * datagram to $NOTIFY_SOCKET (an absolute path, or '@' for an abstract socket). Never
 * blocks: a full socket drops the message. Returns 1 sent, 0 when there is no
 * NOTIFY_SOCKET, -1 when sending failed (logged the first time only). Not thread-safe:
 * the control thread calls it. */
int sd_notify_send(const char *msg);

/* printf-style sd_notify_send; a message longer than 4 KiB is cut. */
int sd_notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 1 when NOTIFY_SOCKET names a socket this process can use. */
int sd_notify_enabled(void);

/* The watchdog interval the service manager expects keepalives within, in
 * microseconds: $WATCHDOG_USEC when it is set, valid and meant for this process
 * ($WATCHDOG_PID unset or equal to getpid()); else 0. */
uint64_t sd_notify_watchdog_usec(void);

#endif
