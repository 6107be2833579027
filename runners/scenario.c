/*
 * The scenario parser; see scenario.h. Each key is one row of a table that
 * names its parser, so a new key is one line and the list of valid keys in
 * error messages never drifts from what is accepted.
 */
#include "scenario.h"

#include "common.h"
#include "worker.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*key_parser)(struct scenario *sc, const char *value, char *why,
			  size_t whylen);

static int set_text(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
	return 0;
}

static int parse_list(char **items, size_t *n, const char *value, char *why,
		      size_t whylen)
{
	char *copy = xstrdup(value), *tok, *save = NULL, *end;
	int rc = 0;

	for (tok = strtok_r(copy, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*tok)
			continue;
		if (*n >= SCENARIO_MAX_LIST) {
			(void)snprintf(why, whylen, "more than %d items", SCENARIO_MAX_LIST);
			rc = -1;
		} else {
			items[(*n)++] = xstrdup(tok);
		}
	}
	free(copy);
	return rc;
}

static int k_name(struct scenario *sc, const char *v, char *why, size_t n)
{
	(void)why, (void)n;
	return set_text(&sc->name, v);
}

static int k_description(struct scenario *sc, const char *v, char *why, size_t n)
{
	(void)why, (void)n;
	return set_text(&sc->description, v);
}

static int k_report(struct scenario *sc, const char *v, char *why, size_t n)
{
	(void)why, (void)n;
	return set_text(&sc->report, v);
}

static int k_strategies(struct scenario *sc, const char *v, char *why, size_t n)
{
	return parse_list(sc->strategies, &sc->nstrategies, v, why, n);
}

static int k_expect_safe(struct scenario *sc, const char *v, char *why, size_t n)
{
	return parse_list(sc->expect_safe, &sc->nexpect_safe, v, why, n);
}

static int k_modules(struct scenario *sc, const char *v, char *why, size_t n)
{
	return parse_list(sc->modules, &sc->nmodules, v, why, n);
}

static int k_fault(struct scenario *sc, const char *v, char *why, size_t n)
{
	if (sc->nfaults >= SCENARIO_MAX_LIST) {
		(void)snprintf(why, n, "more than %d faults", SCENARIO_MAX_LIST);
		return -1;
	}
	sc->faults[sc->nfaults++] = xstrdup(v);
	return 0;
}

static int k_uint(unsigned *dst, unsigned lo, unsigned hi, const char *v,
		  char *why, size_t n)
{
	uint64_t x;

	if (parse_u64(v, &x) < 0 || x < lo || x > hi) {
		(void)snprintf(why, n, "'%s' is not a whole number from %u to %u", v, lo, hi);
		return -1;
	}
	*dst = (unsigned)x;
	return 0;
}

static int k_versions(struct scenario *sc, const char *v, char *why, size_t n)
{
	return k_uint(&sc->versions, 1, 8, v, why, n);
}

static int k_jobs(struct scenario *sc, const char *v, char *why, size_t n)
{
	return k_uint(&sc->jobs, 1, 256, v, why, n);
}

static int k_compile_share(struct scenario *sc, const char *v, char *why, size_t n)
{
	if (parse_double(v, &sc->compile_share) < 0 || sc->compile_share < 0 ||
	    sc->compile_share > 1) {
		(void)snprintf(why, n, "'%s' is not a fraction from 0 to 1", v);
		return -1;
	}
	return 0;
}

static int k_duration(struct scenario *sc, const char *v, char *why, size_t n)
{
	if (parse_duration_ns(v, &sc->duration_ns) < 0 || sc->duration_ns == 0) {
		(void)snprintf(why, n, "'%s' is not a duration (like 20s or 500ms)", v);
		return -1;
	}
	return 0;
}

static int k_iterations(struct scenario *sc, const char *v, char *why, size_t n)
{
	if (parse_u64(v, &sc->iterations) < 0 || sc->iterations == 0) {
		(void)snprintf(why, n, "'%s' is not a positive whole number", v);
		return -1;
	}
	return 0;
}

static int k_pyc(struct scenario *sc, const char *v, char *why, size_t n)
{
	int mode = pyc_mode_from_name(v);

	if (mode < 0) {
		(void)snprintf(why, n, "'%s' is not timestamp, checked-hash or unchecked-hash", v);
		return -1;
	}
	sc->pyc_mode = (enum pyc_mode)mode;
	return 0;
}

static int k_bool(int *dst, const char *v, char *why, size_t n)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*dst = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*dst = 0;
	else {
		(void)snprintf(why, n, "'%s' is not yes or no", v);
		return -1;
	}
	return 0;
}

static int k_import_writes(struct scenario *sc, const char *v, char *why, size_t n)
{
	return k_bool(&sc->import_writes, v, why, n);
}

static int k_tmp_id(struct scenario *sc, const char *v, char *why, size_t n)
{
	if (!strcmp(v, "shared"))
		sc->shared_tmp_id = 1;
	else if (!strcmp(v, "per-worker"))
		sc->shared_tmp_id = 0;
	else {
		(void)snprintf(why, n, "'%s' is not per-worker or shared", v);
		return -1;
	}
	return 0;
}

