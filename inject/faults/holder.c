/*
 * The lock holder; see holder.h. It lives in a child the orchestrator
 * forks with proc_fork (the orchestrator never hosts an interpreter, so
 * forking is safe), dies with it, and touches nothing but the one cache
 * folder it was given.
 */
#include "holder.h"

#include "common.h"
#include "lockstate.h"
#include "proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t holder_stop;

static void on_term(int sig)
{
	(void)sig;
	holder_stop = 1;
}

/* Reservoir-sample the regular files below dir (a few levels deep). */
static void sample_files(const char *dir, int depth, struct rng *rng, uint64_t *seen,
			 char **chosen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *path;

	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR && depth > 0) {
			sample_files(path, depth - 1, rng, seen, chosen);
		} else if (e->d_type == DT_REG && rng_range(rng, 0, (*seen)++) == 0) {
			free(*chosen);
			*chosen = path;
			path = NULL;
		}
		free(path);
	}
	if (d)
		(void)closedir(d);
}

/* Pick one regular file of the cache folder, uniformly; malloc'd or NULL. */
static char *pick_file(const char *top, struct rng *rng)
{
	char *chosen = NULL;
	uint64_t seen = 0;

	sample_files(top, 3, rng, &seen, &chosen);
	return chosen;
}

/* Let go of path: if someone deleted it meanwhile, the delete completes now. */
static void release(int fd, const char *path, const char *state_dir)
{
	char marker[4200];
	struct stat held, now;

	lockstate_marker(marker, sizeof(marker), state_dir, path);
	if (access(marker, F_OK) == 0 && fstat(fd, &held) == 0 && stat(path, &now) == 0 &&
	    held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
		(void)unlink(path);
		(void)unlink(marker);
	}
	(void)close(fd);
}

static void hold_one(const struct holder_plan *plan, struct rng *rng)
{
	char *path = pick_file(plan->dir, rng);
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;

	if (fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0) {
		sleep_ns(rng_range(rng, plan->hold_lo_ns, plan->hold_hi_ns));
		release(fd, path, plan->state_dir);
	} else if (fd >= 0) {
		(void)close(fd);
	}
	free(path);
	sleep_ns(rng_range(rng, plan->gap_lo_ns, plan->gap_hi_ns));
}

void holder_run(const struct holder_plan *plan)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct rng rng;

	/* proc_fork left SIGTERM blocked: one sent before this handler was in
	 * place waits for it instead of being lost. */
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)signal(SIGINT, SIG_IGN);
	proc_unblock();
	rng_init(&rng, plan->seed);
	/* Never hold forever: a gap of 0 still yields between holds. */
	while (!holder_stop)
		hold_one(plan, &rng);
	_exit(0);
}
