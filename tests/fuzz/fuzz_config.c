/* fuzz_config.c: libFuzzer target for the config loader on arbitrary text: it either
 * loads (and frees) or reports at least one error; never both, never neither. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	char *text;

	/* names in addresses map to a fixed address: no DNS, thousands of runs a second */
	addr_resolve_offline(1);
	if (size > 16384)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* @include would read files: the loader under test is the text parser */
	if (!strstr(text, "@include")) {
		cfg = config_load_string(text, "fuzz", &errs);
		assert((cfg != NULL) == (errs.count == 0));
		config_free(cfg);
		config_errors_clear(&errs);
	}
	free(text);
	return 0;
}
