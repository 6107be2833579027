/*
 * The scenario parser; see scenario.h. Each key is one row of a table that
 * names its parser, so a new key is one line and the list of valid keys in
 * error messages never drifts from what is accepted.
 */
#include "scenario.h"

#include "common.h"
#include "strbuf.h"
#include "worker.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a value is parsed: its line, and room for what is wrong with it. */
struct at {
	unsigned line;
	char *why;
	size_t n;
};

/* Parse one key's value; 0, or -1 with at->why filled. */
typedef int (*key_parser)(struct scenario *sc, const char *value, struct at *at);

static int set_text(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* "a, b, c" into items: every item named once, none empty (a stray comma
 * is a typo, and a repeat would run or count one thing twice). The items
 * are the caller's to free, also on an error. */
static int parse_list(char **items, size_t *n, const char *value, char *why,
		      size_t whylen)
{
	char *copy = xstrdup(value), *rest = copy, *tok;
	size_t i;
	int rc = 0;

	while (rc == 0 && (tok = strsep(&rest, ",")) != NULL) {
		tok = trim(tok);
		for (i = 0; i < *n && strcmp(items[i], tok); i++)
			;
		rc = -1;
		if (!*tok) {
			(void)snprintf(why, whylen, "'%.60s' has an empty item", value);
		} else if (i < *n) {
			(void)snprintf(why, whylen, "'%.60s' is listed twice", tok);
		} else if (*n >= SCENARIO_MAX_LIST) {
			(void)snprintf(why, whylen, "more than %d items", SCENARIO_MAX_LIST);
		} else {
			items[(*n)++] = xstrdup(tok);
			rc = 0;
		}
	}
	free(copy);
	return rc;
}

static int k_name(struct scenario *sc, const char *v, struct at *at)
{
	(void)at;
	return set_text(&sc->name, v);
}

static int k_description(struct scenario *sc, const char *v, struct at *at)
{
	(void)at;
	return set_text(&sc->description, v);
}

static int k_report(struct scenario *sc, const char *v, struct at *at)
{
	(void)at;
	return set_text(&sc->report, v);
}

static int k_strategies(struct scenario *sc, const char *v, struct at *at)
{
	sc->strategies_line = at->line;
	return parse_list(sc->strategies, &sc->nstrategies, v, at->why, at->n);
}

static int k_expect_safe(struct scenario *sc, const char *v, struct at *at)
{
	sc->expect_safe_line = at->line;
	return parse_list(sc->expect_safe, &sc->nexpect_safe, v, at->why, at->n);
}

/* A module is a fixture folder and an import name: an identifier, so it
 * can never name a path outside the fixtures or the cache. */
static int is_identifier(const char *s)
{
	const char *p = s;

	if (isdigit((unsigned char)*p))
		return 0;
	while (*p == '_' || isalnum((unsigned char)*p))
		p++;
	return p > s && *p == '\0';
}

static int k_modules(struct scenario *sc, const char *v, struct at *at)
{
	int rc = parse_list(sc->modules, &sc->nmodules, v, at->why, at->n);
	size_t i;

	sc->modules_line = at->line;
	for (i = 0; i < sc->nmodules && rc == 0; i++)
		if (!is_identifier(sc->modules[i])) {
			(void)snprintf(at->why, at->n, "module '%.60s' is not a Python identifier",
				       sc->modules[i]);
			rc = -1;
		}
	return rc;
}

static int k_fault(struct scenario *sc, const char *v, struct at *at)
{
	if (sc->nfaults >= SCENARIO_MAX_LIST) {
		(void)snprintf(at->why, at->n, "more than %d faults", SCENARIO_MAX_LIST);
		return -1;
	}
	sc->fault_lines[sc->nfaults] = at->line;
	sc->faults[sc->nfaults++] = xstrdup(v);
	return 0;
}

static int k_uint(unsigned *dst, unsigned lo, unsigned hi, const char *v, struct at *at)
{
	uint64_t x;

	if (parse_u64(v, &x) < 0 || x < lo || x > hi) {
		(void)snprintf(at->why, at->n, "'%s' is not a whole number from %u to %u", v, lo, hi);
		return -1;
	}
	*dst = (unsigned)x;
	return 0;
}

static int k_versions(struct scenario *sc, const char *v, struct at *at)
{
	return k_uint(&sc->versions, 1, WORKER_MAX_VERSIONS, v, at);
}

static int k_jobs(struct scenario *sc, const char *v, struct at *at)
{
	return k_uint(&sc->jobs, 1, 256, v, at);
}

static int k_compile_share(struct scenario *sc, const char *v, struct at *at)
{
	if (parse_double(v, &sc->compile_share) < 0 || sc->compile_share < 0 ||
	    sc->compile_share > 1) {
		(void)snprintf(at->why, at->n, "'%s' is not a fraction from 0 to 1", v);
		return -1;
	}
	return 0;
}

static int k_duration(struct scenario *sc, const char *v, struct at *at)
{
	if (parse_duration_ns(v, &sc->duration_ns) < 0 || sc->duration_ns == 0) {
		(void)snprintf(at->why, at->n, "'%s' is not a duration (like 20s or 500ms)", v);
		return -1;
	}
	return 0;
}

static int k_iterations(struct scenario *sc, const char *v, struct at *at)
{
	if (parse_u64(v, &sc->iterations) < 0 || sc->iterations == 0) {
		(void)snprintf(at->why, at->n, "'%s' is not a positive whole number", v);
		return -1;
	}
	return 0;
}

static int k_pyc(struct scenario *sc, const char *v, struct at *at)
{
	int mode = pyc_mode_from_name(v);

	if (mode < 0) {
		(void)snprintf(at->why, at->n, "'%s' is not timestamp, checked-hash or unchecked-hash",
			       v);
		return -1;
	}
	sc->pyc_mode = (enum pyc_mode)mode;
	return 0;
}

static int k_bool(int *dst, const char *v, struct at *at)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*dst = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*dst = 0;
	else {
		(void)snprintf(at->why, at->n, "'%s' is not yes or no", v);
		return -1;
	}
	return 0;
}

