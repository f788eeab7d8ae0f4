/* http_parse.c: the strict HTTP/1.1 head parser and chunked-body scanner of http.h.
 * Owns every framing decision (body kind, length, keep-alive) made on client and backend bytes. */
#include <string.h>

#include "http.h"

/* Character classes, one bit each, looked up in http_ctab. */
#define CT_TCHAR 0x01  /* token character (RFC 9110 5.6.2) */
#define CT_FVAL  0x02  /* allowed in a field value: VCHAR, obs-text, SP, HTAB */
#define CT_VIS   0x04  /* visible ASCII 0x21-0x7e: request-target */
#define CT_HEX   0x08  /* HEXDIG */
#define CT_DIGIT 0x10  /* DIGIT */
#define CT_REG   0x20  /* reg-name / IPv4 byte of a Host (unreserved, sub-delims); '%' apart */
#define CT_OWS   0x40  /* SP or HTAB */
#define CT_QD    0x80  /* qdtext of a quoted-string: FVAL minus DQUOTE and backslash */

#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_HEX(c) (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define IS_TSPECIAL(c) ((c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' || \
			(c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || \
			(c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_TCHAR(c) (IS_ALPHA(c) || IS_DIGIT(c) || IS_TSPECIAL(c))
#define IS_OWS(c) ((c) == ' ' || (c) == '\t')
#define IS_FVAL(c) (IS_OWS(c) || ((c) >= 0x21 && (c) != 0x7f))
#define IS_VIS(c) ((c) >= 0x21 && (c) <= 0x7e)
#define IS_SUBDELIM(c) ((c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || \
			(c) == ')' || (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=')
#define IS_REG(c) (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || (c) == '.' || (c) == '_' || \
		   (c) == '~' || IS_SUBDELIM(c))
#define IS_QD(c) (IS_FVAL(c) && (c) != '"' && (c) != '\\')

/* The table is computed by the compiler from the predicates above, so it cannot drift
 * from them and nothing runs at start-up. */
#define CT(c) ((IS_TCHAR(c) ? CT_TCHAR : 0) | (IS_FVAL(c) ? CT_FVAL : 0) | \
	       (IS_VIS(c) ? CT_VIS : 0) | (IS_HEX(c) ? CT_HEX : 0) | \
	       (IS_DIGIT(c) ? CT_DIGIT : 0) | (IS_REG(c) ? CT_REG : 0) | \
	       (IS_OWS(c) ? CT_OWS : 0) | (IS_QD(c) ? CT_QD : 0))
#define CT4(b) CT(b), CT((b) + 1), CT((b) + 2), CT((b) + 3)
#define CT16(b) CT4(b), CT4((b) + 4), CT4((b) + 8), CT4((b) + 12)
#define CT64(b) CT16(b), CT16((b) + 16), CT16((b) + 32), CT16((b) + 48)

static const uint8_t http_ctab[256] = { CT64(0), CT64(64), CT64(128), CT64(192) };

#define HTTP_CL_DIGITS_MAX    18    /* < 10^18 cannot overflow uint64_t */
#define HTTP_CHUNK_DIGITS_MAX 16
#define HTTP_CHUNK_LINE_MAX   8192  /* one chunk-size line or trailer line */
#define HTTP_TRAILERS_MAX     100
#define HTTP_DEFAULT_HEAD_MAX 65536 /* when the caller passes no limits */

/* Parse state of one call; it lives on the stack because every call starts over. */
struct http_parser {
	const unsigned char *buf;
	size_t pos;            /* next byte to look at */
	size_t end;            /* parsing stops here: min(len, head_max_bytes) */
	size_t len;            /* bytes the caller has */
	uint32_t max_fields;
	int response;          /* every error becomes 502 */
	uint32_t n_cl;         /* Content-Length fields seen */
	uint32_t n_te;         /* Transfer-Encoding fields seen */
	uint64_t cl;           /* value of the first Content-Length */
	/* the Transfer-Encoding list accumulated over all its fields */
	uint32_t te_chunked;   /* "chunked" elements */
	int te_last_chunked;   /* the last element so far is "chunked" */
	int te_known;          /* gzip, deflate, compress or identity seen */
	int te_unknown;        /* a well-formed coding we have never heard of */
	int te_malformed;      /* an empty element, parameters or non-token bytes */
};

/* Return value of the internal steps: go on with the next one. */
#define HTTP_CONTINUE HTTP_PARSE_DONE

static void parser_init(struct http_parser *ps, const char *buf, size_t len,
			const struct http_limits *lim, int response, struct http_head *h);
static int parser_fail(struct http_parser *ps, struct http_head *h, int status, const char *why);
static int parser_finish(struct http_parser *ps, struct http_head *h, int rc);
static int head_precheck(struct http_parser *ps, struct http_head *h);
static int expect_eol(struct http_parser *ps, struct http_head *h, const char *what);
static size_t scan_class(const unsigned char *b, size_t p, size_t end, unsigned cls);
static size_t scan_fval(const unsigned char *b, size_t p, size_t end);
static int skip_empty_lines(struct http_parser *ps, struct http_head *h);
static int parse_version(struct http_parser *ps, struct http_head *h);
static int parse_request_line(struct http_parser *ps, struct http_head *h);
static int parse_status_line(struct http_parser *ps, struct http_head *h);
static int parse_fields(struct http_parser *ps, struct http_head *h);
static int parse_field_line(struct http_parser *ps, struct http_head *h, struct http_header *f);
static int note_field(struct http_parser *ps, struct http_head *h, const struct http_header *f);
static int note_content_length(struct http_parser *ps, struct http_head *h, struct http_slice v);
static void note_transfer_encoding(struct http_parser *ps, struct http_slice v);
static int note_connection(struct http_parser *ps, struct http_head *h, struct http_slice v);
static int list_next(const unsigned char *b, size_t *pos, size_t end, struct http_slice *elem);
static int is_token(const unsigned char *b, struct http_slice s);
static int host_valid(const unsigned char *b, struct http_slice s);
static enum http_method method_lookup(const unsigned char *b, struct http_slice s);
static int finish_request(struct http_parser *ps, struct http_head *h);
static int finish_response(struct http_parser *ps, struct http_head *h, enum http_method rm);
static void set_keep_alive(struct http_head *h);
static int chunk_line_byte(struct http_chunked *c, unsigned char ch);
static int chunk_ext_byte(int state, unsigned char ch);
static int chunk_trailer_byte(struct http_chunked *c, unsigned char ch);

int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
		       struct http_head *h)
{
	struct http_parser ps;
	int rc;

