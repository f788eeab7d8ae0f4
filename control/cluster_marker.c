/* cluster_marker.c: the JSON of cluster mode's rollback marker (include/cluster_rollback.h),
 * written by a rollback's transaction (control/cluster_rollback.c) and read where the
 * watch meets it (control/cluster.c). Pure: unit-tested alone. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cluster_rollback.h"

#define REV_MAX 9007199254740992.0   /* 2^53: exact in JSON numbers */

char *crollback_encode(const struct crollback *m)
{
	cJSON *o = cJSON_CreateObject();
	char to[24], from[24], *s;

	/* as integers: cJSON's printing of doubles rounds above 10^15 */
	snprintf(to, sizeof(to), "%" PRId64, m->to);
	snprintf(from, sizeof(from), "%" PRId64, m->from);
	if (!o || !cJSON_AddRawToObject(o, "to", to) || !cJSON_AddRawToObject(o, "from", from) ||
	    !cJSON_AddNumberToObject(o, "time", m->time)) {
		cJSON_Delete(o);
		return NULL;
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* A whole number in [lo, 2^53]; 0 or -1. */
static int rev_of(const cJSON *o, const char *name, double lo, int64_t *out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(j) || j->valuedouble < lo || j->valuedouble > REV_MAX ||
	    j->valuedouble != (double)(int64_t)j->valuedouble)
		return -1;
	*out = (int64_t)j->valuedouble;
	return 0;
}

int crollback_decode(const char *text, size_t len, struct crollback *m, char *err, size_t errlen)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	const cJSON *t;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (!cJSON_IsObject(o))
		snprintf(err, errlen, "the rollback marker is not a JSON object");
	else if (rev_of(o, "to", 1, &m->to) == -1)
		snprintf(err, errlen, "the rollback marker's \"to\" is not a revision");
	else if (rev_of(o, "from", 0, &m->from) == -1)
		snprintf(err, errlen, "the rollback marker's \"from\" is not a revision");
	else {
		t = cJSON_GetObjectItemCaseSensitive(o, "time");
		if (cJSON_IsNumber(t))
			m->time = t->valuedouble;
		rc = 0;
	}
	cJSON_Delete(o);
	return rc;
}
