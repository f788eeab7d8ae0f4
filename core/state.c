/* state.c: every change of a backend's health (up, down, draining, warming) with its
 * reason, under one lock that enforces max_down_percent, logged once; and the view of
 * that state that the control API and metrics read. */
#include <pthread.h>
#include <stdio.h>

#include "health_state.h"
#include "log.h"

struct rotation;
static void count_rotation(const struct pool *p, const struct backend *b, struct rotation *r);
static int down_refused(const struct backend *b, const struct pool *p, char *why, size_t len);
static void set_changed(struct backend *b, int health, enum health_reason why, long long now_ms);

/* Taken only when a backend changes state or a threshold is reached (never per
 * request): workers ejecting and the control thread checking must agree on how many
 * of a pool are down, or two of them could each take "the last allowed" backend. */
static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const reason_names[HREASON__COUNT] = {
	[HREASON_NONE] = "start", [HREASON_ADDED] = "added",
	[HREASON_CHECK_PASSED] = "checks_passed", [HREASON_CHECK_FAILED] = "checks_failed",
	[HREASON_CHECK_DRAIN] = "check_drain", [HREASON_PASSIVE] = "passive_ejection",
	[HREASON_TRIAL_OK] = "trial_passed", [HREASON_CHECKS_OFF] = "checks_off",
};

static const char *const result_names[HRES__COUNT] = {
	[HRES_NONE] = "none", [HRES_OK] = "ok", [HRES_DRAIN] = "drain",
	[HRES_REFUSED] = "refused", [HRES_TIMEOUT] = "timeout", [HRES_STATUS] = "bad_status",
	[HRES_ERROR] = "error",
};

const char *health_reason_name(enum health_reason r)
{
	return r < HREASON__COUNT && reason_names[r] ? reason_names[r] : "unknown";
}

const char *health_result_name(enum health_result r)
{
	return r < HRES__COUNT && result_names[r] ? result_names[r] : "unknown";
}

void health_backend_init(struct backend_health *hs)
{
	atomic_init(&hs->reason, HREASON_NONE);
	atomic_init(&hs->since_ms, 0);
	atomic_init(&hs->warm_end_ms, 0);
	atomic_init(&hs->warm_ms, 0);
	atomic_init(&hs->kept, 0);
	atomic_init(&hs->consec_errors, 0);
	atomic_init(&hs->consec_connect, 0);
	atomic_init(&hs->ejections, 0);
	atomic_init(&hs->ejections_total, 0);
	atomic_init(&hs->ejected_at_ms, 0);
	atomic_init(&hs->eject_until_ms, 0);
	atomic_init(&hs->checks, 0);
	atomic_init(&hs->checks_failed, 0);
	atomic_init(&hs->last_result, HRES_NONE);
	atomic_init(&hs->last_status, 0);
	atomic_init(&hs->last_duration_ms, 0);
	atomic_init(&hs->last_check_ms, 0);
	atomic_init(&hs->checks_excused, 0);
	atomic_init(&hs->last_response_ms, 0);
	hs->check = NULL;
}

/* What the guard of max_down_percent sees of a pool: only backends in rotation (admin
 * active) count, since draining and maint ones carry no new traffic whatever their
 * health; counting them would let health take out the backends that do. */
struct rotation {
	size_t n;                        /* backends in rotation */
	size_t down;                     /* of which health holds down */
	size_t up_others;                /* of which up (serving), other than the one asked about */
};

/* Counts r for p around b (caller holds the lock). */
static void count_rotation(const struct pool *p, const struct backend *b, struct rotation *r)
{
	size_t i;

	*r = (struct rotation){ 0, 0, 0 };
	for (i = 0; i < p->nbackends; i++) {
		const struct backend *o = p->backends[i];
		int h = atomic_load(&o->health);

		if (atomic_load(&o->admin) != ADMIN_ACTIVE)
			continue;
		r->n++;
		r->down += h == HEALTH_DOWN;
		r->up_others += h == HEALTH_UP && o != b;
	}
}

/* 0 when health may take b (up or draining now) out of p; else 1 with the reason in why
 * (caller holds the lock). A backend out of rotation costs no capacity, so it may always
 * go; one in rotation goes only within max_down_percent of those in rotation and never
 * when it is the last one up: a pool emptied by health answers 503 to everything, while
 * a failing backend kept in may still answer some. */
static int down_refused(const struct backend *b, const struct pool *p, char *why, size_t len)
{
	unsigned pct = p->cfg->health.max_down_percent;
	struct rotation r;

	if (atomic_load(&b->admin) != ADMIN_ACTIVE)
		return 0;
	count_rotation(p, b, &r);
	if (!health_down_allowed(r.n, r.down, pct)) {
		snprintf(why, len, "max_down_percent %u allows %zu of %zu down and %zu already are "
			 "(backends in rotation)", pct, r.n * pct / 100, r.n, r.down);
		return 1;
	}
	if (r.up_others == 0) {
		snprintf(why, len, "it is the last backend of the pool in rotation");
		return 1;
	}
	return 0;
}

