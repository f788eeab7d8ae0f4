/* static_files.c: owns a static route's answers (include/static_files.h): the file
 * found safely under the route's root, the answer's head (validators, conditionals,
 * Range), and its body sent from the file; the decisions themselves are pure, in
 * proto/http_static.c. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conn.h"
#include "conn_close.h"
#include "conn_io.h"
#include "generation.h"
#include "http_edits.h"
#include "http_keep.h"
#include "http_static.h"
#include "producer.h"
#include "static_files.h"
#include "worker.h"

/* Bytes one writable event may send before the loop serves the others. */
#define SEND_TURN_MAX (1024 * 1024)

struct static_reply {
	int status;
	int fd;                          /* the file, when the answer has its bytes; else -1 */
	uint64_t size, first, count;     /* the file's size; the range sent */
	const char *content_type;
	const char *body;                /* a short text body (errors); NULL for a file */
	size_t body_len;                 /* its length */
	const char *path;                /* 301: the request's path, which gets a '/' ... */
	size_t path_len;
	const char *query;               /* ... before its query ("?..." or "") */
	size_t query_len;
	char etag[HTTP_ETAG_MAX];
	char last_modified[HTTP_DATE_LEN];
	int validators;                  /* etag and last_modified are set */
};

static int open_file(const struct cfg_route_static *st, const char *rel, int want_dir, int *fdp,
		     struct stat *sb, int *indexed);
static void find_answer(const struct cfg_route_static *st, const char *base, const struct http_head *h,
			struct static_reply *rp);
static int write_head(struct client *c, const struct cfg_route_static *st, const struct static_reply *rp,
		      const char *base, const struct http_head *h);
static const char *reason(int status);
static void static_start(struct client *c);
static void static_release(struct client *c, int reusable);
static void static_abandon(struct client *c);

/* Where the kernel has no openat2 (before 5.6) every call would fail the same way. */
static __thread int no_openat2;

int static_files_open_nofollow(int dirfd, const char *rel, int flags)
{
	char part[HTTP_STATIC_PATH_MAX];
	const char *p = rel, *slash;
	int cur = dirfd, fd;

	if (*rel == '\0')
		return openat(dirfd, ".", flags);
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);

		if (n >= sizeof(part)) {
			errno = ENAMETOOLONG;
			fd = -1;
			goto out;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		fd = openat(cur, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cur != dirfd)
			close(cur);
		if (fd == -1)
			return -1;
		cur = fd;
		p = slash + 1;
	}
	fd = openat(cur, p, flags | O_NOFOLLOW);
out:
	if (cur != dirfd) {
		int saved = errno;
		close(cur);
		errno = saved;
	}
	return fd;
}

int static_files_open(int dirfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;
	int tries = 0;

	if (!no_openat2) {
		/* EAGAIN: a rename or mount raced the lookup; worth another try or two */
		do
			fd = syscall(SYS_openat2, dirfd, *rel ? rel : ".", &how, sizeof(how));
		while (fd == -1 && errno == EAGAIN && ++tries < 3);
		if (fd != -1 || errno != ENOSYS)
			return (int)fd;
		no_openat2 = 1;
	}
	return static_files_open_nofollow(dirfd, rel, flags);
}

/* Opens rel under st->root, a directory's index instead of it (*indexed), and checks it
 * is a regular file. 0 and *fdp, *sb; or the status to answer (404, 403). */
static int open_file(const struct cfg_route_static *st, const char *rel, int want_dir, int *fdp,
		     struct stat *sb, int *indexed)
{
	const int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;  /* a FIFO must not block */
	int root, fd, saved;

	*indexed = 0;
	/* the root is opened per request: a directory replaced under the same name (a
	 * deploy's new release) is served at once */
	root = open(st->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root == -1)
		return 404;
	fd = static_files_open(root, rel, flags);
	saved = errno;
	if (fd != -1 && fstat(fd, sb) == -1) {
		saved = errno;
		close(fd);
		fd = -1;
	}
	if (fd != -1 && S_ISDIR(sb->st_mode)) {
		int ifd = st->index ? static_files_open(fd, st->index, flags) : -1;

		saved = st->index ? errno : ENOENT;
		*indexed = 1;
		close(fd);
		fd = ifd;
		if (fd != -1 && (fstat(fd, sb) == -1 || !S_ISREG(sb->st_mode))) {
			close(fd);
			fd = -1;
			saved = ENOENT;
		}
	} else if (fd != -1 && (want_dir || !S_ISREG(sb->st_mode))) {
		/* "/a.css/" names no directory; devices and FIFOs are no files to serve */
		close(fd);
		fd = -1;
		saved = ENOENT;
	}
	close(root);
	if (fd == -1)
		return saved == EACCES || saved == EPERM ? 403 : 404;
	*fdp = fd;
	return 0;
}

