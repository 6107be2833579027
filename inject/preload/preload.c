/*
 * libpycstorm-inject.so: the fault layer, loaded with LD_PRELOAD into every
 * worker (embedded or a real interpreter binary). It wraps the calls both
 * our C strategies and CPython's own importlib make (open, write, close,
 * fsync, rename, unlink and their *at / 64 / fortified forms) and, for paths
 * whose resolved location lies in the run's cache folders only (scope.c:
 * '..' and symbolic links followed as the kernel follows them, never
 * through a link as the last component), runs the armed faults' hooks
 * around the real call. Every decision is libfiu's: fiu_fail() on the
 * fault's point, whose external callback decides from (seed, cycle, point,
 * call number).
 *
 * Guarding: a thread-local flag keeps our own calls (markers, lock tests,
 * logging) out of the wrappers, and the fault log goes to the orchestrator
 * with a raw system call, so neither libfiu's preload nor ours touch it.
 * With nothing armed every wrapper is one branch and the real call.
 *
 * exec also has it record what the program writes to its cache files
 * (written.h), with or without faults: then the wrappers run for the
 * scope's files with no hooks, to follow each write stream.
 */
#include "common.h"
#include "event.h"
#include "fault.h"
#include "inject.h"
#include "scope.h"
#include "written.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_FDS 4096

struct armed {
	struct fault_spec spec;
	unsigned id;                 /* its place in the list, mixed into decisions */
};

static struct {
	int armed;                   /* any fault, or write streams to record */
	atomic_int failed;           /* a base helper failed: injecting stopped */
	struct armed faults[FAULT_MAX_SPECS];
	size_t nfaults;
	struct scope scope;          /* which paths are targets (scope.h) */
	char root[PATH_MAX];         /* paths in logs are relative to it, resolved */
	const char *state_dir;
	const char *written_dir;     /* where complete write streams go, or NULL */
	uint64_t seed;
	unsigned worker;
	int event_fd;
	uint64_t cycle;
	unsigned point_calls[FAULT_MAX_SPECS + 1][2];  /* per cycle, per point */
	unsigned nth[IOP_UNLINK + 1];                  /* per cycle, per op */
	unsigned calls;                                /* per cycle, every op */
	uint64_t random_state;
	uint64_t failures;           /* failed calls on cache paths, any cause */
	struct tracked {             /* cache files we saw opened, by descriptor */
		char *path;          /* resolved */
		dev_t dev;           /* which file it was, so a number closed */
		ino_t ino;           /* behind our back and reused is not mistaken */
		int flags;           /* how it was opened: close's hooks ask */
		struct written_stream stream;   /* what was asked to be written */
	} fds[MAX_FDS];
	void (*worker_flush)(void);
} S;

static __thread int busy;        /* inside our own code: pass straight through */
/* Which current folder a relative path is taken against: chdir and fchdir
 * move it on, so folders remembered for the old one are not used. */
static atomic_uint cwd_gen = 1;

/* ---- the real calls --------------------------------------------------- */

/*
 * Every call we wrap, once (as libfiu's .mod files list theirs): the
 * lookup of the real call and the exported wrapper are generated from
 * this table, so a new form of a call is one line.
 *
 *   CALL(name, return type, (parameters), (arguments), body)
 *       with a fault armed, runs body (a call of one of the shared bodies
 *       below); otherwise the real call, and nothing else
 *   OPEN_VA(name, (parameters), (arguments), folder descriptor)
 *       the open forms whose mode is a variadic argument (mode in arguments)
 *   AFTER(name, return type, (parameters), (arguments), then)
 *       always the real call, its result passed through then()
 */
