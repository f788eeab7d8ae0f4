/* store_etcd_json.c: the etcd gateway's JSON, both ways: requests built from the store
 * interface's calls, answers and watch messages parsed back into its records. Pure. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "array.h"
#include "etcd_json.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int add_b64(cJSON *obj, const char *name, const void *p, size_t n);
static int add_i64(cJSON *obj, const char *name, int64_t v);
static int add_range(cJSON *obj, const char *prefix);
static char *print_free(cJSON *root);
static int get_i64(const cJSON *obj, const char *name, int64_t *out);
static int get_b64(const cJSON *obj, const char *name, char **out, size_t *len);
static int parse_kv(const cJSON *j, struct cstore_kv *kv, char *err, size_t errlen);
static int parse_kvs(const cJSON *arr, struct cstore_kv **kvs, size_t *nkvs, char *err,
		     size_t errlen);
static int header_rev(const cJSON *root, int64_t *rev);
static int b64_value(unsigned char c);

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- base64 ---- */

size_t etcd_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);

		out[o++] = b64_alphabet[v >> 18];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int etcd_b64_decode(const char *in, size_t n, char **out, size_t *outlen)
{
	unsigned char *buf;
	uint32_t acc = 0;
	size_t i, o = 0, pad = 0, bits = 0;

	*out = NULL;
	*outlen = 0;
	while (pad < 2 && n > 0 && in[n - 1] == '=') {
		n--;
		pad++;
	}
	/* unpadded input is fine; padding must complete a group of four */
	if (n % 4 == 1 || (pad && (n + pad) % 4))
		return -1;
	buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* the bits left over are the padding's and must be zero (one encoding per value) */
	if (acc) {
		free(buf);
		return -1;
	}
	buf[o] = '\0';
	*out = (char *)buf;
	*outlen = o;
	return 0;
}

size_t etcd_prefix_end(const char *prefix, size_t n, char *out)
{
	size_t i = n;

	while (i > 0 && (unsigned char)prefix[i - 1] == 0xff)
		i--;
	if (i == 0)
		return 0;
	memcpy(out, prefix, i);
	out[i - 1] = (char)((unsigned char)out[i - 1] + 1);
	return i;
}

/* ---- Requests ---- */

/* Adds name: the base64 of n bytes at p. 0, or -1 (no memory). */
static int add_b64(cJSON *obj, const char *name, const void *p, size_t n)
{
	char *s;
	int rc;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 3)
		return -1;
	s = malloc(ETCD_B64_LEN(n));
	if (!s)
		return -1;
	etcd_b64_encode(p, n, s);
	rc = cJSON_AddStringToObject(obj, name, s) ? 0 : -1;
	free(s);
	return rc;
}

/* The gateway takes (and gives) 64-bit numbers as strings: a double would lose digits. */
static int add_i64(cJSON *obj, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return cJSON_AddStringToObject(obj, name, s) ? 0 : -1;
}

/* key and range_end covering every key that starts with prefix. */
static int add_range(cJSON *obj, const char *prefix)
{
	size_t n = strlen(prefix), e;
	char end[ETCD_KEY_MAX];

	if (n > ETCD_KEY_MAX)
		return -1;
	e = etcd_prefix_end(prefix, n, end);
	if (n == 0) {
		/* every key: from "\0" to "\0" (etcd's reading of key and range_end both \0) */
		if (add_b64(obj, "key", "", 1) == -1)
			return -1;
		return add_b64(obj, "range_end", "", 1);
	}
	if (add_b64(obj, "key", prefix, n) == -1)
		return -1;
	return e ? add_b64(obj, "range_end", end, e) : add_b64(obj, "range_end", "", 1);
}

static char *print_free(cJSON *root)
{
	char *s = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	return s;
}

char *etcd_req_range(const char *prefix)
{
	return etcd_req_range_at(prefix, 0);
}

/* {"key", "range_end"[, "revision"]}: the prefix as of revision rev (0: now). */
char *etcd_req_range_at(const char *prefix, int64_t rev)
{
	cJSON *root = cJSON_CreateObject();

	if (!root || add_range(root, prefix) == -1 || (rev > 0 && add_i64(root, "revision", rev) == -1)) {
		cJSON_Delete(root);
		return NULL;
	}
	return print_free(root);
}

