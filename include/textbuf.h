/* textbuf.h: a growing text buffer, the one way the control plane and the command-line
 * tools build an answer, a page of metrics or a reply of unknown length. (The data
 * path's fixed, pooled buffers are buffer.h's: they never grow by realloc.) */
#ifndef FULCRUM_TEXTBUF_H
#define FULCRUM_TEXTBUF_H

#include <stddef.h>

/* Zeroed = empty. p is NUL-terminated once anything was appended. */
struct textbuf {
	char *p;        /* the bytes, owned; NULL until the first append */
	size_t len;     /* bytes in p, the NUL not counted */
	size_t cap;     /* bytes allocated */
	int failed;     /* out of memory once: every later append does nothing */
};

/* Appends n bytes (growing by array_grow). 0, or -1 when out of memory (sb->failed
 * is then set and sb keeps what it had). */
int textbuf_append(struct textbuf *sb, const void *s, size_t n);
/* Makes room for n more bytes and counts them as appended (the NUL after them is
 * written): returns where the caller writes them, or NULL when out of memory (as above).
 * For a caller that assembles a piece from several parts with one growth check. */
char *textbuf_extend(struct textbuf *sb, size_t n);
/* Appends printf-formatted text, whole whatever its length. 0, or -1 as above. */
int textbuf_printf(struct textbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the bytes; sb is empty again. */
void textbuf_free(struct textbuf *sb);

#endif
