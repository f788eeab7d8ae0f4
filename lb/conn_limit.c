/* conn_limit.c: a connection against its listener's max_conns_per_client: counted when
 * it comes (or once its PROXY header names the real client), given back when it closes.
 * The table of counts is lb/client_limit.c's (include/conn_limit.h). */
#include <netinet/in.h>

#include "client_limit.h"
#include "conn.h"
#include "conn_limit.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

int conn_limit_admit(struct worker *w, const struct gen_listener *gl, const struct sockaddr *sa)
{
	struct client_limit *t = client_limit_shared();
	uint32_t max = gl->cfg->max_conns_per_client;
	struct client_limit_key k;
	uint64_t since;
	int r;

	/* the listener's stats blocks are its identity across reloads (one per name) */
	if (max == 0 || !t || !gl->stats || !client_limit_key(t, gl->stats, sa, &k))
		return 0;
	r = client_limit_acquire(t, &k, max);
	if (r != 0)
		return r == 1;
	stat_add(&gl->stats[w->id].refused_per_client, 1);
	if (client_limit_note_refused(t, (int64_t)(ev_now(w->loop) * 1000), &since)) {
		char a[ADDR_HOST_TEXT_MAX];

		log_warn("listener %s: %s%s already has max_conns_per_client = %u connections open; "
			 "closing new ones from it (%llu refused on all listeners since the last such line)",
			 gl->cfg->name, addr_format_host(sa, a, sizeof(a)),
			 sa->sa_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)
				 ? " (its /64)" : "",
			 max, (unsigned long long)since);
	}
	return -1;
}

void conn_limit_release(struct client *c)
{
	struct client_limit_key k;

	if (!c->limit_counted)
		return;
	c->limit_counted = 0;
	if (client_limit_key(client_limit_shared(), c->gl->stats, &c->peer.sa, &k))
		client_limit_release(client_limit_shared(), &k);
}