	parser_init(&ps, buf, len, lim, 0, h);
	rc = head_precheck(&ps, h);
	if (rc == HTTP_CONTINUE)
		rc = skip_empty_lines(&ps, h);
	if (rc == HTTP_CONTINUE)
		rc = parse_request_line(&ps, h);
	if (rc == HTTP_CONTINUE)
		rc = parse_fields(&ps, h);
	if (rc == HTTP_CONTINUE)
		rc = finish_request(&ps, h);
	return parser_finish(&ps, h, rc);
}

int http_parse_response(const char *buf, size_t len, const struct http_limits *lim,
			enum http_method request_method, struct http_head *h)
{
	struct http_parser ps;
	int rc;

	/* No skipping of empty lines here: RFC 9112 2.2 grants that to requests only, and
	 * stray bytes before a status line mean the previous response was mis-framed. */
	parser_init(&ps, buf, len, lim, 1, h);
	rc = head_precheck(&ps, h);
	if (rc == HTTP_CONTINUE)
		rc = parse_status_line(&ps, h);
	if (rc == HTTP_CONTINUE)
		rc = parse_fields(&ps, h);
	if (rc == HTTP_CONTINUE)
		rc = finish_response(&ps, h, request_method);
	return parser_finish(&ps, h, rc);
}

int http_slice_eq(const char *buf, struct http_slice s, const char *lower_token)
{
	const unsigned char *b = (const unsigned char *)buf + s.off;
	uint32_t i;

	for (i = 0; i < s.len; i++) {
		unsigned char c = b[i];

		/* checked first so that a NUL in the buffer never walks past the token */
		if (lower_token[i] == '\0')
			return 0;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + ('a' - 'A'));
		if (c != (unsigned char)lower_token[i])
			return 0;
	}
	return lower_token[s.len] == '\0';
}

/* Resets the result fields of h (not the header array: only nheaders entries count)
 * and clamps the limits so that every offset fits in 32 bits. */
static void parser_init(struct http_parser *ps, const char *buf, size_t len,
			const struct http_limits *lim, int response, struct http_head *h)
{
	size_t head_max = lim ? lim->head_max_bytes : HTTP_DEFAULT_HEAD_MAX;

	memset(ps, 0, sizeof(*ps));
	ps->buf = (const unsigned char *)buf;
	ps->len = len;
	ps->end = len < head_max ? len : head_max;
	ps->max_fields = lim ? lim->header_max_count : HTTP_HEADERS_MAX;
	if (ps->max_fields > HTTP_HEADERS_MAX)
		ps->max_fields = HTTP_HEADERS_MAX;
	ps->response = response;

	h->method = h->target = h->reason = h->host = (struct http_slice){ 0, 0 };
	h->method_id = HTTP_M_OTHER;
	h->status = 0;
	h->version_minor = 0;
	h->head_len = 0;
	h->nheaders = 0;
	h->body = HTTP_BODY_NONE;
	h->content_length = 0;
	h->flags = 0;
	h->error_status = 0;
	h->error = NULL;
}

static int parser_fail(struct http_parser *ps, struct http_head *h, int status, const char *why)
{
	/* A broken backend is the gateway's problem, whatever the defect was. */
	h->error_status = ps->response ? 502 : status;
	h->error = why;
	return HTTP_PARSE_ERROR;
}

/* Turns "ran out of bytes" into "too large" when the bytes we did not look at were
 * withheld by the head size limit rather than missing. */
static int parser_finish(struct http_parser *ps, struct http_head *h, int rc)
{
	if (rc == HTTP_PARSE_INCOMPLETE && ps->len > ps->end)
		return parser_fail(ps, h, 431, "head too large");
	return rc;
}

/* The caller re-parses from the start whenever bytes arrive, so a partial head must
 * cost no more than a memchr per line (glibc's memmem is slower for a 4-byte needle).
 * Line endings are checked on the way so that a client using bare LF is refused at
 * once, not at the size limit. Returns HTTP_CONTINUE when a full parse may succeed. */
