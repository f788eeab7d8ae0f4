/* addr.c: owns the text form of socket addresses: parsing "host:port" as written in the
 * config (resolving names), formatting sockaddrs for logs, and trusted-source prefixes. */
#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

/* Table of contents. */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int parse_port(const char *s, size_t n, uint16_t *port);
static int parse_ipv6_host(const char *host, struct sockaddr_in6 *sin6, char *err, size_t errlen);
static int looks_numeric_ipv4(const char *host);
static int valid_hostname(const char *host);
static int resolve_name(const char *host, uint16_t port, struct addr *out, char *err,
			size_t errlen);
static const unsigned char *ipv4_bytes_of(const struct sockaddr *sa);

/* Host names are resolved into a buffer this big before the port is attached; DNS
 * limits a name to 253 characters, so anything longer is rejected up front. */
#define HOST_NAME_MAX_LEN 253

int addr_parse(const char *text, struct addr *out, int resolve, char *err, size_t errlen)
{
	char host[ADDR_TEXT_MAX];
	const char *colon;
	size_t len, hostlen;
	uint16_t port;

	memset(out, 0, sizeof(*out));
	set_err(err, errlen, "%s", "");
	if (text == NULL || text[0] == '\0') {
		set_err(err, errlen, "empty address (expected host:port)");
		return -1;
	}
	len = strlen(text);
	if (len >= ADDR_TEXT_MAX) {
		set_err(err, errlen, "address longer than %d characters", ADDR_TEXT_MAX - 1);
		return -1;
	}

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL) {
			set_err(err, errlen, "missing ']' after IPv6 address");
			return -1;
		}
		if (close[1] != ':') {
			set_err(err, errlen, "expected ':port' after ']'");
			return -1;
		}
		hostlen = (size_t)(close - text - 1);
		if (hostlen == 0) {
			set_err(err, errlen, "empty IPv6 address in []");
			return -1;
		}
		memcpy(host, text + 1, hostlen);
		host[hostlen] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL) {
			set_err(err, errlen, "missing port (expected host:port)");
			return -1;
		}
		hostlen = (size_t)(colon - text);
		if (hostlen == 0) {
			set_err(err, errlen, "missing host before ':'");
			return -1;
		}
		/* A second colon means an IPv6 literal; without brackets its last group
		 * and the port cannot be told apart, so refuse rather than guess. */
		if (memchr(text, ':', hostlen) != NULL) {
			set_err(err, errlen, "IPv6 addresses need brackets, e.g. [::1]:80");
			return -1;
		}
		memcpy(host, text, hostlen);
		host[hostlen] = '\0';
	}

	if (parse_port(colon + 1, strlen(colon + 1), &port) == -1) {
		set_err(err, errlen, "invalid port '%s' (expected 1..65535)", colon + 1);
		return -1;
	}
	memcpy(out->text, text, len + 1);

	if (text[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

		if (parse_ipv6_host(host, sin6, err, errlen) == -1)
			goto fail;
		sin6->sin6_port = htons(port);
		out->len = sizeof(*sin6);
		return 0;
	}

	{
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			out->len = sizeof(*sin);
			return 0;
		}
	}
	/* "256.1.1.1" or "1.2.3" would otherwise be sent to DNS as a name and fail
	 * with a confusing resolver message (or, worse, resolve). */
	if (looks_numeric_ipv4(host)) {
		set_err(err, errlen, "invalid IPv4 address '%s'", host);
		goto fail;
	}
	if (!valid_hostname(host)) {
		set_err(err, errlen, "invalid host name '%s'", host);
		goto fail;
	}
	out->is_name = 1;
	if (!resolve)
		return 0;
	if (resolve_name(host, port, out, err, errlen) == -1)
		goto fail;
	return 0;

fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

char *addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];

	if (len == 0)
		return buf;
	switch (sa->sa_family) {
	case AF_INET:
		snprintf(buf, len, "%s:%u", addr_format_host(sa, host, sizeof(host)),
			 (unsigned)addr_port(sa));
		break;
	case AF_INET6:
		snprintf(buf, len, "[%s]:%u", addr_format_host(sa, host, sizeof(host)),
			 (unsigned)addr_port(sa));
		break;
	case AF_UNIX:
		snprintf(buf, len, "unix:%s", ((const struct sockaddr_un *)sa)->sun_path);
		break;
	default:
		snprintf(buf, len, "(family %d)", (int)sa->sa_family);
		break;
	}
	return buf;
}

