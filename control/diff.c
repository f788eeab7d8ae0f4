/* diff.c: what differs between two configs, key by key: both are rendered as flat
 * "path = value" lines (config_render) and joined on the path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "config.h"
#include "ctl_store.h"

struct line {
	char *key;                       /* points into the rendered text */
	char *value;
};

static ssize_t split_lines(char *text, struct line **out);
static int cmp_line(const void *a, const void *b);
static int add_item(struct ctl_diff_item **items, size_t *n, size_t *cap, const char *key,
		    const char *from, const char *to);

/* Cuts text into lines at " = " in place. Keys are unique (list elements are named), so
 * sorting by key pairs the two sides. */
static ssize_t split_lines(char *text, struct line **out)
{
	struct line *lines = NULL;
	size_t n = 0, cap = 0;
	char *p = text, *nl, *eq;

	while (*p) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		eq = strstr(p, " = ");
		if (eq) {
			if (ARRAY_GROW(&lines, &cap, n + 1, 128) == -1) {
				free(lines);
				return -1;
			}
			*eq = '\0';
			lines[n].key = p;
			lines[n].value = eq + 3;
			n++;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	if (n)
		qsort(lines, n, sizeof(*lines), cmp_line);
	*out = lines;
	return (ssize_t)n;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->key, ((const struct line *)b)->key);
}

static int add_item(struct ctl_diff_item **items, size_t *n, size_t *cap, const char *key,
		    const char *from, const char *to)
{
	struct ctl_diff_item *it;

	if (ARRAY_GROW(items, cap, *n + 1, 32) == -1)
		return -1;
	it = &(*items)[*n];
	it->key = strdup(key);
	it->from = from ? strdup(from) : NULL;
	it->to = to ? strdup(to) : NULL;
	if (!it->key || (from && !it->from) || (to && !it->to)) {
		free(it->key);
		free(it->from);
		free(it->to);
		return -1;
	}
	(*n)++;
	return 0;
}

ssize_t ctl_diff_configs(const struct config *a, const struct config *b,
			 struct ctl_diff_item **out)
{
	char *ta = ctl_render(a, CONFIG_RENDER_FLAT), *tb = ctl_render(b, CONFIG_RENDER_FLAT);
	struct line *la = NULL, *lb = NULL;
	struct ctl_diff_item *items = NULL;
	ssize_t na = -1, nb = -1;
	size_t i = 0, k = 0, n = 0, cap = 0;

	*out = NULL;
	if (!ta || !tb)
		goto fail;
	na = split_lines(ta, &la);
	nb = split_lines(tb, &lb);
	if (na < 0 || nb < 0)
		goto fail;
	while (i < (size_t)na || k < (size_t)nb) {
		int c = i == (size_t)na ? 1 : k == (size_t)nb ? -1 : strcmp(la[i].key, lb[k].key);
		int r = 0;

		if (c < 0) {
			r = add_item(&items, &n, &cap, la[i].key, la[i].value, NULL);
			i++;
		} else if (c > 0) {
			r = add_item(&items, &n, &cap, lb[k].key, NULL, lb[k].value);
			k++;
		} else {
			if (strcmp(la[i].value, lb[k].value))
				r = add_item(&items, &n, &cap, la[i].key, la[i].value, lb[k].value);
			i++;
			k++;
		}
		if (r == -1)
			goto fail;
	}
	free(la);
	free(lb);
	free(ta);
	free(tb);
	*out = items;
	return (ssize_t)n;
fail:
	ctl_diff_free(items, n);
	free(la);
	free(lb);
	free(ta);
	free(tb);
	return -1;
}

ssize_t ctl_diff_texts(const char *a, const char *b, struct ctl_diff_item **out, char *err,
		       size_t errlen)
{
	struct config_errors errs = { 0 };
	struct config *ca, *cb = NULL;
	ssize_t n = -1;

	*out = NULL;
	ca = config_load_string(a, "from", &errs);
	if (ca)
		cb = config_load_string(b, "to", &errs);
	if (!ca || !cb) {
		const struct config_error *e = errs.count ? &errs.items[0] : NULL;

		snprintf(err, errlen, "%s generation does not load: %s%s%s", ca ? "the second" : "the first",
			 e && e->key && e->key[0] ? e->key : "", e && e->key && e->key[0] ? ": " : "",
			 e ? e->message : "invalid");
		goto out;
	}
	n = ctl_diff_configs(ca, cb, out);
	if (n < 0)
		snprintf(err, errlen, "out of memory");
out:
	config_errors_clear(&errs);
	config_free(ca);
	config_free(cb);
	return n;
}

void ctl_diff_free(struct ctl_diff_item *items, size_t n)
{
	size_t i;

	for (i = 0; items && i < n; i++) {
		free(items[i].key);
		free(items[i].from);
		free(items[i].to);
	}
	free(items);
}
