/*
 * Run folders, shared by every command that writes one (run, exec, merge,
 * gate through run): results/runs/<UTC stamp>-<seed>[-k] or the user's
 * -o DIR, each marked as pycstorm's (owned.h), and the results/runs/latest
 * link to the newest.
 */
#ifndef PYCSTORM_RUNDIR_H
#define PYCSTORM_RUNDIR_H

#include <stdint.h>

#include "owned.h"

/* A fresh seed, short enough to type back. */
uint64_t rundir_random_seed(void);
/* Create the run folder, mark it and hold it in own (release it when the
 * run is over), and return its path (malloc'd; for -o DIR, resolved);
 * *id_out is the folder's name under results/runs, or NULL for -o DIR. A
 * reused DIR loses what pycstorm wrote there before, and nothing else.
 * Dies, naming cmd: exit 2 for a folder that is not pycstorm's, is in use,
 * the root or the home folder; 77 when it cannot be made. */
char *rundir_create(const char *cmd, const char *out_dir, uint64_t seed, char **id_out,
		    struct owned *own);
/* owned_take, dying as rundir_create does; option names what gave path
 * ("-o", "--cache-dir"). */
void rundir_claim(const char *cmd, const char *option, const char *path, enum owned_kind kind,
		  unsigned flags, struct owned *own);
/* owned_add, dying with exit 77 when the marker cannot be written. */
void rundir_own(const char *cmd, struct owned *own, const char *name);
/* Point results/runs/latest at id (no-op for NULL), atomically. */
void rundir_point_latest(const char *id);
/* Now, as ISO 8601 UTC (malloc'd). */
char *rundir_iso_now(void);

#endif
