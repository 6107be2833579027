/*
 * Unit tests for inject/preload/scope.c, the inject library's choice of targets:
 * resolving paths that exist, partly exist or go through symbolic links;
 * and which paths are targets of a scope with and without names, on a
 * real tree in a mkdtemp folder (the escapes of issue 12 among them).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "scope.h"

/* The tree every test uses, below root (resolved):
 *   proj/__pycache__/            proj/data.txt
 *   proj/__pycache__/link -> outside/victim.txt
 *   proj/__pycache__/sub  -> outside
 *   outside/victim.txt           cache/
 *   named/__pycache__/proj/      dangling -> nowhere                 */
struct tree {
	char root[256];              /* a mkdtemp name: short */
	char cwd[PATH_MAX];
};

static char *at(const struct tree *t, const char *rel)
{
	static char buf[4][PATH_MAX];
	static unsigned next;
	char *b = buf[next++ % 4];

	(void)snprintf(b, PATH_MAX, "%s/%s", t->root, rel);
	return b;
}

static int make_tree(void **state)
{
	struct tree *t = xcalloc(1, sizeof(*t));
	char tmpl[] = "/tmp/pycstorm-test-scope-XXXXXX";
	char real[PATH_MAX];

	assert_non_null(mkdtemp(tmpl));
	assert_non_null(realpath(tmpl, real));
	assert_true(strlen(real) < sizeof(t->root));
	strcpy(t->root, real);
	assert_non_null(getcwd(t->cwd, sizeof(t->cwd)));
	assert_int_equal(mkdir_p(at(t, "proj/__pycache__"), 0755), 0);
	assert_int_equal(mkdir_p(at(t, "outside"), 0755), 0);
	assert_int_equal(mkdir_p(at(t, "cache"), 0755), 0);
	assert_int_equal(mkdir_p(at(t, "named/__pycache__/proj"), 0755), 0);
	assert_int_equal(write_file_atomic(at(t, "outside/victim.txt"), "v", 1), 0);
	assert_int_equal(write_file_atomic(at(t, "proj/data.txt"), "d", 1), 0);
	assert_int_equal(symlink(at(t, "outside/victim.txt"), at(t, "proj/__pycache__/link")), 0);
	assert_int_equal(symlink(at(t, "outside"), at(t, "proj/__pycache__/sub")), 0);
	assert_int_equal(symlink(at(t, "nowhere"), at(t, "dangling")), 0);
	*state = t;
	return 0;
}

static int remove_tree_state(void **state)
{
	struct tree *t = *state;

	assert_int_equal(chdir(t->cwd), 0);
	assert_int_equal(remove_tree(t->root), 0);
	free(t);
	return 0;
}

static void resolves_to(const char *path, int want_rc, const char *want)
{
	char out[PATH_MAX];
	int rc = scope_resolve(path, out, sizeof(out));

	if (rc != want_rc)
		fail_msg("scope_resolve('%s') = %d, expected %d", path, rc, want_rc);
	if (want && strcmp(out, want))
		fail_msg("scope_resolve('%s') = '%s', expected '%s'", path, out, want);
}

static void resolve_paths(void **state)
{
	struct tree *t = *state;
	char expect[PATH_MAX];

	resolves_to(at(t, "proj/__pycache__/"), 0, at(t, "proj/__pycache__"));
	resolves_to(at(t, "proj/__pycache__/../dotdot.txt"), 1, at(t, "proj/dotdot.txt"));
	resolves_to(at(t, "proj/__pycache__/../../outside/abs.txt"), 1, at(t, "outside/abs.txt"));
	/* A folder not created yet, with a trailing slash, matches as it will be. */
	resolves_to(at(t, "c2/"), 1, at(t, "c2"));
	resolves_to(at(t, "c2/x/../y/./z"), 1, at(t, "c2/y/z"));
	/* A link in the middle is followed, as the kernel will follow it. */
	resolves_to(at(t, "proj/__pycache__/sub/new.txt"), 1, at(t, "outside/new.txt"));
	resolves_to(at(t, "proj/__pycache__/link"), 0, at(t, "outside/victim.txt"));
	resolves_to(at(t, "proj/data.txt/sub"), -ENOTDIR, NULL);
	/* Where a dangling link leads is unknown. */
	resolves_to(at(t, "dangling/x"), -ENOENT, NULL);
	resolves_to("/", 0, "/");
	resolves_to("/..", 0, "/");
	resolves_to("", -ENOENT, NULL);
	assert_int_equal(chdir(at(t, "proj")), 0);
	resolves_to("__pycache__/../x", 1, at(t, "proj/x"));
	resolves_to(".", 0, at(t, "proj"));
	(void)snprintf(expect, sizeof(expect), "%s", at(t, "proj/new/deeper"));
	resolves_to("new/deeper", 1, expect);
}

static void target_is(struct scope *sc, unsigned gen, const char *path, int want,
		      const char *want_path)
{
	char out[PATH_MAX];
	int got = scope_target(sc, gen, path, out, sizeof(out));

	if (got != want)
		fail_msg("scope_target('%s') = %d, expected %d", path, got, want);
	if (want && want_path && strcmp(out, want_path))
		fail_msg("scope_target('%s') gave '%s', expected '%s'", path, out, want_path);
}

