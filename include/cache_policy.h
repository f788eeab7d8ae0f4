/* cache_policy.h: what an HTTP cache may do with a request and a response (RFC 9111,
 * RFC 5861), decided on parsed heads (http.h) with the clock passed in: nothing here
 * allocates, stores or sends. Variants and tags are in cache_vary.h. */
#ifndef FULCRUM_CACHE_POLICY_H
#define FULCRUM_CACHE_POLICY_H

#include <stdint.h>

#include "http.h"

#define CACHE_DELTA_MAX 2147483648LL  /* delta-seconds cap (RFC 9111 1.2.2) */

enum cache_bypass {
	CACHE_BYPASS_NONE = 0,      /* looked up (and its response may be stored) */
	CACHE_BYPASS_METHOD,        /* neither GET nor HEAD */
	CACHE_BYPASS_NO_STORE,      /* request Cache-Control: no-store */
	CACHE_BYPASS_RANGE,         /* a Range request: ranges are not served from the cache */
	CACHE_BYPASS_PRECONDITION,  /* If-Match or If-Unmodified-Since: the origin judges */
	CACHE_BYPASS_AUTHORIZATION  /* Authorization, and the route did not opt in */
};

#define CACHE_RQ_REVALIDATE     0x01  /* no-cache, max-age=0 or (no Cache-Control) Pragma: no-cache */
#define CACHE_RQ_ONLY_IF_CACHED 0x02  /* answer from the cache or 504 */
#define CACHE_RQ_AUTHORIZATION  0x04  /* carries Authorization (route opted in) */

/* A request as the cache sees it (cache_request_class). */
struct cache_request {
	enum cache_bypass bypass;   /* CACHE_BYPASS_NONE: look it up */
	enum http_method method;
	unsigned flags;             /* CACHE_RQ_* */
	int64_t max_age;            /* request max-age, -1: none */
	int64_t max_stale;          /* request max-stale, -1: none, CACHE_DELTA_MAX: any */
	int64_t min_fresh;          /* request min-fresh, 0: none */
};

/* What a route or pool decides (the cache = {...} config of the data path). */
struct cache_defaults {
	int64_t default_ttl;        /* lifetime with no freshness information; 0: not stored */
	int64_t stale_while_revalidate;  /* window when the response names none */
	int64_t stale_if_error;     /* same for stale-if-error */
	int allow_set_cookie;       /* store responses with Set-Cookie */
};

/* Classifies a request head (base: its buffer): GET and HEAD are looked up unless
 * rq->bypass says why not; its Cache-Control and Pragma fill the flags and limits.
 * allow_authorization: the route's opt-in for requests with Authorization (without it
 * they bypass; with it they are looked up, and their answers stored as RFC 9111 3.5
 * allows: with public, s-maxage or must-revalidate). */
void cache_request_class(const char *base, const struct http_head *h, int allow_authorization,
			 struct cache_request *rq);

enum cache_store {
	CACHE_STORE = 0,            /* storable; *e is filled */
	CACHE_NOSTORE_REQUEST,      /* the request bypassed the cache or was a HEAD */
	CACHE_NOSTORE_STATUS,       /* 1xx, 206, 304, 6xx+, or not heuristically cacheable and no
				     * explicit freshness (RFC 9110 15.1, RFC 9111 4.2.2) */
	CACHE_NOSTORE_NO_STORE,     /* Cache-Control: no-store */
	CACHE_NOSTORE_PRIVATE,      /* Cache-Control: private (qualified or not) */
	CACHE_NOSTORE_SET_COOKIE,   /* Set-Cookie, and no opt-in */
	CACHE_NOSTORE_AUTHORIZATION,/* answer to Authorization without public, s-maxage or
				     * must-revalidate (RFC 9111 3.5) */
	CACHE_NOSTORE_VARY,         /* Vary: *, or more names than CACHE_VARY_MAX */
	CACHE_NOSTORE_NO_FRESHNESS  /* no freshness information and default_ttl 0 */
};

#define CACHE_E_NO_CACHE  0x01  /* no-cache: revalidate before every use */
#define CACHE_E_NO_STALE  0x02  /* no-cache, must-revalidate, proxy-revalidate: never stale */
#define CACHE_E_HEURISTIC 0x04  /* the lifetime is the default TTL */

/* The times of a stored response; slices are relative to the response's buffer. */
struct cache_entry {
	int64_t response_time;      /* when the response head arrived */
	int64_t initial_age;        /* corrected_initial_age (RFC 9111 4.2.3) */
	int64_t lifetime;           /* freshness lifetime (4.2.1), 0..CACHE_DELTA_MAX */
	int64_t swr;                /* stale-while-revalidate window (RFC 5861 3) */
	int64_t sie;                /* stale-if-error window (RFC 5861 4) */
	unsigned flags;             /* CACHE_E_* */
	struct http_slice etag;     /* ETag value for If-None-Match, len 0: none */
	struct http_slice last_modified;  /* for If-Modified-Since, len 0: none */
};

/* Decides whether the response head h (buffer base) to rq may be stored, and computes
 * its entry. request_time and response_time: when the request was sent and the response
 * head received (seconds, the caller's clock). Freshness: s-maxage, then max-age, then
 * Expires minus Date; a duplicated or invalid max-age/s-maxage, several or invalid
 * Expires make the response stale (lifetime 0). Returns an enum cache_store. After a 304
 * the caller calls it again on the updated head. */
int cache_response_policy(const struct cache_request *rq, const char *base,
			  const struct http_head *h, int64_t request_time, int64_t response_time,
			  const struct cache_defaults *d, struct cache_entry *e);

enum cache_state {
	CACHE_FRESH = 0,            /* serve (fresh, or stale within the client's max-stale) */
	CACHE_STALE_REVALIDATE,     /* serve stale, revalidate in the background */
	CACHE_STALE_IF_ERROR,       /* revalidate; serve stale if that fails (5xx, no answer) */
	CACHE_EXPIRED               /* revalidate or fetch; never serve this one as it is */
};

/* The state of entry e at now for request rq (NULL: no request directives), and in *age
 * the current age (RFC 9111 4.2.3) to send in Age. Returns an enum cache_state. */
int cache_entry_state(const struct cache_entry *e, const struct cache_request *rq, int64_t now,
		      int64_t *age);

enum cache_cond {
	CACHE_COND_NONE = 0,        /* no conditional header: answer in full */
	CACHE_COND_NOT_MODIFIED,    /* answer 304 */
	CACHE_COND_FULL             /* the condition is false: answer in full */
};

/* A client's If-None-Match (weak comparison, lists, '*'), else If-Modified-Since (a
 * valid date not after now), against the stored response head rs (buffer rs_base): its
 * ETag, its Last-Modified or else its Date (RFC 9110 13.2.2, RFC 9111 4.3.2). */
int cache_conditional(const char *rq_base, const struct http_head *rq, const char *rs_base,
		      const struct http_head *rs, int64_t now);

#endif
