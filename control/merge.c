/* merge.c: the merge rule of a config and the journal (journal entries laid over the
 * pools' backends), the entries a rollback needs, and edits of backends in a config copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "config.h"
#include "ctl_journal.h"
#include "ctl_store.h"

static int same_backend(const struct cfg_backend *a, const struct cfg_backend *b);
static int set_identity(struct cfg_backend *b, const char *id);
static int push_entry(struct ctl_jentry **list, size_t *n, size_t *cap,
		      const struct ctl_jentry *e);

struct cfg_pool *ctl_config_pool(struct config *cfg, const char *pool)
{
	size_t i;

	for (i = 0; i < cfg->npools; i++)
		if (cfg->pools[i].name && !strcmp(cfg->pools[i].name, pool))
			return &cfg->pools[i];
	return NULL;
}

struct cfg_backend *ctl_config_backend(struct config *cfg, const char *pool, const char *name)
{
	struct cfg_pool *p = ctl_config_pool(cfg, pool);
	size_t i;

	for (i = 0; p && i < p->nbackends; i++)
		if (p->backends[i].name && !strcmp(p->backends[i].name, name))
			return &p->backends[i];
	return NULL;
}

/* Adds b (taken over: the caller no longer owns its fields) at the end of pool, or
 * replaces the backend of b's name, whose fields are released. The loader allocates
 * the backends array and each field on its own; edits keep that shape so config_free
 * releases an edited copy like a loaded one. 0, or -1 (no such pool, ENOMEM: b is then
 * still the caller's). */
int ctl_config_set_backend(struct config *cfg, const char *pool, struct cfg_backend *b)
{
	struct cfg_pool *p = ctl_config_pool(cfg, pool);
	struct cfg_backend *slot, *arr;

	if (!p)
		return -1;
	slot = ctl_config_backend(cfg, pool, b->name);
	if (!slot) {
		arr = realloc(p->backends, (p->nbackends + 1) * sizeof(*arr));
		if (!arr)
			return -1;
		p->backends = arr;
		slot = &arr[p->nbackends++];
		memset(slot, 0, sizeof(*slot));
	}
	config_backend_clear(slot);
	*slot = *b;
	memset(b, 0, sizeof(*b));
	return 0;
}

int ctl_config_remove_backend(struct config *cfg, const char *pool, const char *name)
{
	struct cfg_pool *p = ctl_config_pool(cfg, pool);
	struct cfg_backend *b = ctl_config_backend(cfg, pool, name);
	size_t i;

	if (!p || !b)
		return -1;
	i = (size_t)(b - p->backends);
	config_backend_clear(b);
	memmove(&p->backends[i], &p->backends[i + 1], (p->nbackends - i - 1) * sizeof(*b));
	p->nbackends--;
	return 0;
}

