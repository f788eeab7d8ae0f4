/* array.h: growing a heap array (of records or of bytes) by doubling, the one way every
 * list and text buffer of the tree grows, with the size arithmetic checked once here. */
#ifndef FULCRUM_ARRAY_H
#define FULCRUM_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/* Makes room for need items of item_size bytes in *items, which holds *cap of them:
 * nothing when *cap >= need, else a realloc to *cap (first when the array is empty)
 * doubled until need fits. 0, or -1 when the size overflows or memory runs out; then
 * *items and *cap are as they were (the caller still owns *items). */
int array_grow(void **items, size_t *cap, size_t need, size_t item_size, size_t first);
/* The same, never growing past limit items (the doubling stops at limit): -1 when
 * need > limit, nothing changed. */
int array_grow_max(void **items, size_t *cap, size_t need, size_t item_size, size_t first,
		   size_t limit);

/* array_grow on a typed array: ARRAY_GROW(&list, &cap, n + 1, 16) with list a T * and
 * cap a size_t; the item size is sizeof(T). Goes through a void * of its own, so that
 * no T * is written as a void * (strict aliasing). */
#define ARRAY_GROW(pp, capp, need, first) ARRAY_GROW_MAX(pp, capp, need, first, SIZE_MAX)
#define ARRAY_GROW_MAX(pp, capp, need, first, limit) ({                              \
	void *array_p_ = *(pp);                                                       \
	int array_r_ = array_grow_max(&array_p_, (capp), (need), sizeof(**(pp)), (first), \
				      (limit));                                      \
	if (array_r_ == 0)                                                            \
		*(pp) = array_p_;                                                     \
	array_r_; })

#endif
