/*
 * A fault matrix (`pycstorm matrix`): for one write path (a strategy run by
 * one interpreter), every call of one recorded cache write crossed with
 * every fault that applies to it, and what each single-fault replay left.
 * No timing enters a cell, so a matrix is the same on every run and every
 * machine: matrix.json is compared byte for byte, and a stored matrix is
 * an exact, portable gate baseline (cmd-gate.c).
 *
 * Ownership: a struct matrix_set owns its matrices, a matrix its cells,
 * every string malloc'd; matrix_set_free releases it all.
 */
#ifndef PYCSTORM_MATRIX_H
#define PYCSTORM_MATRIX_H

#include <stddef.h>
#include <stdio.h>

#define MATRIX_SCHEMA "pycstorm-matrix/1"
/* How the fault of every power-cut cell begins ("power cut after,
 * metadata 1/2 kept, torn"): a crashpoints state at the call it follows. */
#define MATRIX_POWER_CUT "power cut"

/* How bad a cell is, in order: the gate compares these. */
enum matrix_verdict { VERDICT_SAFE, VERDICT_STALE, VERDICT_CORRUPT };

struct matrix_cell {
	unsigned call;          /* its place in the trace, from 1 */
	char *op;               /* "write temp": the call, no names or sizes that vary */
	char *fault;            /* "short keep=half", "EIO", "crash-before" ... */
	char *writer;           /* success, swallowed, raised, killed, power cut */
	char *cache;            /* new, old, truncated, other, missing */
	char *import;           /* the class the next import gets */
	unsigned leftover;      /* temporary files left beside the cache file */
	enum matrix_verdict verdict;
};

struct matrix {
	char *strategy;
	char *python;           /* the interpreter as given, or "embedded" */
	char *version;          /* its version ("3.11.2") */
	char *baseline_import;  /* the class after the write with no fault */
	struct matrix_cell *cells;
	size_t ncells, cap;
};

struct matrix_set {
	struct matrix *m;
	size_t n;
};

const char *matrix_verdict_name(enum matrix_verdict v);
/* The verdict of an import class: corrupt, stale (stale, missing, any
 * other refusal the reader recovers from) or safe (ok). */
enum matrix_verdict matrix_verdict_of(const char *import_class);
/* Append a cell (its strings copied). */
void matrix_add(struct matrix *m, const struct matrix_cell *cell);
/* Cells whose verdict is corrupt, and cells that left a temporary file. */
size_t matrix_corrupt(const struct matrix *m);
size_t matrix_leftover(const struct matrix *m);
/* Is c a power-cut state (its fault begins with MATRIX_POWER_CUT)? */
int matrix_is_power_cut(const struct matrix_cell *c);
/* The power-cut cells of m: how many, corrupt, missing, leaving a temp. */
struct matrix_cut_counts { size_t cells, corrupt, missing, leftover; };
void matrix_cut_counts(const struct matrix *m, struct matrix_cut_counts *n);
/* "native under 3.11.2: 45 cells, 4 corrupt, 7 leftover-temp; power cut:
 * 24 cells, 1 corrupt, 0 missing, 1 leftover-temp" (no power-cut part for
 * a matrix without such cells: one stored before they were cells) */
void matrix_summary_line(FILE *f, const struct matrix *m);
/* The cell of m with the same call text and fault as c, or NULL. */
const struct matrix_cell *matrix_find(const struct matrix *m, const struct matrix_cell *c);

/* matrix.json, matrix.md and the HTML heat map; 0 or -1 with errno. */
int matrix_write_json(FILE *f, const struct matrix_set *set);
int matrix_write_md(FILE *f, const struct matrix_set *set);
int matrix_write_html(FILE *f, const struct matrix_set *set);
/* The three files into dir (atomically each); 0 or -errno. */
int matrix_write_files(const char *dir, const struct matrix_set *set);
/* Read a matrix.json back; 0, or -1 with one line in err. */
int matrix_load(const char *path, struct matrix_set *set, char *err, size_t errlen);
void matrix_free(struct matrix *m);
void matrix_set_free(struct matrix_set *set);

#endif
