/*
 * power-cut: the missing-fsync hypothesis of LP #1010077, made testable.
 * The run goes in rounds: workers write for a while, then the orchestrator
 * stops them all at once (SIGKILL) and rolls each cache folder to a state a
 * real filesystem may leave after losing power (inject/faults/rollback.c), and
 * readers judge what is left.
 *
 * This file is the worker's half: it journals, for every cache path, what
 * was created, truncated, written (offset and length), fsynced, renamed and
 * unlinked, each line stamped with CLOCK_MONOTONIC (one clock for every
 * process), and keeps a hard link to any file a rename or unlink is about
 * to drop, so a rename that never reached the disk can be undone. Lines are
 * written after the call succeeds: a call the cut interrupts counts as not
 * journalled, which errs towards durability (fewer losses, never more).
 */
#include "fault.h"

#include <stddef.h>

#ifdef PYCSTORM_PRELOAD
#include "common.h"
#include "event.h"
#include "inject.h"
#include "rollback.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int journal_fd = -1;

static void journal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void journal(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int n;

	if (journal_fd < 0) {
		(void)snprintf(line, sizeof(line), "%s/" ROLLBACK_JOURNAL_PREFIX "%ld",
			       inject_state_dir(), (long)getpid());
		journal_fd = inject_real_open(line, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	}
	n = snprintf(line, sizeof(line), "%llu ", (unsigned long long)now_ns());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (journal_fd >= 0)
		(void)event_send(journal_fd, line, (size_t)n);
}

/* Trace mode (crashpoints): the bytes of each write go to a side file. */
static long long trace_data(const void *buf, size_t len)
{
	static int fd = -2;
	char path[4200];
	off_t at;

	if (fd == -2) {
		(void)snprintf(path, sizeof(path), "%s/" ROLLBACK_TRACE_DATA, inject_state_dir());
		fd = getenv(ROLLBACK_ENV_TRACE) ? inject_real_open(path, O_RDWR | O_CREAT | O_APPEND |
								   O_CLOEXEC, 0644) : -1;
	}
	if (fd < 0)
		return -1;
	at = lseek(fd, 0, SEEK_END);
	return at >= 0 && event_send(fd, buf, len) == 0 ? (long long)at : -1;
}

static unsigned long long ino_of(const char *path)
{
	struct stat st;

	return path && lstat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* Keep a name for a file a rename or unlink is about to drop. */
static void keep_backup(unsigned long long ino, const char *path)
{
	char name[4200];

	if (!ino)
		return;
	rollback_backup_path(name, sizeof(name), inject_state_dir(), ino);
	if (link(path, name) < 0 && errno != EEXIST)
		return;
}

static void power_cut_before(const struct fault_spec *spec, struct inject_call *call)
{
	(void)spec;
	switch (call->op) {
	case IOP_OPEN:
		call->existed = access(call->path, F_OK) == 0;
		break;
	case IOP_RENAME:
		call->ino = ino_of(call->dst);
		keep_backup(call->ino, call->dst);
		break;
	case IOP_UNLINK:
		call->ino = ino_of(call->path);
		keep_backup(call->ino, call->path);
		break;
	default:
		break;
	}
}

static void power_cut_after(const struct fault_spec *spec, struct inject_call *call, long result)
{
	struct stat st;
	long long data;
	off_t end;

	(void)spec;
	if (result < 0)
		return;
	switch (call->op) {
	case IOP_OPEN:
		if (fstat((int)result, &st) == 0 && S_ISREG(st.st_mode) &&
		    (!call->existed || (call->open_flags & O_TRUNC)))
			journal("%c %llu %s", call->existed ? 'T' : 'C',
				(unsigned long long)st.st_ino, inject_relative(call->path));
		break;
	case IOP_WRITE:
		if (result > 0 && fstat(call->fd, &st) == 0) {
			end = call->offset >= 0 ? (off_t)(call->offset + result)
						: lseek(call->fd, 0, SEEK_CUR);
			data = trace_data(call->buf, (size_t)result);
			journal("W %llu %lld %ld %lld", (unsigned long long)st.st_ino,
				(long long)end - result, result, data);
		}
		break;
	case IOP_FSYNC:
		if (fstat(call->fd, &st) == 0)
			journal("%c %llu %s", S_ISDIR(st.st_mode) ? 'D' : 'S',
				(unsigned long long)st.st_ino, inject_relative(call->path));
		break;
	case IOP_RENAME:
		journal("R %llu %llu %s %s", ino_of(call->dst), call->ino,
			inject_relative(call->path), inject_relative(call->dst));
		break;
	case IOP_UNLINK:
		journal("U %llu %s", call->ino, inject_relative(call->path));
		break;
	default:
		break;
	}
}

static const struct fault_hooks hooks = { .before = power_cut_before, .after = power_cut_after };
#define HOOKS (&hooks)
#else
#define HOOKS NULL
#endif

static const struct fault_choice model_choices[] = {
	{ "ext4-ordered", MODEL_EXT4_ORDERED },
	{ "writeback", MODEL_WRITEBACK },
	{ NULL, 0 },
};

static const struct fault_choice sector_choices[] = {
	{ "4096", 4096 },
	{ "512", 512 },
	{ NULL, 0 },
};

static const struct fault_param params[] = {
	{ "at", P_RANGE, offsetof(struct fault_spec, u.power_cut.at), "50ms..500ms", NULL,
	  "how long the workers write before each cut (drawn per round)" },
	{ "model", P_CHOICE, offsetof(struct fault_spec, u.power_cut.model), "writeback",
	  model_choices, "what survives: see README, 'Power loss'" },
	{ "sector", P_CHOICE, offsetof(struct fault_spec, u.power_cut.sector), "4096",
	  sector_choices, "the unit in which unsynced data survives or is lost (torn writes)" },
	{ "persist", P_PROB, offsetof(struct fault_spec, u.power_cut.persist), "0.5", NULL,
	  "chance that an unsynced sector reached the disk before the cut anyway" },
};

const struct fault_info fault_power_cut = {
	.name = "power-cut",
	.point = "pycstorm/power/cut",
	.summary = "rounds end in a power cut: unsynced data and uncommitted renames are lost",
	.detail = "All workers are SIGKILLed at once, each cache folder is rolled back by the "
		  "model, then every cache file is read once. With -n, N is the number of cuts.",
	.params = params,
	.nparams = sizeof(params) / sizeof(params[0]),
	.hooks = HOOKS,
};
