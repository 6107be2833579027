/*
 * The worker command line, both directions; see worker.h. Options are
 * "--name value" pairs only, so the parser stays a table walk.
 */
#include "worker.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pyc_mode_names[] = { "timestamp", "checked-hash",
					      "unchecked-hash" };

const char *pyc_mode_name(enum pyc_mode mode)
{
	return (unsigned)mode < 3 ? pyc_mode_names[mode] : "?";
}

int pyc_mode_from_name(const char *name)
{
	int i, found = -1;

	for (i = 0; i < 3 && found < 0; i++)
		if (strcmp(pyc_mode_names[i], name) == 0)
			found = i;
	return found;
}

static int set_u64(uint64_t *dst, const char *v)
{
	return parse_u64(v, dst);
}

static int apply(struct worker_args *a, const char *name, const char *v)
{
	uint64_t n = 0;
	int rc = 0, mode;

	if (!strcmp(name, "strategy"))
		a->strategy = v;
	else if (!strcmp(name, "role")) {
		if (!strcmp(v, "compile"))
			a->role = ROLE_COMPILE;
		else if (!strcmp(v, "import"))
			a->role = ROLE_IMPORT;
		else if (!strcmp(v, "recover"))
			a->role = ROLE_RECOVER;
		else
			rc = -1;
	} else if (!strcmp(name, "cache"))
		a->cache_dir = v;
	else if (!strcmp(name, "cache-kind"))
		a->cache_kind = v;
	else if (!strcmp(name, "runner") || !strcmp(name, "strategies-lib"))
		;   /* the driver's; the embedded worker knows what it is */
	else if (!strcmp(name, "module")) {
		if (a->nmodules < WORKER_MAX_MODULES)
			a->modules[a->nmodules++] = v;
		else
			rc = -1;
	} else if (!strcmp(name, "pyc")) {
		mode = pyc_mode_from_name(v);
		a->pyc_mode = (enum pyc_mode)mode;
		rc = mode < 0 ? -1 : 0;
	} else if (!strcmp(name, "seed"))
		rc = set_u64(&a->seed, v);
	else if (!strcmp(name, "worker")) {
		rc = set_u64(&n, v);
		a->worker = (unsigned)n;
	} else if (!strcmp(name, "iterations"))
		rc = set_u64(&a->iterations, v);
	else if (!strcmp(name, "deadline-ns"))
		rc = set_u64(&a->deadline_ns, v);
	else if (!strcmp(name, "import-writes")) {
		rc = set_u64(&n, v);
		a->import_writes = n != 0;
	} else if (!strcmp(name, "tmp-id"))
		rc = set_u64(&a->tmp_id, v);
	else if (!strcmp(name, "retry-budget-ns"))
		rc = set_u64(&a->retry_budget_ns, v);
	else if (!strcmp(name, "evidence"))
		a->evidence_dir = v;
	else if (!strcmp(name, "evidence-max")) {
		rc = set_u64(&n, v);
		a->evidence_max = (unsigned)n;
	} else if (!strcmp(name, "event-fd")) {
		rc = set_u64(&n, v);
		a->event_fd = (int)n;
	} else
		rc = -1;
	return rc;
}

int worker_parse_args(int argc, char **argv, struct worker_args *out)
{
	int i, rc = 0;

	memset(out, 0, sizeof(*out));
	out->event_fd = -1;
	out->evidence_max = WORKER_EVIDENCE_MAX;
	out->retry_budget_ns = 100000000ull;
	out->cache_kind = "pyc";
	for (i = 1; i < argc && rc == 0; i += 2) {
		if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc ||
		    apply(out, argv[i] + 2, argv[i + 1]) < 0) {
			(void)fprintf(stderr, "pycstorm-worker: bad option '%s'\n", argv[i]);
			rc = -1;
		}
	}
	if (rc == 0 && (!out->strategy || !out->cache_dir || !out->nmodules ||
			out->event_fd < 0)) {
		(void)fprintf(stderr, "pycstorm-worker: needs --strategy, --cache, "
				      "--module and --event-fd\n");
		rc = -1;
	}
	return rc;
}

char **worker_build_argv(const char *program, const struct worker_args *a)
{
	char **v = xcalloc(2 * (a->nmodules + 20) + 2, sizeof(char *));
	size_t n = 0, i;

#define ADD(name, value) (v[n++] = xstrdup("--" name), v[n++] = (value))
	v[n++] = xstrdup(program);
	ADD("strategy", xstrdup(a->strategy));
	ADD("role", xstrdup(a->role == ROLE_COMPILE ? "compile"
			    : a->role == ROLE_IMPORT ? "import" : "recover"));
	ADD("cache", xstrdup(a->cache_dir));
	ADD("cache-kind", xstrdup(a->cache_kind ? a->cache_kind : "pyc"));
	for (i = 0; i < a->nmodules; i++)
		ADD("module", xstrdup(a->modules[i]));
	ADD("pyc", xstrdup(pyc_mode_name(a->pyc_mode)));
	ADD("seed", xasprintf("%llu", (unsigned long long)a->seed));
	ADD("worker", xasprintf("%u", a->worker));
	ADD("iterations", xasprintf("%llu", (unsigned long long)a->iterations));
	ADD("deadline-ns", xasprintf("%llu", (unsigned long long)a->deadline_ns));
	ADD("import-writes", xasprintf("%d", a->import_writes));
	ADD("tmp-id", xasprintf("%llu", (unsigned long long)a->tmp_id));
	ADD("retry-budget-ns", xasprintf("%llu", (unsigned long long)a->retry_budget_ns));
	if (a->evidence_dir) {
		ADD("evidence", xstrdup(a->evidence_dir));
		ADD("evidence-max", xasprintf("%u", a->evidence_max));
	}
	ADD("event-fd", xasprintf("%d", a->event_fd));
#undef ADD
	v[n] = NULL;
	return v;
}

void worker_free_argv(char **argv)
{
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}
