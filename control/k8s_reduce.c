/* k8s_reduce.c: the endpoints of all of a Service's slices as one list, each address and
 * port once with the best state any slice gives it. Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

static int by_address(const void *a, const void *b);
static int by_address_name(const void *a, const void *b);

static int by_address(const void *a, const void *b)
{
	const struct k8s_endpoint *x = a, *y = b;
	int c = strcmp(x->ip, y->ip);

	if (c)
		return c;
	return (x->port > y->port) - (x->port < y->port);
}

/* by_address, then by name: the order of equal addresses does not depend on qsort */
static int by_address_name(const void *a, const void *b)
{
	const struct k8s_endpoint *x = a, *y = b;
	int c = by_address(a, b);

	return c ? c : strcmp(x->name, y->name);
}

void k8s_endpoint_fallback_name(const char *ip, uint16_t port, char out[K8S_NAME_MAX])
{
	char *p;

	snprintf(out, K8S_NAME_MAX, "ep-%s-%u", ip, (unsigned)port);
	for (p = out; *p; p++)
		if (*p == ':' || *p == '%')
			*p = '-';
}

ssize_t k8s_reduce(const struct k8s_slice *slices, size_t n, struct k8s_endpoint **out)
{
	struct k8s_endpoint *all;
	size_t total = 0, i, k, m = 0;

	*out = NULL;
	for (i = 0; i < n; i++)
		total += slices[i].neps;
	if (total == 0)
		return 0;
	all = malloc(total * sizeof(*all));
	if (!all)
		return -1;
	for (i = 0; i < n; i++)
		for (k = 0; k < slices[i].neps; k++)
			all[m++] = slices[i].eps[k];
	qsort(all, m, sizeof(*all), by_address_name);
	for (i = 0, k = 0; i < m; i++) {
		if (k && !by_address(&all[k - 1], &all[i])) {
			if (all[i].state > all[k - 1].state)
				all[k - 1].state = all[i].state;
			continue;
		}
		all[k++] = all[i];
	}
	*out = all;
	return (ssize_t)k;
}
