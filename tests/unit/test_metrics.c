/* test_metrics.c: unit tests of the counters (core/stats.c, include/stats.h) and of the
 * Prometheus exposition (control/metrics.c): histogram bucket edges, sums and the merge
 * of worker blocks; then a generation built by hand is rendered and read back by a
 * strict parser written here (every line a comment or `name{labels} value`, TYPE before
 * samples, escaped label values, cumulative buckets ending in +Inf equal to _count). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "ctl_metrics.h"
#include "generation.h"
#include "stats.h"

#define WORKERS 3

/* ---- the strict parser ---- */

struct sample {
	char name[128];
	char labels[512];                /* canonical: k="v" sorted by text, le left out */
	char le[32];                     /* "" when the sample has no le */
	double value;
};

struct family {
	char name[128];
	char type[16];
	int help, samples_seen, closed;
};

struct parsed {
	struct sample *s;
	size_t n, cap;
	struct family f[128];
	size_t nf;
};

static struct family *find_family(struct parsed *p, const char *name);
static const char *family_of(struct parsed *p, const char *name);
static void parse_exposition(const char *text, struct parsed *p);
static void check_histograms(struct parsed *p);
static double value_of(struct parsed *p, const char *name, const char *labels);
static const char *read_back(const char *text, struct parsed *p);

/* A refusal of the parser: the reason, then back to read_back. */
static jmp_buf refuse_jmp;
static char refuse_msg[1400];
#define REFUSE(...) do { snprintf(refuse_msg, sizeof(refuse_msg), __VA_ARGS__); \
			 longjmp(refuse_jmp, 1); } while (0)

/* Parses text and checks its histograms: NULL when it follows the format, else why not.
 * p->s is the caller's to free either way. */
static const char *read_back(const char *text, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	if (setjmp(refuse_jmp))
		return refuse_msg;
	parse_exposition(text, p);
	check_histograms(p);
	return NULL;
}

static struct family *find_family(struct parsed *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nf; i++)
		if (!strcmp(p->f[i].name, name))
			return &p->f[i];
	return NULL;
}

/* The family a sample name belongs to: histograms own _bucket, _sum and _count. */
static const char *family_of(struct parsed *p, const char *name)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	static char base[128];
	size_t i, n = strlen(name);

	for (i = 0; i < 3; i++) {
		size_t k = strlen(suffixes[i]);
		struct family *f;

		if (n > k && !strcmp(name + n - k, suffixes[i])) {
			snprintf(base, sizeof(base), "%.*s", (int)(n - k), name);
			if ((f = find_family(p, base)) && !strcmp(f->type, "histogram"))
				return base;
		}
	}
	return name;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parses `k="v",...` at *sp up to '}' into canonical text (le apart); fails the test on
 * any malformation. */
static void parse_labels(const char **sp, char *canon, size_t cap, char *le, int line)
{
	const char *s = *sp;
	char pairs[16][200], *sorted[16];
	size_t np = 0, i, len = 0;

	le[0] = '\0';
	while (*s != '}') {
		char key[64], val[128];
		size_t k = 0, v = 0;

		if (!(isalpha((unsigned char)*s) || *s == '_'))
			REFUSE("line %d: bad label name at '%.20s'", line, s);
		while ((isalnum((unsigned char)*s) || *s == '_') && k < sizeof(key) - 1)
			key[k++] = *s++;
		key[k] = '\0';
		if (s[0] != '=' || s[1] != '"')
			REFUSE("line %d: label %s without =\"", line, key);
		s += 2;
		while (*s != '"') {
			if (v >= sizeof(val) - 1)
				REFUSE("line %d: value of %s too long", line, key);
			if (*s == '\0' || *s == '\n')
				REFUSE("line %d: unterminated value of %s", line, key);
			if (*s == '\\') {
				if (s[1] != '\\' && s[1] != '"' && s[1] != 'n')
					REFUSE("line %d: bad escape \\%c in %s", line, s[1], key);
				val[v++] = s[1] == 'n' ? '\n' : s[1];
				s += 2;
				continue;
			}
			val[v++] = *s++;
		}
		val[v] = '\0';
		s++;
		if (!strcmp(key, "le"))
			snprintf(le, 32, "%.31s", val);
		else {
			assert_true(np < 16);
			snprintf(pairs[np], sizeof(pairs[np]), "%.63s=\"%.127s\"", key, val);
			sorted[np] = pairs[np];
			np++;
		}
		if (*s == ',')
			s++;
		else if (*s != '}')
			REFUSE("line %d: expected , or } after label %s", line, key);
	}
	qsort(sorted, np, sizeof(sorted[0]), cmp_str);
	canon[0] = '\0';
	for (i = 0; i < np; i++)
		len += (size_t)snprintf(canon + len, cap - len, "%s%s", i ? "," : "", sorted[i]);
	*sp = s + 1;
}