/* Records a change (caller holds the lock). health is stored last: a worker that sees
 * the new state also sees why. */
static void set_changed(struct backend *b, int health, enum health_reason why, long long now_ms)
{
	atomic_store(&b->hs.reason, (int)why);
	atomic_store(&b->hs.since_ms, now_ms);
	atomic_store(&b->health, health);
}

int health_mark_down(struct backend *b, const struct pool *p, enum health_reason why,
		     long long now_ms, long long until_ms, int trial, uint32_t eject_n,
		     const char *detail)
{
	int cur, renewed = 0;
	char refused[160];

	pthread_mutex_lock(&health_lock);
	cur = atomic_load(&b->health);
	if (cur == HEALTH_DOWN) {
		long long at = atomic_load(&b->retry_at_ms);

		/* a trial request failed: the hold starts again, longer */
		if (!(eject_n && at != 0 && now_ms >= at)) {
			pthread_mutex_unlock(&health_lock);
			return 0;
		}
		renewed = 1;
	} else if (p && down_refused(b, p, refused, sizeof(refused))) {
		int bit = why == HREASON_PASSIVE ? HKEPT_PASSIVE : HKEPT_CHECKS;
		int was_kept = atomic_fetch_or(&b->hs.kept, bit) & bit;

		pthread_mutex_unlock(&health_lock);
		if (!was_kept)
			log_warn("backend %s/%s (%s) stays in rotation: %s (%s)", b->pool_name, b->name,
				 b->addr.text, refused, detail);
		return -1;
	}
	atomic_store(&b->hs.kept, 0);
	if (eject_n) {
		atomic_store(&b->hs.ejections, eject_n);
		atomic_fetch_add(&b->hs.ejections_total, 1);
		atomic_store(&b->hs.ejected_at_ms, now_ms);
	}
	atomic_store(&b->hs.eject_until_ms, until_ms);
	atomic_store(&b->retry_at_ms, trial && until_ms ? until_ms : 0);
	atomic_store(&b->hs.warm_end_ms, 0);
	if (renewed)
		atomic_store(&b->hs.since_ms, now_ms);
	else
		set_changed(b, HEALTH_DOWN, why, now_ms);
	pthread_mutex_unlock(&health_lock);
	if (eject_n && !trial && p)
		/* with active checks the hold does not decide: passes after the ejection do */
		log_warn("backend %s/%s (%s) down: %s; ejected until %u check%s pass%s in a row "
			 "(ejection %u in a row)", b->pool_name, b->name, b->addr.text, detail,
			 p->cfg->health.rise, p->cfg->health.rise == 1 ? "" : "s",
			 p->cfg->health.rise == 1 ? "es" : "", eject_n);
	else if (eject_n)
		log_warn("backend %s/%s (%s) %s: %s; ejected for %.1f s (ejection %u in a row)",
			 b->pool_name, b->name, b->addr.text, renewed ? "still down" : "down", detail,
			 (until_ms - now_ms) / 1000.0, eject_n);
	else
		log_warn("backend %s/%s (%s) down: %s", b->pool_name, b->name, b->addr.text, detail);
	return 1;
}

int health_mark_up(struct backend *b, enum health_reason why, long long now_ms,
		   unsigned warm_ms, const char *detail)
{
	int cur;

	pthread_mutex_lock(&health_lock);
	cur = atomic_load(&b->health);
	if (cur == HEALTH_UP) {
		pthread_mutex_unlock(&health_lock);
		return 0;
	}
	if (cur != HEALTH_DOWN)
		warm_ms = 0;  /* a draining backend kept its connections: nothing is cold */
	atomic_store(&b->retry_at_ms, 0);
	atomic_store(&b->hs.eject_until_ms, 0);
	atomic_store(&b->hs.kept, 0);
	atomic_store(&b->hs.consec_errors, 0);
	atomic_store(&b->hs.consec_connect, 0);
	if (warm_ms) {
		/* length first: a worker that sees the end also sees the matching length */
		atomic_store(&b->hs.warm_ms, warm_ms);
		atomic_store(&b->hs.warm_end_ms, now_ms + warm_ms);
	}
	set_changed(b, HEALTH_UP, why, now_ms);
	pthread_mutex_unlock(&health_lock);
	if (warm_ms)
		log_info("backend %s/%s (%s) up: %s; warming up over %.1f s", b->pool_name, b->name,
			 b->addr.text, detail, warm_ms / 1000.0);
	else
		log_info("backend %s/%s (%s) up: %s", b->pool_name, b->name, b->addr.text, detail);
	return 1;
}

int health_mark_draining(struct backend *b, long long now_ms, const char *detail)
{
	pthread_mutex_lock(&health_lock);
	if (atomic_load(&b->health) != HEALTH_UP) {
		pthread_mutex_unlock(&health_lock);
		return 0;
	}
	atomic_store(&b->hs.warm_end_ms, 0);
	atomic_store(&b->hs.kept, 0);
	set_changed(b, HEALTH_DRAINING, HREASON_CHECK_DRAIN, now_ms);
	pthread_mutex_unlock(&health_lock);
	log_info("backend %s/%s (%s) draining: %s", b->pool_name, b->name, b->addr.text, detail);
	return 1;
}

