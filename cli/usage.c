/* usage.c: what fulcrumctl's command line accepts: the help text, usage errors, and the
 * table of the commands that talk to one server with their argument counts. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fulcrumctl.h"

/* The help text (help, -h, --help; on stderr after a bad command line). */
void fctl_usage(FILE *out)
{
	fprintf(out,
		"usage: fulcrumctl [-s URL|unix:PATH] [--token-file FILE] [--json] [--timeout S] [--all]\n"
		"                  [--cacert FILE] [--cert FILE] [--key FILE] COMMAND ...\n"
		"  status                          generation, uptime, listeners, pools\n"
		"  status --cluster                the cluster's replicas: applied revision, store\n"
		"  backends POOL                   every backend of POOL with its state\n"
		"  get POOL NAME                   one backend\n"
		"  set POOL NAME [--address A] [--weight N] [--max-conns N] [--state S]\n"
		"                [--ttl S] [--identity X] [--wait-healthy [--wait-timeout S]]\n"
		"                                  add or update a backend (alias: add); --ttl: a\n"
		"                                  lease, removed unless set again within S seconds\n"
		"  drain POOL NAME [--wait] [--wait-timeout S]\n"
		"                                  stop new traffic; --wait until no request is left\n"
		"  remove POOL NAME [--force] [--wait-timeout S]\n"
		"                                  drain, then remove (alias: delete); --force at once\n"
		"  reload                          re-read the config file\n"
		"  generations                     kept config generations\n"
		"  show GEN                        the config of generation GEN\n"
		"  diff FROM [TO]                  what changed from generation FROM to TO (default current)\n"
		"  rollback GEN                    apply generation GEN again, as a new generation\n"
		"  maint [on|off NAME] [--retry-after S]\n"
		"                                  list, or put a pool or route in maintenance (503 with\n"
		"                                  Retry-After S, default 60) and take it out\n"
		"  cache purge POOL (--url U | --prefix P | --tag T)\n"
		"                                  drop a pool's cached answers: one URL, every URL under\n"
		"                                  a prefix (http://host/path or /path: any host), a tag\n"
		"  health | ready                  liveness and readiness probes\n"
		"  help                            this text (also -h, --help); --version: the version\n"
		"  docker-watch [--docker-socket PATH]\n"
		"                                  add, drain and remove containers labelled\n"
		"                                  fulcrum.pool as Docker starts and stops them\n"
		"--all: run the command against every address the server's host name resolves\n"
		"to (a headless Service: every fulcrum replica); fails if any replica fails.\n"
		"server: -s, $FULCRUM_CONTROL, else " FCTL_DEFAULT_SERVER "; token: --token-file,\n"
		"$FULCRUM_TOKEN_FILE or $FULCRUM_TOKEN. TLS (-s https://...): --cacert verifies\n"
		"the server, --cert and --key (PEM) present a client certificate.\n"
		"exit: 0 ok, 1 refused, 2 usage, 3 unreachable, 4 unauthorized, 5 not found,\n"
		"      6 invalid request or config, 7 timed out waiting, 8 unavailable/stopping\n");
}

/* A bad command line: the message on stderr with a pointer to --help. */
int fctl_die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("fulcrumctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see fulcrumctl --help)\n", stderr);
	return EXIT_USAGE;
}

/* The commands that talk to one server: name (aliases too), argument counts, id. */
static const struct {
	const char *name;
	int min_args, max_args;
	enum cmd_id id;
} commands[] = {
	{ "status", 0, 0, C_STATUS }, { "backends", 1, 1, C_BACKENDS }, { "get", 2, 2, C_GET },
	{ "set", 2, 2, C_SET }, { "add", 2, 2, C_SET }, { "drain", 2, 2, C_DRAIN },
	{ "remove", 2, 2, C_REMOVE }, { "delete", 2, 2, C_REMOVE }, { "reload", 0, 0, C_RELOAD },
	{ "generations", 0, 0, C_GENERATIONS }, { "show", 1, 1, C_SHOW }, { "diff", 1, 2, C_DIFF },
	{ "rollback", 1, 1, C_ROLLBACK }, { "health", 0, 0, C_HEALTH }, { "ready", 0, 0, C_READY },
	{ "maint", 0, 2, C_MAINT }, { "cache", 2, 2, C_CACHE },
};

/* The command cmd names, C_NONE when unknown or given a wrong number of arguments. */
enum cmd_id fctl_command_id(const char *cmd, int nargs)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name) && nargs >= commands[i].min_args &&
		    nargs <= commands[i].max_args)
			return commands[i].id;
	return C_NONE;
}