#define WRAPPED_CALLS(CALL, OPEN_VA, AFTER)                                               \
	OPEN_VA(open, (const char *path, int flags, ...), (path, flags, mode), AT_FDCWD)    \
	OPEN_VA(open64, (const char *path, int flags, ...), (path, flags, mode), AT_FDCWD)  \
	OPEN_VA(openat, (int dirfd, const char *path, int flags, ...),                      \
		(dirfd, path, flags, mode), dirfd)                                          \
	OPEN_VA(openat64, (int dirfd, const char *path, int flags, ...),                    \
		(dirfd, path, flags, mode), dirfd)                                          \
	/* the fortified forms glibc uses when it cannot see the flags at compile time */  \
	CALL(__open_2, int, (const char *path, int flags), (path, flags),                  \
	     wrap_open(AT_FDCWD, path, flags, 0))                                          \
	CALL(__open64_2, int, (const char *path, int flags), (path, flags),                \
	     wrap_open(AT_FDCWD, path, flags, 0))                                          \
	CALL(__openat_2, int, (int dirfd, const char *path, int flags), (dirfd, path, flags), \
	     wrap_open(dirfd, path, flags, 0))                                             \
	CALL(__openat64_2, int, (int dirfd, const char *path, int flags),                  \
	     (dirfd, path, flags), wrap_open(dirfd, path, flags, 0))                       \
	CALL(write, ssize_t, (int fd, const void *buf, size_t count), (fd, buf, count),    \
	     wrap_write(fd, buf, count, 0, 0))                                             \
	CALL(pwrite, ssize_t, (int fd, const void *buf, size_t count, off_t off),          \
	     (fd, buf, count, off), wrap_write(fd, buf, count, off, 1))                    \
	CALL(pwrite64, ssize_t, (int fd, const void *buf, size_t count, off64_t off),      \
	     (fd, buf, count, off), wrap_write(fd, buf, count, off, 1))                    \
	CALL(close, int, (int fd), (fd), wrap_close(fd))                                   \
	/* a stream that moves or shrinks is no longer one plain write stream */          \
	CALL(lseek, off_t, (int fd, off_t off, int whence), (fd, off, whence),             \
	     wrap_seek(fd, off, whence))                                                   \
	CALL(lseek64, off64_t, (int fd, off64_t off, int whence), (fd, off, whence),       \
	     wrap_seek(fd, off, whence))                                                   \
	CALL(ftruncate, int, (int fd, off_t length), (fd, length), wrap_truncate(fd, length)) \
	CALL(ftruncate64, int, (int fd, off64_t length), (fd, length),                     \
	     wrap_truncate(fd, length))                                                    \
	CALL(fsync, int, (int fd), (fd), wrap_sync(fd, get_fsync()))                       \
	CALL(fdatasync, int, (int fd), (fd), wrap_sync(fd, get_fdatasync()))               \
	CALL(rename, int, (const char *old, const char *new_path), (old, new_path),        \
	     wrap_rename(AT_FDCWD, old, AT_FDCWD, new_path, 0, 0))                         \
	CALL(renameat, int, (int olddir, const char *old, int newdir, const char *new_path), \
	     (olddir, old, newdir, new_path), wrap_rename(olddir, old, newdir, new_path, 0, 1)) \
	CALL(renameat2, int,                                                               \
	     (int olddir, const char *old, int newdir, const char *new_path, unsigned flags), \
	     (olddir, old, newdir, new_path, flags),                                       \
	     wrap_rename(olddir, old, newdir, new_path, flags, 2))                         \
	CALL(unlink, int, (const char *path), (path), wrap_unlink(AT_FDCWD, path, 0, 0))   \
	CALL(unlinkat, int, (int dirfd, const char *path, int flags), (dirfd, path, flags), \
	     wrap_unlink(dirfd, path, flags, 1))                                           \
	/* relative paths now start somewhere else */                                      \
	AFTER(chdir, int, (const char *path), (path), cwd_moved)                           \
	AFTER(fchdir, int, (int fd), (fd), cwd_moved)