void ctl_backend_fingerprint(const struct config *cfg, const char *pool, const char *name,
			     char out[17])
{
	const struct cfg_backend *b = ctl_config_backend((struct config *)cfg, pool, name);
	char text[ADDR_TEXT_MAX + CTL_IDENTITY_MAX + 64], hex[65];
	int n;

	out[0] = '\0';
	if (!b)
		return;
	/* identity only when set: digests written before the key existed stay valid */
	n = snprintf(text, sizeof(text), "%s|%u|%u|%d%s%s", b->address.text, b->weight,
		     b->max_conns, (int)b->state, b->identity ? "|id=" : "",
		     b->identity ? b->identity : "");
	ctl_sha256_hex(text, (size_t)n, hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
}

void ctl_pools_fingerprint(const struct config *cfg, char out[17])
{
	char *text = NULL, *line, *end, *kept, hex[65];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int ok;

	out[0] = '\0';
	if (!f)
		return;
	ok = config_render(cfg, f, CONFIG_RENDER_FLAT) == 0;
	if (fclose(f) != 0 || !ok) {
		free(text);
		return;
	}
	/* the "pools." lines only, moved together in place */
	for (line = kept = text; line < text + len; line = end + 1) {
		if (!(end = memchr(line, '\n', (size_t)(text + len - line))))
			end = text + len - 1;
		if (!strncmp(line, "pools.", 6)) {
			memmove(kept, line, (size_t)(end - line) + 1);
			kept += end - line + 1;
		}
	}
	ctl_sha256_hex(text, (size_t)(kept - text), hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
	free(text);
}

ssize_t ctl_journal_current(const struct ctl_journal *j, const struct config *file,
			    struct ctl_jentry **out, size_t *dropped)
{
	struct ctl_jentry *list = NULL;
	size_t n = 0, cap = 0, i, gone = 0;
	char fp[17];

	for (i = 0; i < j->n; i++) {
		const struct ctl_jentry *e = &j->entries[i];

		/* a pool the file lacks has nothing to compare: the entry waits */
		if (config_find_pool(file, e->pool)) {
			ctl_backend_fingerprint(file, e->pool, e->name, fp);
			if (strcmp(fp, e->file_fp)) {
				gone++;
				continue;
			}
		}
		if (push_entry(&list, &n, &cap, e) == -1) {
			free(list);
			return -1;
		}
	}
	if (dropped)
		*dropped = gone;
	*out = list;
	return (ssize_t)n;
}

int ctl_check_identity(const char *s, char *err, size_t errlen)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= CTL_IDENTITY_MAX) {
		snprintf(err, errlen, "an identity has 1 to %d characters", CTL_IDENTITY_MAX - 1);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~') {
			snprintf(err, errlen, "an identity is visible ASCII without spaces "
				 "(character %zu is not)", i + 1);
			return -1;
		}
	return 0;
}

/* Sets b's identity to id ("" = leave it). 0, or -1 on ENOMEM. */
static int set_identity(struct cfg_backend *b, const char *id)
{
	char *copy;

	if (!id[0])
		return 0;
	if (!(copy = strdup(id)))
		return -1;
	free(b->identity);
	b->identity = copy;
	return 0;
}

int ctl_jentry_resolve(struct ctl_jentry *e, char *err, size_t errlen)
{
	if (addr_parse(e->address, &e->addr, 1, err, errlen) == -1) {
		e->addr.len = 0;
		return -1;
	}
	return 0;
}

struct config *ctl_merge(const struct config *base, const struct ctl_jentry *entries, size_t n,
			 size_t *unresolved, size_t *orphans)
{
	struct config *cfg = config_dup(base);
	struct cfg_backend b;
	size_t i, nu = 0, no = 0;

	memset(&b, 0, sizeof(b));
	if (!cfg)
		return NULL;
	for (i = 0; i < n; i++) {
		const struct ctl_jentry *e = &entries[i];
		struct cfg_backend *cur;

		if (e->op == CTL_JOP_MAINT) {
			ctl_config_set_maint(cfg, e);
			continue;
		}
		if (!ctl_config_pool(cfg, e->pool)) {
			no++;
			continue;
		}
		if (e->op == CTL_JOP_DELETE) {
			ctl_config_remove_backend(cfg, e->pool, e->name);
			continue;
		}
		if (e->addr.len == 0) {
			nu++;
			continue;
		}
		/* the journal says only these things: a backend the base has keeps its other
		 * settings, a new one gets the defaults of a config file's backend */
		cur = ctl_config_backend(cfg, e->pool, e->name);
		if (cur) {
			cur->address = e->addr;
			cur->weight = e->weight;
			cur->max_conns = e->max_conns;
			cur->state = e->state;
			cur->drain_until = e->state == ADMIN_DRAINING ? e->drain_until : 0;
			if (set_identity(cur, e->identity) == -1)
				goto nomem;
			continue;
		}
		if (config_backend_init(&b) == -1 || !(b.name = strdup(e->name)))
			goto nomem;
		b.address = e->addr;
		b.weight = e->weight;
		b.max_conns = e->max_conns;
		b.state = e->state;
		b.drain_until = e->state == ADMIN_DRAINING ? e->drain_until : 0;
		if (set_identity(&b, e->identity) == -1)
			goto nomem;
		if (ctl_config_set_backend(cfg, e->pool, &b) == -1)
			goto nomem;
	}
	if (unresolved)
		*unresolved = nu;
	if (orphans)
		*orphans = no;
	return cfg;
nomem:
	config_backend_clear(&b);
	config_free(cfg);
	return NULL;
}

