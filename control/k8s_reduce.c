/* k8s_reduce.c: the endpoints of all of a Service's slices as one list, each address and
 * port once with the best state any slice gives it, each dual-stack pod on one family. Pure. */
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

static int by_address(const void *a, const void *b);
static int by_address_name(const void *a, const void *b);
static int by_pod_name(const void *a, const void *b);
static size_t one_family_per_pod(struct k8s_endpoint *eps, size_t n, enum k8s_family fam,
				 struct k8s_endpoint **scratch);

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

/* Pointers to endpoints, by name (the pointer breaks ties: a stable order) */
static int by_pod_name(const void *a, const void *b)
{
	const struct k8s_endpoint *x = *(const struct k8s_endpoint *const *)a;
	const struct k8s_endpoint *y = *(const struct k8s_endpoint *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x > y) - (x < y);
}

/* Drops, for every pod name with addresses of both families, the addresses of the
 * family not kept (see k8s_reduce); marks them with port 0 and compacts eps in place,
 * keeping its order. scratch holds n pointers. Returns the count left. */
static size_t one_family_per_pod(struct k8s_endpoint *eps, size_t n, enum k8s_family fam,
				 struct k8s_endpoint **scratch)
{
	size_t i, j, k, m = 0;

	for (i = 0; i < n; i++)
		if (eps[i].by_pod)
			scratch[m++] = &eps[i];
	qsort(scratch, m, sizeof(*scratch), by_pod_name);
	for (i = 0; i < m; i = j) {
		enum k8s_ep_state best4 = K8S_EP_GONE, best6 = K8S_EP_GONE;
		int has4 = 0, has6 = 0, drop;

		for (j = i; j < m && !strcmp(scratch[j]->name, scratch[i]->name); j++) {
			if (scratch[j]->family == AF_INET6) {
				has6 = 1;
				best6 = scratch[j]->state > best6 ? scratch[j]->state : best6;
			} else {
				has4 = 1;
				best4 = scratch[j]->state > best4 ? scratch[j]->state : best4;
			}
		}
		if (!has4 || !has6)
			continue;
		if (fam == K8S_FAMILY_IPV4)
			drop = AF_INET6;
		else if (fam == K8S_FAMILY_IPV6)
			drop = AF_INET;
		else
			drop = best6 > best4 ? AF_INET : AF_INET6;
		for (k = i; k < j; k++)
			if ((scratch[k]->family == AF_INET6) == (drop == AF_INET6))
				scratch[k]->port = 0;
	}
	for (i = 0, k = 0; i < n; i++)
		if (eps[i].port)
			eps[k++] = eps[i];
	return k;
}

void k8s_endpoint_fallback_name(const char *ip, uint16_t port, char out[K8S_NAME_MAX])
{
	char *p;

	snprintf(out, K8S_NAME_MAX, "ep-%s-%u", ip, (unsigned)port);
	for (p = out; *p; p++)
		if (*p == ':' || *p == '%')
			*p = '-';
}

ssize_t k8s_reduce(const struct k8s_slice *slices, size_t n, enum k8s_family fam,
		   struct k8s_endpoint **out)
{
	struct k8s_endpoint *all, **scratch;
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
	scratch = malloc(k * sizeof(*scratch));
	if (!scratch) {
		free(all);
		return -1;
	}
	k = one_family_per_pod(all, k, fam, scratch);
	free(scratch);
	*out = all;
	return (ssize_t)k;
}
