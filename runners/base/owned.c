/* Folders pycstorm owns; see owned.h. */
#include "owned.h"

#include "common.h"
#include "strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MARKER_MAGIC "pycstorm-owned 1"
/* A marker pycstorm wrote is a few hundred bytes; a larger one is not ours. */
#define MARKER_MAX (64u << 10)
#define MARKER_MAX_NAMES 256

static const struct {
	const char *name, *words;
} kinds[] = {
#define X(id, name, words) [id] = { name, words },
	OWNED_KINDS(X)
#undef X
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* A process as the kernel tells it apart: a pid alone may be reused. */
struct owner {
	long pid;
	uint64_t start;                /* clock ticks after boot, /proc/PID/stat */
	char boot[40];                 /* /proc/sys/kernel/random/boot_id */
};

struct marker {
	int kind;                      /* -1 until read */
	int temporary;
	struct owner owner;
	long long created;
	char *owns[MARKER_MAX_NAMES];  /* point into text */
	size_t nowns;
	char *text;
};

const char *owned_kind_words(enum owned_kind kind)
{
	return (size_t)kind < NKINDS ? kinds[kind].words : "folder";
}

/* ---- who owns it ---------------------------------------------------------- */

/* A small /proc file into buf, NUL-terminated; 0 or -errno. */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		rc = -errno;
	buf[n > 0 ? n : 0] = '\0';
	(void)close(fd);
	return rc;
}

/* Fields 3 (the state) and 22 (the start time) of /proc/PID/stat, counted
 * after the command's closing ')'. */
static int process_start(long pid, char *state, uint64_t *start)
{
	char path[64], buf[1024], *p, *save = NULL, *tok;
	int rc, field;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	rc = read_small(path, buf, sizeof(buf));
	p = rc == 0 ? strrchr(buf, ')') : NULL;
	if (rc == 0 && !p)
		rc = -EINVAL;
	tok = p ? strtok_r(p + 1, " ", &save) : NULL;
	*state = tok ? tok[0] : '?';
	for (field = 3; tok && field < 22; field++)
		tok = strtok_r(NULL, " ", &save);
	if (rc == 0 && (!tok || parse_u64(tok, start) < 0))
		rc = -EINVAL;
	return rc;
}

