/*
 * One round of `pycstorm exec`; see exec-round.h.
 *
 * Ownership: this process owns the read ends of the record pipes, the
 * output files and the lock holders; each copy owns its process group
 * (when its output goes to files) and whatever it starts. We never host an
 * interpreter, so forking holders here is safe.
 */
#include "exec-round.h"

#include "common.h"
#include "holder.h"
#include "inject-env.h"
#include "proc.h"
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The record pipe's write end goes this high: the command's children may
 * close it (Python's subprocess closes every descriptor it does not pass
 * on) and reuse its number for a file of their own, and the inject library
 * would then write records into that file. Descriptors are handed out
 * lowest first, so a high number is almost never reused. */
#define RECORD_FD_FLOOR 900
/* How long we keep listening after a copy exits, for its children. */
#define LISTEN_AFTER_EXIT_NS 300000000ull
/* How often the lock holders move to the cache folders that exist now. */
#define HOLDER_ROTATION_NS 500000000ull
#define MAX_HOLDERS PROC_HOLDERS_MAX

struct holders {
	pid_t grabber;               /* takes the files the copies hand over, or 0 */
	pid_t pids[MAX_HOLDERS];     /* the current holder of each slot, or 0 */
	char *dirs[MAX_HOLDERS];     /* the folder it holds files of */
	pid_t retired[MAX_HOLDERS * 8];  /* told to stop, not yet reaped */
	size_t nretired;
	unsigned n;
	unsigned rotation;
	uint64_t next_ns;
};

int exec_open_line;

uint64_t exec_copy_seed(uint64_t round_seed, unsigned k)
{
	return derive_seed(round_seed, 0x65786563ull /* "exec" */, k, 0);
}

void exec_copy_release(struct exec_copy *copy)
{
	if (copy->fault_stream)
		(void)fclose(copy->fault_stream);
	copy->fault_stream = NULL;
	if (copy->fd >= 0)
		(void)close(copy->fd);
	copy->fd = -1;
	free(copy->fault_log);
	copy->fault_log = NULL;
	copy->fault_log_len = 0;
	for (int i = 0; i < 2; i++) {
		if (copy->tee_fd[i] >= 0)
			(void)close(copy->tee_fd[i]);
		if (copy->file_fd[i] >= 0)
			(void)close(copy->file_fd[i]);
		copy->tee_fd[i] = copy->file_fd[i] = -1;
	}
}

/* ---- starting a copy ------------------------------------------------------ */

/* The command's environment plus what the inject library reads
 * (inject-env.h); free with inject_env_free. */
static char **copy_env(const struct exec_round_plan *plan, const struct exec_copy *copy,
		       int record_fd)
{
	struct inject_env ie = INJECT_ENV_INIT;

	ie.library = plan->library;
	ie.fiu_preload = plan->fiu_preload;
	if (plan->fault_env) {
		ie.faults = plan->fault_env;
		ie.dirs = plan->inject_dirs;
		ie.names = plan->inject_names;
		ie.cache_root = plan->cache_root;
		ie.state_dir = plan->state_dir;
		ie.has_seed = 1;
		ie.seed = copy->seed;
		ie.event_fd = record_fd;
	}
	if (plan->library && plan->written_dir) {
		ie.written_dir = plan->written_dir;
		ie.dirs = plan->inject_dirs;
		ie.names = plan->inject_names;
		ie.cache_root = plan->cache_root;
		ie.state_dir = plan->state_dir;
	}
	/* Always set, so a script can give its copies roles. */
	ie.worker = (int)copy->index;
	return inject_env_build(plan->env, &ie);
}

/* A pipe whose write end sits at RECORD_FD_FLOOR or above; both ends close
 * on exec until the child clears its own write end's flag. */
static int record_pipe(int fds[2])
{
	int high = -1, rc = pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;

	if (rc == 0)
		high = fcntl(fds[1], F_DUPFD_CLOEXEC, RECORD_FD_FLOOR);
	if (high >= 0) {
		(void)close(fds[1]);
		fds[1] = high;
	}
	return rc;
}

static int open_output(const char *dir, unsigned k, const char *ext)
{
	char *path = xasprintf("%s/copy-%u.%s", dir, k, ext);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	free(path);
	return fd;
}