/* {"compare": [MOD of cmp_key == cmp_rev], "success": [the ops], "failure": [a range of
 * cmp_key]}: on a conflict the answer carries the key as it is now. */
char *etcd_req_txn(const struct cstore_txn *t)
{
	cJSON *root = cJSON_CreateObject(), *cmp, *succ, *fail, *o, *req;
	size_t i;

	if (!root)
		return NULL;
	succ = cJSON_AddArrayToObject(root, "success");
	if (!succ)
		goto fail;
	if (t->cmp_key) {
		if (strlen(t->cmp_key) > ETCD_KEY_MAX || t->cmp_rev < 0)
			goto fail;
		cmp = cJSON_AddArrayToObject(root, "compare");
		fail = cJSON_AddArrayToObject(root, "failure");
		if (!cmp || !fail || !(o = cJSON_CreateObject()))
			goto fail;
		cJSON_AddItemToArray(cmp, o);
		if (add_b64(o, "key", t->cmp_key, strlen(t->cmp_key)) == -1 ||
		    !cJSON_AddStringToObject(o, "target", "MOD") ||
		    !cJSON_AddStringToObject(o, "result", "EQUAL") ||
		    add_i64(o, "mod_revision", t->cmp_rev) == -1)
			goto fail;
		if (!(o = cJSON_CreateObject()))
			goto fail;
		cJSON_AddItemToArray(fail, o);
		if (!(req = cJSON_AddObjectToObject(o, "request_range")) ||
		    add_b64(req, "key", t->cmp_key, strlen(t->cmp_key)) == -1)
			goto fail;
	}
	for (i = 0; i < t->nops; i++) {
		const struct cstore_op *op = &t->ops[i];

		if (!op->key || strlen(op->key) > ETCD_KEY_MAX || (!op->key[0] && op->type != CSTORE_DELETE_PREFIX))
			goto fail;
		if (!(o = cJSON_CreateObject()))
			goto fail;
		cJSON_AddItemToArray(succ, o);
		switch (op->type) {
		case CSTORE_PUT:
			if (!(req = cJSON_AddObjectToObject(o, "request_put")) ||
			    add_b64(req, "key", op->key, strlen(op->key)) == -1 ||
			    add_b64(req, "value", op->value ? op->value : "", op->value ? op->value_len : 0) == -1 ||
			    (op->lease && add_i64(req, "lease", op->lease) == -1))
				goto fail;
			break;
		case CSTORE_DELETE:
			if (!(req = cJSON_AddObjectToObject(o, "request_delete_range")) ||
			    add_b64(req, "key", op->key, strlen(op->key)) == -1)
				goto fail;
			break;
		case CSTORE_DELETE_PREFIX:
			if (!(req = cJSON_AddObjectToObject(o, "request_delete_range")) ||
			    add_range(req, op->key) == -1)
				goto fail;
			break;
		default:
			goto fail;
		}
	}
	return print_free(root);
fail:
	cJSON_Delete(root);
	return NULL;
}

char *etcd_req_lease_grant(int64_t ttl_s)
{
	cJSON *root = cJSON_CreateObject();

	if (!root || add_i64(root, "TTL", ttl_s) == -1) {
		cJSON_Delete(root);
		return NULL;
	}
	return print_free(root);
}

char *etcd_req_lease_id(int64_t lease)
{
	cJSON *root = cJSON_CreateObject();

	if (!root || add_i64(root, "ID", lease) == -1) {
		cJSON_Delete(root);
		return NULL;
	}
	return print_free(root);
}

char *etcd_req_watch(const char *prefix, int64_t from_rev)
{
	cJSON *root = cJSON_CreateObject(), *cr;

	if (!root || !(cr = cJSON_AddObjectToObject(root, "create_request")) ||
	    add_range(cr, prefix) == -1 || (from_rev > 0 && add_i64(cr, "start_revision", from_rev) == -1)) {
		cJSON_Delete(root);
		return NULL;
	}
	return print_free(root);
}

