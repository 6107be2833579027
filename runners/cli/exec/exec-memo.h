/*
 * Verdicts exec need not work out twice. The judge's verdict on a .pyc is
 * a function of what it reads: the reader (the interpreter binary and its
 * version), the judge itself, the .pyc's path and bytes, and its source's
 * path, bytes, mtime and size. When all of them are as they were for an
 * earlier verdict, that verdict is the answer again, word for word.
 *
 * Only the verdicts that need nothing else are kept: the header accepted
 * and the body the very code the source compiles to (no import was run,
 * so nothing of the machine's state went into it). Damage, stale headers,
 * files without a source and files of another release are always judged.
 * The entries (usercache.h) hold the whole key, bytes included, so a hit
 * is an exact match, never a likely one.
 */
#ifndef PYCSTORM_EXEC_MEMO_H
#define PYCSTORM_EXEC_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "exec-check.h"

struct exec_memo {
	char *ident;      /* the reader, the judge and this program, as files; NULL: off */
	uint32_t magic;   /* the reader's magic word: only its own files are kept */
};

/* Set up for the interpreter python (NULL: nothing is remembered). */
void exec_memo_open(struct exec_memo *m, const char *python);
void exec_memo_close(struct exec_memo *m);
/* The key of pyc as it is now, malloc'd (*len bytes); NULL when its
 * verdict is not one to remember (no source, another release, unreadable). */
char *exec_memo_key(const struct exec_memo *m, const char *pyc, size_t *len);
/* An earlier verdict under key into *v; 0, or -1 when there is none. */
int exec_memo_find(const char *key, size_t len, struct exec_verdict *v);
/* Remember v for pyc under key, when it is a verdict to keep and the file
 * and its source are still what key says (nothing changed while it was
 * judged). */
void exec_memo_keep(const struct exec_memo *m, const char *pyc, const char *key, size_t len,
		    const struct exec_verdict *v);

#endif
