/* cache_policy.c: the decisions of cache_policy.h: Cache-Control and Pragma of a request,
 * storability and entry times of a response, an entry's state, conditional requests. */
#include <string.h>

#include "cache_policy.h"
#include "cache_vary.h"
#include "http_date.h"

#define CC_ABSENT  (-1)  /* a delta-seconds directive not seen */
#define CC_INVALID (-2)  /* seen with a bad value, or twice with different values */

#define CC_NO_STORE         0x001
#define CC_NO_CACHE         0x002
#define CC_PRIVATE          0x004
#define CC_PUBLIC           0x008
#define CC_MUST_REVALIDATE  0x010
#define CC_PROXY_REVALIDATE 0x020
#define CC_ONLY_IF_CACHED   0x040
#define CC_PRESENT          0x080  /* at least one Cache-Control field */

/* The directives of all Cache-Control fields of one head. */
struct cc_seen {
	unsigned bits;              /* CC_* */
	int64_t max_age, s_maxage, swr, sie, max_stale, min_fresh;  /* or CC_ABSENT/INVALID */
};

static int list_next(const char *base, struct http_slice v, uint32_t *pos, struct http_slice *el);
static int64_t delta_parse(const char *base, struct http_slice s);
static void delta_set(int64_t *slot, int64_t v);
static void cc_directive(const char *base, struct http_slice el, struct cc_seen *cc);
static void cc_parse(const char *base, const struct http_head *h, struct cc_seen *cc);
static const struct http_header *field_find(const char *base, const struct http_head *h,
					    const char *name, uint32_t *count);
static int field_date(const char *base, const struct http_head *h, const char *name, int64_t *t);
static int status_heuristic(int status);
static int64_t age_add(int64_t a, int64_t b);
static int64_t age_sub(int64_t a, int64_t b);
static int etag_list_match(const char *base, struct http_slice v, const char *tag_base,
			   struct http_slice tag);

/* The next element of the comma-separated list v from *pos: OWS and empty elements
 * skipped, commas inside a quoted-string kept. 1 and *el (trailing OWS excluded), or 0. */
static int list_next(const char *base, struct http_slice v, uint32_t *pos, struct http_slice *el)
{
	const char *s = base + v.off;
	uint32_t p = *pos, start, end;
	int quoted = 0;

	while (p < v.len && (s[p] == ',' || s[p] == ' ' || s[p] == '\t'))
		p++;
	if (p >= v.len) {
		*pos = p;
		return 0;
	}
	start = p;
	for (; p < v.len && (quoted || s[p] != ','); p++) {
		if (s[p] == '"')
			quoted = !quoted;
		else if (quoted && s[p] == '\\' && p + 1 < v.len)
			p++;
	}
	end = p;
	while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		end--;
	*pos = p;
	el->off = v.off + start;
	el->len = end - start;
	return 1;
}

