/* fuzz_h2_frames.c: libFuzzer target for fulcrum's HTTP/2 connection (lb/h2_conn.c) as a
 * client reaches it: one worker's loop, an h2c listener (cleartext, prior knowledge) whose
 * routes all answer locally (fixed answers, a redirect, a pool without backends: 503,
 * static files from a directory the target makes), and per input one connection over a
 * socketpair, accepted as worker.c accepts (client_accept with the listener's protocol).
 * The harness writes the client preface, then the input's bytes as frames; the loop runs
 * until nothing moves; fulcrum's output is parsed.
 *
 * Input: byte 0 options: bit 0 writes one frame at a time (as the bytes frame themselves)
 * with the loop settled between them, else all at once; bit 1 sends EOF (shutdown) right
 * after the last byte, before the loop settles, so the connection goes with its streams in
 * flight; bit 2 stops the connection gracefully (the proto's stop, GOAWAY NO_ERROR, as a
 * worker's graceful stop does) after the first half of the frames; bit 3 writes the
 * preface and the first bytes at once, so that the session's start (h2_start) reads
 * frames with the preface. The rest is raw bytes after the preface.
 *
 * Invariants on what fulcrum writes: its first frame is SETTINGS; every frame has a known
 * type (never PUSH_PROMISE or PRIORITY), the stream (0 or not) its type needs, the length
 * its type needs and at most the largest SETTINGS_MAX_FRAME_SIZE the client sent (16384
 * without one); HEADERS without END_HEADERS is followed by its CONTINUATIONs only; a
 * response's HEADERS and DATA are on streams the client opened, one header block per
 * stream, DATA after it, nothing after END_STREAM; DATA never beyond the flow-control
 * windows the client's bytes can have granted (connection and stream); a GOAWAY's last
 * stream id never grows, and no response starts on a stream above it; every header block
 * decodes (HPACK) to :status 200-599 first, then lowercase names that are not
 * connection-specific. After the client's EOF every connection and stream is gone. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "conn.h"
#include "conn_log.h"
#include "generation.h"
#include "h2_conn.h"
#include "log.h"
#include "queue.h"
#include "stats.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_INPUT_MAX (64 * 1024)
#define FZ_SETTLE_TURNS 400      /* loop turns to settle, at most */
#define FZ_IDLE_TURNS 3          /* turns without progress that count as settled */
#define FZ_STREAMS 256           /* streams the output checks follow */
#define FZ_OUT_MAX (4 << 20)     /* fulcrum's output parsed per input, at most */

/* A fixed answer of 3600 bytes (so flow control matters), a short one, a redirect, a pool
 * without backends (503), static files (a 150 KB one: more than a stream's transport
 * holds, so its writes stop and resume). Low limits, so the defences are reached by small
 * inputs. */
#define FZ_BODY_REPEAT 100
#define FZ_BIG_FILE (150 * 1000)
static const char fz_cfg_head[] =
	"listeners = ( { name = \"h2\"; bind = \"127.0.0.1:%u\"; mode = \"http\"; h2c = true;\n"
	"  h2_max_concurrent_streams = 8; h2_max_resets = 6; h2_window_bytes = 65535;\n"
	"  h2_max_header_list_bytes = 1024;\n"
	"  routes = (\n"
	"    { name = \"files\"; path_prefix = \"/static/\";\n"
	"      static = { root = \"%s\"; strip_prefix = \"/static\"; index = \"index.html\"; }; },\n"
	"    { name = \"big\"; path_prefix = \"/big\"; respond = { body = \"";
static const char fz_cfg_tail[] =
	"\"; content_type = \"text/plain\"; }; },\n"
	"    { name = \"empty\"; path_prefix = \"/none\"; pool = \"empty\"; },\n"
	"    { name = \"moved\"; path_prefix = \"/old\"; redirect = { scheme = \"https\"; status = 308; }; },\n"
	"    { name = \"ok\"; respond = { status = 200; body = \"ok\\n\"; }; } ); } );\n"
	"pools = ( { name = \"empty\"; health = { type = \"none\"; }; backends = ( ); } );\n";