void addr_ip_set(union addr_ip *out, const struct sockaddr *sa)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET)
		memcpy(&out->in, sa, sizeof(out->in));
	else if (sa->sa_family == AF_INET6)
		memcpy(&out->in6, sa, sizeof(out->in6));
}

char *addr_format_host(const struct sockaddr *sa, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		if (inet_ntop(AF_INET, &sin->sin_addr, tmp, sizeof(tmp)) != NULL)
			snprintf(buf, len, "%s", tmp);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		char ifname[IF_NAMESIZE];

		if (inet_ntop(AF_INET6, &sin6->sin6_addr, tmp, sizeof(tmp)) == NULL)
			return buf;
		/* Keep the zone of link-local addresses: without it the log line names
		 * an address that cannot be reached. */
		if (sin6->sin6_scope_id != 0 && if_indextoname(sin6->sin6_scope_id, ifname) != NULL)
			snprintf(buf, len, "%s%%%s", tmp, ifname);
		else if (sin6->sin6_scope_id != 0)
			snprintf(buf, len, "%s%%%u", tmp, (unsigned)sin6->sin6_scope_id);
		else
			snprintf(buf, len, "%s", tmp);
	}
	return buf;
}

uint16_t addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

/* Unresolved names (len 0, family AF_UNSPEC) compare by their text, so two listeners
 * written "web:80" are still seen as the same address when resolution is off. */
int addr_equal(const struct addr *a, const struct addr *b)
{
	int fa = a->ss.ss_family, fb = b->ss.ss_family;

	if (fa != fb)
		return 0;
	if (fa == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (fa == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;

		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	if (fa == AF_UNSPEC)
		return a->text[0] != '\0' && strcmp(a->text, b->text) == 0;
	return 0;
}

int addr_prefix_parse(const char *text, struct addr_prefix *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t hostlen;
	unsigned maxbits, i;

	memset(out, 0, sizeof(*out));
	set_err(err, errlen, "%s", "");
	if (text == NULL || text[0] == '\0') {
		set_err(err, errlen, "empty prefix");
		return -1;
	}
	slash = strchr(text, '/');
	hostlen = slash ? (size_t)(slash - text) : strlen(text);
	if (hostlen == 0 || hostlen >= sizeof(host)) {
		set_err(err, errlen, "invalid prefix '%s' (expected e.g. 10.0.0.0/8 or ::1)", text);
		return -1;
	}
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, out->net) == 1) {
		out->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, host, out->net) == 1) {
		out->family = AF_INET6;
		maxbits = 128;
	} else {
		set_err(err, errlen, "invalid address '%s' in prefix", host);
		return -1;
	}
	out->bits = maxbits;
	if (slash != NULL) {
		const char *p = slash + 1;
		unsigned long v = 0;
		size_t n = strlen(p);

		if (n == 0 || n > 3)
			goto bad_len;
		for (i = 0; i < n; i++) {
			if (!isdigit((unsigned char)p[i]))
				goto bad_len;
			v = v * 10 + (unsigned)(p[i] - '0');
		}
		if (v > maxbits)
			goto bad_len;
		out->bits = (unsigned)v;
	}
	/* Clear host bits so "10.1.2.3/8" means the network 10.0.0.0/8 and matching
	 * can compare whole bytes. */
	for (i = 0; i < 16; i++) {
		unsigned keep = out->bits > i * 8 ? out->bits - i * 8 : 0;

		if (keep < 8)
			out->net[i] &= (unsigned char)(0xff00u >> keep);
	}
	return 0;

bad_len:
	set_err(err, errlen, "invalid prefix length in '%s' (expected 0..%u)", text, maxbits);
	memset(out, 0, sizeof(*out));
	return -1;
}