static int head_precheck(struct http_parser *ps, struct http_head *h)
{
	const unsigned char *b = ps->buf, *e = ps->buf + ps->end, *p;

	/* A head usually arrives whole and ends the buffer: then no scan at all. */
	if (ps->end >= 4 && memcmp(e - 4, "\r\n\r\n", 4) == 0)
		return HTTP_CONTINUE;
	for (p = b; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) {
		if (p == b || p[-1] != '\r')
			return parser_fail(ps, h, 400, "bare LF in head");
		/* CR LF CR LF: the LF before this CR passed the test above */
		if (p - b >= 3 && p[-2] == '\n')
			return HTTP_CONTINUE;
	}
	for (p = b; (p = memchr(p, '\r', (size_t)(e - p))) != NULL; p++)
		if (p + 1 < e && p[1] != '\n')
			return parser_fail(ps, h, 400, "bare CR in head");
	return HTTP_PARSE_INCOMPLETE;
}

/* Returns the first index in [p, end) whose byte is not of class cls, or end. Unrolled
 * so that the bound is checked once per four bytes, not per byte. */
static inline size_t scan_class(const unsigned char *b, size_t p, size_t end, unsigned cls)
{
	for (; end - p >= 4; p += 4) {
		if (!(http_ctab[b[p]] & cls))
			return p;
		if (!(http_ctab[b[p + 1]] & cls))
			return p + 1;
		if (!(http_ctab[b[p + 2]] & cls))
			return p + 2;
		if (!(http_ctab[b[p + 3]] & cls))
			return p + 3;
	}
	while (p < end && (http_ctab[b[p]] & cls))
		p++;
	return p;
}

/* scan_class for CT_FVAL, which covers most bytes of a head. Eight bytes at a time are
 * tested for "any byte < 0x20 or == 0x7f" (bytes >= 0x80 never trigger either test);
 * only a word that has one, usually the CR, goes through the table byte by byte. */
static inline size_t scan_fval(const unsigned char *b, size_t p, size_t end)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;

	for (; end - p >= 8; p += 8) {
		uint64_t x, del;

		memcpy(&x, b + p, 8);
		del = x ^ (ones * 0x7f);
		if (((x - ones * 0x20) & ~x & highs) | ((del - ones) & ~del & highs))
			break;
	}
	return scan_class(b, p, end, CT_FVAL);
}

/* Consumes the CRLF at pos. what names the fault when pos holds neither CR nor LF. */
static int expect_eol(struct http_parser *ps, struct http_head *h, const char *what)
{
	const unsigned char *b = ps->buf;

	if (ps->pos == ps->end)
		return HTTP_PARSE_INCOMPLETE;
	if (b[ps->pos] == '\n')
		return parser_fail(ps, h, 400, "bare LF in head");
	if (b[ps->pos] != '\r')
		return parser_fail(ps, h, 400, what);
	if (ps->pos + 1 == ps->end)
		return HTTP_PARSE_INCOMPLETE;
	if (b[ps->pos + 1] != '\n')
		return parser_fail(ps, h, 400, "bare CR in head");
	ps->pos += 2;
	return HTTP_CONTINUE;
}

/* RFC 9112 2.2: a server SHOULD ignore empty lines received before the request line
 * (clients sometimes send a CRLF after a POST body). */
static int skip_empty_lines(struct http_parser *ps, struct http_head *h)
{
	int rc;

	while (ps->pos < ps->end && (ps->buf[ps->pos] == '\r' || ps->buf[ps->pos] == '\n'))
		if ((rc = expect_eol(ps, h, "")) != HTTP_CONTINUE)
			return rc;
	return ps->pos == ps->end ? HTTP_PARSE_INCOMPLETE : HTTP_CONTINUE;
}

/* Consumes "HTTP/" DIGIT "." DIGIT (HTTP-name is case-sensitive). Whether the version
 * is one we speak is for the caller to decide once the line is known to be well-formed:
 * a malformed line is a 400, a foreign version a 505. */
static int parse_version(struct http_parser *ps, struct http_head *h)
{
	static const char pattern[] = "HTTP/1.1";
	const unsigned char *b = ps->buf + ps->pos;
	size_t avail = ps->end - ps->pos, n = avail < 8 ? avail : 8, i;

	for (i = 0; i < n; i++) {
		int ok = (i == 5 || i == 7) ? IS_DIGIT(b[i]) : b[i] == (unsigned char)pattern[i];

		if (!ok)
			return parser_fail(ps, h, 400, "malformed HTTP version");
	}
	if (n < 8)
		return HTTP_PARSE_INCOMPLETE;
	ps->pos += 8;
	return HTTP_CONTINUE;
}

