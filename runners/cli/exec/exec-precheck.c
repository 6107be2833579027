/*
 * The intact check while the round runs; see exec-precheck.h.
 */
#include "exec-precheck.h"

#include "common.h"
#include "fsinfo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Turns closer than this do nothing: the loop may wake often. */
#define PRECHECK_EVERY_NS (10ull * 1000000)
/* How old a file's ctime must be before it is checked: two ticks of the
 * clock the kernel stamps files with (its coarse clock), and a
 * millisecond; when that clock's tick cannot be had, the longest a kernel
 * uses (10 ms at HZ=100). */
#define PRECHECK_TICK_FALLBACK_NS (10ll * 1000000)
/* Files followed at most; past it, the rest are checked after the round. */
#define PRECHECK_MAX_FILES 100000
/* Record bytes read per file per turn, at most. */
#define PRECHECK_READ_MAX (1u << 20)

static int64_t settled_after_ns(void)
{
	struct timespec res;
	int64_t tick = PRECHECK_TICK_FALLBACK_NS;

	if (clock_getres(CLOCK_REALTIME_COARSE, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0)
		tick = res.tv_nsec;
	return 2 * tick + 1000000;
}

void exec_precheck_start(struct exec_precheck *p, const char *dir, const struct exec_writer *w)
{
	memset(p, 0, sizeof(*p));
	p->on = 1;
	p->dir = xstrdup(dir);
	p->writer = *w;
	p->settled_ns = settled_after_ns();
}

/* The .pyc a record's path names: itself, or PATH.pyc for a temporary
 * PATH.pyc.SUFFIX; NULL for anything else. Malloc'd. */
static char *named_pyc(const char *path)
{
	const char *base = strrchr(path, '/'), *at;
	size_t n = strlen(path);

	if (n > 4 && !strcmp(path + n - 4, ".pyc"))
		return xstrdup(path);
	at = base ? strstr(base, ".pyc.") : NULL;
	return at ? xstrndup(path, (size_t)(at + 4 - path)) : NULL;
}

/* The slot of path in the index (open addressing): where it is, or the
 * empty slot where it would go. */
static size_t slot_of(const struct exec_precheck *p, const char *path)
{
	size_t mask = p->index_cap - 1, at = (size_t)hash_fnv1a(HASH_FNV1A_INIT, path, strlen(path));

	for (at &= mask; p->index[at] && strcmp(p->files[p->index[at] - 1].path, path);
	     at = (at + 1) & mask)
		;
	return at;
}

/* The followed file at path, or NULL. */
static struct precheck_file *find_file(const struct exec_precheck *p, const char *path)
{
	size_t at = p->index_cap ? slot_of(p, path) : 0;

	return p->index_cap && p->index[at] ? &p->files[p->index[at] - 1] : NULL;
}

/* Room for one more file, the index kept at most half full. */
static void grow(struct exec_precheck *p)
{
	size_t i;

	if (p->nfiles == p->files_cap) {
		p->files_cap = p->files_cap ? p->files_cap * 2 : 64;
		p->files = xrealloc(p->files, p->files_cap * sizeof(*p->files));
	}
	if (2 * (p->nfiles + 1) > p->index_cap) {
		p->index_cap = p->index_cap ? p->index_cap * 2 : 128;
		free(p->index);
		p->index = xcalloc(p->index_cap, sizeof(*p->index));
		for (i = 0; i < p->nfiles; i++)
			p->index[slot_of(p, p->files[i].path)] = i + 1;
	}
}

/* A new record: follow the .pyc it names, when the intact check could
 * ever take it (the writer's tag, in __pycache__). */
static void follow(void *ctx, const char *path)
{
	struct exec_precheck *p = ctx;
	char *pyc = named_pyc(path), *source = pyc ? exec_intact_source(pyc, &p->writer) : NULL;
	struct precheck_file *f;

	if (source && !find_file(p, pyc) && p->nfiles < PRECHECK_MAX_FILES) {
		grow(p);
		f = &p->files[p->nfiles++];
		memset(f, 0, sizeof(*f));
		f->path = pyc;
		f->seen.size = -1;
		p->index[slot_of(p, pyc)] = p->nfiles;
		pyc = NULL;
	}
	free(source);
	free(pyc);
}

static struct precheck_records *records_of(struct exec_precheck *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nrecords; i++)
		if (!strcmp(p->records[i].name, name))
			return &p->records[i];
	p->records = xrealloc(p->records, (p->nrecords + 1) * sizeof(*p->records));
	p->records[p->nrecords].name = xstrdup(name);
	p->records[p->nrecords].offset = 0;
	return &p->records[p->nrecords++];
}