/* real_NAME, looked up on first use past every preload, and get_NAME(). */
#define REAL(name, ret, params)                                               \
	static ret(*real_##name) params;                                      \
	static ret(*get_##name(void)) params                                  \
	{                                                                     \
		if (!real_##name)                                             \
			real_##name = (ret(*) params)dlsym(RTLD_NEXT, #name); \
		return real_##name;                                           \
	}
#define REAL_CALL(name, ret, params, args, body) REAL(name, ret, params)
#define REAL_OPEN_VA(name, params, args, dirfd) REAL(name, int, params)
WRAPPED_CALLS(REAL_CALL, REAL_OPEN_VA, REAL_CALL)
#undef REAL_CALL
#undef REAL_OPEN_VA

int inject_real_open(const char *path, int flags, mode_t mode)
{
	return get_open()(path, flags, mode);
}

int inject_real_close(int fd)
{
	return get_close()(fd);
}

int inject_real_unlink(const char *path)
{
	return get_unlink()(path);
}

const char *inject_state_dir(void)
{
	return S.state_dir ? S.state_dir : "/tmp";
}

/* ---- which paths are ours ---------------------------------------------- */

/*
 * path as a call names it, relative to dirfd, resolved and judged by
 * scope.c; returns buf holding the resolved path, or NULL when it is not a
 * target. A folder given by descriptor is named by the kernel's own link
 * for it, which is already resolved.
 */
static const char *cache_path(int dirfd, const char *path, char *buf, size_t size)
{
	char base[PATH_MAX], link[64], joined[PATH_MAX];
	ssize_t n;

	if (!S.armed || busy || !path)
		return NULL;
	if (path[0] == '/' || dirfd == AT_FDCWD)
		return scope_target(&S.scope, atomic_load(&cwd_gen), path, buf, size) ? buf : NULL;
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, base, sizeof(base) - 1);
	if (n <= 0 || base[0] != '/')
		return NULL;
	base[n] = '\0';
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", base, path) >= sizeof(joined))
		return NULL;
	return scope_target(&S.scope, 0, joined, buf, size) ? buf : NULL;
}

static void forget_fd(int fd)
{
	free(S.fds[fd].path);
	S.fds[fd].path = NULL;
}

/*
 * The cache file fd was opened on, or NULL. A descriptor closed without
 * our close() (fclose after fdopen, dup2 onto it, close_range) may have
 * been reused for anything: it counts only while it is the same file.
 */
static const char *fd_cache_path(int fd)
{
	struct stat st;
	int e = errno;

	if (!S.armed || busy || fd < 0 || fd >= MAX_FDS || !S.fds[fd].path)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_dev != S.fds[fd].dev || st.st_ino != S.fds[fd].ino)
		forget_fd(fd);
	errno = e;
	return S.fds[fd].path;
}

/* ---- decisions and the log --------------------------------------------- */

static struct armed *armed_by_point(const char *point, unsigned *which)
{
	size_t i;

	for (i = 0; i < S.nfaults; i++) {
		const struct fault_info *info = S.faults[i].spec.info;
		if (!strcmp(fault_point(&S.faults[i].spec), point)) {
			*which = 0;
			return &S.faults[i];
		}
		if (info->extra_point && !strcmp(info->extra_point, point)) {
			*which = 1;
			return &S.faults[i];
		}
	}
	return NULL;
}

static void send_fault_line(const char *text, size_t len)
{
	uint8_t buf[EVENT_MAX];
	struct event_hdr hdr = { .kind = EV_FAULT, .magic = EVENT_MAGIC, .cycle = S.cycle };

	if (S.event_fd < 0)
		return;
	if (len > sizeof(buf) - sizeof(hdr))
		len = sizeof(buf) - sizeof(hdr);
	hdr.size = (uint16_t)(sizeof(hdr) + len);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), text, len);
	(void)event_send(S.event_fd, buf, hdr.size);
}

/*
 * libfiu's external callback for every point we arm. The decision depends
 * only on the seed, the cycle, the point and how many times this cycle the
 * point was asked, never on the clock.
 */
