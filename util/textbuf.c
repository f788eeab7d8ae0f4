/* textbuf.c: the growing text buffer of include/textbuf.h. Owns the rule that a buffer
 * that once ran out of memory stays failed, so a caller checks once at the end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "textbuf.h"

#define TEXTBUF_FIRST 4096  /* bytes of the first allocation */

int textbuf_append(struct textbuf *sb, const void *s, size_t n)
{
	if (sb->failed)
		return -1;
	if (n > SIZE_MAX - 1 - sb->len ||
	    ARRAY_GROW(&sb->p, &sb->cap, sb->len + n + 1, TEXTBUF_FIRST) == -1) {
		sb->failed = 1;
		return -1;
	}
	if (n)
		memcpy(sb->p + sb->len, s, n);  /* s may be NULL when n is 0 */
	sb->len += n;
	sb->p[sb->len] = '\0';
	return 0;
}

char *textbuf_extend(struct textbuf *sb, size_t n)
{
	char *at;

	if (sb->failed)
		return NULL;
	if (n > SIZE_MAX - 1 - sb->len ||
	    ARRAY_GROW(&sb->p, &sb->cap, sb->len + n + 1, TEXTBUF_FIRST) == -1) {
		sb->failed = 1;
		return NULL;
	}
	at = sb->p + sb->len;
	sb->len += n;
	sb->p[sb->len] = '\0';
	return at;
}

int textbuf_printf(struct textbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->failed)
		return -1;
	/* the first try writes into the room there is; a second one after growing */
	for (;;) {
		size_t room = sb->p ? sb->cap - sb->len : 0;

		va_start(ap, fmt);
		n = vsnprintf(room ? sb->p + sb->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->failed = 1;
			return -1;
		}
		if ((size_t)n < room) {
			sb->len += (size_t)n;
			return 0;
		}
		if (ARRAY_GROW(&sb->p, &sb->cap, sb->len + (size_t)n + 1, TEXTBUF_FIRST) == -1) {
			sb->failed = 1;
			return -1;
		}
	}
}

void textbuf_free(struct textbuf *sb)
{
	free(sb->p);
	memset(sb, 0, sizeof(*sb));
}
