/* http_static.c: owns the decisions of serving a file that need no file: the safe
 * relative path of a request, the MIME map, the Range header, ETag and dates, and the
 * conditional requests (include/http_static.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hex.h"
#include "http_static.h"

static int put_segment(char *out, size_t cap, size_t *n, const char *seg, size_t len);
static int parse_u64(const char **p, const char *end, uint64_t *v);

/* Appends one decoded segment to out ('/' between segments); "" and "." add nothing,
 * ".." is refused. Returns 0 or the status. */
static int put_segment(char *out, size_t cap, size_t *n, const char *seg, size_t len)
{
	if (len == 0 || (len == 1 && seg[0] == '.'))
		return 0;
	if (len == 2 && seg[0] == '.' && seg[1] == '.')
		return 403;
	if (*n + (*n > 0) + len + 1 > cap)
		return 404;
	if (*n > 0)
		out[(*n)++] = '/';
	memcpy(out + *n, seg, len);
	*n += len;
	out[*n] = '\0';
	return 0;
}

int http_static_path(const char *path, size_t len, const char *strip_prefix, char *out, size_t cap,
		     int *dir)
{
	char seg[HTTP_STATIC_PATH_MAX];
	size_t i, n = 0, s = 0;
	int r;

	if (cap == 0)
		return 404;
	out[0] = '\0';
	*dir = len > 0 && path[len - 1] == '/';
	if (strip_prefix) {
		size_t pl = strlen(strip_prefix);

		if (len < pl || memcmp(path, strip_prefix, pl) != 0)
			return 404;
		path += pl;
		len -= pl;
	}
	/* decoding first: "%2e%2e" is ".." and is refused like it */
	for (i = 0; i < len; i++) {
		char ch = path[i];

		if (ch == '/') {
			if ((r = put_segment(out, cap, &n, seg, s)) != 0)
				return r;
			s = 0;
			continue;
		}
		if (ch == '%') {
			int hi = i + 2 < len ? hex_digit_value((unsigned char)path[i + 1]) : -1;
			int lo = hi >= 0 ? hex_digit_value((unsigned char)path[i + 2]) : -1;

			if (lo < 0)
				return 400;
			ch = (char)(hi * 16 + lo);
			i += 2;
			if (ch == '/')
				return 404;  /* a name with a '/' in it is in no directory */
		}
		if (ch == '\0')
			return 400;
		if (s + 1 >= sizeof(seg))
			return 404;
		seg[s++] = ch;
	}
	return put_segment(out, cap, &n, seg, s);
}

const char *http_static_mime(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} map[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "json", "application/json" },
		{ "map", "application/json" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "ico", "image/vnd.microsoft.icon" },
		{ "woff", "font/woff" },
		{ "woff2", "font/woff2" },
		{ "ttf", "font/ttf" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "xml", "application/xml" },
		{ "pdf", "application/pdf" },
		{ "wasm", "application/wasm" },
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash + 1 : name, '.');
	size_t i;

	if (dot && dot[1] != '\0')
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcasecmp(dot + 1, map[i].ext) == 0)
				return map[i].type;
	return "application/octet-stream";
}

/* Reads decimal digits at *p into *v; -1 when there are none or they overflow. */
static int parse_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return 0;
}

enum http_range_result http_static_range(const char *v, size_t len, uint64_t size, uint64_t *first,
					 uint64_t *count)
{
	const char *p = v, *end = v + len;
	uint64_t a = 0, b = 0;
	int has_a, has_b;

	if (len < 6 || strncasecmp(v, "bytes=", 6) != 0)
		return HTTP_RANGE_NONE;
	p += 6;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (memchr(p, ',', (size_t)(end - p)))
		return HTTP_RANGE_NONE;  /* several ranges: the whole file is one valid answer */
	has_a = parse_u64(&p, end, &a) == 0;
	if (p == end || *p != '-')
		return HTTP_RANGE_NONE;
	p++;
	has_b = parse_u64(&p, end, &b) == 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end || (!has_a && !has_b) || (has_a && has_b && b < a))
		return HTTP_RANGE_NONE;
	if (!has_a) {
		/* the last b bytes */
		if (b == 0 || size == 0)
			return HTTP_RANGE_UNSATISFIABLE;
		*count = b < size ? b : size;
		*first = size - *count;
		return HTTP_RANGE_PARTIAL;
	}
	if (a >= size)
		return HTTP_RANGE_UNSATISFIABLE;
	if (!has_b || b >= size)
		b = size - 1;
	*first = a;
	*count = b - a + 1;
	return HTTP_RANGE_PARTIAL;
}

void http_static_date(time_t t, char out[HTTP_DATE_LEN])
{
	/* strftime's %a and %b follow the locale; the HTTP names are fixed */
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, HTTP_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		 tm.tm_mday % 100, months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour % 100,
		 tm.tm_min % 100, tm.tm_sec % 100);
}

int http_static_parse_date(const char *s, size_t len, time_t *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	char mon[4];
	int day, year, h, m, sec, used = 0, i;
	char buf[HTTP_DATE_LEN + 2];

	if (len != HTTP_DATE_LEN - 1)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	/* "Sun, 06 Nov 1994 08:49:37 GMT": the day name is not checked */
	if (sscanf(buf + 5, "%2d %3c %4d %2d:%2d:%2d GMT%n", &day, mon, &year, &h, &m, &sec, &used) != 6 ||
	    used != (int)len - 5 || buf[3] != ',' || buf[4] != ' ')
		return -1;
	mon[3] = '\0';
	for (i = 0; i < 12; i++)
		if (memcmp(months + 3 * i, mon, 3) == 0)
			break;
	if (i == 12 || day < 1 || day > 31 || h > 23 || m > 59 || sec > 60 || year < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = i;
	tm.tm_year = year - 1900;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

void http_static_etag(uint64_t size, uint64_t mtime_ns, char out[HTTP_ETAG_MAX])
{
	snprintf(out, HTTP_ETAG_MAX, "\"%llx-%llx\"", (unsigned long long)size,
		 (unsigned long long)mtime_ns);
}

int http_static_etag_match(const char *v, size_t len, const char *etag)
{
	const char *p = v, *end = v + len;
	size_t el = strlen(etag);

	while (p < end) {
		const char *q;

		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p == end)
			break;
		if (*p == '*')
			return 1;
		if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		if (p == end || *p != '"')
			return 0;  /* not an entity tag: nothing after it can be trusted */
		q = memchr(p + 1, '"', (size_t)(end - p - 1));
		if (!q)
			return 0;
		if ((size_t)(q + 1 - p) == el && memcmp(p, etag, el) == 0)
			return 1;
		p = q + 1;
	}
	return 0;
}

int http_static_not_modified(const struct http_static_cond *q, const char *etag, time_t mtime)
{
	time_t since;

	if (q->if_none_match)
		return http_static_etag_match(q->if_none_match, q->if_none_match_len, etag);
	if (q->if_modified_since &&
	    http_static_parse_date(q->if_modified_since, q->if_modified_since_len, &since) == 0)
		return mtime <= since;
	return 0;
}

int http_static_range_applies(const struct http_static_cond *q, const char *etag,
			      const char *last_modified)
{
	size_t n = q->if_range_len;

	if (!q->if_range)
		return 1;
	if (n > 0 && q->if_range[0] == '"')
		return n == strlen(etag) && memcmp(q->if_range, etag, n) == 0;
	return n == strlen(last_modified) && memcmp(q->if_range, last_modified, n) == 0;
}
