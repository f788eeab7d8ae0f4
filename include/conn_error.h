/* conn_error.h: an exchange answered with fulcrum's own error (lb/conn_error.c). */
#ifndef FULCRUM_CONN_ERROR_H
#define FULCRUM_CONN_ERROR_H

#include "conn.h"

/* Sends a small JSON error response and closes after it. */
void client_error(struct client *c, int status, enum termination why, const char *detail);
/* client_error with Retry-After: retry_after_s (0 = no such header) on the answer. */
void client_error_retry(struct client *c, int status, enum termination why, const char *detail,
			unsigned retry_after_s);

#endif
