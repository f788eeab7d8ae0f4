/* cache_cmd.c: `fulcrumctl cache purge POOL (--url U | --prefix P | --tag T)`: one call
 * to POST /v1/pools/{pool}/cache/purge (docs/control-api.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_call.h"
#include "fulcrumctl.h"

int fctl_cache(const char *verb, const char *pool, const char *field, const char *value, int json)
{
	char path[512], *p;
	cJSON *body, *a = NULL, *n;
	long st = 0;
	int code;

	if (strcmp(verb, "purge") || !pool || !field)
		return fctl_die_usage("cache takes purge POOL and one of --url, --prefix or --tag");
	if (!(p = fctl_seg(pool)))
		return EXIT_FAILED;
	snprintf(path, sizeof(path), "/v1/pools/%s/cache/purge", p);
	free(p);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, field, value);
	if (fctl_call("POST", path, body, &st, &a) == -1)
		return EXIT_UNREACHABLE;
	code = fctl_report(st, a, "cache purge");
	if (code == EXIT_OK && !json) {
		n = cJSON_GetObjectItem(a, "purged");
		printf("pool %s: %.0f purged\n", pool, cJSON_IsNumber(n) ? n->valuedouble : 0);
	}
	cJSON_Delete(a);
	return code;
}
