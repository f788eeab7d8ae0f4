/* validate.c: strict reading of the control API's JSON request bodies (cJSON): unknown or
 * repeated fields, wrong types and values out of range are refused with the field named. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl_api.h"

static const char *const state_names[] = { "active", "draining", "maint", NULL };

static int only_space(const char *p, const char *end);
static void list_allowed(const char *const *allowed, char *out, size_t len);

static int only_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return 0;
	return 1;
}

static void list_allowed(const char *const *allowed, char *out, size_t len)
{
	size_t used = 0;
	int i;

	out[0] = '\0';
	for (i = 0; allowed[i] && used < len; i++) {
		snprintf(out + used, len - used, "%s%s", i ? ", " : "", allowed[i]);
		used = strlen(out);
	}
}

cJSON *ctl_json_object(const char *body, size_t len, const char *const *allowed, char *err,
		       size_t errlen)
{
	const char *end = NULL;
	const cJSON *f, *g;
	cJSON *o;
	int i;

	if (only_space(body, body + len))
		return cJSON_CreateObject();
	o = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!o) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= body && at <= body + len ? (size_t)(at - body) : 0;

		snprintf(err, errlen, "malformed JSON near byte %zu", off);
		return NULL;
	}
	if (end && !only_space(end, body + len)) {
		snprintf(err, errlen, "unexpected data after the JSON object at byte %zu",
			 (size_t)(end - body));
		goto fail;
	}
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "the body must be a JSON object");
		goto fail;
	}
	for (f = o->child; f; f = f->next) {
		int known = 0;

		for (i = 0; allowed[i]; i++)
			if (!strcmp(f->string, allowed[i]))
				known = 1;
		if (!known) {
			char names[256];

			list_allowed(allowed, names, sizeof(names));
			snprintf(err, errlen, "unknown field '%.64s' (allowed: %s)", f->string,
				 allowed[0] ? names : "none");
			goto fail;
		}
		/* cJSON keeps repeated names; the first would win silently */
		for (g = o->child; g != f; g = g->next)
			if (!strcmp(f->string, g->string)) {
				snprintf(err, errlen, "field '%s' appears more than once", f->string);
				goto fail;
			}
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

int ctl_json_uint(const cJSON *o, const char *name, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t errlen)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	double v;

	if (!f)
		return 0;
	if (!cJSON_IsNumber(f)) {
		snprintf(err, errlen, "'%s' must be an integer", name);
		return -1;
	}
	v = f->valuedouble;
	if (v != floor(v) || v < (double)min || v > (double)max) {
		snprintf(err, errlen, "'%s' must be an integer in %llu..%llu", name,
			 (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = (uint64_t)v;
	return 1;
}

int ctl_json_string(const cJSON *o, const char *name, char *out, size_t outlen, char *err,
		    size_t errlen)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!f)
		return 0;
	if (!cJSON_IsString(f)) {
		snprintf(err, errlen, "'%s' must be a string", name);
		return -1;
	}
	if (strlen(f->valuestring) >= outlen) {
		snprintf(err, errlen, "'%s' is longer than %zu characters", name, outlen - 1);
		return -1;
	}
	snprintf(out, outlen, "%s", f->valuestring);
	return 1;
}

int ctl_check_name(const char *what, const char *name, char *err, size_t errlen)
{
	char why[160];

	if (config_check_name(name, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s", what, why);
	return -1;
}

int ctl_parse_backend_put(const char *body, size_t len, struct ctl_backend_put *p, char *err,
			  size_t errlen)
{
	static const char *const allowed[] = { "address", "weight", "max_conns", "state",
					       "identity", "ttl_s", NULL };
	char state[16], why[256];
	uint64_t v;
	cJSON *o;
	int r, i;

	memset(p, 0, sizeof(*p));
	o = ctl_json_object(body, len, allowed, err, errlen);
	if (!o)
		return -1;
	if ((r = ctl_json_string(o, "address", p->address, sizeof(p->address), err, errlen)) == -1)
		goto fail;
	if (r == 1) {
		if (addr_parse(p->address, &p->addr, 1, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "'address': %s", why);
			goto fail;
		}
		p->has_address = 1;
	}
	if ((r = ctl_json_uint(o, "weight", 0, 1000, &v, err, errlen)) == -1)
		goto fail;
	if (r == 1) {
		p->weight = (uint32_t)v;
		p->has_weight = 1;
	}
	if ((r = ctl_json_uint(o, "max_conns", 0, 1000000, &v, err, errlen)) == -1)
		goto fail;
	if (r == 1) {
		p->max_conns = (uint32_t)v;
		p->has_max_conns = 1;
	}
	if ((r = ctl_json_string(o, "state", state, sizeof(state), err, errlen)) == -1)
		goto fail;
	if (r == 1) {
		for (i = 0; state_names[i]; i++)
			if (!strcmp(state, state_names[i]))
				break;
		if (!state_names[i]) {
			snprintf(err, errlen, "'state' must be \"active\", \"draining\" or \"maint\"");
			goto fail;
		}
		p->state = (enum admin_state)i;
		p->has_state = 1;
	}
	if ((r = ctl_json_string(o, "identity", p->identity, sizeof(p->identity), err, errlen)) == -1)
		goto fail;
	if (r == 1) {
		if (ctl_check_identity(p->identity, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "'identity': %s", why);
			goto fail;
		}
		p->has_identity = 1;
	}
	if ((r = ctl_json_uint(o, "ttl_s", 0, CTL_TTL_MAX, &v, err, errlen)) == -1)
		goto fail;
	if (r == 1) {
		p->ttl_s = (uint32_t)v;
		p->has_ttl = 1;
	}
	cJSON_Delete(o);
	return 0;
fail:
	cJSON_Delete(o);
	return -1;
}

int ctl_parse_drain(const char *body, size_t len, uint32_t *timeout_s, char *err, size_t errlen)
{
	static const char *const allowed[] = { "timeout_s", NULL };
	cJSON *o = ctl_json_object(body, len, allowed, err, errlen);
	uint64_t v;
	int r;

	if (!o)
		return -1;
	r = ctl_json_uint(o, "timeout_s", 0, 86400, &v, err, errlen);
	cJSON_Delete(o);
	if (r == 1)
		*timeout_s = (uint32_t)v;
	return r == -1 ? -1 : 0;
}

int ctl_parse_rollback(const char *body, size_t len, uint64_t *generation, char *err,
		       size_t errlen)
{
	static const char *const allowed[] = { "generation", NULL };
	cJSON *o = ctl_json_object(body, len, allowed, err, errlen);
	int r;

	if (!o)
		return -1;
	r = ctl_json_uint(o, "generation", 1, (uint64_t)1 << 53, generation, err, errlen);
	cJSON_Delete(o);
	if (r == 0)
		snprintf(err, errlen, "'generation' is required");
	return r == 1 ? 0 : -1;
}
