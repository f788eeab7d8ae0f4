/* fuzz_etcd_watch.c: libFuzzer target for the etcd client's parser: bytes through the line
 * splitter (whole and in pieces, split points from the first byte: the same messages must
 * come out), each line through the watch message parser; the input as a range, txn, lease
 * and error answer; and as base64, which must encode back to itself. Nothing may crash,
 * leak or disagree. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_json.h"
#include "k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_FUZZ 65536     /* bounds the fuzzer's own memory, not the code's */

struct run {
	uint64_t digest;        /* of the messages parsed, in order */
	size_t lines;
};

static void mix(struct run *r, uint64_t v)
{
	r->digest = (r->digest ^ v) * 1099511628211ull;
}

static int on_line(void *ctx, const char *line, size_t len)
{
	struct run *r = ctx;
	struct etcd_watch_msg m;
	char err[256];
	size_t i;

	r->lines++;
	if (etcd_parse_watch(line, len, &m, err, sizeof(err)) == -1) {
		assert(m.events == NULL && m.nevents == 0);
		mix(r, 0xbad);
		return 0;
	}
	mix(r, (uint64_t)m.kind);
	mix(r, (uint64_t)m.rev);
	assert(m.kind == ETCD_W_EVENTS || m.nevents == 0);
	assert(m.kind != ETCD_W_COMPACTED || m.compact_rev > 0);
	for (i = 0; i < m.nevents; i++) {
		const struct cstore_kv *kv = &m.events[i].kv;

		assert(kv->key && kv->key_len > 0 && kv->value);
		assert(kv->key[kv->key_len] == '\0' && kv->value[kv->value_len] == '\0');
		assert(kv->mod_rev > 0);
		assert(i == 0 || kv->mod_rev >= m.events[i - 1].kv.mod_rev);
		mix(r, (uint64_t)kv->mod_rev ^ kv->key_len ^ ((uint64_t)kv->value_len << 32));
	}
	etcd_watch_msg_clear(&m);
	return 0;
}

static void answers(const char *text, size_t len)
{
	struct cstore_kv *kvs;
	size_t n, i;
	int64_t rev, id, ttl;
	int ok, code;
	char err[256];

	if (etcd_parse_range(text, len, &kvs, &n, &rev, err, sizeof(err)) == 0) {
		assert(rev > 0);
		for (i = 0; i < n; i++)
			assert(kvs[i].key_len > 0 && kvs[i].mod_rev >= 0);
		etcd_kvs_free(kvs, n);
	} else {
		assert(kvs == NULL && n == 0);
	}
	if (etcd_parse_txn(text, len, &ok, &rev, &kvs, &n, err, sizeof(err)) == 0) {
		assert(rev > 0 && (!ok || n == 0));
		etcd_kvs_free(kvs, n);
	} else {
		assert(kvs == NULL && n == 0);
	}
	if (etcd_parse_lease(text, len, &id, &ttl, err, sizeof(err)) == 0)
		assert(ttl >= 0);
	if (etcd_parse_error(text, len, &code, err, sizeof(err)) == 0)
		assert(err[0] && code >= 0);
}

/* Decoding then encoding gives the input back, up to its padding. */
static void base64(const char *text, size_t len)
{
	char *dec, *enc;
	size_t n, m, a = len, b;

	if (etcd_b64_decode(text, len, &dec, &n) == -1)
		return;
	enc = malloc(ETCD_B64_LEN(n));
	assert(enc);
	m = etcd_b64_encode(dec, n, enc);
	while (a && text[a - 1] == '=')
		a--;
	b = m;
	while (b && enc[b - 1] == '=')
		b--;
	assert(a == b && memcmp(text, enc, a) == 0);
	free(enc);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = { 0 }, split = { 0 };
	struct k8s_lines l;
	size_t step, pos = 0, n;
	int r1, r2 = 0;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	data++;
	size--;

	k8s_lines_init(&l, LINE_MAX_FUZZ);
	r1 = k8s_lines_feed(&l, (const char *)data, size, on_line, &whole);
	k8s_lines_free(&l);
	k8s_lines_init(&l, LINE_MAX_FUZZ);
	while (pos < size && r2 == 0) {
		n = size - pos < step ? size - pos : step;
		r2 = k8s_lines_feed(&l, (const char *)data + pos, n, on_line, &split);
		pos += n;
	}
	k8s_lines_free(&l);
	assert(r1 == r2);
	assert(whole.lines == split.lines && whole.digest == split.digest);

	answers((const char *)data, size);
	base64((const char *)data, size);
	return 0;
}
