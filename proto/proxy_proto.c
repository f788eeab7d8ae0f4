/* proxy_proto.c: the PROXY protocol headers, v1 (text line) and v2 (binary): writing them
 * towards backends and reading them, strictly, from trusted balancers in front of us. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxy_proto.h"

#define PROXY_V2_SIG_LEN  12
#define PROXY_V2_HDR_LEN  16          /* signature, ver_cmd, fam, 16-bit length */
#define PROXY_V2_LEN_INET 12          /* two IPv4 addresses and two ports */
#define PROXY_V2_LEN_INET6 36         /* two IPv6 addresses and two ports */
#define PROXY_V1_PREFIX   "PROXY "
#define PROXY_V1_PREFIX_LEN 6

/* v2 ver_cmd byte: version in the high nibble, command in the low one. */
#define PROXY_V2_VERSION  0x2
#define PROXY_V2_LOCAL    0x0
#define PROXY_V2_PROXY    0x1
/* v2 fam byte: address family in the high nibble, transport in the low one. */
#define PROXY_V2_AF_UNSPEC 0x0
#define PROXY_V2_AF_INET   0x1
#define PROXY_V2_AF_INET6  0x2
#define PROXY_V2_AF_UNIX   0x3
#define PROXY_V2_TP_UNSPEC 0x0
#define PROXY_V2_TP_STREAM 0x1
#define PROXY_V2_TP_DGRAM  0x2

static const unsigned char proxy_v2_sig[PROXY_V2_SIG_LEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 'Q', 'U', 'I', 'T', 0x0a
};

static int proxy_fail(const char **err, const char *reason);
static int proxy_same_ip_family(const struct sockaddr *src, const struct sockaddr *dst);
static int proxy_parse_v1(const char *buf, size_t len, struct proxy_info *out,
			  const char **err);
static int proxy_parse_v2(const unsigned char *buf, size_t len, struct proxy_info *out,
			  const char **err);
static int proxy_v1_next_token(const char **p, const char *end, const char **tok,
			       size_t *toklen);
static int proxy_v1_port(const char *tok, size_t toklen, uint16_t *port);
static int proxy_v1_address(int family, const char *tok, size_t toklen, void *dst);

static int proxy_fail(const char **err, const char *reason)
{
	if (err)
		*err = reason;
	return -1;
}

/* AF_INET or AF_INET6 when both addresses are of that family, else 0. */
static int proxy_same_ip_family(const struct sockaddr *src, const struct sockaddr *dst)
{
	if (!src || !dst || src->sa_family != dst->sa_family)
		return 0;
	if (src->sa_family == AF_INET || src->sa_family == AF_INET6)
		return src->sa_family;
	return 0;
}

/* Formats into a local line first: the caller's buffer may be exactly the line's size,
 * which snprintf (it wants room for the NUL) would truncate. */
int proxy_v1_encode(char *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst)
{
	char line[PROXY_V1_MAX + 1], s[INET6_ADDRSTRLEN] = "", d[INET6_ADDRSTRLEN] = "";
	int family = proxy_same_ip_family(src, dst);
	unsigned sport = 0, dport = 0;
	int n;

	if (family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)src;
		const struct sockaddr_in *b = (const struct sockaddr_in *)dst;

		inet_ntop(AF_INET, &a->sin_addr, s, sizeof(s));
		inet_ntop(AF_INET, &b->sin_addr, d, sizeof(d));
		sport = ntohs(a->sin_port);
		dport = ntohs(b->sin_port);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)src;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)dst;

		inet_ntop(AF_INET6, &a->sin6_addr, s, sizeof(s));
		inet_ntop(AF_INET6, &b->sin6_addr, d, sizeof(d));
		sport = ntohs(a->sin6_port);
		dport = ntohs(b->sin6_port);
	}

	if (family)
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
			     family == AF_INET ? "TCP4" : "TCP6", s, d, sport, dport);
	else
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	if (n < 0 || (size_t)n > cap)
		return -1;
	memcpy(out, line, (size_t)n);
	return n;
}