static int decide(const char *name, int *failnum, void **failinfo, unsigned int *flags)
{
	unsigned which = 0;
	struct armed *a = armed_by_point(name, &which);
	unsigned call;
	uint64_t h;
	int fire;
	char line[512];

	(void)failinfo;
	(void)flags;
	if (!a)
		return 0;
	call = ++S.point_calls[a->id][which];
	h = derive_seed(S.seed, S.cycle, (uint64_t)a->id * 2 + which, call);
	S.random_state = h;
	fire = (double)(h >> 11) * 0x1.0p-53 < a->spec.p;
	if (fire)
		*failnum = 1;
	/* libfiu's own points fire inside its preload: log them here. */
	if (fire && !a->spec.info->point) {
		int n = snprintf(line, sizeof(line), "worker=%u cycle=%llu call=%u point=%s path=-",
				 S.worker, (unsigned long long)S.cycle, call, name);
		send_fault_line(line, (size_t)n);
	}
	return fire;
}

int inject_decide(const struct fault_spec *spec, const char *point)
{
	(void)spec;
	return fiu_fail(point) != 0;
}

uint64_t inject_random(void)
{
	S.random_state = mix64(S.random_state);
	return S.random_state;
}

unsigned inject_nth(enum inject_op op)
{
	return S.nth[op];
}

unsigned inject_call_number(void)
{
	return S.calls;
}

const char *inject_relative(const char *path)
{
	size_t n = strlen(S.root);

	if (path && n && !strncmp(path, S.root, n) && path[n] == '/')
		return path + n + 1;
	return path ? path : "-";
}

void inject_fired(const char *point, const struct inject_call *call, const char *fmt, ...)
{
	char line[1024], what[512];
	va_list ap;
	int n;
	unsigned which = 0;
	struct armed *a = armed_by_point(point, &which);

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line), "worker=%u cycle=%llu call=%u point=%s path=%s%s%s %s",
		     S.worker, (unsigned long long)S.cycle,
		     a ? S.point_calls[a->id][which] : 0, point, inject_relative(call->path),
		     call->dst ? " dst=" : "", call->dst ? inject_relative(call->dst) : "", what);
	send_fault_line(line, n < 0 ? 0 : (size_t)n >= sizeof(line) ? sizeof(line) - 1 : (size_t)n);
}

void inject_crash(void)
{
	if (S.worker_flush)
		S.worker_flush();
	(void)kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

/* The worker announces each cycle, so decisions can be keyed on it. */
EXPORT void pycstorm_inject_cycle(uint64_t cycle)
{
	S.cycle = cycle;
	memset(S.point_calls, 0, sizeof(S.point_calls));
	memset(S.nth, 0, sizeof(S.nth));
	S.calls = 0;
}

/* Failed calls on cache paths so far: lets the worker see what importlib hid. */
EXPORT uint64_t pycstorm_inject_failures(void)
{
	return S.failures;
}

/* ---- running the hooks --------------------------------------------------- */

static void run_before(struct inject_call *call)
{
	size_t i;

	busy++;
	S.nth[call->op]++;
	S.calls++;
	for (i = 0; i < S.nfaults && !call->fail_errno; i++) {
		const struct fault_hooks *h = S.faults[i].spec.info->hooks;
		if (h && h->before)
			h->before(&S.faults[i].spec, call);
	}
	busy--;
}

static void run_after(struct inject_call *call, long result)
{
	size_t i;

	busy++;
	if (call->lock_fd > 0)
		(void)get_close()(call->lock_fd);
	if (result < 0)
		S.failures++;
	for (i = 0; i < S.nfaults; i++) {
		const struct fault_hooks *h = S.faults[i].spec.info->hooks;
		if (h && h->after)
			h->after(&S.faults[i].spec, call, result);
	}
	busy--;
}

/* A hook decided the call fails: count it and set errno. -1 means "skip
 * the call and report success" (a delete that became delete-pending). */
static long refused(struct inject_call *call)
{
	if (call->fail_errno == -1)
		return 0;
	S.failures++;
	errno = call->fail_errno;
	return -1;
}

/* ---- wrappers ------------------------------------------------------------ */

static void remember_fd(int fd, const char *path, int flags)
{
	struct stat st;

	if (fd < 0 || fd >= MAX_FDS)
		return;
	forget_fd(fd);
	if (fstat(fd, &st) == 0 && (S.fds[fd].path = strdup(path)) != NULL) {
		S.fds[fd].dev = st.st_dev;
		S.fds[fd].ino = st.st_ino;
		S.fds[fd].flags = flags;
		written_open(&S.fds[fd].stream, S.written_dir ? flags : O_RDONLY);
	}
}

/* The shared bodies: each runs the hooks around one kind of call on a
 * cache path, and only the real call on anything else. */

/* With no fault armed the library only records write streams (written.h):
 * a file opened to read alone is none of its business, and resolving its
 * path would cost the program a few stats for every folder it reads from. */
static int recording_ignores(int flags)
{
	return !S.nfaults && (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC));
}

