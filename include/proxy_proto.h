/* proxy_proto.h: PROXY protocol v1 (text) and v2 (binary) headers, written towards
 * backends (send_proxy) and read from trusted load balancers in front (accept_proxy). */
#ifndef FULCRUM_PROXY_PROTO_H
#define FULCRUM_PROXY_PROTO_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXY_V1_MAX 107   /* longest v1 line, CRLF included (spec section 2.1) */
#define PROXY_V2_MAX 232   /* the largest v2 header we write or accept, TLVs included is 16 + 216 */
/* The longest v2 header proxy_parse accepts, TLVs included (longer ones fail). A buffer
 * that collects a header before parsing must be able to hold this many bytes. */
#define PROXY_V2_ACCEPT_MAX (16 + 2048)

/* Writes a v1 line "PROXY TCP4 src dst sport dport\r\n" (TCP6 for IPv6; "PROXY UNKNOWN\r\n"
 * for other families or mismatched families). Returns its length, or -1 if cap is too small. */
int proxy_v1_encode(char *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst);

/* Writes a v2 header with command PROXY, TCP over IPv4/IPv6 (LOCAL with no address
 * for other families). Returns its length, or -1 if cap is too small. */
int proxy_v2_encode(char *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst);

struct proxy_info {
	int version;                     /* 1 or 2 */
	int local;                       /* v2 LOCAL or v1 UNKNOWN: keep the socket's own addresses */
	struct sockaddr_storage src;     /* valid when !local */
	struct sockaddr_storage dst;
	socklen_t addr_len;
};

/* Reads a v1 or v2 header at the start of buf[0..len).
 * Returns the number of header bytes (> 0) on success, 0 when more bytes are needed,
 * -1 when the input is not a valid PROXY header (reason in *err, static string).
 * Strict: v1 lines must end in CRLF within 107 bytes, addresses and ports must be
 * canonical; v2 must have the 12-byte signature, version 2, command LOCAL or PROXY,
 * families INET/INET6 over STREAM (UNSPEC with LOCAL), a length that covers the
 * addresses; TLVs are skipped. */
int proxy_parse(const char *buf, size_t len, struct proxy_info *out, const char **err);

#endif
