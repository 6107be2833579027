/* Shared by the preload library and the lock holder; see lockstate.h. */
#include "lockstate.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lockstate_fd_held(int fd)
{
	/* F_OFD_GETLK only asks: two renamers testing at once never see each
	 * other, only a holder's read lock shows up. */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return 0;
	return fl.l_type != F_UNLCK;
}

static uint64_t path_hash(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

void lockstate_marker(char *buf, size_t size, const char *state_dir, const char *path)
{
	(void)snprintf(buf, size, "%s/pending-%016llx", state_dir,
		       (unsigned long long)path_hash(path));
}

int lockstate_grab_address(struct sockaddr_un *addr, socklen_t *len, const char *state_dir)
{
	char resolved[PATH_MAX];
	int n;

	if (!state_dir || !realpath(state_dir, resolved))
		return -1;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* sun_path[0] stays 0: the abstract namespace. */
	n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1, "pycstorm-grab-%016llx",
		     (unsigned long long)path_hash(resolved));
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	return 0;
}
