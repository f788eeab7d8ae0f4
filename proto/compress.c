/* compress.c: the streaming encoder of compress.h over zlib (gzip), libbrotli (br) and
 * libzstd (zstd): one interface, a window bounded by COMPRESS_WINDOW_LOG, the caller's
 * output buffer. Negotiation and the response check are accept_encoding.c's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include "compress.h"

struct compress_stream {
	enum compress_enc enc;
	int ended;                   /* FINISH completed */
	union {
		z_stream z;
		BrotliEncoderState *br;
		ZSTD_CStream *zs;
	} u;
};

static int run_gzip(struct compress_stream *s, const void *in, size_t n, size_t *used, void *out,
		    size_t cap, size_t *produced, enum compress_op op);
static int run_br(struct compress_stream *s, const void *in, size_t n, size_t *used, void *out,
		  size_t cap, size_t *produced, enum compress_op op);
static int run_zstd(struct compress_stream *s, const void *in, size_t n, size_t *used, void *out,
		    size_t cap, size_t *produced, enum compress_op op);

const char *compress_enc_name(enum compress_enc e)
{
	static const char *const names[] = { "identity", "gzip", "br", "zstd" };

	return (unsigned)e < COMPRESS_ENC_N ? names[e] : "identity";
}

enum compress_enc compress_enc_parse(const char *name, size_t len)
{
	if ((len == 4 && !strncasecmp(name, "gzip", 4)) || (len == 6 && !strncasecmp(name, "x-gzip", 6)))
		return COMPRESS_GZIP;
	if (len == 2 && !strncasecmp(name, "br", 2))
		return COMPRESS_BR;
	if (len == 4 && !strncasecmp(name, "zstd", 4))
		return COMPRESS_ZSTD;
	return COMPRESS_NONE;
}

void compress_level_range(enum compress_enc e, int *lo, int *hi)
{
	switch (e) {
	case COMPRESS_GZIP:
		*lo = 1, *hi = 9;
		break;
	case COMPRESS_BR:
		*lo = BROTLI_MIN_QUALITY, *hi = BROTLI_MAX_QUALITY;
		break;
	case COMPRESS_ZSTD:
		/* above 19 zstd's levels want windows far over the bound */
		*lo = 1, *hi = 19;
		break;
	default:
		*lo = *hi = 0;
	}
}

/* gzip: zlib's deflate with the gzip wrapper (windowBits 15 + 16), memLevel 8: about
 * 256 KiB per stream. brotli: quality as given, a 2^18 window, generic mode (text and
 * JSON alike). zstd: the level, a 2^18 window (level 3 alone would take 2^21 on a large
 * body), no checksum (the transport has its own). */
struct compress_stream *compress_new(enum compress_enc e, int level)
{
	struct compress_stream *s;
	int lo, hi;

