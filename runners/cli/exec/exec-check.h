/*
 * The damage check after a round of `pycstorm exec`: every .pyc the round
 * touched goes through `pycstorm classify`, whose verdict is that of an
 * interpreter of the release that reads the file, so "a later import would
 * fail" means what it says even when the command exited 0.
 */
#ifndef PYCSTORM_EXEC_CHECK_H
#define PYCSTORM_EXEC_CHECK_H

#include <stddef.h>

#include "outcome.h"

struct exec_verdict {
	int outcome;             /* enum outcome, or -1: the file could not be read */
	int cannot_judge;        /* no interpreter of its release (error says why) */
	int remembered;          /* an earlier verdict on the same bytes (exec-memo.h) */
	char *error;             /* the exception text, or NULL */
	char *report;            /* the judge's lines about this file */
};

/* Would an import of a file in this class fail? */
int exec_verdict_fails(int outcome);
/* Classify n files; out[i] belongs to paths[i]. python (or NULL) is the
 * interpreter that ran: it judges its own release's files. 0, or -1 with
 * err filled when the classifier could not run. */
int exec_check_pycs(const char *python, const char *const *paths, size_t n,
		    struct exec_verdict *out, char *err, size_t errlen);
/* Judge n files of reader kinds (kinds[i] for paths[i]) with
 * pycstorm-cache-judge.py under python, from folder cwd, in a child whose
 * memory, CPU time and core size are capped. 0, or -1 with err filled. */
int exec_check_readers(const char *python, const char *cwd, const char *const *kinds,
		       const char *const *paths, size_t n, struct exec_verdict *out, char *err,
		       size_t errlen);
void exec_verdict_free(struct exec_verdict *v);

#endif
