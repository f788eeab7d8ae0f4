/* conn_log.c: the access-log line of a request (http) or connection (tcp) as it ends:
 * the counters it closes (conn_stats.c), sampling (log.access_sample), the line
 * (access_line.c) and the worker's buffer of lines, written once per batch of events
 * (one write(2) for many requests, before the loop sleeps). */
#include <string.h>

#include "access_line.h"
#include "buffering.h"
#include "conn.h"
#include "conn_log.h"
#include "log.h"
#include "worker.h"

/* Appends one line to w's buffer, writing the buffer first when the line does not fit
 * (a line longer than the whole buffer is written on its own). */
static void buffer_line(struct worker *w, const char *line, size_t len)
{
	if (len > CONN_LOG_BUF_CAP - w->alog_len) {
		conn_log_flush(w);
		if (len > CONN_LOG_BUF_CAP) {
			access_log_write(line, len);
			return;
		}
	}
	memcpy(w->alog + w->alog_len, line, len);
	w->alog_len += len;
}

void conn_log_flush(struct worker *w)
{
	if (!w->alog_len)
		return;
	access_log_write(w->alog, w->alog_len);
	w->alog_len = 0;
}

/* log.access_sample = N keeps 1 line of N; a 5xx, a request without a response and
 * one that did not end normally are always written (they are what logs are read for). */
static int skip_sampled(struct client *c)
{
	uint32_t n = c->gen->cfg->log.access_sample;

	if (n <= 1 || c->ex->status >= 500 || c->ex->status == 0 || c->ex->term != TERM_DONE)
		return 0;
	if (++c->w->alog_skipped < n)
		return 1;
	c->w->alog_skipped = 0;
	return 0;
}

void conn_log_request(struct client *c)
{
	char line[1024];
	size_t n;

	if (!c->ex)
		goto done;  /* nothing in flight, nothing to log (callers log only with one) */
	conn_stats_request_done(c);
	buffering_account_saved(c, ev_now(c->w->loop));
	if (!access_log_enabled() || skip_sampled(c))
		goto done;
	n = access_line_format(c, ev_now(c->w->loop), line, sizeof(line));
	buffer_line(c->w, line, n);
done:
	c->in_request = 0;
}
