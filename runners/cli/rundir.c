/* Run folders; see rundir.h. */
#include "rundir.h"

#include "common.h"
#include "format.h"

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

/* What pycstorm writes into a run folder besides the reports, whose files
 * the format registry names. A reused folder loses these, and nothing
 * else: old evidence would hold the slots and old logs would mix with new. */
static const char *const run_entries[] = {
	"evidence", "faults", "trace", "events.jsonl", "replay.args", "output", "touched", "damage.txt",
	"gate.md", "gate.xml",
};

void rundir_claim(const char *cmd, const char *option, const char *path, enum owned_kind kind,
		  unsigned flags, struct owned *own)
{
	char why[256];
	int rc = owned_take(own, path, kind, flags);

	if (rc == 0)
		return;
	(void)owned_problem(own, rc, why, sizeof(why));
	if (owned_is_refusal(rc) && own->path && strcmp(own->path, path) != 0)
		die(EXIT_USAGE, "%s: %s '%s' (%s) %s", cmd, option, path, own->path, why);
	if (owned_is_refusal(rc))
		die(EXIT_USAGE, "%s: %s '%s' %s", cmd, option, path, why);
	die(EXIT_SKIP, "%s: cannot create %s '%s': %s", cmd, owned_kind_words(kind), path, why);
}

void rundir_own(const char *cmd, struct owned *own, const char *name)
{
	int rc = owned_add(own, name);

	if (rc < 0)
		die(EXIT_SKIP, "%s: cannot mark '%s' in '%s' as pycstorm's: %s", cmd, name, own->path,
		    strerror(-rc));
}

static void own_run_entries(const char *cmd, struct owned *own)
{
	size_t i;

	for (i = 0; i < sizeof(run_entries) / sizeof(run_entries[0]); i++)
		rundir_own(cmd, own, run_entries[i]);
	for (i = 0; i < format_count; i++)
		rundir_own(cmd, own, format_table[i]->filename);
}

char *rundir_create(const char *cmd, const char *out_dir, uint64_t seed, char **id_out,
		    struct owned *own)
{
	char stamp[32], *dir = NULL, *id = NULL;
	time_t t = time(NULL);
	struct tm tm;
	int rc, k;

	*id_out = NULL;
	if (out_dir) {
		rundir_claim(cmd, "-o", out_dir, OWNED_RUN, OWNED_CREATE | OWNED_CLEAR, own);
		own_run_entries(cmd, own);
		return xstrdup(own->path);
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
		die(EXIT_SKIP, "%s: cannot create run folder under 'results/runs': %s", cmd,
		    strerror(-rc));
	rundir_claim(cmd, "run folder", dir, OWNED_RUN, OWNED_CREATE, own);
	own_run_entries(cmd, own);
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
