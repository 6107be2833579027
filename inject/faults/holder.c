/*
 * The lock holder; see holder.h. It lives in a child the orchestrator
 * forks with proc_fork (the orchestrator never hosts an interpreter, so
 * forking is safe), dies with it, and touches nothing but the cache folder
 * it was given and the files handed to it.
 *
 * One loop: let go of what is due, pick the next random file when the
 * gap is over, and wait for the next deadline or a handed-over file,
 * whichever comes first. SIGTERM is blocked except inside that wait, so a
 * stop is never lost between the check and the wait.
 */
#include "holder.h"

#include "common.h"
#include "lockstate.h"
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* One held file: the picked one, or one handed over. */
struct held {
	int fd;
	char *path;               /* as it was when taken: a pending delete of it completes */
	uint64_t until_ns;
};

struct holder {
	const struct holder_plan *plan;
	struct rng rng;
	struct held picked;       /* fd -1: none */
	uint64_t next_pick_ns;
	struct held grabbed[HOLDER_MAX_GRABBED];
	size_t ngrabbed;
};

static volatile sig_atomic_t holder_stop;

static void on_term(int sig)
{
	(void)sig;
	holder_stop = 1;
}

int holder_grab_socket(const char *state_dir)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd;

	if (lockstate_grab_address(&addr, &len, state_dir) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, len) < 0) {
		int e = errno;
		(void)close(fd);
		errno = e;
		fd = -1;
	}
	return fd;
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

/*
 * The name the held file has now, as the kernel resolves it, which is how
 * the inject library names it too: a new file is usually renamed while
 * held. What it was called when taken when the kernel cannot say.
 */
static const char *name_now(const struct held *h, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", h->fd);
	n = readlink(link, buf, size - 1);
	if (n <= 0 || buf[0] != '/')
		return h->path;
	buf[n] = '\0';
	return buf;
}

/* Let go of one: if someone deleted it meanwhile, the delete completes now. */
static void release(struct held *h, const char *state_dir)
{
	char marker[4200], buf[4200];
	const char *path = name_now(h, buf, sizeof(buf));
	struct stat held, now;

	lockstate_marker(marker, sizeof(marker), state_dir, path);
	if (access(marker, F_OK) == 0 && fstat(h->fd, &held) == 0 && stat(path, &now) == 0 &&
	    held.st_ino == now.st_ino && held.st_dev == now.st_dev) {
		(void)unlink(path);
		(void)unlink(marker);
	}
	(void)close(h->fd);
	free(h->path);
	h->fd = -1;
	h->path = NULL;
}

static uint64_t hold_for(struct holder *ho)
{
	return rng_range(&ho->rng, ho->plan->hold_lo_ns, ho->plan->hold_hi_ns);
}

/* The random pick: one file at a time, then a gap. */
static void pick_next(struct holder *ho, uint64_t now)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	char *path = pick_file(ho->plan->dir, &ho->rng);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	uint64_t hold = 0;

	if (fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0) {
		hold = hold_for(ho);
		ho->picked = (struct held){ .fd = fd, .path = path, .until_ns = now + hold };
		path = NULL;
	} else if (fd >= 0) {
		(void)close(fd);
	}
	free(path);
	ho->next_pick_ns = now + hold + rng_range(&ho->rng, ho->plan->gap_lo_ns, ho->plan->gap_hi_ns);
}

/* The descriptor a datagram carried, or -1 (none, or not a regular file). */
static int carried_fd(struct msghdr *msg)
{
	struct cmsghdr *cm = CMSG_FIRSTHDR(msg);
	struct stat st;
	int fd = -1;

	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		(void)close(fd);
		fd = -1;
	}
	return fd;
}

/* Take one file waiting on the socket; 0 when none was waiting. */
static int take_one(struct holder *ho, uint64_t now)
{
	char path[LOCKSTATE_GRAB_PATH_MAX + 1];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = path, .iov_len = sizeof(path) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n = recvmsg(ho->plan->grab_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fd;

	if (n < 0)
		return 0;
	fd = carried_fd(&msg);
	path[n] = '\0';
	if (fd < 0 || n == 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    ho->ngrabbed == HOLDER_MAX_GRABBED) {
		if (fd >= 0)
			(void)close(fd);
		return 1;
	}
	ho->grabbed[ho->ngrabbed++] =
		(struct held){ .fd = fd, .path = xstrdup(path), .until_ns = now + hold_for(ho) };
	return 1;
}

static void release_due(struct holder *ho, uint64_t now, int all)
{
	size_t i = 0;

	if (ho->picked.fd >= 0 && (all || now >= ho->picked.until_ns))
		release(&ho->picked, ho->plan->state_dir);
	while (i < ho->ngrabbed) {
		if (all || now >= ho->grabbed[i].until_ns) {
			release(&ho->grabbed[i], ho->plan->state_dir);
			ho->grabbed[i] = ho->grabbed[--ho->ngrabbed];
		} else {
			i++;
		}
	}
}

/* The next moment something is due: a release or the next pick. */
static uint64_t next_due(const struct holder *ho)
{
	uint64_t due = UINT64_MAX;
	size_t i;

	if (ho->picked.fd >= 0)
		due = ho->picked.until_ns;
	else if (ho->plan->dir)
		due = ho->next_pick_ns;
	for (i = 0; i < ho->ngrabbed; i++)
		if (ho->grabbed[i].until_ns < due)
			due = ho->grabbed[i].until_ns;
	return due;
}

/* Sleep until due or a handed-over file, with SIGTERM let in meanwhile. */
static void wait_until(const struct holder *ho, uint64_t due, const sigset_t *open_mask)
{
	struct pollfd pfd = { .fd = ho->plan->grab_fd, .events = POLLIN };
	uint64_t now = now_ns(), left = due > now ? due - now : 0;
	/* Nothing due (no folder, nothing held): wake now and then all the same. */
	struct timespec ts = { .tv_sec = due == UINT64_MAX ? 1 : (time_t)(left / 1000000000u),
			       .tv_nsec = due == UINT64_MAX ? 0 : (long)(left % 1000000000u) };

	(void)ppoll(&pfd, ho->plan->grab_fd >= 0 ? 1 : 0, &ts, open_mask);
}

void holder_run(const struct holder_plan *plan)
{
	struct sigaction sa = { .sa_handler = on_term };
	struct holder ho = { .plan = plan, .picked = { .fd = -1 } };
	sigset_t term, open_mask;
	uint64_t now;

	/* proc_fork left SIGTERM blocked: one sent before this handler was in
	 * place waits for it instead of being lost. It stays blocked outside
	 * the wait, which lets it in. */
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)signal(SIGINT, SIG_IGN);
	proc_unblock();
	(void)sigemptyset(&term);
	(void)sigaddset(&term, SIGTERM);
	(void)sigprocmask(SIG_BLOCK, &term, &open_mask);
	(void)sigdelset(&open_mask, SIGTERM);
	rng_init(&ho.rng, plan->seed);
	ho.next_pick_ns = now_ns();
	while (!holder_stop) {
		now = now_ns();
		release_due(&ho, now, 0);
		if (plan->dir && ho.picked.fd < 0 && now >= ho.next_pick_ns)
			pick_next(&ho, now);
		while (plan->grab_fd >= 0 && take_one(&ho, now))
			;
		wait_until(&ho, next_due(&ho), &open_mask);
	}
	release_due(&ho, now_ns(), 1);
	_exit(0);
}
