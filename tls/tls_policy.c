/* tls_policy.c: who may connect to a TLS listener (verify_client, client_ca), as seen by
 * session resumption: the session id context that names the policy, and the check of a
 * resumed session against the policy in force now. It knows a listener only through the
 * struct tls_policy its context (tls/tls_ctx.c) fills in and hands to OpenSSL. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls-int.h"
#include "tls.h"

static void digest_field(EVP_MD_CTX *md, const char *label, const void *data, size_t len);

/* A labelled, length-prefixed field, so that no two different inputs digest alike. */
static void digest_field(EVP_MD_CTX *md, const char *label, const void *data, size_t len)
{
	uint64_t n = len;

	EVP_DigestUpdate(md, label, strlen(label) + 1);
	EVP_DigestUpdate(md, &n, sizeof(n));
	if (len)
		EVP_DigestUpdate(md, data, len);
}

/* The session id context is what OpenSSL compares before it resumes a session (from its
 * cache or a ticket): a session resumes only under the context it was made in. Ticket
 * keys survive reloads, so a context naming only the listener let a session from before
 * mutual TLS was turned on, or one whose client certificate chained to a CA since
 * removed, resume without a certificate check. Everything that decides who may connect
 * is in it; the CAs as DER, so reformatting the bundle changes nothing. */
int tls_policy_context(const char *name, int verify_client, int depth,
		       const STACK_OF(X509) *cas, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint32_t nums[2] = { (uint32_t)verify_client, (uint32_t)depth };
	unsigned int len = 0;
	int i, ok = 1;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	digest_field(md, "name", name, strlen(name));
	digest_field(md, "policy", nums, sizeof(nums));
	for (i = 0; ok && cas && i < sk_X509_num(cas); i++) {
		unsigned char *der = NULL;
		int n = i2d_X509(sk_X509_value(cas, i), &der);

		if (n <= 0)
			ok = 0;
		else
			digest_field(md, "ca", der, (size_t)n);
		OPENSSL_free(der);
	}
	ok = ok && EVP_DigestFinal_ex(md, out, &len) && len == 32;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int tls_policy_session_allowed(const struct tls_policy *p, SSL *ssl, SSL_SESSION *sess,
			       enum tls_fail *why)
{
	SSL_CTX *c = p->verifier;
	X509 *peer = SSL_SESSION_get0_peer(sess);
	X509_STORE_CTX *x;
	long err = X509_V_ERR_UNSPECIFIED;
	int ok;

	if (!p->verify)
		return 1;  /* nobody is asked for a certificate; none is passed on either */
	if (!peer) {
		*why = TLS_FAIL_NO_CLIENT_CERT;
		return !p->verify_required;
	}
	/* what OpenSSL did in the full handshake (ssl_verify_cert_chain), against today's
	 * CAs and today's clock. A ticket holds the client certificate but not the
	 * intermediates it sent: those must then be in client_ca to resume */
	x = X509_STORE_CTX_new();
	ok = x && X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(c), peer,
				      ssl ? SSL_get_peer_cert_chain(ssl) : NULL) == 1 &&
	     X509_STORE_CTX_set_default(x, "ssl_client") == 1 &&
	     X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(x), SSL_CTX_get0_param(c)) == 1;
	if (ok) {
		ok = X509_verify_cert(x) == 1;
		err = X509_STORE_CTX_get_error(x);
	}
	X509_STORE_CTX_free(x);
	ERR_clear_error();
	if (!ok)
		*why = tls_classify(SSL_ERROR_SSL, 0, err == X509_V_OK ? X509_V_ERR_UNSPECIFIED : err, 1);
	return ok;
}

/* SSL_CTX_set_session_ticket_cb(3): a ticket that decrypted is used only if its session
 * still meets the listener's client certificate policy; otherwise it is ignored (a full
 * handshake, asking for a certificate again, and a new ticket). The session id context
 * already refuses sessions made under another policy; this also catches a certificate
 * that expired since. The decision is noted on the connection, so tls_handshake() does
 * not verify the same certificate twice. */
int tls_policy_ticket_cb(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname,
			 size_t keyname_len, int status, void *arg)
{
	const struct tls_policy *p = arg;
	struct tls_conn *conn = SSL_get_app_data(ssl);
	enum tls_fail why;

	if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
		return SSL_TICKET_RETURN_IGNORE_RENEW;  /* what OpenSSL does without this callback */
	if (!tls_policy_session_allowed(p, ssl, sess, &why))
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	if (conn)
		conn->policy_checked = 1;
	return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}
