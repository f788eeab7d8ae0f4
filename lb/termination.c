/* termination.c: the names of the ways a request or connection ends, as the access log
 * and the error log print them (the termination field, docs/logging.md). */
#include "conn.h"

static const char *const termination_names[TERM__COUNT] = {
	[TERM_NONE] = "none", [TERM_DONE] = "done", [TERM_CLIENT_CLOSED] = "client_closed",
	[TERM_CLIENT_IDLE] = "client_idle", [TERM_HEAD_TIMEOUT] = "head_timeout",
	[TERM_BAD_REQUEST] = "bad_request", [TERM_NO_BACKEND] = "no_backend",
	[TERM_QUEUE_FULL] = "queue_full", [TERM_QUEUE_TIMEOUT] = "queue_timeout",
	[TERM_CONNECT_FAILED] = "connect_failed", [TERM_CONNECT_TIMEOUT] = "connect_timeout",
	[TERM_RESPONSE_TIMEOUT] = "response_timeout", [TERM_BACKEND_CLOSED] = "backend_closed",
	[TERM_BAD_RESPONSE] = "bad_response", [TERM_STREAM_IDLE] = "stream_idle",
	[TERM_SHUTDOWN] = "shutdown", [TERM_LIMIT] = "limit", [TERM_INTERNAL] = "internal",
	[TERM_TLS_TIMEOUT] = "tls_handshake_timeout", [TERM_TLS_FAILED] = "tls_handshake_failed",
	[TERM_DRAIN_DEADLINE] = "drain_deadline", [TERM_CLIENT_BODY_TIMEOUT] = "client_body_timeout",
	[TERM_CLIENT_ABORTED_QUEUED] = "client_aborted_queued", [TERM_BUFFER_FULL] = "buffer_full",
	[TERM_NO_ROUTE] = "no_route", [TERM_MAINTENANCE] = "maintenance",
};

const char *termination_name(enum termination t)
{
	return t < TERM__COUNT && termination_names[t] ? termination_names[t] : "unknown";
}
