/* test_access_line.c: unit tests of lb/access_line.c: the access-log line, written
 * without printf, must be byte for byte what the documented printf formats give (the
 * way fulcrum wrote it before), for JSON and combined lines over random requests:
 * IPv4/IPv6 peers, escaped and cut paths, missing pool/backend/timings, rounding ties. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access_line.h"
#include "config.h"
#include "conn.h"
#include "http_cache.h"
#include "worker.h"

/* ---- the reference: the printf formats client_log used before lb/access_line.c ---- */
static size_t json_escape(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') { out[n++] = '\\'; out[n++] = (char)ch; }
		else if (ch < 0x20 || ch >= 0x7f) { out[n++] = '\\'; out[n++] = 'u'; out[n++] = '0'; out[n++] = '0'; out[n++] = hex[ch >> 4]; out[n++] = hex[ch & 15]; }
		else out[n++] = (char)ch;
	}
	out[n] = '\0';
	return n;
}
static double ms_between(double from, double to) { return from > 0 && to >= from ? (to - from) * 1e3 : -1; }
/* Referer and User-Agent as Apache and nginx quote them, escaped text up to 150 bytes */
static const char *quoted_field(char *out, const char *s)
{
	size_t n = 0;
	out[n++] = '"';
	if (!*s) out[n++] = '-';
	for (; *s && n - 1 + 4 <= 150; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') n += (size_t)sprintf(out + n, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f) n += (size_t)sprintf(out + n, "\\x%02X", ch);
		else out[n++] = (char)ch;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}
static size_t reference_line(struct client *c, double now, char *line, size_t cap)
{
	static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char target[400], ts[32], peer[300], ref[160], ua[160];
	time_t secs = (time_t)now; struct tm tm;
	const char *sp, *method = "", *path = ""; char mbuf[24]; int n;
	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	addr_format_host(&c->peer.sa, peer, sizeof(peer));
	sp = strchr(c->ex->target, ' ');
	if (sp && sp - c->ex->target < (int)sizeof(mbuf)) { memcpy(mbuf, c->ex->target, sp - c->ex->target); mbuf[sp - c->ex->target] = '\0'; method = mbuf; path = sp + 1; }
	json_escape(target, sizeof(target), path);
	if (c->gen->cfg->log.format == LOG_FORMAT_COMBINED) {
		n = snprintf(line, cap, "%s - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"%s %s HTTP/1.%d\" %d %llu %s %s "
			     "backend=%s term=%s total_ms=%.1f conn=%d.%u\n",
			     peer, tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, method, target, c->version_minor, c->ex->status, (unsigned long long)c->ex->bytes_out,
			     quoted_field(ref, c->ex->referer), quoted_field(ua, c->ex->user_agent),
			     c->up && c->up->backend ? c->up->backend->name : c->ex->backend ? c->ex->backend->name :
			     c->ex->log_backend ? c->ex->log_backend->name : "-",
			     termination_name(c->ex->term), ms_between(c->ex->t_start, now), c->w->id, c->id);
	} else {
		n = snprintf(line, cap,
			     "{\"time\":\"%s.%03dZ\",\"listener\":\"%s\",\"client\":\"%s\",\"client_port\":%u,"
			     "\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,\"route\":\"%s\",\"pool\":\"%s\",\"backend\":\"%s\","
			     "\"bytes_in\":%llu,\"bytes_out\":%llu,\"queue_ms\":%.3f,\"connect_ms\":%.3f,"
			     "\"response_ms\":%.3f,\"total_ms\":%.3f,\"upload_ms\":%.3f,\"delivery_ms\":%.3f,"
			     "\"cache\":\"%s\",\"compress\":\"\",\"termination\":\"%s\",\"request_id\":\"%s\",\"connection\":\"%d.%u\",\"proto\":\"h1\",\"stream\":0}\n",
			     ts, (int)((now - secs) * 1000), c->gl->cfg->name, peer,
			     addr_port(&c->peer.sa), method, target, c->ex->status, c->ex->route,
			     c->ex->pool ? c->ex->pool->name : "", c->ex->backend ? c->ex->backend->name : c->up ? c->up->backend->name :
			     c->ex->log_backend ? c->ex->log_backend->name : "",
			     (unsigned long long)c->ex->bytes_in, (unsigned long long)c->ex->bytes_out,
			     c->ex->t_queued > 0 ? ms_between(c->ex->t_queued, c->ex->t_connect_start > 0 ?
							      c->ex->t_connect_start : now) : 0.0,
			     ms_between(c->ex->t_connect_start, c->ex->t_connected),
			     ms_between(c->ex->t_connected, c->ex->t_first_byte), ms_between(c->ex->t_start, now),
			     c->ex->t_req_done > 0 ? ms_between(c->ex->t_start, c->ex->t_req_done)
			     : c->ex->req_body == HTTP_BODY_NONE ? 0.0 : ms_between(c->ex->t_start, now),
			     c->ex->t_resp_done > 0 ? ms_between(c->ex->t_resp_done, now) : 0.0,
			     http_cache_status_name(c->ex->cache_status), termination_name(c->ex->term), c->ex->request_id, c->w->id, c->id);
	}
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

struct fixture {
	struct client c;
	struct exchange x;
	struct worker w;
	struct generation g;
	struct config cfg;
	struct gen_listener gl;
	struct cfg_listener lc;
	struct pool pool;
	struct backend be;
};

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->c.w = &f->w;
	f->c.ex = &f->x;
	f->c.gen = &f->g;
	f->g.cfg = &f->cfg;
	f->c.gl = &f->gl;
	f->gl.cfg = &f->lc;
	f->lc.name = "web";
	f->pool.name = "flask";
	f->be.name = "web-1";
	return f;
}

static double rnd(void) { return rand() / (double)RAND_MAX; }

static void test_matches_printf_formats(void **state)
{
	struct fixture *f = fixture_new();
	struct client *c = &f->c;
	char a[1024], b[1024];
	long i;

	(void)state;
	srand(1);
	for (i = 0; i < 200000; i++) {
		double now = 1.79e9 + rnd() * 1e6;
		size_t n1, n2;

		f->cfg.log.format = (i & 1) ? LOG_FORMAT_COMBINED : LOG_FORMAT_JSON;
		memset(&c->peer, 0, sizeof(c->peer));
		c->peer_text_len = 0;
		if (i % 3 == 0) {
			c->peer.in6.sin6_family = AF_INET6;
			assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", &c->peer.in6.sin6_addr), 1);
			c->peer.in6.sin6_port = htons((uint16_t)i);
		} else {
			c->peer.in.sin_family = AF_INET;
			c->peer.in.sin_addr.s_addr = htonl((uint32_t)rand());
			c->peer.in.sin_port = htons((uint16_t)i);
		}
		if (i % 7 == 0) {
			snprintf(c->ex->target, sizeof(c->ex->target), "- -");
		} else if (i % 11 == 0) {
			int k;
			for (k = 0; k < 159; k++)  /* every byte but NUL: escapes, and a cut */
				c->ex->target[k] = (char)(1 + rand() % 255);
			c->ex->target[159] = '\0';
		} else {
			snprintf(c->ex->target, sizeof(c->ex->target), "GET /p%ld?q=\"x\"\\%c", i,
				 (char)(1 + rand() % 127));
		}
		if (i % 5 == 1) {
			c->ex->referer[0] = c->ex->user_agent[0] = '\0';
		} else {
			int k, nr = rand() % 128, nu = rand() % 128;
			for (k = 0; k < nr; k++)  /* quotes, backslashes, controls, high bytes */
				c->ex->referer[k] = (char)(i % 3 ? 32 + rand() % 95 : 1 + rand() % 255);
			c->ex->referer[nr] = '\0';
			for (k = 0; k < nu; k++)
				c->ex->user_agent[k] = (char)(i % 3 ? 32 + rand() % 95 : 1 + rand() % 255);
			c->ex->user_agent[nu] = '\0';
		}
		c->ex->status = rand() % 600;
		c->version_minor = rand() % 2;
		c->ex->bytes_in = (unsigned long long)rand() * (unsigned long long)rand();
		c->ex->bytes_out = (uint64_t)rand();
		c->ex->pool = i % 5 ? &f->pool : NULL;
		c->ex->backend = i % 4 ? &f->be : NULL;
		/* an error answered on a backend's behalf after its slot went names it too */
		c->ex->log_backend = i % 3 ? &f->be : NULL;
		c->ex->term = (enum termination)(rand() % TERM__COUNT);
		f->w.id = rand() % 8;
		c->id = (uint32_t)rand();
		snprintf(c->ex->request_id, sizeof(c->ex->request_id), "%08x", (unsigned)rand());
		snprintf(c->ex->route, sizeof(c->ex->route), "%s", i % 5 ? "" : "static");
		c->ex->t_start = i % 13 ? now - rnd() * (i % 2 ? 0.01 : 100) : 0;
		c->ex->t_queued = i % 3 ? 0 : c->ex->t_start + rnd() * 0.001;
		/* never left the queue (a queue timeout): queue_ms runs to now */
		c->ex->t_connect_start = i % 17 || !c->ex->t_start ? c->ex->t_start + rnd() * 0.002 : 0;
		c->ex->t_connected = i % 9 ? c->ex->t_connect_start + rnd() * 0.0005 : 0;
		c->ex->t_first_byte = c->ex->t_connected + rnd() * 0.003;
		n1 = reference_line(c, now, a, sizeof(a));
		n2 = access_line_format(c, now, b, sizeof(b));
		if (n1 != n2 || memcmp(a, b, n1))
			fail_msg("line %ld differs:\n%.*s\n%.*s", i, (int)n1, a, (int)n2, b);
		assert_int_equal(b[n2], '\0');
	}
	free(f);
}

/* One line written out by hand, so the reference itself is pinned too. */
static void test_known_line(void **state)
{
	struct fixture *f = fixture_new();
	struct client *c = &f->c;
	char b[1024];
	double now = 1790000000.25;  /* 2026-09-21T14:13:20.250Z */

	(void)state;
	c->peer.in.sin_family = AF_INET;
	c->peer.in.sin_port = htons(5555);
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &c->peer.in.sin_addr), 1);
	snprintf(c->ex->target, sizeof(c->ex->target), "GET /a\"b");
	c->ex->status = 200;
	c->version_minor = 1;
	c->ex->bytes_in = 76;
	c->ex->bytes_out = 88;
	c->ex->pool = &f->pool;
	snprintf(c->ex->route, sizeof(c->ex->route), "api");
	c->ex->backend = &f->be;
	c->ex->term = TERM_DONE;
	f->w.id = 1;
	c->id = 7;
	snprintf(c->ex->request_id, sizeof(c->ex->request_id), "r1");
	c->ex->t_start = now - 0.0125;
	c->ex->t_connect_start = now - 0.01;
	c->ex->t_connected = now - 0.009;
	c->ex->t_first_byte = now - 0.001;
	c->ex->req_body = HTTP_BODY_LENGTH;
	c->ex->t_req_done = now - 0.0115;
	c->ex->t_resp_done = now - 0.00025;
	access_line_format(c, now, b, sizeof(b));
	assert_string_equal(b, "{\"time\":\"2026-09-21T14:13:20.250Z\",\"listener\":\"web\",\"client\":\"192.0.2.1\","
			    "\"client_port\":5555,\"method\":\"GET\",\"path\":\"/a\\\"b\",\"status\":200,"
			    "\"route\":\"api\",\"pool\":\"flask\",\"backend\":\"web-1\",\"bytes_in\":76,\"bytes_out\":88,"
			    "\"queue_ms\":0.000,\"connect_ms\":1.000,\"response_ms\":8.000,\"total_ms\":12.500,"
			    "\"upload_ms\":1.000,\"delivery_ms\":0.250,\"cache\":\"\",\"compress\":\"\","
			    "\"termination\":\"done\",\"request_id\":\"r1\",\"connection\":\"1.7\",\"proto\":\"h1\",\"stream\":0}\n");
	f->cfg.log.format = LOG_FORMAT_COMBINED;
	access_line_format(c, now, b, sizeof(b));
	assert_string_equal(b, "192.0.2.1 - - [21/Sep/2026:14:13:20 +0000] \"GET /a\\\"b HTTP/1.1\" 200 88 "
			    "\"-\" \"-\" backend=web-1 term=done total_ms=12.5 conn=1.7\n");
	/* Referer and User-Agent quoted and escaped as Apache and nginx print them */
	snprintf(c->ex->referer, sizeof(c->ex->referer), "https://shop.example/a?b=1");
	snprintf(c->ex->user_agent, sizeof(c->ex->user_agent), "Evil\" \\x\n\xc3\xa9/1.0");
	access_line_format(c, now, b, sizeof(b));
	assert_string_equal(b, "192.0.2.1 - - [21/Sep/2026:14:13:20 +0000] \"GET /a\\\"b HTTP/1.1\" 200 88 "
			    "\"https://shop.example/a?b=1\" \"Evil\\\" \\\\x\\x0A\\xC3\\xA9/1.0\" "
			    "backend=web-1 term=done total_ms=12.5 conn=1.7\n");
	free(f);
}

