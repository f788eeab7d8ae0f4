/* tls_fail_log.c: the log line of a failed TLS handshake, shared by the listeners and
 * the control port. Owns its counting, its wording and its rate limit per thread. */
#include <stdatomic.h>
#include <stdio.h>

#include "log.h"
#include "tls.h"

int tls_fail_log(struct tls_fail_log *fl, struct tls_ctx *ctx, enum tls_fail f, const char *peer,
		 const char *detail, double now, enum log_level level, char *line, size_t len)
{
	unsigned long n = 1;
	char more[64] = "";

	if (ctx)
		n = atomic_fetch_add_explicit(&tls_ctx_stats(ctx)->failures[f], 1,
					      memory_order_relaxed) + 1;
	/* port scanners and TCP health checks connect and close: not worth a line */
	if (f == TLS_FAIL_CLOSED) {
		if (log_get_level() > LOG_DEBUG)
			return -1;
		snprintf(line, len, "TLS handshake with %s failed: %s: %s (%lu so far)", peer,
			 tls_fail_name(f), detail, n);
		return LOG_DEBUG;
	}
	/* a flood of bad handshakes must not become a flood of log lines */
	if (now - fl->window >= 1.0) {
		if (fl->suppressed)
			snprintf(more, sizeof(more), "; %u similar lines suppressed", fl->suppressed);
		fl->window = now;
		fl->lines = fl->suppressed = 0;
	}
	if (fl->lines >= fl->per_second) {
		fl->suppressed++;
		return -1;
	}
	fl->lines++;
	snprintf(line, len, "TLS handshake with %s failed: %s: %s (%lu so far)%s", peer,
		 tls_fail_name(f), detail, n, more);
	return level;
}