/* ---- Answers ---- */

/* A 64-bit field, as a string of digits or a number; absent (proto3's zero value left
 * out) is 0. 0, or -1 when it is of another type or out of range. */
static int get_i64(const cJSON *obj, const char *name, int64_t *out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
	char *end;
	long long v;

	*out = 0;
	if (!j || cJSON_IsNull(j))
		return 0;
	if (cJSON_IsNumber(j)) {
		if (j->valuedouble != j->valuedouble || j->valuedouble < -9.2e18 || j->valuedouble > 9.2e18)
			return -1;
		*out = (int64_t)j->valuedouble;
		return 0;
	}
	if (!cJSON_IsString(j) || !j->valuestring[0])
		return -1;
	errno = 0;
	v = strtoll(j->valuestring, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* A base64 field, decoded (absent: empty). 0, or -1. */
static int get_b64(const cJSON *obj, const char *name, char **out, size_t *len)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!j || cJSON_IsNull(j))
		return etcd_b64_decode("", 0, out, len);
	if (!cJSON_IsString(j))
		return -1;
	return etcd_b64_decode(j->valuestring, strlen(j->valuestring), out, len);
}

/* One mvccpb.KeyValue. On -1 nothing is left allocated in kv. */
static int parse_kv(const cJSON *j, struct cstore_kv *kv, char *err, size_t errlen)
{
	memset(kv, 0, sizeof(*kv));
	if (!cJSON_IsObject(j)) {
		seterr(err, errlen, "a key-value is not an object");
		return -1;
	}
	if (get_b64(j, "key", &kv->key, &kv->key_len) == -1 ||
	    get_b64(j, "value", &kv->value, &kv->value_len) == -1) {
		seterr(err, errlen, "a key or value is not base64");
		goto fail;
	}
	if (get_i64(j, "mod_revision", &kv->mod_rev) == -1 ||
	    get_i64(j, "create_revision", &kv->create_rev) == -1 ||
	    get_i64(j, "lease", &kv->lease) == -1 || kv->mod_rev < 0 || kv->create_rev < 0) {
		seterr(err, errlen, "a key's revision or lease is not a number");
		goto fail;
	}
	if (!kv->key_len) {
		seterr(err, errlen, "a key-value without a key");
		goto fail;
	}
	return 0;
fail:
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
	return -1;
}

/* An array of KeyValue (absent: none), appended to *kvs. */
static int parse_kvs(const cJSON *arr, struct cstore_kv **kvs, size_t *nkvs, char *err,
		     size_t errlen)
{
	size_t cap = *nkvs;
	const cJSON *j;

	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr)) {
		seterr(err, errlen, "kvs is not an array");
		return -1;
	}
	cJSON_ArrayForEach(j, arr) {
		if (ARRAY_GROW(kvs, &cap, *nkvs + 1, 16) == -1) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		if (parse_kv(j, &(*kvs)[*nkvs], err, errlen) == -1)
			return -1;
		(*nkvs)++;
	}
	return 0;
}

/* header.revision of an answer (0 when absent). */
static int header_rev(const cJSON *root, int64_t *rev)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "header");

	*rev = 0;
	if (!h || cJSON_IsNull(h))
		return 0;
	if (!cJSON_IsObject(h) || get_i64(h, "revision", rev) == -1 || *rev < 0)
		return -1;
	return 0;
}

