/* access_line.c: the text of one access-log line (JSON or combined), built from
 * known-length pieces: it is written for every request, and snprintf made it cost more
 * than proxying the request (docs/benchmarks.md, "Fixes"). */
#include <math.h>
#include <string.h>
#include <time.h>

#include "access_line.h"
#include "conn.h"
#include "mem_pipe.h"
#include "http_cache.h"
#include "http_compress.h"
#include "worker.h"

#define PATH_ESCAPED_MAX 400  /* the escaped path is cut below this many bytes */
#define AGENT_ESCAPED_MAX 150 /* and an escaped Referer or User-Agent at this many */

/* A line being written: pieces that do not fit are cut, like snprintf's output. */
struct line {
	char *p, *end;  /* end leaves room for the NUL */
};

static void put(struct line *l, const char *s, size_t n);
static void put_str(struct line *l, const char *s);
static void put_uint(struct line *l, unsigned long long v);
static void put_int(struct line *l, long long v);
static void put_2digits(struct line *l, int v);
static void put_fixed(struct line *l, double v, unsigned decimals);
static void put_json_escaped(struct line *l, const char *s, size_t cap);
static void put_quoted_field(struct line *l, const char *s, size_t cap);
static const struct tm *utc_time(time_t secs);
static double ms_between(double from, double to);
static double upload_ms(const struct exchange *x, double now);
static double queue_ms(const struct exchange *x, double now);

#define PUT_LIT(l, lit) put((l), (lit), sizeof(lit) - 1)

static void put(struct line *l, const char *s, size_t n)
{
	size_t room = (size_t)(l->end - l->p);

	if (n > room)
		n = room;
	memcpy(l->p, s, n);
	l->p += n;
}

static void put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void put_uint(struct line *l, unsigned long long v)
{
	char digits[20];
	size_t n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(l, digits + n, sizeof(digits) - n);
}

static void put_int(struct line *l, long long v)
{
	if (v < 0) {
		PUT_LIT(l, "-");
		put_uint(l, 0ULL - (unsigned long long)v);
		return;
	}
	put_uint(l, (unsigned long long)v);
}

static void put_2digits(struct line *l, int v)
{
	char d[2] = { (char)('0' + v / 10 % 10), (char)('0' + v % 10) };

	put(l, d, 2);
}

/* v with a fixed number of decimals (1 or 3) as "%.1f" / "%.3f" print it: rounded to
 * nearest, ties to even (checked against snprintf over 2 million random lines). */
static void put_fixed(struct line *l, double v, unsigned decimals)
{
	unsigned long long scale = decimals == 1 ? 10 : 1000, q;
	char frac[3];
	unsigned i;

	if (v < 0) {
		PUT_LIT(l, "-");
		v = -v;
	}
	if (!(v < 1e15))
		v = 1e15;  /* no duration is that long; keeps the conversion defined */
	q = (unsigned long long)rint(v * (double)scale);  /* ties to even, as printf */
	put_uint(l, q / scale);
	PUT_LIT(l, ".");
	q %= scale;
	for (i = decimals; i > 0; i--) {
		frac[i - 1] = (char)('0' + q % 10);
		q /= 10;
	}
	put(l, frac, decimals);
}

/* s with '"' and '\' escaped by a backslash and control and non-ASCII bytes as
 * \u00hh (json) or \xHH (the combined line, as Apache and nginx write it), so a client
 * can end neither the field nor the line. Stops before the escaped text would pass cap
 * bytes, with room for one more escape: the line's other fields always fit. */
static void put_escaped(struct line *l, const char *s, size_t cap, int json)
{
	static const char hex[] = "0123456789abcdef", HEX[] = "0123456789ABCDEF";
	size_t n = 0, room = json ? 7 : 3;

	for (; *s && n + room < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			char e[2] = { '\\', (char)ch };
			put(l, e, 2);
			n += 2;
		} else if ((ch < 0x20 || ch >= 0x7f) && json) {
			char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
			put(l, e, 6);
			n += 6;
		} else if (ch < 0x20 || ch >= 0x7f) {
			char e[4] = { '\\', 'x', HEX[ch >> 4], HEX[ch & 15] };
			put(l, e, 4);
			n += 4;
		} else {
			put(l, (const char *)&ch, 1);
			n++;
		}
	}
}

