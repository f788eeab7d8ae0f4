/* k8s_parse.c: EndpointSlice JSON (discovery.k8s.io/v1) into plain structs: a LIST
 * answer, one WATCH event, and the state an endpoint's conditions give it. Pure. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "k8s.h"

#define ERR(...) fail(err, errlen, __VA_ARGS__)

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int parse_slice(const cJSON *obj, const struct k8s_port_sel *sel, struct k8s_slice *s,
		       char *err, size_t errlen);
static int pick_port(const cJSON *ports, const struct k8s_port_sel *sel, uint16_t *out);
static int parse_endpoint(const cJSON *ep, int family, uint16_t port, struct k8s_endpoint *out);
static int condition(const cJSON *conds, const char *name);
static void copy_string(char *dst, size_t len, const cJSON *s);
static const char *meta_string(const cJSON *obj, const char *key);

/* Writes the reason into err (when there is room) and returns -1. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

enum k8s_ep_state k8s_endpoint_state(int ready, int serving, int terminating)
{
	int is_ready = ready != 0;               /* absent (-1) = ready */
	int is_serving = serving == -1 ? is_ready : serving;

	if (terminating == 1)
		return is_serving ? K8S_EP_DRAINING : K8S_EP_GONE;
	return is_ready ? K8S_EP_ACTIVE : K8S_EP_GONE;
}

/* 1, 0, or -1 when conds lacks name or it is not a boolean (null is "unknown"). */
static int condition(const cJSON *conds, const char *name)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(conds, name);

	if (!cJSON_IsBool(c))
		return -1;
	return cJSON_IsTrue(c) ? 1 : 0;
}

static void copy_string(char *dst, size_t len, const cJSON *s)
{
	dst[0] = '\0';
	if (cJSON_IsString(s) && s->valuestring && strlen(s->valuestring) < len)
		memcpy(dst, s->valuestring, strlen(s->valuestring) + 1);
}

static const char *meta_string(const cJSON *obj, const char *key)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The port of the slice the pool uses (see struct k8s_port_sel). 0, or -1 when the
 * slice has no such port. */
static int pick_port(const cJSON *ports, const struct k8s_port_sel *sel, uint16_t *out)
{
	const cJSON *p, *found = NULL;
	int n = 0;

	cJSON_ArrayForEach(p, ports) {
		const cJSON *num = cJSON_GetObjectItemCaseSensitive(p, "port");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
		const cJSON *proto = cJSON_GetObjectItemCaseSensitive(p, "protocol");

		if (!cJSON_IsNumber(num) || num->valuedouble < 1 || num->valuedouble > 65535)
			continue;
		if (cJSON_IsString(proto) && strcmp(proto->valuestring, "TCP"))
			continue;
		n++;
		if (sel->port ? (uint32_t)num->valuedouble == sel->port
			      : sel->port_name ? cJSON_IsString(name) &&
						 !strcmp(name->valuestring, sel->port_name)
					       : 1)
			found = p;
	}
	/* a slice without ports means "every port": only a number can say which */
	if (n == 0 && sel->port && !cJSON_GetArraySize(ports)) {
		*out = (uint16_t)sel->port;
		return 0;
	}
	if (!found || (!sel->port && !sel->port_name && n != 1))
		return -1;
	*out = (uint16_t)cJSON_GetObjectItemCaseSensitive(found, "port")->valuedouble;
	return 0;
}

/* One endpoint: its first address (checked to be of the slice's family), name and
 * state. 0, or -1 when it cannot be a backend. */
static int parse_endpoint(const cJSON *ep, int family, uint16_t port, struct k8s_endpoint *out)
{
	const cJSON *addrs = cJSON_GetObjectItemCaseSensitive(ep, "addresses");
	const cJSON *first = cJSON_GetArrayItem(addrs, 0);
	const cJSON *conds = cJSON_GetObjectItemCaseSensitive(ep, "conditions");
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(ep, "targetRef");
	const cJSON *ref_name = cJSON_GetObjectItemCaseSensitive(ref, "name");
	unsigned char bin[16];

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsArray(addrs) || !cJSON_IsString(first))
		return -1;
	copy_string(out->ip, sizeof(out->ip), first);
	if (!out->ip[0] || inet_pton(family, out->ip, bin) != 1)
		return -1;
	out->port = port;
	out->family = family;
	out->state = k8s_endpoint_state(condition(conds, "ready"), condition(conds, "serving"),
					condition(conds, "terminating"));
	if (cJSON_IsString(ref_name) && config_check_name(ref_name->valuestring, NULL, 0) == 0) {
		snprintf(out->name, sizeof(out->name), "%s", ref_name->valuestring);
		out->by_pod = 1;
	} else
		k8s_endpoint_fallback_name(out->ip, port, out->name);
	return 0;
}

