/*
 * The lock holder: a process playing an antivirus scanner or a search
 * indexer. It opens random files of one cache folder, takes an OFD read
 * lock, holds it for a while and lets go, completing any delete that was
 * left pending on the file meanwhile (see lockstate.h). It also holds the
 * new files the inject library hands over at their close, each for a hold
 * of its own, many at once.
 */
#ifndef PYCSTORM_HOLDER_H
#define PYCSTORM_HOLDER_H

#include <stdint.h>

/* Handed-over files one holder keeps at once; past that it lets go of
 * new ones at once (no lock, no refusal). */
#define HOLDER_MAX_GRABBED 256

struct holder_plan {
	const char *dir;          /* the folder to pick files of, or NULL: none */
	const char *state_dir;    /* delete-pending markers */
	int grab_fd;              /* holder_grab_socket's, or -1: none handed over */
	uint64_t seed;
	uint64_t hold_lo_ns, hold_hi_ns;
	uint64_t gap_lo_ns, gap_hi_ns;
};

/* The socket the inject library hands new files to (lockstate.h), bound
 * for state_dir; close-on-exec. Holders forked after it inherit it; the
 * caller closes its own copy once they are started. -1 with errno set
 * when it cannot be made (another run has it: no file is handed over). */
int holder_grab_socket(const char *state_dir);

/* In a child of proc_fork: runs until SIGTERM (or the parent's death);
 * never returns. */
void holder_run(const struct holder_plan *plan) __attribute__((noreturn));

#endif