static void boot_id(char *buf, size_t size)
{
	if (read_small("/proc/sys/kernel/random/boot_id", buf, size) < 0)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void this_process(struct owner *w)
{
	char state;

	memset(w, 0, sizeof(*w));
	w->pid = (long)getpid();
	(void)process_start(w->pid, &state, &w->start);
	boot_id(w->boot, sizeof(w->boot));
}

/* Alive unless proven dead: another boot, no such process, a zombie, or
 * another process under the same pid. A marker without a pid never dies. */
static int owner_alive(const struct owner *w)
{
	char boot[40], state = '?';
	uint64_t start = 0;
	int rc;

	if (w->pid <= 0)
		return 1;
	boot_id(boot, sizeof(boot));
	if (w->boot[0] && boot[0] && strcmp(w->boot, boot) != 0)
		return 0;
	rc = process_start(w->pid, &state, &start);
	if (rc == -ENOENT || state == 'Z' || state == 'X')
		return 0;
	return rc < 0 || start == w->start;
}

/* ---- the marker --------------------------------------------------------- */

static void marker_free(struct marker *m)
{
	free(m->text);
	memset(m, 0, sizeof(*m));
}

/* A plain entry name: no '/', no line break, not "." or "..", not ours. */
static int plain_name(const char *name)
{
	return *name && !strpbrk(name, "/\n") && strcmp(name, ".") && strcmp(name, "..") &&
	       strncmp(name, OWNED_MARKER, strlen(OWNED_MARKER));
}

static int parse_line(struct marker *m, char *line)
{
	char *value = strchr(line, ' ');
	uint64_t n;
	size_t k;
	int rc = 0;

	if (!value)
		return -1;
	*value++ = '\0';
	if (!strcmp(line, "kind")) {
		for (k = 0; k < NKINDS && strcmp(kinds[k].name, value); k++)
			;
		m->kind = k < NKINDS ? (int)k : -1;
		rc = k < NKINDS ? 0 : -1;
	} else if (!strcmp(line, "owns")) {
		rc = m->nowns < MARKER_MAX_NAMES && (plain_name(value) || !strcmp(value, "*")) ? 0 : -1;
		if (rc == 0)
			m->owns[m->nowns++] = value;
	} else if (!strcmp(line, "boot")) {
		rc = strlen(value) < sizeof(m->owner.boot) ? 0 : -1;
		if (rc == 0)
			strcpy(m->owner.boot, value);
	} else if (parse_u64(value, &n) < 0) {
		rc = -1;
	} else if (!strcmp(line, "temporary")) {
		m->temporary = n != 0;
	} else if (!strcmp(line, "pid")) {
		m->owner.pid = n < 1u << 30 ? (long)n : 0;
	} else if (!strcmp(line, "start")) {
		m->owner.start = n;
	} else if (!strcmp(line, "created")) {
		m->created = (long long)n;
	} else {
		rc = -1;
	}
	return rc;
}

/* Read and check the marker open at fd; -1 when it is not one we wrote. */
static int read_marker(int fd, struct marker *m)
{
	char *line, *save = NULL;
	ssize_t n;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	m->kind = -1;
	m->text = xmalloc(MARKER_MAX + 1);
	n = pread(fd, m->text, MARKER_MAX + 1, 0);
	if (n < 0 || (size_t)n > MARKER_MAX || memchr(m->text, '\0', (size_t)n))
		rc = -1;
	m->text[n > 0 ? n : 0] = '\0';
	line = rc == 0 ? strtok_r(m->text, "\n", &save) : NULL;
	if (!line || strcmp(line, MARKER_MAGIC) != 0)
		rc = -1;
	while (rc == 0 && (line = strtok_r(NULL, "\n", &save)) != NULL)
		rc = parse_line(m, line);
	if (rc == 0 && m->kind < 0)
		rc = -1;
	return rc;
}

/* Rewrite the marker in place: the lock belongs to its inode, so it is
 * never replaced by a rename. */
static int write_marker(int fd, const struct marker *m)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	int rc = -ENOMEM;

	if (f) {
		(void)fprintf(f, MARKER_MAGIC "\nkind %s\ntemporary %d\npid %ld\nstart %" PRIu64 "\n",
			      kinds[m->kind].name, m->temporary, m->owner.pid, m->owner.start);
		if (m->owner.boot[0])
			(void)fprintf(f, "boot %s\n", m->owner.boot);
		(void)fprintf(f, "created %lld\n", m->created);
		for (i = 0; i < m->nowns; i++)
			(void)fprintf(f, "owns %s\n", m->owns[i]);
		rc = fclose(f) == 0 ? 0 : -ENOMEM;
	}
	if (rc == 0 && (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0))
		rc = -errno;
	if (rc == 0)
		rc = write_all(fd, text, len);
	free(text);
	return rc;
}

/* ---- taking a folder ---------------------------------------------------- */

/* The parent of an absolute, resolved path, in place ("/" stays). */
static void drop_last(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash == path)
		path[1] = '\0';
	else if (slash)
		*slash = '\0';
}

/*
 * Where path leads: each component is appended to the resolved path so
 * far; one that exists is resolved as realpath would, one that does not
 * is kept by name, and ".." after it folds it away. NULL and errno when
 * the current folder is unknown or an existing entry cannot be resolved
 * (a dangling link).
 */
static char *resolve(const char *path)
{
	char *start = path[0] == '/' ? xstrdup("/") : getcwd(NULL, 0), *copy, *tok, *save = NULL;
	struct strbuf cur = STRBUF_INIT;
	char *real;
	struct stat st;
	int lost = !start;

	if (lost)
		return NULL;
	strbuf_add(&cur, start);
	free(start);
	copy = xstrdup(path);
	for (tok = strtok_r(copy, "/", &save); tok && !lost; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			drop_last(cur.buf);
			cur.len = strlen(cur.buf);
			continue;
		}
		if (strcmp(cur.buf, "/"))
			strbuf_add(&cur, "/");
		strbuf_add(&cur, tok);
		if (lstat(cur.buf, &st) == 0) {
			real = realpath(cur.buf, NULL);
			lost = !real;
			cur.len = 0;
			strbuf_add(&cur, real ? real : "");
			free(real);
		}
	}
	free(copy);
	if (lost) {
		strbuf_release(&cur);
		return NULL;
	}
	return strbuf_detach(&cur);
}

static int same_folder(const char *path, const char *other)
{
	char *real = other && *other ? realpath(other, NULL) : NULL;
	int same = real && !strcmp(real, path);

	free(real);
	return same;
}

/* The root and the home folder are never anyone's run or cache folder. */
static int is_protected(const char *path)
{
	const struct passwd *pw = getpwuid(geteuid());

	return !strcmp(path, "/") || same_folder(path, getenv("HOME")) ||
	       (pw && same_folder(path, pw->pw_dir));
}

