/*
 * The damage check after a round of `pycstorm exec`: every .pyc the round
 * touched goes through `pycstorm classify`, whose verdict is that of an
 * interpreter of the release that reads the file, so "a later import would
 * fail" means what it says even when the command exited 0.
 */
#ifndef PYCSTORM_EXEC_CHECK_H
#define PYCSTORM_EXEC_CHECK_H

#include <stddef.h>
#include <sys/types.h>

#include "outcome.h"

struct exec_verdict {
	int outcome;             /* enum outcome, or -1: the file could not be read */
	int cannot_judge;        /* no interpreter of its release (error says why) */
	int own_image;           /* its writer's complete write, not compiled to compare */
	int intact;              /* and checked by exec-intact.c: its body not read back */
	char *error;             /* the exception text, or NULL */
	char *report;            /* the judge's lines about this file */
};

/* Would an import of a file in this class fail? */
int exec_verdict_fails(int outcome);
/*
 * A judge (runners/worker/judge.py --serve) started under the program's
 * interpreter, waiting on its stdin for the files of each round in turn:
 * started with the first round that needs it (with a fault armed, as the
 * round starts, so its start-up overlaps the program's run) and kept for
 * the rounds after. It judges the files of its own release; the others go
 * to `pycstorm classify`.
 */
struct exec_prejudge {
	pid_t pid;               /* -1: none */
	int in_fd, out_fd;       /* its stdin and stdout */
	char *release;           /* "3.11": the files it judges */
};

/* An exec_prejudge with no judge. */
#define EXEC_PREJUDGE_NONE { .pid = -1, .in_fd = -1, .out_fd = -1 }
/* Start one under python, of release. 0, or -1 (no judge: j->pid -1). */
int exec_prejudge_start(struct exec_prejudge *j, const char *python, const char *release);
/* Stop and reap it; free what it holds. */
void exec_prejudge_stop(struct exec_prejudge *j);
/* Is any of the n .pyc files of release (one the judge of that release
 * would take)? A judge that would take none need not start. */
int exec_any_of_release(const char *const *paths, size_t n, const char *release);
/* Classify n files; out[i] belongs to paths[i]. Those of j's release go
 * to j (when it runs), the others to `pycstorm classify`, where python
 * (or NULL), the interpreter that ran, judges its own release's files.
 * written (or NULL) is where the inject library recorded the round's
 * complete write streams (the judge's --written). 0, or -1 with err
 * filled when a judge could not run. */
int exec_check_pycs(struct exec_prejudge *j, const char *python, const char *written,
		    const char *const *paths, size_t n, struct exec_verdict *out, char *err,
		    size_t errlen);
/* Judge n files of reader kinds (kinds[i] for paths[i]) with
 * pycstorm-cache-judge.py under python, from folder cwd, in a child whose
 * memory, CPU time and core size are capped. 0, or -1 with err filled. */
int exec_check_readers(const char *python, const char *cwd, const char *const *kinds,
		       const char *const *paths, size_t n, struct exec_verdict *out, char *err,
		       size_t errlen);
void exec_verdict_free(struct exec_verdict *v);

#endif
