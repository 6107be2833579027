/*
 * The damage check; see exec-check.h. The .pyc files of the program's own
 * release go to the judge started with the round (exec_prejudge_start),
 * the others to `pycstorm classify`, which runs as a child with our own
 * environment (no inject library), a batch of files at a time, so each
 * file is judged by an interpreter of the release that reads it. Both
 * print the judge's report, parsed line by line: each file's lines start
 * at "file: ". The other kinds go to pycstorm-cache-judge.py, which
 * prints one "CLASS<TAB>TEXT" line per file.
 */
#include "exec-check.h"

#include "common.h"
#include "proc.h"
#include "pyc.h"
#include "pythons.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Files per classifier run: keeps the command line far below ARG_MAX. */
#define CHECK_BATCH 200

int exec_verdict_fails(int outcome)
{
	return outcome >= 0 && outcome != OUTCOME_OK && outcome != OUTCOME_STALE;
}

void exec_verdict_free(struct exec_verdict *v)
{
	free(v->error);
	free(v->report);
	v->error = v->report = NULL;
}

/* Read fd to its end into a malloc'd, NUL-terminated buffer. */
static char *read_all(int fd)
{
	size_t cap = 65536, n = 0;
	char *buf = xmalloc(cap + 1);
	ssize_t got;

	for (;;) {
		if (n == cap)
			buf = xrealloc(buf, (cap *= 2) + 1);
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	return buf;
}

/* What a reader's judge may use: it unpickles what a fault left. */
#define JUDGE_MEMORY (1ull << 30)
#define JUDGE_CPU_SECONDS 30

static void cap(int resource, rlim_t value)
{
	struct rlimit rl = { value, value };

	(void)setrlimit(resource, &rl);
}

/* Run argv (from folder cwd, or here); what it prints in *text, its exit
 * status back (-1: it could not run, or died: *signal says which). */
static int run_child(const char *const *argv, const char *cwd, int capped, char **text,
		     int *signal_out)
{
	int fds[2], status = -1;
	pid_t pid = -1;

	*text = NULL;
	*signal_out = 0;
	if (pipe2(fds, O_CLOEXEC) == 0) {
		pid = proc_fork();
		if (pid == 0) {
			/* A file gone or refused by the time we look is in the
			 * report as unreadable; its line for a person is noise here. */
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
			(void)dup2(fds[1], 1);
			if (null >= 0)
				(void)dup2(null, 2);
			if (capped) {
				cap(RLIMIT_AS, JUDGE_MEMORY);
				cap(RLIMIT_CPU, JUDGE_CPU_SECONDS);
				cap(RLIMIT_CORE, 0);
			}
			if (cwd && chdir(cwd) < 0)
				_exit(EXIT_SKIP);
			proc_unblock();
			execvp(argv[0], (char *const *)argv);
			_exit(EXIT_SKIP);
		}
		(void)close(fds[1]);
		*text = pid > 0 ? read_all(fds[0]) : NULL;
		(void)close(fds[0]);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid > 0 && WIFSIGNALED(status))
		*signal_out = WTERMSIG(status);
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run the classifier on paths; its report in *text, its exit status back. */
static int run_classifier(const char *classifier, const char *python, const char *written,
			  const char *const *paths, size_t n, char **text)
{
	const char **argv = xcalloc(n + 7, sizeof(char *));
	size_t k = 0;
	int rc, sig;

	argv[k++] = classifier;
	argv[k++] = "classify";
	if (python) {
		argv[k++] = "--python";
		argv[k++] = python;
	}
	if (written) {
		argv[k++] = "--written";
		argv[k++] = written;
	}
	memcpy(argv + k, paths, n * sizeof(char *));
	rc = run_child(argv, NULL, 0, text, &sig);
	free(argv);
	return rc;
}

static void finish_verdict(struct exec_verdict *v, char *report)
{
	char *cls = strstr(report, "\nclass: "), *err = strstr(report, "\nerror: ");

	v->report = report;
	v->outcome = -1;
	if (cls) {
		char *name = xstrndup(cls + 8, strcspn(cls + 8, "\n"));
		v->outcome = outcome_from_name(name);
		v->cannot_judge = !strcmp(name, "cannot_judge");
		free(name);
	}
	v->own_image = strstr(report, "\nbody: unmarshals to a code object, its writer's own "
					"complete write") != NULL;
	if (err && (v->outcome >= 0 || v->cannot_judge))
		v->error = xstrndup(err + 8, strcspn(err + 8, "\n"));
}

/* Split the report at each "file: " line; the k-th belongs to the k-th path. */
static size_t parse_report(const char *text, struct exec_verdict *out, size_t n)
{
	const char *line = text, *next, *start = NULL;
	size_t k = 0;

	for (; *line; line = next) {
		next = line + strcspn(line, "\n");
		next += *next == '\n';
		if (strncmp(line, "file: ", 6))
			continue;
		if (start && k < n)
			finish_verdict(&out[k++], xstrndup(start, (size_t)(line - start)));
		start = line;
	}
	if (start && k < n)
		finish_verdict(&out[k++], xstrndup(start, strlen(start)));
	return k;
}

/* Classify paths in batches into out; 0, or -1 with err filled. */
static int classify_all(const char *python, const char *written, const char *const *paths,
			size_t n, struct exec_verdict *out, char *err, size_t errlen)
{
	char *classifier = cli_self_program();
	size_t done, batch, got;
	char *text;
	int status, rc = 0;

	for (done = 0; done < n && rc == 0; done += batch) {
		batch = n - done < CHECK_BATCH ? n - done : CHECK_BATCH;
		status = run_classifier(classifier, python, written, paths + done, batch, &text);
		/* 77: some file had no interpreter of its release; its block
		 * says "cannot judge", and the others are judged. */
		got = text && ((status >= 0 && status <= 2) || status == EXIT_SKIP)
			      ? parse_report(text, out + done, batch) : 0;
		if (got != batch) {
			(void)snprintf(err, errlen, "the classifier '%s classify' failed (exit status %d)",
				       classifier, status);
			rc = -1;
		}
		free(text);
	}
	free(classifier);
	return rc;
}

int exec_prejudge_start(struct exec_prejudge *j, const char *python, const char *release)
{
	char *judge = cli_judge_program();
	/* -S: the judge needs the standard library alone, not site's .pth files. */
	const char *argv[] = { python, "-E", "-s", "-S", judge, "--serve", NULL };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int null, rc = 0;

	free(j->release);   /* of a judge that died */
	memset(j, 0, sizeof(*j));
	j->pid = -1;
	j->in_fd = j->out_fd = -1;
	if (!python || !release || pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		rc = -1;
	if (rc == 0 && (j->pid = proc_fork()) == 0) {
		/* Its own group: a Ctrl-C meant for the program is not for it. */
		(void)setpgid(0, 0);
		null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		(void)dup2(in[0], 0);
		(void)dup2(out[1], 1);
		if (null >= 0)
			(void)dup2(null, 2);
		proc_unblock();
		execv(argv[0], (char *const *)argv);
		_exit(EXIT_SKIP);
	}
	rc = j->pid > 0 ? 0 : -1;
	if (rc == 0) {
		j->in_fd = in[1];
		j->out_fd = out[0];
		j->release = xstrdup(release);
		in[1] = out[0] = -1;
	}
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			(void)close(in[i]);
		if (out[i] >= 0)
			(void)close(out[i]);
	}
	free(judge);
	return rc;
}

/* Wait for the judge to end; its exit status, or -1 (it died: *sig). */
static int prejudge_wait(struct exec_prejudge *j, int *sig)
{
	int status = 0;

	*sig = 0;
	while (j->pid > 0 && waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (j->pid > 0 && WIFSIGNALED(status))
		*sig = WTERMSIG(status);
	j->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void exec_prejudge_stop(struct exec_prejudge *j)
{
	int sig;

	if (j->in_fd >= 0)
		(void)close(j->in_fd);
	if (j->out_fd >= 0)
		(void)close(j->out_fd);
	j->in_fd = j->out_fd = -1;
	if (j->pid > 0) {
		(void)proc_signal(j->pid, SIGKILL);
		(void)prejudge_wait(j, &sig);
	}
	free(j->release);
	j->release = NULL;
}

/* Write one request to the judge on fd: the arguments, each
 * NUL-terminated, and one more NUL. A judge that died before reading them
 * must cost a failed write, not our SIGPIPE: it is blocked meanwhile (not
 * ignored, which the copies would inherit) and a pending one taken away. */
static void send_args(int fd, const char *written, const char *const *paths, size_t n)
{
	static const struct timespec no_wait = { 0, 0 };
	sigset_t pipe_sig, before;
	size_t i;
	int rc = 0;

	(void)sigemptyset(&pipe_sig);
	(void)sigaddset(&pipe_sig, SIGPIPE);
	(void)sigprocmask(SIG_BLOCK, &pipe_sig, &before);
	if (written)
		rc = write_all(fd, "--written", 10) < 0 || write_all(fd, written, strlen(written) + 1) < 0;
	for (i = 0; i < n && rc == 0; i++)
		rc = write_all(fd, paths[i], strlen(paths[i]) + 1) < 0;
	if (rc == 0)
		(void)write_all(fd, "", 1);
	while (sigtimedwait(&pipe_sig, NULL, &no_wait) > 0)
		;
	(void)sigprocmask(SIG_SETMASK, &before, NULL);
}

/* The start of the judge's "end N" line when text ends with one, else NULL. */
static char *answer_end(char *text, size_t len)
{
	char *last;

	if (!len || text[len - 1] != '\n')
		return NULL;
	for (last = text + len - 1; last > text && last[-1] != '\n'; last--)
		;
	return !strncmp(last, "end ", 4) ? last : NULL;
}

/* Read one answer of the judge on fd, up to its "end N" line, into a
 * malloc'd text; *status gets N. NULL when the judge ended first. */
static char *read_answer(int fd, int *status)
{
	size_t cap = 65536, n = 0;
	char *buf = xmalloc(cap + 1), *end = NULL;
	ssize_t got = 1;

	while (!end && got > 0) {
		if (n == cap)
			buf = xrealloc(buf, (cap *= 2) + 1);
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			got = 1;
		else if (got > 0)
			n += (size_t)got;
		buf[n] = '\0';
		end = got > 0 ? answer_end(buf, n) : NULL;
	}
	if (end) {
		*status = atoi(end + 4);
		*end = '\0';
	} else {
		free(buf);
		buf = NULL;
	}
	return buf;
}

/* Hand the judge a round's files and read its report into out. A judge
 * that ends instead of answering is reaped: the next round starts another. */
static int prejudge_run(struct exec_prejudge *j, const char *written, const char *const *paths,
			size_t n, struct exec_verdict *out, char *err, size_t errlen)
{
	int status = -1, sig = 0, rc = 0;
	size_t got = 0;
	char *text;

	send_args(j->in_fd, written, paths, n);
	text = read_answer(j->out_fd, &status);
	if (!text) {
		(void)close(j->in_fd);
		(void)close(j->out_fd);
		j->in_fd = j->out_fd = -1;
		status = prejudge_wait(j, &sig);
	}
	if (text && status >= 0 && status <= 2)
		got = parse_report(text, out, n);
	if (got != n) {
		(void)snprintf(err, errlen, "the judge failed (%s %d)",
			       sig ? "signal" : "exit status", sig ? sig : status);
		rc = -1;
	}
	free(text);
	return rc;
}

/* Is path a .pyc of release, as classify would pick its reader? A file
 * that cannot be read, or names no release, goes to classify. */
static int of_release(const char *path, const char *release)
{
	uint8_t head[PYC_HEADER_SIZE];
	const char *writer = NULL, *names;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, head, sizeof(head)) : -1;

	if (fd >= 0)
		(void)close(fd);
	names = got > 0 ? pythons_reader_release(path, head, (size_t)got, &writer) : NULL;
	return names && !strcmp(names, release);
}

int exec_any_of_release(const char *const *paths, size_t n, const char *release)
{
	size_t i;
	int found = 0;

	for (i = 0; i < n && release && !found; i++)
		found = of_release(paths[i], release);
	return found;
}

int exec_check_pycs(struct exec_prejudge *j, const char *python, const char *written,
		    const char *const *paths, size_t n, struct exec_verdict *out, char *err,
		    size_t errlen)
{
	const char **mine = xcalloc(n + 1, sizeof(char *)), **others = xcalloc(n + 1, sizeof(char *));
	size_t *slot = xcalloc(n + 1, sizeof(size_t)), *oslot = xcalloc(n + 1, sizeof(size_t));
	struct exec_verdict *vm = xcalloc(n + 1, sizeof(*vm)), *vo = xcalloc(n + 1, sizeof(*vo));
	size_t i, nm = 0, no = 0;
	int rc = 0;

	memset(out, 0, n * sizeof(*out));
	for (i = 0; i < n; i++) {
		if (j && j->pid > 0 && of_release(paths[i], j->release)) {
			slot[nm] = i;
			mine[nm++] = paths[i];
		} else {
			oslot[no] = i;
			others[no++] = paths[i];
		}
	}
	/* A judge that died (it unmarshals writers' own images itself) hands
	 * its files to classify, without the records: each in a child. */
	if (nm && prejudge_run(j, written, mine, nm, vm, err, errlen) < 0) {
		for (i = 0; i < nm; i++)
			exec_verdict_free(&vm[i]);
		memset(vm, 0, nm * sizeof(*vm));
		rc = classify_all(python, NULL, mine, nm, vm, err, errlen);
	}
	if (no && classify_all(python, written, others, no, vo, err, errlen) < 0)
		rc = -1;
	for (i = 0; i < nm; i++)
		out[slot[i]] = vm[i];
	for (i = 0; i < no; i++)
		out[oslot[i]] = vo[i];
	free(mine);
	free(others);
	free(slot);
	free(oslot);
	free(vm);
	free(vo);
	return rc;
}

/* pycstorm-cache-judge.py beside the worker, as pycstorm-judge.py is. */
static char *cache_judge_program(void)
{
	char *judge = cli_judge_program(), *slash = strrchr(judge, '/');
	char *path = slash ? xasprintf("%.*s/pycstorm-cache-judge.py", (int)(slash - judge), judge)
			   : xstrdup("pycstorm-cache-judge.py");

	free(judge);
	return path;
}

/* One "CLASS<TAB>TEXT" line into v; 0, or -1 when it is not one. */
static int reader_verdict(const char *kind, const char *path, const char *line, size_t len,
			  struct exec_verdict *v)
{
	const char *tab = memchr(line, '\t', len);
	char *name;

	if (!tab)
		return -1;
	name = xstrndup(line, (size_t)(tab - line));
	v->outcome = outcome_from_name(name);
	v->error = xstrndup(tab + 1, len - (size_t)(tab + 1 - line));
	v->report = xasprintf("file: %s\nkind: %s\nclass: %s\nerror: %s\n", path, kind, name,
			      v->error);
	free(name);
	return 0;
}

int exec_check_readers(const char *python, const char *cwd, const char *const *kinds,
		       const char *const *paths, size_t n, struct exec_verdict *out, char *err,
		       size_t errlen)
{
	char *judge = cache_judge_program(), *text, *line, *end;
	const char **argv = xcalloc(2 * n + 4, sizeof(char *));
	size_t done = 0, i, k;
	int rc = 0, status, sig;

	memset(out, 0, n * sizeof(*out));
	for (i = 0; i < n; i++)
		out[i].outcome = -1;
	/* A file that kills the judge is judged by that; the rest go again. */
	while (done < n && rc == 0) {
		argv[0] = python;
		argv[1] = "-B";
		argv[2] = judge;
		for (i = done, k = 3; i < n && i < done + CHECK_BATCH; i++) {
			argv[k++] = kinds[i];
			argv[k++] = paths[i];
		}
		argv[k] = NULL;
		status = run_child(argv, cwd, 1, &text, &sig);
		for (line = text; line && *line && done < n; line = end + (*end == '\n')) {
			end = line + strcspn(line, "\n");
			if (*end != '\n' || reader_verdict(kinds[done], paths[done], line,
							    (size_t)(end - line), &out[done]) < 0)
				break;
			done++;
		}
		free(text);
		if (done < n && sig) {
			out[done].outcome = OUTCOME_INTERPRETER_CRASH;
			out[done].error = xasprintf("the reader died on it: signal %d (%s)", sig,
						    strsignal(sig));
			out[done].report = xasprintf("file: %s\nkind: %s\nclass: %s\nerror: %s\n",
						     paths[done], kinds[done],
						     outcome_name(OUTCOME_INTERPRETER_CRASH),
						     out[done].error);
			done++;
		} else if (done < i) {
			(void)snprintf(err, errlen, "the cache judge '%s %s' failed (exit status %d)",
				       python, judge, status);
			rc = -1;
		}
	}
	free(argv);
	free(judge);
	return rc;
}
