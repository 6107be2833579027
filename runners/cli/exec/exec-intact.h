/*
 * The intact check of `pycstorm exec`: a touched .pyc whose bytes are,
 * whole, a write stream its writer made (the inject library's records,
 * written.h), written by the interpreter that ran and fresh for its source,
 * is the file that interpreter meant to write, so no fault and no race
 * changed it. Its header is checked here, as importlib checks it; its body
 * is not read back unless asked (--read-back), which is what saves exec
 * starting a judge for a round in which nothing went wrong. Every other
 * .pyc goes to its real reader.
 *
 * The check is narrow on purpose: a timestamp .pyc (flags 0) in
 * __pycache__ named with the interpreter's own cache tag, its magic that
 * interpreter's, its source beside it with the mtime and size the header
 * names. Anything else, or a doubt, is the judge's.
 */
#ifndef PYCSTORM_EXEC_INTACT_H
#define PYCSTORM_EXEC_INTACT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "exec-cache.h"
#include "exec-check.h"

/* One complete write stream: its length, its digest, where it was written. */
struct exec_stream {
	uint64_t length;
	uint32_t crc[2];
	char *path;
};

struct exec_streams {
	struct exec_stream *items;   /* sorted by length, digest */
	size_t n, cap;
};

/* The interpreter whose own files are checked here. */
struct exec_writer {
	uint32_t magic;              /* its magic word, little endian */
	const char *cache_tag;       /* "cpython-311" */
	const char *version;         /* "3.11.2": for the report */
};

/* Bytes read back, in one buffer kept between files. */
struct exec_buffer {
	char *data;
	size_t len, cap;
};

/* Every record the inject library left in dir (written-PID files). A
 * record cut short (no newline) is not trusted. */
void exec_streams_load(const char *dir, struct exec_streams *s);
/* Add the whole lines of text (a record file's bytes from some offset),
 * calling each (when not NULL) with every new record's path; how many
 * bytes they took (a last line without its newline is left). */
size_t exec_streams_add(struct exec_streams *s, const char *text, size_t len,
			void (*each)(void *ctx, const char *path), void *ctx);
/* Is name one of the inject library's record files? */
int exec_streams_file(const char *name);
void exec_streams_free(struct exec_streams *s);
/* Is the .pyc at path intact and fresh? 1 with *v filled (outcome ok,
 * intact set), else 0 and *v untouched: the file is the judge's. Its
 * bytes are read into buf (the caller frees buf->data). */
int exec_intact_pyc(const struct exec_streams *s, const struct exec_writer *w, const char *path,
		    struct exec_buffer *buf, struct exec_verdict *v);
/* The same check on bytes already read from path; 1 when intact and
 * fresh, with the source's stat, which the freshness was judged on, in
 * *source_st (when not NULL). */
int exec_intact_bytes(const struct exec_streams *s, const struct exec_writer *w, const char *path,
		      const void *data, size_t len, struct stat *source_st);
/* The verdict of an intact file. */
void exec_intact_verdict(struct exec_verdict *v, const struct exec_writer *w, const char *path);
/* The source the check compares path with, or NULL: path is not a .pyc
 * of w's tag in a __pycache__ folder. Malloc'd. */
char *exec_intact_source(const char *path, const struct exec_writer *w);
/* Read the regular file open at fd, whose stat is *st, whole into buf,
 * grown as needed (one buffer for every file of a round: a fresh one per
 * file costs its page faults). 0, or -1: not a regular file, too large,
 * not read whole, or changed (its stat) while it was read. */
int exec_read_whole(int fd, const struct stat *st, struct exec_buffer *buf);

#endif
