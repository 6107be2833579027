/* Shared by the preload library and the lock holder; see lockstate.h. */
#include "lockstate.h"

#include "common.h"

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	return hash_fnv1a(HASH_FNV1A_INIT, path, strlen(path));
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

int lockstate_hand_over(int fd, const char *path, const char *state_dir)
{
	struct sockaddr_un addr;
	socklen_t addr_len;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)path, .iov_len = strlen(path) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;
	int sock, rc = -1;

	if (iov.iov_len == 0 || iov.iov_len > LOCKSTATE_GRAB_PATH_MAX ||
	    lockstate_grab_address(&addr, &addr_len, state_dir) < 0)
		return -1;
	msg.msg_name = &addr;
	msg.msg_namelen = addr_len;
	memset(&control, 0, sizeof(control));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock >= 0) {
		rc = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -1 : 0;
		/* In the inject library this runs inside a hook, where its own
		 * close() wrapper passes straight through to the real one. */
		(void)close(sock);
	}
	return rc;
}