	if (e <= COMPRESS_NONE || e >= COMPRESS_ENC_N || !(s = calloc(1, sizeof(*s))))
		return NULL;
	compress_level_range(e, &lo, &hi);
	level = level < lo ? lo : level > hi ? hi : level;
	s->enc = e;
	switch (e) {
	case COMPRESS_GZIP:
		if (deflateInit2(&s->u.z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			goto fail;
		break;
	case COMPRESS_BR:
		if (!(s->u.br = BrotliEncoderCreateInstance(NULL, NULL, NULL)))
			goto fail;
		BrotliEncoderSetParameter(s->u.br, BROTLI_PARAM_QUALITY, (uint32_t)level);
		BrotliEncoderSetParameter(s->u.br, BROTLI_PARAM_LGWIN, COMPRESS_WINDOW_LOG);
		break;
	case COMPRESS_ZSTD:
		if (!(s->u.zs = ZSTD_createCStream()))
			goto fail;
		if (ZSTD_isError(ZSTD_CCtx_setParameter(s->u.zs, ZSTD_c_compressionLevel, level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(s->u.zs, ZSTD_c_windowLog, COMPRESS_WINDOW_LOG))) {
			ZSTD_freeCStream(s->u.zs);
			goto fail;
		}
		break;
	default:
		goto fail;
	}
	return s;
fail:
	free(s);
	return NULL;
}

void compress_free(struct compress_stream *s)
{
	if (!s)
		return;
	switch (s->enc) {
	case COMPRESS_GZIP:
		deflateEnd(&s->u.z);
		break;
	case COMPRESS_BR:
		BrotliEncoderDestroyInstance(s->u.br);
		break;
	case COMPRESS_ZSTD:
		ZSTD_freeCStream(s->u.zs);
		break;
	default:
		break;
	}
	free(s);
}

int compress_run(struct compress_stream *s, const void *in, size_t n, size_t *used,
		 void *out, size_t cap, size_t *produced, enum compress_op op)
{
	*used = *produced = 0;
	if (s->ended)
		return n == 0 ? 1 : -1;
	switch (s->enc) {
	case COMPRESS_GZIP:
		return run_gzip(s, in, n, used, out, cap, produced, op);
	case COMPRESS_BR:
		return run_br(s, in, n, used, out, cap, produced, op);
	case COMPRESS_ZSTD:
		return run_zstd(s, in, n, used, out, cap, produced, op);
	default:
		return -1;
	}
}

/* zlib counts in uInt: inputs and buffers over 4 GiB go in pieces (never here: the data
 * path feeds at most a buffer). */
static int run_gzip(struct compress_stream *s, const void *in, size_t n, size_t *used, void *out,
		    size_t cap, size_t *produced, enum compress_op op)
{
	z_stream *z = &s->u.z;
	int flush = op == COMPRESS_FINISH ? Z_FINISH : op == COMPRESS_FLUSH ? Z_SYNC_FLUSH : Z_NO_FLUSH;
	int r;

	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = n > UINT32_MAX ? UINT32_MAX : (uInt)n;
	z->next_out = out;
	z->avail_out = cap > UINT32_MAX ? UINT32_MAX : (uInt)cap;
	r = deflate(z, flush);
	*used = (size_t)(z->next_in - (const Bytef *)in);
	*produced = (size_t)(z->next_out - (Bytef *)out);
	if (r == Z_STREAM_END) {
		s->ended = 1;
		return 1;
	}
	if (r != Z_OK && r != Z_BUF_ERROR)
		return -1;
	/* done when all input went in and, for a flush, deflate left room unused (it fills
	 * the buffer exactly when it has more to say) */
	if (*used < n || op == COMPRESS_FINISH)
		return 0;
	return op == COMPRESS_RUN || z->avail_out > 0 ? 1 : 0;
}

static int run_br(struct compress_stream *s, const void *in, size_t n, size_t *used, void *out,
		  size_t cap, size_t *produced, enum compress_op op)
{
	BrotliEncoderOperation bop = op == COMPRESS_FINISH ? BROTLI_OPERATION_FINISH :
				     op == COMPRESS_FLUSH ? BROTLI_OPERATION_FLUSH : BROTLI_OPERATION_PROCESS;
	const uint8_t *next_in = in;
	uint8_t *next_out = out;
	size_t avail_in = n, avail_out = cap;

	for (;;) {
		if (!BrotliEncoderCompressStream(s->u.br, bop, &avail_in, &next_in, &avail_out, &next_out, NULL))
			return -1;
		*used = n - avail_in;
		*produced = cap - avail_out;
		if (op == COMPRESS_FINISH && BrotliEncoderIsFinished(s->u.br)) {
			s->ended = 1;
			return 1;
		}
		if (avail_out == 0)
			return 0;
		if (avail_in == 0 && !BrotliEncoderHasMoreOutput(s->u.br) &&
		    (op == COMPRESS_RUN || op == COMPRESS_FLUSH))
			return 1;
		/* a flush or finish with room left goes round until the encoder is done */
	}
}

static int run_zstd(struct compress_stream *s, const void *in, size_t n, size_t *used, void *out,
		    size_t cap, size_t *produced, enum compress_op op)
{
	ZSTD_EndDirective zop = op == COMPRESS_FINISH ? ZSTD_e_end : op == COMPRESS_FLUSH ? ZSTD_e_flush : ZSTD_e_continue;
	ZSTD_inBuffer ib = { in, n, 0 };
	ZSTD_outBuffer ob = { out, cap, 0 };
	size_t left;

	for (;;) {
		left = ZSTD_compressStream2(s->u.zs, &ob, &ib, zop);
		if (ZSTD_isError(left))
			return -1;
		*used = ib.pos;
		*produced = ob.pos;
		if (zop == ZSTD_e_continue) {
			if (ib.pos == ib.size)
				return 1;
			if (ob.pos == ob.size)
				return 0;
			continue;
		}
		if (left == 0) {
			if (op == COMPRESS_FINISH)
				s->ended = 1;
			return 1;
		}
		if (ob.pos == ob.size)
			return 0;
	}
}
