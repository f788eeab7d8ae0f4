/* cluster_rollback.h: the rollback marker of cluster mode, "<prefix>@rollback": put in
 * the transaction that makes the store's state that of an earlier revision again. */
#ifndef FULCRUM_CLUSTER_ROLLBACK_H
#define FULCRUM_CLUSTER_ROLLBACK_H

#include <stddef.h>
#include <stdint.h>

#define CROLLBACK_KEY "@rollback"    /* under the cluster's prefix */

/* The marker's value: {"to": N, "from": R, "time": T}. */
struct crollback {
	int64_t to;                      /* the revision whose state was restored (the generation) */
	int64_t from;                    /* the head marker's revision it replaced */
	double time;                     /* wall clock of the call */
};

/* The marker's JSON (malloc'd), or NULL (no memory). */
char *crollback_encode(const struct crollback *m);
/* Reads a marker: "to" (1..2^53) and "from" (0..2^53) required, "time" optional. 0, or
 * -1 with err filled. */
int crollback_decode(const char *text, size_t len, struct crollback *m, char *err, size_t errlen);

#endif