/* method SP request-target SP HTTP-version CRLF (RFC 9112 3). */
static int parse_request_line(struct http_parser *ps, struct http_head *h)
{
	const unsigned char *b = ps->buf;
	size_t p = ps->pos, start = p, end = ps->end, ver;
	int rc;

	p = scan_class(b, p, end, CT_TCHAR);
	if (p == end)
		return HTTP_PARSE_INCOMPLETE;
	if (p == start || b[p] != ' ')
		return parser_fail(ps, h, 400, "invalid method");
	h->method = (struct http_slice){ (uint32_t)start, (uint32_t)(p - start) };
	h->method_id = method_lookup(b, h->method);

	start = ++p;
	p = scan_class(b, p, end, CT_VIS);
	if (p == end)
		return HTTP_PARSE_INCOMPLETE;
	if (p == start || b[p] != ' ')
		return parser_fail(ps, h, 400, "invalid request-target");
	/* a fragment is never sent (RFC 9110 4.2.4); a backend that cut the path at '#'
	 * would see another path than the one the proxy judged (HAProxy CVE-2023-45539) */
	if (memchr(b + start, '#', p - start))
		return parser_fail(ps, h, 400, "fragment (#) in request-target");
	h->target = (struct http_slice){ (uint32_t)start, (uint32_t)(p - start) };

	ps->pos = ver = p + 1;
	if ((rc = parse_version(ps, h)) != HTTP_CONTINUE)
		return rc;
	if ((rc = expect_eol(ps, h, "malformed HTTP version")) != HTTP_CONTINUE)
		return rc;
	if (b[ver + 5] != '1' || (b[ver + 7] != '0' && b[ver + 7] != '1'))
		return parser_fail(ps, h, 505, "unsupported HTTP version");
	h->version_minor = b[ver + 7] - '0';
	return HTTP_CONTINUE;
}

/* HTTP-version SP 3DIGIT SP reason-phrase CRLF (RFC 9112 4); the SP before an empty
 * reason is tolerated missing, as many servers omit it. */
static int parse_status_line(struct http_parser *ps, struct http_head *h)
{
	const unsigned char *b = ps->buf;
	size_t p, start, end = ps->end, ver = ps->pos;
	int rc;

	if ((rc = parse_version(ps, h)) != HTTP_CONTINUE)
		return rc;
	if (b[ver + 5] != '1' || (b[ver + 7] != '0' && b[ver + 7] != '1'))
		return parser_fail(ps, h, 502, "unsupported HTTP version");
	h->version_minor = b[ver + 7] - '0';

	p = ps->pos;
	if (end - p < 5)  /* SP 3DIGIT and one more byte */
		return HTTP_PARSE_INCOMPLETE;
	if (b[p] != ' ' || !IS_DIGIT(b[p + 1]) || !IS_DIGIT(b[p + 2]) || !IS_DIGIT(b[p + 3]))
		return parser_fail(ps, h, 502, "malformed status code");
	h->status = (b[p + 1] - '0') * 100 + (b[p + 2] - '0') * 10 + (b[p + 3] - '0');
	if (h->status < 100)
		return parser_fail(ps, h, 502, "status code below 100");
	p += 4;
	if (b[p] == ' ')
		p++;
	start = p;
	p = scan_fval(b, p, end);
	h->reason = (struct http_slice){ (uint32_t)start, (uint32_t)(p - start) };
	ps->pos = p;
	/* a fourth digit lands in the reason when no SP separates it: refuse that */
	if (start == ver + 12 && start < p)
		return parser_fail(ps, h, 502, "malformed status code");
	return expect_eol(ps, h, "invalid character in reason phrase");
}

/* Field lines up to and including the empty line that ends the head. */
static int parse_fields(struct http_parser *ps, struct http_head *h)
{
	const unsigned char *b = ps->buf;
	int rc;

	for (;;) {
		if (ps->pos == ps->end)
			return HTTP_PARSE_INCOMPLETE;
		if (b[ps->pos] == '\r' || b[ps->pos] == '\n') {
			if ((rc = expect_eol(ps, h, "")) != HTTP_CONTINUE)
				return rc;
			h->head_len = (uint32_t)ps->pos;
			return HTTP_CONTINUE;
		}
		if (h->nheaders >= ps->max_fields)
			return parser_fail(ps, h, 431, "too many header fields");
		if ((rc = parse_field_line(ps, h, &h->headers[h->nheaders])) != HTTP_CONTINUE)
			return rc;
		h->nheaders++;
		if ((rc = note_field(ps, h, &h->headers[h->nheaders - 1])) != HTTP_CONTINUE)
			return rc;
	}
}

/* field-name ":" OWS field-value OWS CRLF (RFC 9112 5). */
static int parse_field_line(struct http_parser *ps, struct http_head *h, struct http_header *f)
{
	const unsigned char *b = ps->buf;
	size_t p = ps->pos, start = p, end = ps->end;

	/* obs-fold, or whitespace between the start line and the first field: both are
	 * ways to hide a field from one parser and show it to another (RFC 9112 2.2, 5.2) */
	if (http_ctab[b[p]] & CT_OWS)
		return parser_fail(ps, h, 400, "obs-fold or line starting with whitespace");
	p = scan_class(b, p, end, CT_TCHAR);
	if (p == end)
		return HTTP_PARSE_INCOMPLETE;
	if (b[p] != ':') {
		if (http_ctab[b[p]] & CT_OWS)
			return parser_fail(ps, h, 400, "whitespace before colon");
		return parser_fail(ps, h, 400, "invalid character in field name");
	}
	if (p == start)
		return parser_fail(ps, h, 400, "empty field name");
	f->name = (struct http_slice){ (uint32_t)start, (uint32_t)(p - start) };

	p++;
	while (p < end && (http_ctab[b[p]] & CT_OWS))
		p++;
	start = p;
	p = scan_fval(b, p, end);
	ps->pos = p;
	while (p > start && (http_ctab[b[p - 1]] & CT_OWS))
		p--;
	f->value = (struct http_slice){ (uint32_t)start, (uint32_t)(p - start) };
	return expect_eol(ps, h, "control character in field value");
}