/* In the child: wire up descriptors and signals, then become the command. */
static void become_command(const struct exec_round_plan *plan, char **env, int record_fd,
			   int out, int err)
{
	int null = !plan->tee ? open("/dev/null", O_RDONLY) : -1;

	/* A copy whose output only goes to files gets its own process group,
	 * so a timeout or Ctrl-C stops everything it started. */
	if (!plan->tee)
		(void)setpgid(0, 0);
	if (null >= 0)
		(void)dup2(null, 0);
	if (out >= 0)
		(void)dup2(out, 1);
	if (err >= 0)
		(void)dup2(err, 2);
	(void)fcntl(record_fd, F_SETFD, 0);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGPIPE, SIG_DFL);
	proc_unblock();
	execvpe(plan->argv[0], plan->argv, env);
	(void)fprintf(stderr, "pycstorm: exec: cannot run '%s': %s\n", plan->argv[0],
		      strerror(errno));
	_exit(127);   /* what a shell says for a command it cannot run */
}

/* The copy's stdout and stderr: files in output_dir, or, teeing, pipes to
 * us whose read ends go to copy->tee_fd and the files to copy->file_fd.
 * The write ends (for the child) in out, err. */
static int open_outputs(const struct exec_round_plan *plan, struct exec_copy *copy, int *out,
			int *err)
{
	int files[2] = { open_output(plan->output_dir, copy->index, "out"),
			 open_output(plan->output_dir, copy->index, "err") };
	int pipes[2][2] = { { -1, -1 }, { -1, -1 } }, rc = 0, i;

	if (files[0] < 0 || files[1] < 0)
		rc = -errno;
	for (i = 0; i < 2 && rc == 0 && plan->tee; i++)
		if (pipe2(pipes[i], O_CLOEXEC) < 0)
			rc = -errno;
	for (i = 0; i < 2; i++) {
		if (rc == 0 && plan->tee) {
			copy->tee_fd[i] = pipes[i][0];
			copy->file_fd[i] = files[i];
			(void)fcntl(pipes[i][0], F_SETFL, O_NONBLOCK);
		} else {
			if (pipes[i][0] >= 0)
				(void)close(pipes[i][0]);
			if (pipes[i][1] >= 0)
				(void)close(pipes[i][1]);
			if (rc < 0 && files[i] >= 0)
				(void)close(files[i]);
		}
	}
	*out = rc < 0 ? -1 : plan->tee ? pipes[0][1] : files[0];
	*err = rc < 0 ? -1 : plan->tee ? pipes[1][1] : files[1];
	return rc;
}

/* A descriptor that poll() sees readable when pid exits, so the round
 * notices the end at once rather than at its next turn; -1 on a kernel
 * without pidfd_open (before 5.3), where the turn's timeout notices. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#else
	(void)pid;
	return -1;
#endif
}

static int spawn_copy(const struct exec_round_plan *plan, struct exec_copy *copy)
{
	int fds[2] = { -1, -1 }, out = -1, err = -1, rc;
	char **env;

	rc = record_pipe(fds);
	if (rc == 0)
		rc = open_outputs(plan, copy, &out, &err);
	env = copy_env(plan, copy, fds[1]);
	copy->start_ns = now_ns();
	copy->pid = rc == 0 ? proc_fork() : -1;
	if (copy->pid == 0)
		become_command(plan, env, fds[1], out, err);
	if (rc == 0 && copy->pid < 0)
		rc = -errno;
	if (copy->pid > 0 && !plan->tee)
		(void)setpgid(copy->pid, copy->pid);   /* no race with the child's own */
	if (copy->pid > 0)
		copy->pidfd = open_pidfd(copy->pid);
	inject_env_free(env);
	if (fds[1] >= 0)
		(void)close(fds[1]);
	if (out >= 0)
		(void)close(out);
	if (err >= 0)
		(void)close(err);
	copy->fd = rc == 0 ? fds[0] : -1;
	if (rc == 0)
		(void)fcntl(copy->fd, F_SETFL, O_NONBLOCK);
	else if (fds[0] >= 0)
		(void)close(fds[0]);
	copy->exited = rc < 0;
	return rc;
}

/* Pass on what waits on one of a copy's output pipes: into its file and
 * onto ours (1 stdout, 2 stderr). 0 once the pipe has ended. */
