/* http_maint.c: owns the answer to a request whose pool or route is in maintenance:
 * 503 with Retry-After and the operator's page, no backend touched and no queue joined.
 * The flag comes with the generation (ctl_merge lays the journal's word over the config). */
#include "conn.h"
#include "conn_error.h"
#include "generation.h"
#include "http_maint.h"

int http_maint_answer(struct client *c, const struct cfg_maint *m)
{
	if (!m->on)
		return 0;
	client_error_retry(c, 503, TERM_MAINTENANCE, "in maintenance, retry later", m->retry_after_s);
	return 1;
}

int http_maint_pool(struct client *c)
{
	struct pool *p = c->ex->pool ? c->ex->pool : c->gl->pool;

	if (!p || !p->cfg->maint.on)
		return 0;
	c->ex->pool = p;  /* the access log names the pool in maintenance */
	return http_maint_answer(c, &p->cfg->maint);
}
