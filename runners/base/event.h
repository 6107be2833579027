/*
 * The records a worker (and the inject library inside it) sends to the
 * orchestrator over its pipe. Every record is written with a single
 * write() of at most PIPE_BUF bytes, so it arrives whole or not at all,
 * even when the worker is killed in the middle of a cycle.
 */
#ifndef PYCSTORM_EVENT_H
#define PYCSTORM_EVENT_H

#include <stdint.h>

#define EVENT_FD_ENV "PYCSTORM_EVENT_FD"
/* The descriptor a worker (or an exec copy's inject library) writes its
 * records to, unless told otherwise: the orchestrator puts the pipe there
 * (exec's copies get a high one instead, see exec-round.c). */
#define EVENT_FD 3
#define EVENT_MAX 4096

enum event_kind {
	EV_HELLO = 1,   /* worker started: text is "key=value\n" lines */
	EV_SAMPLES,     /* a batch of struct event_sample */
	EV_CYCLE,       /* one cycle worth a line: text "error\0evidence" */
	EV_FAULT,       /* a fault fired: text is the fault log line */
	EV_BYE,         /* clean exit after the last cycle */
	EV_FATAL,       /* the worker cannot go on: text says why */
};

/* EV_FATAL text that starts with this blames what the worker was given
 * (exit 2), not the machine (exit 77); record_fatal_reason reads it. */
#define EVENT_FATAL_BAD_INPUT "bad input: "

#define EVENT_MAGIC 0xa5

struct event_hdr {
	uint16_t size;          /* whole record, header included */
	uint8_t magic;          /* EVENT_MAGIC: a garbled stream shows at once */
	uint8_t kind;
	uint8_t op;
	uint8_t outcome;
	uint8_t module;
	uint8_t pad;
	uint32_t count;         /* EV_SAMPLES: number of samples */
	uint32_t pad2;
	uint64_t cycle;
	uint64_t latency_ns;
};

/*
 * Write one record with the raw system call: no preload (ours, or libfiu's
 * that shortens every write()) may split it. Returns 0 or -errno.
 */
int event_send(int fd, const void *record, size_t size);

/* One cycle in a batch: no text, nothing to keep but its class and time. */
struct event_sample {
	uint32_t latency_lo;
	uint16_t latency_hi;
	uint8_t op;
	uint8_t outcome;
};

#define EVENT_SAMPLES_MAX \
	((EVENT_MAX - sizeof(struct event_hdr)) / sizeof(struct event_sample))

#endif
