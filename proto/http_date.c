/* http_date.c: the HTTP-date reader of http_date.h (IMF-fixdate, RFC 850, asctime).
 * The civil-date arithmetic is done here so no time_t range or time zone gets in. */
#include <string.h>

#include "http_date.h"

static int date_digits(const char *s, size_t n, int *out);
static int date_month(const char *s);
static int date_wkday(const char *s, size_t n, int long_name);
static int64_t date_days(int y, int m, int d);
static int date_finish(int y, int mon, int d, int hh, int mm, int ss, int64_t *t);

static const char date_mon_names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* n decimal digits at s into *out; 0, or -1 if one is not a digit. */
static int date_digits(const char *s, size_t n, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The month 0-11 of the three bytes at s (case-sensitive, as RFC 9110 says), or -1. */
static int date_month(const char *s)
{
	int i;

	for (i = 0; i < 12; i++)
		if (memcmp(date_mon_names + 3 * i, s, 3) == 0)
			return i;
	return -1;
}

/* 0 if s[0..n) is a day name: the three-letter form, or the full one for RFC 850. */
static int date_wkday(const char *s, size_t n, int long_name)
{
	static const char *const full[7] = { "Monday", "Tuesday", "Wednesday", "Thursday",
					     "Friday", "Saturday", "Sunday" };
	int i;

	for (i = 0; i < 7; i++) {
		if (long_name ? (strlen(full[i]) == n && memcmp(full[i], s, n) == 0)
			      : (n == 3 && memcmp(full[i], s, 3) == 0))
			return 0;
	}
	return -1;
}

/* Days from 1970-01-01 to y-m-d (m 1-12) in the proleptic Gregorian calendar. */
static int64_t date_days(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;  /* y >= 1969 here: no negative division */
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Checks the fields and turns them into seconds: 0 and *t, or -1. */
static int date_finish(int y, int mon, int d, int hh, int mm, int ss, int64_t *t)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (mon < 0 || y < 1970 || y > 9999 || d < 1 || d > mdays[mon] ||
	    (mon == 1 && d == 29 && !leap) || hh > 23 || mm > 59 || ss > 60)
		return -1;
	if (ss == 60)
		ss = 59;
	*t = date_days(y, mon + 1, d) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

int http_date_parse(const char *s, size_t len, int64_t *t)
{
	const char *comma = memchr(s, ',', len < 10 ? len : 10);
	int y, d, hh, mm, ss;

	if (len == 29 && comma == s + 3) {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		if (date_wkday(s, 3, 0) || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
		    s[16] != ' ' || s[19] != ':' || s[22] != ':' || memcmp(s + 25, " GMT", 4) ||
		    date_digits(s + 5, 2, &d) || date_digits(s + 12, 4, &y) ||
		    date_digits(s + 17, 2, &hh) || date_digits(s + 20, 2, &mm) ||
		    date_digits(s + 23, 2, &ss))
			return -1;
		return date_finish(y, date_month(s + 8), d, hh, mm, ss, t);
	}
	if (comma && comma > s + 3) {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT", 23 bytes after the comma */
		const char *p = comma + 1;

		if ((size_t)(s + len - p) != 23 || date_wkday(s, (size_t)(comma - s), 1) ||
		    p[0] != ' ' || p[3] != '-' || p[7] != '-' || p[10] != ' ' || p[13] != ':' ||
		    p[16] != ':' || memcmp(p + 19, " GMT", 4) ||
		    date_digits(p + 1, 2, &d) || date_digits(p + 8, 2, &y) ||
		    date_digits(p + 11, 2, &hh) || date_digits(p + 14, 2, &mm) ||
		    date_digits(p + 17, 2, &ss))
			return -1;
		y += y < 70 ? 2000 : 1900;
		return date_finish(y, date_month(p + 4), d, hh, mm, ss, t);
	}
	if (len == 24 && !comma) {
		/* asctime: "Sun Nov  6 08:49:37 1994", the day padded with a space */
		if (date_wkday(s, 3, 0) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' ||
		    s[13] != ':' || s[16] != ':' || s[19] != ' ' ||
		    (s[8] == ' ' ? date_digits(s + 9, 1, &d) : date_digits(s + 8, 2, &d)) ||
		    date_digits(s + 11, 2, &hh) || date_digits(s + 14, 2, &mm) ||
		    date_digits(s + 17, 2, &ss) || date_digits(s + 20, 4, &y))
			return -1;
		return date_finish(y, date_month(s + 4), d, hh, mm, ss, t);
	}
	return -1;
}