static void parse_exposition(const char *text, struct parsed *p)
{
	const char *line = text;
	struct family *current = NULL;
	int n = 0;

	if (!*text || text[strlen(text) - 1] != '\n')
		REFUSE("the text does not end with a newline");
	while (*line) {
		const char *end = strchr(line, '\n'), *s = line;
		struct sample smp;
		char *vend;
		size_t k = 0;

		n++;
		assert_non_null(end);
		if (end == line)
			REFUSE("line %d: empty", n);
		if (*s == '#') {
			char kind[8], name[128], rest[512];
			struct family *f;

			if (sscanf(s, "# %7s %127s %511[^\n]", kind, name, rest) < 3 ||
			    (strcmp(kind, "HELP") && strcmp(kind, "TYPE")))
				REFUSE("line %d: unexpected comment %.60s", n, s);
			f = find_family(p, name);
			if (!f) {
				assert_true(p->nf < 128);
				f = &p->f[p->nf++];
				snprintf(f->name, sizeof(f->name), "%s", name);
			}
			if (f->samples_seen)
				REFUSE("line %d: %s of %s after its samples", n, kind, name);
			if (!strcmp(kind, "TYPE")) {
				if (f->type[0])
					REFUSE("line %d: second TYPE of %s", n, name);
				if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram"))
					REFUSE("line %d: type %.15s", n, rest);
				snprintf(f->type, sizeof(f->type), "%.15s", rest);
			} else {
				if (f->help)
					REFUSE("line %d: second HELP of %s", n, name);
				f->help = 1;
			}
			line = end + 1;
			continue;
		}
		memset(&smp, 0, sizeof(smp));
		if (!(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
			REFUSE("line %d: not a sample: %.60s", n, s);
		while ((isalnum((unsigned char)*s) || *s == '_' || *s == ':') && k < sizeof(smp.name) - 1)
			smp.name[k++] = *s++;
		if (*s == '{') {
			s++;
			parse_labels(&s, smp.labels, sizeof(smp.labels), smp.le, n);
		}
		if (*s != ' ')
			REFUSE("line %d: no space before the value", n);
		s++;
		smp.value = strtod(s, &vend);
		if (vend == s || vend != end)
			REFUSE("line %d: bad value '%.*s'", n, (int)(end - s), s);
		{
			struct family *f = find_family(p, family_of(p, smp.name));

			if (!f || !f->type[0])
				REFUSE("line %d: sample %s before its TYPE", n, smp.name);
			if (f != current) {
				if (current)
					current->closed = 1;
				if (f->closed)
					REFUSE("line %d: samples of %s are not together", n, f->name);
				current = f;
			}
			f->samples_seen = 1;
			if (!strcmp(f->type, "counter") && !(smp.value >= 0))
				REFUSE("line %d: counter %s below 0", n, smp.name);
		}
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 256;
			p->s = realloc(p->s, p->cap * sizeof(*p->s));
			assert_non_null(p->s);
		}
		p->s[p->n++] = smp;
		line = end + 1;
	}
}

/* Every histogram series: le increasing, counts cumulative, last le +Inf = _count,
 * and a _sum. */
static void check_histograms(struct parsed *p)
{
	size_t i, j;

	for (i = 0; i < p->n; i++) {
		const struct sample *c = &p->s[i];
		char base[128], name[160];
		double prev_le = -1, prev = -1, inf = -1;
		int buckets = 0, have_sum = 0;
		double count = -1;
		size_t k = strlen(c->name);

		if (k < 7 || strcmp(c->name + k - 6, "_count") ||
		    strcmp(find_family(p, family_of(p, c->name))->type, "histogram"))
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(k - 6), c->name);
		count = c->value;
		snprintf(name, sizeof(name), "%s_bucket", base);
		for (j = 0; j < p->n; j++) {
			const struct sample *b = &p->s[j];

			if (strcmp(b->labels, c->labels))
				continue;
			if (!strcmp(b->name, name)) {
				double le = !strcmp(b->le, "+Inf") ? INFINITY : atof(b->le);

				if (!b->le[0] || le <= prev_le)
					REFUSE("%s{%s}: le %s not increasing", base, c->labels, b->le);
				if (b->value < prev)
					REFUSE("%s{%s}: buckets not cumulative", base, c->labels);
				prev_le = le;
				prev = b->value;
				buckets++;
				if (isinf(le))
					inf = b->value;
			} else if (!strncmp(b->name, base, strlen(base)) && !strcmp(b->name + strlen(base), "_sum")) {
				have_sum = 1;
			}
		}
		if (!isinf(prev_le))
			REFUSE("%s{%s}: buckets do not end with +Inf", base, c->labels);
		if (buckets != STATS_BUCKETS || !have_sum)
			REFUSE("%s{%s}: %d buckets, %s _sum", base, c->labels, buckets, have_sum ? "a" : "no");
		if (inf != count)
			REFUSE("%s{%s}: +Inf %g != _count %g", base, c->labels, inf, count);
	}
}

