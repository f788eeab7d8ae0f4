/* backend_fixture.h: a backend for the unit tests that need a pool of them (test_health.c,
 * test_route_share.c): "b<i>" of pool "p" at 127.0.0.1:<9000 + i>, weight 1, with the
 * given max_conns (0 = unlimited). Static inline: each test takes only what it uses. */
#ifndef FULCRUM_BACKEND_FIXTURE_H
#define FULCRUM_BACKEND_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"

static inline struct backend *fixture_backend(size_t i, uint32_t max_conns)
{
	struct cfg_backend cb;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cb.address.ss;
	struct backend *b;
	char name[24];

	memset(&cb, 0, sizeof(cb));
	snprintf(name, sizeof(name), "b%zu", i);
	cb.name = name;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)(9000 + i));
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cb.address.len = sizeof(*sin);
	snprintf(cb.address.text, sizeof(cb.address.text), "127.0.0.1:%zu", 9000 + i);
	cb.weight = 1;
	cb.max_conns = max_conns;
	b = backend_new(&cb, "p");
	assert_non_null(b);
	return b;
}

#endif