void health_mark_added(struct backend *b, long long now_ms, int checked, unsigned warm_ms)
{
	pthread_mutex_lock(&health_lock);
	if (checked) {
		set_changed(b, HEALTH_DOWN, HREASON_ADDED, now_ms);
	} else {
		if (warm_ms) {
			atomic_store(&b->hs.warm_ms, warm_ms);
			atomic_store(&b->hs.warm_end_ms, now_ms + warm_ms);
		}
		set_changed(b, HEALTH_UP, HREASON_ADDED, now_ms);
	}
	pthread_mutex_unlock(&health_lock);
	if (checked)
		log_info("backend %s/%s (%s) added: waiting for its first check", b->pool_name,
			 b->name, b->addr.text);
	else if (warm_ms)
		log_info("backend %s/%s (%s) added: warming up over %.1f s", b->pool_name, b->name,
			 b->addr.text, warm_ms / 1000.0);
	else
		log_info("backend %s/%s (%s) added", b->pool_name, b->name, b->addr.text);
}

void health_checks_switched(struct backend *b, int checks_on, long long now_ms)
{
	int cur, up = 0;

	pthread_mutex_lock(&health_lock);
	cur = atomic_load(&b->health);
	if (checks_on) {
		/* the checks decide from now on, with their rise count */
		atomic_store(&b->retry_at_ms, 0);
	} else if (cur == HEALTH_DOWN) {
		long long until = atomic_load(&b->hs.eject_until_ms);

		/* nothing would ever check it again: give it the timed trial passive
		 * detection uses, after any hold still running */
		atomic_store(&b->retry_at_ms, until > now_ms ? until : now_ms);
	} else if (cur == HEALTH_DRAINING) {
		set_changed(b, HEALTH_UP, HREASON_CHECKS_OFF, now_ms);
		up = 1;
	}
	pthread_mutex_unlock(&health_lock);
	if (up)
		log_info("backend %s/%s (%s) up: health checks switched off while it was draining",
			 b->pool_name, b->name, b->addr.text);
}

void health_warm_check(struct backend *b, long long now_ms)
{
	long long end = atomic_load_explicit(&b->hs.warm_end_ms, memory_order_relaxed);

	if (end == 0 || now_ms < end)
		return;
	/* only the thread that clears it logs */
	if (atomic_compare_exchange_strong(&b->hs.warm_end_ms, &end, 0))
		log_info("backend %s/%s (%s) at full weight: slow start over", b->pool_name, b->name,
			 b->addr.text);
}

void health_clear_kept(struct backend *b)
{
	/* read first: this runs on every successful response */
	if (atomic_load_explicit(&b->hs.kept, memory_order_relaxed) & HKEPT_PASSIVE)
		atomic_fetch_and(&b->hs.kept, ~HKEPT_PASSIVE);
}

void health_clear_kept_checks(struct backend *b)
{
	if (atomic_load_explicit(&b->hs.kept, memory_order_relaxed) & HKEPT_CHECKS)
		atomic_fetch_and(&b->hs.kept, ~HKEPT_CHECKS);
}

void health_backend_view(const struct backend *b, long long now_ms, struct health_view *v)
{
	const struct backend_health *hs = &b->hs;
	int h = atomic_load(&b->health);

	v->weight_permille = health_backend_permille(b, now_ms);
	if (h == HEALTH_DOWN)
		v->state = "down";
	else if (h == HEALTH_DRAINING)
		v->state = "draining";
	else if (v->weight_permille < 1000)
		v->state = "warming";
	else
		v->state = "up";
	v->reason = health_reason_name(atomic_load(&hs->reason));
	v->since_ms = atomic_load(&hs->since_ms);
	v->effective_weight = health_ramp_scale(atomic_load(&b->weight), v->weight_permille);
	v->kept = atomic_load(&hs->kept) != 0;
	v->consec_errors = atomic_load(&hs->consec_errors);
	v->consec_connect = atomic_load(&hs->consec_connect);
	v->ejections = atomic_load(&hs->ejections);
	v->ejections_total = atomic_load(&hs->ejections_total);
	v->eject_until_ms = h == HEALTH_DOWN ? atomic_load(&hs->eject_until_ms) : 0;
	v->checks = atomic_load(&hs->checks);
	v->checks_failed = atomic_load(&hs->checks_failed);
	v->checks_excused = atomic_load(&hs->checks_excused);
	v->last_result = health_result_name(atomic_load(&hs->last_result));
	v->last_status = atomic_load(&hs->last_status);
	v->last_duration_ms = atomic_load(&hs->last_duration_ms);
	v->last_check_ms = atomic_load(&hs->last_check_ms);
}
