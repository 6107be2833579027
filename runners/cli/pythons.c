/*
 * Finding the interpreters that read caches; see pythons.h. Each candidate
 * is asked about itself by running it (a probe that works under 2.7 and
 * every 3.x), so what is listed is what the binary says, never what its
 * file name suggests.
 */
#include "pythons.h"

#include "cli.h"
#include "common.h"
#include "proc.h"
#include "pyc.h"
#include "usercache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Bounds: a probe that takes longer is not a usable interpreter, and a
 * list longer than this is not a machine's set of Pythons. */
#define PROBE_TIMEOUT_MS 10000
#define PROBE_OUTPUT_MAX 4096
#define PYTHONS_MAX 64

/* Prints "MAGIC VERSION TAG EXECUTABLE" under 2.7 and 3.x alike. */
static const char probe_program[] =
	"import sys, struct\n"
	"try:\n"
	"    import importlib.util as u; m = u.MAGIC_NUMBER; t = sys.implementation.cache_tag\n"
	"except Exception:\n"
	"    import imp; m = imp.get_magic(); t = '-'\n"
	"sys.stdout.write('%d %s %s %s\\n' % (struct.unpack('<I', m)[0],\n"
	"                 sys.version.split()[0], t, sys.executable))\n";

static const char *const search_names[] = {
	"python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "python3.10",
	"python3.11", "python3.12", "python3.13", "python3.14", "python3.15",
};

/* Read the child's stdout until EOF or the deadline; 0 on EOF in time. */
static int read_bounded_output(int fd, char *buf, size_t size)
{
	struct timespec start, now;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t used = 0;
	long waited = 0;
	int rc = -1, done = 0;
	ssize_t got;

	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	while (!done && waited < PROBE_TIMEOUT_MS) {
		if (poll(&pfd, 1, (int)(PROBE_TIMEOUT_MS - waited)) > 0) {
			got = read(fd, buf + used, size - 1 - used);
			if (got > 0)
				used += (size_t)got;
			else if (got == 0 || errno != EINTR)
				done = 1;
			if (used == size - 1)
				done = 1;
		}
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
	}
	buf[used] = '\0';
	if (done)
		rc = 0;
	return rc;
}

/* A script (#!) on PATH is a wrapper, such as a pyenv shim: the binary it
 * would run is found in its own right. */
static int is_script(const char *path)
{
	char head[2] = { 0, 0 };
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), script = 0;

	if (fd >= 0) {
		script = read(fd, head, 2) == 2 && head[0] == '#' && head[1] == '!';
		(void)close(fd);
	}
	return script;
}

/* Run the probe under path; its one line of output in out, 0 when it
 * answered in time and exited 0. Without site (-S): its .pth files cost
 * time and change none of the answers. */
