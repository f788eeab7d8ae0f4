/* ctl_notify.h: what the control plane tells the service manager (systemd Type=notify):
 * ready, reloading and back, the running generation, stopping, watchdog keepalives.
 * Each is a no-op without NOTIFY_SOCKET; all run on the control thread. */
#ifndef FULCRUM_CTL_NOTIFY_H
#define FULCRUM_CTL_NOTIFY_H

#include <ev.h>

/* Listeners bound, the first generation published, workers running: READY=1 with the
 * status line. Starts the watchdog keepalive (when WATCHDOG_USEC asks for one) and the
 * once-a-second status refresh on loop. */
void ctl_notify_ready(struct ev_loop *loop);

/* A reload or rollback begins: RELOADING=1 with MONOTONIC_USEC. */
void ctl_notify_reloading(void);

/* It ended: READY=1 with the status line, or with refused (why, short) and the
 * generation that stays when it changed nothing. */
void ctl_notify_reloaded(const char *refused);

/* The generation changed (any cause): the status line again, if it differs. */
void ctl_notify_generation(void);

/* Graceful shutdown begins: STOPPING=1. The watchdog keepalive goes on until the
 * loop ends; the status line no longer changes. */
void ctl_notify_stopping(void);

/* After the loop: stops the timers. */
void ctl_notify_shutdown(void);

#endif
