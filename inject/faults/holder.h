/*
 * The lock holder: a process playing an antivirus scanner or a search
 * indexer. It opens random files of one cache folder, takes an OFD read
 * lock, holds it for a while and lets go, completing any delete that was
 * left pending on the file meanwhile (see lockstate.h).
 */
#ifndef PYCSTORM_HOLDER_H
#define PYCSTORM_HOLDER_H

#include <stdint.h>

struct holder_plan {
	const char *dir;          /* the strategy's cache folder */
	const char *state_dir;    /* delete-pending markers */
	uint64_t seed;
	uint64_t hold_lo_ns, hold_hi_ns;
	uint64_t gap_lo_ns, gap_hi_ns;
};

/* In a child of proc_fork: runs until SIGTERM (or the parent's death);
 * never returns. */
void holder_run(const struct holder_plan *plan) __attribute__((noreturn));

#endif
