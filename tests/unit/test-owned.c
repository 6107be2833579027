/*
 * Unit tests for runners/base/owned.c, in a mkdtemp folder: taking a missing,
 * an empty, a marked and a foreign folder; the lock between two holders;
 * clearing only what the marker lists; markers that are not ours; the
 * refusals for a file, the root and the home folder; paths through links
 * and ".."; and the sweep of temporary folders left by dead owners.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "unit-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "owned.h"

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));

	if (unit_scratch_dir(fx->dir, sizeof(fx->dir), "/tmp/pycstorm-test-owned-XXXXXX") < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	int rc = remove_tree(fx->dir);

	free(fx);
	return rc;
}

static char *in(const struct fixture *fx, const char *rel)
{
	return xasprintf("%s/%s", fx->dir, rel);
}

static void put(const char *path, const char *text)
{
	assert_int_equal(write_file_atomic(path, text, strlen(text)), 0);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void missing_folder_is_made_and_marked(void **state)
{
	struct fixture *fx = *state;
	char *path = in(fx, "a/b/run"), *marker = in(fx, "a/b/run/" OWNED_MARKER), *text;
	struct owned o;
	size_t len;

	assert_int_equal(owned_take(&o, path, OWNED_RUN, OWNED_CREATE), 0);
	assert_true(o.fd >= 0);
	assert_string_equal(o.path, path);
	assert_int_equal(read_file(marker, &text, &len), 0);
	assert_non_null(strstr(text, "pycstorm-owned 1\nkind run\n"));
	assert_non_null(strstr(text, "\npid "));
	free(text);
	owned_release(&o);
	free(marker);
	free(path);
}

static void second_holder_is_refused(void **state)
{
	struct fixture *fx = *state;
	char *path = in(fx, "run");
	struct owned a, b;
	char why[128];

	assert_int_equal(owned_take(&a, path, OWNED_RUN, OWNED_CREATE), 0);
	assert_int_equal(owned_take(&b, path, OWNED_RUN, OWNED_CREATE | OWNED_CLEAR), OWNED_IN_USE);
	assert_int_equal(b.holder, (long)getpid());
	assert_true(owned_is_refusal(OWNED_IN_USE));
	assert_string_equal(owned_problem(&b, OWNED_IN_USE, why, sizeof(why)),
			    "is already in use by this pycstorm");
	owned_release(&b);
	owned_release(&a);
	/* released, it can be taken again */
	assert_int_equal(owned_take(&b, path, OWNED_RUN, OWNED_CREATE), 0);
	owned_release(&b);
	free(path);
}

static void clear_removes_only_what_is_listed(void **state)
{
	struct fixture *fx = *state;
	char *path = in(fx, "run"), *ours = in(fx, "run/summary.json"), *theirs = in(fx, "run/notes");
	char *sub = in(fx, "run/evidence/x"), *outside = in(fx, "outside"), *kept = in(fx, "outside/f");
	char *link = in(fx, "run/faults");
	struct owned o;

	assert_int_equal(owned_take(&o, path, OWNED_RUN, OWNED_CREATE), 0);
	assert_int_equal(owned_add(&o, "summary.json"), 0);
	assert_int_equal(owned_add(&o, "evidence"), 0);
	assert_int_equal(owned_add(&o, "faults"), 0);
	owned_release(&o);
	put(ours, "old");
	put(theirs, "mine");
	assert_int_equal(mkdir_p(sub, 0755), 0);
	assert_int_equal(mkdir_p(outside, 0755), 0);
	put(kept, "mine");
	/* a listed name that is now a link: the link goes, never its target */
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(owned_take(&o, path, OWNED_RUN, OWNED_CREATE | OWNED_CLEAR), 0);
	assert_false(exists(ours));
	assert_false(exists(sub));
	assert_false(exists(link));
	assert_true(exists(theirs));
	assert_true(exists(kept));
	owned_release(&o);
	free(path);
	free(ours);
	free(theirs);
	free(sub);
	free(outside);
	free(kept);
	free(link);
}

