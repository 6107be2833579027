/*
 * libFuzzer target: the fault-spec parser (--fault, scenario `fault =`
 * lines, and PYCSTORM_FAULTS inside workers).
 */
#include "fault.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fault_spec specs[FAULT_MAX_SPECS];
	char err[1024], *text = malloc(size + 1);
	int n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	n = fault_parse_list(text, specs, FAULT_MAX_SPECS, err, sizeof(err));
	if (n < 0 && err[0] == '\0')
		abort();   /* a rejection always says why */
	free(text);
	return 0;
}
