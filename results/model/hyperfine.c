/*
 * hyperfine.json, as `make bench-latency` leaves it in a run folder:
 * hyperfine times whole `pycstorm run` commands, one per strategy, and the
 * HTML report shows those wall-clock figures next to the per-cycle ones.
 *
 * Read with the same strict parser as summary.json. Only the fields the
 * report shows are read: results[].{command, parameters, mean, stddev,
 * median, min, max, times}; stddev is null when hyperfine ran once.
 */
#include "summary.h"

#include "common.h"
#include "strbuf.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_BENCH_ENTRIES 256

static int bad(char *err, size_t errlen, const char *path, const struct json *at,
	       const char *what)
{
	(void)snprintf(err, errlen, "%s: line %u column %u: %s", path, at->line, at->column, what);
	return -1;
}

/* "name=value,name=value" from hyperfine's parameters object. */
static char *join_parameters(const struct json *params)
{
	const struct json *p;
	struct strbuf text = STRBUF_INIT;

	for (p = params && params->type == JSON_OBJECT ? params->first : NULL; p; p = p->next)
		strbuf_addf(&text, "%s%s=%s", text.len ? "," : "", p->key,
			    p->type == JSON_STRING ? p->text : "?");
	return strbuf_detach(&text);
}

static int load_entry(const struct json *r, struct bench_entry *b, const char *path,
		      char *err, size_t errlen)
{
	const struct json *times = json_get(r, "times"), *sd = json_get(r, "stddev");
	const char *command = json_string(json_get(r, "command"));

	if (r->type != JSON_OBJECT || !command)
		return bad(err, errlen, path, r, "a result has no \"command\" string");
	if (json_double(json_get(r, "mean"), &b->mean_s) < 0 ||
	    json_double(json_get(r, "median"), &b->median_s) < 0 ||
	    json_double(json_get(r, "min"), &b->min_s) < 0 ||
	    json_double(json_get(r, "max"), &b->max_s) < 0)
		return bad(err, errlen, path, r, "a result lacks mean, median, min or max");
	if (sd && sd->type != JSON_NULL && json_double(sd, &b->stddev_s) < 0)
		return bad(err, errlen, path, sd, "\"stddev\" is not a number");
	b->command = xstrdup(command);
	b->parameters = join_parameters(json_get(r, "parameters"));
	b->runs = times && times->type == JSON_ARRAY ? times->count : 0;
	return 0;
}

int summary_load_bench(const char *dir, struct summary *s, char *err, size_t errlen)
{
	char *path = xasprintf("%s/hyperfine.json", dir);
	struct json_doc *doc = NULL;
	const struct json *results = NULL, *r;
	struct stat st;
	int rc = 0;

	summary_free_bench(s);
	if (lstat(path, &st) < 0 && errno == ENOENT)
		goto out;
	rc = json_parse_file(path, &doc, err, errlen);
	if (rc == 0) {
		results = json_get(json_root(doc), "results");
		if (!results || results->type != JSON_ARRAY || results->count > MAX_BENCH_ENTRIES)
			rc = bad(err, errlen, path, json_root(doc),
				 "no \"results\" array of at most 256 commands");
	}
	if (rc == 0 && results->count)
		s->bench = xcalloc(results->count, sizeof(*s->bench));
	for (r = rc == 0 ? results->first : NULL; r && rc == 0; r = r->next) {
		rc = load_entry(r, &s->bench[s->nbench], path, err, errlen);
		if (rc == 0)
			s->nbench++;
	}
	if (rc < 0)
		summary_free_bench(s);
out:
	json_free(doc);
	free(path);
	return rc;
}
