/* api_call.h: fulcrumctl's calls to fulcrum's control API (cli/api_call.c), which every
 * command makes: where they go and how (the command line's server, token, TLS options
 * and --json), one call, the exit code an answer means, and a path segment. */
#ifndef FULCRUM_API_CALL_H
#define FULCRUM_API_CALL_H

#include <cjson/cJSON.h>

/* Where and how every call goes: set by main from the command line before the first
 * call, read by each call (--all sets connect_to for one replica after another). */
struct fctl_api {
	const char *server;       /* http(s)://host[:port] or unix:PATH */
	const char *token;        /* sent as a bearer token; NULL = none */
	const char *cacert;       /* CA bundle that signs the server's certificate (https) */
	const char *cert, *key;   /* client certificate and key, for verify_client */
	double timeout;           /* seconds for the whole call (main derives it without --timeout) */
	const char *connect_to;   /* with --all: CURLOPT_CONNECT_TO entry of this replica */
	int json;                 /* --json: the answers are printed as they are */
};

extern struct fctl_api fctl_api;

/* One call to the control API. body (taken, may be NULL) is sent as JSON. Returns 0 with
 * *status and *answer (parsed JSON or NULL; the caller frees it), or -1 when fulcrum
 * could not be reached (printed). With --json the answer is printed on stdout. */
int fctl_call(const char *method, const char *path, cJSON *body, long *status, cJSON **answer);
/* The same for an answer that streams NDJSON progress lines (drain --wait): each line is
 * printed as it comes with --json, else shown as a live line on a terminal's stderr;
 * *answer is the last line, which carries the outcome. */
int fctl_call_stream(const char *method, const char *path, cJSON *body, long *status,
		     cJSON **answer);

/* The exit code (fulcrumctl.h) an answer's HTTP status means. */
int fctl_exit_code(long status);
/* Prints what went wrong with a call (unless --json printed the answer) and returns
 * the exit code its status means. */
int fctl_report(long status, cJSON *answer, const char *what);

/* A path segment, percent-encoded so that a name cannot change the path; the caller
 * frees it. Out of memory ends fulcrumctl (EXIT_FAILED). */
char *fctl_seg(const char *s);

#endif