/* A request that timed out in the wait queue never reached a connect: its queue_ms is
 * the time it waited, not -1 (it was once -1, which reads as "did not queue"). */
static void test_queue_timeout_logs_the_wait(void **state)
{
	struct fixture *f = fixture_new();
	struct client *c = &f->c;
	char b[1024];
	double now = 1790000000.5;

	(void)state;
	c->peer.in.sin_family = AF_INET;
	snprintf(c->ex->target, sizeof(c->ex->target), "GET /slow");
	c->ex->status = 503;
	c->ex->term = TERM_QUEUE_TIMEOUT;
	c->ex->t_start = now - 0.3;
	c->ex->t_queued = now - 0.25;
	access_line_format(c, now, b, sizeof(b));
	assert_non_null(strstr(b, ",\"queue_ms\":250.000,\"connect_ms\":-1.000,"));
	free(f);
}

/* A combined line with every field at its longest and escaped at its widest still
 * fits the log's 1024-byte line with its newline (a cut line would join the next). */
static void test_longest_combined_line_fits(void **state)
{
	struct fixture *f = fixture_new();
	struct client *c = &f->c;
	char b[1024], name[65];
	size_t n;

	(void)state;
	f->cfg.log.format = LOG_FORMAT_COMBINED;
	c->peer.in6.sin6_family = AF_INET6;
	memset(&c->peer.in6.sin6_addr, 0xff, sizeof(c->peer.in6.sin6_addr));
	memset(c->ex->target, 'M', 23);
	c->ex->target[23] = ' ';
	memset(c->ex->target + 24, 0x01, sizeof(c->ex->target) - 25);
	c->ex->target[sizeof(c->ex->target) - 1] = '\0';
	memset(c->ex->referer, 0x80, sizeof(c->ex->referer) - 1);
	c->ex->referer[sizeof(c->ex->referer) - 1] = '\0';
	memset(c->ex->user_agent, 0x80, sizeof(c->ex->user_agent) - 1);
	c->ex->user_agent[sizeof(c->ex->user_agent) - 1] = '\0';
	memset(name, 'b', 64);
	name[64] = '\0';
	f->be.name = name;
	c->ex->backend = &f->be;
	c->ex->status = 599;
	c->ex->bytes_out = UINT64_MAX;
	c->ex->term = TERM_DONE;
	c->ex->t_start = 1.0;
	f->w.id = 999;
	c->id = UINT32_MAX;
	n = access_line_format(c, 1790000000.0, b, sizeof(b));
	assert_true(n < sizeof(b) - 1);
	assert_int_equal(b[n - 1], '\n');
	free(f);
}

/* A buffer too small cuts the line (newline included), as snprintf did. */
static void test_cut_to_capacity(void **state)
{
	struct fixture *f = fixture_new();
	char b[40];
	size_t n;

	(void)state;
	f->c.peer.in.sin_family = AF_INET;
	snprintf(f->x.target, sizeof(f->x.target), "GET /");
	n = access_line_format(&f->c, 1790000000.0, b, sizeof(b));
	assert_int_equal(n, sizeof(b) - 1);
	assert_int_equal(strlen(b), sizeof(b) - 1);
	assert_memory_equal(b, "{\"time\":\"2026-09-21T14:13:20.000Z\",\"lis", sizeof(b) - 1);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_printf_formats),
		cmocka_unit_test(test_known_line),
		cmocka_unit_test(test_queue_timeout_logs_the_wait),
		cmocka_unit_test(test_longest_combined_line_fits),
		cmocka_unit_test(test_cut_to_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