/* The static route's files, in a directory made once and removed at exit. */
static char fz_dir[] = "/tmp/fuzz_h2_frames.XXXXXX";
static const char *const fz_files[] = { "big.txt", "index.html", "sub/index.html", "sub" };

static const char fz_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static struct worker fz_w;
static int fz_ready;
static int fz_trace;             /* FUZZ_H2_TRACE set: each frame fulcrum sends on stderr */

/* What the client's bytes can have said, read as nghttp2 frames them (9-byte headers,
 * lengths as written): upper bounds for the output checks. */
struct fz_stream {
	uint32_t id;
	uint64_t credit;         /* the stream's WINDOW_UPDATE increments */
	uint64_t sent;           /* DATA bytes fulcrum sent on it */
	unsigned headers:1;      /* fulcrum sent its header block */
	unsigned ended:1;        /* fulcrum sent END_STREAM */
};

struct fz_model {
	uint32_t max_frame;      /* largest SETTINGS_MAX_FRAME_SIZE sent (16384 at least) */
	uint64_t init_window;    /* largest SETTINGS_INITIAL_WINDOW_SIZE sent (65535 at least) */
	uint64_t conn_credit;    /* 65535 + the connection's WINDOW_UPDATE increments */
	uint64_t conn_sent;
	uint32_t max_headers_id; /* largest stream id of a HEADERS frame */
	uint32_t max_any_id;     /* largest stream id of any frame */
	struct fz_stream st[FZ_STREAMS];
	size_t nst;
	/* fulcrum's output */
	uint8_t *out;
	size_t out_len, out_cap, out_total;
	size_t frames;
	uint32_t goaway_last;    /* last stream id of fulcrum's latest GOAWAY */
	int goaway_sent;
	uint32_t cont_stream;    /* a header block continues on this stream (0: none) */
	uint8_t *block;          /* the header block being gathered */
	size_t block_len, block_cap;
	nghttp2_hd_inflater *inf;
};

static uint32_t fz_u24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static uint32_t fz_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The stream id's entry (made when add, while there is room); NULL: not followed. */
static struct fz_stream *fz_stream(struct fz_model *m, uint32_t id, int add)
{
	size_t i;

	for (i = 0; i < m->nst; i++)
		if (m->st[i].id == id)
			return &m->st[i];
	if (!add || m->nst == FZ_STREAMS)
		return NULL;
	m->st[m->nst].id = id;
	return &m->st[m->nst++];
}

/* Walks the client's bytes as frames; *ends gets the end of each whole frame (for the
 * frame-at-a-time writes), *nends their count. */
static void fz_model_input(struct fz_model *m, const uint8_t *p, size_t n, size_t *ends, size_t *nends)
{
	size_t off = 0, i;

	m->max_frame = 16384;
	m->init_window = 65535;
	m->conn_credit = 65535;
	*nends = 0;
	while (off + 9 <= n) {
		uint32_t len = fz_u24(p + off), sid = fz_u32(p + off + 5) & 0x7fffffff;
		uint8_t type = p[off + 3], flags = p[off + 4];
		const uint8_t *pl = p + off + 9;
		size_t have = n - off - 9 < len ? n - off - 9 : len;

		if (sid > m->max_any_id)
			m->max_any_id = sid;
		if (type == NGHTTP2_HEADERS && sid > m->max_headers_id)
			m->max_headers_id = sid;
		if (type == NGHTTP2_SETTINGS && !(flags & NGHTTP2_FLAG_ACK))
			for (i = 0; i + 6 <= have; i += 6) {
				uint32_t v = fz_u32(pl + i + 2);
				uint16_t id = (uint16_t)(pl[i] << 8 | pl[i + 1]);

				if (id == NGHTTP2_SETTINGS_MAX_FRAME_SIZE && v <= 16777215 && v > m->max_frame)
					m->max_frame = v;
				if (id == NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE && v <= 0x7fffffff && v > m->init_window)
					m->init_window = v;
			}
		if (type == NGHTTP2_WINDOW_UPDATE && have >= 4) {
			uint32_t inc = fz_u32(pl) & 0x7fffffff;
			struct fz_stream *s;

			if (sid == 0)
				m->conn_credit += inc;
			else if ((s = fz_stream(m, sid, 1)))
				s->credit += inc;
		}
		off += 9 + have;
		ends[(*nends)++] = off;
	}
	if (off < n)
		ends[(*nends)++] = n;
}

