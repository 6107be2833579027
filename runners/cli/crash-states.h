/*
 * The power-cut states of one traced cache write, the way ALICE and
 * CrashMonkey walk a trace. A worker wrote the new cache file over an old,
 * durable one under the power-cut fault in trace mode (the journal with
 * the bytes of every write). For every prefix of that journal (a cut after
 * operation k), every number of uncommitted metadata operations the disk
 * may have kept, and each data outcome (unsynced sectors all lost, torn,
 * all kept), the old state is laid out again, the prefix replayed for
 * real and the crash model applied (inject/faults/rollback.c).
 *
 * `crashpoints` prints each state; `matrix` makes each one a cell at the
 * call the cut follows. Both walk them here, in the same order.
 *
 * Ownership: the caller owns every string it sets in struct crash_write;
 * crash_write_load fills the trace and data_fd, crash_write_free releases
 * those two.
 */
#ifndef PYCSTORM_CRASH_STATES_H
#define PYCSTORM_CRASH_STATES_H

#include "rollback.h"

#include <stddef.h>

struct crash_write {
	const char *root;        /* the cache root the write was traced under */
	const char *scope;       /* the rollback scope within it ("": all of it) */
	const char *pyc_rel;     /* the cache file, relative to root */
	const char *source_rel;  /* its source, relative to root (kept with its mtime) */
	const char *old_pyc;     /* a copy of the old, durable cache file */
	const char *state_dir;   /* the journal, backups and trace data */
	enum crash_model model;
	unsigned sector;
	struct journal trace;    /* crash_write_load: the journal, every write named */
	int data_fd;             /* crash_write_load: the bytes of the writes */
};

/* One crash state, as built under the work folder. */
struct crash_state {
	size_t after;            /* operations of the trace done before the cut (0: none) */
	long kept, pending;      /* uncommitted metadata operations kept, of those pending */
	const char *data;        /* "unsynced lost", "torn", "unsynced kept" */
	const char *pyc;         /* the cache file of the state */
	const char *pycache;     /* the folder it is in */
};

typedef void (*crash_state_fn)(const struct crash_state *state, void *ctx);

/* Load the journal and open the trace data of w->state_dir; 0, -ENODATA
 * when the write recorded nothing, or -errno. */
int crash_write_load(struct crash_write *w);
void crash_write_free(struct crash_write *w);
/* Build every crash state in turn in the folder work (made afresh each
 * time, on the state folder's filesystem) and hand each to fn; the number
 * of states. */
size_t crash_states_walk(struct crash_write *w, const char *work, crash_state_fn fn, void *ctx);
/* Copy a file, its mtime with it (a source's mtime is in the pyc header);
 * 0 or -errno. */
int crash_copy_file(const char *from, const char *to);

#endif
