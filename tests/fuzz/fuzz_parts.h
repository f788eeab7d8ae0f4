/* fuzz_parts.h: splitting a fuzz input into NUL-separated parts (fuzz_route.c,
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

#endif
