/*
 * The damage check; see exec-check.h. `pycstorm classify` runs as a child
 * with our own environment (no inject library), a batch of files at a
 * time, so each file is judged by an interpreter of the release that reads
 * it; its report is parsed line by line: each file's lines start at
 * "file: ". The other kinds go to pycstorm-cache-judge.py, which prints
 * one "CLASS<TAB>TEXT" line per file.
 */
#include "exec-check.h"

#include "common.h"
#include "exec-memo.h"
#include "proc.h"
#include "pythons.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
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
static int run_classifier(const char *classifier, const char *python, const char *const *paths,
			  size_t n, char **text)
{
	const char **argv = xcalloc(n + 5, sizeof(char *));
	size_t k = 0;
	int rc, sig;

	argv[k++] = classifier;
	argv[k++] = "classify";
	if (python) {
		argv[k++] = "--python";
		argv[k++] = python;
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
static int classify_all(const char *python, const char *const *paths, size_t n,
			struct exec_verdict *out, char *err, size_t errlen)
{
	char *classifier = cli_self_program();
	size_t done, batch, got;
	char *text;
	int status, rc = 0;

	for (done = 0; done < n && rc == 0; done += batch) {
		batch = n - done < CHECK_BATCH ? n - done : CHECK_BATCH;
		status = run_classifier(classifier, python, paths + done, batch, &text);
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

/* Files whose verdict was remembered (exec-memo.h) take it from there;
 * the others go to the classifier, and its conclusive verdicts are kept. */
int exec_check_pycs(const char *python, const char *const *paths, size_t n,
		    struct exec_verdict *out, char *err, size_t errlen)
{
	struct exec_memo memo;
	char **keys = xcalloc(n + 1, sizeof(char *));
	size_t *klen = xcalloc(n + 1, sizeof(size_t)), *slot = xcalloc(n + 1, sizeof(size_t));
	const char **ask = xcalloc(n + 1, sizeof(char *));
	struct exec_verdict *asked = xcalloc(n + 1, sizeof(*asked));
	size_t i, nask = 0;
	int rc;

	memset(out, 0, n * sizeof(*out));
	exec_memo_open(&memo, python);
	for (i = 0; i < n; i++) {
		keys[i] = exec_memo_key(&memo, paths[i], &klen[i]);
		if (!keys[i] || exec_memo_find(keys[i], klen[i], &out[i]) < 0) {
			slot[nask] = i;
			ask[nask++] = paths[i];
		}
	}
	rc = classify_all(python, ask, nask, asked, err, errlen);
	for (i = 0; i < nask; i++) {
		out[slot[i]] = asked[i];
		exec_memo_keep(&memo, paths[slot[i]], keys[slot[i]], klen[slot[i]], &asked[i]);
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	exec_memo_close(&memo);
	free(keys);
	free(klen);
	free(slot);
	free(ask);
	free(asked);
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
