/* Run folders; see rundir.h. */
#include "rundir.h"

#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t rundir_random_seed(void)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = wall_ns() ^ ((uint64_t)getpid() << 32);
	return seed % 10000000000ull;
}

/* A reused -o folder keeps nothing of the run before: old evidence would
 * hold the slots and old logs would mix with new ones. Only our files go. */
static void clear_run_folder(const char *dir)
{
	static const char *const ours[] = {
		"evidence", "faults", "events.jsonl", "summary.json", "summary.md", "summary.csv",
		"report.html", "replay.args", "output", "touched", "damage.txt",
	};
	char *path;
	size_t i;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		path = xasprintf("%s/%s", dir, ours[i]);
		(void)remove_tree(path);
		free(path);
	}
}

char *rundir_create(const char *out_dir, uint64_t seed, char **id_out)
{
	char stamp[32], *dir = NULL, *id = NULL;
	time_t t = time(NULL);
	struct tm tm;
	int rc, k;

	*id_out = NULL;
	if (out_dir) {
		rc = mkdir_p(out_dir, 0755);
		if (rc < 0)
			die(EXIT_SKIP, "cannot create run folder '%s': %s", out_dir, strerror(-rc));
		clear_run_folder(out_dir);
		return xstrdup(out_dir);
	}
	(void)gmtime_r(&t, &tm);
	(void)strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	rc = mkdir_p("results/runs", 0755);
	for (k = 1; rc == 0; k++) {
		free(id);
		free(dir);
		id = k == 1 ? xasprintf("%s-%" PRIu64, stamp, seed)
			    : xasprintf("%s-%" PRIu64 "-%d", stamp, seed, k);
		dir = xasprintf("results/runs/%s", id);
		if (mkdir(dir, 0755) == 0)
			break;
		if (errno != EEXIST)
			rc = -errno;
	}
	if (rc < 0)
		die(EXIT_SKIP, "cannot create run folder under 'results/runs': %s", strerror(-rc));
	*id_out = id;
	return dir;
}

void rundir_point_latest(const char *id)
{
	if (!id)
		return;
	(void)unlink("results/runs/latest.new");
	if (symlink(id, "results/runs/latest.new") == 0 &&
	    rename("results/runs/latest.new", "results/runs/latest") < 0)
		(void)unlink("results/runs/latest.new");
}

char *rundir_iso_now(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	(void)gmtime_r(&t, &tm);
	(void)strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}
