/* log.h: the leveled error log (stderr) and the access log (one line per request or
 * connection, buffered per worker and written in whole lines). */
#ifndef FULCRUM_LOG_H
#define FULCRUM_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include "config-t.h"

/* Messages below this level are dropped; set from the config at start and reload. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Generation number printed on each error-log line. */
void log_set_generation(uint64_t gen);

/* "2026-11-26T06:30:00.123Z info gen=3 message\n" to stderr in one write. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same about one client connection: "... gen=3 conn=0.17 message", conn being the
 * worker and the connection's number there (the "connection" of its access-log lines). */
void log_conn_msg(enum log_level level, int worker, uint32_t conn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define log_debug(...) do { if (log_get_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* Access log destination. "stdout", "stderr", "off" or a path (opened O_APPEND).
 * Returns 0, or -1 with errno set (the previous destination stays). */
int access_log_open(const char *dest);
/* Reopens the current path (SIGUSR1, after log rotation); no-op for stdout/stderr. */
int access_log_reopen(void);
int access_log_enabled(void);
/* Appends one complete line to the access log in a single write(2). */
void access_log_write(const char *line, size_t len);

#endif
