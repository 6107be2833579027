/*
 * A test fixture, preloaded into pycstorm and so into its workers: every
 * evidence slot (RUN/evidence/.slots/NAME) is already taken, so a worker
 * sees its failures but keeps no copy of any. This stands in for a
 * failure that is gone before it can be copied (a merge that moves on
 * between a worker's failed import and its copy of the package), which a
 * real run meets only by chance. Never installed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef int (*mkdirat_fn)(int, const char *, mode_t);

static const char SLOTS[] = "/evidence/.slots/";

static int slot(const char *path)
{
	const char *at = path ? strstr(path, SLOTS) : NULL;

	return at && at[sizeof(SLOTS) - 1] != '\0';
}

static int forward(int dirfd, const char *path, mode_t mode)
{
	mkdirat_fn real = (mkdirat_fn)dlsym(RTLD_NEXT, "mkdirat");
	int rc = -1;

	if (slot(path))
		errno = EEXIST;
	else if (!real)
		errno = ENOSYS;
	else
		rc = real(dirfd, path, mode);
	return rc;
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	return forward(dirfd, path, mode);
}

int mkdir(const char *path, mode_t mode)
{
	return forward(AT_FDCWD, path, mode);
}
