/*
 * The cache kinds `pycstorm exec` knows: one table (exec-kinds.c) maps a
 * path pattern to how a file of that kind is judged, the way its real
 * reader reads it. A new cache format is one entry there.
 *
 *   classify  a .pyc: `pycstorm classify`, by the interpreter that ran
 *   reader    pycstorm-cache-judge.py, in a capped child of that
 *             interpreter: JSON (and the fields mypy reads), pickle,
 *             Twisted's dropin.cache, SQLite
 *   temp      a temporary name: left behind when the round created it
 *   unknown   touched, not judged
 *
 * A kind whose reader is known to tolerate damage (it rebuilds or ignores
 * the file) says so in `tolerant`: its damage is reported, not counted.
 */
#ifndef PYCSTORM_EXEC_KINDS_H
#define PYCSTORM_EXEC_KINDS_H

enum exec_judge_how { EXEC_JUDGE_CLASSIFY, EXEC_JUDGE_READER, EXEC_JUDGE_TEMP, EXEC_JUDGE_NONE };

struct exec_kind {
	const char *name;        /* "pyc", "mypy-meta", ...: also the reader's name */
	const char *pattern;     /* fnmatch(3) on the absolute path, '*' crosses '/' */
	enum exec_judge_how how;
	const char *what;        /* for people: "mypy's JSON cache (meta)" */
	const char *tolerant;    /* "pytest rewrites it", or NULL: damage counts */
};

/* The first kind whose pattern matches path; never NULL (the last is "unknown"). */
const struct exec_kind *exec_kind_of(const char *path);

#endif
