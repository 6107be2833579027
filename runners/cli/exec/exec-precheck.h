/*
 * The intact check (exec-intact.h) while the round runs, so its reading
 * and digesting overlap the program instead of following it. On each turn
 * of the round's loop it reads the records the inject library has added
 * since, and checks the .pyc each names (a temporary PATH.pyc.SUFFIX names
 * PATH.pyc) once the file has settled.
 *
 * A verdict found early is used after the round only for the very file it
 * was found on: the same inode, size, mtime and ctime as the after
 * snapshot sees, and the same source. That is enough because a file is
 * checked only once its ctime is more than two ticks of the kernel's file
 * clock old: any later change to it, or to its name by a rename, then
 * sets its ctime to a later time, however coarsely that clock ticks; and
 * it is read between two fstat() calls that must agree. Only on a local
 * filesystem stamped to the nanosecond by this kernel (fs_stamps_locally):
 * an NFS server's clock, or a filesystem that keeps whole seconds, would
 * let a change keep the ctime it had. Every touched file without such a verdict
 * is checked after the round, as before.
 */
#ifndef PYCSTORM_EXEC_PRECHECK_H
#define PYCSTORM_EXEC_PRECHECK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "exec-cache.h"
#include "exec-intact.h"

/* A record file and how far it has been read. */
struct precheck_records {
	char *name;
	off_t offset;
};

/* A .pyc a record named. */
struct precheck_file {
	char *path;
	struct exec_identity seen;     /* the version last checked (size -1: none) */
	struct exec_identity source_seen;
	int intact;                    /* seen was intact and fresh for source_seen */
};

struct exec_precheck {
	int on;
	char *dir;                     /* the inject library's record folder */
	struct exec_writer writer;
	struct exec_streams streams;
	struct precheck_records *records;
	size_t nrecords;
	struct precheck_file *files;
	size_t nfiles, files_cap;
	size_t *index;                 /* by path's hash: 1 + where in files, 0 empty */
	size_t index_cap;              /* a power of two */
	struct exec_buffer buf;
	uint64_t next_ns;
	int64_t settled_ns;            /* how old a file's ctime must be to be checked */
	dev_t fs_dev;                  /* the device fs_fine is about */
	int fs_known, fs_fine;
};

/* Start checking the records in dir as they come, for writer w. */
void exec_precheck_start(struct exec_precheck *p, const char *dir, const struct exec_writer *w);
/* A turn of the round's loop: read new records, check settled files. */
void exec_precheck_turn(void *precheck);
/* The verdict found during the round on the file f now is: 1 with *v
 * filled, or 0 (not checked, not intact, or changed since). */
int exec_precheck_take(struct exec_precheck *p, const struct exec_cache_file *f,
		       struct exec_verdict *v);
void exec_precheck_free(struct exec_precheck *p);

#endif
