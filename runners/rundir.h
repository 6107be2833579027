/*
 * Run folders, shared by every command that writes one (run, exec):
 * results/runs/<UTC stamp>-<seed>[-k] or the user's -o DIR, and the
 * results/runs/latest link to the newest.
 */
#ifndef PYCSTORM_RUNDIR_H
#define PYCSTORM_RUNDIR_H

#include <stdint.h>

/* A fresh seed, short enough to type back. */
uint64_t rundir_random_seed(void);
/* Create the run folder and return its path (malloc'd); *id_out is the
 * folder's name under results/runs, or NULL for -o DIR. A reused DIR keeps
 * nothing of pycstorm's from before. Dies with exit 77 when it cannot. */
char *rundir_create(const char *out_dir, uint64_t seed, char **id_out);
/* Point results/runs/latest at id (no-op for NULL), atomically. */
void rundir_point_latest(const char *id);
/* Now, as ISO 8601 UTC (malloc'd). */
char *rundir_iso_now(void);

#endif
