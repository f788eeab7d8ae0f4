/* tls.c: the non-blocking TLS adapter of one connection: handshake, read and write turned
 * into "done | again (and which direction) | eof | error", and why its handshake failed
 * (the reason as tls/tls_fail.c sorts OpenSSL's errors, with a detail for the log). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

#define RECORD_MAX 16384     /* largest TLS plaintext record (SSL3_RT_MAX_PLAIN_LENGTH) */
#define SUBJECT_MAX 1024     /* longer client certificate subjects are not passed on */

static char *peer_subject(SSL *ssl);
static int refuse_resumption(struct tls_conn *t);
static const char *fail_detail_default(enum tls_fail f, int started);
static const char *version_name(int v);

int tls_conn_init(struct tls_conn *t, struct tls_ctx *ctx, int fd)
{
	SSL *ssl;

	memset(t, 0, sizeof(*t));
	ssl = SSL_new(tls_ctx_default(ctx));
	if (!ssl)
		goto fail;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		goto fail;
	}
	SSL_set_accept_state(ssl);
	SSL_set_app_data(ssl, t);  /* the ticket callback notes its policy check here */
	t->ssl = ssl;
	t->ctx = ctx;
	tls_ctx_ref(ctx);
	t->rdir = t->hsdir = TLS_WANT_READ;
	t->wdir = TLS_WANT_WRITE;
	return 0;
fail:
	ERR_clear_error();
	return -1;
}

void tls_shutdown(struct tls_conn *t)
{
	if (!t->ssl || !t->done || t->fatal || t->shut)
		return;
	t->shut = 1;
	/* one call sends our close_notify; waiting for the peer's would need a round trip
	 * nobody benefits from, and a full socket buffer just loses the alert */
	ERR_clear_error();
	SSL_shutdown(t->ssl);
	ERR_clear_error();
}

void tls_conn_close(struct tls_conn *t)
{
	if (!t->ssl)
		return;
	tls_shutdown(t);
	/* SSL_free of a connection not marked shut down evicts its session from the
	 * shared cache and makes it unresumable. A peer that closed or reset first did
	 * nothing wrong: keep its session. After a TLS protocol error, let it go. */
	if (t->done && (!t->fatal || t->reset))
		SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(t->ssl);
	free(t->subject);
	tls_ctx_unref(t->ctx);
	memset(t, 0, sizeof(*t));
}

enum tls_result tls_handshake(struct tls_conn *t)
{
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		if (SSL_session_reused(t->ssl) && refuse_resumption(t))
			return TLS_ERROR;
		t->done = 1;
		t->hsdir = 0;
		if (tls_ctx_verifies(t->ctx))
			t->subject = peer_subject(t->ssl);
		return TLS_OK;
	}
	e = SSL_get_error(t->ssl, r);
	t->last_error = (uint8_t)e;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		t->hsdir = TLS_WANT_READ;
		return TLS_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		t->hsdir = TLS_WANT_WRITE;
		return TLS_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_EOF;
	default:
		t->fatal = 1;
		return TLS_ERROR;
	}
}

/* A resumed session that the ticket callback did not check (session cache, stateful TLS
 * 1.3 tickets) is checked against the listener's client certificate policy now: the
 * certificate it holds may have expired since it was cached. One that fails is dropped
 * from the cache and the connection fails (t->refused says why), so the client's next
 * attempt is a full handshake. Returns 1 when refused. */
static int refuse_resumption(struct tls_conn *t)
{
	SSL_SESSION *sess = SSL_get0_session(t->ssl);
	enum tls_fail why = TLS_FAIL_OTHER;

	if (t->policy_checked || !sess || tls_ctx_session_allowed(t->ctx, t->ssl, sess, &why))
		return 0;
	SSL_CTX_remove_session(tls_ctx_default(t->ctx), sess);
	t->refused = (uint8_t)(why + 1);
	t->fatal = 1;
	return 1;
}

/* The verified client certificate's subject as RFC 2253 text, escaped down to printable
 * ASCII (it goes into a request header), or NULL. */
