/*
 * Shared helpers; see common.h. These run inside the orchestrator, the
 * workers and the inject library alike, so they never allocate on a path
 * that can fail silently: an allocation failure goes to the failure hook,
 * which ends a program (die.c) and only stops the inject library; here it
 * is a NULL or -ENOMEM that every caller handles. Nothing here exits.
 */
#include "common.h"
#include "event.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static failure_hook current_hook;

failure_hook set_failure_hook(failure_hook hook)
{
	failure_hook old = current_hook;

	current_hook = hook;
	return old;
}

void base_fail(int code, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (current_hook)
		current_hook(code, message);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		base_fail(EXIT_INTERNAL, "out of memory allocating %zu bytes", size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		base_fail(EXIT_INTERNAL, "out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		base_fail(EXIT_INTERNAL, "out of memory allocating %zu bytes", size);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, SIZE_MAX);
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s = NULL;
		base_fail(EXIT_INTERNAL, "out of memory formatting a string");
	}
	return s;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t wall_ns(void) { return clock_ns(CLOCK_REALTIME); }

void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
	return mix64(mix64(mix64(mix64(seed) ^ a) ^ b) ^ c);
}

void rng_init(struct rng *r, uint64_t seed)
{
	r->s = mix64(seed) | 1;
}

uint64_t rng_next(struct rng *r)
{
	/* xorshift64*: small, fast, and good enough for scheduling choices. */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + rng_next(r) % (hi - lo + 1);
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int rc = -1;

	if (s && *s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno == 0 && *end == '\0') {
			*out = v;
			rc = 0;
		}
	}
	return rc;
}

int parse_double(const char *s, double *out)
{
	char *end;
	double v;
	int rc = -1;

	if (s && *s) {
		errno = 0;
		v = strtod(s, &end);
		if (errno == 0 && *end == '\0' && isfinite(v)) {
			*out = v;
			rc = 0;
		}
	}
	return rc;
}

int parse_duration_ns(const char *s, uint64_t *out)
{
	static const struct { const char *unit; double scale; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 }, { "", 1e9 },
	};
	char *end;
	double v;
	size_t i;
	int rc = -1;

	if (!s || !*s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -1;
	/* Plain decimals only: strtod would also take "0x10" and "1e1". */
	if (strpbrk(s, "xXpP") || strspn(s, "0123456789.") < strcspn(s, "nusm"))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !isfinite(v) || v < 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0 && v * units[i].scale < 1.8e19) {
			*out = (uint64_t)(v * units[i].scale + 0.5);
			rc = 0;
			break;
		}
	}
	return rc;
}

size_t json_escape(char *buf, size_t size, const char *s)
{
	size_t n = 0, written = 0;
	const unsigned char *p;
	char tmp[8];
	const char *piece;
	size_t plen;

	for (p = (const unsigned char *)s; *p; p++) {
		piece = tmp;
		switch (*p) {
		case '"': piece = "\\\""; break;
		case '\\': piece = "\\\\"; break;
		case '\n': piece = "\\n"; break;
		case '\r': piece = "\\r"; break;
		case '\t': piece = "\\t"; break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				(void)snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
			else {
				tmp[0] = (char)*p;
				tmp[1] = '\0';
			}
		}
		plen = strlen(piece);
		if (n + plen < size && n == written) {
			memcpy(buf + n, piece, plen);
			written += plen;
		}
		n += plen;
	}
	/* Only whole escapes are kept: a cut never leaves half of "\\u0001". */
	if (size)
		buf[written] = '\0';
	return n;
}

void json_put_string(FILE *f, const char *s)
{
	char small[512];
	size_t need = json_escape(small, sizeof(small), s);
	char *big = NULL;

	if (need >= sizeof(small) && (big = xmalloc(need + 1)) != NULL)
		(void)json_escape(big, need + 1, s);
	(void)fprintf(f, "\"%s\"", big ? big : small);
	free(big);
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;
	int rc = 0;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	return rc;
}

