/* k8s_stream.c: the watch stream's line splitter: bytes as the network delivers them in,
 * whole lines (one JSON event each) out, the unfinished tail kept and bounded. */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "k8s.h"

static int emit(const char *line, size_t len, k8s_line_fn fn, void *ctx);
static int keep(struct k8s_lines *l, const char *data, size_t n);

void k8s_lines_init(struct k8s_lines *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max ? max : K8S_EVENT_MAX;
}

size_t k8s_lines_pending(const struct k8s_lines *l)
{
	return l->len;
}

void k8s_lines_reset(struct k8s_lines *l)
{
	l->len = 0;
}

void k8s_lines_free(struct k8s_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->len = l->cap = 0;
}

static int emit(const char *line, size_t len, k8s_line_fn fn, void *ctx)
{
	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0;
	return fn(ctx, line, len);
}

/* Appends to the held tail, growing it geometrically up to max. */
static int keep(struct k8s_lines *l, const char *data, size_t n)
{
	if (n > l->max - l->len)
		return -1;
	if (ARRAY_GROW_MAX(&l->buf, &l->cap, l->len + n, 4096, l->max) == -1)
		return -1;
	memcpy(l->buf + l->len, data, n);
	l->len += n;
	return 0;
}

int k8s_lines_feed(struct k8s_lines *l, const char *data, size_t n, k8s_line_fn fn, void *ctx)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t part;

		if (!nl)
			return keep(l, data, n);
		part = (size_t)(nl - data);
		if (l->len) {
			/* the line began in an earlier read: finish it in the buffer */
			size_t whole;

			if (keep(l, data, part) == -1)
				return -1;
			whole = l->len;
			l->len = 0;  /* the bytes stay in buf for the call; the next read overwrites */
			if (emit(l->buf, whole, fn, ctx) == -1)
				return -1;
		} else {
			if (part > l->max)
				return -1;
			if (emit(data, part, fn, ctx) == -1)
				return -1;
		}
		data += part + 1;
		n -= part + 1;
	}
	return 0;
}
