/* backend_put.c: what a PUT of a backend becomes in the journal: fields the body leaves
 * out keep the backend's value (its admin state too), and the registration's lease. */
#include <stdio.h>
#include <string.h>

#include "ctl_api.h"

void ctl_entry_of(const struct cfg_backend *cur, const struct ctl_jentry *j, struct ctl_jentry *e)
{
	e->op = CTL_JOP_SET;
	snprintf(e->address, sizeof(e->address), "%s", cur->address.text);
	e->addr = cur->address;
	e->weight = cur->weight;
	e->max_conns = cur->max_conns;
	e->state = cur->state;
	snprintf(e->identity, sizeof(e->identity), "%s", cur->identity ? cur->identity : "");
	e->ttl_s = 0;
	e->expires = 0;
	/* a change to a draining backend keeps its drain's deadline */
	e->drain_until = cur->state == ADMIN_DRAINING ? cur->drain_until : 0;
	/* a drain or a re-weight is not a renewal: the lease runs on as it was */
	if (j && j->op == CTL_JOP_SET && j->ttl_s) {
		e->ttl_s = j->ttl_s;
		e->expires = j->expires;
	}
}

/* The identity a health check asks of a backend: its own, else its name. */
static const char *effective_identity(const char *identity, const char *name)
{
	return identity && identity[0] ? identity : name;
}

enum ctl_put_outcome ctl_put_entry(const struct cfg_backend *cur, const struct ctl_jentry *j,
				   const struct ctl_backend_put *p, uint32_t pool_ttl_s, double now,
				   struct ctl_jentry *e)
{
	uint32_t old_ttl = j && j->op == CTL_JOP_SET ? j->ttl_s : 0;
	int same;

	if (!cur && !p->has_address)
		return CTL_PUT_INVALID;
	if (cur) {
		ctl_entry_of(cur, j, e);
	} else {
		/* a new registration: the defaults of a config file's backend, and the
		 * pool's lease, so that a hook that never comes back does not leave it
		 * for ever */
		e->op = CTL_JOP_SET;
		e->weight = 1;
		e->max_conns = 0;
		e->state = ADMIN_ACTIVE;
		e->identity[0] = '\0';
		e->ttl_s = pool_ttl_s;
	}
	if (p->has_address) {
		snprintf(e->address, sizeof(e->address), "%s", p->address);
		e->addr = p->addr;
	}
	if (p->has_weight)
		e->weight = p->weight;
	if (p->has_max_conns)
		e->max_conns = p->max_conns;
	if (p->has_state)
		e->state = p->state;
	if (p->has_identity)
		snprintf(e->identity, sizeof(e->identity), "%s", p->identity);
	if (p->has_ttl)
		e->ttl_s = p->ttl_s;
	/* every PUT of a leased backend renews it, an unchanged one included */
	e->expires = e->ttl_s ? now + e->ttl_s : 0;
	same = cur && !strcmp(cur->address.text, e->address) && cur->weight == e->weight &&
	       cur->max_conns == e->max_conns && cur->state == e->state &&
	       !strcmp(effective_identity(cur->identity, e->name),
		       effective_identity(e->identity, e->name));
	if (!same)
		return CTL_PUT_CHANGE;
	return e->ttl_s || old_ttl ? CTL_PUT_RENEW : CTL_PUT_SAME;
}
