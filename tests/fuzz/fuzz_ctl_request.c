/* fuzz_ctl_request.c: libFuzzer target for the control API's request handling short of
 * the control plane's state: the request head as control/request.c parses it (its
 * limits, its copy of method, path and query), the route table, query decoding, name
 * checks and the JSON body validators of PUT, drain and rollback. The first byte picks
 * whether the rest is a whole request or a bare JSON body fed to every validator.
 * Checked: each validator either accepts with values in their bounds or gives a reason. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ctl_api.h"
#include "ctl_http.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the validators on body (NUL-terminated, len bytes) and checks their contracts. */
static void validate_body(const char *body, size_t len, enum ctl_route_id only)
{
	struct ctl_backend_put put;
	uint32_t timeout = 12345;
	uint64_t gen = 0;
	char err[512];

	if (only == CTL_R_NONE || only == CTL_R_BACKEND) {
		err[0] = '\0';
		if (ctl_parse_backend_put(body, len, &put, err, sizeof(err)) == 0) {
			assert(!put.has_weight || put.weight <= 1000);
			assert(!put.has_max_conns || put.max_conns <= 1000000);
			assert(!put.has_state || put.state <= ADMIN_MAINT);
			assert(!put.has_address || put.addr.len > 0);
		} else {
			assert(err[0] != '\0');
		}
	}
	if (only == CTL_R_NONE || only == CTL_R_DRAIN) {
		err[0] = '\0';
		if (ctl_parse_drain(body, len, &timeout, err, sizeof(err)) == 0)
			assert(timeout == 12345 || timeout <= 86400);
		else
			assert(err[0] != '\0');
	}
	if (only == CTL_R_NONE || only == CTL_R_ROLLBACK) {
		err[0] = '\0';
		if (ctl_parse_rollback(body, len, &gen, err, sizeof(err)) == 0)
			assert(gen >= 1 && gen <= (uint64_t)1 << 53);
		else
			assert(err[0] != '\0');
	}
}

/* What process_input() does with one complete request, minus the socket and the
 * handlers that change state. */
static void handle_request(const char *in, size_t len)
{
	static const struct http_limits limits = { CTL_HEAD_MAX, CTL_HEADERS_MAX };
	static const char *const keys[] = { "wait", "timeout", "force", "from", "to", NULL };
	struct http_head h;
	struct ctl_route_match m;
	char method[16], path[1024], query[1024], val[256], err[256];
	size_t blen, qpos, i;
	const char *target;
	char *body;

	memset(&h, 0, sizeof(h));
	if (http_parse_request(in, len, &limits, &h) != HTTP_PARSE_DONE)
		return;
	if (h.body == HTTP_BODY_CHUNKED)
		return;  /* refused with 411 */
	blen = h.body == HTTP_BODY_LENGTH ? (size_t)h.content_length : 0;
	if (h.body == HTTP_BODY_LENGTH && h.content_length > CTL_BODY_MAX)
		return;  /* 413 */
	if (len < h.head_len + blen)
		return;  /* waits for more */
	assert(h.method.off + h.method.len <= len && h.target.off + h.target.len <= len);
	snprintf(method, sizeof(method), "%.*s", (int)h.method.len, in + h.method.off);
	target = in + h.target.off;
	for (qpos = 0; qpos < h.target.len && target[qpos] != '?'; qpos++)
		;
	snprintf(path, sizeof(path), "%.*s", (int)qpos, target);
	query[0] = '\0';
	if (qpos < h.target.len)
		snprintf(query, sizeof(query), "%.*s", (int)(h.target.len - qpos - 1), target + qpos + 1);
	ctl_route(method, path, &m);
	assert(m.status == 0 || m.status == 404 || m.status == 405);
	assert(m.status != 0 || m.id != CTL_R_NONE);
	for (i = 0; keys[i]; i++)
		if (ctl_query_get(query, keys[i], val, sizeof(val)) == 1)
			assert(strlen(val) < sizeof(val));
	if (m.status != 0)
		return;
	if (m.pool[0])
		(void)ctl_check_name("pool", m.pool, err, sizeof(err));
	if (m.name[0])
		(void)ctl_check_name("backend", m.name, err, sizeof(err));
	body = malloc(blen + 1);
	if (!body)
		return;
	memcpy(body, in + h.head_len, blen);
	body[blen] = '\0';
	if (m.id == CTL_R_BACKEND || m.id == CTL_R_DRAIN || m.id == CTL_R_ROLLBACK)
		validate_body(body, blen, m.id);
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	addr_resolve_offline(1);  /* addresses in PUT bodies: no DNS */
	if (size < 1 || size > CTL_HEAD_MAX + CTL_BODY_MAX)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	if (data[0] & 1)
		validate_body(buf, size - 1, CTL_R_NONE);
	else
		handle_request(buf, size - 1);
	free(buf);
	return 0;
}
