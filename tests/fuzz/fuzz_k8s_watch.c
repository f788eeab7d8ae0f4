/* fuzz_k8s_watch.c: libFuzzer target for the Kubernetes watch stream: bytes through the
 * line splitter (whole and in pieces, split points from the first byte: the same lines
 * must come out), each line through the event parser, the slices through the reduction;
 * and the input as a LIST answer. Nothing may crash, leak or disagree. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINES_MAX 4096          /* bounds the fuzzer's own memory, not the code's */

struct run {
	struct k8s_port_sel sel;
	struct k8s_slice slices[8];
	size_t nslices;
	uint64_t digest;        /* of the lines seen, in order */
	size_t lines;
};

static int on_line(void *ctx, const char *line, size_t len)
{
	struct run *r = ctx;
	struct k8s_event ev;
	char err[256];
	size_t i;

	for (i = 0; i < len; i++)
		r->digest = (r->digest ^ (unsigned char)line[i]) * 1099511628211ull;
	r->digest = (r->digest ^ 0x100) * 1099511628211ull;
	r->lines++;
	if (k8s_parse_event(line, len, &r->sel, &ev, err, sizeof(err)) == -1)
		return 0;
	assert(ev.slice.neps <= K8S_SLICE_EPS_MAX);
	for (i = 0; i < ev.slice.neps; i++) {
		assert(strlen(ev.slice.eps[i].name) < K8S_NAME_MAX);
		assert(ev.slice.eps[i].name[0]);
		assert(ev.slice.eps[i].state <= K8S_EP_ACTIVE);
	}
	if ((ev.type == K8S_EV_ADDED || ev.type == K8S_EV_MODIFIED) &&
	    r->nslices < sizeof(r->slices) / sizeof(r->slices[0])) {
		r->slices[r->nslices++] = ev.slice;
		memset(&ev.slice, 0, sizeof(ev.slice));
	}
	k8s_event_clear(&ev);
	return 0;
}

static void run_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->nslices; i++)
		k8s_slice_clear(&r->slices[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, split;
	struct k8s_lines l;
	struct k8s_endpoint *eps = NULL;
	struct k8s_slice *listed = NULL;
	size_t step, pos = 0, n, nlisted = 0;
	ssize_t m;
	char rv[K8S_RV_MAX], err[256];
	int r1, r2 = 0;

	if (size < 2)
		return 0;
	step = (size_t)data[0] % 13 + 1;
	memset(&whole, 0, sizeof(whole));
	whole.sel.port = data[1] & 1 ? 8000 : 0;
	whole.sel.port_name = data[1] & 2 ? "http" : NULL;
	split = whole;
	data += 2;
	size -= 2;

	k8s_lines_init(&l, LINES_MAX);
	r1 = k8s_lines_feed(&l, (const char *)data, size, on_line, &whole);
	k8s_lines_free(&l);
	k8s_lines_init(&l, LINES_MAX);
	while (pos < size && r2 == 0) {
		n = size - pos < step ? size - pos : step;
		r2 = k8s_lines_feed(&l, (const char *)data + pos, n, on_line, &split);
		pos += n;
	}
	k8s_lines_free(&l);
	assert(r1 == r2);
	assert(whole.lines == split.lines && whole.digest == split.digest);

	/* the family preference follows from the input, so each is exercised */
	m = k8s_reduce(whole.slices, whole.nslices, (enum k8s_family)(size % 3), &eps);
	if (m > 0) {
		ssize_t i, j;

		for (i = 1; i < m; i++)  /* every address once */
			assert(strcmp(eps[i - 1].ip, eps[i].ip) || eps[i - 1].port != eps[i].port);
		for (i = 0; i < m; i++)  /* a pod on one family */
			for (j = i + 1; j < m; j++)
				assert(!eps[i].by_pod || !eps[j].by_pod || strcmp(eps[i].name, eps[j].name) ||
				       eps[i].family == eps[j].family);
	}
	free(eps);
	run_free(&whole);
	run_free(&split);

	if (k8s_parse_list((const char *)data, size, &whole.sel, &listed, &nlisted, rv, err,
			   sizeof(err)) == 0)
		assert(rv[0] && strlen(rv) < K8S_RV_MAX);
	k8s_slices_free(listed, nlisted);
	return 0;
}