/* One header block of fulcrum's, whole: it decodes; :status first, then regular fields. */
static void fz_check_block(struct fz_model *m)
{
	const uint8_t *in = m->block;
	size_t left = m->block_len;
	int fields = 0;

	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t r = nghttp2_hd_inflate_hd2(m->inf, &nv, &flags, in, left, 1);
		size_t i;

		assert(r >= 0);
		in += r;
		left -= (size_t)r;
		if (flags & NGHTTP2_HD_INFLATE_EMIT) {
			if (fields++ == 0) {
				assert(nv.namelen == 7 && memcmp(nv.name, ":status", 7) == 0);
				assert(nv.valuelen == 3 && nv.value[0] >= '2' && nv.value[0] <= '5' &&
				       nv.value[1] >= '0' && nv.value[1] <= '9' && nv.value[2] >= '0' &&
				       nv.value[2] <= '9');
			} else {
				static const char *const banned[] = { "connection", "keep-alive", "proxy-connection",
								      "transfer-encoding", "upgrade" };

				assert(nv.namelen > 0 && nv.name[0] != ':');
				for (i = 0; i < nv.namelen; i++)
					assert(!(nv.name[i] >= 'A' && nv.name[i] <= 'Z'));
				for (i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
					assert(nv.namelen != strlen(banned[i]) ||
					       memcmp(nv.name, banned[i], nv.namelen) != 0);
			}
		}
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(m->inf);
			break;
		}
	}
	assert(fields >= 1);
	m->block_len = 0;
}

static void fz_block_add(struct fz_model *m, const uint8_t *p, size_t n)
{
	if (m->block_len + n > m->block_cap) {
		size_t cap = m->block_cap ? m->block_cap : 4096;
		uint8_t *q;

		while (cap < m->block_len + n)
			cap *= 2;
		q = realloc(m->block, cap);
		assert(q);
		m->block = q;
		m->block_cap = cap;
	}
	memcpy(m->block + m->block_len, p, n);
	m->block_len += n;
}

