/*
 * libpycstorm-strategies.so (stratlib.c): the C strategies for the interpreter runner.
 * The driver (driver.py), running inside a real pythonX.Y binary, calls
 * them through ctypes, so a distro's own interpreter is measured with
 * exactly the protocol code the embedded worker uses.
 */
#include "common.h"
#include "event.h"
#include "strategy.h"

#include <stdio.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

static struct rng lib_rng;

/* Seed the generator random temporary names come from. */
EXPORT void pycstorm_strategy_seed(uint64_t seed)
{
	rng_init(&lib_rng, seed);
}

/*
 * Write data to path with the named strategy. Returns the write_status
 * (0 done, 1 raised, 2 swallowed) or -1 for an unknown or Python-only
 * strategy; error receives the text Python would show, *err the errno.
 */
EXPORT int pycstorm_strategy_write(const char *name, const char *path, const uint8_t *data,
				   size_t len, unsigned mode, uint64_t tmp_id,
				   uint64_t retry_budget_ns, char *error, size_t errlen, int *err)
{
	const struct strategy_info *st = strategy_find(name);
	struct write_req req = { .path = path, .data = data, .len = len, .mode = mode,
				 .tmp_id = tmp_id, .rng = &lib_rng,
				 .retry_budget_ns = retry_budget_ns };
	int status = -1;

	if (st && st != &strategy_native && st->write) {
		status = (int)st->write(&req);
		*err = req.err;
		(void)snprintf(error, errlen, "%s", req.error);
	}
	return status;
}

/* Send one record to the orchestrator past every preload (see event.h). */
EXPORT int pycstorm_event_write(int fd, const void *record, size_t size)
{
	return event_send(fd, record, size);
}