/* delta-seconds (RFC 9111 1.2.2): digits only, capped at CACHE_DELTA_MAX; -1 if bad. */
static int64_t delta_parse(const char *base, struct http_slice s)
{
	int64_t v = 0;
	uint32_t i;

	if (s.len == 0)
		return -1;
	for (i = 0; i < s.len; i++) {
		char c = base[s.off + i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
		if (v > CACHE_DELTA_MAX)
			v = CACHE_DELTA_MAX;  /* stays small enough for the next * 10 */
	}
	return v;
}

/* Records a delta directive: a bad value, or a second different one, makes it invalid
 * (RFC 9111 4.2.1: such a response is stale). */
static void delta_set(int64_t *slot, int64_t v)
{
	if (v < 0)
		*slot = CC_INVALID;
	else if (*slot == CC_ABSENT)
		*slot = v;
	else if (*slot != v)
		*slot = CC_INVALID;
}

/* One directive, name[=token|quoted-string]; names are case-insensitive, unknown ones
 * ignored (RFC 9111 5.2.3). */
static void cc_directive(const char *base, struct http_slice el, struct cc_seen *cc)
{
	const char *s = base + el.off;
	const char *eq = memchr(s, '=', el.len);
	struct http_slice name = el, arg = { 0, 0 };
	int has_arg = eq != NULL;

	if (eq) {
		name.len = (uint32_t)(eq - s);
		arg.off = el.off + name.len + 1;
		arg.len = el.len - name.len - 1;
		while (name.len && (s[name.len - 1] == ' ' || s[name.len - 1] == '\t'))
			name.len--;
		while (arg.len && (base[arg.off] == ' ' || base[arg.off] == '\t')) {
			arg.off++;
			arg.len--;
		}
		if (arg.len >= 2 && base[arg.off] == '"' && base[arg.off + arg.len - 1] == '"') {
			arg.off++;
			arg.len -= 2;
		}
	}
	if (http_slice_eq(base, name, "no-store"))
		cc->bits |= CC_NO_STORE;
	else if (http_slice_eq(base, name, "no-cache"))
		cc->bits |= CC_NO_CACHE;  /* the qualified form is taken as the whole */
	else if (http_slice_eq(base, name, "private"))
		cc->bits |= CC_PRIVATE;   /* likewise (RFC 9111 5.2.2.7 allows it) */
	else if (http_slice_eq(base, name, "public"))
		cc->bits |= CC_PUBLIC;
	else if (http_slice_eq(base, name, "must-revalidate"))
		cc->bits |= CC_MUST_REVALIDATE;
	else if (http_slice_eq(base, name, "proxy-revalidate"))
		cc->bits |= CC_PROXY_REVALIDATE;
	else if (http_slice_eq(base, name, "only-if-cached"))
		cc->bits |= CC_ONLY_IF_CACHED;
	else if (http_slice_eq(base, name, "max-age"))
		delta_set(&cc->max_age, has_arg ? delta_parse(base, arg) : -1);
	else if (http_slice_eq(base, name, "s-maxage"))
		delta_set(&cc->s_maxage, has_arg ? delta_parse(base, arg) : -1);
	else if (http_slice_eq(base, name, "stale-while-revalidate"))
		delta_set(&cc->swr, has_arg ? delta_parse(base, arg) : -1);
	else if (http_slice_eq(base, name, "stale-if-error"))
		delta_set(&cc->sie, has_arg ? delta_parse(base, arg) : -1);
	else if (http_slice_eq(base, name, "max-stale"))
		delta_set(&cc->max_stale, has_arg ? delta_parse(base, arg) : CACHE_DELTA_MAX);
	else if (http_slice_eq(base, name, "min-fresh"))
		delta_set(&cc->min_fresh, has_arg ? delta_parse(base, arg) : -1);
}

/* Every Cache-Control field of h, as one list (RFC 9110 5.3). */
static void cc_parse(const char *base, const struct http_head *h, struct cc_seen *cc)
{
	uint32_t i, pos;
	struct http_slice el;

	memset(cc, 0, sizeof(*cc));
	cc->max_age = cc->s_maxage = cc->swr = cc->sie = CC_ABSENT;
	cc->max_stale = cc->min_fresh = CC_ABSENT;
	for (i = 0; i < h->nheaders; i++) {
		if (!http_slice_eq(base, h->headers[i].name, "cache-control"))
			continue;
		cc->bits |= CC_PRESENT;
		pos = 0;
		while (list_next(base, h->headers[i].value, &pos, &el))
			cc_directive(base, el, cc);
	}
}

/* The first field called name (lower case) and, in *count if not NULL, how many. */
static const struct http_header *field_find(const char *base, const struct http_head *h,
					    const char *name, uint32_t *count)
{
	const struct http_header *first = NULL;
	uint32_t i, n = 0;

	for (i = 0; i < h->nheaders; i++) {
		if (!http_slice_eq(base, h->headers[i].name, name))
			continue;
		if (!first)
			first = &h->headers[i];
		n++;
	}
	if (count)
		*count = n;
	return first;
}

/* The HTTP-date of the single field name: 0 and *t, or -1 (absent, several, invalid). */
static int field_date(const char *base, const struct http_head *h, const char *name, int64_t *t)
{
	uint32_t n;
	const struct http_header *f = field_find(base, h, name, &n);

	if (n != 1)
		return -1;
	return http_date_parse(base + f->value.off, f->value.len, t);
}

/* Statuses cacheable by default (RFC 9110 15.1), 206 left out: no ranges here. */
static int status_heuristic(int status)
{
	switch (status) {
	case 200: case 203: case 204: case 300: case 301: case 308:
	case 404: case 405: case 410: case 414: case 501:
		return 1;
	default:
		return 0;
	}
}

/* a + b for ages and times (b may be negative), kept within 0..CACHE_DELTA_MAX. */
static int64_t age_add(int64_t a, int64_t b)
{
	int64_t v;

	if (__builtin_add_overflow(a, b, &v))
		return b < 0 ? 0 : CACHE_DELTA_MAX;
	return v < 0 ? 0 : v > CACHE_DELTA_MAX ? CACHE_DELTA_MAX : v;
}

/* a - b as age_add does it (b may be any time the caller passed in). */
static int64_t age_sub(int64_t a, int64_t b)
{
	int64_t v;

	if (__builtin_sub_overflow(a, b, &v))
		return b > 0 ? 0 : CACHE_DELTA_MAX;
	return age_add(v, 0);
}

void cache_request_class(const char *base, const struct http_head *h, int allow_authorization,
			 struct cache_request *rq)
{
	struct cc_seen cc;
	const struct http_header *pragma;

	memset(rq, 0, sizeof(*rq));
	rq->method = h->method_id;
	rq->max_age = rq->max_stale = -1;
	cc_parse(base, h, &cc);
	if (h->method_id != HTTP_M_GET && h->method_id != HTTP_M_HEAD)
		rq->bypass = CACHE_BYPASS_METHOD;
	else if (cc.bits & CC_NO_STORE)
		rq->bypass = CACHE_BYPASS_NO_STORE;
	else if (field_find(base, h, "range", NULL))
		rq->bypass = CACHE_BYPASS_RANGE;
	else if (field_find(base, h, "if-match", NULL) || field_find(base, h, "if-unmodified-since", NULL))
		rq->bypass = CACHE_BYPASS_PRECONDITION;
	else if (field_find(base, h, "authorization", NULL)) {
		if (allow_authorization)
			rq->flags |= CACHE_RQ_AUTHORIZATION;
		else
			rq->bypass = CACHE_BYPASS_AUTHORIZATION;
	}
	if (cc.bits & CC_NO_CACHE)
		rq->flags |= CACHE_RQ_REVALIDATE;
	if (cc.bits & CC_ONLY_IF_CACHED)
		rq->flags |= CACHE_RQ_ONLY_IF_CACHED;
	if (cc.max_age == CC_INVALID || cc.max_age == 0) {
		rq->flags |= CACHE_RQ_REVALIDATE;  /* a bad max-age asks for nothing older */
		rq->max_age = 0;
	} else if (cc.max_age > 0) {
		rq->max_age = cc.max_age;
	}
	if (cc.max_stale >= 0)
		rq->max_stale = cc.max_stale;
	if (cc.min_fresh > 0)
		rq->min_fresh = cc.min_fresh;
	/* Pragma counts only without Cache-Control (RFC 9111 5.4 and its history) */
	pragma = field_find(base, h, "pragma", NULL);
	if (pragma && !(cc.bits & CC_PRESENT)) {
		uint32_t i, pos;
		struct http_slice el;

		for (i = 0; i < h->nheaders; i++) {
			if (!http_slice_eq(base, h->headers[i].name, "pragma"))
				continue;
			pos = 0;
			while (list_next(base, h->headers[i].value, &pos, &el))
				if (http_slice_eq(base, el, "no-cache"))
					rq->flags |= CACHE_RQ_REVALIDATE;
		}
	}
}

int cache_response_policy(const struct cache_request *rq, const char *base,
			  const struct http_head *h, int64_t request_time, int64_t response_time,
			  const struct cache_defaults *d, struct cache_entry *e)
{
	struct cc_seen cc;
	struct cache_vary vary;
	const struct http_header *f;
	int64_t date, expires, age = 0;
	int explicit = 1;

	memset(e, 0, sizeof(*e));
	if (rq->bypass != CACHE_BYPASS_NONE || rq->method != HTTP_M_GET)
		return CACHE_NOSTORE_REQUEST;
	if (h->status < 200 || h->status > 599 || h->status == 206 || h->status == 304)
		return CACHE_NOSTORE_STATUS;
	cc_parse(base, h, &cc);
	if (cc.bits & CC_NO_STORE)
		return CACHE_NOSTORE_NO_STORE;
	if (cc.bits & CC_PRIVATE)
		return CACHE_NOSTORE_PRIVATE;
	if (cache_vary_parse(base, h, &vary) != 0 || vary.star)
		return CACHE_NOSTORE_VARY;
	if (!d->allow_set_cookie && field_find(base, h, "set-cookie", NULL))
		return CACHE_NOSTORE_SET_COOKIE;
	if ((rq->flags & CACHE_RQ_AUTHORIZATION) &&
	    !(cc.bits & (CC_PUBLIC | CC_MUST_REVALIDATE)) && cc.s_maxage == CC_ABSENT)
		return CACHE_NOSTORE_AUTHORIZATION;

	if (field_date(base, h, "date", &date) != 0)
		date = response_time;  /* RFC 9110 6.6.1: a recipient may use its own time */
	if (cc.s_maxage != CC_ABSENT)
		e->lifetime = cc.s_maxage < 0 ? 0 : cc.s_maxage;
	else if (cc.max_age != CC_ABSENT)
		e->lifetime = cc.max_age < 0 ? 0 : cc.max_age;
	else if (field_find(base, h, "expires", NULL))
		e->lifetime = field_date(base, h, "expires", &expires) == 0 ? age_sub(expires, date) : 0;
	else
		explicit = 0;
	if (!explicit) {
		if (!status_heuristic(h->status) && !(cc.bits & CC_PUBLIC))
			return CACHE_NOSTORE_STATUS;
		if (d->default_ttl > 0)
			e->lifetime = age_add(d->default_ttl, 0);
		else if (!(cc.bits & CC_NO_CACHE))
			return CACHE_NOSTORE_NO_FRESHNESS;
		if (d->default_ttl > 0)
			e->flags |= CACHE_E_HEURISTIC;
	}

	/* RFC 9111 4.2.3: the age the response already had when it arrived */
	f = field_find(base, h, "age", NULL);
	if (f) {
		uint32_t pos = 0;
		struct http_slice el;

		if (list_next(base, f->value, &pos, &el) && (age = delta_parse(base, el)) < 0)
			age = 0;
	}
	e->response_time = response_time;
	/* apparent_age, less the one second the two whole-second clocks may differ by
	 * without any age (Date is truncated at the origin, response_time here): a
	 * max-age=1 answer that crossed a second boundary in 5 ms is not 1 s old */
	e->initial_age = age_sub(age_sub(response_time, date), 1);
	age = age_add(age, age_sub(response_time, request_time));
	if (age > e->initial_age)
		e->initial_age = age;

	if (cc.bits & CC_NO_CACHE)
		e->flags |= CACHE_E_NO_CACHE | CACHE_E_NO_STALE;
	if (cc.bits & (CC_MUST_REVALIDATE | CC_PROXY_REVALIDATE))
		e->flags |= CACHE_E_NO_STALE;
	/* the response's own windows win; s-maxage implies proxy-revalidate (RFC 9111
	 * 5.2.2.10), so the pool's defaults do not stretch it */
	if (cc.swr >= 0)
		e->swr = cc.swr;
	else if (cc.swr == CC_ABSENT && cc.s_maxage == CC_ABSENT)
		e->swr = age_add(d->stale_while_revalidate, 0);
	if (cc.sie >= 0)
		e->sie = cc.sie;
	else if (cc.sie == CC_ABSENT && cc.s_maxage == CC_ABSENT)
		e->sie = age_add(d->stale_if_error, 0);

	if ((f = field_find(base, h, "etag", NULL)) != NULL)
		e->etag = f->value;
	if ((f = field_find(base, h, "last-modified", NULL)) != NULL)
		e->last_modified = f->value;
	return CACHE_STORE;
}

int cache_entry_state(const struct cache_entry *e, const struct cache_request *rq, int64_t now,
		      int64_t *age)
{
	int64_t lifetime = (e->flags & CACHE_E_NO_CACHE) ? 0 : e->lifetime;
	int64_t stale;
	int revalidate = 0;

	/* RFC 9111 4.2.3: current_age = corrected_initial_age + resident_time; a clock
	 * stepped back gives a resident time of 0, not a younger entry */
	*age = age_add(e->initial_age, age_sub(now, e->response_time));
	if (rq && ((rq->flags & CACHE_RQ_REVALIDATE) || (rq->max_age >= 0 && *age > rq->max_age)))
		revalidate = 1;
	if (!revalidate && lifetime - *age > (rq ? rq->min_fresh : 0))
		return CACHE_FRESH;
	stale = age_sub(*age, lifetime);
	if (e->flags & CACHE_E_NO_STALE)
		return CACHE_EXPIRED;
	if (!revalidate && rq && rq->max_stale >= 0 && stale <= rq->max_stale)
		return CACHE_FRESH;
	if (!revalidate && stale < e->swr)
		return CACHE_STALE_REVALIDATE;
	if (stale < e->sie)
		return CACHE_STALE_IF_ERROR;
	return CACHE_EXPIRED;
}

/* Whether the If-None-Match value v lists tag (weak comparison, RFC 9110 8.8.3.2) or
 * '*'. An element that is not an entity-tag matches nothing. */
static int etag_list_match(const char *base, struct http_slice v, const char *tag_base,
			   struct http_slice tag)
{
	const char *t = tag_base + tag.off;
	uint32_t tlen = tag.len, pos = 0;
	struct http_slice el;

	if (tlen >= 2 && t[0] == 'W' && t[1] == '/') {
		t += 2;
		tlen -= 2;
	}
	while (list_next(base, v, &pos, &el)) {
		const char *s = base + el.off;
		uint32_t n = el.len;

		if (n == 1 && s[0] == '*')
			return 1;
		if (n >= 2 && s[0] == 'W' && s[1] == '/') {
			s += 2;
			n -= 2;
		}
		if (n >= 2 && s[0] == '"' && s[n - 1] == '"' && memchr(s + 1, '"', n - 2) == NULL &&
		    n == tlen && memcmp(s, t, n) == 0)
			return 1;
	}
	return 0;
}

int cache_conditional(const char *rq_base, const struct http_head *rq, const char *rs_base,
		      const struct http_head *rs, int64_t now)
{
	const struct http_header *etag = field_find(rs_base, rs, "etag", NULL);
	struct http_slice none = { 0, 0 };
	int64_t since, modified;
	uint32_t i;
	int seen = 0;

	for (i = 0; i < rq->nheaders; i++) {
		if (!http_slice_eq(rq_base, rq->headers[i].name, "if-none-match"))
			continue;
		seen = 1;
		if (etag_list_match(rq_base, rq->headers[i].value, rs_base, etag ? etag->value : none))
			return CACHE_COND_NOT_MODIFIED;
	}
	if (seen)
		return CACHE_COND_FULL;
	/* If-Modified-Since only without If-None-Match (RFC 9110 13.1.3); a date that is
	 * invalid or in the future is ignored */
	if (field_date(rq_base, rq, "if-modified-since", &since) != 0 || since > now)
		return CACHE_COND_NONE;
	if (field_date(rs_base, rs, "last-modified", &modified) != 0 &&
	    field_date(rs_base, rs, "date", &modified) != 0)
		return CACHE_COND_FULL;
	return modified <= since ? CACHE_COND_NOT_MODIFIED : CACHE_COND_FULL;
}
