/* json_fields.c: fulcrumctl's reading of the control API's answers: a member of a JSON
 * object as a string or a number, with a neutral value when it is absent or of another
 * type (an older fulcrum may lack a field a newer fulcrumctl prints). */
#include <cjson/cJSON.h>

#include "fulcrumctl.h"

const char *fctl_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

double fctl_num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}
