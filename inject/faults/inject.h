/*
 * What the preload library offers the fault hooks (fault-*.c, built with
 * PYCSTORM_PRELOAD). Everything here runs inside a worker, on a system
 * call that touches the run's cache directory.
 */
#ifndef PYCSTORM_INJECT_H
#define PYCSTORM_INJECT_H

#include <stdint.h>
#include <sys/types.h>

#include "fault.h"

/*
 * Ask libfiu whether point fires for this call: fiu_fail(point), whose
 * external callback decides from (worker seed, cycle, point, call number)
 * alone, so the same seed and cycle give the same decision on every run.
 */
int inject_decide(const struct fault_spec *spec, const char *point);
/* A number from the same deterministic stream, for the fault's parameters. */
uint64_t inject_random(void);
/* Log a fault that fired: worker, cycle, call, point, path and what it did. */
void inject_fired(const char *point, const struct inject_call *call, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Kill this worker on purpose, after flushing what it measured. */
void inject_crash(void) __attribute__((noreturn));
/* The real libc calls, past every preload. */
int inject_real_open(const char *path, int flags, mode_t mode);
int inject_real_close(int fd);
int inject_real_unlink(const char *path);
/* Where cross-process state (delete-pending markers) lives. */
const char *inject_state_dir(void);
/* path relative to the cache root, as logs and journals name it. */
const char *inject_relative(const char *path);
/* Which occurrence of this kind of call in the current cycle (from 1). */
unsigned inject_nth(enum inject_op op);
/* Which call on a cache file, of any kind, in the current cycle (from 1):
 * the position of the call now being wrapped in the cycle's call trace. */
unsigned inject_call_number(void);

#endif