/* 0 when the folder holds nothing but markers being written. */
static int folder_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strncmp(e->d_name, OWNED_MARKER, strlen(OWNED_MARKER)))
			rc = OWNED_NOT_EMPTY;
	(void)closedir(d);
	return rc;
}

/* Every entry but the markers: what "owns *" gives. */
static void clear_all(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *path;

	while (d && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !plain_name(e->d_name))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		(void)remove_tree(path);
		free(path);
	}
	if (d)
		(void)closedir(d);
}

/* Remove what the marker lists, and forget the list. */
static void clear_listed(const char *dir, struct marker *m)
{
	char *path;
	size_t i;

	for (i = 0; i < m->nowns; i++) {
		if (!strcmp(m->owns[i], "*")) {
			clear_all(dir);
		} else {
			path = xasprintf("%s/%s", dir, m->owns[i]);
			(void)remove_tree(path);
			free(path);
		}
	}
	m->nowns = 0;
}

/* The marker exists: take it when it is ours, of this kind, and free.
 * -ENOENT when there is none. */
static int take_marked(struct owned *o, const char *marker, unsigned flags)
{
	int fd = open(marker, O_RDWR | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	struct marker m = { .kind = -1 };
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? -ENOENT : errno == ELOOP ? OWNED_NOT_EMPTY : -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
		rc = OWNED_NOT_EMPTY;
	else if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK ? OWNED_IN_USE : -errno;
	/* Read under the lock, so the holder is never seen halfway through a
	 * rewrite; a holder's pid is read without it, as well as it can be. */
	if ((rc == 0 || rc == OWNED_IN_USE) && read_marker(fd, &m) < 0 && rc == 0)
		rc = OWNED_NOT_EMPTY;
	if (rc == OWNED_IN_USE)
		o->holder = m.owner.pid;
	if (rc == 0 && m.kind != (int)o->kind) {
		o->found = (enum owned_kind)m.kind;
		rc = OWNED_OTHER_KIND;
	}
	/* What cannot go (a mount point the user put in it) stays; the list
	 * is forgotten all the same, as those entries are no longer ours. */
	if (rc == 0 && (flags & OWNED_CLEAR))
		clear_listed(o->path, &m);
	if (rc == 0) {
		this_process(&m.owner);
		m.temporary = (flags & OWNED_TEMPORARY) != 0;
		rc = write_marker(fd, &m);
	}
	if (rc == 0) {
		o->fd = fd;
		fd = -1;
	}
	if (fd >= 0)
		(void)close(fd);
	marker_free(&m);
	return rc;
}

/* An empty folder: write the marker under a name of our own, lock it,
 * then link it into place, so that it appears whole and already locked.
 * -EEXIST when another process marked it first. */
static int mark_empty(struct owned *o, const char *marker, unsigned flags)
{
	char *tmp = xasprintf("%s.%ld", marker, (long)getpid());
	struct marker m = { .kind = (int)o->kind, .temporary = (flags & OWNED_TEMPORARY) != 0 };
	int fd = -1, rc = folder_empty(o->path);

	if (rc == 0) {
		(void)unlink(tmp);   /* left by a dead process with our pid */
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			rc = -errno;
	}
	if (rc == 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
		rc = -errno;
	if (rc == 0) {
		this_process(&m.owner);
		m.created = (long long)time(NULL);
		rc = write_marker(fd, &m);
	}
	if (rc == 0 && link(tmp, marker) < 0)
		rc = -errno;
	if (fd >= 0)
		(void)unlink(tmp);
	if (rc == 0) {
		o->fd = fd;
		fd = -1;
	}
	if (fd >= 0)
		(void)close(fd);
	free(tmp);
	return rc;
}

/* The folder exists: take it by its marker, or mark it when empty. */
static int claim(struct owned *o, unsigned flags)
{
	char *marker = xasprintf("%s/" OWNED_MARKER, o->path);
	int rc = -ENOENT, tries;

	/* A marker that appears between the look and the link: look again. */
	for (tries = 0; tries < 2 && (rc == -ENOENT || rc == -EEXIST); tries++) {
		rc = take_marked(o, marker, flags);
		if (rc == -ENOENT)
			rc = flags & OWNED_CREATE ? mark_empty(o, marker, flags) : OWNED_NOT_EMPTY;
	}
	if (rc == -EEXIST)
		rc = OWNED_IN_USE;
	free(marker);
	return rc;
}

int owned_take(struct owned *o, const char *path, enum owned_kind kind, unsigned flags)
{
	struct stat st;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->kind = kind;
	if (!*path)
		return OWNED_NO_NAME;
	o->path = resolve(path);
	if (!o->path)
		rc = -errno;
	else if (is_protected(o->path))
		rc = OWNED_PROTECTED;
	else if (lstat(o->path, &st) < 0)
		rc = errno == ENOENT && (flags & OWNED_CREATE) ? mkdir_p(o->path, 0755) : -errno;
	else if (!S_ISDIR(st.st_mode))
		rc = OWNED_NOT_FOLDER;
	if (rc == 0)
		rc = claim(o, flags);
	return rc;
}

int owned_make_temp(struct owned *o, const char *parent, const char *prefix,
		    enum owned_kind kind, unsigned flags)
{
	char *dir = xasprintf("%s/%sXXXXXX", parent, prefix);
	int rc;

	if (!mkdtemp(dir)) {
		memset(o, 0, sizeof(*o));
		o->fd = -1;
		rc = -errno;
	} else {
		rc = owned_take(o, dir, kind, flags | OWNED_CREATE);
	}
	free(dir);
	return rc;
}

int owned_add(struct owned *o, const char *name)
{
	char *line;
	int rc;

	if (o->fd < 0 || (!plain_name(name) && strcmp(name, "*")))
		return -EINVAL;
	line = xasprintf("owns %s\n", name);
	rc = lseek(o->fd, 0, SEEK_END) < 0 ? -errno : write_all(o->fd, line, strlen(line));
	free(line);
	return rc;
}

void owned_release(struct owned *o)
{
	if (o->fd >= 0)
		(void)close(o->fd);
	free(o->path);
	o->path = NULL;
	o->fd = -1;
}

int owned_remove(struct owned *o)
{
	int rc = o->fd >= 0 ? remove_tree(o->path) : -EINVAL;

	owned_release(o);
	return rc;
}

/* ---- folders of dead runs ----------------------------------------------- */

/* parent/name, when it is a folder of ours marked temporary whose owner is
 * dead: removed while its lock is held, so nobody can take it meanwhile. */
static int sweep_one(const char *parent, const char *name)
{
	char *dir = xasprintf("%s/%s", parent, name), *marker = xasprintf("%s/" OWNED_MARKER, dir);
	struct marker m = { .kind = -1 };
	struct stat st;
	int fd = -1, removed = 0;

	if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
		fd = open(marker, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    flock(fd, LOCK_EX | LOCK_NB) == 0 && read_marker(fd, &m) == 0 && m.temporary &&
	    !owner_alive(&m.owner))
		removed = remove_tree(dir) == 0;
	if (fd >= 0)
		(void)close(fd);
	marker_free(&m);
	free(marker);
	free(dir);
	return removed;
}

size_t owned_sweep(const char *parent, const char *prefix)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	size_t removed = 0;

	while (d && (e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			removed += (size_t)sweep_one(parent, e->d_name);
	if (d)
		(void)closedir(d);
	return removed;
}

/* ---- words -------------------------------------------------------------- */

int owned_is_refusal(int rc)
{
	return rc <= OWNED_NOT_EMPTY && rc >= OWNED_NO_NAME;
}

const char *owned_problem(const struct owned *o, int rc, char *buf, size_t size)
{
	switch (rc) {
	case OWNED_NOT_EMPTY:
		(void)snprintf(buf, size, "is not empty and not a pycstorm %s", owned_kind_words(o->kind));
		break;
	case OWNED_IN_USE:
		if (o->holder == (long)getpid())
			(void)snprintf(buf, size, "is already in use by this pycstorm");
		else if (o->holder > 0)
			(void)snprintf(buf, size, "is in use by pid %ld", o->holder);
		else
			(void)snprintf(buf, size, "is in use by another pycstorm");
		break;
	case OWNED_OTHER_KIND:
		(void)snprintf(buf, size, "is a pycstorm %s, not a %s", owned_kind_words(o->found),
			       owned_kind_words(o->kind));
		break;
	case OWNED_NOT_FOLDER:
		(void)snprintf(buf, size, "is not a folder");
		break;
	case OWNED_PROTECTED:
		(void)snprintf(buf, size, "is the %s folder",
			       o->path && !strcmp(o->path, "/") ? "root" : "home");
		break;
	case OWNED_NO_NAME:
		(void)snprintf(buf, size, "names no folder");
		break;
	default:
		(void)snprintf(buf, size, "%s", strerror(-rc));
	}
	return buf;
}