static int k_import_writes(struct scenario *sc, const char *v, struct at *at)
{
	return k_bool(&sc->import_writes, v, at);
}

static int k_tmp_id(struct scenario *sc, const char *v, struct at *at)
{
	if (!strcmp(v, "shared"))
		sc->shared_tmp_id = 1;
	else if (!strcmp(v, "per-worker"))
		sc->shared_tmp_id = 0;
	else {
		(void)snprintf(at->why, at->n, "'%s' is not per-worker or shared", v);
		return -1;
	}
	return 0;
}

static int k_pythons(struct scenario *sc, const char *v, struct at *at)
{
	if (!strcmp(v, "separate"))
		sc->pythons_mode = SCENARIO_PYTHONS_SEPARATE;
	else if (!strcmp(v, "shared"))
		sc->pythons_mode = SCENARIO_PYTHONS_SHARED;
	else if (!strcmp(v, "upgrade"))
		sc->pythons_mode = SCENARIO_PYTHONS_UPGRADE;
	else {
		(void)snprintf(at->why, at->n, "'%s' is not separate, shared or upgrade", v);
		return -1;
	}
	return 0;
}

static int k_retry_budget(struct scenario *sc, const char *v, struct at *at)
{
	if (parse_duration_ns(v, &sc->retry_budget_ns) < 0) {
		(void)snprintf(at->why, at->n, "'%s' is not a duration (like 100ms)", v);
		return -1;
	}
	return 0;
}

static int k_cache(struct scenario *sc, const char *v, struct at *at)
{
	struct strbuf joined = STRBUF_INIT;
	char *items[SCENARIO_MAX_LIST];
	size_t count = 0, i;
	int rc = parse_list(items, &count, v, at->why, at->n), package = 0;

	for (i = 0; i < count; i++) {
		if (rc == 0 && strcmp(items[i], "pyc") && strcmp(items[i], "json") &&
		    strcmp(items[i], "pickle") && strcmp(items[i], "package")) {
			(void)snprintf(at->why, at->n, "cache '%s' is not pyc, json, pickle or package",
				       items[i]);
			rc = -1;
		}
		package |= !strcmp(items[i], "package");
		strbuf_add_item(&joined, ",", items[i]);
		free(items[i]);
	}
	if (rc == 0 && package && count > 1) {
		(void)snprintf(at->why, at->n, "cache = package cannot be mixed with other kinds");
		rc = -1;
	}
	if (rc == 0) {
		free(sc->cache_kind);
		sc->cache_kind = strbuf_detach(&joined);
	} else {
		strbuf_release(&joined);
	}
	return rc;
}

static int k_reproduced(struct scenario *sc, const char *v, struct at *at)
{
	char *items[SCENARIO_MAX_LIST];
	size_t count = 0, i;
	int rc = parse_list(items, &count, v, at->why, at->n), o;

	/* Given, the list replaces the default (bad_marshal, eof). */
	memset(sc->reproduced, 0, sizeof(sc->reproduced));
	for (i = 0; i < count; i++) {
		o = outcome_from_name(items[i]);
		if (o < 0 && rc == 0) {
			(void)snprintf(at->why, at->n, "'%s' is not an outcome class", items[i]);
			rc = -1;
		} else if (o >= 0) {
			sc->reproduced[o] = 1;
		}
		free(items[i]);
	}
	return rc;
}