static void star_clears_everything_but_the_marker(void **state)
{
	struct fixture *fx = *state;
	char *path = in(fx, "state"), *a = in(fx, "state/pending-1"), *marker;
	struct owned o;

	assert_int_equal(owned_take(&o, path, OWNED_STATE, OWNED_CREATE), 0);
	assert_int_equal(owned_add(&o, "*"), 0);
	owned_release(&o);
	put(a, "x");
	assert_int_equal(owned_take(&o, path, OWNED_STATE, OWNED_CREATE | OWNED_CLEAR), 0);
	assert_false(exists(a));
	marker = in(fx, "state/" OWNED_MARKER);
	assert_true(exists(marker));
	assert_int_equal(owned_remove(&o), 0);
	assert_false(exists(path));
	free(marker);
	free(a);
	free(path);
}

static void foreign_folders_are_refused(void **state)
{
	struct fixture *fx = *state;
	char *full = in(fx, "full"), *file = in(fx, "full/notes"), *plain = in(fx, "file");
	char *forged = in(fx, "forged"), *fmarker = in(fx, "forged/" OWNED_MARKER);
	char *victim = in(fx, "forged/keep"), *run = in(fx, "run"), why[128];
	struct owned o;

	assert_int_equal(mkdir_p(full, 0755), 0);
	put(file, "mine");
	assert_int_equal(owned_take(&o, full, OWNED_RUN, OWNED_CREATE | OWNED_CLEAR), OWNED_NOT_EMPTY);
	assert_string_equal(owned_problem(&o, OWNED_NOT_EMPTY, why, sizeof(why)),
			    "is not empty and not a pycstorm run folder");
	owned_release(&o);
	assert_true(exists(file));
	/* without OWNED_CREATE, even an empty folder is not taken */
	assert_int_equal(owned_take(&o, fx->dir, OWNED_RUN, 0), OWNED_NOT_EMPTY);
	owned_release(&o);

	put(plain, "x");
	assert_int_equal(owned_take(&o, plain, OWNED_RUN, OWNED_CREATE), OWNED_NOT_FOLDER);
	owned_release(&o);
	assert_int_equal(owned_take(&o, "", OWNED_RUN, OWNED_CREATE), OWNED_NO_NAME);
	owned_release(&o);
	assert_int_equal(owned_take(&o, "/", OWNED_RUN, OWNED_CREATE), OWNED_PROTECTED);
	owned_release(&o);

	/* a marker that lists a path outside is not one we wrote: nothing goes */
	assert_int_equal(mkdir_p(forged, 0755), 0);
	put(fmarker, "pycstorm-owned 1\nkind run\ntemporary 0\npid 1\nstart 1\ncreated 0\n"
		     "owns ../outside\n");
	put(victim, "mine");
	assert_int_equal(owned_take(&o, forged, OWNED_RUN, OWNED_CREATE | OWNED_CLEAR),
			 OWNED_NOT_EMPTY);
	owned_release(&o);
	assert_true(exists(victim));

	/* a run folder is not a cache folder */
	assert_int_equal(owned_take(&o, run, OWNED_RUN, OWNED_CREATE), 0);
	owned_release(&o);
	assert_int_equal(owned_take(&o, run, OWNED_CACHE, OWNED_CREATE), OWNED_OTHER_KIND);
	assert_string_equal(owned_problem(&o, OWNED_OTHER_KIND, why, sizeof(why)),
			    "is a pycstorm run folder, not a cache folder");
	owned_release(&o);
	free(full);
	free(file);
	free(plain);
	free(forged);
	free(fmarker);
	free(victim);
	free(run);
}

static void home_is_refused(void **state)
{
	struct fixture *fx = *state;
	char *home = in(fx, "home"), *link = in(fx, "home-link"), *old = getenv("HOME");
	char *saved = old ? xstrdup(old) : NULL;
	struct owned o;

	assert_int_equal(mkdir_p(home, 0755), 0);
	assert_int_equal(symlink(home, link), 0);
	assert_int_equal(setenv("HOME", home, 1), 0);
	assert_int_equal(owned_take(&o, home, OWNED_RUN, OWNED_CREATE), OWNED_PROTECTED);
	owned_release(&o);
	assert_int_equal(owned_take(&o, link, OWNED_RUN, OWNED_CREATE), OWNED_PROTECTED);
	assert_string_equal(o.path, home);
	owned_release(&o);
	if (saved)
		assert_int_equal(setenv("HOME", saved, 1), 0);
	else
		assert_int_equal(unsetenv("HOME"), 0);
	free(saved);
	free(home);
	free(link);
}

