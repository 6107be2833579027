/*
 * held-lock: lock-holder processes, playing an antivirus scanner or a
 * search indexer, open random files of the cache and hold them for a while.
 * Meanwhile, as on Windows: a rename onto a held file fails with EACCES
 * (PermissionError, WinError 5), unlinking it fails too (share=none) or
 * leaves it delete-pending (share=delete), and a delete-pending name cannot
 * be opened or created until the holder lets go. See lockstate.h.
 *
 * A scanner also opens each new file as soon as its writer closes it, so a
 * fresh cache is held too: with the chance grab=, the close of a file the
 * program created hands a locked descriptor of it to the holders, and the
 * program's rename of it a moment later meets a held source. Windows
 * refuses that rename only when the holder does not share delete access
 * (share=none); with share=delete it goes through and the file stays held
 * under its new name.
 */
#include "fault.h"

#include <stddef.h>

#ifdef PYCSTORM_PRELOAD
#include "inject.h"
#include "lockstate.h"

#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <sys/stat.h>
#include <unistd.h>

#define POINT_PENDING (fault_held_lock.extra_point)

/* Is the file at path held by a holder? */
static int held(const char *path)
{
	int fd = inject_real_open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, 0);
	int h = 0;

	if (fd >= 0) {
		h = lockstate_fd_held(fd);
		(void)inject_real_close(fd);
	}
	return h;
}

/* path is delete-pending: refuse while held, else finish the delete. */
static int pending_refuses(const struct fault_spec *spec, struct inject_call *call,
			   const char *path)
{
	char marker[4200];

	lockstate_marker(marker, sizeof(marker), inject_state_dir(), path);
	if (access(marker, F_OK) != 0)
		return 0;
	if (held(path) && inject_decide(spec, POINT_PENDING)) {
		inject_fired(POINT_PENDING, call, "refused: '%s' is delete-pending",
			     call->op == IOP_OPEN ? "open" : "rename");
		return 1;
	}
	(void)inject_real_unlink(path);
	(void)inject_real_unlink(marker);
	return 0;
}

/*
 * At the close of a file the program created for writing, as a scanner
 * would: open it again (the very file, never through a link), take the
 * read lock on that new open file description and hand it over. The lock
 * lives with the description, so it stays with the holder after we close
 * our descriptor; when no holder takes it, closing drops it.
 */
static void grab_at_close(const struct fault_spec *spec, const struct inject_call *call)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	struct stat mine, again;
	int fd;

	if (!(call->open_flags & O_CREAT) || (call->open_flags & O_ACCMODE) == O_RDONLY ||
	    (double)(inject_random() >> 11) * 0x1.0p-53 >= spec->u.held_lock.grab)
		return;
	fd = inject_real_open(call->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY, 0);
	if (fd < 0)
		return;
	if (fstat(call->fd, &mine) == 0 && fstat(fd, &again) == 0 && S_ISREG(again.st_mode) &&
	    mine.st_dev == again.st_dev && mine.st_ino == again.st_ino &&
	    fcntl(fd, F_OFD_SETLK, &fl) == 0)
		(void)lockstate_hand_over(fd, call->path, inject_state_dir());
	(void)inject_real_close(fd);
}

/* A rename whose source or destination a holder has: refused, or 0. */
static const char *rename_refusal(const struct fault_spec *spec, const struct inject_call *call)
{
	/* call->path is the destination when the source is outside the scope. */
	int source_ours = call->path != call->dst;

	if (held(call->dst))
		return "refused: destination held";
	if (source_ours && spec->u.held_lock.share == SHARE_NONE && held(call->path))
		return "refused: source held";
	return NULL;
}

static void held_lock_before(const struct fault_spec *spec, struct inject_call *call)
{
	char marker[4200];
	const char *target = call->op == IOP_RENAME ? call->dst : call->path;
	const char *why;
	int fd;

	switch (call->op) {
	case IOP_CLOSE:
		grab_at_close(spec, call);
		break;
	case IOP_OPEN:
		if (pending_refuses(spec, call, target))
			call->fail_errno = EACCES;
		break;
	case IOP_RENAME:
		if (pending_refuses(spec, call, target)) {
			call->fail_errno = EACCES;
		} else if ((why = rename_refusal(spec, call)) != NULL &&
			   inject_decide(spec, spec->info->point)) {
			inject_fired(spec->info->point, call, "%s", why);
			call->fail_errno = EACCES;
		}
		break;
	case IOP_UNLINK:
		if (!held(target) || !inject_decide(spec, spec->info->point))
			break;
		if (spec->u.held_lock.share == SHARE_NONE) {
			inject_fired(spec->info->point, call, "refused: file held");
			call->fail_errno = EACCES;
			break;
		}
		/* share=delete: the call "succeeds", the name stays. */
		lockstate_marker(marker, sizeof(marker), inject_state_dir(), target);
		fd = inject_real_open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			(void)inject_real_close(fd);
		inject_fired(spec->info->point, call, "held: now delete-pending");
		call->fail_errno = -1;   /* skip the real call, return 0 */
		break;
	default:
		break;
	}
}

static const struct fault_hooks hooks = { .before = held_lock_before };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_choice share_choices[] = {
	{ "delete", SHARE_DELETE },
	{ "none", SHARE_NONE },
	{ NULL, 0 },
};

static const struct fault_param params[] = {
	{ "holders", P_COUNT, offsetof(struct fault_spec, u.held_lock.holders), "2", NULL,
	  "lock-holder processes per strategy" },
	{ "hold", P_RANGE, offsetof(struct fault_spec, u.held_lock.hold), "1ms..500ms", NULL,
	  "how long a holder keeps a file: a duration or a range (Windows reports: 1 ms to 2 s)" },
	{ "gap", P_RANGE, offsetof(struct fault_spec, u.held_lock.gap), "0..5ms", NULL,
	  "how long a holder waits before taking the next file" },
	{ "share", P_CHOICE, offsetof(struct fault_spec, u.held_lock.share), "delete", share_choices,
	  "delete: unlinking a held file leaves it delete-pending, renaming it away works; "
	  "none: both fail" },
	{ "p", P_PROB, offsetof(struct fault_spec, p), "1", NULL,
	  "probability that a call on a held file is refused" },
	{ "grab", P_PROB, offsetof(struct fault_spec, u.held_lock.grab), "0.25", NULL,
	  "probability that a file the program created is held from its close on, as a scanner "
	  "does with new files (share=none: its rename is refused too)" },
};

const struct fault_info fault_held_lock = {
	.name = "held-lock",
	.point = "pycstorm/lock/held",
	.extra_point = "pycstorm/lock/delete-pending",
	.summary = "holder processes keep cache files open; rename/unlink onto them fail",
	.detail = "Windows semantics with real OFD locks: rename onto a held file -> EACCES; "
		  "unlink -> delete-pending (pycstorm/lock/delete-pending: opening or creating "
		  "the name fails with EACCES until the holder lets go). New files are held "
		  "from their close on (grab=), so with share=none their rename fails too.",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.hooks = HOOKS,
};
