/* http_static.h: the pure parts of serving files (proto/http_static.c): a request path
 * turned into a safe path under a root, the MIME type of a name, the Range header, the
 * validators (ETag, Last-Modified) and the conditional requests they answer. No files,
 * no sockets: lb/static_files.c does the I/O. */
#ifndef FULCRUM_HTTP_STATIC_H
#define FULCRUM_HTTP_STATIC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Longest path under a root fulcrum serves (decoded). */
#define HTTP_STATIC_PATH_MAX 1024
/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and its NUL. */
#define HTTP_DATE_LEN 30
/* A strong ETag of size and mtime in hex, with its quotes and NUL. */
#define HTTP_ETAG_MAX 48

/* The request path (the target before any '?', len bytes) as a relative path under the
 * root, written to out (cap bytes, NUL-terminated): strip_prefix (NULL = none) removed
 * first, %XX decoded, empty and "." segments dropped, no leading '/'; "" is the root
 * itself. Returns 0, or the status to answer: 400 for a bad %-escape or a NUL, 404 for a
 * path outside strip_prefix, an encoded '/' (%2F) or one too long, 403 for a ".." segment.
 * *dir is set when the path ends with '/' (the client asked for a directory). */
int http_static_path(const char *path, size_t len, const char *strip_prefix, char *out, size_t cap,
		     int *dir);

/* The Content-Type for a file name, by its extension (any case); application/octet-stream
 * for none or one not in the map. */
const char *http_static_mime(const char *name);

enum http_range_result {
	HTTP_RANGE_NONE = 0,       /* no usable range: serve the whole file (200) */
	HTTP_RANGE_PARTIAL,        /* one satisfiable range: *first, *count (206) */
	HTTP_RANGE_UNSATISFIABLE   /* one range that starts past the end (416) */
};

/* A Range header's value (len bytes) against a file of size bytes. Only one range of
 * "bytes" counts ("a-b", "a-", "-n"); several ranges, another unit or a malformed value
 * is HTTP_RANGE_NONE (RFC 9110 14.2: a server may ignore Range). */
enum http_range_result http_static_range(const char *v, size_t len, uint64_t size, uint64_t *first,
					 uint64_t *count);

/* The IMF-fixdate of t into out. */
void http_static_date(time_t t, char out[HTTP_DATE_LEN]);
/* Parses an IMF-fixdate (len bytes); 0 and *t, or -1 (a date that does not parse is
 * ignored by the caller, as RFC 9110 13.1.3 says). */
int http_static_parse_date(const char *s, size_t len, time_t *t);
/* The strong ETag of a file of size bytes changed at mtime_ns: "\"<size>-<mtime_ns>\"" in hex. */
void http_static_etag(uint64_t size, uint64_t mtime_ns, char out[HTTP_ETAG_MAX]);
/* Whether an If-None-Match value (len bytes: "*" or a list of entity tags) matches etag,
 * compared weakly (W/ ignored, RFC 9110 13.1.2). */
int http_static_etag_match(const char *v, size_t len, const char *etag);

/* The validators of the file and what the request sent; a header that is absent has a
 * NULL value. */
struct http_static_cond {
	const char *if_none_match;
	size_t if_none_match_len;
	const char *if_modified_since;
	size_t if_modified_since_len;
	const char *if_range;
	size_t if_range_len;
};

/* Whether a GET or HEAD is answered 304 Not Modified: If-None-Match when sent (it
 * overrides If-Modified-Since), else If-Modified-Since against mtime (whole seconds). */
int http_static_not_modified(const struct http_static_cond *q, const char *etag, time_t mtime);
/* Whether a Range applies given If-Range: when sent, it must be the etag (strong
 * comparison) or exactly the Last-Modified date, else the whole file is sent. */
int http_static_range_applies(const struct http_static_cond *q, const char *etag,
			      const char *last_modified);

#endif
