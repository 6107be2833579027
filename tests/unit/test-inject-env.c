/*
 * Unit tests for runners/orchestrator/inject-env.c, the one builder of the
 * inject library's environment: our library first in LD_PRELOAD, libfiu's
 * next, the user's preloads kept after them; no library, no change to
 * LD_PRELOAD; inherited inject variables never pass through; each
 * variable appears once; and the fixed base holds a system PATH.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "fault.h"
#include "inject-env.h"
#include "rollback.h"

/* The value of name in env, or NULL; fails when it is there twice. */
static const char *value(char **env, const char *name)
{
	const char *found = NULL;
	size_t n = strlen(name), i;

	for (i = 0; env[i]; i++) {
		if (strncmp(env[i], name, n) || env[i][n] != '=')
			continue;
		assert_null(found);
		found = env[i] + n + 1;
	}
	return found;
}

static void ours_first_then_fiu_then_theirs(void **state)
{
	char *base[] = { "HOME=/h", "LD_PRELOAD=/u/one.so:/u/two.so", "PATH=/bin", NULL };
	struct inject_env ie = INJECT_ENV_INIT;
	char **env;

	(void)state;
	ie.library = "/lib/libpycstorm-inject.so";
	ie.fiu_preload = "/lib/fiu_posix_preload.so";
	env = inject_env_build(base, &ie);
	assert_string_equal(value(env, "LD_PRELOAD"),
			    "/lib/libpycstorm-inject.so:/lib/fiu_posix_preload.so:/u/one.so:/u/two.so");
	assert_string_equal(value(env, "HOME"), "/h");
	assert_string_equal(value(env, "PATH"), "/bin");
	inject_env_free(env);
	/* Without fiu, and with no preload of the user's. */
	ie.fiu_preload = NULL;
	base[1] = "LD_PRELOAD=";
	env = inject_env_build(base, &ie);
	assert_string_equal(value(env, "LD_PRELOAD"), "/lib/libpycstorm-inject.so");
	inject_env_free(env);
}

static void no_library_leaves_preload_alone(void **state)
{
	char *base[] = { "LD_PRELOAD=/u/one.so", NULL };
	struct inject_env ie = INJECT_ENV_INIT;
	char **env;

	(void)state;
	env = inject_env_build(base, &ie);
	assert_string_equal(value(env, "LD_PRELOAD"), "/u/one.so");
	inject_env_free(env);
}

static void inherited_inject_variables_are_replaced(void **state)
{
	char *base[] = {
		INJECT_ENV_FAULTS "=crash:p=1", INJECT_ENV_DIRS "=/outer", INJECT_ENV_NAMES "=x",
		INJECT_ENV_ROOT "=/outer", INJECT_ENV_SEED "=9", INJECT_ENV_WORKER "=9",
		INJECT_ENV_STATE "=/outer/.state", EVENT_FD_ENV "=901", ROLLBACK_ENV_TRACE "=1",
		"PYCSTORM_FAULTSX=kept", "KEEP=1", NULL,
	};
	struct inject_env ie = INJECT_ENV_INIT;
	char **env;

	(void)state;
	/* Nothing of ours: the outer ones are still not passed on. */
	env = inject_env_build(base, &ie);
	assert_null(value(env, INJECT_ENV_FAULTS));
	assert_null(value(env, INJECT_ENV_DIRS));
	assert_null(value(env, INJECT_ENV_NAMES));
	assert_null(value(env, INJECT_ENV_ROOT));
	assert_null(value(env, INJECT_ENV_SEED));
	assert_null(value(env, INJECT_ENV_WORKER));
	assert_null(value(env, INJECT_ENV_STATE));
	assert_null(value(env, EVENT_FD_ENV));
	assert_null(value(env, ROLLBACK_ENV_TRACE));
	assert_string_equal(value(env, "PYCSTORM_FAULTSX"), "kept");
	assert_string_equal(value(env, "KEEP"), "1");
	inject_env_free(env);
	/* Ours, once each. */
	ie.library = "/lib/inject.so";
	ie.faults = "short-write:p=0.5";
	ie.dirs = "/c/s";
	ie.cache_root = "/c";
	ie.state_dir = "/c/.state";
	ie.has_seed = 1;
	ie.seed = 18446744073709551615ull;
	ie.worker = 3;
	ie.event_fd = 3;
	ie.trace = 1;
	env = inject_env_build(base, &ie);
	assert_string_equal(value(env, INJECT_ENV_FAULTS), "short-write:p=0.5");
	assert_string_equal(value(env, INJECT_ENV_DIRS), "/c/s");
	assert_null(value(env, INJECT_ENV_NAMES));
	assert_string_equal(value(env, INJECT_ENV_ROOT), "/c");
	assert_string_equal(value(env, INJECT_ENV_STATE), "/c/.state");
	assert_string_equal(value(env, INJECT_ENV_SEED), "18446744073709551615");
	assert_string_equal(value(env, INJECT_ENV_WORKER), "3");
	assert_string_equal(value(env, EVENT_FD_ENV), "3");
	assert_string_equal(value(env, ROLLBACK_ENV_TRACE), "1");
	assert_string_equal(value(env, "LD_PRELOAD"), "/lib/inject.so");
	inject_env_free(env);
}

static void fixed_base_has_a_system_path(void **state)
{
	char **env;

	(void)state;
	assert_int_equal(setenv("ASAN_OPTIONS", "x=1", 1), 0);
	assert_int_equal(setenv("HOME", "/somewhere", 1), 0);
	env = inject_env_fixed_base();
	assert_string_equal(value(env, "PATH"), "/usr/bin:/bin");
	assert_string_equal(value(env, "ASAN_OPTIONS"), "x=1");
	assert_null(value(env, "HOME"));
	inject_env_free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ours_first_then_fiu_then_theirs),
		cmocka_unit_test(no_library_leaves_preload_alone),
		cmocka_unit_test(inherited_inject_variables_are_replaced),
		cmocka_unit_test(fixed_base_has_a_system_path),
	};

	return cmocka_run_group_tests_name("inject-env", tests, NULL, NULL);
}