static int parse_slice(const cJSON *obj, const struct k8s_port_sel *sel, struct k8s_slice *s,
		       char *err, size_t errlen)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(obj, "addressType");
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(obj, "endpoints");
	const cJSON *ep;
	const char *name = meta_string(obj, "name"), *rv = meta_string(obj, "resourceVersion");
	int family = 0, n;
	uint16_t port = 0;

	memset(s, 0, sizeof(*s));
	if (!cJSON_IsObject(obj))
		return ERR("the object is not a JSON object");
	if (!name || !name[0] || strlen(name) >= sizeof(s->name))
		return ERR("an EndpointSlice without a usable metadata.name");
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (rv && strlen(rv) < sizeof(s->rv))
		snprintf(s->rv, sizeof(s->rv), "%s", rv);
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "IPv4"))
		family = AF_INET;
	else if (cJSON_IsString(type) && !strcmp(type->valuestring, "IPv6"))
		family = AF_INET6;
	n = cJSON_IsArray(eps) ? cJSON_GetArraySize(eps) : 0;
	if (n > K8S_SLICE_EPS_MAX)
		return ERR("EndpointSlice %s has %d endpoints (at most %d taken)", name, n,
			   K8S_SLICE_EPS_MAX);
	/* FQDN slices, or none of our port: every endpoint is left out, counted */
	if (!family || pick_port(cJSON_GetObjectItemCaseSensitive(obj, "ports"), sel, &port) == -1) {
		s->skipped = (size_t)n;
		return 0;
	}
	if (n == 0)
		return 0;
	s->eps = calloc((size_t)n, sizeof(*s->eps));
	if (!s->eps)
		return ERR("out of memory");
	cJSON_ArrayForEach(ep, eps) {
		if (parse_endpoint(ep, family, port, &s->eps[s->neps]) == 0)
			s->neps++;
		else
			s->skipped++;
	}
	return 0;
}

void k8s_slice_clear(struct k8s_slice *s)
{
	free(s->eps);
	memset(s, 0, sizeof(*s));
}

void k8s_slices_free(struct k8s_slice *s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		free(s[i].eps);
	free(s);
}

void k8s_event_clear(struct k8s_event *ev)
{
	k8s_slice_clear(&ev->slice);
}

int k8s_parse_event(const char *text, size_t len, const struct k8s_port_sel *sel,
		    struct k8s_event *ev, char *err, size_t errlen)
{
	static const char *const types[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR" };
	cJSON *root;
	const cJSON *type, *obj;
	const char *rv;
	size_t i;
	int rc = -1;

	memset(ev, 0, sizeof(*ev));
	if (len > K8S_EVENT_MAX)
		return ERR("a watch event of %zu bytes (at most %u)", len, K8S_EVENT_MAX);
	root = cJSON_ParseWithLength(text, len);
	if (!root)
		return ERR("a watch event that is not JSON");
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	obj = cJSON_GetObjectItemCaseSensitive(root, "object");
	if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
		ERR("a watch event without type and object");
		goto out;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type->valuestring, types[i]))
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		ERR("a watch event of unknown type \"%.32s\"", type->valuestring);
		goto out;
	}
	ev->type = (enum k8s_event_type)i;
	if (ev->type == K8S_EV_ERROR) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");

		ev->code = cJSON_IsNumber(code) && code->valuedouble >= 0 && code->valuedouble < 1000
				   ? (int)code->valuedouble : 0;
		if (cJSON_IsString(msg))
			snprintf(ev->message, sizeof(ev->message), "%s", msg->valuestring);
		rc = 0;
		goto out;
	}
	rv = meta_string(obj, "resourceVersion");
	if (!rv || !rv[0] || strlen(rv) >= sizeof(ev->rv)) {
		ERR("a %s event without a usable metadata.resourceVersion", types[i]);
		goto out;
	}
	snprintf(ev->rv, sizeof(ev->rv), "%s", rv);
	if (ev->type == K8S_EV_BOOKMARK) {
		rc = 0;
		goto out;
	}
	rc = parse_slice(obj, sel, &ev->slice, err, errlen);
out:
	cJSON_Delete(root);
	return rc;
}

int k8s_parse_list(const char *text, size_t len, const struct k8s_port_sel *sel,
		   struct k8s_slice **slices, size_t *n, char rv[K8S_RV_MAX], char *err,
		   size_t errlen)
{
	cJSON *root;
	const cJSON *items, *it;
	const char *lrv;
	struct k8s_slice *arr = NULL;
	size_t cnt = 0;
	int total;

	*slices = NULL;
	*n = 0;
	rv[0] = '\0';
	if (len > K8S_LIST_MAX)
		return ERR("a LIST answer of %zu bytes (at most %u)", len, K8S_LIST_MAX);
	root = cJSON_ParseWithLength(text, len);
	if (!root)
		return ERR("the LIST answer is not JSON");
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	lrv = meta_string(root, "resourceVersion");
	if (!lrv || !lrv[0] || strlen(lrv) >= K8S_RV_MAX || (items && !cJSON_IsArray(items) &&
							      !cJSON_IsNull(items))) {
		cJSON_Delete(root);
		return ERR("the LIST answer has no items list or no metadata.resourceVersion");
	}
	snprintf(rv, K8S_RV_MAX, "%s", lrv);
	total = cJSON_IsArray(items) ? cJSON_GetArraySize(items) : 0;
	if (total > 0 && !(arr = calloc((size_t)total, sizeof(*arr)))) {
		cJSON_Delete(root);
		return ERR("out of memory");
	}
	if (!cJSON_IsArray(items))
		items = NULL;
	cJSON_ArrayForEach(it, items) {
		if (parse_slice(it, sel, &arr[cnt], err, errlen) == -1) {
			k8s_slices_free(arr, cnt);
			cJSON_Delete(root);
			return -1;
		}
		cnt++;
	}
	cJSON_Delete(root);
	*slices = arr;
	*n = cnt;
	return 0;
}
