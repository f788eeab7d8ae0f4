/* fulcrumctl.c: the command-line client of fulcrum's control API: its options, one
 * command per endpoint with human output or --json, exit codes that scripts can rely on,
 * and main, which runs a command against one server or (--all) every replica. The calls
 * themselves are cli/api_call.c's; the help text and the table of commands cli/usage.c's;
 * cache purge, status --cluster and docker-watch are commands of their own files. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "api_call.h"
#include "fulcrumctl.h"

struct opts {
	const char *token_file;
	const char *address;
	long weight, max_conns;   /* -1 = not given */
	const char *state;
	long ttl;                 /* --ttl: lease seconds, 0 = none; -1 = not given */
	const char *identity;     /* --identity: what the health answer must carry */
	int wait, wait_healthy, force;
	long wait_timeout;        /* --timeout of a wait or drain; -1 = not given */
	long retry_after;         /* maint on: --retry-after seconds; -1 = not given (60) */
	const char *purge_field;  /* cache purge: "url", "prefix" or "tag"; NULL = not given */
	const char *purge_value;
	int all;                  /* --all: every address the server's name resolves to */
	int cluster;              /* status --cluster: the cluster's replicas */
};

static struct opts o = { .weight = -1, .max_conns = -1, .ttl = -1, .wait_timeout = -1, .retry_after = -1 };
static char *token;

static int read_token(const char *path);
static int run(const char *cmd, int nargs, const char *a1, const char *a2);
static int run_all(const char *cmd, int nargs, const char *a1, const char *a2);
static void pin_address(char *out, size_t len, const char *addr, const char *port);
static void print_backends(const cJSON *list);
static void print_duration(double s, char *out, size_t len);
static int cmd_status(void);
static int cmd_backends(const char *pool);
static int cmd_get(const char *pool, const char *name);
static int cmd_set(const char *pool, const char *name);
static int cmd_drain(const char *pool, const char *name);
static int cmd_remove(const char *pool, const char *name);
static int cmd_reload(void);
static int cmd_generations(void);
static int cmd_show(const char *gen);
static int cmd_diff(const char *from, const char *to);
static int cmd_rollback(const char *gen);
static int cmd_probe(const char *path);
static int cmd_maint(const char *onoff, const char *name);

static int read_token(const char *path)
{
	char buf[4097];
	size_t len, start = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "fulcrumctl: cannot read token file %s: %s\n", path, strerror(errno));
		return -1;
	}
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	while (start < len && isspace((unsigned char)buf[start]))
		start++;
	token = strdup(buf + start);
	return token ? 0 : -1;
}

