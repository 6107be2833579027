/*
 * The interpreters on this machine that can read a cache, found in a fixed
 * order (README "Judging by release"): each --python, then PYCSTORM_PYTHONS
 * (a colon-separated list), then python2.7 and python3.N on PATH, then
 * pyenv's versions folder. The first interpreter found for a release is the
 * one that judges that release's files.
 */
#ifndef PYCSTORM_PYTHONS_H
#define PYCSTORM_PYTHONS_H

#include <stddef.h>
#include <stdint.h>

struct python {
	char *path;          /* sys.executable as the interpreter reports it */
	char *version;       /* "3.12.1" */
	char *release;       /* "3.12" */
	uint32_t magic;      /* the 4-byte magic word, little endian */
	char *cache_tag;     /* "cpython-312"; "" for 2.7, which has none */
	const char *found_by;   /* "--python", "PYCSTORM_PYTHONS", "PATH", "pyenv" */
};

struct python_list {
	struct python *items;
	size_t count;
};

/* Interpreters named on the command line must work: -1 with one line in
 * err when one does not. Those found by searching are skipped when their
 * probe fails. */
int pythons_find(struct python_list *out, const char *const *given, size_t ngiven,
		 char *err, size_t errlen);
/* The same, stopping as soon as one of release ("3.12") is found; only
 * pythonX.Y names of that release are probed on PATH and in pyenv. */
int pythons_find_release(struct python_list *out, const char *const *given, size_t ngiven,
			 const char *release, char *err, size_t errlen);
void pythons_free(struct python_list *list);
/* Probe the one interpreter at path into py (its strings malloc'd, the
 * caller's to free); -1 when it does not answer the probe. */
int pythons_probe(const char *path, struct python *py);
/* The interpreter that judges a release ("3.12"), or NULL. */
const struct python *pythons_for_release(const struct python_list *list, const char *release);

/*
 * Which release reads a cache file: the one its cache tag names
 * (NAME.cpython-312.pyc sits where only 3.12 looks), else the one its
 * magic number names (a legacy NAME.pyc). NULL when neither names one.
 * *writer is the release the magic names, or NULL.
 */
const char *pythons_reader_release(const char *path, const uint8_t *head, size_t len,
				   const char **writer);
/* "3.12" for "cpython-312", "2.7" for "cpython-27"; NULL otherwise. Static. */
const char *pythons_tag_release(const char *tag);

/* This program's own path, for running `pycstorm classify` as a child: the
 * one way every command judges a cache (by the release that reads it). */
char *cli_self_program(void);
/* The class `pycstorm classify [--python PYTHON] path` gives path ("eof",
 * "stale", ...), its report written to the scratch file report and removed;
 * "missing" when there is no file, "unknown" when classify said nothing. */
char *classify_class_of(const char *python, const char *path, const char *report);
/* pycstorm-judge.py beside the program, or where it is installed. Malloc'd. */
char *cli_judge_program(void);

#endif