/* Every key appears once, but for those that say they repeat. */
static const struct { const char *key; key_parser parse; int repeats; } keys[] = {
	{ "name", k_name, 0 },
	{ "description", k_description, 0 },
	{ "report", k_report, 0 },
	{ "strategies", k_strategies, 0 },
	{ "expect-safe", k_expect_safe, 0 },
	{ "modules", k_modules, 0 },
	{ "versions", k_versions, 0 },
	{ "jobs", k_jobs, 0 },
	{ "compile-share", k_compile_share, 0 },
	{ "duration", k_duration, 0 },
	{ "iterations", k_iterations, 0 },
	{ "pyc", k_pyc, 0 },
	{ "import-writes", k_import_writes, 0 },
	{ "tmp-id", k_tmp_id, 0 },
	{ "pythons", k_pythons, 0 },
	{ "retry-budget", k_retry_budget, 0 },
	{ "reproduced", k_reproduced, 0 },
	{ "cache", k_cache, 0 },
	{ "fault", k_fault, 1 },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *scenario_keys(void)
{
	static char list[512];
	size_t i, used = 0;

	if (!list[0])
		for (i = 0; i < NKEYS; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 i ? ", " : "", keys[i].key);
	return list;
}

static void set_defaults(struct scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->versions = 2;
	sc->jobs = 4;
	sc->compile_share = 0.5;
	sc->duration_ns = 20000000000ull;
	sc->pyc_mode = PYC_TIMESTAMP;
	sc->import_writes = 1;
	sc->retry_budget_ns = 100000000ull;
	sc->reproduced[OUTCOME_BAD_MARSHAL] = 1;
	sc->reproduced[OUTCOME_EOF] = 1;
}

/* One "key = value" line; 0, or -1 with at->why filled. first_line holds,
 * per key, the line that gave it first (0: not yet). */
static int parse_line(struct scenario *sc, char *line, unsigned first_line[NKEYS],
		      struct at *at)
{
	char *eq, *key, *value;
	size_t i;

	/* A comment is a whole line: '#' inside a value ("LP #1010077") stays. */
	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		(void)snprintf(at->why, at->n, "expected 'key = value', got '%.60s'", line);
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	for (i = 0; i < NKEYS && strcmp(keys[i].key, key) != 0; i++)
		;
	if (i == NKEYS) {
		(void)snprintf(at->why, at->n, "unknown key '%.40s' (valid: %s)", key,
			       scenario_keys());
		return -1;
	}
	if (first_line[i] && !keys[i].repeats) {
		(void)snprintf(at->why, at->n, "'%s' is given twice, on lines %u and %u", key,
			       first_line[i], at->line);
		return -1;
	}
	if (!first_line[i])
		first_line[i] = at->line;
	if (!*value) {
		(void)snprintf(at->why, at->n, "'%s' has no value", key);
		return -1;
	}
	return keys[i].parse(sc, value, at);
}

/* The line (from 1) that the byte at p is on. */
static unsigned line_of(const char *text, const char *p)
{
	unsigned line = 1;

	for (; text < p; text++)
		line += *text == '\n';
	return line;
}

/* Bytes that would make the rest a guess: a NUL (not text), a carriage
 * return (CRLF line ends would leave '\r' in every value). 0, or -1 with
 * the first one's line in err. */
static int check_text(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	const char *nul = memchr(text, '\0', len), *cr = memchr(text, '\r', len);
	int rc = -1;

	if (nul && (!cr || nul < cr))
		(void)snprintf(err, errlen, "%s:%u: not a text file (NUL byte)", path,
			       line_of(text, nul));
	else if (cr)
		(void)snprintf(err, errlen, "%s:%u: a carriage return (CRLF line ends): save the "
					    "file with LF line ends", path, line_of(text, cr));
	else
		rc = 0;
	return rc;
}

int scenario_parse(const char *path, const char *text, size_t len,
		   struct scenario *sc, char *err, size_t errlen)
{
	char *copy = xmalloc(len + 1), *line, *next;
	char why[600];
	unsigned first_line[NKEYS] = { 0 };
	struct at at = { 0, why, sizeof(why) };
	int rc;

	set_defaults(sc);
	sc->path = xstrdup(path);
	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = check_text(path, text, len, err, errlen);
	for (line = copy; rc == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		at.line++;
		why[0] = '\0';
		if (parse_line(sc, line, first_line, &at) < 0) {
			(void)snprintf(err, errlen, "%s:%u: %s", path, at.line, why);
			rc = -1;
		}
	}
	if (rc == 0 && !sc->cache_kind)
		sc->cache_kind = xstrdup("pyc");
	if (rc == 0 && !sc->name) {
		(void)snprintf(err, errlen, "%s:%u: no 'name = ...' line", path, at.line);
		rc = -1;
	}
	if (rc == 0 && sc->nmodules == 0) {
		(void)snprintf(err, errlen, "%s:%u: no 'modules = ...' line", path, at.line);
		rc = -1;
	}
	free(copy);
	if (rc < 0)
		scenario_free(sc);
	return rc;
}

int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int e = read_file(path, &text, &len), rc;

	memset(sc, 0, sizeof(*sc));
	if (e < 0) {
		(void)snprintf(err, errlen, "cannot read scenario '%s': %s", path, read_file_error(e));
		return -1;
	}
	rc = scenario_parse(path, text, len, sc, err, errlen);
	free(text);
	return rc;
}

static void free_list(char **items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(items[i]);
}

void scenario_free(struct scenario *sc)
{
	free(sc->name);
	free(sc->path);
	free(sc->description);
	free(sc->report);
	free(sc->cache_kind);
	free_list(sc->strategies, sc->nstrategies);
	free_list(sc->expect_safe, sc->nexpect_safe);
	free_list(sc->modules, sc->nmodules);
	free_list(sc->faults, sc->nfaults);
	memset(sc, 0, sizeof(*sc));
}