/* The whole lines added to one record file since the last turn. */
static void read_records(struct exec_precheck *p, int dirfd_, const char *name)
{
	struct precheck_records *r = records_of(p, name);
	int fd = openat(dirfd_, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	size_t want = fd >= 0 && fstat(fd, &st) == 0 && st.st_size > r->offset
			      ? (size_t)(st.st_size - r->offset) : 0;
	char *text = want ? xmalloc(want < PRECHECK_READ_MAX ? want : PRECHECK_READ_MAX) : NULL;
	ssize_t got = text ? pread(fd, text, want < PRECHECK_READ_MAX ? want : PRECHECK_READ_MAX,
				   r->offset) : -1;

	if (got > 0)
		r->offset += (off_t)exec_streams_add(&p->streams, text, (size_t)got, follow, p);
	if (fd >= 0)
		(void)close(fd);
	free(text);
}

static void read_new_records(struct exec_precheck *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL)
		if (exec_streams_file(e->d_name))
			read_records(p, dirfd(d), e->d_name);
	if (d)
		(void)closedir(d);
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Does a later change to the file open at fd always get a later ctime?
 * On a local filesystem stamped to the nanosecond, yes (the answer is
 * kept per device). A ctime on a whole second is taken for one of a
 * filesystem that keeps seconds only (ext4 with small inodes). */
static int fine_stamps(struct exec_precheck *p, int fd, const struct stat *st)
{
	if (!p->fs_known || p->fs_dev != st->st_dev) {
		p->fs_dev = st->st_dev;
		p->fs_fine = fs_stamps_locally(fd);
		p->fs_known = 1;
	}
	return p->fs_fine && st->st_ctim.tv_nsec != 0;
}

/* Check f when it has settled and is not the version checked before. */
static void check_file(struct exec_precheck *p, struct precheck_file *f, int64_t now)
{
	int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat before, source;
	struct exec_identity id;
	int ok = fd >= 0 && fstat(fd, &before) == 0 && S_ISREG(before.st_mode);

	if (ok)
		exec_identity_of(&before, &id);
	/* exec_read_whole fails when the file changed while it was read. */
	ok = ok && !exec_same_identity(&id, &f->seen) && now - id.ctime_ns > p->settled_ns &&
	     fine_stamps(p, fd, &before) && exec_read_whole(fd, &before, &p->buf) == 0;
	if (ok) {
		f->seen = id;
		f->intact = exec_intact_bytes(&p->streams, &p->writer, f->path, p->buf.data,
					      p->buf.len, &source);
		if (f->intact)
			exec_identity_of(&source, &f->source_seen);
	}
	if (fd >= 0)
		(void)close(fd);
}

void exec_precheck_turn(void *precheck)
{
	struct exec_precheck *p = precheck;
	uint64_t now = now_ns();
	int64_t wall;
	size_t i;

	if (!p->on || now < p->next_ns)
		return;
	p->next_ns = now + PRECHECK_EVERY_NS;
	read_new_records(p);
	wall = realtime_ns();
	for (i = 0; i < p->nfiles; i++)
		if (!p->files[i].intact)
			check_file(p, &p->files[i], wall);
}

int exec_precheck_take(struct exec_precheck *p, const struct exec_cache_file *f,
		       struct exec_verdict *v)
{
	struct precheck_file *hit = p->on ? find_file(p, f->path) : NULL;
	struct exec_identity src;
	char *source;
	struct stat st;
	int taken = 0;

	source = hit && hit->intact && exec_same_identity(&hit->seen, &f->id)
			 ? exec_intact_source(f->path, &p->writer) : NULL;
	if (source && stat(source, &st) == 0) {
		exec_identity_of(&st, &src);
		taken = exec_same_identity(&src, &hit->source_seen);
	}
	if (taken)
		exec_intact_verdict(v, &p->writer, f->path);
	free(source);
	return taken;
}

void exec_precheck_free(struct exec_precheck *p)
{
	size_t i;

	for (i = 0; i < p->nrecords; i++)
		free(p->records[i].name);
	for (i = 0; i < p->nfiles; i++)
		free(p->files[i].path);
	free(p->records);
	free(p->files);
	free(p->index);
	free(p->buf.data);
	free(p->dir);
	exec_streams_free(&p->streams);
	memset(p, 0, sizeof(*p));
}