/* What the request gets: an error, 304, 416, or the file or a range of it. */
static void find_answer(const struct cfg_route_static *st, const char *base, const struct http_head *h,
			struct static_reply *rp)
{
	char rel[HTTP_STATIC_PATH_MAX];
	struct http_static_cond q = { 0 };
	const char *t = base + h->target.off, *qm, *range = NULL;
	size_t tlen = h->target.len, range_len = 0;
	struct stat sb;
	uint32_t i;
	int dir, indexed = 0;

	rp->fd = -1;
	rp->body = NULL;
	rp->validators = 0;
	rp->content_type = "text/plain; charset=utf-8";
	if (h->method_id != HTTP_M_GET && h->method_id != HTTP_M_HEAD) {
		rp->status = 405;
		rp->body = "method not allowed\n";
		return;
	}
	qm = memchr(t, '?', tlen);
	if (qm)
		tlen = (size_t)(qm - t);
	if (tlen == 0 || t[0] != '/') {
		rp->status = 404;  /* absolute-form or "*": no path under a root */
		rp->body = "not found\n";
		return;
	}
	rp->status = http_static_path(t, tlen, st->strip_prefix, rel, sizeof(rel), &dir);
	if (rp->status == 0)
		rp->status = open_file(st, rel, dir, &rp->fd, &sb, &indexed);
	if (rp->status != 0) {
		rp->body = rp->status == 403 ? "forbidden\n" : rp->status == 400 ? "bad request\n" : "not found\n";
		return;
	}
	if (indexed && !dir) {
		/* "/static/docs" is a directory: its index's relative links need the '/' */
		close(rp->fd);
		rp->fd = -1;
		rp->status = 301;
		rp->body = "moved\n";
		rp->path = t;
		rp->path_len = tlen;
		rp->query = t + tlen;
		rp->query_len = h->target.len - tlen;
		return;
	}
	rp->size = (uint64_t)sb.st_size;
	rp->content_type = http_static_mime(indexed ? st->index : rel);
	http_static_etag(rp->size, (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec,
			 rp->etag);
	http_static_date(sb.st_mtim.tv_sec, rp->last_modified);
	rp->validators = 1;
	for (i = 0; i < h->nheaders; i++) {
		const struct http_header *f = &h->headers[i];
		const char *v = base + f->value.off;

		if (http_slice_eq(base, f->name, "if-none-match")) {
			q.if_none_match = v;
			q.if_none_match_len = f->value.len;
		} else if (http_slice_eq(base, f->name, "if-modified-since")) {
			q.if_modified_since = v;
			q.if_modified_since_len = f->value.len;
		} else if (http_slice_eq(base, f->name, "if-range")) {
			q.if_range = v;
			q.if_range_len = f->value.len;
		} else if (http_slice_eq(base, f->name, "range")) {
			range = v;
			range_len = f->value.len;
		}
	}
	rp->first = 0;
	rp->count = rp->size;
	rp->status = 200;
	if (http_static_not_modified(&q, rp->etag, sb.st_mtim.tv_sec)) {
		rp->status = 304;
		rp->count = 0;
	} else if (range && h->method_id == HTTP_M_GET &&
		   http_static_range_applies(&q, rp->etag, rp->last_modified)) {
		enum http_range_result r = http_static_range(range, range_len, rp->size, &rp->first, &rp->count);

		if (r == HTTP_RANGE_PARTIAL) {
			rp->status = 206;
		} else if (r == HTTP_RANGE_UNSATISFIABLE) {
			rp->status = 416;
			rp->count = 0;
			rp->body = "range not satisfiable\n";
			rp->content_type = "text/plain; charset=utf-8";
		}
	}
	if (rp->count == 0 || h->method_id == HTTP_M_HEAD) {
		close(rp->fd);
		rp->fd = -1;
	}
}

/* The reason phrases of the statuses answered here. */
static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 416: return "Range Not Satisfiable";
	default: return "Error";
	}
}

