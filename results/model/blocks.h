/*
 * A run's reads cut into blocks, to see how far its cycles are from
 * independent trials. A block is what one worker did between two of its
 * batch lines in events.jsonl (about a second: the orchestrator writes one
 * per worker per second, and one line per failed cycle in between), so the
 * blocks of a run follow its load and scheduling over time.
 */
#ifndef PYCSTORM_BLOCKS_H
#define PYCSTORM_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

struct read_blocks {
	uint64_t *corrupt;      /* corrupt reads of each block */
	uint64_t *reads;        /* reads (import and recover cycles) of each block */
	size_t n;
};

/*
 * The blocks of strategy in a run's events.jsonl, in the order they
 * closed; blocks with no read are left out. 0, or -1 with one line in err
 * (the file cannot be read, a line is not an event); b is then empty.
 */
int read_blocks_load(const char *events_path, const char *strategy, struct read_blocks *b,
		     char *err, size_t errlen);
void read_blocks_free(struct read_blocks *b);

#endif