/* Records what the framing and connection handling need from one field. Dispatching
 * on the name length first keeps the common uninteresting fields to one switch. */
static int note_field(struct http_parser *ps, struct http_head *h, const struct http_header *f)
{
	const char *b = (const char *)ps->buf;

	switch (f->name.len) {
	case 4:
		if (ps->response || !http_slice_eq(b, f->name, "host"))
			break;
		if (h->flags & HTTP_F_HAS_HOST)
			return parser_fail(ps, h, 400, "several Host fields");
		if (!host_valid(ps->buf, f->value))
			return parser_fail(ps, h, 400, "invalid Host");
		h->flags |= HTTP_F_HAS_HOST;
		h->host = f->value;
		break;
	case 6:
		if (!ps->response && http_slice_eq(b, f->name, "expect") &&
		    http_slice_eq(b, f->value, "100-continue"))
			h->flags |= HTTP_F_EXPECT_CONTINUE;
		break;
	case 7:
		if (http_slice_eq(b, f->name, "upgrade"))
			h->flags |= HTTP_F_UPGRADE;
		break;
	case 10:
		if (http_slice_eq(b, f->name, "connection"))
			return note_connection(ps, h, f->value);
		break;
	case 14:
		if (http_slice_eq(b, f->name, "content-length"))
			return note_content_length(ps, h, f->value);
		break;
	case 17:
		if (http_slice_eq(b, f->name, "transfer-encoding")) {
			ps->n_te++;
			note_transfer_encoding(ps, f->value);
		}
		break;
	}
	return HTTP_CONTINUE;
}

/* Content-Length = 1*DIGIT, alone. Lists ("5, 5"), signs and repeats are refused in
 * requests because other parsers resolve them differently (RFC 9112 6.3 item 5);
 * a backend may repeat one value, which RFC 9110 8.6 lets a recipient accept. */
static int note_content_length(struct http_parser *ps, struct http_head *h, struct http_slice v)
{
	const unsigned char *b = ps->buf + v.off;
	uint64_t n = 0;
	uint32_t i;

	if (v.len == 0 || v.len > HTTP_CL_DIGITS_MAX)
		return parser_fail(ps, h, 400, "invalid Content-Length");
	for (i = 0; i < v.len; i++) {
		if (!IS_DIGIT(b[i]))
			return parser_fail(ps, h, 400, "invalid Content-Length");
		n = n * 10 + (uint64_t)(b[i] - '0');
	}
	if (ps->n_cl++ == 0)
		ps->cl = n;
	else if (!ps->response)
		return parser_fail(ps, h, 400, "several Content-Length fields");
	else if (ps->cl != n)
		return parser_fail(ps, h, 502, "conflicting Content-Length fields");
	return HTTP_CONTINUE;
}

/* Accumulates one Transfer-Encoding field into the list the verdict is taken on at
 * the end of the head, since the list may be split over several fields. */
static void note_transfer_encoding(struct http_parser *ps, struct http_slice v)
{
	static const char *const known[] = {
		"gzip", "x-gzip", "deflate", "compress", "x-compress", "identity"
	};
	const char *b = (const char *)ps->buf;
	size_t pos = v.off, i;
	struct http_slice e;

	while (list_next(ps->buf, &pos, (size_t)v.off + v.len, &e)) {
		ps->te_last_chunked = 0;
		if (!is_token(ps->buf, e)) {
			ps->te_malformed = 1;  /* empty, "chunked;x=1", quotes, ... */
			continue;
		}
		if (http_slice_eq(b, e, "chunked")) {
			ps->te_chunked++;
			ps->te_last_chunked = 1;
			continue;
		}
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (http_slice_eq(b, e, known[i]))
				break;
		if (i < sizeof(known) / sizeof(known[0]))
			ps->te_known = 1;
		else
			ps->te_unknown = 1;
	}
}

/* Connection options. One that names a framing field is refused in a request: a hop
 * that honours it forwards the message without the framing the previous hop used
 * (issue 25: "Connection: Content-Length" smuggled a second request through). In a
 * response it is only never honoured (proto/http_rewrite.c keeps those fields). */
static int note_connection(struct http_parser *ps, struct http_head *h, struct http_slice v)
{
	const char *b = (const char *)ps->buf;
	size_t pos = v.off;
	struct http_slice e;

	while (list_next(ps->buf, &pos, (size_t)v.off + v.len, &e)) {
		if (http_slice_eq(b, e, "close"))
			h->flags |= HTTP_F_CONN_CLOSE;
		else if (http_slice_eq(b, e, "keep-alive"))
			h->flags |= HTTP_F_CONN_KEEPALIVE;
		else if (http_slice_eq(b, e, "upgrade"))
			h->flags |= HTTP_F_CONN_UPGRADE;
		else if (e.len) {
			h->flags |= HTTP_F_CONN_LISTS_OTHER;
			if (!ps->response && (http_slice_eq(b, e, "content-length") ||
					      http_slice_eq(b, e, "transfer-encoding") ||
					      http_slice_eq(b, e, "host")))
				return parser_fail(ps, h, 400, "Connection names a framing field");
		}
	}
	return HTTP_CONTINUE;
}