/* One whole frame fulcrum wrote. */
static void fz_check_frame(struct fz_model *m, const uint8_t *f)
{
	uint32_t len = fz_u24(f), sid = fz_u32(f + 5);
	uint8_t type = f[3], flags = f[4];
	const uint8_t *pl = f + 9;
	struct fz_stream *s = NULL;

	if (fz_trace)
		fprintf(stderr, "fulcrum: type %u flags 0x%02x stream %u length %u\n", type, flags, sid, len);
	assert(!(sid & 0x80000000u));
	assert(len <= m->max_frame);
	if (m->frames++ == 0)
		assert(type == NGHTTP2_SETTINGS && !(flags & NGHTTP2_FLAG_ACK));
	/* a header block is not interleaved with anything (RFC 9113 6.10) */
	if (m->cont_stream)
		assert(type == NGHTTP2_CONTINUATION && sid == m->cont_stream);
	else
		assert(type != NGHTTP2_CONTINUATION);
	switch (type) {
	case NGHTTP2_SETTINGS:
		assert(sid == 0 && len % 6 == 0 && (!(flags & NGHTTP2_FLAG_ACK) || len == 0));
		return;
	case NGHTTP2_PING:
		assert(sid == 0 && len == 8);
		return;
	case NGHTTP2_GOAWAY: {
		uint32_t last;

		assert(sid == 0 && len >= 8);
		last = fz_u32(pl) & 0x7fffffff;
		assert(last <= m->max_headers_id);
		assert(!m->goaway_sent || last <= m->goaway_last);
		m->goaway_sent = 1;
		m->goaway_last = last;
		return;
	}
	case NGHTTP2_WINDOW_UPDATE:
		assert(len == 4 && (fz_u32(pl) & 0x7fffffff) != 0);
		assert(sid <= m->max_any_id);
		return;
	case NGHTTP2_RST_STREAM:
		assert(sid != 0 && len == 4 && sid <= m->max_any_id);
		return;
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		/* a response: on a stream the client opened (odd), below any GOAWAY's bound */
		assert(sid != 0 && (sid & 1) && sid <= m->max_headers_id);
		assert(!(flags & NGHTTP2_FLAG_PADDED));
		s = fz_stream(m, sid, 1);
		if (s) {
			assert(!s->ended);
			s->ended = (flags & NGHTTP2_FLAG_END_STREAM) != 0;
		}
		break;
	case NGHTTP2_CONTINUATION:
		assert(sid != 0);
		break;
	default:
		assert(0);  /* PRIORITY, PUSH_PROMISE or an unknown type */
	}
	if (type == NGHTTP2_DATA) {
		m->conn_sent += len;
		assert(m->conn_sent <= m->conn_credit);
		if (s) {
			assert(s->headers);
			s->sent += len;
			assert(s->sent <= m->init_window + s->credit);
		}
		return;
	}
	if (type == NGHTTP2_HEADERS) {
		size_t skip = 0;

		if (s) {
			assert(!s->headers);  /* one block per stream: fulcrum sends no trailers */
			s->headers = 1;
		}
		assert(!m->goaway_sent || sid <= m->goaway_last);
		if (flags & NGHTTP2_FLAG_PRIORITY)
			skip = 5;
		assert(len >= skip);
		m->block_len = 0;
		fz_block_add(m, pl + skip, len - skip);
	} else {
		fz_block_add(m, pl, len);
	}
	m->cont_stream = (flags & NGHTTP2_FLAG_END_HEADERS) ? 0 : sid;
	if (!m->cont_stream)
		fz_check_block(m);
}

/* Reads what fulcrum wrote to fd and checks every whole frame. Returns the bytes read. */
static size_t fz_read_out(struct fz_model *m, int fd)
{
	size_t total = 0, off;
	uint8_t buf[16384];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		m->out_total += (size_t)n;
		if (m->out_total > FZ_OUT_MAX)
			continue;  /* read and dropped: the loop must not stall on a full socket */
		if (m->out_len + (size_t)n > m->out_cap) {
			size_t cap = m->out_cap ? m->out_cap : 65536;
			uint8_t *q;

			while (cap < m->out_len + (size_t)n)
				cap *= 2;
			q = realloc(m->out, cap);
			assert(q);
			m->out = q;
			m->out_cap = cap;
		}
		memcpy(m->out + m->out_len, buf, (size_t)n);
		m->out_len += (size_t)n;
	}
	off = 0;
	while (m->out_len - off >= 9 && m->out_len - off >= 9 + (size_t)fz_u24(m->out + off)) {
		fz_check_frame(m, m->out + off);
		off += 9 + fz_u24(m->out + off);
	}
	if (off) {
		memmove(m->out, m->out + off, m->out_len - off);
		m->out_len -= off;
	}
	return total;
}

/* Runs the loop until FZ_IDLE_TURNS turns in a row read nothing and change no
 * connection (at most FZ_SETTLE_TURNS turns). */
