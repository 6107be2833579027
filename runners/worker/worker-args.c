/*
 * The worker command line, both directions; see worker.h. The parser and
 * the builder are both expansions of WORKER_OPTIONS: one setter and one
 * writer per kind, called with the field itself, so the compiler checks
 * that each option's kind fits its field.
 */
#include "worker.h"

#include "common.h"
#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pyc_mode_names[] = { "timestamp", "checked-hash",
					      "unchecked-hash" };

static const char *const role_names[] = {
#define X(id, name) name,
	WORKER_ROLE_LIST(X)
#undef X
};

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

const char *worker_role_name(enum worker_role role)
{
	return (unsigned)role < ROLE_COUNT ? role_names[role] : "?";
}

/* ---- text -> field, one setter per kind; 0 or -1 ------------------------- */

static int set_STR(struct worker_args *a, const char **f, const char *v)
{
	(void)a;
	*f = v;
	return 0;
}

static int set_LIST(struct worker_args *a, const char *(*f)[WORKER_MAX_MODULES], const char *v)
{
	if (a->nmodules >= WORKER_MAX_MODULES)
		return -1;
	(*f)[a->nmodules++] = v;
	return 0;
}

static int set_ROLE(struct worker_args *a, enum worker_role *f, const char *v)
{
	int i, rc = -1;

	(void)a;
	for (i = 0; i < ROLE_COUNT && rc < 0; i++)
		if (!strcmp(role_names[i], v)) {
			*f = (enum worker_role)i;
			rc = 0;
		}
	return rc;
}

static int set_PYC(struct worker_args *a, enum pyc_mode *f, const char *v)
{
	int mode = pyc_mode_from_name(v);

	(void)a;
	if (mode >= 0)
		*f = (enum pyc_mode)mode;
	return mode < 0 ? -1 : 0;
}

static int set_U64(struct worker_args *a, uint64_t *f, const char *v)
{
	(void)a;
	return parse_u64(v, f);
}

static int set_UINT(struct worker_args *a, unsigned *f, const char *v)
{
	uint64_t n;
	int rc = parse_u64(v, &n);

	(void)a;
	if (rc == 0 && n > 0xffffffffull)
		rc = -1;
	if (rc == 0)
		*f = (unsigned)n;
	return rc;
}

static int set_INT(struct worker_args *a, int *f, const char *v)
{
	uint64_t n;
	int rc = parse_u64(v, &n);

	(void)a;
	if (rc == 0 && n > 0x7fffffffull)
		rc = -1;
	if (rc == 0)
		*f = (int)n;
	return rc;
}

static int set_BOOL(struct worker_args *a, int *f, const char *v)
{
	uint64_t n;
	int rc = parse_u64(v, &n);

	(void)a;
	if (rc == 0)
		*f = n != 0;
	return rc;
}

/* ---- field -> text, one writer per kind ------------------------------------ */

struct argv_out {
	char **v;
	size_t n;
};

static void put(struct argv_out *o, const char *name, char *value)
{
	o->v[o->n++] = xstrdup(name);
	o->v[o->n++] = value;
}

static void put_STR(struct argv_out *o, const char *name, const struct worker_args *a,
		    const char *const *f)
{
	(void)a;
	if (*f)
		put(o, name, xstrdup(*f));
}

static void put_LIST(struct argv_out *o, const char *name, const struct worker_args *a,
		     const char *const (*f)[WORKER_MAX_MODULES])
{
	size_t i;

	for (i = 0; i < a->nmodules; i++)
		put(o, name, xstrdup((*f)[i]));
}

static void put_ROLE(struct argv_out *o, const char *name, const struct worker_args *a,
		     const enum worker_role *f)
{
	(void)a;
	put(o, name, xstrdup(worker_role_name(*f)));
}

static void put_PYC(struct argv_out *o, const char *name, const struct worker_args *a,
		    const enum pyc_mode *f)
{
	(void)a;
	put(o, name, xstrdup(pyc_mode_name(*f)));
}