/* Yields the next comma-separated element of b[*pos..end) with OWS trimmed; empty
 * elements are yielded too (callers decide whether they matter). Returns 0 once the
 * list is exhausted; *pos > end marks that. */
static int list_next(const unsigned char *b, size_t *pos, size_t end, struct http_slice *elem)
{
	size_t p = *pos, s, e;

	if (p > end)
		return 0;
	while (p < end && b[p] != ',')
		p++;
	s = *pos;
	e = p;
	while (s < e && IS_OWS(b[s]))
		s++;
	while (e > s && IS_OWS(b[e - 1]))
		e--;
	*elem = (struct http_slice){ (uint32_t)s, (uint32_t)(e - s) };
	*pos = p + 1;
	return 1;
}

static int is_token(const unsigned char *b, struct http_slice s)
{
	uint32_t i;

	for (i = 0; i < s.len; i++)
		if (!(http_ctab[b[s.off + i]] & CT_TCHAR))
			return 0;
	return s.len > 0;
}

/* Host = uri-host [ ":" port ] (RFC 9110 7.2); uri-host is an IP-literal in brackets
 * or a reg-name (which covers IPv4). userinfo, paths and whitespace are refused: they
 * are how routing is confused. An empty value is legal for targets without authority. */
static int host_valid(const unsigned char *b, struct http_slice s)
{
	size_t p = s.off, end = (size_t)s.off + s.len, start, digits;
	uint32_t port = 0;

	if (s.len == 0)
		return 1;
	if (b[p] == '[') {
		int colons = 0;

		for (start = ++p; p < end && (IS_HEX(b[p]) || b[p] == ':' || b[p] == '.'); p++)
			colons += b[p] == ':';
		if (p == end || b[p] != ']' || colons < 2)
			return 0;
		p++;
	} else {
		for (start = p; p < end && b[p] != ':'; p++) {
			if (b[p] == '%') {
				if (end - p < 3 || !IS_HEX(b[p + 1]) || !IS_HEX(b[p + 2]))
					return 0;
				p += 2;
			} else if (!(http_ctab[b[p]] & CT_REG)) {
				return 0;
			}
		}
		if (p == start)
			return 0;
	}
	if (p == end)
		return 1;
	if (b[p++] != ':')
		return 0;
	for (digits = 0; p < end; p++, digits++) {
		if (!IS_DIGIT(b[p]) || digits == 5)
			return 0;
		port = port * 10 + (uint32_t)(b[p] - '0');
	}
	return port <= 65535;
}

static enum http_method method_lookup(const unsigned char *b, struct http_slice s)
{
	static const struct {
		const char *name;
		uint32_t len;
		enum http_method id;
	} methods[] = {
		{ "GET", 3, HTTP_M_GET }, { "HEAD", 4, HTTP_M_HEAD }, { "POST", 4, HTTP_M_POST },
		{ "PUT", 3, HTTP_M_PUT }, { "DELETE", 6, HTTP_M_DELETE },
		{ "OPTIONS", 7, HTTP_M_OPTIONS }, { "TRACE", 5, HTTP_M_TRACE },
		{ "CONNECT", 7, HTTP_M_CONNECT }, { "PATCH", 5, HTTP_M_PATCH },
	};
	size_t i;

	/* methods are case-sensitive (RFC 9110 9.1): "get" is some other method */
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].len == s.len && memcmp(b + s.off, methods[i].name, s.len) == 0)
			return methods[i].id;
	return HTTP_M_OTHER;
}

/* The request framing verdict (RFC 9112 6.1, 6.3). Anything a backend might read
 * differently from us is refused rather than normalised. */
static int finish_request(struct http_parser *ps, struct http_head *h)
{
	if (ps->n_te) {
		if (ps->n_cl)
			return parser_fail(ps, h, 400, "Transfer-Encoding and Content-Length together");
		if (h->version_minor == 0)
			return parser_fail(ps, h, 400, "Transfer-Encoding in HTTP/1.0 request");
		if (ps->te_malformed)
			return parser_fail(ps, h, 400, "malformed Transfer-Encoding");
		if (ps->te_unknown)
			return parser_fail(ps, h, 400, "unknown transfer coding");
		if (ps->te_chunked > 1)
			return parser_fail(ps, h, 400, "chunked applied more than once");
		if (ps->te_chunked == 1 && !ps->te_last_chunked)
			return parser_fail(ps, h, 400, "chunked is not the final transfer coding");
		if (ps->te_known)
			return parser_fail(ps, h, 501, "unsupported transfer coding");
		if (ps->te_chunked != 1)  /* cannot happen: every field yields an element */
			return parser_fail(ps, h, 400, "malformed Transfer-Encoding");
		h->body = HTTP_BODY_CHUNKED;
	} else if (ps->n_cl) {
		h->body = HTTP_BODY_LENGTH;
		h->content_length = ps->cl;
	}
	if (h->version_minor == 1 && !(h->flags & HTTP_F_HAS_HOST))
		return parser_fail(ps, h, 400, "missing Host");
	/* RFC 9110 10.1.1: a 100-continue expectation in HTTP/1.0 must be ignored */
	if (h->version_minor == 0)
		h->flags &= ~(uint32_t)HTTP_F_EXPECT_CONTINUE;
	set_keep_alive(h);
	return HTTP_CONTINUE;
}

