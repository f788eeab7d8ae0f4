/* ctl.h: the control plane's hooks for the process (control/main.c): start with the journal
 * merged, the control API, SIGHUP reloads, readiness while stopping, shutdown. */
#ifndef FULCRUM_CTL_H
#define FULCRUM_CTL_H

#include <stdint.h>

#include <ev.h>

#include "config-t.h"
#include "generation.h"

/* Before the first generation, while still privileged: takes state_dir (creating it,
 * locking it against a second process), replays the journal and replaces *cfg by the
 * file's config with the journal laid over it (the file's own config is kept by the
 * control plane), reads the token and opens the control listener. load is how a file
 * is (re)read, with every error collected. Returns 0, or -1 after logging why fulcrum
 * must not start. */
int ctl_init(struct config **cfg, const char *config_path,
	     struct config *(*load)(const char *path, struct config_errors *errs));

/* The id the first generation must take (generation ids continue across restarts). */
uint64_t ctl_next_generation_id(void);

/* With the first generation g published and the loop ready: keeps g as a generation
 * and starts serving the control API on loop. 0, or -1. */
int ctl_start(struct ev_loop *loop, struct generation *g);

/* SIGHUP: re-reads the file (journal laid over it) and applies it, or logs every error
 * and changes nothing. */
void ctl_reload_signal(void);

/* SIGTERM/SIGINT: /readyz fails from now on and the API refuses changes. */
void ctl_set_stopping(void);

/* After the loop ended: closes the control API and the state files. */
void ctl_shutdown(void);

#endif
