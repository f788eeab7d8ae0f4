/* test_ctl_error.c: unit tests of ctl_error_json (control/reply.c): every failed control
 * call answers {"error": ..., "detail": ...}, the detail formatted, on a new object or
 * after the fields an answer already has. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ctl_http.h"

static void assert_json(cJSON *o, const char *want)
{
	char *text = cJSON_PrintUnformatted(o);

	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	cJSON_Delete(o);
}

static void test_new_object(void **state)
{
	(void)state;
	assert_json(ctl_error_json(NULL, "not_found", "no endpoint %s", "/v1/x"),
		    "{\"error\":\"not_found\",\"detail\":\"no endpoint /v1/x\"}");
	/* the detail is data, not a format: a % in it stays as it is */
	assert_json(ctl_error_json(NULL, "method_not_allowed", "%s", "GET, 100%"),
		    "{\"error\":\"method_not_allowed\",\"detail\":\"GET, 100%\"}");
}

static void test_added_after_existing_fields(void **state)
{
	cJSON *o = cJSON_CreateObject();

	(void)state;
	cJSON_AddStringToObject(o, "pool", "web");
	assert_ptr_equal(ctl_error_json(o, "drain_timeout", "%d in flight", 3), o);
	assert_json(o, "{\"pool\":\"web\",\"error\":\"drain_timeout\",\"detail\":\"3 in flight\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_object),
		cmocka_unit_test(test_added_after_existing_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
