/*
 * The fault matrix as people read it: matrix.md (one table per write path)
 * and matrix.html (a heat map per write path: a row per call, a column per
 * fault, each cell coloured by its verdict). The model is
 * results/model/matrix.c; nothing here decides a verdict.
 */
#include "matrix.h"

#include "common.h"
#include "markup.h"

#include <stdlib.h>
#include <string.h>

/* The power-cut cells' share, for the text above each write path's table. */
static void put_cut_counts(FILE *f, const struct matrix *m)
{
	struct matrix_cut_counts cut;

	matrix_cut_counts(m, &cut);
	if (cut.cells)
		(void)fprintf(f, " Power cuts (crashpoints' states, writeback, 512-byte sectors): "
			      "%zu cells, %zu corrupt, %zu missing, %zu leftover-temp.", cut.cells,
			      cut.corrupt, cut.missing, cut.leftover);
}

int matrix_write_md(FILE *f, const struct matrix_set *set)
{
	size_t i, k;

	(void)fputs("# Fault matrix\n\nEach cell: one recorded cache write (new image over an old, "
		    "durable one) replayed with exactly one fault at exactly one call. "
		    "No timing enters a cell.\n", f);
	for (i = 0; i < set->n; i++) {
		const struct matrix *m = &set->m[i];
		(void)fputs("\n## ", f);
		md_put_text(f, m->strategy);
		(void)fputs(" under ", f);
		md_put_code(f, m->python);
		(void)fputs(" ", f);
		md_put_text(f, m->version);
		(void)fprintf(f, "\n\n%zu cells: %zu corrupt, %zu leftover-temp; with no fault the "
			      "next import gets ", m->ncells, matrix_corrupt(m), matrix_leftover(m));
		md_put_text(f, m->baseline_import);
		(void)fputs(".", f);
		put_cut_counts(f, m);
		(void)fputs("\n\n| call | operation | fault | writer | cache file | next import "
			    "| leftover temp | verdict |\n|---:|---|---|---|---|---|---:|---|\n", f);
		for (k = 0; k < m->ncells; k++) {
			const struct matrix_cell *c = &m->cells[k];
			(void)fprintf(f, "| %u | ", c->call);
			md_put_text(f, c->op);
			(void)fputs(" | ", f);
			md_put_text(f, c->fault);
			(void)fputs(" | ", f);
			md_put_text(f, c->writer);
			(void)fputs(" | ", f);
			md_put_text(f, c->cache);
			(void)fputs(" | ", f);
			md_put_text(f, c->import);
			(void)fprintf(f, " | %u | %s%s%s |\n", c->leftover,
				      c->verdict == VERDICT_CORRUPT ? "**" : "",
				      matrix_verdict_name(c->verdict),
				      c->verdict == VERDICT_CORRUPT ? "**" : "");
		}
	}
	return ferror(f) ? -1 : 0;
}

/* The distinct faults of m in their first order, the power cuts last (a
 * block of their own, to the right): the heat map's columns. */
static size_t fault_columns(const struct matrix *m, const char **cols)
{
	size_t n = 0, k, j;
	int cuts;

	for (cuts = 0; cuts <= 1; cuts++) {
		for (k = 0; k < m->ncells; k++) {
			if (matrix_is_power_cut(&m->cells[k]) != cuts)
				continue;
			for (j = 0; j < n && strcmp(cols[j], m->cells[k].fault); j++)
				;
			if (j == n)
				cols[n++] = m->cells[k].fault;
		}
	}
	return n;
}

static void html_cell(FILE *f, const struct matrix_cell *c)
{
	static const char *const colour[] = { "#cfe8cf", "#f6e7a6", "#e88a8a" };

	if (!c) {
		(void)fputs("<td class=\"na\"></td>", f);
		return;
	}
	(void)fprintf(f, "<td style=\"background:%s%s\" title=\"writer: ", colour[c->verdict],
		      c->leftover ? ";outline:2px dashed #555" : "");
	xml_put_text(f, c->writer);
	(void)fputs("; cache: ", f);
	xml_put_text(f, c->cache);
	(void)fprintf(f, "; leftover temp: %u\">", c->leftover);
	xml_put_text(f, c->import);
	(void)fputs(c->leftover ? " +tmp</td>" : "</td>", f);
}

int matrix_write_html(FILE *f, const struct matrix_set *set)
{
	size_t i, k, j, ncols;
	const char **cols;

	(void)fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pycstorm fault "
		    "matrix</title>\n<style>body{font-family:sans-serif}table{border-collapse:"
		    "collapse;margin-bottom:2em}td,th{border:1px solid #999;padding:2px 6px;"
		    "font-size:12px}td.na{background:#eee}</style></head><body>\n"
		    "<h1>Fault matrix</h1>\n<p>Rows: the calls of one recorded cache write. Columns: "
		    "the fault put on that call alone. Green: the next import is fine; yellow: "
		    "stale or missing (recompiled); red: corrupt. A dashed outline: a temporary "
		    "file was left behind.</p>\n", f);
	for (i = 0; i < set->n; i++) {
		const struct matrix *m = &set->m[i];
		cols = xcalloc(m->ncells + 1, sizeof(*cols));
		ncols = fault_columns(m, cols);
		(void)fputs("<h2>", f);
		xml_put_text(f, m->strategy);
		(void)fputs(" under ", f);
		xml_put_text(f, m->python);
		(void)fputs(" ", f);
		xml_put_text(f, m->version);
		(void)fprintf(f, "</h2>\n<p>%zu cells, %zu corrupt, %zu leftover-temp.", m->ncells,
			      matrix_corrupt(m), matrix_leftover(m));
		put_cut_counts(f, m);
		(void)fputs("</p>\n<table><tr><th>call</th>", f);
		for (j = 0; j < ncols; j++) {
			(void)fputs("<th>", f);
			xml_put_text(f, cols[j]);
			(void)fputs("</th>", f);
		}
		(void)fputs("</tr>\n", f);
		for (k = 0; k < m->ncells; k++) {
			const struct matrix_cell *row = &m->cells[k];
			if (k && m->cells[k - 1].call == row->call)
				continue;
			(void)fprintf(f, "<tr><th>%u: ", row->call);
			xml_put_text(f, row->op);
			(void)fputs("</th>", f);
			for (j = 0; j < ncols; j++) {
				struct matrix_cell probe = { .call = row->call, .op = row->op,
							     .fault = (char *)cols[j] };
				html_cell(f, matrix_find(m, &probe));
			}
			(void)fputs("</tr>\n", f);
		}
		(void)fputs("</table>\n", f);
		free(cols);
	}
	(void)fputs("</body></html>\n", f);
	return ferror(f) ? -1 : 0;
}
