/* array.c: array_grow (include/array.h). Owns the doubling rule and its overflow
 * checks: a count times an item size is checked before it becomes a size. */
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

int array_grow_max(void **items, size_t *cap, size_t need, size_t item_size, size_t first,
		   size_t limit)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	if (need > limit || item_size == 0 || need > SIZE_MAX / item_size)
		return -1;
	ncap = *cap ? *cap : (first ? first : 1);
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > limit)
		ncap = limit;
	if (ncap > SIZE_MAX / item_size)
		ncap = need;  /* doubling would overflow; need itself fits (checked above) */
	p = realloc(*items, ncap * item_size);
	if (!p)
		return -1;
	*items = p;
	*cap = ncap;
	return 0;
}

int array_grow(void **items, size_t *cap, size_t need, size_t item_size, size_t first)
{
	return array_grow_max(items, cap, need, item_size, first, SIZE_MAX);
}