static void fz_settle(struct fz_model *m, int fd)
{
	unsigned idle = 0, i, before;

	for (i = 0; i < FZ_SETTLE_TURNS && idle < FZ_IDLE_TURNS; i++) {
		before = fz_w.nclients;
		ev_run(fz_w.loop, EVRUN_NOWAIT);
		worker_reap(&fz_w);
		if (fz_read_out(m, fd) > 0 || fz_w.nclients != before)
			idle = 0;
		else
			idle++;
	}
}

/* Writes [p, p + n) to fd, turning the loop while the socket is full. */
static void fz_write(struct fz_model *m, int fd, const uint8_t *p, size_t n)
{
	unsigned stuck = 0;

	while (n > 0 && stuck < FZ_SETTLE_TURNS) {
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			stuck = 0;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return;  /* fulcrum closed the connection */
		stuck++;
		ev_run(fz_w.loop, EVRUN_NOWAIT);
		worker_reap(&fz_w);
		fz_read_out(m, fd);
	}
}

/* A loopback port free now, for the listener's bind (the config takes no port 0). */
static unsigned fz_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) == -1)
		abort();
	close(fd);
	return ntohs(a.sin_port);
}

static void fz_remove_dir(void)
{
	char path[sizeof(fz_dir) + 32];
	size_t i;

	for (i = 0; i < sizeof(fz_files) / sizeof(fz_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fz_dir, fz_files[i]);
		if (unlink(path) == -1)
			rmdir(path);
	}
	rmdir(fz_dir);
}

/* Writes len bytes of text (lines numbered, so a misplaced byte shows) to dir/name. */
static void fz_file(const char *name, size_t len)
{
	char path[sizeof(fz_dir) + 32], line[32];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", fz_dir, name);
	if (!(f = fopen(path, "w")))
		abort();
	for (i = 0; i < len; i += 20) {
		snprintf(line, sizeof(line), "%018zu\n", i / 20);
		fwrite(line, 1, len - i < 20 ? len - i : 20, f);
	}
	if (fclose(f) != 0)
		abort();
}

/* Once: the configuration, its generation (one listening socket, never accepted on) and
 * one worker set up as worker_start_all does, without its thread. */
static void fz_setup(void)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	struct generation *g;
	char err[256], *text;
	size_t i, n = 0;

	addr_resolve_offline(1);
	fz_trace = getenv("FUZZ_H2_TRACE") != NULL;
	log_set_level(fz_trace ? LOG_DEBUG : LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	stats_set_workers(1);
	if (!mkdtemp(fz_dir))
		abort();
	atexit(fz_remove_dir);
	{
		char sub[sizeof(fz_dir) + 8];

		snprintf(sub, sizeof(sub), "%s/sub", fz_dir);
		if (mkdir(sub, 0700) == -1)
			abort();
	}
	fz_file("big.txt", FZ_BIG_FILE);
	fz_file("index.html", 300);
	fz_file("sub/index.html", 40);
	text = malloc(sizeof(fz_cfg_head) + sizeof(fz_dir) + sizeof(fz_cfg_tail) + 40 * FZ_BODY_REPEAT + 8);
	assert(text);
	n = (size_t)sprintf(text, fz_cfg_head, fz_free_port(), fz_dir);
	for (i = 0; i < FZ_BODY_REPEAT; i++)
		n += (size_t)sprintf(text + n, "line %03zu of the fixed answer ......\\n", i);
	memcpy(text + n, fz_cfg_tail, sizeof(fz_cfg_tail));
	cfg = config_load_string(text, "fuzz_h2_frames", &errs);
	free(text);
	if (!cfg) {
		config_errors_print(&errs, stderr);
		abort();
	}
	config_errors_clear(&errs);
	g = generation_build(cfg, NULL, 1, 1, err, sizeof(err));
	if (!g) {
		fprintf(stderr, "fuzz_h2_frames: %s\n", err);
		abort();
	}
	/* the listening socket is never accepted on: closed now, so that the port is not
	 * held (nor shared by SO_REUSEPORT with a test that draws it) while the target runs */
	close(g->listeners[0].group->fds[0]);
	g->listeners[0].group->fds[0] = -1;
	proc.workers = &fz_w;
	proc.nworkers = 1;
	proc.max_connections = 1000;
	fz_w.id = 0;
	fz_w.loop = ev_loop_new(EVFLAG_AUTO);
	assert(fz_w.loop);
	ev_set_userdata(fz_w.loop, &fz_w);
	buf_pool_init(&fz_w.bufs, 0);
	exchange_pool_init(&fz_w.exchanges, 0);
	fz_w.alog = malloc(CONN_LOG_BUF_CAP);
	assert(fz_w.alog);
	fz_w.rng = 0x9e3779b97f4a7c15ULL;
	fz_w.gen = g;
	fz_w.pools = calloc(g->npools ? g->npools : 1, sizeof(*fz_w.pools));
	assert(fz_w.pools);
	for (i = 0; i < g->npools; i++) {
		pool_queue_init(&fz_w.pools[i].queue, g->pools[i].cfg->queue_max);
		if (pool_pick_state_init(&fz_w.pools[i].pick, &g->pools[i]) == -1)
			abort();
	}
	fz_ready = 1;
}

