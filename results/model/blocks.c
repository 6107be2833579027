/* A run's reads in blocks; see blocks.h. */
#include "blocks.h"

#include "common.h"
#include "json.h"
#include "outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Workers are numbered from 0 by the run; more than this is not a run's. */
#define BLOCKS_MAX_WORKERS 4096

/* The block each worker has open. */
struct open_block {
	uint64_t corrupt, reads;
};

struct blocks_reader {
	const char *strategy;
	struct open_block *open;
	struct read_blocks *out;
	size_t cap;
};

/* Count n cycles of "op/outcome" into a worker's open block. */
static void count_cycles(struct open_block *ob, const char *op, const char *outcome, uint64_t n)
{
	int o = outcome_from_name(outcome), p = op_from_name(op);

	if (o < 0 || p < 0 || (p != OP_IMPORT && p != OP_RECOVER))
		return;
	/* a worker's death is an outcome, not a read (as in summary_figures) */
	if (o == OUTCOME_WORKER_CRASH || o == OUTCOME_WORKER_TIMEOUT || o == OUTCOME_INTERRUPTED)
		return;
	ob->reads += n;
	if (outcome_is_corrupt((enum outcome)o))
		ob->corrupt += n;
}

static void close_block(struct blocks_reader *r, struct open_block *ob)
{
	if (!ob->reads)
		return;
	if (r->out->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->out->corrupt = xrealloc(r->out->corrupt, r->cap * sizeof(uint64_t));
		r->out->reads = xrealloc(r->out->reads, r->cap * sizeof(uint64_t));
	}
	r->out->corrupt[r->out->n] = ob->corrupt;
	r->out->reads[r->out->n] = ob->reads;
	r->out->n++;
	memset(ob, 0, sizeof(*ob));
}

/* A batch line: its counts ("import/ok": 120, ...), then the block closes. */
static void on_batch(struct blocks_reader *r, struct open_block *ob, const struct json *counts)
{
	const struct json *c;
	char key[64], *slash;
	uint64_t n;

	for (c = counts ? counts->first : NULL; c; c = c->next) {
		if (strlen(c->key) >= sizeof(key) || json_u64(c, &n) < 0)
			continue;
		strcpy(key, c->key);
		slash = strchr(key, '/');
		if (!slash)
			continue;
		*slash = '\0';
		count_cycles(ob, key, slash + 1, n);
	}
	close_block(r, ob);
}

/* One line of events.jsonl: 0, or -1 when it is not an event. */
static int on_line(struct blocks_reader *r, const char *name, const char *line, size_t len,
		   char *err, size_t errlen)
{
	struct json_doc *doc = NULL;
	const struct json *e, *type, *strategy, *op, *outcome;
	uint64_t worker = 0;
	int rc = -1;

	if (json_parse(name, line, len, &doc, err, errlen) < 0)
		return -1;
	e = json_root(doc);
	type = json_get(e, "type");
	strategy = json_get(e, "strategy");
	if (!json_string(type) || json_u64(json_get(e, "worker"), &worker) < 0 ||
	    worker >= BLOCKS_MAX_WORKERS) {
		(void)snprintf(err, errlen, "%s: a line without a type or a worker number", name);
		goto out;
	}
	rc = 0;
	if (!json_string(strategy) || strcmp(json_string(strategy), r->strategy) != 0)
		goto out;
	if (!strcmp(json_string(type), "batch")) {
		on_batch(r, &r->open[worker], json_get(e, "counts"));
	} else if (!strcmp(json_string(type), "cycle")) {
		op = json_get(e, "op");
		outcome = json_get(e, "outcome");
		if (json_string(op) && json_string(outcome))
			count_cycles(&r->open[worker], json_string(op), json_string(outcome), 1);
	}
out:
	json_free(doc);
	return rc;
}

int read_blocks_load(const char *events_path, const char *strategy, struct read_blocks *b,
		     char *err, size_t errlen)
{
	struct blocks_reader r = { .strategy = strategy, .out = b };
	char *text = NULL, *line, *end;
	size_t len = 0, w;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = read_file(events_path, &text, &len);
	if (rc < 0) {
		(void)snprintf(err, errlen, "cannot read '%s': %s", events_path, read_file_error(rc));
		return -1;
	}
	r.open = xcalloc(BLOCKS_MAX_WORKERS, sizeof(*r.open));
	for (line = text; rc == 0 && line < text + len; line = end + 1) {
		end = memchr(line, '\n', (size_t)(text + len - line));
		if (!end)
			end = text + len;
		if (end > line)
			rc = on_line(&r, events_path, line, (size_t)(end - line), err, errlen);
	}
	/* cycles after a worker's last batch line (a worker that died) */
	for (w = 0; rc == 0 && w < BLOCKS_MAX_WORKERS; w++)
		close_block(&r, &r.open[w]);
	free(r.open);
	free(text);
	if (rc < 0)
		read_blocks_free(b);
	return rc;
}

void read_blocks_free(struct read_blocks *b)
{
	free(b->corrupt);
	free(b->reads);
	memset(b, 0, sizeof(*b));
}
