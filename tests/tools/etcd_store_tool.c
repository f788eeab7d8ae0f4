/* etcd_store_tool.c: drives the cluster store interface (include/cluster_store.h) over
 * etcd on a libev loop, one command per run, for tests/e2e/cluster/t_etcd_store.sh.
 * Values go in and come out as hex, so that any bytes make the round trip.
 *
 *   etcd_store_tool -e URL[,URL...] [-t TIMEOUT_MS] [--ca FILE] [--cert FILE --key FILE]
 *                   COMMAND ARGS
 *     put KEY HEX [LEASE]        unconditional put       -> ok REV
 *     cas KEY REV HEX            put if KEY's mod revision is REV (0: absent)
 *                                -> ok REV | conflict REV (MODREV HEX | absent)
 *     del KEY                    -> ok REV
 *     list PREFIX                -> rev REV, then: kv KEY HEX MODREV LEASE
 *     grant TTL                  -> lease ID TTL
 *     keepalive ID SECONDS       renews every second for SECONDS -> ok | notfound
 *     revoke ID                  -> ok | notfound
 *     watch PREFIX FROM N SECS   the next N events from revision FROM:
 *                                put KEY HEX MODREV | delete KEY MODREV; compacted REV;
 *                                error MSG; exit 3 when SECS pass first
 *     writes PREFIX N MS         N puts one after the other (MS apart):
 *                                ack I REV | fail I STATUS MSG
 *     health                     a list of "/", then: reachable 0|1, error MSG
 * Every failed call prints "STATUS ERROR elapsed_ms N" and exits 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "cluster_store.h"

static struct ev_loop *loop;
static struct cluster_store st;
static int exit_code;
static double t_start;

/* command state */
static const char *cmd_prefix;
static int64_t lease_id;
static int left;                         /* keepalives / events / writes to go */
static int written;
static double interval_s;
static ev_timer tick, limit;
static struct cstore_watch *watch;

static const char *status_name(enum cstore_status s)
{
	switch (s) {
	case CSTORE_OK: return "ok";
	case CSTORE_CONFLICT: return "conflict";
	case CSTORE_NOT_FOUND: return "notfound";
	case CSTORE_UNAVAILABLE: return "unavailable";
	default: return "error";
	}
}

static void print_hex(const char *p, size_t n)
{
	size_t i;

	if (!n)
		fputs("-", stdout);
	for (i = 0; i < n; i++)
		printf("%02x", (unsigned char)p[i]);
}

/* Hex (or "-" for empty) into a malloc'd buffer. */
static char *from_hex(const char *h, size_t *n)
{
	size_t len = strcmp(h, "-") ? strlen(h) : 0, i;
	char *out = malloc(len / 2 + 1);

	if (!out || len % 2)
		exit(64);
	for (i = 0; i < len / 2; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			exit(64);
		out[i] = (char)v;
	}
	*n = len / 2;
	return out;
}

static int failed(const struct cstore_result *r)
{
	if (r->status == CSTORE_OK)
		return 0;
	printf("%s %s elapsed_ms %.0f\n", status_name(r->status), r->error ? r->error : "-",
	       (ev_time() - t_start) * 1000.0);
	return 1;
}

static void finish(int code)
{
	exit_code = code;
	ev_break(loop, EVBREAK_ALL);
}

static void on_simple(void *ctx, const struct cstore_result *r)
{
	if (failed(r)) {
		finish(2);
		return;
	}
	printf("ok %lld\n", (long long)r->rev);
	finish(0);
}

static void on_cas(void *ctx, const struct cstore_result *r)
{
	if (r->status == CSTORE_CONFLICT) {
		printf("conflict %lld ", (long long)r->rev);
		if (r->nkvs) {
			printf("%lld ", (long long)r->kvs[0].mod_rev);
			print_hex(r->kvs[0].value, r->kvs[0].value_len);
			putchar('\n');
		} else {
			puts("absent");
		}
		finish(1);
		return;
	}
	on_simple(ctx, r);
}

static void on_list(void *ctx, const struct cstore_result *r)
{
	size_t i;

	if (failed(r)) {
		finish(2);
		return;
	}
	printf("rev %lld\n", (long long)r->rev);
	for (i = 0; i < r->nkvs; i++) {
		printf("kv %s ", r->kvs[i].key);
		print_hex(r->kvs[i].value, r->kvs[i].value_len);
		printf(" %lld %lld\n", (long long)r->kvs[i].mod_rev, (long long)r->kvs[i].lease);
	}
	finish(0);
}