int proxy_v2_encode(char *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst)
{
	unsigned char *o = (unsigned char *)out;
	int family = proxy_same_ip_family(src, dst);
	size_t addr_len = family == AF_INET ? PROXY_V2_LEN_INET
			: family == AF_INET6 ? PROXY_V2_LEN_INET6 : 0;
	size_t total = PROXY_V2_HDR_LEN + addr_len;

	if (cap < total)
		return -1;
	memcpy(o, proxy_v2_sig, PROXY_V2_SIG_LEN);
	o[14] = (unsigned char)(addr_len >> 8);
	o[15] = (unsigned char)(addr_len & 0xff);
	if (family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)src;
		const struct sockaddr_in *b = (const struct sockaddr_in *)dst;

		o[12] = PROXY_V2_VERSION << 4 | PROXY_V2_PROXY;
		o[13] = PROXY_V2_AF_INET << 4 | PROXY_V2_TP_STREAM;
		/* Addresses and ports are already in network order in the sockaddr. */
		memcpy(o + 16, &a->sin_addr, 4);
		memcpy(o + 20, &b->sin_addr, 4);
		memcpy(o + 24, &a->sin_port, 2);
		memcpy(o + 26, &b->sin_port, 2);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)src;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)dst;

		o[12] = PROXY_V2_VERSION << 4 | PROXY_V2_PROXY;
		o[13] = PROXY_V2_AF_INET6 << 4 | PROXY_V2_TP_STREAM;
		memcpy(o + 16, &a->sin6_addr, 16);
		memcpy(o + 32, &b->sin6_addr, 16);
		memcpy(o + 48, &a->sin6_port, 2);
		memcpy(o + 50, &b->sin6_port, 2);
	} else {
		/* Nothing we could describe: LOCAL tells the backend to use the socket's
		 * own endpoints, which is the truth for what it can see. */
		o[12] = PROXY_V2_VERSION << 4 | PROXY_V2_LOCAL;
		o[13] = PROXY_V2_AF_UNSPEC << 4 | PROXY_V2_TP_UNSPEC;
	}
	return (int)total;
}

/* Decides between v1 and v2 from the first bytes. Each signature is checked only as far
 * as bytes have arrived, so a partial header asks for more rather than failing, while
 * anything that cannot become either header fails at once. */
int proxy_parse(const char *buf, size_t len, struct proxy_info *out, const char **err)
{
	size_t n;

	if (len == 0)
		return 0;
	n = len < PROXY_V2_SIG_LEN ? len : PROXY_V2_SIG_LEN;
	if (memcmp(buf, proxy_v2_sig, n) == 0)
		return proxy_parse_v2((const unsigned char *)buf, len, out, err);
	n = len < PROXY_V1_PREFIX_LEN ? len : PROXY_V1_PREFIX_LEN;
	if (memcmp(buf, PROXY_V1_PREFIX, n) == 0)
		return len < PROXY_V1_PREFIX_LEN ? 0 : proxy_parse_v1(buf, len, out, err);
	return proxy_fail(err, "not a PROXY header");
}

/* Takes the next space-separated token of [*p, end). Exactly one space separates tokens:
 * an empty token (two spaces, or a space at either end) is an error (-1); 0 at the end. */
static int proxy_v1_next_token(const char **p, const char *end, const char **tok,
			       size_t *toklen)
{
	const char *s = *p, *sp;

	if (s > end)
		return 0;
	sp = memchr(s, ' ', (size_t)(end - s));
	if (!sp)
		sp = end;
	if (sp == s)
		return -1;
	*tok = s;
	*toklen = (size_t)(sp - s);
	*p = sp + 1;  /* past the space; past end when this was the last token */
	return 1;
}

