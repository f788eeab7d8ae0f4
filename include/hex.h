/* hex.h: hexadecimal digits (util/hex.c), for the parsers that decode them: %XX in
 * paths (proto/http_static.c), ticket keys (tls/tls_tickets.c). */
#ifndef FULCRUM_HEX_H
#define FULCRUM_HEX_H

/* The value of hex digit ch (either case), or -1. */
int hex_digit_value(int ch);

#endif