/* The value of name{labels} (labels canonical, le included as le="..." last), or NAN. */
static double value_of(struct parsed *p, const char *name, const char *labels)
{
	size_t i;
	const char *le = strstr(labels, "le=\"");
	char canon[512] = "", lev[32] = "";

	if (le) {
		snprintf(canon, sizeof(canon), "%.*s", (int)(le - labels - (le > labels ? 1 : 0)), labels);
		sscanf(le + 4, "%31[^\"]", lev);
	} else {
		snprintf(canon, sizeof(canon), "%s", labels);
	}
	for (i = 0; i < p->n; i++)
		if (!strcmp(p->s[i].name, name) && !strcmp(p->s[i].labels, canon) &&
		    !strcmp(p->s[i].le, lev))
			return p->s[i].value;
	return NAN;
}

/* ---- histogram ---- */

static void test_bucket_edges(void **state)
{
	unsigned i;

	/* a value equal to a bound falls in that bound's bucket (le = less or equal) */
	for (i = 0; i < STATS_BOUNDS; i++) {
		assert_int_equal(stats_bucket_of(stats_bound_us[i]), i);
		assert_int_equal(stats_bucket_of(stats_bound_us[i] + 1), i + 1);
		if (i > 0)
			assert_int_equal(stats_bucket_of(stats_bound_us[i] - 1), i);
	}
	assert_int_equal(stats_bucket_of(0), 0);
	assert_int_equal(stats_bucket_of(10000001), STATS_BOUNDS);
	assert_int_equal(stats_bucket_of(UINT64_MAX), STATS_BOUNDS);
	/* the contract's bounds, in seconds */
	assert_int_equal(stats_bound_us[0], 500);
	assert_int_equal(stats_bound_us[STATS_BOUNDS - 1], 10000000);
	for (i = 1; i < STATS_BOUNDS; i++)
		assert_true(stats_bound_us[i] > stats_bound_us[i - 1]);
}