static char *peer_subject(SSL *ssl)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	BIO *b;
	char *out = NULL, *p;
	long n;

	if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	b = BIO_new(BIO_s_mem());
	if (!b)
		return NULL;
	/* RFC 2253 flags escape controls and bytes >= 0x80, so the text is plain ASCII */
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &p);
		if (n > 0 && n < SUBJECT_MAX && (out = malloc((size_t)n + 1))) {
			long i;

			memcpy(out, p, (size_t)n);
			out[n] = '\0';
			for (i = 0; i < n; i++)
				if ((unsigned char)out[i] < ' ' || (unsigned char)out[i] >= 127)
					out[i] = '?';
		}
	}
	BIO_free(b);
	return out;
}

static const char *version_name(int v)
{
	switch (v) {
	case SSL3_VERSION: return "SSLv3";
	case TLS1_VERSION: return "TLSv1.0";
	case TLS1_1_VERSION: return "TLSv1.1";
	case TLS1_2_VERSION: return "TLSv1.2";
	case TLS1_3_VERSION: return "TLSv1.3";
	default: return "an unknown version";
	}
}

static const char *fail_detail_default(enum tls_fail f, int started)
{
	switch (f) {
	case TLS_FAIL_CLOSED:
		return started ? "the client closed the connection during the handshake"
			       : "the client closed the connection before sending a ClientHello";
	case TLS_FAIL_TIMEOUT:
		return "handshake not complete within handshake_timeout_ms";
	case TLS_FAIL_NO_CLIENT_CERT:
		return "the client sent no certificate and verify_client is \"required\"";
	default:
		return "handshake failed";
	}
}

enum tls_fail tls_conn_failure(struct tls_conn *t, enum tls_result r, char *detail, size_t len)
{
	int saved_errno = errno;
	unsigned long e = ERR_peek_error();
	int reason = e ? ERR_GET_REASON(e) : 0;
	long verify = X509_V_OK;
	int started, ssl_error = r == TLS_EOF ? SSL_ERROR_ZERO_RETURN : t->last_error;
	enum tls_fail f;
	char ebuf[256];

	if (t->refused) {
		snprintf(detail, len, "a resumed session no longer meets the client certificate "
			 "policy (client_ca, verify_client or the certificate's validity changed)");
		ERR_clear_error();
		return (enum tls_fail)(t->refused - 1);
	}
	/* X509_V_OK unless a client certificate was checked (OpenSSL does not keep a
	 * certificate that failed, but it keeps why) */
	if (t->ssl)
		verify = SSL_get_verify_result(t->ssl);
	started = t->ssl && BIO_number_read(SSL_get_rbio(t->ssl)) > 0;
	f = tls_classify(ssl_error, reason, verify, started);
	if (verify != X509_V_OK) {
		snprintf(detail, len, "client certificate: %s", X509_verify_cert_error_string(verify));
	} else if (f == TLS_FAIL_ALERT || f == TLS_FAIL_UNKNOWN_CA ||
		   (f == TLS_FAIL_PROTOCOL_VERSION && reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)) {
		snprintf(detail, len, "the client sent alert \"%s\"",
			 SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET));
	} else if (f == TLS_FAIL_NO_CLIENT_CERT) {
		snprintf(detail, len, "%s", fail_detail_default(f, started));
	} else if (f == TLS_FAIL_NOT_TLS && (reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST)) {
		snprintf(detail, len, "a plain HTTP request on a TLS listener");
	} else if (f == TLS_FAIL_PROTOCOL_VERSION && t->ssl && SSL_client_version(t->ssl) > 0 &&
		   SSL_client_version(t->ssl) < TLS1_2_VERSION) {
		snprintf(detail, len, "the client offers at most %s",
			 version_name(SSL_client_version(t->ssl)));
	} else if (e && f != TLS_FAIL_CLOSED) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		/* "error:0A0000C1:SSL routines::no shared cipher" -> "no shared cipher" */
		const char *tail = strrchr(ebuf, ':');
		snprintf(detail, len, "%s", tail && tail[1] ? tail + 1 : ebuf);
	} else if (ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0 && started) {
		snprintf(detail, len, "%s during the handshake", strerror(saved_errno));
	} else {
		snprintf(detail, len, "%s", fail_detail_default(f, started));
	}
	ERR_clear_error();
	return f;
}

