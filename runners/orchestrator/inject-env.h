/*
 * The one builder of the environment a process gets to run under the
 * inject library: run's workers, exec's copies, crashpoints' traced
 * writers and repro's confirming interpreter all go through it.
 *
 * The rules, the same for every caller:
 * - Every variable the inject library reads (PYCSTORM_FAULTS and the
 *   rest, PYCSTORM_EVENT_FD, PYCSTORM_TRACE) is taken out of the base
 *   environment and only ours are set: a pycstorm started under another
 *   pycstorm (exec running a run, say) never passes the outer one's
 *   faults or pipe on to processes it starts.
 * - LD_PRELOAD is our inject library first, then libfiu's POSIX preload
 *   (the fiu fault), then whatever LD_PRELOAD the base environment had.
 *   Ours goes first so that its wrappers see each call before anything
 *   the user preloads (a sanitizer's runtime, a test shim); the user's
 *   stay, so a program that needs its own preload still runs. With no
 *   library to preload, the base's LD_PRELOAD is left as it was.
 *
 * Ownership: the result and every string in it are the caller's; free it
 * with inject_env_free. The base environment is only read.
 */
#ifndef PYCSTORM_INJECT_ENV_H
#define PYCSTORM_INJECT_ENV_H

#include <stdint.h>

struct inject_env {
	const char *library;         /* libpycstorm-inject.so, or NULL: none preloaded */
	const char *fiu_preload;     /* libfiu's POSIX preload after ours, or NULL */
	const char *faults;          /* PYCSTORM_FAULTS: specs joined with ';', or NULL */
	const char *dirs;            /* where faults apply, ':'-joined */
	const char *names;           /* a component a path must have, or NULL */
	const char *cache_root;      /* logged paths are relative to it */
	const char *state_dir;       /* journals, delete-pending markers */
	const char *written_dir;     /* record complete write streams there (with
					dirs, faults or not), or NULL */
	int has_seed;
	uint64_t seed;               /* PYCSTORM_INJECT_SEED, when has_seed */
	int worker;                  /* PYCSTORM_WORKER, or -1 */
	int event_fd;                /* PYCSTORM_EVENT_FD, or -1 */
	int trace;                   /* PYCSTORM_TRACE=1: journal data for crashpoints */
};

#define INJECT_ENV_INIT { .worker = -1, .event_fd = -1 }

/* base (NULL-terminated) with ie applied, as the rules above say. */
char **inject_env_build(char *const *base, const struct inject_env *ie);
void inject_env_free(char **env);

/* A fixed environment for a process whose own should not matter: a PATH
 * of the system's folders, and a sanitizer build's runtime settings
 * (ASAN_OPTIONS and friends) when we have them. A base for
 * inject_env_build; free with inject_env_free. */
char **inject_env_fixed_base(void);

/* Run argv (a worker, for one write) with env, its records and stdout (and
 * stderr when quiet_stderr) going nowhere; its wait status, or -1 when it
 * could not start. */
int inject_env_run_quiet(char *const *argv, char **env, int quiet_stderr);

#endif