static int k_retry_budget(struct scenario *sc, const char *v, char *why, size_t n)
{
	if (parse_duration_ns(v, &sc->retry_budget_ns) < 0) {
		(void)snprintf(why, n, "'%s' is not a duration (like 100ms)", v);
		return -1;
	}
	return 0;
}

static int k_cache(struct scenario *sc, const char *v, char *why, size_t n)
{
	char *items[SCENARIO_MAX_LIST], *joined = xstrdup(""), *next;
	size_t count = 0, i;
	int rc = parse_list(items, &count, v, why, n), package = 0;

	for (i = 0; i < count; i++) {
		if (rc == 0 && strcmp(items[i], "pyc") && strcmp(items[i], "json") &&
		    strcmp(items[i], "pickle") && strcmp(items[i], "package")) {
			(void)snprintf(why, n, "cache '%s' is not pyc, json, pickle or package", items[i]);
			rc = -1;
		}
		package |= !strcmp(items[i], "package");
		next = xasprintf("%s%s%s", joined, i ? "," : "", items[i]);
		free(joined);
		joined = next;
		free(items[i]);
	}
	if (rc == 0 && package && count > 1) {
		(void)snprintf(why, n, "cache = package cannot be mixed with other kinds");
		rc = -1;
	}
	if (rc == 0) {
		free(sc->cache_kind);
		sc->cache_kind = joined;
	} else {
		free(joined);
	}
	return rc;
}

static int k_reproduced(struct scenario *sc, const char *v, char *why, size_t n)
{
	char *items[SCENARIO_MAX_LIST];
	size_t count = 0, i;
	int rc = parse_list(items, &count, v, why, n), o;

	/* Given, the list replaces the default (bad_marshal, eof). */
	memset(sc->reproduced, 0, sizeof(sc->reproduced));
	for (i = 0; i < count; i++) {
		o = outcome_from_name(items[i]);
		if (o < 0 && rc == 0) {
			(void)snprintf(why, n, "'%s' is not an outcome class", items[i]);
			rc = -1;
		} else if (o >= 0) {
			sc->reproduced[o] = 1;
		}
		free(items[i]);
	}
	return rc;
}

static const struct { const char *key; key_parser parse; } keys[] = {
	{ "name", k_name },
	{ "description", k_description },
	{ "report", k_report },
	{ "strategies", k_strategies },
	{ "expect-safe", k_expect_safe },
	{ "modules", k_modules },
	{ "versions", k_versions },
	{ "jobs", k_jobs },
	{ "compile-share", k_compile_share },
	{ "duration", k_duration },
	{ "iterations", k_iterations },
	{ "pyc", k_pyc },
	{ "import-writes", k_import_writes },
	{ "tmp-id", k_tmp_id },
	{ "retry-budget", k_retry_budget },
	{ "reproduced", k_reproduced },
	{ "cache", k_cache },
	{ "fault", k_fault },
};

const char *scenario_keys(void)
{
	static char list[512];
	size_t i, used = 0;

	if (!list[0])
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 i ? ", " : "", keys[i].key);
	return list;
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

/* One "key = value" line; 0, or -1 with why filled. */
static int parse_line(struct scenario *sc, char *line, char *why, size_t whylen)
{
	char *eq, *key, *value, *hash;
	size_t i;

	/* A comment is a whole line: '#' inside a value ("LP #1010077") stays. */
	line = trim(line);
	hash = *line == '#' ? line : NULL;
	if (hash)
		*hash = '\0';
	if (!*line)
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		(void)snprintf(why, whylen, "expected 'key = value', got '%.60s'", line);
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].key, key) == 0)
			break;
	if (i == sizeof(keys) / sizeof(keys[0])) {
		(void)snprintf(why, whylen, "unknown key '%.40s' (valid: %s)", key,
			       scenario_keys());
		return -1;
	}
	if (!*value) {
		(void)snprintf(why, whylen, "'%s' has no value", key);
		return -1;
	}
	return keys[i].parse(sc, value, why, whylen);
}

int scenario_parse(const char *path, const char *text, size_t len,
		   struct scenario *sc, char *err, size_t errlen)
{
	char *copy = xmalloc(len + 1), *line, *next;
	char why[600];
	unsigned lineno = 0;
	int rc = 0;

	set_defaults(sc);
	sc->path = xstrdup(path);
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (memchr(text, '\0', len)) {
		const char *nul = memchr(text, '\0', len), *c;
		for (c = text, lineno = 1; c < nul; c++)
			lineno += *c == '\n';
		(void)snprintf(err, errlen, "%s:%u: not a text file (NUL byte)", path, lineno);
		rc = -1;
	}
	for (line = copy; rc == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		why[0] = '\0';
		if (parse_line(sc, line, why, sizeof(why)) < 0) {
			(void)snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -1;
		}
	}
	if (rc == 0 && !sc->cache_kind)
		sc->cache_kind = xstrdup("pyc");
	if (rc == 0 && !sc->name) {
		(void)snprintf(err, errlen, "%s:%u: no 'name = ...' line", path, lineno);
		rc = -1;
	}
	if (rc == 0 && sc->nmodules == 0) {
		(void)snprintf(err, errlen, "%s:%u: no 'modules = ...' line", path, lineno);
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