static void on_grant(void *ctx, const struct cstore_result *r)
{
	if (failed(r)) {
		finish(2);
		return;
	}
	printf("lease %lld %lld\n", (long long)r->lease, (long long)r->ttl);
	finish(0);
}

static void on_revoke(void *ctx, const struct cstore_result *r)
{
	if (r->status == CSTORE_NOT_FOUND) {
		puts("notfound");
		finish(1);
		return;
	}
	if (failed(r)) {
		finish(2);
		return;
	}
	puts("ok");
	finish(0);
}

/* One renewal ended: the next in a second while SECONDS last. */
static void on_keepalive(void *ctx, const struct cstore_result *r)
{
	if (r->status == CSTORE_NOT_FOUND) {
		puts("notfound");
		finish(1);
		return;
	}
	if (failed(r)) {
		finish(2);
		return;
	}
	if (--left <= 0) {
		puts("ok");
		finish(0);
		return;
	}
	ev_timer_set(&tick, 1.0, 0.);
	ev_timer_start(loop, &tick);
}

static void on_keepalive_tick(struct ev_loop *l, ev_timer *t, int revents)
{
	if (st.ops->lease_keepalive(st.h, lease_id, on_keepalive, NULL) == -1)
		finish(2);
}

static void on_watch(void *ctx, const struct cstore_watch_report *r)
{
	size_t i;

	switch (r->what) {
	case CSTORE_WATCH_EVENTS:
		for (i = 0; i < r->nevents && left > 0; i++, left--) {
			const struct cstore_kv *kv = &r->events[i].kv;

			if (r->events[i].type == CSTORE_EV_PUT) {
				printf("put %s ", kv->key);
				print_hex(kv->value, kv->value_len);
				printf(" %lld\n", (long long)kv->mod_rev);
			} else {
				printf("delete %s %lld\n", kv->key, (long long)kv->mod_rev);
			}
		}
		fflush(stdout);
		if (left <= 0) {
			st.ops->unwatch(st.h, watch);
			watch = NULL;
			finish(0);
		}
		break;
	case CSTORE_WATCH_COMPACTED:
		printf("compacted %lld\n", (long long)r->compact_rev);
		st.ops->unwatch(st.h, watch);
		watch = NULL;
		finish(0);
		break;
	default:
		printf("error %s\n", r->error);
		st.ops->unwatch(st.h, watch);
		watch = NULL;
		finish(2);
		break;
	}
}

static void on_limit(struct ev_loop *l, ev_timer *t, int revents)
{
	printf("timeout after %.1f s\n", ev_time() - t_start);
	finish(3);
}

static void next_write(void);

static void on_write(void *ctx, const struct cstore_result *r)
{
	int i = (int)(intptr_t)ctx;

	if (r->status == CSTORE_OK)
		printf("ack %d %lld\n", i, (long long)r->rev);
	else
		printf("fail %d %s %s\n", i, status_name(r->status), r->error ? r->error : "-");
	fflush(stdout);
	if (++written >= left) {
		finish(0);
		return;
	}
	ev_timer_set(&tick, interval_s, 0.);
	ev_timer_start(loop, &tick);
}

static void next_write(void)
{
	char key[512], val[64];
	struct cstore_op op = { .type = CSTORE_PUT, .key = key, .value = val };
	struct cstore_txn t = { .ops = &op, .nops = 1 };

	snprintf(key, sizeof(key), "%s%03d", cmd_prefix, written);
	op.value_len = (size_t)snprintf(val, sizeof(val), "v%d", written);
	if (st.ops->txn(st.h, &t, on_write, (void *)(intptr_t)written) == -1)
		finish(2);
}

static void on_write_tick(struct ev_loop *l, ev_timer *t, int revents)
{
	next_write();
}

static void on_health_list(void *ctx, const struct cstore_result *r)
{
	struct cstore_health h;

	st.ops->health(st.h, &h);
	printf("list %s elapsed_ms %.0f\n", status_name(r->status), (ev_time() - t_start) * 1000.0);
	printf("reachable %d\n", h.reachable);
	printf("error %s\n", h.last_error[0] ? h.last_error : "-");
	finish(0);
}

static void usage(void)
{
	fputs("usage: etcd_store_tool -e URL[,URL...] [-t TIMEOUT_MS] COMMAND ARGS "
	      "(see the comment at the top of tests/tools/etcd_store_tool.c)\n", stderr);
	exit(64);
}

