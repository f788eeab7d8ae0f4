/* k8s.h: the pure pieces of Kubernetes discovery: the watch stream's line splitter, the
 * EndpointSlice JSON (LIST answers, WATCH events) and the reduction of slices to one
 * deduplicated list of endpoints with the state each should have in its pool. */
#ifndef FULCRUM_K8S_H
#define FULCRUM_K8S_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config-t.h"

#define K8S_EVENT_MAX (4u << 20)     /* bytes of one watch event (one JSON line) */
#define K8S_LIST_MAX (64u << 20)     /* bytes of one LIST answer */
#define K8S_RV_MAX 64                /* a resourceVersion, as text */
#define K8S_NAME_MAX 64              /* a backend name: [A-Za-z0-9._-]{1,63} */
#define K8S_IP_MAX 46                /* INET6_ADDRSTRLEN */
#define K8S_SLICE_NAME_MAX 254       /* a Kubernetes object name */
#define K8S_SLICE_EPS_MAX 10000      /* endpoints of one slice (the API allows 1000) */

/* What an endpoint should be in its pool; ordered so that a larger value is better
 * (the one kept when the same address appears in two slices). */
enum k8s_ep_state {
	K8S_EP_GONE = 0,             /* not serving: out after its requests ended */
	K8S_EP_DRAINING,             /* serving and terminating: no new requests */
	K8S_EP_ACTIVE                /* ready: in rotation */
};

/* One endpoint address of a slice, on the port the pool uses. */
struct k8s_endpoint {
	char name[K8S_NAME_MAX];     /* backend name: the pod (targetRef.name), else from ip and port */
	char ip[K8S_IP_MAX];         /* the first address, as given */
	uint16_t port;
	enum k8s_ep_state state;
	int family;                  /* AF_INET or AF_INET6 (the slice's addressType) */
	int by_pod;                  /* name is the pod's (targetRef.name), not made of the address */
};

struct k8s_slice {
	char name[K8S_SLICE_NAME_MAX];   /* metadata.name */
	char rv[K8S_RV_MAX];             /* metadata.resourceVersion */
	struct k8s_endpoint *eps;        /* malloc'd */
	size_t neps;
	size_t skipped;                  /* endpoints left out: FQDN, bad address, no such port */
};

/* Which port of a slice the pool uses: port when not 0, else the port named port_name,
 * else the slice's only port. */
struct k8s_port_sel {
	uint32_t port;
	const char *port_name;           /* NULL = none */
};

enum k8s_event_type {
	K8S_EV_ADDED = 0,
	K8S_EV_MODIFIED,
	K8S_EV_DELETED,
	K8S_EV_BOOKMARK,
	K8S_EV_ERROR
};

/* One event of a watch stream. */
struct k8s_event {
	enum k8s_event_type type;
	char rv[K8S_RV_MAX];             /* resourceVersion of the object ("" for ERROR) */
	struct k8s_slice slice;          /* ADDED, MODIFIED, DELETED */
	int code;                        /* ERROR: the Status code (410: resourceVersion too old) */
	char message[256];               /* ERROR: the Status message */
};

/* ---- Line splitter (control/k8s_stream.c) ----
 * A watch answer is a stream of JSON objects, one per line, cut anywhere by the
 * network; the splitter keeps the partial tail between reads, bounded by max. */
struct k8s_lines {
	char *buf;
	size_t len, cap;
	size_t max;                      /* longest line accepted (K8S_EVENT_MAX by default) */
};

/* Called with each complete line (no "\n", a trailing "\r" cut). Returns 0 to go on,
 * -1 to stop: k8s_lines_feed then returns -1. */
typedef int (*k8s_line_fn)(void *ctx, const char *line, size_t len);

void k8s_lines_init(struct k8s_lines *l, size_t max);
/* Feeds n bytes: fn is called for every line they complete (blank lines skipped).
 * Returns 0, or -1 when fn stopped, memory ran out, or a line grew beyond max (the
 * stream cannot be resynchronised: start a new one). */
int k8s_lines_feed(struct k8s_lines *l, const char *data, size_t n, k8s_line_fn fn, void *ctx);
/* Bytes of an unfinished line held. */
size_t k8s_lines_pending(const struct k8s_lines *l);
void k8s_lines_reset(struct k8s_lines *l);
void k8s_lines_free(struct k8s_lines *l);

/* ---- EndpointSlice JSON (control/k8s_parse.c) ---- */

/* Parses one watch event. Returns 0, or -1 with a reason in err (nothing to free). On
 * success k8s_event_clear releases it. */
int k8s_parse_event(const char *text, size_t len, const struct k8s_port_sel *sel,
		    struct k8s_event *ev, char *err, size_t errlen);
void k8s_event_clear(struct k8s_event *ev);

/* Parses a LIST answer (an EndpointSliceList): its slices into *slices (malloc'd, *n of
 * them) and metadata.resourceVersion into rv. 0, or -1 with err. */
int k8s_parse_list(const char *text, size_t len, const struct k8s_port_sel *sel,
		   struct k8s_slice **slices, size_t *n, char rv[K8S_RV_MAX], char *err,
		   size_t errlen);
void k8s_slice_clear(struct k8s_slice *s);
void k8s_slices_free(struct k8s_slice *s, size_t n);

/* The state of an endpoint from its conditions; each is 1, 0 or -1 (absent). Absent
 * ready counts as ready (the API's rule), absent serving as ready, absent terminating
 * as not terminating. */
enum k8s_ep_state k8s_endpoint_state(int ready, int serving, int terminating);

/* ---- Reduction (control/k8s_reduce.c) ---- */

/* Every endpoint of the slices once, keyed by ip and port: when two slices carry the
 * same one (a pod moving between slices), the better state wins and the smaller name
 * stays. Then one pod, one backend: a pod (by_pod name) with addresses of both
 * families (a dual-stack Service has an IPv4 and an IPv6 slice) keeps those of one
 * family, fam's; K8S_FAMILY_ANY keeps the family whose best state is better, IPv4 on
 * a tie. Addresses of one family under one pod name all stay (a StatefulSet pod back
 * with a new address while the old one drains). Sorted by ip, then port. *out
 * malloc'd (NULL when none); returns the count, or -1 on ENOMEM. */
ssize_t k8s_reduce(const struct k8s_slice *slices, size_t n, enum k8s_family fam,
		   struct k8s_endpoint **out);

/* "ep-<ip>-<port>" with ':' and '%' as '-': a backend name for an endpoint without a
 * usable pod name. */
void k8s_endpoint_fallback_name(const char *ip, uint16_t port, char out[K8S_NAME_MAX]);

#endif
