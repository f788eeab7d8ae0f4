/* fuzz_parts.h: splitting a fuzz input into NUL-separated parts, and a head made of a
 * part (fuzz_route.c, fuzz_cache_policy.c, fuzz_cache_revalidate.c,
 * fuzz_static.c). Each part is copied into a buffer of exactly its size, so a read past
 * its end shows under ASan. */
#ifndef FULCRUM_FUZZ_PARTS_H
#define FULCRUM_FUZZ_PARTS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next part of [*p, end) as a new buffer (free it; NULL when out of memory) of *len
 * bytes, not NUL-terminated; *p moves past it and its NUL. */
static inline char *fuzz_next_part(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
	size_t n = (size_t)((nul ? nul : end) - *p);
	char *s = malloc(n ? n : 1);

	if (s && n)
		memcpy(s, *p, n);
	*len = n;
	*p = nul ? nul + 1 : end;
	return s;
}

/* start line + the fields of part (LF -> CRLF) + CRLF, in a buffer of exactly its size
 * (free it; NULL when out of memory); *out_len gets its length. */
static inline char *fuzz_head(const char *start, const char *part, size_t len, size_t *out_len)
{
	size_t n = strlen(start), i, extra = 0;
	char *b;

	for (i = 0; i < len; i++)
		extra += part[i] == '\n';
	b = malloc(n + len + extra + 2);
	if (!b)
		return NULL;
	memcpy(b, start, n);
	for (i = 0; i < len; i++) {
		if (part[i] == '\n')
			b[n++] = '\r';
		b[n++] = part[i];
	}
	b[n++] = '\r';
	b[n++] = '\n';
	*out_len = n;
	return b;
}

#endif
