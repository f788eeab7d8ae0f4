/* addr.h: socket addresses as written in the config ("1.2.3.4:80", "[::1]:80",
 * "name:80") and their parsed, resolved form. */
#ifndef FULCRUM_ADDR_H
#define FULCRUM_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ADDR_TEXT_MAX 300
/* Room for addr_format_host's text of any IP address: an IPv6 address (45), '%' and an
 * interface name (15), NUL. */
#define ADDR_HOST_TEXT_MAX 64

/* An IPv4 or IPv6 socket address in 28 bytes (a sockaddr_storage takes 128): all a
 * client connection can come from or arrive at, kept per connection. */
union addr_ip {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct addr {
	struct sockaddr_storage ss;  /* resolved address, port included */
	socklen_t len;               /* length of the valid part of ss */
	char text[ADDR_TEXT_MAX];    /* as written by the user, for logs and reload matching */
	int is_name;                 /* 1 when text named a host to resolve, 0 for a literal */
};

/* Parses "IPv4:port", "[IPv6]:port" or "hostname:port" into *out.
 * resolve != 0 resolves host names with getaddrinfo (first result);
 * resolve == 0 only checks the syntax of a name (out->len is then 0).
 * Returns 0, or -1 with a human readable reason in err (NUL-terminated). */
int addr_parse(const char *text, struct addr *out, int resolve, char *err, size_t errlen);

/* For the fuzz targets: when on, addr_parse resolves every host name to 192.0.2.1
 * (TEST-NET-1) without a lookup, so a mutated name never waits on DNS. Off by default;
 * the program never turns it on. */
void addr_resolve_offline(int on);

/* Writes "1.2.3.4:80" or "[::1]:80" for a sockaddr into buf; returns buf. */
char *addr_format(const struct sockaddr *sa, char *buf, size_t len);

/* Writes only the host part ("1.2.3.4" or "::1", no brackets); returns buf. */
char *addr_format_host(const struct sockaddr *sa, char *buf, size_t len);

/* Copies an IPv4 or IPv6 address into *out; any other family leaves it zeroed
 * (AF_UNSPEC). */
void addr_ip_set(union addr_ip *out, const struct sockaddr *sa);

/* Port of a sockaddr in host byte order (0 for non-IP families). */
uint16_t addr_port(const struct sockaddr *sa);

/* 1 when both addresses are the same family, address and port. */
int addr_equal(const struct addr *a, const struct addr *b);

/* A network prefix for trusted-source lists ("10.0.0.0/8", "::1", "127.0.0.1/32"). */
struct addr_prefix {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char net[16];  /* network bytes */
	unsigned bits;          /* prefix length */
};

int addr_prefix_parse(const char *text, struct addr_prefix *out, char *err, size_t errlen);
/* 1 when sa falls inside p (IPv4-mapped IPv6 addresses match IPv4 prefixes). */
int addr_prefix_match(const struct addr_prefix *p, const struct sockaddr *sa);

#endif
