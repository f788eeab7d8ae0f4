/* page.c: the status page at GET / (control/status_page.html compiled in by the
 * Makefile), served from memory with a CSP that lets only its own inline code run. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "ctl_page.h"

#define CSP_MAX 1024                 /* two hashes and the fixed directives fit well */

static int append(char *out, size_t outlen, const char *s);
static int hash_sources(const char *html, size_t len, const char *open, const char *close,
			char *out, size_t outlen);

/* Appends s to the string in out. 0, or -1 when it does not fit (out unchanged). */
static int append(char *out, size_t outlen, const char *s)
{
	size_t used = strlen(out), n = strlen(s);

	if (used + n >= outlen)
		return -1;
	memcpy(out + used, s, n + 1);
	return 0;
}

/* Appends " 'sha256-<base64>'" to out for the content of every open...close block of
 * html, or " 'none'" when there is none. The hash is over the exact bytes between the
 * tags, as the browser computes it. 0, or -1 when out is too small or hashing fails. */
static int hash_sources(const char *html, size_t len, const char *open, const char *close,
			char *out, size_t outlen)
{
	const char *p = html, *end = html + len;
	size_t olen = strlen(open), clen = strlen(close);
	int blocks = 0;

	for (;;) {
		const char *start = memmem(p, (size_t)(end - p), open, olen), *stop;
		unsigned char md[EVP_MAX_MD_SIZE], b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
		char source[sizeof(b64) + 16];
		unsigned int mdlen = 0;

		if (!start)
			break;
		start += olen;
		stop = memmem(start, (size_t)(end - start), close, clen);
		if (!stop)
			break;  /* an unclosed block runs nowhere: nothing to allow */
		if (!EVP_Digest(start, (size_t)(stop - start), md, &mdlen, EVP_sha256(), NULL))
			return -1;
		EVP_EncodeBlock(b64, md, (int)mdlen);
		snprintf(source, sizeof(source), " 'sha256-%s'", (const char *)b64);
		if (append(out, outlen, source) == -1)
			return -1;
		blocks++;
		p = stop + clen;
	}
	return blocks ? 0 : append(out, outlen, " 'none'");
}

int ctl_page_csp(const char *html, size_t len, char *out, size_t outlen)
{
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (append(out, outlen, "default-src 'none'; script-src") == -1 ||
	    hash_sources(html, len, "<script>", "</script>", out, outlen) == -1 ||
	    append(out, outlen, "; style-src") == -1 ||
	    hash_sources(html, len, "<style>", "</style>", out, outlen) == -1 ||
	    append(out, outlen, "; connect-src 'self'; img-src data:; base-uri 'none'; "
				"form-action 'none'; frame-ancestors 'none'") == -1)
		return -1;
	return 0;
}

void ctl_page_get(struct ctl_conn *c, const struct ctl_request *req,
		  const struct ctl_route_match *m)
{
	/* built once: the page cannot change while the process runs (control thread only) */
	static char headers[CSP_MAX + 256];
	char csp[CSP_MAX];

	if (!headers[0]) {
		if (ctl_page_csp((const char *)ctl_status_page_html, ctl_status_page_html_len, csp,
				 sizeof(csp)) == -1) {
			ctl_reply_error(c, 500, "internal", "cannot build the status page's CSP");
			return;
		}
		snprintf(headers, sizeof(headers),
			 "Cache-Control: no-cache\r\n"
			 "Content-Security-Policy: %s\r\n"
			 "X-Content-Type-Options: nosniff\r\n"
			 "X-Frame-Options: DENY\r\n"
			 "Referrer-Policy: no-referrer\r\n", csp);
	}
	ctl_reply_body_hdr(c, 200, headers, "text/html; charset=utf-8", ctl_status_page_html,
			   ctl_status_page_html_len);
}
