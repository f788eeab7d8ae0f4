/* status_set.c: lists of HTTP statuses ("200-399,404") as the config writes them and
 * the bit sets the checks and the data path test them with. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health.h"

static int parse_status(const char **p, int *out);
static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Reads exactly three digits at *p (a status is always three digits); advances *p.
 * Returns 0, or -1 when there are not three digits followed by a non-digit. */
static int parse_status(const char **p, int *out)
{
	const char *s = *p;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' ||
	    (s[3] >= '0' && s[3] <= '9'))
		return -1;
	*out = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	*p = s + 3;
	return 0;
}

int health_status_parse(const char *s, struct status_set *out, char *err, size_t errlen)
{
	const char *p = s;

	memset(out, 0, sizeof(*out));
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;  /* "": no status at all (e.g. error_status that counts none) */
	for (;;) {
		int lo, hi, st;

		while (*p == ' ')
			p++;
		if (parse_status(&p, &lo) == -1)
			return fail(err, errlen, "expected a status (three digits) at \"%.20s\" in \"%s\"",
				    p, s);
		hi = lo;
		while (*p == ' ')
			p++;
		if (*p == '-') {
			p++;
			while (*p == ' ')
				p++;
			if (parse_status(&p, &hi) == -1)
				return fail(err, errlen, "expected a status after '-' in \"%s\"", s);
			while (*p == ' ')
				p++;
		}
		if (lo < 100 || hi > 599 || lo > hi)
			return fail(err, errlen, "%d-%d is not a range within 100..599 in \"%s\"",
				    lo, hi, s);
		for (st = lo; st <= hi; st++)
			out->bits[st / 64] |= 1ull << (st % 64);
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return fail(err, errlen, "unexpected '%c' in \"%s\" (expected ',' or '-')", *p, s);
		p++;
	}
}

int health_status_match(const struct status_set *set, int status)
{
	if (status < 0 || status >= 64 * (int)(sizeof(set->bits) / sizeof(set->bits[0])))
		return 0;
	return (set->bits[status / 64] >> (status % 64)) & 1;
}

int health_status_empty(const struct status_set *set)
{
	size_t i;

	for (i = 0; i < sizeof(set->bits) / sizeof(set->bits[0]); i++)
		if (set->bits[i])
			return 0;
	return 1;
}
