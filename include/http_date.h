/* http_date.h: HTTP-date (RFC 9110 5.6.7) read into seconds since the epoch, in all three
 * forms a recipient must accept. Pure arithmetic: no locale, no time zone, no libc time. */
#ifndef FULCRUM_HTTP_DATE_H
#define FULCRUM_HTTP_DATE_H

#include <stddef.h>
#include <stdint.h>

/* Parses s[0..len) as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), an obsolete
 * RFC 850 date ("Sunday, 06-Nov-94 08:49:37 GMT") or an asctime date ("Sun Nov  6
 * 08:49:37 1994"). The day name must be a real one but is not checked against the date.
 * A two-digit RFC 850 year 00-69 is 20xx, 70-99 is 19xx (RFC 9110's "more than 50 years
 * in the future" rule, fixed to a pivot so the result does not depend on the clock).
 * Years 1970-9999; second 60 is read as 59. Returns 0 and *t, or -1 (nothing else
 * accepted: no leading or trailing bytes, no other zone than GMT). */
int http_date_parse(const char *s, size_t len, int64_t *t);

#endif
