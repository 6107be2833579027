/*
 * The inject environment builder; see inject-env.h.
 */
#include "inject-env.h"

#include "common.h"
#include "event.h"
#include "fault.h"
#include "proc.h"
#include "rollback.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PRELOAD_VAR "LD_PRELOAD"

/* Every variable the inject library reads: never inherited. */
static const char *const inject_vars[] = {
	INJECT_ENV_FAULTS, INJECT_ENV_DIRS, INJECT_ENV_NAMES, INJECT_ENV_ROOT,
	INJECT_ENV_SEED, INJECT_ENV_WORKER, INJECT_ENV_STATE, INJECT_ENV_WRITTEN, EVENT_FD_ENV,
	ROLLBACK_ENV_TRACE,
};

/* Is entry ("NAME=value") the variable name? */
static int is_var(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(entry, name, n) && entry[n] == '=';
}

static int is_inject_var(const char *entry)
{
	size_t i;

	for (i = 0; i < sizeof(inject_vars) / sizeof(inject_vars[0]); i++)
		if (is_var(entry, inject_vars[i]))
			return 1;
	return 0;
}

/* LD_PRELOAD=ours[:fiu][:theirs]; theirs is the base's value or NULL. */
static char *preload_entry(const struct inject_env *ie, const char *theirs)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add(&sb, PRELOAD_VAR "=");
	strbuf_add(&sb, ie->library);
	if (ie->fiu_preload) {
		strbuf_add(&sb, ":");
		strbuf_add(&sb, ie->fiu_preload);
	}
	if (theirs && *theirs) {
		strbuf_add(&sb, ":");
		strbuf_add(&sb, theirs);
	}
	return strbuf_detach(&sb);
}

char **inject_env_build(char *const *base, const struct inject_env *ie)
{
	const char *theirs = NULL;
	size_t n = 0, i, k = 0;
	char **env;

	while (base[n])
		n++;
	env = xcalloc(n + 16, sizeof(char *));
	for (i = 0; i < n; i++) {
		if (is_inject_var(base[i]))
			continue;
		if (ie->library && is_var(base[i], PRELOAD_VAR)) {
			theirs = base[i] + strlen(PRELOAD_VAR "=");
			continue;
		}
		env[k++] = xstrdup(base[i]);
	}
	if (ie->library)
		env[k++] = preload_entry(ie, theirs);
	if (ie->faults || ie->written_dir) {
		if (ie->faults)
			env[k++] = xasprintf(INJECT_ENV_FAULTS "=%s", ie->faults);
		if (ie->written_dir)
			env[k++] = xasprintf(INJECT_ENV_WRITTEN "=%s", ie->written_dir);
		if (ie->dirs)
			env[k++] = xasprintf(INJECT_ENV_DIRS "=%s", ie->dirs);
		if (ie->names)
			env[k++] = xasprintf(INJECT_ENV_NAMES "=%s", ie->names);
		if (ie->cache_root)
			env[k++] = xasprintf(INJECT_ENV_ROOT "=%s", ie->cache_root);
		if (ie->state_dir)
			env[k++] = xasprintf(INJECT_ENV_STATE "=%s", ie->state_dir);
		if (ie->has_seed)
			env[k++] = xasprintf(INJECT_ENV_SEED "=%" PRIu64, ie->seed);
	}
	if (ie->worker >= 0)
		env[k++] = xasprintf(INJECT_ENV_WORKER "=%d", ie->worker);
	if (ie->event_fd >= 0)
		env[k++] = xasprintf(EVENT_FD_ENV "=%d", ie->event_fd);
	if (ie->trace)
		env[k++] = xstrdup(ROLLBACK_ENV_TRACE "=1");
	env[k] = NULL;
	return env;
}

void inject_env_free(char **env)
{
	size_t i;

	if (!env)
		return;
	for (i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

char **inject_env_fixed_base(void)
{
	static const char *const passed[] = { "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS" };
	char **env = xcalloc(sizeof(passed) / sizeof(passed[0]) + 2, sizeof(char *));
	size_t i, k = 0;

	env[k++] = xstrdup("PATH=/usr/bin:/bin");
	for (i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
		if (getenv(passed[i]))
			env[k++] = xasprintf("%s=%s", passed[i], getenv(passed[i]));
	env[k] = NULL;
	return env;
}

int inject_env_run_quiet(char *const *argv, char **env, int quiet_stderr)
{
	int status = -1, devnull;
	pid_t pid = proc_fork();

	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		(void)dup2(devnull, EVENT_FD);  /* the records are not needed here */
		(void)dup2(devnull, 1);
		if (quiet_stderr)
			(void)dup2(devnull, 2);
		proc_unblock();
		execve(argv[0], argv, env);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return pid > 0 ? status : -1;
}