static int tee_output(struct exec_copy *copy, int which)
{
	char buf[65536];
	ssize_t got;
	int fd = which + 1;

	for (;;) {
		got = read(copy->tee_fd[which], buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
		(void)write_all(copy->file_fd[which], buf, (size_t)got);
		(void)write_all(fd, buf, (size_t)got);
		exec_open_line = buf[got - 1] == '\n' ? 0 : fd;
	}
}

static void stop_teeing(struct exec_copy *copy, int which)
{
	if (copy->tee_fd[which] >= 0)
		(void)close(copy->tee_fd[which]);
	copy->tee_fd[which] = -1;
}

/* ---- listening ------------------------------------------------------------ */

struct delivery {
	const struct exec_round_plan *plan;
	struct exec_copy *copy;
};

/* Only fault lines matter here: the copies are not our workers. */
static void on_record(void *ctx, const struct record *rec)
{
	struct delivery *d = ctx;
	struct exec_copy *copy = d->copy;
	const char *text = (const char *)rec->body;

	if (rec->h.kind != EV_FAULT)
		return;
	if (!copy->fault_stream)
		copy->fault_stream = open_memstream(&copy->fault_log, &copy->fault_log_len);
	if (copy->fault_stream)
		(void)fprintf(copy->fault_stream, "%.*s\n", (int)rec->len, text);
	if (record_fault_is(rec, fault_crash.point))
		copy->crash_injected = 1;
	if (d->plan->on_fault)
		d->plan->on_fault(d->plan->ctx, copy, text, rec->len);
}

/* Read what waits on a copy's pipe; 0 when the stream has ended (end of
 * file, or garbled: see record.h). */
static int drain(const struct exec_round_plan *plan, struct exec_copy *copy)
{
	struct delivery d = { plan, copy };
	enum record_status st = record_drain(&copy->stream, copy->fd, on_record, &d);

	copy->garbled = copy->stream.garbled;
	return st != RECORD_END;
}

static void stop_listening(struct exec_copy *copy)
{
	(void)close(copy->fd);
	copy->fd = -1;
	if (copy->fault_stream)
		(void)fflush(copy->fault_stream);
}

/* ---- lock holders ------------------------------------------------------- */

static void retire_holder(struct holders *hs, unsigned slot)
{
	if (hs->pids[slot] <= 0)
		return;   /* an empty slot */
	if (hs->nretired < sizeof(hs->retired) / sizeof(hs->retired[0])) {
		(void)proc_signal(hs->pids[slot], SIGTERM);
		hs->retired[hs->nretired++] = hs->pids[slot];
	} else {
		proc_stop(&hs->pids[slot], 1);
	}
	hs->pids[slot] = 0;
	free(hs->dirs[slot]);
	hs->dirs[slot] = NULL;
}

static void start_holder(const struct exec_round_plan *plan, struct holders *hs, unsigned slot,
			 const char *dir)
{
	const struct fault_spec *spec = plan->held_lock;
	struct holder_plan hp = {
		.dir = dir, .state_dir = plan->state_dir, .grab_fd = -1,
		.seed = derive_seed(plan->seed, PROC_HOLDER_SEED_BASE + slot, hs->rotation, 0),
		.hold_lo_ns = spec->u.held_lock.hold.lo, .hold_hi_ns = spec->u.held_lock.hold.hi,
		.gap_lo_ns = spec->u.held_lock.gap.lo, .gap_hi_ns = spec->u.held_lock.gap.hi,
	};
	pid_t pid = proc_fork();

	if (pid == 0)
		holder_run(&hp);
	if (pid > 0) {
		hs->pids[slot] = pid;
		hs->dirs[slot] = xstrdup(dir);
	}
}

/*
 * Give each holder one of the cache folders that exist now, chosen from the
 * round's seed; a holder whose folder is still chosen keeps holding. New
 * folders appear while the command runs, so this is done again and again:
 * every 0.5 s, and on every turn of the round's loop while none exists.
 */
static void rotate_holders(const struct exec_round_plan *plan, struct holders *hs)
{
	struct exec_snapshot snap;
	struct rng rng;
	const char *dir;
	unsigned slot;

	if (!plan->held_lock || now_ns() < hs->next_ns)
		return;
	hs->rotation++;
	rng_init(&rng, derive_seed(plan->seed, 999, hs->rotation, 0));
	exec_snapshot_take(plan->scope, &snap);
	/* Until a cache folder exists (a fresh tree), look again at once: the
	 * folders the command creates are the ones to hold. */
	hs->next_ns = now_ns() + (snap.nfolders ? HOLDER_ROTATION_NS : 0);
	for (slot = 0; slot < hs->n && snap.nfolders; slot++) {
		dir = snap.folders[rng_range(&rng, 0, snap.nfolders - 1)];
		if (hs->dirs[slot] && !strcmp(hs->dirs[slot], dir))
			continue;
		retire_holder(hs, slot);
		start_holder(plan, hs, slot, dir);
	}
	exec_snapshot_free(&snap);
}

/*
 * The holder that takes the new files the inject library hands over at
 * their close (holder.h). It picks no files of its own and never moves, so
 * it is there from before the first copy starts: on a fresh tree the first
 * files are written before any cache folder exists for the others.
 */
static void start_grabber(const struct exec_round_plan *plan, struct holders *hs)
{
	const struct fault_spec *spec = plan->held_lock;
	struct holder_plan hp = {
		.dir = NULL, .state_dir = plan->state_dir,
		.grab_fd = spec ? holder_grab_socket(plan->state_dir) : -1,
		.seed = derive_seed(plan->seed, PROC_HOLDER_SEED_BASE + MAX_HOLDERS, 0, 0),
		.hold_lo_ns = spec ? spec->u.held_lock.hold.lo : 0,
		.hold_hi_ns = spec ? spec->u.held_lock.hold.hi : 0,
	};
	pid_t pid;

	if (hp.grab_fd < 0)
		return;
	pid = proc_fork();
	if (pid == 0)
		holder_run(&hp);
	if (pid > 0)
		hs->grabber = pid;
	(void)close(hp.grab_fd);   /* the grabber has it */
}

static void reap_retired(struct holders *hs)
{
	size_t i, kept = 0;

	for (i = 0; i < hs->nretired; i++)
		if (waitpid(hs->retired[i], NULL, WNOHANG) == 0)
			hs->retired[kept++] = hs->retired[i];
	hs->nretired = kept;
}

/* The holding ones and the retired ones alike: stopped, within a bound. */
static void stop_holders(struct holders *hs)
{
	unsigned slot;

	for (slot = 0; slot < hs->n; slot++)
		retire_holder(hs, slot);
	if (hs->grabber > 0 && hs->nretired < sizeof(hs->retired) / sizeof(hs->retired[0])) {
		(void)proc_signal(hs->grabber, SIGTERM);
		hs->retired[hs->nretired++] = hs->grabber;
	} else if (hs->grabber > 0) {
		proc_stop(&hs->grabber, 1);
	}
	hs->grabber = 0;
	proc_stop(hs->retired, hs->nretired);
	hs->nretired = 0;
}

/* ---- the round -------------------------------------------------------------- */

static void signal_copy(const struct exec_round_plan *plan, const struct exec_copy *copy, int sig)
{
	if (copy->pid > 0 && !copy->exited)
		(void)(!plan->tee ? proc_signal_group(copy->pid, sig) : proc_signal(copy->pid, sig));
}

static void close_pidfd(struct exec_copy *copy)
{
	if (copy->pidfd >= 0)
		(void)close(copy->pidfd);
	copy->pidfd = -1;
}

static void reap_copies(struct exec_copy *copies, unsigned n)
{
	unsigned k;
	int status;

	for (k = 0; k < n; k++) {
		if (copies[k].exited || waitpid(copies[k].pid, &status, WNOHANG) != copies[k].pid)
			continue;
		copies[k].exited = 1;
		copies[k].status = status;
		close_pidfd(&copies[k]);
		copies[k].end_ns = now_ns();
		copies[k].listen_until_ns = copies[k].end_ns + LISTEN_AFTER_EXIT_NS;
	}
}

/* Timeouts, the power cut and interrupts: stop copies that should not go on. */
static void police(const struct exec_round_plan *plan, struct exec_copy *copies,
		   int stop_level, int *forwarded, uint64_t start_ns)
{
	uint64_t now = now_ns();
	unsigned k;

	for (k = 0; k < plan->copies; k++) {
		struct exec_copy *c = &copies[k];
		if (plan->cut_after_ns && !c->exited && !c->cut &&
		    now - start_ns >= plan->cut_after_ns) {
			c->cut = 1;
			proc_signal_group(c->pid, SIGKILL);
			(void)proc_signal(c->pid, SIGKILL);
		}
		if (plan->timeout_ns && !c->exited && !c->timed_out &&
		    now - c->start_ns > plan->timeout_ns) {
			c->timed_out = 1;
			signal_copy(plan, c, SIGKILL);
		}
		if (stop_level > *forwarded)
			signal_copy(plan, c, stop_level > 1 ? SIGKILL : SIGTERM);
	}
	*forwarded = stop_level;
}

/* How hard to stop the copies: 0 not at all, 1 SIGTERM, 2 SIGKILL. Asked
 * once (a Ctrl-C, SIGTERM, a copy that could not start), copies get
 * PROC_STOP_GRACE_NS to go before they are killed; asked twice, at once. */
static int stop_level(int asked, uint64_t *since_ns)
{
	if (asked && !*since_ns)
		*since_ns = now_ns();
	if (asked == 1 && now_ns() - *since_ns > PROC_STOP_GRACE_NS)
		return 2;
	return asked;
}

/* Wait for records, output or an exit, then tend to the copies; 1 while
 * any is still going. pfd and map hold 4 entries per copy: records, stdout,
 * stderr, and its pidfd (an exit only wakes the wait: reap_copies reaps). */
static int step(const struct exec_round_plan *plan, struct exec_copy *copies,
		struct pollfd *pfd, unsigned *map)
{
	unsigned k, n = 0, w;
	int going = 0;

	for (k = 0; k < plan->copies; k++)
		for (w = 0; w < 4; w++) {
			int fd = w == 3 ? copies[k].pidfd : w ? copies[k].tee_fd[w - 1] : copies[k].fd;
			if (fd < 0)
				continue;
			pfd[n].fd = fd;
			pfd[n].events = POLLIN;
			map[n++] = k * 4 + w;
		}
	if (poll(pfd, n, plan->on_turn ? 10 : 50) > 0)
		for (k = 0; k < n; k++) {
			struct exec_copy *c = &copies[map[k] / 4];
			w = map[k] % 4;
			if (w == 3 || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (w == 0 && !drain(plan, c))
				stop_listening(c);
			else if (w > 0 && !tee_output(c, (int)w - 1))
				stop_teeing(c, (int)w - 1);
		}
	reap_copies(copies, plan->copies);
	for (k = 0; k < plan->copies; k++) {
		struct exec_copy *c = &copies[k];
		if (c->exited && now_ns() > c->listen_until_ns) {
			if (c->fd >= 0)
				stop_listening(c);
			stop_teeing(c, 0);
			stop_teeing(c, 1);
		}
		going |= !c->exited || c->fd >= 0 || c->tee_fd[0] >= 0 || c->tee_fd[1] >= 0;
	}
	return going;
}

int exec_round(const struct exec_round_plan *plan, struct exec_copy *copies,
	       volatile sig_atomic_t *interrupts)
{
	struct holders hs = { .n = plan->held_lock ? plan->held_lock->u.held_lock.holders : 0 };
	struct pollfd *pfd = xcalloc(4 * (size_t)plan->copies, sizeof(*pfd));
	unsigned *map = xcalloc(4 * (size_t)plan->copies, sizeof(*map)), k;
	int rc = 0, forwarded = *interrupts, aborted, level;
	uint64_t stop_since_ns = 0, start_ns = now_ns();

	if (hs.n > MAX_HOLDERS)
		hs.n = MAX_HOLDERS;
	for (k = 0; k < plan->copies; k++) {
		memset(&copies[k], 0, sizeof(copies[k]));
		copies[k].index = plan->first_index + k;
		copies[k].seed = exec_copy_seed(plan->seed, plan->first_index + k);
		copies[k].fd = copies[k].pidfd = -1;
		copies[k].tee_fd[0] = copies[k].tee_fd[1] = -1;
		copies[k].file_fd[0] = copies[k].file_fd[1] = -1;
	}
	start_grabber(plan, &hs);
	for (k = 0; k < plan->copies && rc == 0 && !*interrupts; k++)
		rc = spawn_copy(plan, &copies[k]);
	for (; k < plan->copies; k++)
		copies[k].exited = 1;   /* never started */
	/* A round that lacks a copy means nothing: stop the others. */
	aborted = rc < 0;
	do {
		level = stop_level(*interrupts + aborted, &stop_since_ns);
		if (!level)
			rotate_holders(plan, &hs);
		reap_retired(&hs);
		police(plan, copies, level, &forwarded, start_ns);
		if (plan->on_turn)
			plan->on_turn(plan->turn_ctx);
	} while (step(plan, copies, pfd, map));
	for (k = 0; k < plan->copies; k++)
		close_pidfd(&copies[k]);
	stop_holders(&hs);
	free(pfd);
	free(map);
	return rc;
}