/* The response framing verdict (RFC 9112 6.3). Header defects are refused even when
 * the status says there is no body: such a backend cannot be trusted to frame. */
static int finish_response(struct http_parser *ps, struct http_head *h, enum http_method rm)
{
	enum http_body body = HTTP_BODY_UNTIL_CLOSE;

	if (ps->n_te) {
		if (ps->n_cl)
			return parser_fail(ps, h, 502, "Transfer-Encoding and Content-Length together");
		if (h->version_minor == 0)
			return parser_fail(ps, h, 502, "Transfer-Encoding in HTTP/1.0 response");
		if (ps->te_malformed)
			return parser_fail(ps, h, 502, "malformed Transfer-Encoding");
		if (ps->te_chunked > 1)
			return parser_fail(ps, h, 502, "chunked applied more than once");
		/* chunked not final: the body runs to the close (RFC 9112 6.3 item 4) */
		if (ps->te_last_chunked)
			body = HTTP_BODY_CHUNKED;
	} else if (ps->n_cl) {
		body = HTTP_BODY_LENGTH;
	}
	if (rm == HTTP_M_HEAD || h->status < 200 || h->status == 204 || h->status == 304 ||
	    (rm == HTTP_M_CONNECT && h->status < 300))
		body = HTTP_BODY_NONE;
	h->body = body;
	if (body == HTTP_BODY_LENGTH)
		h->content_length = ps->cl;
	set_keep_alive(h);
	if (body == HTTP_BODY_UNTIL_CLOSE)
		h->flags &= ~(uint32_t)HTTP_F_KEEP_ALIVE;
	return HTTP_CONTINUE;
}

/* Persistence by RFC 9112 9.3: HTTP/1.1 unless "close"; HTTP/1.0 only on request. */
static void set_keep_alive(struct http_head *h)
{
	if (h->flags & HTTP_F_CONN_CLOSE)
		return;
	if (h->version_minor == 1 || (h->flags & HTTP_F_CONN_KEEPALIVE))
		h->flags |= HTTP_F_KEEP_ALIVE;
}

/* States of the chunked scanner. 0 is the start so a zeroed struct is a fresh one. */
enum chunk_state {
	CS_SIZE_FIRST = 0,  /* first HEXDIG of chunk-size */
	CS_SIZE,            /* further HEXDIGs */
	CS_BWS_SEMI,        /* whitespace after size or value: only more of it or ';' */
	CS_EXT_NAME_FIRST,  /* after ';': BWS then a token */
	CS_EXT_NAME,
	CS_EXT_NAME_BWS,    /* whitespace after a name: '=' or ';' must follow */
	CS_EXT_VAL_FIRST,   /* after '=': BWS then token or quoted-string */
	CS_EXT_VAL,
	CS_EXT_QVAL,        /* inside a quoted-string */
	CS_EXT_QESC,        /* after a backslash in a quoted-string */
	CS_EXT_QEND,        /* just after the closing quote */
	CS_SIZE_LF,         /* CR of the chunk-size line seen */
	CS_DATA,            /* remaining data bytes */
	CS_DATA_CR,         /* the CRLF after chunk data */
	CS_DATA_LF,
	CS_TRAILER_FIRST,   /* start of a trailer line, or the final CRLF */
	CS_TRAILER_NAME,
	CS_TRAILER_VAL,
	CS_TRAILER_LF,
	CS_FINAL_LF,
	CS_DONE,
	CS_ERROR
};

void http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CS_SIZE_FIRST;
}

/* Bytes of chunk data are skipped in bulk; only size lines, the CRLF after data and
 * trailers are looked at byte by byte, so the state survives any split of the input. */
int http_chunked_scan(struct http_chunked *c, const char *buf, size_t len, size_t *consumed)
{
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = 0;

	if (c->state == CS_DONE || c->state == CS_ERROR) {
		*consumed = 0;
		return c->state == CS_DONE ? HTTP_CHUNKED_DONE : HTTP_CHUNKED_ERROR;
	}
	while (i < len) {
		if (c->state == CS_DATA) {
			size_t n = len - i;

			if (n > c->remaining)
				n = (size_t)c->remaining;
			i += n;
			c->remaining -= n;
			if (c->remaining == 0)
				c->state = CS_DATA_CR;
			continue;
		}
		if (c->state == CS_DATA_CR) {
			c->state = b[i] == '\r' ? CS_DATA_LF : CS_ERROR;
		} else if (c->state == CS_DATA_LF) {
			c->state = b[i] == '\n' ? CS_SIZE_FIRST : CS_ERROR;
			c->line_len = 0;
		} else if (++c->line_len > HTTP_CHUNK_LINE_MAX) {
			c->state = CS_ERROR;
		} else if (c->state < CS_DATA) {
			c->state = chunk_line_byte(c, b[i]);
		} else {
			c->state = chunk_trailer_byte(c, b[i]);
		}
		if (c->state == CS_ERROR) {
			*consumed = i;
			return HTTP_CHUNKED_ERROR;
		}
		i++;
		if (c->state == CS_DONE) {
			*consumed = i;
			return HTTP_CHUNKED_DONE;
		}
	}
	*consumed = len;
	return HTTP_CHUNKED_MORE;
}