static void test_observe_seconds(void **state)
{
	struct stats_hist h;
	struct stats_hist_sum s;

	memset(&h, 0, sizeof(h));
	stats_hist_observe(&h, 0.0005);      /* exactly 0.5 ms: the first bucket */
	stats_hist_observe(&h, 0.00050049);  /* rounds to 500 us: still the first */
	stats_hist_observe(&h, 0.0005006);   /* 501 us: the second */
	stats_hist_observe(&h, -1);          /* a clock step backwards counts as 0 */
	stats_hist_observe(&h, 10.0);        /* the last bound */
	stats_hist_observe(&h, 11.0);        /* +Inf */
	assert_int_equal(atomic_load(&h.bucket[0]), 3);
	assert_int_equal(atomic_load(&h.bucket[1]), 1);
	assert_int_equal(atomic_load(&h.bucket[STATS_BOUNDS - 1]), 1);
	assert_int_equal(atomic_load(&h.bucket[STATS_BOUNDS]), 1);
	assert_int_equal(atomic_load(&h.sum_us), 500 + 500 + 501 + 0 + 10000000 + 11000000);
	memset(&s, 0, sizeof(s));
	stats_hist_merge(&s, &h);
	stats_hist_finish(&s);
	assert_int_equal(s.cum[0], 3);
	assert_int_equal(s.cum[1], 4);
	assert_int_equal(s.cum[STATS_BOUNDS - 1], 5);
	assert_int_equal(s.cum[STATS_BOUNDS], 6);
}

static void test_status_class(void **state)
{
	assert_int_equal(stats_class_of(200), STATS_2XX);
	assert_int_equal(stats_class_of(299), STATS_2XX);
	assert_int_equal(stats_class_of(304), STATS_3XX);
	assert_int_equal(stats_class_of(404), STATS_4XX);
	assert_int_equal(stats_class_of(503), STATS_5XX);
	assert_int_equal(stats_class_of(599), STATS_5XX);
	assert_int_equal(stats_class_of(0), STATS_OTHER);
	assert_int_equal(stats_class_of(101), STATS_OTHER);
	assert_int_equal(stats_class_of(600), STATS_OTHER);
}

/* Worker blocks of one backend are summed field by field; a histogram merged from
 * several workers is cumulative over the union. */
static void test_merge_workers(void **state)
{
	struct cfg_backend cb = { .name = "web-1", .weight = 2, .max_conns = 4 };
	struct backend_stats_sum s;
	struct backend *b = backend_new(&cb, "flask");
	int w;

	assert_non_null(b);
	assert_int_equal(stats_workers(), WORKERS);
	for (w = 0; w < WORKERS; w++) {
		struct backend_stats *bs = stats_at(b->stats, w);

		stat_add(&bs->requests[STATS_2XX], 10 * (w + 1));
		stat_add(&bs->requests[STATS_5XX], 1);
		stat_add(&bs->errors, 1);
		stat_add(&bs->bytes_sent, 1000);
		stat_gauge_add(&bs->open, w == 0 ? 3 : -1);  /* opened on one worker, closed on others */
		stats_hist_observe_us(&bs->phase[STATS_TOTAL], 400u * (w + 1));  /* 400, 800, 1200 us */
	}
	/* each worker's block is its own: no two on one cache line */
	assert_true((char *)stats_at(b->stats, 1) - (char *)stats_at(b->stats, 0) >= 64);
	assert_int_equal((uintptr_t)stats_at(b->stats, 1) % 64, 0);
	stats_backend_sum(b, &s);
	assert_int_equal(s.requests[STATS_2XX], 60);
	assert_int_equal(s.requests[STATS_5XX], 3);
	assert_int_equal(s.errors, 3);
	assert_int_equal(s.bytes_sent, 3000);
	assert_int_equal(s.open, 1);
	assert_int_equal(s.phase[STATS_TOTAL].cum[0], 1);   /* 400 us <= 0.5 ms */
	assert_int_equal(s.phase[STATS_TOTAL].cum[1], 2);   /* 800 us <= 1 ms */
	assert_int_equal(s.phase[STATS_TOTAL].cum[2], 3);   /* 1200 us <= 2.5 ms */
	assert_int_equal(s.phase[STATS_TOTAL].cum[STATS_BOUNDS], 3);
	assert_int_equal(s.phase[STATS_TOTAL].sum_us, 2400);
	assert_int_equal(s.phase[STATS_QUEUE].cum[STATS_BOUNDS], 0);
	backend_unref(b);
}

