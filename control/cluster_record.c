/* cluster_record.c: the JSON of a replica's own key in cluster mode (what it applied,
 * its health, the drains it emptied), written and read. Pure: unit-tested alone. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_replica.h"

static int get_text(const cJSON *o, const char *name, char *out, size_t len, int required,
		    char *err, size_t errlen);
static int get_rev(const cJSON *o, const char *name, int64_t *out, char *err, size_t errlen);
static int add_empty(cJSON *a, const struct creplica_empty *e);
static int add_rev(cJSON *o, const char *name, int64_t rev);

/* A revision written in full (cJSON prints numbers with 15 digits). 0, or -1. */
static int add_rev(cJSON *o, const char *name, int64_t rev)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRId64, rev);
	return cJSON_AddRawToObject(o, name, text) ? 0 : -1;
}

/* A JSON number that is a whole revision >= 0 (exact in a double up to 2^53). */
static int get_rev(const cJSON *o, const char *name, int64_t *out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
	    v->valuedouble != floor(v->valuedouble)) {
		snprintf(err, errlen, "\"%s\": not a revision", name);
		return -1;
	}
	*out = (int64_t)v->valuedouble;
	return 0;
}

/* A string member copied into out; absent is "" unless required. 0, or -1 with err. */
static int get_text(const cJSON *o, const char *name, char *out, size_t len, int required,
		    char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	out[0] = '\0';
	if (!v && !required)
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= len || (required && !v->valuestring[0])) {
		snprintf(err, errlen, "\"%s\": not a string of 1..%zu characters", name, len - 1);
		return -1;
	}
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int add_empty(cJSON *a, const struct creplica_empty *e)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(a, o)) {
		cJSON_Delete(o);
		return -1;
	}
	if (!cJSON_AddStringToObject(o, "pool", e->pool) ||
	    !cJSON_AddStringToObject(o, "name", e->name) ||
	    add_rev(o, "revision", e->rev) == -1)
		return -1;
	return 0;
}

char *creplica_encode(const struct creplica *r)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char *text = NULL;
	size_t i;

	if (!o || !cJSON_AddStringToObject(o, "id", r->id) ||
	    !cJSON_AddStringToObject(o, "control", r->control) ||
	    !cJSON_AddStringToObject(o, "version", r->version) ||
	    add_rev(o, "applied_revision", r->applied) == -1 ||
	    !cJSON_AddNumberToObject(o, "started", r->started) ||
	    !cJSON_AddBoolToObject(o, "store_up", r->store_up) ||
	    !cJSON_AddBoolToObject(o, "ready", r->ready) ||
	    !cJSON_AddStringToObject(o, "pools_config", r->config) ||
	    !(a = cJSON_AddArrayToObject(o, "empty")))
		goto out;
	for (i = 0; i < r->nempty; i++)
		if (add_empty(a, &r->empty[i]) == -1)
			goto out;
	text = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return text;
}

int creplica_decode(const char *text, size_t len, struct creplica *r, char *err, size_t errlen)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	const cJSON *v, *a, *it;
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "not a JSON object");
		goto fail;
	}
	if (get_text(o, "id", r->id, sizeof(r->id), 1, err, errlen) == -1 ||
	    get_text(o, "control", r->control, sizeof(r->control), 0, err, errlen) == -1 ||
	    get_text(o, "version", r->version, sizeof(r->version), 0, err, errlen) == -1 ||
	    get_text(o, "pools_config", r->config, sizeof(r->config), 0, err, errlen) == -1 ||
	    get_rev(o, "applied_revision", &r->applied, err, errlen) == -1)
		goto fail;
	v = cJSON_GetObjectItemCaseSensitive(o, "started");
	r->started = cJSON_IsNumber(v) ? v->valuedouble : 0;
	r->store_up = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "store_up"));
	r->ready = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ready"));
	a = cJSON_GetObjectItemCaseSensitive(o, "empty");
	if (a && !cJSON_IsArray(a)) {
		snprintf(err, errlen, "\"empty\": not an array");
		goto fail;
	}
	n = a ? (size_t)cJSON_GetArraySize(a) : 0;
	if (n > CREPLICA_EMPTY_MAX) {
		snprintf(err, errlen, "\"empty\": more than %d entries", CREPLICA_EMPTY_MAX);
		goto fail;
	}
	if (n && !(r->empty = calloc(n, sizeof(*r->empty)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cJSON_ArrayForEach(it, a) {
		struct creplica_empty *e = &r->empty[r->nempty];

		if (!cJSON_IsObject(it) ||
		    get_text(it, "pool", e->pool, sizeof(e->pool), 1, err, errlen) == -1 ||
		    get_text(it, "name", e->name, sizeof(e->name), 1, err, errlen) == -1 ||
		    get_rev(it, "revision", &e->rev, err, errlen) == -1) {
			if (!cJSON_IsObject(it))
				snprintf(err, errlen, "\"empty\": an entry is not an object");
			goto fail;
		}
		r->nempty++;
	}
	cJSON_Delete(o);
	return 0;
fail:
	cJSON_Delete(o);
	creplica_clear(r);
	return -1;
}

void creplica_clear(struct creplica *r)
{
	free(r->empty);
	r->empty = NULL;
	r->nempty = 0;
}

int creplica_empty_at(const struct creplica *r, const char *pool, const char *name, int64_t rev)
{
	size_t i;

	for (i = 0; i < r->nempty; i++)
		if (!strcmp(r->empty[i].pool, pool) && !strcmp(r->empty[i].name, name))
			return r->empty[i].rev >= rev;
	return 0;
}

int creplica_same(const struct creplica *a, const struct creplica *b)
{
	size_t i;

	if (strcmp(a->id, b->id) || strcmp(a->control, b->control) ||
	    strcmp(a->version, b->version) || strcmp(a->config, b->config) || a->applied != b->applied ||
	    a->started != b->started || a->store_up != b->store_up || a->ready != b->ready ||
	    a->nempty != b->nempty)
		return 0;
	for (i = 0; i < a->nempty; i++)
		if (strcmp(a->empty[i].pool, b->empty[i].pool) ||
		    strcmp(a->empty[i].name, b->empty[i].name) || a->empty[i].rev != b->empty[i].rev)
			return 0;
	return 1;
}

void creplica_default_id(const char *host, const char *control, char *out, size_t len)
{
	size_t i;

	snprintf(out, len, "%s%s%s", host && *host ? host : "fulcrum",
		 control && *control ? "-" : "", control ? control : "");
	for (i = 0; out[i]; i++)
		if (!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= 'A' && out[i] <= 'Z') ||
		      (out[i] >= '0' && out[i] <= '9') || out[i] == '.' || out[i] == '_' ||
		      out[i] == '-'))
			out[i] = '-';
	if (len > CREPLICA_ID_MAX)
		out[CREPLICA_ID_MAX - 1] = '\0';
}
