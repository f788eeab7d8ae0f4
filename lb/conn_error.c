/* conn_error.c: an exchange answered with fulcrum's own error (a small JSON body, or
 * the operator's error page): its producer may answer otherwise (a stale cache entry),
 * else it is let go and the local producer sends the answer (include/conn_error.h). */
#include <stdio.h>

#include "conn.h"
#include "conn_close.h"
#include "conn_error.h"
#include "http_keep.h"
#include "producer.h"

void client_error(struct client *c, int status, enum termination why, const char *detail)
{
	client_error_retry(c, status, why, detail, status == 503 ? RETRY_AFTER_S : 0);
}

void client_error_retry(struct client *c, int status, enum termination why, const char *detail,
			unsigned retry_after_s)
{
	struct exchange *x = c->ex;
	const struct error_page *page;
	char body[256];
	int n;

	if (c->state == CS_CLOSED)
		return;
	/* without an exchange there is no request to answer (every caller has one) */
	if (!c->proto->send_answer || !x || x->resp_head_done) {
		/* nothing can be said in-band any more */
		client_close(c, why);
		return;
	}
	x->term = why;
	x->status = status;
	/* the backend's count before its slot goes (the log line comes at close) */
	if (x->backend || c->up) {
		struct backend *on_behalf = x->backend ? x->backend : c->up->backend;
		conn_stats_backend_done(c, on_behalf, status);
		x->log_backend = on_behalf;
	}
	/* the producer may answer otherwise (the cache, a stale entry within its
	 * stale-if-error window); the backend's failure is counted above */
	if (x->producer && x->producer->fail && x->producer->fail(c, status)) {
		x->term = TERM_DONE;
		return;
	}
	exchange_abandon(c);
	n = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"detail\":\"%s\"}\n",
		     termination_name(why), detail);
	x->local = (struct local_answer){
		.status = status, .content_type = "application/json", .body = body,
		.body_len = n > 0 ? ((size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1) : 0,
		.retry_after_s = retry_after_s,
	};
	/* the operator's page for this status: the route's, else the listener's */
	page = http_error_page(c, status);
	if (page) {
		x->local.content_type = page->content_type;
		x->local.body = page->body;
		x->local.body_len = page->len;
	}
	/* written at once: the body on this stack is copied by the protocol */
	exchange_produce(c, &local_producer);
}
