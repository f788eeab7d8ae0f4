/* curl_loop.h: libcurl's multi-socket interface driven by the control thread's libev loop,
 * shared by every non-blocking HTTP client of that thread (health checks, discovery). */
#ifndef FULCRUM_CURL_LOOP_H
#define FULCRUM_CURL_LOOP_H

#include <curl/curl.h>
#include <ev.h>

/* One transfer on the loop. Embed it in the object that owns the easy handle; done is
 * called from the loop (never from inside a libcurl callback) once the transfer ended,
 * after it was taken out of the multi handle: done may free everything, including the
 * easy handle, and may start new transfers. */
struct curl_xfer {
	CURL *easy;
	void (*done)(struct curl_xfer *x, CURLcode rc);
	int in_loop;                     /* added and not yet ended or removed */
};

/* Takes a reference on the shared multi handle, creating it (and libcurl's global
 * state) on the first call. Only the control thread calls these. 0, or -1 (logged). */
int curl_loop_init(struct ev_loop *loop);
/* Drops a reference; the last one cleans up (every transfer must have ended). */
void curl_loop_release(void);

/* Starts x->easy (CURLOPT_PRIVATE is taken for x). 0, or -1 when libcurl refused it. */
int curl_loop_add(struct curl_xfer *x);
/* Takes x->easy out of the loop without calling done (cancel); the caller cleans up
 * the easy handle. No-op when x is not running. Not from inside x's own callbacks. */
void curl_loop_remove(struct curl_xfer *x);
/* Transfers running now. */
unsigned curl_loop_running(void);

#endif