static void print_duration(double s, char *out, size_t len)
{
	long t = (long)s;

	if (t >= 86400)
		snprintf(out, len, "%ldd%ldh", t / 86400, t % 86400 / 3600);
	else if (t >= 3600)
		snprintf(out, len, "%ldh%ldm", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		snprintf(out, len, "%ldm%lds", t / 60, t % 60);
	else
		snprintf(out, len, "%.1fs", s);
}

/* ---- Commands ---- */

static int cmd_probe(const char *path)
{
	cJSON *a;
	long st = 0;
	int code;

	if (fctl_call("GET", path, NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_exit_code(st);
	if (!fctl_api.json)
		printf("%s\n", fctl_str(a, "status")[0] ? fctl_str(a, "status") : "error");
	cJSON_Delete(a);
	return code;
}

static int cmd_status(void)
{
	const cJSON *g, *e;
	char up[32];
	cJSON *a;
	long st = 0;
	int code;

	if (fctl_call("GET", "/v1/status", NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "status");
	if (code == EXIT_OK && !fctl_api.json) {
		g = cJSON_GetObjectItem(a, "generation");
		print_duration(fctl_num(a, "uptime_s"), up, sizeof(up));
		printf("fulcrum %s, generation %.0f (%s), up %s, %.0f worker(s), %.0f connection(s)%s\n",
		       fctl_str(a, "version"), fctl_num(g, "id"), fctl_str(g, "source"), up, fctl_num(a, "workers"),
		       fctl_num(a, "connections"), cJSON_IsTrue(cJSON_GetObjectItem(a, "stopping")) ?
		       ", STOPPING" : "");
		if (cJSON_IsFalse(cJSON_GetObjectItem(g, "kept")) &&
		    cJSON_IsNumber(cJSON_GetObjectItem(g, "config_generation")))
			printf("generation %.0f is a runtime one (membership changes, not kept), "
			       "built on kept generation %.0f\n", fctl_num(g, "id"),
			       fctl_num(g, "config_generation"));
		printf("config %s, state_dir %s, %.0f journal entr%s%s\n", fctl_str(a, "config"),
		       fctl_str(a, "state_dir"), fctl_num(a, "journal_entries"),
		       fctl_num(a, "journal_entries") == 1 ? "y" : "ies",
		       cJSON_IsTrue(cJSON_GetObjectItem(a, "journal_writable")) ? "" :
		       " (journal NOT writable: changes refused)");
		printf("listeners:\n");
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "listeners"))
			printf("  %-16s %-4s %-24s -> %-16s %.0f connection(s)\n", fctl_str(e, "name"),
			       fctl_str(e, "mode"), fctl_str(e, "bind"), fctl_str(e, "pool"), fctl_num(e, "connections"));
		printf("pools:\n");
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "pools"))
			printf("  %-16s %-4s %.0f backend(s), %.0f in rotation, %.0f active, %.0f waiting\n",
			       fctl_str(e, "name"), fctl_str(e, "balance"), fctl_num(e, "backends"), fctl_num(e, "in_rotation"),
			       fctl_num(e, "active"), fctl_num(e, "waiting"));
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "maintenance"))
			printf("maintenance: %s %s (503, Retry-After %.0f s)%s\n", fctl_str(e, "kind"), fctl_str(e, "name"),
			       fctl_num(e, "retry_after_s"),
			       cJSON_IsFalse(cJSON_GetObjectItem(e, "applies")) ? ", not in the running config" : "");
	}
	cJSON_Delete(a);
	return code;
}

static void print_backends(const cJSON *list)
{
	const cJSON *b;

	printf("%-20s %-24s %6s %9s %-8s %-6s %-8s %6s %s\n", "NAME", "ADDRESS", "WEIGHT",
	       "MAX_CONNS", "ADMIN", "HEALTH", "ROTATION", "ACTIVE", "SOURCE");
	cJSON_ArrayForEach(b, list)
		printf("%-20s %-24s %6.0f %9.0f %-8s %-6s %-8s %6.0f %s\n", fctl_str(b, "name"),
		       fctl_str(b, "address"), fctl_num(b, "weight"), fctl_num(b, "max_conns"), fctl_str(b, "admin"),
		       fctl_str(b, "health"), cJSON_IsTrue(cJSON_GetObjectItem(b, "in_rotation")) ? "yes" : "no",
		       fctl_num(b, "active"), fctl_str(b, "source"));
}

