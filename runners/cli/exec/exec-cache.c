/*
 * Cache discovery and snapshots for `pycstorm exec`; see exec-cache.h.
 * This runs in the pycstorm process, which never has the inject library
 * loaded, so scanning and copying can never trip a fault.
 */
#include "exec-cache.h"

#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A scan that meets more entries than this is a scan of the wrong folder;
 * stop rather than spend minutes on it between every round. */
#define SCAN_MAX_ENTRIES 400000
#define SCAN_MAX_DEPTH 64

const char *const exec_default_names[] = { "__pycache__", ".mypy_cache", ".pytest_cache",
					   "dropin.cache" };
const size_t exec_default_nnames = sizeof(exec_default_names) / sizeof(exec_default_names[0]);

struct scan {
	const struct exec_scope *scope;
	struct exec_snapshot *snap;
	size_t files_cap, folders_cap;
	size_t entries;
};

int exec_scope_names(const struct exec_scope *scope, const char *name)
{
	size_t i;
	int found = 0;

	for (i = 0; i < scope->nnames && !found; i++)
		found = !strcmp(scope->names[i], name);
	return found;
}

static int skipped(const struct exec_scope *scope, const char *path)
{
	size_t i;
	int found = 0;

	for (i = 0; i < scope->nskip && !found; i++)
		found = !strcmp(scope->skip[i], path);
	return found;
}

static void add_file(struct scan *sc, const char *path, const struct stat *st)
{
	struct exec_snapshot *snap = sc->snap;
	struct exec_cache_file *f;

	if (snap->nfiles == sc->files_cap) {
		sc->files_cap = sc->files_cap ? sc->files_cap * 2 : 256;
		snap->files = xrealloc(snap->files, sc->files_cap * sizeof(*snap->files));
	}
	f = &snap->files[snap->nfiles++];
	f->path = xstrdup(path);
	exec_identity_of(st, &f->id);
}

static void add_folder(struct scan *sc, const char *path)
{
	struct exec_snapshot *snap = sc->snap;

	if (snap->nfolders && !strcmp(snap->folders[snap->nfolders - 1], path))
		return;
	if (snap->nfolders == sc->folders_cap) {
		sc->folders_cap = sc->folders_cap ? sc->folders_cap * 2 : 16;
		snap->folders = xrealloc(snap->folders, sc->folders_cap * sizeof(char *));
	}
	snap->folders[snap->nfolders++] = xstrdup(path);
}

static void scan_dir(struct scan *sc, const char *dir, int inside, unsigned depth);

/* One entry of dir: recurse into folders, keep the files that are caches.
 * The entry's type from readdir spares a stat of every folder and of every
 * file outside the caches; a file system that does not give it
 * (DT_UNKNOWN) costs one. */
static void scan_entry(struct scan *sc, const char *dir, const char *name, unsigned char type,
		       int inside, unsigned depth)
{
	int wanted = inside || exec_scope_names(sc->scope, name);
	char *path;
	struct stat st;
	int seen;

	if ((type == DT_REG && !wanted) || (type != DT_REG && type != DT_DIR && type != DT_UNKNOWN))
		return;
	path = xasprintf("%s/%s", dir, name);
	st.st_mode = S_IFDIR;
	seen = type == DT_DIR || lstat(path, &st) == 0;
	/* Symbolic links are not followed: a cache is where the command writes. */
	if (seen && S_ISDIR(st.st_mode) && !skipped(sc->scope, path) &&
	    (inside || strcmp(name, ".git")))
		scan_dir(sc, path, wanted, depth + 1);
	else if (seen && S_ISREG(st.st_mode) && wanted) {
		add_file(sc, path, &st);
		add_folder(sc, dir);
	}
	free(path);
}

static void scan_dir(struct scan *sc, const char *dir, int inside, unsigned depth)
{
	DIR *d = depth <= SCAN_MAX_DEPTH ? opendir(dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL && !sc->snap->truncated) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (++sc->entries > SCAN_MAX_ENTRIES)
			sc->snap->truncated = 1;
		else
			scan_entry(sc, dir, e->d_name, e->d_type, inside, depth);
	}
	if (d)
		(void)closedir(d);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct exec_cache_file *)a)->path,
		      ((const struct exec_cache_file *)b)->path);
}

void exec_snapshot_take(const struct exec_scope *scope, struct exec_snapshot *snap)
{
	struct scan sc = { .scope = scope, .snap = snap };
	size_t i;

	memset(snap, 0, sizeof(*snap));
	for (i = 0; i < scope->ndirs; i++)
		scan_dir(&sc, scope->dirs[i], scope->names == NULL, 0);
	if (snap->nfiles)
		qsort(snap->files, snap->nfiles, sizeof(*snap->files), by_path);
}

void exec_snapshot_free(struct exec_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nfiles; i++)
		free(snap->files[i].path);
	for (i = 0; i < snap->nfolders; i++)
		free(snap->folders[i]);
	free(snap->files);
	free(snap->folders);
	memset(snap, 0, sizeof(*snap));
}

void exec_identity_of(const struct stat *st, struct exec_identity *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	id->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

int exec_same_identity(const struct exec_identity *a, const struct exec_identity *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

const struct exec_cache_file **exec_snapshot_touched(const struct exec_snapshot *before,
						     const struct exec_snapshot *after, size_t *n)
{
	const struct exec_cache_file **out = xcalloc(after->nfiles + 1, sizeof(*out));
	const struct exec_cache_file *old;
	size_t i;

	*n = 0;
	for (i = 0; i < after->nfiles; i++) {
		old = before->nfiles ? bsearch(&after->files[i], before->files, before->nfiles,
					       sizeof(*before->files), by_path)
				     : NULL;
		if (!old || !exec_same_identity(&old->id, &after->files[i].id))
			out[(*n)++] = &after->files[i];
	}
	return out;
}

int exec_snapshot_has(const struct exec_snapshot *snap, const char *path)
{
	struct exec_cache_file key = { .path = (char *)path };

	return snap->nfiles && bsearch(&key, snap->files, snap->nfiles, sizeof(*snap->files),
				       by_path) != NULL;
}

/* The copy keeps the modification time: a source copied beside its .pyc
 * must still match the mtime in the .pyc's header. */
int exec_copy_file(const char *path, const char *dest)
{
	char *data = NULL, *parent = xstrdup(dest), *slash = strrchr(parent, '/');
	size_t len = 0;
	struct stat st;
	int rc = stat(path, &st) < 0 ? -errno : read_file(path, &data, &len), fd = -1;

	if (slash)
		*slash = '\0';
	if (rc == 0 && slash)
		rc = mkdir_p(parent, 0755);
	if (rc == 0) {
		fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		rc = fd < 0 ? -errno : write_all(fd, data, len);
	}
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && utimensat(AT_FDCWD, dest, (struct timespec[2]){ st.st_atim, st.st_mtim }, 0) < 0)
		rc = -errno;
	free(data);
	free(parent);
	return rc;
}