/* Queues the answer's head (and a short body) in c->out, with the listener's HSTS and
 * the route's response edits as on fulcrum's other answers. -1 when it does not fit. */
static int write_head(struct client *c, const struct cfg_route_static *st, const struct static_reply *rp,
		      const char *base, const struct http_head *h)
{
	int head_only = h->method_id == HTTP_M_HEAD;
	struct buf *b = c->out;
	char *p = buf_tail(b), *end = p + buf_room(b);
	uint64_t length = rp->body ? rp->body_len : rp->count;
	char date[HTTP_DATE_LEN];
	int n;

#define PUT(...)                                                                          \
	do {                                                                              \
		n = snprintf(p, (size_t)(end - p), __VA_ARGS__);                          \
		if (n < 0 || n >= end - p)                                                \
			return -1;                                                        \
		p += n;                                                                   \
	} while (0)
	/* an origin server with a clock sends Date (RFC 9110 6.6.1); fulcrum is the origin here */
	http_static_date((time_t)ev_now(c->w->loop), date);
	PUT("HTTP/1.1 %d %s\r\nDate: %s\r\n", rp->status, reason(rp->status), date);
	if (rp->status != 304) {
		PUT("Content-Type: %s\r\nContent-Length: %llu\r\n", rp->content_type,
		    (unsigned long long)length);
	}
	if (rp->status == 206)
		PUT("Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)rp->first,
		    (unsigned long long)(rp->first + rp->count - 1), (unsigned long long)rp->size);
	if (rp->status == 416)
		PUT("Content-Range: bytes */%llu\r\n", (unsigned long long)rp->size);
	if (rp->validators) {
		PUT("Accept-Ranges: bytes\r\nLast-Modified: %s\r\nETag: %s\r\n", rp->last_modified, rp->etag);
		if (st->max_age_s)
			PUT("Cache-Control: max-age=%u\r\n", st->max_age_s);
	}
	if (rp->status == 405)
		PUT("Allow: GET, HEAD\r\n");
	if (rp->status == 301)
		PUT("Location: %.*s/%.*s\r\n", (int)rp->path_len, rp->path, (int)rp->query_len, rp->query);
	if (!c->keep_alive)
		PUT("Connection: close\r\n");
	else if (c->version_minor == 0)
		PUT("Connection: keep-alive\r\n");
	if (c->gl->hsts[0])
		PUT("Strict-Transport-Security: %s\r\n", c->gl->hsts);
#undef PUT
	b->end += (uint32_t)(p - buf_tail(b));
	/* the route's response edits apply here as to its other answers */
	if (c->ex->route_cfg && c->ex->route_cfg->nresponse_headers) {
		const char *t = base + h->target.off, *q = memchr(t, '?', h->target.len);
		struct http_edit_vars v = {
			.host = "", .path = t, .path_len = q ? (size_t)(q - t) : h->target.len,
			.request_id = c->ex->request_id,
		};

		v.client_ip = client_peer_text(c, &v.client_ip_len);
		if (http_edits_append(b, c->ex->route_cfg->response_headers,
				      c->ex->route_cfg->nresponse_headers, &v) != 0)
			return -1;
	}
	if (buf_append(b, "\r\n", 2) == -1)
		return -1;
	if (rp->body && !head_only && buf_append(b, rp->body, rp->body_len) == -1)
		return -1;
	return 0;
}