int main(int argc, char **argv)
{
	struct cstore_etcd_cfg cfg = { .nendpoints = 0 };
	char err[256], *eps = NULL, *p;
	const char *cmd;
	int i = 1, rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (i + 1 < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-e"))
			eps = argv[i + 1];
		else if (!strcmp(argv[i], "-t"))
			cfg.timeout_ms = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ca"))
			cfg.ca_file = argv[i + 1];
		else if (!strcmp(argv[i], "--cert"))
			cfg.cert_file = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			cfg.key_file = argv[i + 1];
		else
			usage();
		i += 2;
	}
	if (!eps || i >= argc)
		usage();
	for (p = strtok(eps, ","); p && cfg.nendpoints < CSTORE_ENDPOINTS_MAX; p = strtok(NULL, ","))
		cfg.endpoints[cfg.nendpoints++] = p;
	loop = ev_default_loop(0);
	if (cstore_etcd_new(loop, &cfg, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 64;
	}
	cmd = argv[i++];
	argc -= i;
	argv += i;
	ev_init(&tick, NULL);
	ev_init(&limit, on_limit);
	t_start = ev_time();
	if (!strcmp(cmd, "put") && (argc == 2 || argc == 3)) {
		size_t n;
		char *v = from_hex(argv[1], &n);
		struct cstore_op op = { .type = CSTORE_PUT, .key = argv[0], .value = v, .value_len = n,
					.lease = argc == 3 ? atoll(argv[2]) : 0 };
		struct cstore_txn t = { .ops = &op, .nops = 1 };

		rc = st.ops->txn(st.h, &t, on_simple, NULL);
		free(v);
	} else if (!strcmp(cmd, "cas") && argc == 3) {
		size_t n;
		char *v = from_hex(argv[2], &n);
		struct cstore_op op = { .type = CSTORE_PUT, .key = argv[0], .value = v, .value_len = n };
		struct cstore_txn t = { .cmp_key = argv[0], .cmp_rev = atoll(argv[1]), .ops = &op, .nops = 1 };

		rc = st.ops->txn(st.h, &t, on_cas, NULL);
		free(v);
	} else if (!strcmp(cmd, "del") && argc == 1) {
		struct cstore_op op = { .type = CSTORE_DELETE, .key = argv[0] };
		struct cstore_txn t = { .ops = &op, .nops = 1 };

		rc = st.ops->txn(st.h, &t, on_simple, NULL);
	} else if (!strcmp(cmd, "list") && argc == 1) {
		rc = st.ops->list(st.h, argv[0], on_list, NULL);
	} else if (!strcmp(cmd, "grant") && argc == 1) {
		rc = st.ops->lease_grant(st.h, atoll(argv[0]), on_grant, NULL);
	} else if (!strcmp(cmd, "keepalive") && argc == 2) {
		lease_id = atoll(argv[0]);
		left = atoi(argv[1]);
		ev_set_cb(&tick, on_keepalive_tick);
		rc = st.ops->lease_keepalive(st.h, lease_id, on_keepalive, NULL);
	} else if (!strcmp(cmd, "revoke") && argc == 1) {
		rc = st.ops->lease_revoke(st.h, atoll(argv[0]), on_revoke, NULL);
	} else if (!strcmp(cmd, "watch") && argc == 4) {
		left = atoi(argv[2]);
		watch = st.ops->watch(st.h, argv[0], atoll(argv[1]), on_watch, NULL);
		rc = watch ? 0 : -1;
		ev_timer_set(&limit, atof(argv[3]), 0.);
		ev_timer_start(loop, &limit);
	} else if (!strcmp(cmd, "writes") && argc == 3) {
		cmd_prefix = argv[0];
		left = atoi(argv[1]);
		interval_s = atoi(argv[2]) / 1000.0;
		ev_set_cb(&tick, on_write_tick);
		next_write();
	} else if (!strcmp(cmd, "health") && argc == 0) {
		rc = st.ops->list(st.h, "/", on_health_list, NULL);
	} else {
		usage();
	}
	if (rc == -1) {
		fprintf(stderr, "%s: the call could not start\n", cmd);
		exit_code = 2;
	} else {
		ev_run(loop, 0);
	}
	if (watch)
		st.ops->unwatch(st.h, watch);
	st.ops->free(st.h);
	return exit_code;
}
