/* access_line.h: the text of a request's access-log line (lb/access_line.c). */
#ifndef FULCRUM_ACCESS_LINE_H
#define FULCRUM_ACCESS_LINE_H

#include <stddef.h>

struct client;

/* Writes c's access-log line as of now (log.format: JSON or combined, newline
 * included) into out and NUL-terminates it; returns its length, at most cap - 1 (a
 * longer line is cut, newline and all). */
size_t access_line_format(struct client *c, double now, char *out, size_t cap);

#endif
