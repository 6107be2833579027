/*
 * The fault matrix model: cells, verdicts, matrix.json written and read
 * back. See matrix.h. The reports (Markdown, the HTML heat map) are in
 * results/formats/matrix-report.c.
 */
#include "matrix.h"

#include "common.h"
#include "json.h"
#include "outcome.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const verdict_names[] = { "safe", "stale", "corrupt" };

const char *matrix_verdict_name(enum matrix_verdict v)
{
	return verdict_names[v];
}

enum matrix_verdict matrix_verdict_of(const char *cls)
{
	int o = outcome_from_name(cls);

	if (o == OUTCOME_OK)
		return VERDICT_SAFE;
	/* a reader that cannot say counts as the worst, so it is looked at */
	if (o < 0 || outcome_is_corrupt((enum outcome)o) || o == OUTCOME_OTHER_ERROR)
		return VERDICT_CORRUPT;
	return VERDICT_STALE;
}

void matrix_add(struct matrix *m, const struct matrix_cell *c)
{
	struct matrix_cell *d;

	if (m->ncells == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 32;
		m->cells = xrealloc(m->cells, m->cap * sizeof(*m->cells));
	}
	d = &m->cells[m->ncells++];
	*d = *c;
	d->op = xstrdup(c->op);
	d->fault = xstrdup(c->fault);
	d->writer = xstrdup(c->writer);
	d->cache = xstrdup(c->cache);
	d->import = xstrdup(c->import);
}

size_t matrix_corrupt(const struct matrix *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->ncells; i++)
		n += m->cells[i].verdict == VERDICT_CORRUPT;
	return n;
}

size_t matrix_leftover(const struct matrix *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->ncells; i++)
		n += m->cells[i].leftover > 0;
	return n;
}

int matrix_is_power_cut(const struct matrix_cell *c)
{
	return !strncmp(c->fault, MATRIX_POWER_CUT, strlen(MATRIX_POWER_CUT));
}

void matrix_cut_counts(const struct matrix *m, struct matrix_cut_counts *n)
{
	size_t i;

	memset(n, 0, sizeof(*n));
	for (i = 0; i < m->ncells; i++) {
		const struct matrix_cell *c = &m->cells[i];
		if (!matrix_is_power_cut(c))
			continue;
		n->cells++;
		n->corrupt += c->verdict == VERDICT_CORRUPT;
		n->missing += !strcmp(c->import, "missing");
		n->leftover += c->leftover > 0;
	}
}

void matrix_summary_line(FILE *f, const struct matrix *m)
{
	struct matrix_cut_counts cut;

	matrix_cut_counts(m, &cut);
	(void)fprintf(f, "%s under %s %s: %zu cells, %zu corrupt, %zu leftover-temp", m->strategy,
		      m->python, m->version, m->ncells, matrix_corrupt(m), matrix_leftover(m));
	if (cut.cells)
		(void)fprintf(f, "; power cut: %zu cells, %zu corrupt, %zu missing, %zu leftover-temp",
			      cut.cells, cut.corrupt, cut.missing, cut.leftover);
	(void)fputc('\n', f);
}

const struct matrix_cell *matrix_find(const struct matrix *m, const struct matrix_cell *c)
{
	size_t i;

	for (i = 0; i < m->ncells; i++)
		if (m->cells[i].call == c->call && !strcmp(m->cells[i].op, c->op) &&
		    !strcmp(m->cells[i].fault, c->fault))
			return &m->cells[i];
	return NULL;
}

static void put_member(FILE *f, const char *key, const char *value, const char *after)
{
	(void)fprintf(f, "\"%s\": ", key);
	json_put_string(f, value);
	(void)fputs(after, f);
}

int matrix_write_json(FILE *f, const struct matrix_set *set)
{
	struct matrix_cut_counts cut;
	size_t i, k;

	(void)fprintf(f, "{\n  \"schema\": \"%s\",\n  \"matrices\": [", MATRIX_SCHEMA);
	for (i = 0; i < set->n; i++) {
		const struct matrix *m = &set->m[i];
		(void)fputs(i ? ",\n    {" : "\n    {", f);
		put_member(f, "strategy", m->strategy, ", ");
		put_member(f, "python", m->python, ", ");
		put_member(f, "version", m->version, ",\n     ");
		put_member(f, "no_fault", m->baseline_import, ", ");
		matrix_cut_counts(m, &cut);
		(void)fprintf(f, "\"cells_total\": %zu, \"corrupt\": %zu, \"leftover_temp\": %zu,\n"
				 "     \"power_cut\": {\"cells\": %zu, \"corrupt\": %zu, \"missing\": %zu, "
				 "\"leftover_temp\": %zu},\n     \"cells\": [", m->ncells, matrix_corrupt(m),
			      matrix_leftover(m), cut.cells, cut.corrupt, cut.missing, cut.leftover);
		for (k = 0; k < m->ncells; k++) {
			const struct matrix_cell *c = &m->cells[k];
			(void)fprintf(f, "%s\n      {\"call\": %u, ", k ? "," : "", c->call);
			put_member(f, "op", c->op, ", ");
			put_member(f, "fault", c->fault, ", ");
			put_member(f, "writer", c->writer, ", ");
			put_member(f, "cache", c->cache, ", ");
			put_member(f, "import", c->import, ", ");
			(void)fprintf(f, "\"leftover_temp\": %u, \"verdict\": \"%s\"}", c->leftover,
				      matrix_verdict_name(c->verdict));
		}
		(void)fputs("\n     ]}", f);
	}
	(void)fputs("\n  ]\n}\n", f);
	return ferror(f) ? -1 : 0;
}

