/* cluster_cmd.c: `fulcrumctl status --cluster`: GET /v1/cluster (docs/control-api.md)
 * as one line about the cluster and its store, then a table of its replicas. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fulcrumctl.h"

static const char *text_of(const cJSON *o, const char *name);
static double num_of(const cJSON *o, const char *name);
static const char *yes(const cJSON *o, const char *name);

static const char *text_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

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
		       text_of(a, "cluster"), text_of(s, "kind"), text_of(s, "state"),
		       text_of(s, "endpoint"), num_of(s, "revision"), num_of(a, "latest_revision"));
		if (text_of(s, "last_error")[0])
			printf("store error: %s\n", text_of(s, "last_error"));
		printf("%-24s %-22s %9s %-6s %-5s %-8s %-10s %s\n", "REPLICA", "CONTROL", "APPLIED",
		       "LATEST", "READY", "STORE", "VERSION", "STARTED");
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(a, "replicas")) {
			time_t t = (time_t)num_of(r, "started");
			char when[32] = "-";
			struct tm tm;

			if (t > 0 && gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%-24s %-22s %9.0f %-6s %-5s %-8s %-10s %s%s\n", text_of(r, "id"),
			       text_of(r, "control"), num_of(r, "applied_revision"), yes(r, "latest"),
			       yes(r, "ready"), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "store_up"))
			       ? "up" : "down", text_of(r, "version"), when,
			       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "self")) ? "  (this one)" : "");
		}
	}
	cJSON_Delete(a);
	return code;
}