void etcd_kvs_free(struct cstore_kv *kvs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

int etcd_parse_range(const char *text, size_t len, struct cstore_kv **kvs, size_t *nkvs,
		     int64_t *rev, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	int rc = -1;

	*kvs = NULL;
	*nkvs = 0;
	if (!cJSON_IsObject(root)) {
		seterr(err, errlen, "the range answer is not a JSON object");
		goto out;
	}
	if (header_rev(root, rev) == -1 || *rev <= 0) {
		seterr(err, errlen, "the range answer has no revision");
		goto out;
	}
	rc = parse_kvs(cJSON_GetObjectItemCaseSensitive(root, "kvs"), kvs, nkvs, err, errlen);
out:
	if (rc == -1) {
		etcd_kvs_free(*kvs, *nkvs);
		*kvs = NULL;
		*nkvs = 0;
	}
	cJSON_Delete(root);
	return rc;
}

int etcd_parse_txn(const char *text, size_t len, int *succeeded, int64_t *rev,
		   struct cstore_kv **kvs, size_t *nkvs, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *s, *resps, *r;
	int rc = -1;

	*kvs = NULL;
	*nkvs = 0;
	*succeeded = 0;
	if (!cJSON_IsObject(root)) {
		seterr(err, errlen, "the txn answer is not a JSON object");
		goto out;
	}
	if (header_rev(root, rev) == -1 || *rev <= 0) {
		seterr(err, errlen, "the txn answer has no revision");
		goto out;
	}
	s = cJSON_GetObjectItemCaseSensitive(root, "succeeded");
	if (s && !cJSON_IsBool(s)) {
		seterr(err, errlen, "the txn answer's succeeded is not a boolean");
		goto out;
	}
	*succeeded = cJSON_IsTrue(s);
	resps = cJSON_GetObjectItemCaseSensitive(root, "responses");
	if (resps && !cJSON_IsNull(resps) && !cJSON_IsArray(resps)) {
		seterr(err, errlen, "the txn answer's responses is not an array");
		goto out;
	}
	rc = 0;
	if (*succeeded)
		goto out;
	cJSON_ArrayForEach(r, resps) {
		const cJSON *rr = cJSON_GetObjectItemCaseSensitive(r, "response_range");

		if (!rr)
			continue;
		if (!cJSON_IsObject(rr) ||
		    parse_kvs(cJSON_GetObjectItemCaseSensitive(rr, "kvs"), kvs, nkvs, err, errlen) == -1) {
			if (!cJSON_IsObject(rr))
				seterr(err, errlen, "a txn response_range is not an object");
			rc = -1;
			break;
		}
	}
out:
	if (rc == -1) {
		etcd_kvs_free(*kvs, *nkvs);
		*kvs = NULL;
		*nkvs = 0;
	}
	cJSON_Delete(root);
	return rc;
}

int etcd_parse_lease(const char *text, size_t len, int64_t *lease, int64_t *ttl, char *err,
		     size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *o = root, *res;
	int rc = -1;

	*lease = *ttl = 0;
	if (!cJSON_IsObject(root)) {
		seterr(err, errlen, "the lease answer is not a JSON object");
		goto out;
	}
	/* a keep-alive is a stream, so its one answer comes wrapped as {"result": ...} */
	res = cJSON_GetObjectItemCaseSensitive(root, "result");
	if (res) {
		if (!cJSON_IsObject(res)) {
			seterr(err, errlen, "the lease answer's result is not an object");
			goto out;
		}
		o = res;
	}
	if (get_i64(o, "ID", lease) == -1 || get_i64(o, "TTL", ttl) == -1 || *ttl < 0) {
		seterr(err, errlen, "the lease answer's ID or TTL is not a number");
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "error")) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");

		seterr(err, errlen, "%s", cJSON_IsString(e) ? e->valuestring : "the lease answer is an error");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

int etcd_parse_error(const char *text, size_t len, int *code, char *msg, size_t msglen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *e, *m, *c, *o;
	int rc = -1;

	*code = 0;
	if (msglen)
		msg[0] = '\0';
	if (!cJSON_IsObject(root))
		goto out;
	/* a unary call's error is flat; a stream's comes as {"error": {...}} */
	o = root;
	e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsObject(e))
		o = e;
	else if (!cJSON_IsString(e))
		goto out;
	m = cJSON_GetObjectItemCaseSensitive(o, "message");
	c = cJSON_GetObjectItemCaseSensitive(o, "code");
	if (!c)
		c = cJSON_GetObjectItemCaseSensitive(o, "grpc_code");
	if (cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble < 1000)
		*code = (int)c->valuedouble;
	if (cJSON_IsString(m) && m->valuestring[0])
		seterr(msg, msglen, "%s", m->valuestring);
	else if (cJSON_IsString(e) && e->valuestring[0])
		seterr(msg, msglen, "%s", e->valuestring);
	else
		seterr(msg, msglen, "etcd error %d", *code);
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- Watch ---- */

void etcd_watch_msg_clear(struct etcd_watch_msg *m)
{
	size_t i;

	for (i = 0; i < m->nevents; i++) {
		free(m->events[i].kv.key);
		free(m->events[i].kv.value);
	}
	free(m->events);
	m->events = NULL;
	m->nevents = 0;
}

/* {"result": WatchResponse} or {"error": {...}}. */
int etcd_parse_watch(const char *line, size_t len, struct etcd_watch_msg *m, char *err,
		     size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *res, *evs, *j, *t;
	size_t cap = 0;
	int rc = -1, code;

	memset(m, 0, sizeof(*m));
	if (!cJSON_IsObject(root)) {
		seterr(err, errlen, "a watch message is not a JSON object");
		goto out;
	}
	res = cJSON_GetObjectItemCaseSensitive(root, "result");
	if (!res) {
		cJSON_Delete(root);
		root = NULL;
		if (etcd_parse_error(line, len, &code, m->message, sizeof(m->message)) == -1) {
			seterr(err, errlen, "a watch message has neither result nor error");
			return -1;
		}
		m->kind = ETCD_W_ERROR;
		return 0;
	}
	if (!cJSON_IsObject(res) || header_rev(res, &m->rev) == -1) {
		seterr(err, errlen, "a watch result is not an object with a header");
		goto out;
	}
	if (get_i64(res, "compact_revision", &m->compact_rev) == -1 || m->compact_rev < 0) {
		seterr(err, errlen, "a watch result's compact_revision is not a number");
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "canceled"))) {
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(res, "cancel_reason");

		m->kind = m->compact_rev > 0 ? ETCD_W_COMPACTED : ETCD_W_CANCELED;
		seterr(m->message, sizeof(m->message), "%s",
		       cJSON_IsString(why) ? why->valuestring : "the watch was canceled");
		rc = 0;
		goto out;
	}
	if (m->compact_rev > 0) {
		/* etcd cancels a compacted watch; a compact_revision alone means the same */
		m->kind = ETCD_W_COMPACTED;
		rc = 0;
		goto out;
	}
	m->kind = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "created")) ? ETCD_W_CREATED
										: ETCD_W_EVENTS;
	evs = cJSON_GetObjectItemCaseSensitive(res, "events");
	if (evs && !cJSON_IsNull(evs) && !cJSON_IsArray(evs)) {
		seterr(err, errlen, "a watch result's events is not an array");
		goto out;
	}
	cJSON_ArrayForEach(j, evs) {
		struct cstore_event *ev;

		m->kind = ETCD_W_EVENTS;
		if (ARRAY_GROW(&m->events, &cap, m->nevents + 1, 8) == -1) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
		ev = &m->events[m->nevents];
		t = cJSON_GetObjectItemCaseSensitive(j, "type");
		if (!t || (cJSON_IsString(t) && !strcmp(t->valuestring, "PUT")) ||
		    (cJSON_IsNumber(t) && t->valuedouble == 0))
			ev->type = CSTORE_EV_PUT;
		else if ((cJSON_IsString(t) && !strcmp(t->valuestring, "DELETE")) ||
			 (cJSON_IsNumber(t) && t->valuedouble == 1))
			ev->type = CSTORE_EV_DELETE;
		else {
			seterr(err, errlen, "a watch event of unknown type");
			goto out;
		}
		if (parse_kv(cJSON_GetObjectItemCaseSensitive(j, "kv"), &ev->kv, err, errlen) == -1)
			goto out;
		m->nevents++;
		if (ev->kv.mod_rev <= 0 ||
		    (m->nevents > 1 && ev->kv.mod_rev < m->events[m->nevents - 2].kv.mod_rev)) {
			seterr(err, errlen, "watch events out of revision order");
			goto out;
		}
	}
	rc = 0;
out:
	if (rc == -1)
		etcd_watch_msg_clear(m);
	cJSON_Delete(root);
	return rc;
}
