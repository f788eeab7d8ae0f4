/* tls_fail.c: the reasons a TLS handshake fails (enum tls_fail): which one an OpenSSL
 * error means, and each one's name in log lines and metrics labels. */
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

static const char *const fail_names[TLS_FAIL__COUNT] = {
	[TLS_FAIL_CLOSED] = "closed",
	[TLS_FAIL_TIMEOUT] = "timeout",
	[TLS_FAIL_PROTOCOL_VERSION] = "protocol_version",
	[TLS_FAIL_NO_SHARED_CIPHER] = "no_shared_cipher",
	[TLS_FAIL_UNKNOWN_CA] = "unknown_ca",
	[TLS_FAIL_BAD_CLIENT_CERT] = "bad_client_cert",
	[TLS_FAIL_NO_CLIENT_CERT] = "no_client_cert",
	[TLS_FAIL_NOT_TLS] = "not_tls",
	[TLS_FAIL_ALERT] = "alert",
	[TLS_FAIL_OTHER] = "other",
};

const char *tls_fail_name(enum tls_fail f)
{
	return f < TLS_FAIL__COUNT ? fail_names[f] : "other";
}

enum tls_fail tls_classify(int ssl_error, int reason, long verify, int started)
{
	if (ssl_error == SSL_ERROR_ZERO_RETURN || (ssl_error == SSL_ERROR_SYSCALL && reason == 0))
		return TLS_FAIL_CLOSED;
	if (verify != X509_V_OK) {
		switch (verify) {
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
		case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
			return TLS_FAIL_UNKNOWN_CA;
		default:
			return TLS_FAIL_BAD_CLIENT_CERT;
		}
	}
	switch (reason) {
	case SSL_R_NO_SHARED_CIPHER:
	case SSL_R_NO_SHARED_GROUPS:
	case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
	case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
		return TLS_FAIL_NO_SHARED_CIPHER;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_INAPPROPRIATE_FALLBACK:
	case SSL_R_UNSUPPORTED_SSL_VERSION:
	case SSL_R_BAD_PROTOCOL_VERSION_NUMBER:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		return TLS_FAIL_PROTOCOL_VERSION;
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		return TLS_FAIL_NO_CLIENT_CERT;
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
		return TLS_FAIL_BAD_CLIENT_CERT;
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		return TLS_FAIL_UNKNOWN_CA;
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
		/* the first bytes were not a TLS record: plain text on a TLS port */
		return started ? TLS_FAIL_NOT_TLS : TLS_FAIL_CLOSED;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return TLS_FAIL_CLOSED;
	default:
		break;
	}
	if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
		return TLS_FAIL_ALERT;
	return TLS_FAIL_OTHER;
}
