/*
 * exec's view of the caches a command writes. A scope says where they are:
 * either every file below the folders given with --cache-dir, or, by
 * default, every file inside a folder with a cache's name (__pycache__,
 * .mypy_cache, ...) below the current folder, and files with such a name
 * (dropin.cache). A snapshot lists those files with what identifies their
 * content (inode, size, times); two snapshots taken around a round give the
 * files the round touched, which exec copies and checks.
 */
#ifndef PYCSTORM_EXEC_CACHE_H
#define PYCSTORM_EXEC_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define EXEC_MAX_DIRS 16

struct exec_scope {
	char *dirs[EXEC_MAX_DIRS];      /* absolute */
	size_t ndirs;
	const char *const *names;       /* NULL: every file below dirs counts */
	size_t nnames;
	char *skip[4];                  /* folders never scanned: our own run folders */
	size_t nskip;
};

/* What tells two looks at a file apart: a write to it, or a rename onto
 * its name, changes one of these. */
struct exec_identity {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
};

struct exec_cache_file {
	char *path;                     /* absolute */
	struct exec_identity id;
};

struct exec_snapshot {
	struct exec_cache_file *files;  /* sorted by path */
	size_t nfiles;
	char **folders;                 /* folders that hold cache files: for lock holders */
	size_t nfolders;
	int truncated;                  /* the scan stopped at its limit */
};

/* The names exec's default scope looks for, and how many. */
extern const char *const exec_default_names[];
extern const size_t exec_default_nnames;

void exec_identity_of(const struct stat *st, struct exec_identity *id);
int exec_same_identity(const struct exec_identity *a, const struct exec_identity *b);
/* Does name equal one of the scope's names? */
int exec_scope_names(const struct exec_scope *scope, const char *name);
void exec_snapshot_take(const struct exec_scope *scope, struct exec_snapshot *snap);
void exec_snapshot_free(struct exec_snapshot *snap);
/* Files of after that are new or changed since before: a malloc'd array of
 * pointers into after, *n of them. */
const struct exec_cache_file **exec_snapshot_touched(const struct exec_snapshot *before,
						     const struct exec_snapshot *after, size_t *n);
/* Was path in the snapshot? */
int exec_snapshot_has(const struct exec_snapshot *snap, const char *path);
/* Copy the file at path to dest, creating dest's folders; 0 or -errno. */
int exec_copy_file(const char *path, const char *dest);

#endif
