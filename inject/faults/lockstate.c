/* Shared by the preload library and the lock holder; see lockstate.h. */
#include "lockstate.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
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

void lockstate_marker(char *buf, size_t size, const char *state_dir, const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	(void)snprintf(buf, size, "%s/pending-%016llx", state_dir, (unsigned long long)h);
}