/* The client's connection (fulcrum's side of it), NULL once it is gone. */
static struct client *fz_connection(void)
{
	struct client *c;

	for (c = fz_w.clients; c; c = c->next)
		if (!c->internal)
			return c;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t ends[FZ_INPUT_MAX / 9 + 2];
	struct sockaddr_storage peer = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
	struct fz_model *m;
	struct client *c;
	size_t nends, i, from, stop_at;
	uint8_t opt;
	int sv[2];

	if (size < 1 || size > FZ_INPUT_MAX)
		return 0;
	if (!fz_ready)
		fz_setup();
	opt = data[0];
	data++;
	size--;
	m = calloc(1, sizeof(*m));
	assert(m);
	if (nghttp2_hd_inflate_new(&m->inf) != 0)
		abort();
	fz_model_input(m, data, size, ends, &nends);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	/* a client address as accept would give it */
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	sin->sin_addr.s_addr = htonl(0xc0000207);  /* 192.0.2.7 */
	/* the listener's protocol as worker.c's listener_proto gives it: h2c, no TLS */
	client_accept(&fz_w, sv[0], &peer, 0, &preface_proto);
	fz_write(m, sv[1], (const uint8_t *)fz_preface, sizeof(fz_preface) - 1);
	if (!(opt & 8))
		fz_settle(m, sv[1]);
	/* frame by frame (bit 0) or at once; with bit 2, the first half of the frames, the
	 * graceful stop, then the rest */
	stop_at = (opt & 4) ? nends / 2 : SIZE_MAX;
	for (i = 0, from = 0; i <= nends; i++) {
		if (i == stop_at) {
			fz_write(m, sv[1], data + from, (i ? ends[i - 1] : 0) - from);
			from = i ? ends[i - 1] : 0;
			fz_settle(m, sv[1]);
			if ((c = fz_connection()) && c->proto->stop) {
				c->proto->stop(c);
				fz_settle(m, sv[1]);
			}
		}
		if ((opt & 1) && i < nends) {
			fz_write(m, sv[1], data + from, ends[i] - from);
			from = ends[i];
			fz_settle(m, sv[1]);
		}
	}
	fz_write(m, sv[1], data + from, size - from);
	if (opt & 2)
		shutdown(sv[1], SHUT_WR);
	fz_settle(m, sv[1]);
	shutdown(sv[1], SHUT_WR);
	fz_settle(m, sv[1]);
	/* the client is gone: so are its connection and every stream */
	assert(fz_w.nclients == 0 && !fz_w.clients);
	close(sv[1]);
	worker_reap(&fz_w);
	nghttp2_hd_inflate_del(m->inf);
	free(m->block);
	free(m->out);
	free(m);
	return 0;
}