uint64_t http_chunked_data_next(const struct http_chunked *c)
{
	return c->state == CS_DATA ? c->remaining : 0;
}

int http_chunked_in_trailers(const struct http_chunked *c)
{
	return c->state >= CS_TRAILER_FIRST && c->state <= CS_FINAL_LF;
}

/* One byte of a chunk-size line: 1*HEXDIG [ chunk-ext ] CRLF (RFC 9112 7.1). Returns
 * the next state. line_len already counts this byte, so in CS_SIZE it is the number
 * of digits so far. */
static int chunk_line_byte(struct http_chunked *c, unsigned char ch)
{
	switch (c->state) {
	case CS_SIZE_FIRST:
	case CS_SIZE:
		if (http_ctab[ch] & CT_HEX) {
			/* refuse before shifting: a size >= 2^62 or a 17th digit */
			if (c->line_len > HTTP_CHUNK_DIGITS_MAX || (c->remaining >> 58) != 0)
				return CS_ERROR;
			c->remaining = c->remaining << 4 |
				       (uint64_t)(IS_DIGIT(ch) ? ch - '0' : (ch | 0x20) - 'a' + 10);
			return CS_SIZE;
		}
		if (c->state == CS_SIZE_FIRST)
			return CS_ERROR;
		if (ch == ';')
			return CS_EXT_NAME_FIRST;
		if (IS_OWS(ch))
			return CS_BWS_SEMI;
		return ch == '\r' ? CS_SIZE_LF : CS_ERROR;
	case CS_SIZE_LF:
		if (ch != '\n')
			return CS_ERROR;
		c->line_len = 0;
		return c->remaining ? CS_DATA : CS_TRAILER_FIRST;
	default:
		return chunk_ext_byte(c->state, ch);
	}
}

/* One byte of chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
 * Whitespace is accepted only where BWS is, never before the CRLF. */
static int chunk_ext_byte(int state, unsigned char ch)
{
	unsigned cls = http_ctab[ch];

	switch (state) {
	case CS_BWS_SEMI:
		return (cls & CT_OWS) ? CS_BWS_SEMI : ch == ';' ? CS_EXT_NAME_FIRST : CS_ERROR;
	case CS_EXT_NAME_FIRST:
		return (cls & CT_OWS) ? CS_EXT_NAME_FIRST : (cls & CT_TCHAR) ? CS_EXT_NAME : CS_ERROR;
	case CS_EXT_NAME:
	case CS_EXT_VAL:
	case CS_EXT_QEND:
		if ((cls & CT_TCHAR) && state != CS_EXT_QEND)
			return state;
		if (ch == '=' && state == CS_EXT_NAME)
			return CS_EXT_VAL_FIRST;
		if (ch == ';')
			return CS_EXT_NAME_FIRST;
		if (cls & CT_OWS)
			return state == CS_EXT_NAME ? CS_EXT_NAME_BWS : CS_BWS_SEMI;
		return ch == '\r' ? CS_SIZE_LF : CS_ERROR;
	case CS_EXT_NAME_BWS:
		if (cls & CT_OWS)
			return CS_EXT_NAME_BWS;
		return ch == '=' ? CS_EXT_VAL_FIRST : ch == ';' ? CS_EXT_NAME_FIRST : CS_ERROR;
	case CS_EXT_VAL_FIRST:
		if (cls & CT_OWS)
			return CS_EXT_VAL_FIRST;
		return (cls & CT_TCHAR) ? CS_EXT_VAL : ch == '"' ? CS_EXT_QVAL : CS_ERROR;
	case CS_EXT_QVAL:
		return (cls & CT_QD) ? CS_EXT_QVAL : ch == '"' ? CS_EXT_QEND :
		       ch == '\\' ? CS_EXT_QESC : CS_ERROR;
	case CS_EXT_QESC:
		return (cls & CT_FVAL) ? CS_EXT_QVAL : CS_ERROR;  /* quoted-pair */
	default:
		return CS_ERROR;
	}
}

/* One byte of the trailer section: *( field-line CRLF ) CRLF (RFC 9112 7.1.2), held
 * to the same rules as head fields since a backend may merge trailers into headers. */
static int chunk_trailer_byte(struct http_chunked *c, unsigned char ch)
{
	unsigned cls = http_ctab[ch];

	switch (c->state) {
	case CS_TRAILER_FIRST:
		if (ch == '\r')
			return CS_FINAL_LF;
		if (!(cls & CT_TCHAR) || ++c->trailers > HTTP_TRAILERS_MAX)
			return CS_ERROR;
		return CS_TRAILER_NAME;
	case CS_TRAILER_NAME:
		return (cls & CT_TCHAR) ? CS_TRAILER_NAME : ch == ':' ? CS_TRAILER_VAL : CS_ERROR;
	case CS_TRAILER_VAL:
		return (cls & CT_FVAL) ? CS_TRAILER_VAL : ch == '\r' ? CS_TRAILER_LF : CS_ERROR;
	case CS_TRAILER_LF:
		c->line_len = 0;
		return ch == '\n' ? CS_TRAILER_FIRST : CS_ERROR;
	case CS_FINAL_LF:
		return ch == '\n' ? CS_DONE : CS_ERROR;
	default:
		return CS_ERROR;
	}
}