/* Decisions are made where a path leads: links resolved, ".." folded, also
 * below a folder that does not exist yet. */
static void paths_are_resolved(void **state)
{
	struct fixture *fx = *state;
	char *real = in(fx, "real"), *link = in(fx, "link"), *via = in(fx, "link/new/../run");
	char *want = in(fx, "real/run");
	struct owned o;

	assert_int_equal(mkdir_p(real, 0755), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(owned_take(&o, via, OWNED_RUN, OWNED_CREATE), 0);
	assert_string_equal(o.path, want);
	assert_true(exists(want));
	owned_release(&o);
	free(real);
	free(link);
	free(via);
	free(want);
}

static void names_must_be_plain(void **state)
{
	struct fixture *fx = *state;
	char *path = in(fx, "run");
	static const char *const bad[] = { "", ".", "..", "../x", "a/b", "x\ny", OWNED_MARKER };
	struct owned o;
	size_t i;

	assert_int_equal(owned_take(&o, path, OWNED_RUN, OWNED_CREATE), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(owned_add(&o, bad[i]), -EINVAL);
	assert_int_equal(owned_add(&o, "summary.json"), 0);
	owned_release(&o);
	free(path);
}

/* A pid that was in use a moment ago and is not now. */
static long dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return (long)pid;
}

/* parent/name with a marker of our uid: temporary or not, owner pid. */
static void marked(const struct fixture *fx, const char *name, int temporary, long pid)
{
	char *dir = in(fx, name), *marker = xasprintf("%s/" OWNED_MARKER, dir), *text, *keep;

	assert_int_equal(mkdir_p(dir, 0755), 0);
	text = xasprintf("pycstorm-owned 1\nkind cache\ntemporary %d\npid %ld\nstart 1\ncreated 0\n",
			 temporary, pid);
	put(marker, text);
	keep = xasprintf("%s/file", dir);
	put(keep, "x");
	free(keep);
	free(text);
	free(marker);
	free(dir);
}

static void sweep_takes_only_dead_temporary_folders(void **state)
{
	struct fixture *fx = *state;
	char *dead = in(fx, "pycstorm-dead"), *kept = in(fx, "pycstorm-kept");
	char *plain = in(fx, "pycstorm-plain"), *other = in(fx, "other-dead");
	char *link = in(fx, "pycstorm-link"), *target = in(fx, "target-dead"), *mine;
	struct owned live;
	long gone = dead_pid();

	marked(fx, "pycstorm-dead", 1, gone);
	marked(fx, "pycstorm-kept", 0, gone);
	marked(fx, "other-dead", 1, gone);
	marked(fx, "target-dead", 1, gone);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(mkdir_p(plain, 0755), 0);
	/* a live owner: this process, its lock released */
	assert_int_equal(owned_make_temp(&live, fx->dir, "pycstorm-", OWNED_CACHE, OWNED_TEMPORARY), 0);
	mine = xstrdup(live.path);
	owned_release(&live);

	assert_int_equal(owned_sweep(fx->dir, "pycstorm-"), 1);
	assert_false(exists(dead));
	assert_true(exists(kept));
	assert_true(exists(plain));
	assert_true(exists(other));   /* not named as ours */
	assert_true(exists(link));
	assert_true(exists(target));
	assert_true(exists(mine));
	free(dead);
	free(kept);
	free(plain);
	free(other);
	free(link);
	free(target);
	free(mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(missing_folder_is_made_and_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(second_holder_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(clear_removes_only_what_is_listed, setup, teardown),
		cmocka_unit_test_setup_teardown(star_clears_everything_but_the_marker, setup, teardown),
		cmocka_unit_test_setup_teardown(foreign_folders_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(home_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(paths_are_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(names_must_be_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(sweep_takes_only_dead_temporary_folders, setup, teardown),
	};

	return cmocka_run_group_tests_name("owned", tests, NULL, NULL);
}
