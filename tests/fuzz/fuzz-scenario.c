/*
 * libFuzzer target: the scenario parser. Any bytes must give either a
 * scenario or one "file:line: problem" message; never a crash, a leak or
 * an out-of-bounds read.
 */
#include "scenario.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario sc;
	char err[1024];

	if (scenario_parse("fuzz.scn", (const char *)data, size, &sc, err, sizeof(err)) == 0)
		scenario_free(&sc);
	else if (strncmp(err, "fuzz.scn:", 9) != 0)
		abort();   /* every rejection names the file and the line */
	return 0;
}