/* A port in canonical decimal: 0..65535, no sign, no leading zero except "0" itself. */
static int proxy_v1_port(const char *tok, size_t toklen, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (toklen == 0 || toklen > 5 || (toklen > 1 && tok[0] == '0'))
		return -1;
	for (i = 0; i < toklen; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(tok[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* An address of the given family; inet_pton wants a NUL-terminated copy and, for
 * AF_INET, accepts only dotted quads, which is the canonical form the spec asks for. */
static int proxy_v1_address(int family, const char *tok, size_t toklen, void *dst)
{
	char text[INET6_ADDRSTRLEN];

	if (toklen == 0 || toklen >= sizeof(text))
		return -1;
	memcpy(text, tok, toklen);
	text[toklen] = '\0';
	return inet_pton(family, text, dst) == 1 ? 0 : -1;
}

/* "PROXY TCP4|TCP6 src dst sport dport\r\n" or "PROXY UNKNOWN[ anything]\r\n". buf starts
 * with "PROXY ". Same returns as proxy_parse. */
static int proxy_parse_v1(const char *buf, size_t len, struct proxy_info *out,
			  const char **err)
{
	size_t limit = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	const char *eol = memchr(buf, '\n', limit);
	const char *p, *end, *tok[5];
	size_t toklen[5], line_len, ntok = 0;
	int family, r;
	uint16_t sport, dport;

	if (!eol) {
		if (len >= PROXY_V1_MAX)
			return proxy_fail(err, "PROXY v1 line longer than 107 bytes");
		return 0;
	}
	line_len = (size_t)(eol - buf) + 1;
	if (line_len < PROXY_V1_PREFIX_LEN + 2 || eol[-1] != '\r')
		return proxy_fail(err, "PROXY v1 line does not end in CRLF");

	p = buf + PROXY_V1_PREFIX_LEN;
	end = eol - 1;  /* the CR */
	if ((size_t)(end - p) >= 7 && memcmp(p, "UNKNOWN", 7) == 0 &&
	    (end - p == 7 || p[7] == ' ')) {
		/* The spec has receivers ignore whatever follows UNKNOWN on the line. */
		memset(out, 0, sizeof(*out));
		out->version = 1;
		out->local = 1;
		return (int)line_len;
	}

	while ((r = proxy_v1_next_token(&p, end, &tok[ntok], &toklen[ntok])) == 1)
		if (++ntok == 5)
			break;
	if (r == -1)
		return proxy_fail(err, "PROXY v1 fields must be separated by single spaces");
	if (ntok != 5 || p <= end)
		return proxy_fail(err, "PROXY v1 line needs protocol, two addresses and two ports");

	if (toklen[0] == 4 && memcmp(tok[0], "TCP4", 4) == 0)
		family = AF_INET;
	else if (toklen[0] == 4 && memcmp(tok[0], "TCP6", 4) == 0)
		family = AF_INET6;
	else
		return proxy_fail(err, "PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN");

	if (proxy_v1_port(tok[3], toklen[3], &sport) == -1 ||
	    proxy_v1_port(tok[4], toklen[4], &dport) == -1)
		return proxy_fail(err, "PROXY v1 port is not a canonical number 0..65535");

	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;

		if (proxy_v1_address(AF_INET, tok[1], toklen[1], &s->sin_addr) == -1 ||
		    proxy_v1_address(AF_INET, tok[2], toklen[2], &d->sin_addr) == -1)
			return proxy_fail(err, "PROXY v1 TCP4 address is not a dotted quad");
		s->sin_family = d->sin_family = AF_INET;
		s->sin_port = htons(sport);
		d->sin_port = htons(dport);
		out->addr_len = sizeof(struct sockaddr_in);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;

		if (proxy_v1_address(AF_INET6, tok[1], toklen[1], &s->sin6_addr) == -1 ||
		    proxy_v1_address(AF_INET6, tok[2], toklen[2], &d->sin6_addr) == -1)
			return proxy_fail(err, "PROXY v1 TCP6 address is not an IPv6 address");
		s->sin6_family = d->sin6_family = AF_INET6;
		s->sin6_port = htons(sport);
		d->sin6_port = htons(dport);
		out->addr_len = sizeof(struct sockaddr_in6);
	}
	out->version = 1;
	return (int)line_len;
}

/* The binary header; buf starts with (a prefix of) the signature. Everything that can be
 * judged from the fixed 16 bytes is judged before waiting for the rest, so a bad header
 * fails without the peer having to send (or us to buffer) its announced length. */
static int proxy_parse_v2(const unsigned char *buf, size_t len, struct proxy_info *out,
			  const char **err)
{
	unsigned version, command, af, tp;
	size_t body, total;

	if (len < PROXY_V2_HDR_LEN)
		return 0;
	version = buf[12] >> 4;
	command = buf[12] & 0x0f;
	af = buf[13] >> 4;
	tp = buf[13] & 0x0f;
	body = (size_t)buf[14] << 8 | buf[15];
	total = PROXY_V2_HDR_LEN + body;

	if (version != PROXY_V2_VERSION)
		return proxy_fail(err, "PROXY v2 header has an unsupported version");
	if (command != PROXY_V2_LOCAL && command != PROXY_V2_PROXY)
		return proxy_fail(err, "PROXY v2 header has an unknown command");
	if (af > PROXY_V2_AF_UNIX || tp > PROXY_V2_TP_DGRAM)
		return proxy_fail(err, "PROXY v2 header has an invalid address family");
	if (total > PROXY_V2_ACCEPT_MAX)
		return proxy_fail(err, "PROXY v2 header longer than we accept");

	if (command == PROXY_V2_LOCAL) {
		/* Health checks of the balancer in front: the spec has the family and the
		 * whole address block ignored, and the socket's own endpoints used. */
		if (len < total)
			return 0;
		memset(out, 0, sizeof(*out));
		out->version = 2;
		out->local = 1;
		return (int)total;
	}

	if (tp != PROXY_V2_TP_STREAM || (af != PROXY_V2_AF_INET && af != PROXY_V2_AF_INET6))
		return proxy_fail(err, "PROXY v2 header has an unsupported family");
	if (body < (af == PROXY_V2_AF_INET ? PROXY_V2_LEN_INET : PROXY_V2_LEN_INET6))
		return proxy_fail(err, "PROXY v2 length too small for its addresses");
	if (len < total)
		return 0;

	/* TLVs after the addresses (up to total) are skipped: we use none of them. */
	memset(out, 0, sizeof(*out));
	if (af == PROXY_V2_AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, buf + 16, 4);
		memcpy(&d->sin_addr, buf + 20, 4);
		memcpy(&s->sin_port, buf + 24, 2);
		memcpy(&d->sin_port, buf + 26, 2);
		out->addr_len = sizeof(struct sockaddr_in);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, buf + 16, 16);
		memcpy(&d->sin6_addr, buf + 32, 16);
		memcpy(&s->sin6_port, buf + 48, 2);
		memcpy(&d->sin6_port, buf + 50, 2);
		out->addr_len = sizeof(struct sockaddr_in6);
	}
	out->version = 2;
	return (int)total;
}
