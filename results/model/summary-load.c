/*
 * Reading summary.json back into struct summary, for report, compare,
 * merge and gate. The counts and histograms are the truth; the derived
 * figures in the file (rates, intervals, percentiles) are ignored and
 * recomputed, so a hand-edited rate cannot disagree with its counts.
 *
 * Every problem is one line: "FILE: line L column C: WHERE: problem",
 * WHERE being the path to the value (results[2].by_op.import). Unknown
 * keys are ignored (a newer writer of the same schema version may add
 * some); unknown outcome classes, ops or a different histogram scheme are
 * errors, because counting them would be wrong.
 */
#include "summary.h"

#include "common.h"
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_RESULTS 1024
#define MAX_PARTS 4096

/* The text format-json.c writes for the histogram layout in stats.h. */
#define HIST_SCHEME_PREFIX "log2-linear, "

struct loader {
	const char *path;
	char *err;
	size_t errlen;
};

static int bad(const struct loader *L, const struct json *at, const char *where,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(const struct loader *L, const struct json *at, const char *where,
	       const char *fmt, ...)
{
	va_list ap;
	int used;

	used = snprintf(L->err, L->errlen, "%s: line %u column %u: %s%s", L->path, at->line,
			at->column, where, *where ? ": " : "");
	if (used >= 0 && (size_t)used < L->errlen) {
		va_start(ap, fmt);
		(void)vsnprintf(L->err + used, L->errlen - (size_t)used, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The member key of obj with the wanted type: 1 found, 0 absent or null
 * and not required, -1 an error already reported. */
static int member(const struct loader *L, const struct json *obj, const char *where,
		  const char *key, enum json_type type, int required, const struct json **out)
{
	const struct json *v = json_get(obj, key);

	*out = NULL;
	if (!v || (v->type == JSON_NULL && !required)) {
		if (required)
			return bad(L, obj, where, "missing key '%s'", key);
		return 0;
	}
	if (v->type != type)
		return bad(L, v, where, "'%s' is %s, not %s", key, json_type_name(v->type),
			   json_type_name(type));
	*out = v;
	return 1;
}

static int get_string(const struct loader *L, const struct json *obj, const char *where,
		      const char *key, int required, char **out)
{
	const struct json *v;
	int rc = member(L, obj, where, key, JSON_STRING, required, &v);

	if (rc > 0)
		*out = xstrdup(v->text);
	return rc < 0 ? -1 : 0;
}

static int get_u64(const struct loader *L, const struct json *obj, const char *where,
		   const char *key, int required, uint64_t max, uint64_t *out)
{
	const struct json *v;
	int rc = member(L, obj, where, key, JSON_NUMBER, required, &v);

	if (rc > 0 && (json_u64(v, out) < 0 || *out > max))
		return bad(L, v, where, "'%s' is not a whole number from 0 to %llu", key,
			   (unsigned long long)max);
	return rc < 0 ? -1 : 0;
}

static int get_unsigned(const struct loader *L, const struct json *obj, const char *where,
			const char *key, unsigned *out)
{
	uint64_t n = 0;
	int rc = get_u64(L, obj, where, key, 0, UINT_MAX, &n);

	*out = (unsigned)n;
	return rc;
}

static int get_double(const struct loader *L, const struct json *obj, const char *where,
		      const char *key, double *out)
{
	const struct json *v;
	int rc = member(L, obj, where, key, JSON_NUMBER, 0, &v);

	/* Every one is a time or a rate. */
	if (rc > 0 && (json_double(v, out) < 0 || *out < 0))
		return bad(L, v, where, "'%s' is not a finite number from 0", key);
	return rc < 0 ? -1 : 0;
}

static int get_bool(const struct loader *L, const struct json *obj, const char *where,
		    const char *key, int *out)
{
	const struct json *v;
	int rc = member(L, obj, where, key, JSON_BOOL, 0, &v);

	if (rc > 0)
		*out = v->boolean;
	return rc < 0 ? -1 : 0;
}

/* {"count", "sum", "min", "max", "buckets": [[index, count], ...]} */
static int load_hist(const struct loader *L, const struct json *obj, const char *where,
		     struct hist *h)
{
	const struct json *buckets = NULL, *pair;
	uint64_t count = 0, sum = 0, min = 0, max = 0, index, n, total = 0;
	int rc;

	hist_init(h);
	rc = get_u64(L, obj, where, "count", 1, UINT64_MAX, &count);
	if (rc == 0)
		rc = get_u64(L, obj, where, "sum", 1, UINT64_MAX, &sum);
	if (rc == 0)
		rc = get_u64(L, obj, where, "min", 1, UINT64_MAX, &min);
	if (rc == 0)
		rc = get_u64(L, obj, where, "max", 1, UINT64_MAX, &max);
	if (rc == 0 && member(L, obj, where, "buckets", JSON_ARRAY, 1, &buckets) < 0)
		rc = -1;
	for (pair = rc == 0 ? buckets->first : NULL; pair && rc == 0; pair = pair->next) {
		if (pair->type != JSON_ARRAY || pair->count != 2 ||
		    json_u64(pair->first, &index) < 0 || json_u64(pair->first->next, &n) < 0)
			rc = bad(L, pair, where, "a bucket is not [index, count]");
		else if (index >= HIST_BUCKETS)
			rc = bad(L, pair, where, "bucket index %llu is not below %u",
				 (unsigned long long)index, (unsigned)HIST_BUCKETS);
		else if (n > UINT64_MAX - total)
			rc = bad(L, pair, where, "bucket counts overflow");
		else {
			h->buckets[index] += n;
			total += n;
		}
	}
	if (rc == 0 && total != count)
		rc = bad(L, obj, where, "the buckets hold %llu values but count is %llu",
			 (unsigned long long)total, (unsigned long long)count);
	if (rc == 0 && count && min > max)
		rc = bad(L, obj, where, "min %llu is above max %llu", (unsigned long long)min,
			 (unsigned long long)max);
	if (rc == 0 && count) {
		h->count = count;
		h->sum = sum;
		h->min = min;
		h->max = max;
	}
	return rc;
}

/* {"compile": {"ok": 3, ...}, "import": ...} into counts[op][outcome]. */
static int load_by_op(const struct loader *L, const struct json *obj, const char *where,
		      struct strategy_result *r)
{
	const struct json *op, *o;
	char here[160];
	int op_ix, o_ix, rc = 0;
	uint64_t n;

	for (op = obj->first; op && rc == 0; op = op->next) {
		op_ix = op_from_name(op->key);
		(void)snprintf(here, sizeof(here), "%s.%s", where, op->key);
		if (op_ix < 0)
			rc = bad(L, op, where, "unknown op '%.40s'", op->key);
		else if (op->type != JSON_OBJECT)
			rc = bad(L, op, here, "%s, not an object", json_type_name(op->type));
		for (o = rc == 0 ? op->first : NULL; o && rc == 0; o = o->next) {
			o_ix = outcome_from_name(o->key);
			if (o_ix < 0)
				rc = bad(L, o, here, "unknown outcome class '%.40s'", o->key);
			else if (json_u64(o, &n) < 0)
				rc = bad(L, o, here, "'%s' is not a whole number", o->key);
			else
				r->counts[op_ix][o_ix] = n;
		}
	}
	return rc;
}

static int load_histograms(const struct loader *L, const struct json *obj, const char *where,
			   struct strategy_result *r)
{
	const struct json *h;
	char here[160];
	int op_ix, rc = 0;

	for (h = obj->first; h && rc == 0; h = h->next) {
		op_ix = op_from_name(h->key);
		(void)snprintf(here, sizeof(here), "%s.%s", where, h->key);
		if (op_ix < 0)
			rc = bad(L, h, where, "unknown op '%.40s'", h->key);
		else if (h->type != JSON_OBJECT)
			rc = bad(L, h, here, "%s, not an object", json_type_name(h->type));
		else
			rc = load_hist(L, h, here, &r->latency[op_ix]);
	}
	return rc;
}

static int load_faults_fired(const struct loader *L, const struct json *obj,
			     const char *where, struct strategy_result *r)
{
	const struct json *f;
	uint64_t n;
	int rc = 0;

	if (obj && obj->count > SUMMARY_MAX_FAULT_POINTS)
		return bad(L, obj, where, "more than %d fault points", SUMMARY_MAX_FAULT_POINTS);
	for (f = obj ? obj->first : NULL; f && rc == 0; f = f->next) {
		if (json_u64(f, &n) < 0)
			rc = bad(L, f, where, "'%.60s' is not a whole number", f->key);
		else if (summary_count_fault(r, f->key, n) < 0)
			rc = bad(L, f, where, "'%.60s' overflows 64 bits", f->key);
	}
	return rc;
}

static int load_first_errors(const struct loader *L, const struct json *obj,
			     const char *where, struct strategy_result *r)
{
	const struct json *e;
	int o_ix, rc = 0;

	for (e = obj ? obj->first : NULL; e && rc == 0; e = e->next) {
		o_ix = outcome_from_name(e->key);
		if (o_ix < 0)
			rc = bad(L, e, where, "unknown outcome class '%.40s'", e->key);
		else if (e->type != JSON_STRING)
			rc = bad(L, e, where, "'%s' is %s, not a string", e->key,
				 json_type_name(e->type));
		else if (!r->first_error[o_ix])
			r->first_error[o_ix] = xstrdup(e->text);
	}
	return rc;
}

static int load_evidence(const struct loader *L, const struct json *arr, const char *where,
			 struct strategy_result *r)
{
	const struct json *e;
	int rc = 0;

	if (arr && arr->count > SUMMARY_MAX_EVIDENCE)
		return bad(L, arr, where, "more than %d evidence entries", SUMMARY_MAX_EVIDENCE);
	for (e = arr ? arr->first : NULL; e && rc == 0; e = e->next) {
		if (e->type != JSON_STRING)
			rc = bad(L, e, where, "an entry is %s, not a string", json_type_name(e->type));
		else
			r->evidence[r->nevidence++] = xstrdup(e->text);
	}
	return rc;
}

static int load_result(const struct loader *L, const struct json *obj, size_t index,
		       struct summary *s)
{
	const struct json *v, *name;
	struct strategy_result *r;
	const char *what;
	char where[64], here[128];
	size_t before = s->nresults;
	int rc;

	(void)snprintf(where, sizeof(where), "results[%zu]", index);
	if (obj->type != JSON_OBJECT)
		return bad(L, obj, where, "%s, not an object", json_type_name(obj->type));
	if (member(L, obj, where, "strategy", JSON_STRING, 1, &name) < 0)
		return -1;
	if (!name->text[0])
		return bad(L, name, where, "the strategy name is empty");
	r = summary_result(s, name->text);
	if (s->nresults == before)
		return bad(L, name, where, "strategy '%.60s' appears twice", name->text);
	rc = get_bool(L, obj, where, "expect_safe", &r->expect_safe);
	if (rc == 0 && member(L, obj, where, "scenario", JSON_STRING, 0, &v) > 0) {
		free(r->scenario);
		r->scenario = xstrdup(v->text);
	}
	if (rc == 0)
		rc = get_u64(L, obj, where, "workers_started", 0, UINT64_MAX, &r->workers_started);
	(void)snprintf(here, sizeof(here), "%s.by_op", where);
	if (rc == 0)
		rc = member(L, obj, where, "by_op", JSON_OBJECT, 1, &v) < 0 ? -1
									      : load_by_op(L, v, here, r);
	(void)snprintf(here, sizeof(here), "%s.latency_hist_ns", where);
	if (rc == 0)
		rc = member(L, obj, where, "latency_hist_ns", JSON_OBJECT, 1, &v) < 0
			     ? -1 : load_histograms(L, v, here, r);
	(void)snprintf(here, sizeof(here), "%s.faults_fired", where);
	if (rc == 0)
		rc = member(L, obj, where, "faults_fired", JSON_OBJECT, 0, &v) < 0
			     ? -1 : load_faults_fired(L, v, here, r);
	(void)snprintf(here, sizeof(here), "%s.first_errors", where);
	if (rc == 0)
		rc = member(L, obj, where, "first_errors", JSON_OBJECT, 0, &v) < 0
			     ? -1 : load_first_errors(L, v, here, r);
	(void)snprintf(here, sizeof(here), "%s.evidence", where);
	if (rc == 0)
		rc = member(L, obj, where, "evidence", JSON_ARRAY, 0, &v) < 0
			     ? -1 : load_evidence(L, v, here, r);
	/* A merge's throughput is the sum of its parts' and cannot be
	 * recomputed from one elapsed time: keep the stored figure. */
	if (rc == 0 && s->nparts)
		rc = get_double(L, obj, where, "cycles_per_s", &r->cycles_per_s);
	if (rc == 0 && (what = summary_result_overflows(r)) != NULL)
		rc = bad(L, obj, where, "the %s add up past 2^64-1", what);
	return rc;
}

static int load_results(const struct loader *L, const struct json *root, struct summary *s)
{
	const struct json *arr, *r;
	size_t i = 0;
	int rc = member(L, root, "", "results", JSON_ARRAY, 1, &arr) < 0 ? -1 : 0;

	if (rc == 0 && arr->count > MAX_RESULTS)
		rc = bad(L, arr, "results", "more than %d strategies", MAX_RESULTS);
	for (r = rc == 0 ? arr->first : NULL; r && rc == 0; r = r->next)
		rc = load_result(L, r, i++, s);
	return rc;
}

static int load_parts(const struct loader *L, const struct json *root, struct summary *s)
{
	const struct json *arr, *p;
	struct summary_part *part;
	char where[64];
	int rc = member(L, root, "", "merged", JSON_ARRAY, 0, &arr) < 0 ? -1 : 0;

	if (rc < 0 || !arr)
		return rc;
	if (arr->count > MAX_PARTS)
		return bad(L, arr, "merged", "more than %d parts", MAX_PARTS);
	s->parts = xcalloc(arr->count ? arr->count : 1, sizeof(*s->parts));
	for (p = arr->first; p && rc == 0; p = p->next) {
		(void)snprintf(where, sizeof(where), "merged[%zu]", s->nparts);
		part = &s->parts[s->nparts++];
		if (p->type != JSON_OBJECT)
			rc = bad(L, p, where, "%s, not an object", json_type_name(p->type));
		if (rc == 0)
			rc = get_string(L, p, where, "source", 0, &part->source);
		if (rc == 0)
			rc = get_string(L, p, where, "shard", 0, &part->shard);
		if (rc == 0)
			rc = get_u64(L, p, where, "seed", 1, UINT64_MAX, &part->seed);
		if (rc == 0)
			rc = get_double(L, p, where, "elapsed_s", &part->elapsed_s);
		if (rc == 0)
			rc = get_string(L, p, where, "replay", 0, &part->replay);
	}
	return rc;
}

static int load_faults(const struct loader *L, const struct json *root, struct summary *s)
{
	const struct json *arr, *f;
	int rc = member(L, root, "", "faults", JSON_ARRAY, 0, &arr) < 0 ? -1 : 0;

	if (rc == 0 && arr && arr->count > SUMMARY_MAX_FAULTS)
		rc = bad(L, arr, "faults", "more than %d fault specs", SUMMARY_MAX_FAULTS);
	for (f = rc == 0 && arr ? arr->first : NULL; f && rc == 0; f = f->next) {
		if (f->type != JSON_STRING)
			rc = bad(L, f, "faults", "an entry is %s, not a string", json_type_name(f->type));
		else
			s->faults[s->nfaults++] = xstrdup(f->text);
	}
	return rc;
}

static int load_python(const struct loader *L, const struct json *root, struct summary *s)
{
	const struct json *py;
	uint64_t magic = 0;
	int rc = member(L, root, "", "python", JSON_OBJECT, 0, &py) < 0 ? -1 : 0;

	if (rc < 0 || !py)
		return rc;
	rc = get_string(L, py, "python", "version", 0, &s->python_version);
	if (rc == 0)
		rc = get_string(L, py, "python", "executable", 0, &s->python_executable);
	if (rc == 0)
		rc = get_string(L, py, "python", "cache_tag", 0, &s->cache_tag);
	if (rc == 0)
		rc = get_u64(L, py, "python", "magic", 0, UINT32_MAX, &magic);
	s->magic = (uint32_t)magic;
	return rc;
}

/* The identity of the run: what it ran, where and how long. */
static int load_metadata(const struct loader *L, const struct json *root, struct summary *s)
{
	static const struct { const char *key; size_t offset; int required; } texts[] = {
		{ "tool", offsetof(struct summary, tool), 0 },
		{ "scenario", offsetof(struct summary, scenario), 1 },
		{ "scenario_file", offsetof(struct summary, scenario_file), 0 },
		{ "description", offsetof(struct summary, description), 0 },
		{ "command", offsetof(struct summary, command), 0 },
		{ "replay", offsetof(struct summary, replay), 0 },
		{ "started", offsetof(struct summary, started), 0 },
		{ "runner", offsetof(struct summary, runner), 0 },
		{ "cache_dir", offsetof(struct summary, cache_dir), 0 },
		{ "cache_fs", offsetof(struct summary, cache_fs), 0 },
		{ "kernel", offsetof(struct summary, kernel), 0 },
		{ "host", offsetof(struct summary, host), 0 },
		{ "pyc", offsetof(struct summary, pyc_mode), 0 },
		{ "shard", offsetof(struct summary, shard), 0 },
		{ "shared_cache", offsetof(struct summary, shared_cache), 0 },
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]) && rc == 0; i++)
		rc = get_string(L, root, "", texts[i].key, texts[i].required,
				(char **)((char *)s + texts[i].offset));
	if (rc == 0)
		rc = get_u64(L, root, "", "seed", 1, UINT64_MAX, &s->seed);
	if (rc == 0)
		rc = get_double(L, root, "", "elapsed_s", &s->elapsed_s);
	if (rc == 0)
		rc = get_bool(L, root, "", "interrupted", &s->interrupted);
	if (rc == 0)
		rc = get_unsigned(L, root, "", "cpus", &s->cpus);
	if (rc == 0)
		rc = get_unsigned(L, root, "", "jobs", &s->jobs);
	if (rc == 0)
		rc = get_unsigned(L, root, "", "compile_jobs", &s->compile_jobs);
	if (rc == 0)
		rc = get_u64(L, root, "", "iterations", 0, UINT64_MAX, &s->iterations);
	if (rc == 0)
		rc = get_double(L, root, "", "duration_target_s", &s->duration_target_s);
	if (rc == 0)
		rc = load_python(L, root, s);
	return rc == 0 ? load_faults(L, root, s) : rc;
}

static int check_version(const struct loader *L, const struct json *root)
{
	const struct json *scheme;
	char expected[64];
	uint64_t version = 0;

	if (root->type != JSON_OBJECT)
		return bad(L, root, "", "the document is %s, not an object", json_type_name(root->type));
	if (get_u64(L, root, "", "schema_version", 1, UINT64_MAX, &version) < 0)
		return -1;
	if (version != SUMMARY_SCHEMA_VERSION)
		return bad(L, json_get(root, "schema_version"), "",
			   "schema_version %llu is not supported (this pycstorm reads %d)",
			   (unsigned long long)version, SUMMARY_SCHEMA_VERSION);
	if (member(L, root, "", "latency_hist_scheme", JSON_STRING, 0, &scheme) < 0)
		return -1;
	(void)snprintf(expected, sizeof(expected), HIST_SCHEME_PREFIX "%u sub-buckets", HIST_SUB);
	if (scheme && strcmp(scheme->text, expected) != 0)
		return bad(L, scheme, "", "latency_hist_scheme '%.60s' is not '%s'", scheme->text,
			   expected);
	return 0;
}

char *summary_path(const char *file_or_run_dir)
{
	struct stat st;

	if (stat(file_or_run_dir, &st) == 0 && S_ISDIR(st.st_mode))
		return xasprintf("%s/summary.json", file_or_run_dir);
	return xstrdup(file_or_run_dir);
}

int summary_load(const char *path, struct summary *s, char *err, size_t errlen)
{
	struct loader L = { path, err, errlen };
	struct json_doc *doc = NULL;
	const struct json *root;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = json_parse_file(path, &doc, err, errlen);
	root = json_root(doc);
	if (rc == 0)
		rc = check_version(&L, root);
	if (rc == 0)
		rc = load_metadata(&L, root, s);
	if (rc == 0)
		rc = load_parts(&L, root, s);
	if (rc == 0)
		rc = load_results(&L, root, s);
	if (rc < 0)
		summary_free(s);
	json_free(doc);
	return rc;
}
