/*
 * The one reader of the record stream (event.h) that workers, and the
 * inject library inside any process, write to their pipe. The orchestrator
 * and exec's rounds both read through it, so both treat a stream alike.
 *
 * The rule for a garbled stream: records are written whole (at most
 * PIPE_BUF bytes, one write each), so a header that is not a record
 * (wrong magic, a size outside [header, EVENT_MAX]) means the stream can
 * no longer be trusted. It ends there: nothing at or after the bad header
 * is handed out, nothing more is read, and the stream says it ended and
 * that it was garbled. What to do with its writer (stop it, count it) is
 * the caller's choice.
 *
 * Ownership: the caller owns the descriptor and the stream; a record's
 * body points into the stream's buffer and is valid only inside the
 * callback that receives it.
 */
#ifndef PYCSTORM_RECORD_H
#define PYCSTORM_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct record_stream {
	uint8_t buf[EVENT_MAX * 2];
	size_t have;                 /* bytes in buf, from its start */
	int garbled;                 /* it ended on something not a record */
};

struct record {
	struct event_hdr h;          /* a copy: records are packed, never cast */
	const uint8_t *body;
	size_t len;                  /* h.size less the header */
};

enum record_status {
	RECORD_END,                  /* end of file, a read error, or garbled */
	RECORD_DATA,                 /* bytes arrived; whole records were handed out */
	RECORD_NONE,                 /* nothing waiting now (EAGAIN, EINTR) */
};

typedef void record_fn(void *ctx, const struct record *rec);

/* Empty the stream, for a new writer. */
void record_stream_reset(struct record_stream *rs);
/* Read once from fd (non-blocking or not) and hand every whole record
 * that is now there to fn, in order. A garbled stream is RECORD_END from
 * then on, without reading fd again. */
enum record_status record_drain(struct record_stream *rs, int fd, record_fn *fn, void *ctx);

/* EV_CYCLE's text, "error\0evidence": the evidence runs to the end of the
 * record, and is empty when the record stops after the error. */
struct record_cycle {
	const char *error;
	size_t error_len;
	const char *evidence;
	size_t evidence_len;
};
void record_cycle_text(const struct record *rec, struct record_cycle *out);

/* EV_FAULT's text is a log line with a "point=NAME" field: the name, or
 * 0 when the line has none. */
int record_fault_point(const struct record *rec, const char **point, size_t *len);
/* Did this fault line come from failure point `point` (exactly)? */
int record_fault_is(const struct record *rec, const char *point);

/* Why a worker sent EV_FATAL. */
enum record_fatal {
	FATAL_CANNOT_RUN,            /* the machine or the build: exit 77 */
	FATAL_BAD_INPUT,             /* what it was given (a strategy file): exit 2 */
};
/* The reason, and the text without its EVENT_FATAL_BAD_INPUT prefix. */
enum record_fatal record_fatal_reason(const struct record *rec, const char **text, size_t *len);

#endif