ssize_t tls_read(struct tls_conn *t, void *buf, size_t len)
{
	size_t got = 0;
	int n, e;

	if (t->fatal) {
		errno = EPROTO;
		return -1;
	}
	while (got < len) {
		ERR_clear_error();
		n = SSL_read(t->ssl, (char *)buf + got, len - got > INT_MAX ? INT_MAX : (int)(len - got));
		if (n > 0) {
			t->rdir = TLS_WANT_READ;
			got += (size_t)n;
			/* a full record suggests a stream of them: read on while there is room. A
			 * short one was most likely all there was; trying again would only cost a
			 * failing read(2), and epoll says when more arrives. */
			if (n < RECORD_MAX && SSL_pending(t->ssl) == 0)
				break;
			continue;
		}
		e = SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			t->rdir = e == SSL_ERROR_WANT_READ ? TLS_WANT_READ : TLS_WANT_WRITE;
			if (got)
				break;
			errno = EAGAIN;
			return -1;
		}
		if (e == SSL_ERROR_ZERO_RETURN)
			break;  /* EOF: bytes first; the next call sees it again and returns 0 */
		/* fatal: report what was read, the next call reports the error */
		t->fatal = 1;
		t->reset = e == SSL_ERROR_SYSCALL;
		if (got)
			break;
		if (e != SSL_ERROR_SYSCALL || errno == 0)
			errno = e == SSL_ERROR_SYSCALL ? ECONNRESET : EPROTO;
		ERR_clear_error();
		return -1;
	}
	return (ssize_t)got;
}

ssize_t tls_write(struct tls_conn *t, const void *buf, size_t len)
{
	int n, e;

	if (t->fatal) {
		errno = EPIPE;
		return -1;
	}
	if (t->wpend) {
		/* SSL_write(3): a blocked write is repeated with the same data and length */
		if (len < t->wpend) {
			t->fatal = 1;
			errno = EPROTO;
			return -1;
		}
		len = t->wpend;
	} else if (len > INT_MAX) {
		len = INT_MAX;
	}
	ERR_clear_error();
	n = SSL_write(t->ssl, buf, (int)len);
	if (n > 0) {
		t->wpend = 0;
		t->wdir = TLS_WANT_WRITE;
		return n;
	}
	e = SSL_get_error(t->ssl, n);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
		t->wpend = (uint32_t)len;
		t->wdir = e == SSL_ERROR_WANT_READ ? TLS_WANT_READ : TLS_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	}
	t->fatal = 1;
	t->reset = e == SSL_ERROR_SYSCALL;
	if (e != SSL_ERROR_SYSCALL || errno == 0)
		errno = EPIPE;
	ERR_clear_error();
	return -1;
}

int tls_pending(const struct tls_conn *t)
{
	return t->ssl && !t->fatal ? SSL_pending(t->ssl) : 0;
}

int tls_conn_resumed(const struct tls_conn *t)
{
	return t->ssl && SSL_session_reused(t->ssl);
}

void tls_conn_describe(const struct tls_conn *t, char *out, size_t len)
{
	const unsigned char *alpn = NULL;
	unsigned alpn_len = 0;
	const char *sni;

	if (!t->ssl) {
		snprintf(out, len, "plain");
		return;
	}
	SSL_get0_alpn_selected(t->ssl, &alpn, &alpn_len);
	sni = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
	snprintf(out, len, "%s %s sni=%s alpn=%.*s%s", SSL_get_version(t->ssl),
		 SSL_get_cipher_name(t->ssl), sni ? sni : "-", alpn ? (int)alpn_len : 1,
		 alpn ? (const char *)alpn : "-", SSL_session_reused(t->ssl) ? " resumed" : "");
}