int event_send(int fd, const void *record, size_t size)
{
	long n;

	do
		n = syscall(SYS_write, fd, record, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == size ? 0 : -EIO;
}

/* O_NONBLOCK keeps the open of a FIFO from waiting for a writer; the file
 * type is checked on the descriptor, so nothing can swap it in between.
 * A file over limit bytes is refused before a byte of it is read. */
static int open_regular(const char *path, uint64_t limit, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	int rc = fd;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = READ_NOT_REGULAR;
	else if ((uint64_t)st.st_size > limit)
		rc = READ_TOO_LARGE;
	else
		*size = (uint64_t)st.st_size;
	if (rc < 0)
		(void)close(fd);
	return rc;
}

/* Read fd from where it stands to its end into a malloc'd, NUL-terminated
 * buffer; cap is the first buffer's size (a hint: the file may grow while
 * it is read). Past READ_FILE_MAX bytes the read stops: READ_TOO_LARGE. */
static int read_rest(int fd, size_t cap, char **data, size_t *len)
{
	char *buf = xmalloc(cap + 1), *grown;
	size_t n = 0;
	ssize_t got;
	int rc = buf ? 0 : -ENOMEM;

	while (rc == 0) {
		if (n == cap) {
			/* One byte past the limit is enough to know it is over. */
			cap = cap > READ_FILE_MAX / 2 ? READ_FILE_MAX + 1 : cap * 2;
			grown = xrealloc(buf, cap + 1);
			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			buf = grown;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > READ_FILE_MAX) {
			rc = READ_TOO_LARGE;
			break;
		}
	}
	if (rc == 0) {
		buf[n] = '\0';
		*data = buf;
		*len = n;
	} else {
		free(buf);
	}
	return rc;
}

int read_file(const char *path, char **data, size_t *len)
{
	uint64_t size = 0;
	int fd = open_regular(path, READ_FILE_MAX, &size), rc;

	if (fd < 0)
		return fd;
	rc = read_rest(fd, size < 65536 ? 65536 : (size_t)size + 1, data, len);
	(void)close(fd);
	return rc;
}

int read_file_tail(const char *path, size_t max, char **data, size_t *len)
{
	uint64_t size = 0;
	int fd = open_regular(path, UINT64_MAX, &size), rc = 0;

	if (fd < 0)
		return fd;
	if (size > max && lseek(fd, (off_t)(size - max), SEEK_SET) < 0)
		rc = -errno;
	if (rc == 0)
		rc = read_rest(fd, max < 65536 ? max : 65536, data, len);
	(void)close(fd);
	return rc;
}

int read_file_check(const char *path)
{
	uint64_t size = 0;
	int fd = open_regular(path, READ_FILE_MAX, &size);

	if (fd >= 0)
		(void)close(fd);
	return fd < 0 ? fd : 0;
}

const char *read_file_error(int rc)
{
	if (rc == READ_NOT_REGULAR)
		return "not a regular file";
	if (rc == READ_TOO_LARGE)
		return "larger than the 64 MiB limit";
	return strerror(-rc);
}

int fsync_parent(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int fd, rc = 0;

	if (!dir)
		return -ENOMEM;
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		(void)close(fd);
	free(dir);
	return rc;
}

static int durable_writes = 1;

void write_files_durable(int durable)
{
	durable_writes = durable;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd, rc;

	if (!tmp)
		return -ENOMEM;
	/* A new file, never one that is there: a symlink planted at the
	 * temporary name must not send our bytes elsewhere. A leftover of an
	 * earlier process with our pid is ours to replace. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, data, len);
	if (rc == 0 && durable_writes && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0 && durable_writes)
		rc = fsync_parent(path);
	if (rc < 0)
		(void)unlink(tmp);
out:
	free(tmp);
	return rc;
}

int mkdir_p(const char *path, unsigned mode)
{
	char *p, *s;
	struct stat st;
	int rc = 0;

	if (!*path)
		return -EINVAL;
	p = xstrdup(path);
	if (!p)
		return -ENOMEM;
	for (s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			rc = -errno;
		else if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode))
			rc = -ENOTDIR;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* Deeper than this, a tree is not one pycstorm made. */
#define REMOVE_MAX_DEPTH 128

static int remove_entry(int parent, const char *name, dev_t dev, unsigned depth);

/* Remove everything in the folder open at fd, then close it. */
static int empty_folder(int fd, dev_t dev, unsigned depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int rc = 0, sub;

	if (!d) {
		rc = -errno;
		(void)close(fd);
		return rc;
	}
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		sub = remove_entry(dirfd(d), e->d_name, dev, depth);
		if (sub && !rc)
			rc = sub;
	}
	(void)closedir(d);
	return rc;
}

/*
 * Remove name in the folder open at parent. Nothing is followed: a
 * symbolic link goes as a link, and every folder is opened with
 * O_NOFOLLOW relative to its parent, so a folder swapped for a link
 * meanwhile fails instead of leading elsewhere. A folder on another
 * filesystem than the tree's top (a mount point) is left whole: -EXDEV.
 */
static int remove_entry(int parent, const char *name, dev_t dev, unsigned depth)
{
	struct stat st;
	int fd, rc = 0;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (st.st_dev != dev)
		return -EXDEV;
	if (depth >= REMOVE_MAX_DEPTH)
		return -ELOOP;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		rc = -errno;
	else if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (st.st_dev != dev)
		rc = -EXDEV;
	if (rc == 0) {
		rc = empty_folder(fd, dev, depth + 1);   /* it closes fd */
		fd = -1;
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && !rc)
			rc = -errno;
	}
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

int remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return remove_entry(AT_FDCWD, path, st.st_dev, 0);
}