static int wrap_open(int dirfd, const char *path, int flags, mode_t mode)
{
	char buf[PATH_MAX];
	const char *abs = recording_ignores(flags) ? NULL : cache_path(dirfd, path, buf, sizeof(buf));
	struct inject_call call = { .op = IOP_OPEN, .fd = -1, .path = abs, .open_flags = flags };
	int fd, e;

	if (!abs)
		return get_openat()(dirfd, path, flags, mode);
	run_before(&call);
	if (call.fail_errno)
		return (int)refused(&call);
	fd = get_openat()(dirfd, path, flags, mode);
	e = errno;
	if (fd >= 0)
		remember_fd(fd, abs, flags);
	run_after(&call, fd);
	errno = e;
	return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

/* write and pwrite share this: a hook may shorten or fail the call. */
static ssize_t wrap_write(int fd, const void *buf, size_t count, off64_t off, int positional)
{
	struct inject_call call = { .op = IOP_WRITE, .fd = fd, .path = fd_cache_path(fd),
				    .count = count, .buf = buf, .offset = positional ? off : -1 };
	ssize_t n;
	int e;

	if (!call.path)
		return positional ? get_pwrite64()(fd, buf, count, off) : get_write()(fd, buf, count);
	/* The bytes asked for, before a hook shortens or refuses them. */
	if (positional)
		written_spoil(&S.fds[fd].stream);
	else
		written_add(&S.fds[fd].stream, buf, count);
	run_before(&call);
	if (call.fail_errno)
		return (ssize_t)refused(&call);
	n = positional ? get_pwrite64()(fd, buf, call.count, off) : get_write()(fd, buf, call.count);
	e = errno;
	run_after(&call, (long)n);
	errno = e;
	return n;
}

static int wrap_close(int fd)
{
	struct inject_call call = { .op = IOP_CLOSE, .fd = fd, .path = fd_cache_path(fd) };
	int rc, e;

	if (!call.path)
		return get_close()(fd);
	call.open_flags = S.fds[fd].flags;
	run_before(&call);
	rc = get_close()(fd);   /* even a failing close closes, as on Linux */
	e = errno;
	if (rc == 0 && !call.fail_errno) {
		busy++;
		written_close(&S.fds[fd].stream, S.written_dir, call.path);
		busy--;
	}
	forget_fd(fd);
	if (call.fail_errno)
		return (int)refused(&call);
	call.path = NULL;
	run_after(&call, rc);
	errno = e;
	return rc;
}

static int wrap_sync(int fd, int (*real)(int))
{
	struct inject_call call = { .op = IOP_FSYNC, .fd = fd, .path = fd_cache_path(fd) };
	int rc, e;

	if (!call.path)
		return real(fd);
	run_before(&call);
	if (call.fail_errno)
		return (int)refused(&call);
	rc = real(fd);
	e = errno;
	run_after(&call, rc);
	errno = e;
	return rc;
}

static off64_t wrap_seek(int fd, off64_t off, int whence)
{
	int tracked = fd_cache_path(fd) != NULL;
	off64_t at = get_lseek64()(fd, off, whence);
	int e = errno;

	if (tracked && at >= 0)
		written_moved(&S.fds[fd].stream, at);
	errno = e;
	return at;
}

static int wrap_truncate(int fd, off64_t length)
{
	if (fd_cache_path(fd))
		written_spoil(&S.fds[fd].stream);
	return get_ftruncate64()(fd, length);
}

/* how: 0 rename, 1 renameat, 2 renameat2, the form the caller used. */
static int real_rename_as(int how, int olddir, const char *old, int newdir, const char *new_path,
			  unsigned flags)
{
	return how == 0   ? get_rename()(old, new_path)
	       : how == 1 ? get_renameat()(olddir, old, newdir, new_path)
			  : get_renameat2()(olddir, old, newdir, new_path, flags);
}

static int wrap_rename(int olddir, const char *old, int newdir, const char *new_path,
		       unsigned flags, int how)
{
	char b1[PATH_MAX], b2[PATH_MAX];
	const char *src = cache_path(olddir, old, b1, sizeof(b1));
	const char *dst = cache_path(newdir, new_path, b2, sizeof(b2));
	struct inject_call call = { .op = IOP_RENAME, .fd = -1, .path = src ? src : dst, .dst = dst };
	int rc, e;

	if (!dst)
		return real_rename_as(how, olddir, old, newdir, new_path, flags);
	run_before(&call);
	if (call.fail_errno)
		return (int)refused(&call);
	rc = real_rename_as(how, olddir, old, newdir, new_path, flags);
	e = errno;
	run_after(&call, rc);
	errno = e;
	return rc;
}

static int wrap_unlink(int dirfd, const char *path, int flags, int at)
{
	char buf[PATH_MAX];
	const char *abs = (flags & AT_REMOVEDIR) ? NULL : cache_path(dirfd, path, buf, sizeof(buf));
	struct inject_call call = { .op = IOP_UNLINK, .fd = -1, .path = abs };
	int rc, e;

	if (!abs)
		return at ? get_unlinkat()(dirfd, path, flags) : get_unlink()(path);
	run_before(&call);
	if (call.fail_errno)
		return (int)refused(&call);
	rc = at ? get_unlinkat()(dirfd, path, flags) : get_unlink()(path);
	e = errno;
	run_after(&call, rc);
	errno = e;
	return rc;
}

/* chdir and fchdir: folders remembered for the old current one are not used. */
static int cwd_moved(int rc)
{
	if (rc == 0)
		atomic_fetch_add(&cwd_gen, 1);
	return rc;
}

/* The exported wrappers, from the table. With nothing armed each is one
 * branch and the real call. */
#define WRAP_CALL(name, ret, params, args, body)                              \
	EXPORT ret name params                                                \
	{                                                                     \
		return S.armed ? body : get_##name() args;                    \
	}
#define WRAP_OPEN_VA(name, params, args, dirfd)                                     \
	EXPORT int name params                                                \
	{                                                                     \
		va_list ap;                                                   \
		mode_t mode;                                                  \
                                                                              \
		va_start(ap, flags);                                          \
		mode = mode_arg(flags, ap);                                   \
		va_end(ap);                                                   \
		return S.armed ? wrap_open(dirfd, path, flags, mode)          \
			       : get_##name() args;                           \
	}
#define WRAP_AFTER(name, ret, params, args, then)                             \
	EXPORT ret name params                                                \
	{                                                                     \
		return then(get_##name() args);                               \
	}
WRAPPED_CALLS(WRAP_CALL, WRAP_OPEN_VA, WRAP_AFTER)
#undef WRAP_CALL
#undef WRAP_OPEN_VA
#undef WRAP_AFTER

/* ---- start-up ------------------------------------------------------------ */

static void arm(struct armed *a)
{
	const struct fault_info *info = a->spec.info;
	const char *point = fault_point(&a->spec);

	if (fiu_enable_external(point, 1, NULL, 0, decide) < 0)
		(void)fprintf(stderr, "pycstorm-inject: cannot arm '%s'\n", point);
	if (info->extra_point)
		(void)fiu_enable_external(info->extra_point, 1, NULL, 0, decide);
	if (info->hooks && info->hooks->init)
		info->hooks->init(&a->spec);
}

/*
 * The base helpers' failure hook (common.h). We run inside someone else's
 * program, which must never end because of us: a helper that cannot go on
 * (out of memory) disarms every fault, says so once on stderr, and the
 * program carries on with the real calls.
 */
static void inject_failed(int code, const char *message)
{
	(void)code;
	S.armed = 0;
	if (atomic_exchange(&S.failed, 1) == 0)
		(void)fprintf(stderr, "pycstorm-inject: %s; no more faults injected\n", message);
}

/* A thread that forked while another held the folder table leaves it taken
 * in the child, which has only the forking thread: give it back. */
static void after_fork_in_child(void)
{
	atomic_store(&S.scope.locked, 0);
}

/* Arm the parsed faults with libfiu, each keyed by its place in the list. */
static void arm_all(const struct fault_spec *specs, int n)
{
	int i;

	busy++;
	(void)fiu_init(0);
	/* libfiu's own random points (the fiu fault's reduce amount) use this. */
	fiu_set_prng_seed((unsigned)S.seed);
	srandom((unsigned)S.seed);
	for (i = 0; i < n; i++) {
		S.faults[i].spec = specs[i];
		S.faults[i].id = (unsigned)i;
		arm(&S.faults[i]);
	}
	S.nfaults = (size_t)n;
	busy--;
}

static const char *nonempty(const char *v)
{
	return v && *v ? v : NULL;
}

__attribute__((constructor)) static void inject_init(void)
{
	const char *faults = nonempty(getenv(INJECT_ENV_FAULTS));
	const char *dirs = nonempty(getenv(INJECT_ENV_DIRS));
	const char *written = nonempty(getenv(INJECT_ENV_WRITTEN));
	const char *v;
	struct fault_spec specs[FAULT_MAX_SPECS];
	struct stat st;
	char err[512];
	int n = 0;

	(void)set_failure_hook(inject_failed);
	S.event_fd = (v = getenv(EVENT_FD_ENV)) ? atoi(v) : -1;
	/* Only a pipe is ours: a child that closed it may have reused the number
	 * for a file of its own, which fault lines must never land in. */
	if (S.event_fd >= 0 && (fstat(S.event_fd, &st) < 0 || !S_ISFIFO(st.st_mode)))
		S.event_fd = -1;
	if (!dirs || (!faults && !written))
		return;
	/* We run inside someone else's program: a list we cannot read arms
	 * nothing (pycstorm checked it before), it never ends the program. */
	if (faults && (n = fault_parse_list(faults, specs, FAULT_MAX_SPECS, err, sizeof(err))) < 0) {
		(void)fprintf(stderr, "pycstorm-inject: %s; no fault armed\n", err);
		return;
	}
	/* The scope's folders are resolved once, here; what they hold is
	 * resolved per call (scope.c). */
	(void)scope_init(&S.scope, dirs, getenv(INJECT_ENV_NAMES));
	if (!S.scope.ndirs)
		return;
	v = getenv(INJECT_ENV_ROOT);
	if (!v || scope_resolve(v, S.root, sizeof(S.root)) < 0)
		S.root[0] = '\0';
	(void)pthread_atfork(NULL, NULL, after_fork_in_child);
	S.state_dir = getenv(INJECT_ENV_STATE);
	S.written_dir = written;
	S.seed = (v = getenv(INJECT_ENV_SEED)) ? strtoull(v, NULL, 10) : 0;
	S.worker = (v = getenv(INJECT_ENV_WORKER)) ? (unsigned)atoi(v) : 0;
	S.worker_flush = (void (*)(void))dlsym(RTLD_DEFAULT, "pycstorm_worker_flush");
	if (n > 0)
		arm_all(specs, n);
	S.armed = 1;
}