/* s as a JSON string body (put_escaped). */
static void put_json_escaped(struct line *l, const char *s, size_t cap)
{
	put_escaped(l, s, cap, 1);
}

/* s as a quoted field of the combined line, as Apache and nginx write Referer and
 * User-Agent: "-" when empty, else escaped (put_escaped). */
static void put_quoted_field(struct line *l, const char *s, size_t cap)
{
	PUT_LIT(l, "\"");
	if (!*s)
		PUT_LIT(l, "-");
	put_escaped(l, s, cap, 0);
	PUT_LIT(l, "\"");
}

/* gmtime_r once per second and thread: every line of that second shares it. */
static const struct tm *utc_time(time_t secs)
{
	static __thread time_t cached_secs = -1;
	static __thread struct tm cached_tm;

	if (secs != cached_secs) {
		gmtime_r(&secs, &cached_tm);
		cached_secs = secs;
	}
	return &cached_tm;
}

static double ms_between(double from, double to)
{
	return from > 0 && to >= from ? (to - from) * 1e3 : -1;
}

size_t access_line_format(struct client *c, double now, char *out, size_t cap)
{
	static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
						"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const struct exchange *x = c->ex;
	struct line l = { out, out + cap - 1 };
	time_t secs = (time_t)now;
	const struct tm *tm = utc_time(secs);
	const char *sp, *path = "";
	size_t method_len = 0, peer_len;
	const char *peer = client_peer_text(c, &peer_len);

	sp = strchr(x->target, ' ');
	if (sp && sp - x->target < 24) {  /* longer is no method: logged empty */
		method_len = (size_t)(sp - x->target);
		path = sp + 1;
	}
	if (c->gen->cfg->log.format == LOG_FORMAT_COMBINED) {
		put(&l, peer, peer_len);
		PUT_LIT(&l, " - - [");
		put_2digits(&l, tm->tm_mday);
		PUT_LIT(&l, "/");
		put_str(&l, months[tm->tm_mon]);
		PUT_LIT(&l, "/");
		put_int(&l, tm->tm_year + 1900);
		PUT_LIT(&l, ":");
		put_2digits(&l, tm->tm_hour);
		PUT_LIT(&l, ":");
		put_2digits(&l, tm->tm_min);
		PUT_LIT(&l, ":");
		put_2digits(&l, tm->tm_sec);
		PUT_LIT(&l, " +0000] \"");
		put(&l, x->target, method_len);
		PUT_LIT(&l, " ");
		put_json_escaped(&l, path, PATH_ESCAPED_MAX);
		PUT_LIT(&l, " HTTP/1.");
		put_int(&l, c->version_minor);
		PUT_LIT(&l, "\" ");
		put_int(&l, x->status);
		PUT_LIT(&l, " ");
		put_uint(&l, x->bytes_out);
		PUT_LIT(&l, " ");
		put_quoted_field(&l, x->referer, AGENT_ESCAPED_MAX);
		PUT_LIT(&l, " ");
		put_quoted_field(&l, x->user_agent, AGENT_ESCAPED_MAX);
		PUT_LIT(&l, " backend=");
		put_str(&l, c->up && c->up->backend ? c->up->backend->name :
			    x->backend ? x->backend->name : x->log_backend ? x->log_backend->name : "-");
		PUT_LIT(&l, " term=");
		put_str(&l, termination_name(x->term));
		PUT_LIT(&l, " total_ms=");
		put_fixed(&l, ms_between(x->t_start, now), 1);
		PUT_LIT(&l, " conn=");
		put_int(&l, c->w->id);
		PUT_LIT(&l, ".");
		put_uint(&l, c->id);
	} else {
		PUT_LIT(&l, "{\"time\":\"");
		put_int(&l, tm->tm_year + 1900);
		PUT_LIT(&l, "-");
		put_2digits(&l, tm->tm_mon + 1);
		PUT_LIT(&l, "-");
		put_2digits(&l, tm->tm_mday);
		PUT_LIT(&l, "T");
		put_2digits(&l, tm->tm_hour);
		PUT_LIT(&l, ":");
		put_2digits(&l, tm->tm_min);
		PUT_LIT(&l, ":");
		put_2digits(&l, tm->tm_sec);
		PUT_LIT(&l, ".");
		{
			int ms = (int)((now - (double)secs) * 1000);
			char d[3] = { (char)('0' + ms / 100 % 10), (char)('0' + ms / 10 % 10),
				      (char)('0' + ms % 10) };
			put(&l, d, 3);
		}
		PUT_LIT(&l, "Z\",\"listener\":\"");
		put_str(&l, c->gl->cfg->name);
		PUT_LIT(&l, "\",\"client\":\"");
		put(&l, peer, peer_len);
		PUT_LIT(&l, "\",\"client_port\":");
		put_uint(&l, addr_port(&c->peer.sa));
		PUT_LIT(&l, ",\"method\":\"");
		put(&l, x->target, method_len);
		PUT_LIT(&l, "\",\"path\":\"");
		put_json_escaped(&l, path, PATH_ESCAPED_MAX);
		PUT_LIT(&l, "\",\"status\":");
		put_int(&l, x->status);
		PUT_LIT(&l, ",\"route\":\"");
		put_str(&l, x->route);
		PUT_LIT(&l, "\",\"pool\":\"");
		put_str(&l, x->pool ? x->pool->name : "");
		PUT_LIT(&l, "\",\"backend\":\"");
		put_str(&l, x->backend ? x->backend->name : c->up ? c->up->backend->name :
			    x->log_backend ? x->log_backend->name : "");
		PUT_LIT(&l, "\",\"bytes_in\":");
		put_uint(&l, x->bytes_in);
		PUT_LIT(&l, ",\"bytes_out\":");
		put_uint(&l, x->bytes_out);
		PUT_LIT(&l, ",\"queue_ms\":");
		put_fixed(&l, queue_ms(x, now), 3);
		PUT_LIT(&l, ",\"connect_ms\":");
		put_fixed(&l, ms_between(x->t_connect_start, x->t_connected), 3);
		PUT_LIT(&l, ",\"response_ms\":");
		put_fixed(&l, ms_between(x->t_connected, x->t_first_byte), 3);
		PUT_LIT(&l, ",\"total_ms\":");
		put_fixed(&l, ms_between(x->t_start, now), 3);
		PUT_LIT(&l, ",\"upload_ms\":");
		put_fixed(&l, upload_ms(x, now), 3);
		PUT_LIT(&l, ",\"delivery_ms\":");
		put_fixed(&l, x->t_resp_done > 0 ? ms_between(x->t_resp_done, now) : 0.0, 3);
		PUT_LIT(&l, ",\"cache\":\"");
		put_str(&l, http_cache_status_name(x->cache_status));
		PUT_LIT(&l, "\",\"compress\":\"");
		if (x->compress)
			put_str(&l, compress_enc_name(x->compress->enc));
		PUT_LIT(&l, "\",\"termination\":\"");
		put_str(&l, termination_name(x->term));
		PUT_LIT(&l, "\",\"request_id\":\"");
		put_json_escaped(&l, x->request_id, sizeof(x->request_id) * 6 + 8);
		PUT_LIT(&l, "\",\"connection\":\"");
		put_int(&l, c->w->id);
		PUT_LIT(&l, ".");
		/* an HTTP/2 stream is named by its connection and its stream id */
		put_uint(&l, c->is_stream ? client_parent(c)->id : c->id);
		if (c->is_stream) {
			PUT_LIT(&l, "\",\"proto\":\"h2\",\"stream\":");
			put_uint(&l, client_pipe(c)->stream_id);
			PUT_LIT(&l, "}");
		} else {
			PUT_LIT(&l, "\",\"proto\":\"h1\",\"stream\":0}");
		}
	}
	PUT_LIT(&l, "\n");
	*l.p = '\0';
	return (size_t)(l.p - out);
}

/* From the request head to the request body's last byte from the client: 0 without a
 * body; up to now when the body never came whole. The time a slow uploader would hold a
 * backend worker that streams it. */
static double upload_ms(const struct exchange *x, double now)
{
	if (x->t_req_done > 0)
		return ms_between(x->t_start, x->t_req_done);
	return x->req_body == HTTP_BODY_NONE ? 0.0 : ms_between(x->t_start, now);
}

/* From entering the wait queue to leaving it for a backend: 0 when never queued; up to
 * now when it never left (a queue timeout, a client gone while waiting), which is the
 * time it waited, not "no time". */
static double queue_ms(const struct exchange *x, double now)
{
	if (x->t_queued == 0)
		return 0.0;
	return ms_between(x->t_queued, x->t_connect_start > 0 ? x->t_connect_start : now);
}