int ctl_config_set_maint(struct config *cfg, const struct ctl_jentry *e)
{
	struct cfg_maint m = { .on = e->maint_on, .retry_after_s = e->retry_after_s };
	size_t i, r;
	int found = 0;

	if (!strcmp(e->pool, CTL_MAINT_POOL)) {
		struct cfg_pool *p = ctl_config_pool(cfg, e->name);
		if (p)
			p->maint = m;
		return p != NULL;
	}
	for (i = 0; i < cfg->nlisteners; i++)
		for (r = 0; r < cfg->listeners[i].nroutes; r++)
			if (!strcmp(cfg->listeners[i].routes[r].name, e->name)) {
				cfg->listeners[i].routes[r].maint = m;
				found = 1;
			}
	return found;
}

static int same_backend(const struct cfg_backend *a, const struct cfg_backend *b)
{
	return !strcmp(a->address.text, b->address.text) && a->weight == b->weight &&
	       a->max_conns == b->max_conns && a->state == b->state &&
	       !strcmp(a->identity ? a->identity : "", b->identity ? b->identity : "");
}

static int push_entry(struct ctl_jentry **list, size_t *n, size_t *cap,
		      const struct ctl_jentry *e)
{
	if (ARRAY_GROW(list, cap, *n + 1, 16) == -1)
		return -1;
	(*list)[(*n)++] = *e;
	return 0;
}

ssize_t ctl_journal_entries_for(const struct config *file, const struct config *target,
				const struct ctl_journal *current, struct ctl_jentry **out)
{
	struct ctl_jentry *list = NULL, e;
	size_t n = 0, cap = 0, i, k;

	/* pools the target does not have: what the journal said about them stays */
	for (i = 0; current && i < current->n; i++)
		if (!config_find_pool(target, current->entries[i].pool) &&
		    push_entry(&list, &n, &cap, &current->entries[i]) == -1)
			goto nomem;
	for (i = 0; i < target->npools; i++) {
		const struct cfg_pool *tp = &target->pools[i];
		const struct cfg_pool *fp = config_find_pool(file, tp->name);

		/* a pool the file lacks cannot be carried by the journal */
		if (!fp)
			continue;
		for (k = 0; k < tp->nbackends; k++) {
			const struct cfg_backend *tb = &tp->backends[k], *fb = NULL;
			size_t m;

			for (m = 0; m < fp->nbackends; m++)
				if (!strcmp(fp->backends[m].name, tb->name))
					fb = &fp->backends[m];
			if (fb && same_backend(fb, tb))
				continue;
			memset(&e, 0, sizeof(e));
			e.op = CTL_JOP_SET;
			ctl_backend_fingerprint(file, tp->name, tb->name, e.file_fp);
			snprintf(e.pool, sizeof(e.pool), "%s", tp->name);
			snprintf(e.name, sizeof(e.name), "%s", tb->name);
			snprintf(e.address, sizeof(e.address), "%s", tb->address.text);
			e.addr = tb->address;
			e.weight = tb->weight;
			e.max_conns = tb->max_conns;
			e.state = tb->state;
			if (tb->identity)
				snprintf(e.identity, sizeof(e.identity), "%s", tb->identity);
			if (push_entry(&list, &n, &cap, &e) == -1)
				goto nomem;
		}
		for (k = 0; k < fp->nbackends; k++) {
			const struct cfg_backend *fb = &fp->backends[k];
			size_t m;
			int kept = 0;

			for (m = 0; m < tp->nbackends; m++)
				if (!strcmp(tp->backends[m].name, fb->name))
					kept = 1;
			if (kept)
				continue;
			memset(&e, 0, sizeof(e));
			e.op = CTL_JOP_DELETE;
			ctl_backend_fingerprint(file, tp->name, fb->name, e.file_fp);
			snprintf(e.pool, sizeof(e.pool), "%s", tp->name);
			snprintf(e.name, sizeof(e.name), "%s", fb->name);
			if (push_entry(&list, &n, &cap, &e) == -1)
				goto nomem;
		}
	}
	*out = list;
	return (ssize_t)n;
nomem:
	free(list);
	return -1;
}
