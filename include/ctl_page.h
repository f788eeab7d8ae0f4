/* ctl_page.h: the status page served at GET / on the control listener: the HTML compiled
 * into the binary (generated from control/status_page.html by the Makefile), its CSP. */
#ifndef FULCRUM_CTL_PAGE_H
#define FULCRUM_CTL_PAGE_H

#include <stddef.h>

#include "ctl_http.h"

/* The bytes of control/status_page.html (build/gen/status_page.c); not NUL-terminated. */
extern const unsigned char ctl_status_page_html[];
extern const size_t ctl_status_page_html_len;

/* Writes into out the Content-Security-Policy for html (len bytes): nothing may load or
 * run but the page's own inline <style> and <script> blocks (allowed by their SHA-256,
 * so an injected block would not run), fetches to the page's own origin, no framing.
 * 0, or -1 when out is too small. */
int ctl_page_csp(const char *html, size_t len, char *out, size_t outlen);

/* GET /: the page itself (no token: it holds no data; it asks for the token to read
 * v1/stats and to act). */
void ctl_page_get(struct ctl_conn *c, const struct ctl_request *req,
		  const struct ctl_route_match *m);

#endif