static void put_U64(struct argv_out *o, const char *name, const struct worker_args *a,
		    const uint64_t *f)
{
	(void)a;
	put(o, name, xasprintf("%llu", (unsigned long long)*f));
}

static void put_UINT(struct argv_out *o, const char *name, const struct worker_args *a,
		     const unsigned *f)
{
	(void)a;
	put(o, name, xasprintf("%u", *f));
}

static void put_INT(struct argv_out *o, const char *name, const struct worker_args *a,
		    const int *f)
{
	(void)a;
	put(o, name, xasprintf("%d", *f));
}

static void put_BOOL(struct argv_out *o, const char *name, const struct worker_args *a,
		     const int *f)
{
	(void)a;
	put(o, name, xstrdup(*f ? "1" : "0"));
}

/* ---- the table ------------------------------------------------------------- */

static const struct {
	const char *name;
	const char *def;
	int required;
} option_defs[] = {
#define X(name, kind, field, def, required) { name, def, required },
	WORKER_OPTIONS(X)
#undef X
};

#define NOPTIONS (sizeof(option_defs) / sizeof(option_defs[0]))

/* Set option name to v: its index in option_defs, or -1 (unknown name, bad value). */
static int apply(struct worker_args *a, const char *name, const char *v)
{
	int i = 0;

#define X(oname, kind, field, def, required)                                 \
	if (!strcmp(name, oname))                                            \
		return set_##kind(a, &a->field, v) < 0 ? -1 : i;             \
	i++;
	WORKER_OPTIONS(X)
#undef X
	return -1;
}

void worker_args_defaults(struct worker_args *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	a->event_fd = -1;
	for (i = 0; i < NOPTIONS; i++)
		if (option_defs[i].def && apply(a, option_defs[i].name, option_defs[i].def) < 0)
			die(EXIT_INTERNAL, "worker option '--%s' has a bad default '%s'",
			    option_defs[i].name, option_defs[i].def);
}

int worker_parse_args(int argc, char **argv, struct worker_args *out)
{
	int seen[NOPTIONS] = { 0 };
	int i, k, rc = 0;
	size_t j;

	worker_args_defaults(out);
	for (i = 1; i < argc && rc == 0; i += 2) {
		k = strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc
			    ? -1 : apply(out, argv[i] + 2, argv[i + 1]);
		if (k < 0) {
			(void)fprintf(stderr, "pycstorm-worker: bad option '%s'\n", argv[i]);
			rc = -1;
		} else
			seen[k] = 1;
	}
	for (j = 0; j < NOPTIONS && rc == 0; j++)
		if (option_defs[j].required && !seen[j]) {
			(void)fprintf(stderr, "pycstorm-worker: needs --%s\n", option_defs[j].name);
			rc = -1;
		}
	return rc;
}

char **worker_build_argv(const char *program, const struct worker_args *a)
{
	struct argv_out o = { xcalloc(2 * (NOPTIONS + a->nmodules) + 2, sizeof(char *)), 0 };

	o.v[o.n++] = xstrdup(program);
#define X(name, kind, field, def, required) put_##kind(&o, "--" name, a, &a->field);
	WORKER_OPTIONS(X)
#undef X
	o.v[o.n] = NULL;
	return o.v;
}

void worker_free_argv(char **argv)
{
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void worker_args_one_write(struct worker_args *a, const char *strategy, const char *cache_dir,
			   const char *module_spec, unsigned worker_index)
{
	worker_args_defaults(a);
	a->strategy = strategy;
	a->role = ROLE_COMPILE;
	a->cache_dir = cache_dir;
	a->modules[a->nmodules++] = module_spec;
	a->cache_kind = "pyc";
	a->seed = 1;
	a->worker = worker_index;
	a->iterations = 1;
	a->tmp_id = 0x7f0000001000ull;
	a->event_fd = EVENT_FD;
}
