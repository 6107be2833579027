/*
 * The damage check; see exec-check.h. `pycstorm classify` runs as a child
 * with our own environment (no inject library), a batch of files at a
 * time, so each file is judged by an interpreter of the release that reads
 * it; its report is parsed line by line: each file's lines start at
 * "file: ".
 */
#include "exec-check.h"

#include "common.h"
#include "proc.h"
#include "pythons.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

/* Run the classifier on paths; its report in *text, its exit status back. */
static int run_classifier(const char *classifier, const char *const *paths, size_t n, char **text)
{
	const char **argv = xcalloc(n + 3, sizeof(char *));
	int fds[2], status = -1;
	pid_t pid = -1;

	argv[0] = classifier;
	argv[1] = "classify";
	memcpy(argv + 2, paths, n * sizeof(char *));
	*text = NULL;
	if (pipe2(fds, O_CLOEXEC) == 0) {
		pid = proc_fork();
		if (pid == 0) {
			/* A file gone or refused by the time we look is in the
			 * report as unreadable; its line for a person is noise here. */
			int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
			(void)dup2(fds[1], 1);
			if (null >= 0)
				(void)dup2(null, 2);
			proc_unblock();
			execv(classifier, (char *const *)argv);
			_exit(EXIT_SKIP);
		}
		(void)close(fds[1]);
		*text = pid > 0 ? read_all(fds[0]) : NULL;
		(void)close(fds[0]);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(argv);
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void finish_verdict(struct exec_verdict *v, char *report)
{
	char *cls = strstr(report, "\nclass: "), *err = strstr(report, "\nerror: ");

	v->report = report;
	v->outcome = -1;
	if (cls) {
		char *name = xstrndup(cls + 8, strcspn(cls + 8, "\n"));
		v->outcome = outcome_from_name(name);
		free(name);
	}
	if (err && v->outcome >= 0)
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

int exec_check_pycs(const char *const *paths, size_t n, struct exec_verdict *out, char *err,
		    size_t errlen)
{
	char *classifier = cli_self_program();
	size_t done, batch, got;
	char *text;
	int status, rc = 0;

	memset(out, 0, n * sizeof(*out));
	for (done = 0; done < n && rc == 0; done += batch) {
		batch = n - done < CHECK_BATCH ? n - done : CHECK_BATCH;
		status = run_classifier(classifier, paths + done, batch, &text);
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