static int run_probe(const char *path, char *out, size_t size)
{
	char *const argv[] = { (char *)path, "-E", "-s", "-S", "-c", (char *)probe_program, NULL };
	int fds[2], status = 0, ok = -1;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = proc_fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		(void)dup2(fds[1], 1);
		if (null >= 0) {
			(void)dup2(null, 0);
			(void)dup2(null, 2);
		}
		proc_unblock();
		execv(path, argv);
		_exit(127);
	}
	(void)close(fds[1]);
	if (pid > 0) {
		ok = read_bounded_output(fds[0], out, size);
		if (ok < 0)
			(void)proc_signal(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	(void)close(fds[0]);
	return pid > 0 && ok == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* What a cached probe answer is valid for: the path, the file it leads to
 * as it is now (a rebuilt, upgraded or relinked binary is another file, or
 * has another size, mtime or ctime) and the probe itself. NULL when the
 * answer must not be kept: the path cannot be stat'ed, or it is a script,
 * whose answer may change with no change to it (a pyenv shim answers for
 * the version that PYENV_VERSION or the folder's .python-version picks). */
static char *probe_key(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || is_script(path))
		return NULL;
	return xasprintf("probe %s\n%ju %ju %jd %jd.%09ld %jd.%09ld\n%s", path, (uintmax_t)st.st_dev,
			 (uintmax_t)st.st_ino, (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec,
			 probe_program);
}

/* The probe's answer for path: from the user cache when the binary is the
 * one that gave it, else by running it (and kept for next time). */
static int probe_output(const char *path, char *out, size_t size)
{
	char *key = probe_key(path), *cached = NULL;
	size_t len = 0;
	int rc;

	if (key)
		cached = usercache_get("probe", key, strlen(key), &len);
	if (cached && len < size) {
		memcpy(out, cached, len + 1);
		rc = 0;
	} else {
		rc = run_probe(path, out, size);
		if (rc == 0 && key)
			usercache_put("probe", key, strlen(key), out, strlen(out));
	}
	free(cached);
	free(key);
	return rc;
}

/* Probe path; fills *py (path, version, release, magic, tag). */
static int probe(const char *path, struct python *py)
{
	char out[PROBE_OUTPUT_MAX], version[64], tag[64], exe[PROBE_OUTPUT_MAX];
	unsigned magic = 0;
	int rc = -1;

	if (probe_output(path, out, sizeof(out)) == 0 &&
	    sscanf(out, "%u %63s %63s %4095[^\n]", &magic, version, tag, exe) == 4 &&
	    pyc_magic_release(magic)) {
		py->path = xstrdup(exe);
		py->version = xstrdup(version);
		py->release = xstrdup(pyc_magic_release(magic));
		py->magic = magic;
		py->cache_tag = xstrdup(strcmp(tag, "-") ? tag : "");
		rc = 0;
	}
	return rc;
}

static int already_listed(const struct python_list *list, const char *exe)
{
	size_t i;
	int found = 0;

	for (i = 0; i < list->count && !found; i++)
		found = strcmp(list->items[i].path, exe) == 0;
	return found;
}

/* Probe path and add it; -1 when the probe fails. A duplicate is fine. */
static int add_candidate(struct python_list *list, const char *path, const char *found_by)
{
	struct python py = { 0 };
	int rc = -1;

	if (list->count < PYTHONS_MAX && access(path, X_OK) == 0 && probe(path, &py) == 0) {
		rc = 0;
		if (already_listed(list, py.path)) {
			free(py.path);
			free(py.version);
			free(py.release);
			free(py.cache_tag);
		} else {
			py.found_by = found_by;
			list->items = xrealloc(list->items, (list->count + 1) * sizeof(py));
			list->items[list->count++] = py;
		}
	}
	return rc;
}

/* "python3.12" names release "3.12": only those are probed when one
 * release is wanted. */
static int name_wanted(const char *name, const char *release)
{
	return !release || !strcmp(name + strlen("python"), release);
}

static void search_path(struct python_list *list, const char *release)
{
	const char *env = getenv("PATH");
	char *copy = xstrdup(env ? env : "/usr/bin:/bin"), *save = NULL, *dir, *path;
	size_t i;

	for (i = 0; i < sizeof(search_names) / sizeof(search_names[0]); i++) {
		if (!name_wanted(search_names[i], release))
			continue;
		free(copy);
		copy = xstrdup(env ? env : "/usr/bin:/bin");
		for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			path = xasprintf("%s/%s", *dir ? dir : ".", search_names[i]);
			if (access(path, X_OK) == 0 && !is_script(path) &&
			    add_candidate(list, path, "PATH") == 0) {
				free(path);
				break;
			}
			free(path);
		}
	}
	free(copy);
}

static void search_pyenv(struct python_list *list, const char *release)
{
	const char *root_env = getenv("PYENV_ROOT"), *home = getenv("HOME");
	char *root = root_env && *root_env ? xasprintf("%s/versions", root_env)
		   : xasprintf("%s/.pyenv/versions", home ? home : "");
	struct dirent **entries = NULL;
	char *path;
	int n, i;
	size_t k;

	n = scandir(root, &entries, NULL, versionsort);
	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(search_names) / sizeof(search_names[0]) &&
			    entries[i]->d_name[0] != '.'; k++) {
			if (!name_wanted(search_names[k], release))
				continue;
			path = xasprintf("%s/%s/bin/%s", root, entries[i]->d_name, search_names[k]);
			if (access(path, X_OK) == 0)
				(void)add_candidate(list, path, "pyenv");
			free(path);
		}
		free(entries[i]);
	}
	free(entries);
	free(root);
}

int pythons_probe(const char *path, struct python *py)
{
	memset(py, 0, sizeof(*py));
	return access(path, X_OK) == 0 ? probe(path, py) : -1;
}

int pythons_find(struct python_list *out, const char *const *given, size_t ngiven,
		 char *err, size_t errlen)
{
	return pythons_find_release(out, given, ngiven, NULL, err, errlen);
}