static int write_one(const char *dir, const char *name, int (*fn)(FILE *, const struct matrix_set *),
		     const struct matrix_set *set)
{
	char *text = NULL, *path = xasprintf("%s/%s", dir, name);
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc = f ? 0 : -errno;

	if (f) {
		rc = fn(f, set) < 0 ? -EIO : 0;
		if (fclose(f) != 0 && rc == 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = write_file_atomic(path, text, len);
	free(text);
	free(path);
	return rc;
}

int matrix_write_files(const char *dir, const struct matrix_set *set)
{
	int rc = write_one(dir, "matrix.json", matrix_write_json, set);

	if (rc == 0)
		rc = write_one(dir, "matrix.md", matrix_write_md, set);
	if (rc == 0)
		rc = write_one(dir, "matrix.html", matrix_write_html, set);
	return rc;
}

/* ---- reading it back ---------------------------------------------------- */

static char *need_string(const struct json *o, const char *key, int *bad)
{
	const char *s = json_string(json_get(o, key));

	if (!s)
		*bad = 1;
	return xstrdup(s ? s : "");
}

static unsigned need_count(const struct json *o, const char *key, int *bad)
{
	uint64_t u = 0;

	if (json_u64(json_get(o, key), &u) < 0 || u > 1000000)
		*bad = 1;
	return (unsigned)u;
}

static int load_matrix(const struct json *jm, struct matrix *m)
{
	const struct json *cells = json_get(jm, "cells"), *jc;
	struct matrix_cell c;
	int bad = 0;

	memset(m, 0, sizeof(*m));
	m->strategy = need_string(jm, "strategy", &bad);
	m->python = need_string(jm, "python", &bad);
	m->version = need_string(jm, "version", &bad);
	m->baseline_import = need_string(jm, "no_fault", &bad);
	if (!cells || cells->type != JSON_ARRAY)
		return -1;
	for (jc = cells->first; jc && !bad; jc = jc->next) {
		memset(&c, 0, sizeof(c));
		c.call = need_count(jc, "call", &bad);
		c.op = need_string(jc, "op", &bad);
		c.fault = need_string(jc, "fault", &bad);
		c.writer = need_string(jc, "writer", &bad);
		c.cache = need_string(jc, "cache", &bad);
		c.import = need_string(jc, "import", &bad);
		c.leftover = need_count(jc, "leftover_temp", &bad);
		c.verdict = matrix_verdict_of(c.import);
		if (!bad)
			matrix_add(m, &c);
		free(c.op);
		free(c.fault);
		free(c.writer);
		free(c.cache);
		free(c.import);
	}
	return bad ? -1 : 0;
}

int matrix_load(const char *path, struct matrix_set *set, char *err, size_t errlen)
{
	struct json_doc *doc = NULL;
	const struct json *root, *list, *jm;
	const char *schema;
	int rc = -1;

	memset(set, 0, sizeof(*set));
	if (json_parse_file(path, &doc, err, errlen) < 0)
		return -1;
	root = json_root(doc);
	schema = json_string(json_get(root, "schema"));
	list = json_get(root, "matrices");
	if (!schema || strcmp(schema, MATRIX_SCHEMA) || !list || list->type != JSON_ARRAY) {
		(void)snprintf(err, errlen, "%s: not a pycstorm matrix (no \"schema\": \"%s\" with "
			       "\"matrices\")", path, MATRIX_SCHEMA);
		goto out;
	}
	set->m = xcalloc(list->count + 1, sizeof(*set->m));
	for (jm = list->first; jm; jm = jm->next) {
		if (load_matrix(jm, &set->m[set->n++]) < 0) {
			(void)snprintf(err, errlen, "%s: line %u: a matrix with a missing or bad member",
				       path, jm->line);
			goto out;
		}
	}
	rc = 0;
out:
	json_free(doc);
	if (rc < 0)
		matrix_set_free(set);
	return rc;
}

void matrix_free(struct matrix *m)
{
	size_t i;

	for (i = 0; i < m->ncells; i++) {
		free(m->cells[i].op);
		free(m->cells[i].fault);
		free(m->cells[i].writer);
		free(m->cells[i].cache);
		free(m->cells[i].import);
	}
	free(m->cells);
	free(m->strategy);
	free(m->python);
	free(m->version);
	free(m->baseline_import);
	memset(m, 0, sizeof(*m));
}

void matrix_set_free(struct matrix_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		matrix_free(&set->m[i]);
	free(set->m);
	set->m = NULL;
	set->n = 0;
}