static int cmd_backends(const char *pool)
{
	char path[512], *p = fctl_seg(pool);
	cJSON *a;
	long st = 0;
	int code;

	snprintf(path, sizeof(path), "/v1/pools/%s/backends", p);
	free(p);
	if (fctl_call("GET", path, NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "backends");
	if (code == EXIT_OK && !fctl_api.json)
		print_backends(cJSON_GetObjectItem(a, "backends"));
	cJSON_Delete(a);
	return code;
}

static int cmd_get(const char *pool, const char *name)
{
	char path[512], *p = fctl_seg(pool), *n = fctl_seg(name);
	cJSON *a, *list;
	long st = 0;
	int code;

	snprintf(path, sizeof(path), "/v1/pools/%s/backends/%s", p, n);
	free(p);
	free(n);
	if (fctl_call("GET", path, NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "get");
	if (code == EXIT_OK && !fctl_api.json) {
		list = cJSON_CreateArray();
		cJSON_AddItemReferenceToArray(list, a);
		print_backends(list);
		cJSON_Delete(list);
	}
	cJSON_Delete(a);
	return code;
}

static int cmd_set(const char *pool, const char *name)
{
	char path[600], *p = fctl_seg(pool), *n = fctl_seg(name), q[64] = "";
	cJSON *body = cJSON_CreateObject(), *a;
	long st = 0;
	int code;

	if (o.address)
		cJSON_AddStringToObject(body, "address", o.address);
	if (o.weight >= 0)
		cJSON_AddNumberToObject(body, "weight", (double)o.weight);
	if (o.max_conns >= 0)
		cJSON_AddNumberToObject(body, "max_conns", (double)o.max_conns);
	if (o.state)
		cJSON_AddStringToObject(body, "state", o.state);
	if (o.ttl >= 0)
		cJSON_AddNumberToObject(body, "ttl_s", (double)o.ttl);
	if (o.identity)
		cJSON_AddStringToObject(body, "identity", o.identity);
	if (o.wait_healthy)
		snprintf(q, sizeof(q), "?wait=healthy&timeout=%ld", o.wait_timeout >= 0 ? o.wait_timeout : 30);
	snprintf(path, sizeof(path), "/v1/pools/%s/backends/%s%s", p, n, q);
	free(p);
	free(n);
	if (fctl_call("PUT", path, body, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "set");
	if (code == EXIT_OK && !fctl_api.json) {
		if (o.wait_healthy)
			printf("%s/%s: %s and in rotation after %.1f s (generation %.0f)\n", pool, name,
			       st == 201 ? "added" : "set", fctl_num(a, "waited_s"), fctl_num(a, "generation"));
		else
			printf("%s/%s: %s (generation %.0f)\n", pool, name,
			       st == 201 ? "added" : cJSON_IsTrue(cJSON_GetObjectItem(a, "changed")) ?
			       "updated" : "unchanged", fctl_num(a, "generation"));
	}
	cJSON_Delete(a);
	return code;
}

static int cmd_drain(const char *pool, const char *name)
{
	char path[600], *p = fctl_seg(pool), *n = fctl_seg(name);
	cJSON *body = NULL, *a;
	long st = 0;
	int code;

	if (o.wait_timeout >= 0) {
		body = cJSON_CreateObject();
		cJSON_AddNumberToObject(body, "timeout_s", (double)o.wait_timeout);
	}
	snprintf(path, sizeof(path), "/v1/pools/%s/backends/%s/drain%s", p, n, o.wait ? "?wait=1" : "");
	free(p);
	free(n);
	if ((o.wait ? fctl_call_stream("POST", path, body, &st, &a) :
	     fctl_call("POST", path, body, &st, &a)) == -1)
		return EXIT_UNREACHABLE;
	/* a stream's HTTP status is 200; its outcome is in its last line */
	if (o.wait && st == 200 && cJSON_GetObjectItem(a, "done"))
		st = (long)fctl_num(a, "status");
	code = fctl_report(st, a, "drain");
	if (!fctl_api.json && (code == EXIT_OK || code == EXIT_TIMEOUT)) {
		if (!o.wait)
			printf("%s/%s: draining, %.0f in flight\n", pool, name, fctl_num(a, "active"));
		else if (cJSON_IsTrue(cJSON_GetObjectItem(a, "drained")))
			printf("%s/%s: drained in %.1f s\n", pool, name, fctl_num(a, "waited_s"));
		else
			printf("%s/%s: deadline of %.0f s passed with %.0f in flight\n", pool, name,
			       fctl_num(a, "timeout_s"), fctl_num(a, "active"));
	}
	cJSON_Delete(a);
	return code;
}

static int cmd_remove(const char *pool, const char *name)
{
	char path[600], *p = fctl_seg(pool), *n = fctl_seg(name), q[64] = "";
	cJSON *a;
	long st = 0;
	int code;

	if (o.force)
		snprintf(q, sizeof(q), "?force=1");
	else if (o.wait_timeout >= 0)
		snprintf(q, sizeof(q), "?timeout=%ld", o.wait_timeout);
	snprintf(path, sizeof(path), "/v1/pools/%s/backends/%s%s", p, n, q);
	free(p);
	free(n);
	if (fctl_call("DELETE", path, NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "remove");
	if (code == EXIT_OK && !fctl_api.json) {
		if (cJSON_IsTrue(cJSON_GetObjectItem(a, "drained")))
			printf("%s/%s: removed (generation %.0f)\n", pool, name, fctl_num(a, "generation"));
		else
			printf("%s/%s: removed with %.0f request(s) still in flight (generation %.0f)\n",
			       pool, name, fctl_num(a, "active"), fctl_num(a, "generation"));
	}
	cJSON_Delete(a);
	return code;
}

static int cmd_reload(void)
{
	const cJSON *e;
	cJSON *a;
	long st = 0;
	int code;

	if (fctl_call("POST", "/v1/config/reload", NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "reload");
	if (code == EXIT_OK && !fctl_api.json) {
		printf("generation %.0f applied from %s\n", fctl_num(a, "generation"), fctl_str(a, "file"));
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "restart_needed"))
			printf("  %s: %s\n", fctl_str(e, "key"), fctl_str(e, "message"));
	}
	cJSON_Delete(a);
	return code;
}

static int cmd_generations(void)
{
	const cJSON *e;
	cJSON *a;
	long st = 0;
	int code;

	if (fctl_call("GET", "/v1/config/generations", NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "generations");
	if (code == EXIT_OK && !fctl_api.json) {
		printf("  %8s  %-20s  %-12s  %s\n", "ID", "APPLIED (UTC)", "SHA256", "SOURCE");
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "generations")) {
			time_t t = (time_t)fctl_num(e, "time");
			struct tm tm;
			char when[32];

			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			/* '*' runs; '+' the running runtime generation is built on it */
			printf("%c %8.0f  %-20s  %.12s  %s\n",
			       cJSON_IsTrue(cJSON_GetObjectItem(e, "current")) ? '*' :
			       cJSON_IsTrue(cJSON_GetObjectItem(e, "running_base")) ? '+' : ' ',
			       fctl_num(e, "id"), when, fctl_str(e, "sha256"), fctl_str(e, "source"));
		}
		if (fctl_num(a, "current") != fctl_num(a, "config_generation"))
			printf("running: generation %.0f, from membership changes (not kept) over "
			       "generation %.0f (+)\n", fctl_num(a, "current"), fctl_num(a, "config_generation"));
	}
	cJSON_Delete(a);
	return code;
}

static int cmd_show(const char *gen)
{
	char path[128], *g = fctl_seg(gen);
	cJSON *a;
	long st = 0;
	int code;

	snprintf(path, sizeof(path), "/v1/config/generations/%s", g);
	free(g);
	if (fctl_call("GET", path, NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "show");
	if (code == EXIT_OK && !fctl_api.json)
		fputs(fctl_str(a, "config"), stdout);
	cJSON_Delete(a);
	return code;
}

static int cmd_diff(const char *from, const char *to)
{
	char path[160], *f = fctl_seg(from), *t = to ? fctl_seg(to) : NULL;
	const cJSON *e;
	cJSON *a;
	long st = 0;
	int code;

	snprintf(path, sizeof(path), "/v1/config/diff?from=%s%s%s", f, t ? "&to=" : "", t ? t : "");
	free(f);
	free(t);
	if (fctl_call("GET", path, NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "diff");
	if (code == EXIT_OK && !fctl_api.json) {
		printf("generation %.0f -> %.0f\n", fctl_num(a, "from"), fctl_num(a, "to"));
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "changes")) {
			if (cJSON_IsNull(cJSON_GetObjectItem(e, "from")))
				printf("+ %s = %s\n", fctl_str(e, "key"), fctl_str(e, "to"));
			else if (cJSON_IsNull(cJSON_GetObjectItem(e, "to")))
				printf("- %s = %s\n", fctl_str(e, "key"), fctl_str(e, "from"));
			else
				printf("~ %s: %s -> %s\n", fctl_str(e, "key"), fctl_str(e, "from"), fctl_str(e, "to"));
		}
	}
	cJSON_Delete(a);
	return code;
}

static int cmd_rollback(const char *gen)
{
	cJSON *body = cJSON_CreateObject(), *a;
	char *end;
	long st = 0;
	double id;
	int code;

	errno = 0;
	id = strtod(gen, &end);
	if (errno || *end || id < 1 || id != (double)(long long)id) {
		cJSON_Delete(body);
		return fctl_die_usage("rollback: '%s' is not a generation number", gen);
	}
	cJSON_AddNumberToObject(body, "generation", id);
	if (fctl_call("POST", "/v1/config/rollback", body, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "rollback");
	if (code == EXIT_OK && !fctl_api.json)
		printf("generation %.0f applied (rollback to generation %.0f)\n", fctl_num(a, "generation"),
		       fctl_num(a, "rolled_back_to"));
	cJSON_Delete(a);
	return code;
}

/* maint: what is in maintenance (no arguments), or `maint on|off NAME`: a pool or a route,
 * the server tells which (POST /v1/maintenance with "name"). */
static int cmd_maint(const char *onoff, const char *name)
{
	cJSON *body, *a;
	const cJSON *e;
	long st = 0;
	int code, on;

	if (!onoff) {
		if (fctl_call("GET", "/v1/maintenance", NULL, &st, &a) == -1)
			return EXIT_UNREACHABLE;
		code = fctl_report(st, a, "maint");
		if (code == EXIT_OK && !fctl_api.json) {
			cJSON_ArrayForEach(e, cJSON_GetObjectItem(a, "maintenance"))
				printf("%-6s %-24s retry-after %.0f s%s\n", fctl_str(e, "kind"), fctl_str(e, "name"),
				       fctl_num(e, "retry_after_s"),
				       cJSON_IsFalse(cJSON_GetObjectItem(e, "applies")) ? " (not in the running config)" : "");
			if (!cJSON_GetArraySize(cJSON_GetObjectItem(a, "maintenance")))
				printf("nothing in maintenance\n");
		}
		cJSON_Delete(a);
		return code;
	}
	if (!name || (strcmp(onoff, "on") && strcmp(onoff, "off")))
		return fctl_die_usage("maint takes nothing, or on NAME, or off NAME");
	on = !strcmp(onoff, "on");
	if (!on && o.retry_after >= 0)
		return fctl_die_usage("--retry-after goes with maint on");
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "name", name);
	cJSON_AddBoolToObject(body, "on", on);
	if (o.retry_after >= 0)
		cJSON_AddNumberToObject(body, "retry_after_s", (double)o.retry_after);
	if (fctl_call("POST", "/v1/maintenance", body, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "maint");
	if (code == EXIT_OK && !fctl_api.json)
		printf("%s %s: maintenance %s (generation %.0f)\n", fctl_str(a, "kind"), fctl_str(a, "name"),
		       on ? "on" : "off", fctl_num(a, "generation"));
	cJSON_Delete(a);
	return code;
}

/* One command against the server the options name (with --all: one replica). */
static int run(const char *cmd, int nargs, const char *a1, const char *a2)
{
	switch (fctl_command_id(cmd, nargs)) {
	case C_STATUS: return o.cluster ? fctl_cluster_status(fctl_api.json) : cmd_status();
	case C_BACKENDS: return cmd_backends(a1);
	case C_GET: return cmd_get(a1, a2);
	case C_SET: return cmd_set(a1, a2);
	case C_DRAIN: return cmd_drain(a1, a2);
	case C_REMOVE: return cmd_remove(a1, a2);
	case C_RELOAD: return cmd_reload();
	case C_GENERATIONS: return cmd_generations();
	case C_SHOW: return cmd_show(a1);
	case C_DIFF: return cmd_diff(a1, a2);
	case C_ROLLBACK: return cmd_rollback(a1);
	case C_HEALTH: return cmd_probe("/healthz");
	case C_READY: return cmd_probe("/readyz");
	case C_MAINT: return cmd_maint(a1, a2);
	case C_CACHE: return fctl_cache(a1, a2, o.purge_field, o.purge_value, fctl_api.json);
	case C_NONE: break;
	}
	return fctl_die_usage("unknown command or wrong number of arguments: %s", cmd);
}

/* A CURLOPT_CONNECT_TO entry that sends any host and port to addr:port. */
static void pin_address(char *out, size_t len, const char *addr, const char *port)
{
	int v6 = strchr(addr, ':') != NULL;

	snprintf(out, len, "::%s%s%s:%.7s", v6 ? "[" : "", addr, v6 ? "]" : "", port);
}

/* --all: the server URL's host resolved to every address (getaddrinfo: A and AAAA), and
 * the command run against each in turn. The URL stays as given and CURLOPT_CONNECT_TO
 * picks the address, so TLS still verifies the name. A `drain --wait` first starts the
 * drain on every replica, then waits on each with what is left of one deadline, so
 * the replicas drain together rather than one after another. Returns the first
 * failure's exit code, 0 when every replica succeeded. */
static int run_all(const char *cmd, int nargs, const char *a1, const char *a2)
{
	char addrs[64][INET6_ADDRSTRLEN], pin[INET6_ADDRSTRLEN + 32];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char *host = NULL, *port = NULL, *name;
	FILE *note = fctl_api.json ? stderr : stdout;
	size_t n = 0, i, j, ok = 0;
	int rc, code, first_failure = EXIT_OK;
	long wait_timeout = o.wait_timeout;
	time_t deadline = 0;
	CURLU *u;

	if (fctl_command_id(cmd, nargs) == C_NONE)
		return fctl_die_usage("unknown command or wrong number of arguments: %s", cmd);
	if (!strncmp(fctl_api.server, "unix:", 5))
		return fctl_die_usage("--all needs a server URL with a host name, not %s", fctl_api.server);
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, fctl_api.server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		curl_url_cleanup(u);
		return fctl_die_usage("--all: cannot take a host and port from server URL %s", fctl_api.server);
	}
	curl_url_cleanup(u);
	/* an IPv6 literal comes back in brackets */
	name = host;
	if (name[0] == '[') {
		name++;
		name[strcspn(name, "]")] = '\0';
	}
	rc = getaddrinfo(name, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "fulcrumctl: --all: cannot resolve %s: %s\n", name, gai_strerror(rc));
		curl_free(host);
		curl_free(port);
		return EXIT_UNREACHABLE;
	}
	for (ai = res; ai && n < sizeof(addrs) / sizeof(addrs[0]); ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET6 ?
			(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr :
			(const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;

		if (!inet_ntop(ai->ai_family, a, addrs[n], sizeof(addrs[n])))
			continue;
		for (j = 0; j < n && strcmp(addrs[j], addrs[n]); j++)
			;
		if (j == n)
			n++;
	}
	freeaddrinfo(res);
	if (o.wait && !strcmp(cmd, "drain")) {
		if (wait_timeout >= 0)
			deadline = time(NULL) + wait_timeout;
		o.wait = 0;
		for (i = 0; i < n; i++) {
			pin_address(pin, sizeof(pin), addrs[i], port);
			fctl_api.connect_to = pin;
			fprintf(note, "== %s (%s): starting the drain\n", addrs[i], name);
			fflush(note);
			run(cmd, nargs, a1, a2);
			fflush(stdout);
		}
		o.wait = 1;
	}
	for (i = 0; i < n; i++) {
		pin_address(pin, sizeof(pin), addrs[i], port);
		fctl_api.connect_to = pin;
		if (deadline) {
			long left = (long)(deadline - time(NULL));

			o.wait_timeout = left > 0 ? left : 0;
		}
		fprintf(note, "== %s (%s)\n", addrs[i], name);
		fflush(note);
		code = run(cmd, nargs, a1, a2);
		fflush(stdout);
		if (code == EXIT_OK)
			ok++;
		else if (first_failure == EXIT_OK)
			first_failure = code;
		fprintf(note, "-- %s: %s (exit %d)\n", addrs[i], code == EXIT_OK ? "ok" : "FAILED", code);
		fflush(note);
	}
	fprintf(note, "%zu of %zu replica(s) of %s ok\n", ok, n, name);
	fctl_api.connect_to = NULL;
	curl_free(host);
	curl_free(port);
	return n == 0 ? EXIT_UNREACHABLE : first_failure;
}

static long parse_num(const char *s, const char *what, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > max || !*s) {
		fctl_die_usage("%s takes a whole number 0..%ld, not '%s'", what, max, s);
		exit(EXIT_USAGE);
	}
	return v;
}

int main(int argc, char **argv)
{
	enum { O_TOKEN = 256, O_JSON, O_TIMEOUT, O_ADDRESS, O_WEIGHT, O_MAXCONNS, O_STATE, O_WAIT,
	       O_WAIT_HEALTHY, O_WAIT_TIMEOUT, O_FORCE, O_CACERT, O_CERT, O_KEY, O_ALL,
	       O_DOCKER_SOCKET, O_TTL, O_IDENTITY, O_RETRY_AFTER, O_URL, O_PREFIX, O_TAG, O_CLUSTER };
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, O_TOKEN },
		{ "json", no_argument, NULL, O_JSON },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "address", required_argument, NULL, O_ADDRESS },
		{ "weight", required_argument, NULL, O_WEIGHT },
		{ "max-conns", required_argument, NULL, O_MAXCONNS },
		{ "state", required_argument, NULL, O_STATE },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "identity", required_argument, NULL, O_IDENTITY },
		{ "wait", no_argument, NULL, O_WAIT },
		{ "wait-healthy", no_argument, NULL, O_WAIT_HEALTHY },
		{ "wait-timeout", required_argument, NULL, O_WAIT_TIMEOUT },
		{ "force", no_argument, NULL, O_FORCE },
		{ "cacert", required_argument, NULL, O_CACERT },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "all", no_argument, NULL, O_ALL },
		{ "docker-socket", required_argument, NULL, O_DOCKER_SOCKET },
		{ "retry-after", required_argument, NULL, O_RETRY_AFTER },
		{ "url", required_argument, NULL, O_URL },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "tag", required_argument, NULL, O_TAG },
		{ "cluster", no_argument, NULL, O_CLUSTER },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd, *a1, *a2, *env, *docker_socket = NULL;
	int opt, nargs, code, set_opts = 0;

	while ((opt = getopt_long(argc, argv, "s:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': fctl_api.server = optarg; break;
		case O_TOKEN: o.token_file = optarg; break;
		case O_JSON: fctl_api.json = 1; break;
		case O_TIMEOUT: fctl_api.timeout = (double)parse_num(optarg, "--timeout", 86400); break;
		case O_ADDRESS: o.address = optarg; set_opts++; break;
		case O_WEIGHT: o.weight = parse_num(optarg, "--weight", 1000); set_opts++; break;
		case O_MAXCONNS: o.max_conns = parse_num(optarg, "--max-conns", 1000000); set_opts++; break;
		case O_STATE: o.state = optarg; set_opts++; break;
		case O_TTL: o.ttl = parse_num(optarg, "--ttl", 86400); set_opts++; break;
		case O_IDENTITY: o.identity = optarg; set_opts++; break;
		case O_WAIT: o.wait = 1; break;
		case O_WAIT_HEALTHY: o.wait_healthy = 1; break;
		case O_WAIT_TIMEOUT: o.wait_timeout = parse_num(optarg, "--wait-timeout", 86400); break;
		case O_FORCE: o.force = 1; break;
		case O_CACERT: fctl_api.cacert = optarg; break;
		case O_CERT: fctl_api.cert = optarg; break;
		case O_KEY: fctl_api.key = optarg; break;
		case O_ALL: o.all = 1; break;
		case O_CLUSTER: o.cluster = 1; break;
		case O_DOCKER_SOCKET: docker_socket = optarg; break;
		case O_RETRY_AFTER: o.retry_after = parse_num(optarg, "--retry-after", 86400); break;
		case O_URL:
		case O_PREFIX:
		case O_TAG:
			if (o.purge_field)
				return fctl_die_usage("give one of --url, --prefix or --tag");
			o.purge_field = opt == O_URL ? "url" : opt == O_PREFIX ? "prefix" : "tag";
			o.purge_value = optarg;
			break;
		case 'h': fctl_usage(stdout); return EXIT_OK;
		case 'V':
			printf("fulcrumctl %s (git %s, libcurl %s)\n", FULCRUM_VERSION, FULCRUM_GIT_REV,
			       curl_version_info(CURLVERSION_NOW)->version);
			return EXIT_OK;
		default: fctl_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fctl_usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	nargs = argc - optind - 1;
	if (!strcmp(cmd, "help") && nargs == 0) {
		fctl_usage(stdout);
		return EXIT_OK;
	}
	a1 = nargs > 0 ? argv[optind + 1] : NULL;
	a2 = nargs > 1 ? argv[optind + 2] : NULL;
	if (!fctl_api.server)
		fctl_api.server = (env = getenv("FULCRUM_CONTROL")) && *env ? env : FCTL_DEFAULT_SERVER;
	if (!o.token_file && (env = getenv("FULCRUM_TOKEN_FILE")) && *env)
		o.token_file = env;
	if (o.token_file) {
		if (read_token(o.token_file) == -1)
			return EXIT_USAGE;
	} else if ((env = getenv("FULCRUM_TOKEN")) && *env) {
		token = strdup(env);
	}
	fctl_api.token = token;
	if (fctl_api.key && !fctl_api.cert)
		return fctl_die_usage("--key goes with --cert");
	/* options that belong to one command only are refused elsewhere */
	if (set_opts && strcmp(cmd, "set") && strcmp(cmd, "add"))
		return fctl_die_usage("--address, --weight, --max-conns, --state, --ttl and --identity go with set");
	if (o.wait_healthy && strcmp(cmd, "set") && strcmp(cmd, "add"))
		return fctl_die_usage("--wait-healthy goes with set");
	if (o.wait && strcmp(cmd, "drain"))
		return fctl_die_usage("--wait goes with drain (set takes --wait-healthy)");
	if (o.force && strcmp(cmd, "remove") && strcmp(cmd, "delete"))
		return fctl_die_usage("--force goes with remove");
	if (o.retry_after >= 0 && strcmp(cmd, "maint"))
		return fctl_die_usage("--retry-after goes with maint on");
	if (o.purge_field && strcmp(cmd, "cache"))
		return fctl_die_usage("--url, --prefix and --tag go with cache purge");
	if (o.cluster && strcmp(cmd, "status"))
		return fctl_die_usage("--cluster goes with status");
	if (docker_socket && strcmp(cmd, "docker-watch"))
		return fctl_die_usage("--docker-socket goes with docker-watch");
	if (o.all && !strcmp(cmd, "docker-watch"))
		return fctl_die_usage("docker-watch talks to one fulcrum; run one watcher per replica");
	if (o.state && strcmp(o.state, "active") && strcmp(o.state, "draining") && strcmp(o.state, "maint"))
		return fctl_die_usage("--state takes active, draining or maint");
	/* a wait may last its whole timeout: the call's own limit comes on top */
	if (fctl_api.timeout <= 0)
		fctl_api.timeout = 30 + ((o.wait || o.wait_healthy || !strcmp(cmd, "remove") ||
				   !strcmp(cmd, "delete")) ? (o.wait_timeout >= 0 ? o.wait_timeout : 3600) : 0);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!strcmp(cmd, "docker-watch") && nargs == 0) {
		if (!docker_socket)
			docker_socket = (env = getenv("DOCKER_HOST")) && !strncmp(env, "unix://", 7) ?
				env + 7 : "/var/run/docker.sock";
		code = docker_watch(docker_socket);
	} else if (o.all) {
		code = run_all(cmd, nargs, a1, a2);
	} else {
		code = run(cmd, nargs, a1, a2);
	}
	curl_global_cleanup();
	free(token);
	return code;
}