int pythons_find_release(struct python_list *out, const char *const *given, size_t ngiven,
			 const char *release, char *err, size_t errlen)
{
	const char *env = getenv("PYCSTORM_PYTHONS");
	char *copy, *save = NULL, *item;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < ngiven && rc == 0; i++) {
		if (add_candidate(out, given[i], "--python") < 0) {
			(void)snprintf(err, errlen, "--python '%s': %s", given[i],
				       access(given[i], X_OK) ? strerror(errno)
				       : "not a Python interpreter that answers the probe (2.7 or 3.x)");
			rc = -1;
		}
	}
	copy = xstrdup(env ? env : "");
	for (item = strtok_r(copy, ":", &save); item && rc == 0; item = strtok_r(NULL, ":", &save))
		(void)add_candidate(out, item, "PYCSTORM_PYTHONS");
	free(copy);
	if (rc == 0 && !pythons_for_release(out, release)) {
		search_path(out, release);
		if (!pythons_for_release(out, release))
			search_pyenv(out, release);
	}
	return rc;
}

void pythons_free(struct python_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		free(list->items[i].path);
		free(list->items[i].version);
		free(list->items[i].release);
		free(list->items[i].cache_tag);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

const struct python *pythons_for_release(const struct python_list *list, const char *release)
{
	const struct python *found = NULL;
	size_t i;

	for (i = 0; i < list->count && !found && release; i++)
		if (!strcmp(list->items[i].release, release))
			found = &list->items[i];
	return found;
}

const char *pythons_tag_release(const char *tag)
{
	static char release[16];
	const char *digits;
	const char *found = NULL;

	if (tag && !strncmp(tag, "cpython-", 8)) {
		digits = tag + 8;
		if (strlen(digits) >= 2 && strlen(digits) <= 3 &&
		    strspn(digits, "0123456789") == strlen(digits)) {
			(void)snprintf(release, sizeof(release), "%c.%s", digits[0], digits + 1);
			found = release;
		}
	}
	return found;
}

/* NAME.TAG.pyc -> TAG, copied into buf; NULL when the name has no tag. */
static const char *tag_of(const char *path, char *buf, size_t size)
{
	const char *base = strrchr(path, '/'), *first, *last;
	const char *tag = NULL;

	base = base ? base + 1 : path;
	first = strchr(base, '.');
	last = strrchr(base, '.');
	if (first && last && first != last && !strcmp(last, ".pyc") &&
	    (size_t)(last - first - 1) < size) {
		(void)snprintf(buf, size, "%.*s", (int)(last - first - 1), first + 1);
		tag = buf;
	}
	return tag;
}

const char *pythons_reader_release(const char *path, const uint8_t *head, size_t len,
				   const char **writer)
{
	char tag[64];
	const char *by_tag = pythons_tag_release(tag_of(path, tag, sizeof(tag)));

	*writer = len >= 4 ? pyc_magic_release(pyc_le32(head)) : NULL;
	return by_tag ? by_tag : *writer;
}

char *cli_self_program(void)
{
	char *self = realpath("/proc/self/exe", NULL);

	return self ? self : xstrdup("pycstorm");
}

char *cli_judge_program(void)
{
	char *worker = cli_worker_program(), *slash = strrchr(worker, '/');
	char *path;

	if (slash)
		*slash = '\0';
	path = slash ? xasprintf("%s/pycstorm-judge.py", worker) : xstrdup("pycstorm-judge.py");
	free(worker);
	return path;
}

char *classify_class_of(const char *python, const char *path, const char *report)
{
	char *self = cli_self_program(), *text = NULL, *cls = NULL, *p;
	const char *argv[6];
	size_t len, n = 0;
	int status = -1, fd;
	pid_t pid = -1;

	argv[n++] = self;
	argv[n++] = "classify";
	if (python) {
		argv[n++] = "--python";
		argv[n++] = python;
	}
	argv[n++] = path;
	argv[n] = NULL;
	if (access(path, F_OK) == 0)
		pid = proc_fork();
	if (pid == 0) {
		fd = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		(void)dup2(fd, 1);
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		(void)dup2(fd, 2);
		proc_unblock();
		execv(self, (char *const *)argv);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid > 0 && read_file(report, &text, &len) == 0 &&
	    (p = strstr(text, "\nclass: ")) != NULL)
		cls = xstrndup(p + 8, strcspn(p + 8, "\n"));
	if (pid > 0)
		(void)unlink(report);
	free(text);
	free(self);
	return cls ? cls : xstrdup(pid < 0 && access(path, F_OK) != 0 ? "missing" : "unknown");
}
