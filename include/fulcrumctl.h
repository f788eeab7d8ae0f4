/* fulcrumctl.h: what the files of fulcrumctl (cli/) share, beside the calls to the
 * control API (api_call.h): the exit codes, the help text and the table of commands,
 * the commands that have files of their own, and the reading of the answers' fields. */
#ifndef FULCRUMCTL_H
#define FULCRUMCTL_H

#include <stdio.h>

#include <cjson/cJSON.h>

/* The control API fulcrumctl talks to when neither -s nor $FULCRUM_CONTROL names one. */
#define FCTL_DEFAULT_SERVER "http://127.0.0.1:9000"

/* Exit codes (README "fulcrumctl"): stable, for scripts and Kubernetes hooks. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1,          /* fulcrum refused for another reason (409, 5xx but 503) */
	EXIT_USAGE = 2,           /* bad command line */
	EXIT_UNREACHABLE = 3,     /* no answer: connection refused, timeout, bad URL */
	EXIT_UNAUTHORIZED = 4,    /* 401: missing or wrong token */
	EXIT_NOT_FOUND = 5,       /* 404: no such pool, backend, route or generation */
	EXIT_INVALID = 6,         /* 400, 411, 413, 422, 431: the request or the config is invalid */
	EXIT_TIMEOUT = 7,         /* 408 drain deadline, 504 not in rotation in time */
	EXIT_UNAVAILABLE = 8      /* 503: stopping, not ready, state not writable */
};

/* The commands that talk to one server (their names and argument counts: cli/usage.c). */
enum cmd_id {
	C_NONE, C_STATUS, C_BACKENDS, C_GET, C_SET, C_DRAIN, C_REMOVE, C_RELOAD, C_GENERATIONS,
	C_SHOW, C_DIFF, C_ROLLBACK, C_HEALTH, C_READY, C_MAINT, C_CACHE
};

/* The help text on out (cli/usage.c). */
void fctl_usage(FILE *out);
/* Prints "fulcrumctl: <message> (see fulcrumctl --help)" on stderr; returns EXIT_USAGE. */
int fctl_die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The command cmd names with nargs arguments, C_NONE when there is none. */
enum cmd_id fctl_command_id(const char *cmd, int nargs);

/* `fulcrumctl cache purge POOL` with field ("url", "prefix" or "tag"; NULL = none given)
 * and its value: POST /v1/pools/{pool}/cache/purge (cli/cache_cmd.c); json: the answer is
 * printed as is. Returns the exit code. */
int fctl_cache(const char *verb, const char *pool, const char *field, const char *value, int json);

/* `fulcrumctl status --cluster`: GET /v1/cluster as a table of the replicas
 * (cli/cluster_cmd.c); json: the answer is printed as is. Returns the exit code. */
int fctl_cluster_status(int json);

/* A member of an answer's JSON object: its string ("" when absent or not a string), its
 * number (0 when absent or not a number). (cli/json_fields.c) */
const char *fctl_str(const cJSON *o, const char *name);
double fctl_num(const cJSON *o, const char *name);

/* `fulcrumctl docker-watch`: follows the Docker Engine API on the unix socket at
 * socket_path until SIGTERM or SIGINT; returns the exit code. */
int docker_watch(const char *socket_path);

#endif