/* Pool and listener blocks are kept by name: the same name gets the same blocks (a
 * reload keeps the counters), another name others. */
static void test_named_blocks(void **state)
{
	struct pool_stats *a = stats_pool_blocks("flask"), *b = stats_pool_blocks("flask");
	struct pool_stats *c = stats_pool_blocks("other");
	struct listener_stats *l = stats_listener_blocks("flask");

	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_ptr_not_equal((void *)a, (void *)l);
}

/* ---- exposition ---- */

static void test_exposition(void **state)
{
	struct cfg_backend cb[2] = { { .name = "web-1", .weight = 4, .max_conns = 4 },
				     { .name = "web-2", .weight = 2, .max_conns = 2 } };
	struct cfg_listener cl = { .name = "web" };
	struct listen_group lg;
	struct generation g;
	struct pool pool;
	struct backend *bs[2];
	struct gen_listener gl;
	struct parsed p;
	size_t len = 0;
	char *text;
	int w, i;

	memset(&g, 0, sizeof(g));
	memset(&pool, 0, sizeof(pool));
	memset(&gl, 0, sizeof(gl));
	memset(&lg, 0, sizeof(lg));
	/* a pool name that needs escaping, to see the label rule applied */
	pool.name = "fl\"a\\sk\n";
	pool.stats = stats_pool_blocks(pool.name);
	for (i = 0; i < 2; i++) {
		bs[i] = backend_new(&cb[i], pool.name);
		assert_non_null(bs[i]);
	}
	pool.backends = bs;
	pool.nbackends = 2;
	atomic_store(&pool.waiting, 2);
	gl.cfg = &cl;
	gl.group = &lg;
	gl.stats = stats_listener_blocks("web");
	atomic_store(&lg.active, 5);
	g.id = 7;
	g.pools = &pool;
	g.npools = 1;
	g.listeners = &gl;
	g.nlisteners = 1;
	atomic_store(&bs[1]->admin, ADMIN_DRAINING);
	atomic_store(&bs[1]->health, HEALTH_DOWN);
	for (w = 0; w < WORKERS; w++) {
		struct backend_stats *s = stats_at(bs[0]->stats, w);

		stat_add(&s->requests[STATS_2XX], 5);
		stat_add(&s->requests[STATS_4XX], 1);
		stat_add(&s->connects, 2);
		stats_hist_observe(&s->phase[STATS_TOTAL], 0.003 * (w + 1));  /* 3, 6, 9 ms */
		stats_hist_observe(&s->phase[STATS_FIRST_BYTE], 20.0);
		stat_add(&gl.stats[w].accepted, 4);
		stat_add(&gl.stats[w].requests[STATS_2XX], 5);
		stat_add(&pool.stats[w].no_backend, 1);
	}
	stats_check_done(bs[0], HRES_OK, 0.002);
	stats_check_done(bs[0], HRES_TIMEOUT, 1.0);

	text = ctl_metrics_render(&g, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	{
		const char *why = read_back(text, &p);

		if (why)
			fail_msg("the exposition is refused: %s", why);
	}

/* canonical labels hold values unescaped: the parser checked the escapes */
#define POOL "pool=\"fl\"a\\sk\n\""
	/* labels sorted as text: backend, code/phase/state..., pool */
	assert_true(value_of(&p, "fulcrum_backend_requests_total", "backend=\"web-1\",code=\"2xx\"," POOL) == 15);
	assert_true(value_of(&p, "fulcrum_backend_requests_total", "backend=\"web-1\",code=\"4xx\"," POOL) == 3);
	assert_true(value_of(&p, "fulcrum_backend_requests_total", "backend=\"web-2\",code=\"2xx\"," POOL) == 0);
	assert_true(value_of(&p, "fulcrum_backend_connections_total", "backend=\"web-1\"," POOL) == 6);
	assert_true(value_of(&p, "fulcrum_backend_response_seconds_bucket",
			     "backend=\"web-1\",phase=\"total\"," POOL ",le=\"0.0025\"") == 0);
	assert_true(value_of(&p, "fulcrum_backend_response_seconds_bucket",
			     "backend=\"web-1\",phase=\"total\"," POOL ",le=\"0.005\"") == 1);
	assert_true(value_of(&p, "fulcrum_backend_response_seconds_bucket",
			     "backend=\"web-1\",phase=\"total\"," POOL ",le=\"0.01\"") == 3);
	assert_true(value_of(&p, "fulcrum_backend_response_seconds_bucket",
			     "backend=\"web-1\",phase=\"first_byte\"," POOL ",le=\"10\"") == 0);
	assert_true(value_of(&p, "fulcrum_backend_response_seconds_bucket",
			     "backend=\"web-1\",phase=\"first_byte\"," POOL ",le=\"+Inf\"") == 3);
	assert_true(fabs(value_of(&p, "fulcrum_backend_response_seconds_sum",
				  "backend=\"web-1\",phase=\"total\"," POOL) - 0.018) < 1e-9);
	assert_true(value_of(&p, "fulcrum_backend_response_seconds_count",
			     "backend=\"web-1\",phase=\"total\"," POOL) == 3);
	assert_true(value_of(&p, "fulcrum_backend_health_state", "backend=\"web-1\"," POOL ",state=\"up\"") == 1);
	assert_true(value_of(&p, "fulcrum_backend_health_state", "backend=\"web-2\"," POOL ",state=\"down\"") == 1);
	assert_true(value_of(&p, "fulcrum_backend_health_state", "backend=\"web-2\"," POOL ",state=\"up\"") == 0);
	assert_true(value_of(&p, "fulcrum_backend_admin_state", "backend=\"web-2\"," POOL ",state=\"draining\"") == 1);
	assert_true(value_of(&p, "fulcrum_backend_admin_state", "backend=\"web-2\"," POOL ",state=\"active\"") == 0);
	assert_true(value_of(&p, "fulcrum_backend_weight", "backend=\"web-1\"," POOL) == 4);
	assert_true(value_of(&p, "fulcrum_backend_effective_weight", "backend=\"web-1\"," POOL) == 4);
	assert_true(value_of(&p, "fulcrum_backend_health_checks_total", "backend=\"web-1\"," POOL ",result=\"success\"") == 1);
	assert_true(value_of(&p, "fulcrum_backend_health_checks_total", "backend=\"web-1\"," POOL ",result=\"timeout\"") == 1);
	assert_true(value_of(&p, "fulcrum_backend_health_check_duration_seconds_count", "backend=\"web-1\"," POOL) == 2);
	assert_true(value_of(&p, "fulcrum_backend_health_check_duration_seconds_bucket",
			     "backend=\"web-1\"," POOL ",le=\"0.0025\"") == 1);
	assert_true(value_of(&p, "fulcrum_pool_queued_requests", POOL) == 2);
	assert_true(value_of(&p, "fulcrum_pool_no_backend_total", POOL) == 3);
	assert_true(value_of(&p, "fulcrum_listener_connections_accepted_total", "listener=\"web\"") == 12);
	assert_true(value_of(&p, "fulcrum_listener_active_connections", "listener=\"web\"") == 5);
	assert_true(value_of(&p, "fulcrum_listener_requests_total", "code=\"2xx\",listener=\"web\"") == 15);
	assert_true(value_of(&p, "fulcrum_config_generation", "") == 7);
	assert_true(value_of(&p, "fulcrum_workers", "") == WORKERS);
	assert_true(value_of(&p, "process_open_fds", "") > 2);
	assert_true(value_of(&p, "process_resident_memory_bytes", "") > 100000);
	assert_true(value_of(&p, "fulcrum_reloads_total", "result=\"success\"") == 0);
	/* every family has HELP and TYPE, and the contract's names are all there */
	for (i = 0; i < (int)p.nf; i++)
		if (!p.f[i].help || !p.f[i].type[0])
			fail_msg("family %s lacks HELP or TYPE", p.f[i].name);
	{
		static const char *const names[] = {
			"fulcrum_backend_requests_total", "fulcrum_backend_active_requests",
			"fulcrum_backend_connections_total", "fulcrum_backend_open_connections",
			"fulcrum_backend_connect_failures_total", "fulcrum_backend_response_seconds",
			"fulcrum_backend_bytes_total", "fulcrum_backend_health_state",
			"fulcrum_backend_admin_state", "fulcrum_backend_effective_weight",
			"fulcrum_backend_weight", "fulcrum_backend_health_checks_total",
			"fulcrum_backend_health_check_duration_seconds", "fulcrum_backend_ejections_total",
			"fulcrum_pool_queued_requests", "fulcrum_pool_queue_timeouts_total",
			"fulcrum_pool_no_backend_total", "fulcrum_listener_connections_accepted_total",
			"fulcrum_listener_active_connections", "fulcrum_listener_requests_total",
			"fulcrum_listener_tls_handshakes_total", "fulcrum_listener_tls_handshake_failures_total",
			"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
			"process_max_fds", "process_start_time_seconds", "fulcrum_config_generation",
			"fulcrum_reloads_total", "fulcrum_uptime_seconds", "fulcrum_build_info",
			"fulcrum_workers",
		};
		for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
			if (!find_family(&p, names[i]))
				fail_msg("no family %s", names[i]);
	}
	free(p.s);
	free(text);
	for (i = 0; i < 2; i++)
		backend_unref(bs[i]);
}

/* Per-route families: each route's blocks summed over the workers, by status class and
 * as a histogram with the backend buckets; the same names get the same blocks. */
static void test_route_metrics(void **state)
{
	struct cfg_route routes[2] = { { .name = "canary" }, { .name = "robots" } };
	struct cfg_listener cl = { .name = "edge", .routes = routes, .nroutes = 2 };
	struct route_stats *rs[2] = { stats_route_blocks("edge", "canary"), stats_route_blocks("edge", "robots") };
	struct listen_group lg;
	struct generation g;
	struct gen_listener gl;
	struct parsed p;
	size_t len = 0;
	char *text;
	int w;

	assert_non_null(rs[0]);
	assert_ptr_equal(rs[0], stats_route_blocks("edge", "canary"));
	assert_ptr_not_equal(rs[0], rs[1]);
	assert_ptr_not_equal(rs[0], stats_route_blocks("edge2", "canary"));
	memset(&g, 0, sizeof(g));
	memset(&gl, 0, sizeof(gl));
	memset(&lg, 0, sizeof(lg));
	gl.cfg = &cl;
	gl.group = &lg;
	gl.stats = stats_listener_blocks("edge");
	gl.route_stats = rs;
	g.listeners = &gl;
	g.nlisteners = 1;
	for (w = 0; w < WORKERS; w++) {
		stat_add(&rs[0][w].requests[STATS_2XX], 4);
		stat_add(&rs[0][w].requests[STATS_5XX], 1);
		stats_hist_observe(&rs[0][w].duration, 0.003 * (w + 1));  /* 3, 6, 9 ms */
		stat_add(&rs[1][w].requests[STATS_3XX], 2);
	}
	text = ctl_metrics_render(&g, &len);
	assert_non_null(text);
	{
		const char *why = read_back(text, &p);

		if (why)
			fail_msg("the exposition is refused: %s", why);
	}
#define RL(r) "listener=\"edge\",route=\"" r "\""
	assert_true(value_of(&p, "fulcrum_route_requests_total", "code_class=\"2xx\"," RL("canary")) == 12);
	assert_true(value_of(&p, "fulcrum_route_requests_total", "code_class=\"5xx\"," RL("canary")) == 3);
	assert_true(value_of(&p, "fulcrum_route_requests_total", "code_class=\"4xx\"," RL("canary")) == 0);
	assert_true(value_of(&p, "fulcrum_route_requests_total", "code_class=\"3xx\"," RL("robots")) == 6);
	assert_true(value_of(&p, "fulcrum_route_request_duration_seconds_bucket", RL("canary") ",le=\"0.005\"") == 1);
	assert_true(value_of(&p, "fulcrum_route_request_duration_seconds_bucket", RL("canary") ",le=\"0.01\"") == 3);
	assert_true(value_of(&p, "fulcrum_route_request_duration_seconds_count", RL("canary")) == 3);
	assert_true(fabs(value_of(&p, "fulcrum_route_request_duration_seconds_sum", RL("canary")) - 0.018) < 1e-9);
	assert_true(value_of(&p, "fulcrum_route_request_duration_seconds_count", RL("robots")) == 0);
#undef RL
	free(p.s);
	free(text);
	/* without routes the families are not written */
	gl.cfg = &(struct cfg_listener){ .name = "edge" };
	gl.route_stats = NULL;
	text = ctl_metrics_render(&g, &len);
	assert_non_null(text);
	assert_null(strstr(text, "fulcrum_route_"));
	free(text);
}

/* The parser itself must refuse what the format forbids, or the test above proves nothing. */
static void test_parser_is_strict(void **state)
{
	static const char *const bad[] = {
		"# TYPE a gauge\na{x=\"\\q\"} 1\n",                    /* bad escape */
		"# TYPE a gauge\na{x=\"1\"\n",                           /* unterminated labels */
		"a 1\n",                                                  /* no TYPE */
		"# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 2\n", /* samples apart */
		"# TYPE a gauge\na 1\n# HELP a late\n",                   /* HELP after samples */
		"# TYPE a counter\na -1\n",                               /* negative counter */
		"# TYPE a gauge\na one\n",                                /* not a number */
		"# TYPE a gauge\na 1",                                    /* no final newline */
		"# TYPE a gauge\n\na 1\n",                                /* empty line */
	};
	struct stats_hist_sum h;
	struct parsed p;
	char buf[4096];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = read_back(bad[i], &p);

		free(p.s);
		if (!why)
			fail_msg("accepted: %s", bad[i]);
	}
	/* histograms: not cumulative; +Inf different from _count; no +Inf */
	for (i = 0; i < 3; i++) {
		unsigned k;

		memset(&h, 0, sizeof(h));
		n = (size_t)snprintf(buf, sizeof(buf), "# TYPE h histogram\n");
		for (k = 0; k < STATS_BOUNDS; k++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "h_bucket{le=\"%g\"} %u\n",
					      stats_bound_us[k] / 1e6, i == 0 && k == 3 ? 0u : 5u);
		snprintf(buf + n, sizeof(buf) - n, "%sh_sum 1\nh_count %d\n",
			 i == 2 ? "" : "h_bucket{le=\"+Inf\"} 5\n", i == 1 ? 6 : 5);
		if (!read_back(buf, &p))
			fail_msg("accepted histogram case %zu", i);
		free(p.s);
	}
	/* and the same histogram done right passes */
	n = (size_t)snprintf(buf, sizeof(buf), "# HELP h x\n# TYPE h histogram\n");
	for (i = 0; i < STATS_BOUNDS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "h_bucket{le=\"%g\"} 5\n",
				      stats_bound_us[i] / 1e6);
	snprintf(buf + n, sizeof(buf) - n, "h_bucket{le=\"+Inf\"} 5\nh_sum 1\nh_count 5\n");
	if (read_back(buf, &p))
		fail_msg("refused a good histogram: %s", refuse_msg);
	free(p.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_observe_seconds),
		cmocka_unit_test(test_status_class),
		cmocka_unit_test(test_merge_workers),
		cmocka_unit_test(test_named_blocks),
		cmocka_unit_test(test_exposition),
		cmocka_unit_test(test_route_metrics),
		cmocka_unit_test(test_parser_is_strict),
	};

	stats_set_workers(WORKERS);
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
