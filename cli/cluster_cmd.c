/* cluster_cmd.c: `fulcrumctl status --cluster`: GET /v1/cluster (docs/control-api.md)
 * as one line about the cluster and its store, then a table of its replicas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_call.h"
#include "fulcrumctl.h"

static const char *yes(const cJSON *o, const char *name);

static const char *yes(const cJSON *o, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name)) ? "yes" : "no";
}

int fctl_cluster_status(int json)
{
	const cJSON *s, *r;
	cJSON *a = NULL;
	long st = 0;
	int code;

	if (fctl_call("GET", "/v1/cluster", NULL, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "status --cluster");
	if (code == EXIT_OK && !json) {
		s = cJSON_GetObjectItemCaseSensitive(a, "store");
		printf("cluster %s: store %s %s (%s), store revision %.0f, latest change %.0f\n",
		       fctl_str(a, "cluster"), fctl_str(s, "kind"), fctl_str(s, "state"),
		       fctl_str(s, "endpoint"), fctl_num(s, "revision"), fctl_num(a, "latest_revision"));
		if (fctl_str(s, "last_error")[0])
			printf("store error: %s\n", fctl_str(s, "last_error"));
		printf("%-24s %-22s %9s %-6s %-5s %-8s %-10s %s\n", "REPLICA", "CONTROL", "APPLIED",
		       "LATEST", "READY", "STORE", "VERSION", "STARTED");
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(a, "replicas")) {
			time_t t = (time_t)fctl_num(r, "started");
			char when[32] = "-";
			struct tm tm;

			if (t > 0 && gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%-24s %-22s %9.0f %-6s %-5s %-8s %-10s %s%s\n", fctl_str(r, "id"),
			       fctl_str(r, "control"), fctl_num(r, "applied_revision"), yes(r, "latest"),
			       yes(r, "ready"), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "store_up"))
			       ? "up" : "down", fctl_str(r, "version"), when,
			       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "self")) ? "  (this one)" : "");
		}
		/* a reload is each replica's own: say when their files' pools differ */
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(a, "pools_agree")))
			printf("the replicas' config files define the pools differently (pools_config "
			       "in GET /v1/cluster): reload them with the same file\n");
	}
	cJSON_Delete(a);
	return code;
}