/* exec's default scope: named caches below the current folder. */
static void named_scope(void **state)
{
	struct tree *t = *state;
	struct scope sc;
	size_t pass;

	assert_int_equal(scope_init(&sc, at(t, "proj"), "__pycache__:.mypy_cache:dropin.cache"), 0);
	/* Twice: the second answers come from the remembered folders. */
	for (pass = 0; pass < 2; pass++) {
		target_is(&sc, 0, at(t, "proj/__pycache__/m.pyc"), 1, at(t, "proj/__pycache__/m.pyc"));
		target_is(&sc, 0, at(t, "proj/__pycache__"), 1, at(t, "proj/__pycache__"));
		target_is(&sc, 0, at(t, "proj/dropin.cache"), 1, at(t, "proj/dropin.cache"));
		target_is(&sc, 0, at(t, "proj/__pycache__/../dotdot.txt"), 0, NULL);
		target_is(&sc, 0, at(t, "proj/__pycache__/../../outside/abs.txt"), 0, NULL);
		target_is(&sc, 0, at(t, "proj/__pycache__/link"), 0, NULL);
		target_is(&sc, 0, at(t, "proj/__pycache__/sub/victim.txt"), 0, NULL);
		target_is(&sc, 0, at(t, "proj/data.txt"), 0, NULL);
		target_is(&sc, 0, at(t, "outside/__pycache__/x.pyc"), 0, NULL);
	}
	/* Relative paths follow the current folder's generation. */
	assert_int_equal(chdir(at(t, "proj")), 0);
	target_is(&sc, 1, "__pycache__/m.pyc", 1, at(t, "proj/__pycache__/m.pyc"));
	target_is(&sc, 1, "__pycache__/../dotdot.txt", 0, NULL);
	target_is(&sc, 1, "__pycache__/link", 0, NULL);
	assert_int_equal(chdir(at(t, "outside")), 0);
	target_is(&sc, 2, "__pycache__/m.pyc", 0, NULL);
	scope_release(&sc);
}

/* A scope folder whose own path holds a name: only what is below counts. */
static void names_below_the_scope_only(void **state)
{
	struct tree *t = *state;
	struct scope sc;

	assert_int_equal(scope_init(&sc, at(t, "named/__pycache__/proj"), "__pycache__"), 0);
	target_is(&sc, 0, at(t, "named/__pycache__/proj/file.txt"), 0, NULL);
	target_is(&sc, 0, at(t, "named/__pycache__/proj/sub/file.txt"), 0, NULL);
	target_is(&sc, 0, at(t, "named/__pycache__/proj/__pycache__/a.pyc"), 1,
		  at(t, "named/__pycache__/proj/__pycache__/a.pyc"));
	scope_release(&sc);
}

/* --cache-dir: every file below the folders, spelled any way. */
static void folder_scope(void **state)
{
	struct tree *t = *state;
	struct scope sc;
	char dirs[3 * PATH_MAX];

	(void)snprintf(dirs, sizeof(dirs), "%s:%s", at(t, "cache/"), at(t, "c2/"));
	assert_int_equal(scope_init(&sc, dirs, NULL), 0);
	assert_int_equal(sc.ndirs, 2);
	assert_string_equal(sc.dirs[1], at(t, "c2"));
	target_is(&sc, 0, at(t, "cache/f"), 1, at(t, "cache/f"));
	target_is(&sc, 0, at(t, "cache/./deep/../f"), 1, at(t, "cache/f"));
	target_is(&sc, 0, at(t, "cache/../data.txt"), 0, NULL);
	target_is(&sc, 0, at(t, "cachex/f"), 0, NULL);
	target_is(&sc, 0, at(t, "c2/f"), 1, at(t, "c2/f"));
	/* A folder that did not exist is not remembered: created later as a
	 * link out, it is seen for what it is. */
	target_is(&sc, 0, at(t, "cache/new/f"), 1, at(t, "cache/new/f"));
	assert_int_equal(symlink(at(t, "outside"), at(t, "cache/new")), 0);
	target_is(&sc, 0, at(t, "cache/new/f"), 0, NULL);
	/* Forgetting changes no answer. */
	scope_forget(&sc);
	target_is(&sc, 0, at(t, "cache/f"), 1, at(t, "cache/f"));
	scope_release(&sc);
}

/* Folders that could only widen the scope are left out. */
static void init_drops_root_and_unresolvable(void **state)
{
	struct tree *t = *state;
	struct scope sc;
	char dirs[3 * PATH_MAX];

	(void)snprintf(dirs, sizeof(dirs), "/:%s:/tmp/..:%s::", at(t, "proj/data.txt/sub"),
		       at(t, "cache"));
	assert_int_equal(scope_init(&sc, dirs, NULL), 3);
	assert_int_equal(sc.ndirs, 1);
	assert_string_equal(sc.dirs[0], at(t, "cache"));
	target_is(&sc, 0, at(t, "proj/data.txt"), 0, NULL);
	target_is(&sc, 0, "/etc/passwd", 0, NULL);
	scope_release(&sc);
	assert_int_equal(scope_init(&sc, "", NULL), 0);
	target_is(&sc, 0, at(t, "cache/f"), 0, NULL);
	scope_release(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(resolve_paths, make_tree, remove_tree_state),
		cmocka_unit_test_setup_teardown(named_scope, make_tree, remove_tree_state),
		cmocka_unit_test_setup_teardown(names_below_the_scope_only, make_tree,
						remove_tree_state),
		cmocka_unit_test_setup_teardown(folder_scope, make_tree, remove_tree_state),
		cmocka_unit_test_setup_teardown(init_drops_root_and_unresolvable, make_tree,
						remove_tree_state),
	};

	return cmocka_run_group_tests_name("scope", tests, NULL, NULL);
}