int addr_prefix_match(const struct addr_prefix *p, const struct sockaddr *sa)
{
	unsigned char buf[16];
	const unsigned char *bytes;
	unsigned full, rest;

	if (p->family == AF_INET) {
		bytes = ipv4_bytes_of(sa);
		if (bytes == NULL)
			return 0;
	} else if (p->family == AF_INET6) {
		if (sa->sa_family == AF_INET6) {
			bytes = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		} else if (sa->sa_family == AF_INET) {
			/* Compare a plain IPv4 peer as ::ffff:a.b.c.d so that mapped
			 * prefixes work both ways. */
			memset(buf, 0, 10);
			buf[10] = buf[11] = 0xff;
			memcpy(buf + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
			bytes = buf;
		} else {
			return 0;
		}
	} else {
		return 0;
	}
	full = p->bits / 8;
	rest = p->bits % 8;
	if (memcmp(bytes, p->net, full) != 0)
		return 0;
	if (rest != 0) {
		unsigned char mask = (unsigned char)(0xff00u >> rest);

		if ((bytes[full] & mask) != p->net[full])
			return 0;
	}
	return 1;
}

/* Writes a formatted message into err when the caller gave room for one. */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Decimal port of exactly n characters, 1..65535; returns 0 or -1. */
static int parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Parses the inside of "[...]": an IPv6 literal with an optional "%zone" (interface
 * name or index), into sin6 (family, address, scope). Returns 0 or -1 with err set. */
static int parse_ipv6_host(const char *host, struct sockaddr_in6 *sin6, char *err, size_t errlen)
{
	char lit[INET6_ADDRSTRLEN + 1];
	const char *pct = strchr(host, '%');
	size_t litlen = pct ? (size_t)(pct - host) : strlen(host);

	if (litlen == 0 || litlen >= sizeof(lit)) {
		set_err(err, errlen, "invalid IPv6 address '%s'", host);
		return -1;
	}
	memcpy(lit, host, litlen);
	lit[litlen] = '\0';
	if (inet_pton(AF_INET6, lit, &sin6->sin6_addr) != 1) {
		set_err(err, errlen, "invalid IPv6 address '%s'", lit);
		return -1;
	}
	sin6->sin6_family = AF_INET6;
	if (pct != NULL) {
		const char *zone = pct + 1;
		unsigned idx = 0;

		if (zone[0] == '\0') {
			set_err(err, errlen, "empty zone after '%%' in '%s'", host);
			return -1;
		}
		if (strspn(zone, "0123456789") == strlen(zone) && strlen(zone) < 10)
			idx = (unsigned)strtoul(zone, NULL, 10);
		else
			idx = if_nametoindex(zone);
		if (idx == 0) {
			set_err(err, errlen, "unknown interface '%s' in '%s'", zone, host);
			return -1;
		}
		sin6->sin6_scope_id = idx;
	}
	return 0;
}

/* 1 when host is made only of digits and dots: meant as an IPv4 literal. */
static int looks_numeric_ipv4(const char *host)
{
	return strspn(host, "0123456789.") == strlen(host);
}

/* DNS-style name: labels of letters, digits, '-' and '_' (service names in Docker and
 * Kubernetes use it), 1..63 each, joined by dots; an optional final dot. */
static int valid_hostname(const char *host)
{
	size_t n = strlen(host), label = 0, i;

	if (n == 0 || n > HOST_NAME_MAX_LEN + 1)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return host[n - 1] == '.' || n <= HOST_NAME_MAX_LEN;
}

static int resolve_offline;  /* addr_resolve_offline: names map to 192.0.2.1 */

void addr_resolve_offline(int on)
{
	resolve_offline = on;
}

/* Resolves host with getaddrinfo and stores its first result with port into out.
 * AI_ADDRCONFIG stays off: with it, "localhost" fails on hosts whose only interface is
 * loopback (containers, CI), exactly where a local demo must work. */
static int resolve_name(const char *host, uint16_t port, struct addr *out, char *err,
			size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[8];
	int rc;

	if (resolve_offline) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

		memset(&out->ss, 0, sizeof(out->ss));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(0xc0000201);
		out->len = sizeof(*sin);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		set_err(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof(out->ss))
			break;
	}
	if (ai == NULL) {
		freeaddrinfo(res);
		set_err(err, errlen, "'%s' has no IPv4 or IPv6 address", host);
		return -1;
	}
	memcpy(&out->ss, ai->ai_addr, ai->ai_addrlen);
	out->len = ai->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The 4 address bytes of an IPv4 or IPv4-mapped IPv6 sockaddr, else NULL. */
static const unsigned char *ipv4_bytes_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return sin6->sin6_addr.s6_addr + 12;
	}
	return NULL;
}
