/* buffering.c: request and response buffering between an exchange and its bodies
 * (util/body.c): their limits from the pool and the process config, the process's
 * usage, which responses must stream instead, and what buffering saved the backends
 * (the pool's metrics). The HTTP/1.1 protocol (lb/http_proxy.c) moves the bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buffering.h"
#include "conn.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

struct body_usage buffer_usage;

/* state_dir + "/buffers", set once at start (state_dir cannot change on reload) */
static char *default_dir;

int buffering_set_default_dir(const char *state_dir)
{
	char *dir;

	if (asprintf(&dir, "%s/buffers", state_dir) == -1)
		return -1;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("buffer directory %s cannot be created (%s): bodies beyond memory_bytes "
			 "will be refused until it exists", dir, strerror(errno));
	}
	free(default_dir);
	default_dir = dir;
	return 0;
}

int buffering_wanted(const struct client *c, int response)
{
	const struct pool *p = c->ex && c->ex->pool ? c->ex->pool : c->gl->pool;

	if (!p || c->gl->cfg->mode != LISTENER_HTTP)
		return 0;
	return response ? p->cfg->buffering.response : p->cfg->buffering.request;
}

void buffering_body_init(const struct client *c, struct body *b)
{
	const struct cfg_pool *p = (c->ex && c->ex->pool ? c->ex->pool : c->gl->pool)->cfg;
	const struct config *cfg = c->gen->cfg;
	struct body_limits lim = {
		.memory_bytes = p->buffering.memory_bytes,
		.memory_budget_bytes = cfg->buffer_memory_budget_bytes,
		.disk_budget_bytes = cfg->buffer_disk_budget_bytes,
		.dir = p->buffer_dir ? p->buffer_dir : default_dir ? default_dir : "/tmp",
		.usage = &buffer_usage,
	};

	body_init(b, &lim);
}

/* The pool counters of c's exchange on c's worker, or NULL. */
static struct pool_stats *pool_stats_of(const struct client *c)
{
	const struct pool *p = c->ex && c->ex->pool ? c->ex->pool : c->gl->pool;

	return p && p->stats ? &p->stats[c->w->id] : NULL;
}

int buffering_append(struct client *c, struct body *b, const void *p, size_t n)
{
	uint64_t spilled = b->spilled_bytes;
	uint32_t files = b->spill_files;
	struct pool_stats *s;
	int r = body_append(b, p, n);

	if (b->spilled_bytes != spilled && (s = pool_stats_of(c))) {
		stat_add(&s->buffer_spilled_bytes, b->spilled_bytes - spilled);
		stat_add(&s->buffer_spilled_files, b->spill_files - files);
	}
	if (r == -1 && errno != ENOSPC) {
		/* not the budget: the directory or the disk. Said once per worker and minute,
		 * the requests it refuses are in the access log */
		double now = ev_now(c->w->loop);

		if (now - c->w->buffer_error_logged > 60) {
			c->w->buffer_error_logged = now;
			log_error("buffering: cannot spill a body to %s: %s", b->lim.dir, strerror(errno));
		}
	}
	return r;
}

void buffering_refused(struct client *c)
{
	struct pool_stats *s = pool_stats_of(c);

	if (s)
		stat_add(&s->buffer_refused, 1);
}

/* Case-insensitive: does the value v[0..n) begin with the lower-case token t? */
static int value_starts(const char *v, size_t n, const char *t)
{
	size_t k = strlen(t);

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	return n >= k && strncasecmp(v, t, k) == 0;
}

int buffering_response_streams(const char *base, const struct http_head *h)
{
	uint32_t i;

	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = base + f->value.off;

		/* (the length first: most names are neither, and are passed over at once) */
		if (f->name.len != 12 && f->name.len != 17)
			continue;
		/* server-sent events are read as they come, whatever their size */
		if (f->name.len == 12 && http_slice_eq(base, f->name, "content-type") &&
		    value_starts(v, f->value.len, "text/event-stream"))
			return 1;
		/* the app asks for it, as Flask apps behind nginx do */
		if (f->name.len == 17 && http_slice_eq(base, f->name, "x-accel-buffering") &&
		    value_starts(v, f->value.len, "no"))
			return 1;
	}
	return 0;
}

void buffering_account_saved(struct client *c, double now)
{
	const struct exchange *x = c->ex;
	struct pool_stats *s;
	double saved = 0;

	if (!x)
		return;
	/* the upload: a streaming proxy holds the backend from the head to the last byte */
	if (x->req_buffered && x->t_req_done > x->t_start)
		saved += x->t_req_done - x->t_start;
	/* the delivery after the backend was let go */
	if (x->released && now > x->t_released)
		saved += now - x->t_released;
	if (saved > 0 && (s = pool_stats_of(c)))
		stat_add(&s->backend_saved_us, (uint64_t)(saved * 1e6));
}