void static_files_answer(struct client *c, const struct cfg_route_static *st, const char *base,
			 const struct http_head *h)
{
	struct exchange *x = c->ex;
	struct static_reply rp;
	/* a body is not read: the connection ends after the answer (and drains it) */
	int has_body = h->body == HTTP_BODY_CHUNKED ||
		       (h->body == HTTP_BODY_LENGTH && h->content_length > 0);

	if (has_body) {
		c->keep_alive = 0;
		rp = (struct static_reply){
			.status = h->method_id == HTTP_M_GET || h->method_id == HTTP_M_HEAD ? 400 : 405,
			.fd = -1, .content_type = "text/plain; charset=utf-8",
		};
		rp.body = rp.status == 405 ? "method not allowed\n" : "a body is not accepted here\n";
	} else {
		find_answer(st, base, h, &rp);
	}
	if (rp.body)
		rp.body_len = strlen(rp.body);
	if (rp.status >= 400) {
		/* the operator's page for this error, as on fulcrum's other answers */
		const struct error_page *page = http_error_page(c, rp.status);
		if (page) {
			rp.body = page->body;
			rp.body_len = page->len;
			rp.content_type = page->content_type;
		}
	}
	if (!c->out && !(c->out = buf_get(&c->w->bufs))) {
		if (rp.fd != -1)
			close(rp.fd);
		client_close(c, TERM_INTERNAL);
		return;
	}
	if (write_head(c, st, &rp, base, h) == -1) {
		if (rp.fd != -1)
			close(rp.fd);
		client_close(c, TERM_INTERNAL);
		return;
	}
	x->status = rp.status;  /* (TERM_DONE comes once the answer is out, as for a proxied one) */
	x->file_fd = rp.fd;
	x->file_off = rp.first;
	x->file_left = rp.fd != -1 ? rp.count : 0;
	c->last_activity = ev_now(c->w->loop);
	if (has_body) {
		/* as fulcrum's own errors: write, shut, drain what the client still sends */
		x->term = TERM_DONE;
		x->producer = &static_producer;
		c->state = CS_CLOSING;
		if (client_flush_out(c) == -1) {
			client_close(c, TERM_CLIENT_CLOSED);
			return;
		}
		if (!c->out || buf_len(c->out) == 0)
			client_linger(c);
		return;
	}
	/* the head is all the request: the next one (pipelined) starts after it */
	buf_consume(c->in, h->head_len);
	exchange_produce(c, &static_producer);
}

int static_files_send(struct client *c)
{
	struct exchange *x = c->ex;
	uint64_t turn = SEND_TURN_MAX;
	ssize_t n;

	for (;;) {
		if (c->out && buf_len(c->out) > 0) {
			if (client_flush_out(c) == -1)
				return -1;
			if (buf_len(c->out) > 0)
				return 1;
		}
		if (x->file_left == 0)
			return 0;
		if (turn == 0)
			return 1;  /* the write event stays armed: the rest on the next turn */
		if (c->tls.ssl || c->is_stream) {
			/* no sendfile through OpenSSL or to an HTTP/2 stream: a chunk of the file
			 * goes through c->out */
			size_t want;

			if (!c->out && !(c->out = buf_get(&c->w->bufs)))
				return -1;
			want = buf_room(c->out) < x->file_left ? buf_room(c->out) : (size_t)x->file_left;
			n = pread(x->file_fd, buf_tail(c->out), want, (off_t)x->file_off);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				return -2;
			c->out->end += (uint32_t)n;
		} else {
			off_t off = (off_t)x->file_off;
			size_t want = x->file_left < turn ? (size_t)x->file_left : (size_t)turn;

			n = sendfile(c->fd, x->file_fd, &off, want);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				return errno == EAGAIN ? 1 : -1;
			if (n == 0)
				return -2;
			x->bytes_out += (uint64_t)n;
			c->last_activity = ev_now(c->w->loop);
		}
		x->file_off += (uint64_t)n;
		x->file_left -= (uint64_t)n;
		turn = (uint64_t)n < turn ? turn - (uint64_t)n : 0;
	}
}

/* The head and the file's range are queued: the protocol writes them as the client
 * takes them (client_write_response, CS_STREAMING) and ends the exchange after. */
static void static_start(struct client *c)
{
	struct exchange *x = c->ex;

	x->req_framed = x->req_done = 1;
	x->resp_head_done = x->resp_done = 1;
	c->state = CS_STREAMING;
}

/* The file is let go, whole or not. */
static void static_release(struct client *c, int reusable)
{
	struct exchange *x = c->ex;

	(void)reusable;
	if (x->file_fd != -1) {
		close(x->file_fd);
		x->file_fd = -1;
	}
	x->file_left = 0;
}

static void static_abandon(struct client *c)
{
	static_release(c, 0);
}

const struct producer static_producer = {
	.name = "static",
	.start = static_start,
	.done = static_release,
	.abandon = static_abandon,
};
