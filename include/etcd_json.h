/* etcd_json.h: the pure pieces of the etcd v3 client: base64, the JSON requests of the
 * gRPC gateway (etcd 3.4's /v3/...) and the parsing of its answers and watch messages.
 * No I/O; control/store_etcd.c sends and receives. */
#ifndef FULCRUM_ETCD_JSON_H
#define FULCRUM_ETCD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "cluster_store.h"

#define ETCD_LINE_MAX (16u << 20)    /* bytes of one watch message (one JSON line) */
#define ETCD_BODY_MAX (64u << 20)    /* bytes of one answer (a list) */
#define ETCD_KEY_MAX 4096            /* bytes of a key in a request */

/* ---- base64 (RFC 4648, with padding: what the gateway writes and reads) ---- */

/* Bytes etcd_b64_encode writes for n bytes, its NUL included. */
#define ETCD_B64_LEN(n) (((n) + 2) / 3 * 4 + 1)
/* Encodes n bytes of in into out (ETCD_B64_LEN(n) bytes); returns the length written,
 * the NUL not counted. */
size_t etcd_b64_encode(const void *in, size_t n, char *out);
/* Decodes n characters of base64 (padding optional) into a malloc'd buffer, NUL-terminated,
 * its length in *outlen. 0, or -1 on a character outside the alphabet, a bad length or
 * padding, or no memory (*out NULL then). */
int etcd_b64_decode(const char *in, size_t n, char **out, size_t *outlen);

/* The range_end of a prefix (the first key past every key starting with it): the prefix
 * with its last byte below 0xff increased and what follows cut. Writes it to out (n bytes
 * room) and returns its length; an empty prefix or one of 0xff bytes only has no end:
 * returns 0 and the caller sends "\0" (every key from the prefix on). */
size_t etcd_prefix_end(const char *prefix, size_t n, char *out);

/* ---- Requests: malloc'd JSON text, or NULL (no memory, or a key too long) ---- */

char *etcd_req_range(const char *prefix);
/* The prefix as it was at revision rev (0: now, as etcd_req_range). */
char *etcd_req_range_at(const char *prefix, int64_t rev);
char *etcd_req_txn(const struct cstore_txn *t);
char *etcd_req_lease_grant(int64_t ttl_s);
/* {"ID": lease}: keep-alive and revoke. */
char *etcd_req_lease_id(int64_t lease);
char *etcd_req_watch(const char *prefix, int64_t from_rev);

/* ---- Answers (the body of a 200) ----
 * Each returns 0, or -1 with err filled (not JSON, a field of the wrong type, bad base64,
 * a negative revision); kvs arrays are malloc'd, freed with etcd_kvs_free. */

/* A range answer: the keys and the revision it was read at. */
int etcd_parse_range(const char *text, size_t len, struct cstore_kv **kvs, size_t *nkvs,
		     int64_t *rev, char *err, size_t errlen);
/* A txn answer: committed or not, the revision, and (not committed) the keys of the
 * failure branch's range. */
int etcd_parse_txn(const char *text, size_t len, int *succeeded, int64_t *rev,
		   struct cstore_kv **kvs, size_t *nkvs, char *err, size_t errlen);
/* A lease grant ({"ID","TTL"}) or keep-alive ({"result":{"ID","TTL"}}) answer; TTL 0 or
 * absent: the lease is gone. */
int etcd_parse_lease(const char *text, size_t len, int64_t *lease, int64_t *ttl, char *err,
		     size_t errlen);
/* An error answer ({"error": "...", "code": N, "message": "..."}): its gRPC code (0 when
 * none) and message, into msg. 0, or -1 when the body is not one. */
int etcd_parse_error(const char *text, size_t len, int *code, char *msg, size_t msglen);

void etcd_kvs_free(struct cstore_kv *kvs, size_t n);

/* ---- Watch stream: one JSON object per line ---- */

enum etcd_watch_kind {
	ETCD_W_CREATED = 0,              /* the watch is set up */
	ETCD_W_EVENTS,                   /* events (may be none: a progress notice) */
	ETCD_W_COMPACTED,                /* canceled: the start revision was compacted */
	ETCD_W_CANCELED,                 /* canceled for another reason (message says) */
	ETCD_W_ERROR                     /* the gateway reported a stream error */
};

struct etcd_watch_msg {
	enum etcd_watch_kind kind;
	int64_t rev;                     /* header.revision (0 when absent) */
	int64_t compact_rev;             /* COMPACTED */
	struct cstore_event *events;     /* EVENTS: malloc'd */
	size_t nevents;
	char message[256];               /* CANCELED, ERROR */
};

/* Parses one line of a watch stream. Events come out in the order sent, which must be by
 * revision (an event older than the one before it is an error). 0, or -1 with err. */
int etcd_parse_watch(const char *line, size_t len, struct etcd_watch_msg *m, char *err,
		     size_t errlen);
void etcd_watch_msg_clear(struct etcd_watch_msg *m);

#endif
