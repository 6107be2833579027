/*
 * Unit tests for runners/base/record.c, the one reader of the record
 * stream: records arrive whole however the bytes are split, in order; a
 * garbled stream (bad magic, a size below the header or above EVENT_MAX)
 * ends at the bad header, hands out nothing after it and reads no more;
 * end of file and an empty non-blocking pipe are told apart; and the
 * decoders of cycle text, fault points and fatal reasons.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"

struct seen {
	unsigned n;
	uint8_t kinds[16];
	uint64_t cycles[16];
	char bodies[16][64];
};

static void collect(void *ctx, const struct record *rec)
{
	struct seen *s = ctx;

	assert_true(s->n < 16);
	assert_true(rec->len < sizeof(s->bodies[0]));
	s->kinds[s->n] = rec->h.kind;
	s->cycles[s->n] = rec->h.cycle;
	memcpy(s->bodies[s->n], rec->body, rec->len);
	s->bodies[s->n][rec->len] = '\0';
	s->n++;
}

/* One record of kind with text as its body, into out; its size. */
static size_t make(uint8_t *out, uint8_t kind, uint64_t cycle, const char *text)
{
	struct event_hdr h = { .magic = EVENT_MAGIC, .kind = kind, .cycle = cycle };
	size_t len = strlen(text);

	h.size = (uint16_t)(sizeof(h) + len);
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), text, len);
	return h.size;
}

static void nonblocking_pipe(int fds[2])
{
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
}

static void whole_records_in_order(void **state)
{
	uint8_t buf[512];
	size_t n = 0;
	struct record_stream *rs = calloc(1, sizeof(*rs));
	struct seen s = { 0 };
	int fds[2];

	(void)state;
	nonblocking_pipe(fds);
	n += make(buf + n, EV_HELLO, 0, "runner=embedded");
	n += make(buf + n, EV_FAULT, 7, "worker=0 cycle=7 call=1 point=pycstorm/write/short path=x");
	n += make(buf + n, EV_BYE, 9, "");
	assert_int_equal(write(fds[1], buf, n), (ssize_t)n);
	assert_int_equal(record_drain(rs, fds[0], collect, &s), RECORD_DATA);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.kinds[0], EV_HELLO);
	assert_string_equal(s.bodies[0], "runner=embedded");
	assert_int_equal(s.kinds[1], EV_FAULT);
	assert_int_equal(s.cycles[1], 7);
	assert_int_equal(s.kinds[2], EV_BYE);
	assert_string_equal(s.bodies[2], "");
	assert_int_equal(rs->have, 0);
	/* Nothing waiting is not the end; a closed pipe is. */
	assert_int_equal(record_drain(rs, fds[0], collect, &s), RECORD_NONE);
	(void)close(fds[1]);
	assert_int_equal(record_drain(rs, fds[0], collect, &s), RECORD_END);
	assert_false(rs->garbled);
	assert_int_equal(s.n, 3);
	(void)close(fds[0]);
	free(rs);
}

/* Byte by byte: each record is handed out once, when its last byte came. */
static void split_records_wait_for_their_end(void **state)
{
	uint8_t buf[512];
	size_t n = 0, i;
	struct record_stream *rs = calloc(1, sizeof(*rs));
	struct seen s = { 0 };
	int fds[2];
	size_t first;

	(void)state;
	nonblocking_pipe(fds);
	first = make(buf, EV_CYCLE, 1, "error");
	n = first + make(buf + first, EV_CYCLE, 2, "second");
	for (i = 0; i < n; i++) {
		assert_int_equal(write(fds[1], buf + i, 1), 1);
		assert_int_equal(record_drain(rs, fds[0], collect, &s), RECORD_DATA);
		assert_int_equal(s.n, i + 1 < first ? 0 : i + 1 < n ? 1 : 2);
	}
	assert_string_equal(s.bodies[0], "error");
	assert_string_equal(s.bodies[1], "second");
	(void)close(fds[1]);
	(void)close(fds[0]);
	free(rs);
}

/* A good record, then garbage, then a good record: the stream ends at
 * the garbage; the last record is neither handed out nor read. */
static void garbled_stream_ends_there(void **state)
{
	static const struct { uint8_t magic; uint16_t size; } bad[] = {
		{ 0x00, 40 },                         /* not the magic */
		{ EVENT_MAGIC, 3 },                   /* smaller than a header */
		{ EVENT_MAGIC, EVENT_MAX + 1 },       /* larger than any record */
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		uint8_t buf[512], junk[sizeof(struct event_hdr)] = { 0 }, rest[64];
		struct event_hdr h = { .magic = bad[k].magic, .size = bad[k].size, .kind = EV_CYCLE };
		struct record_stream *rs = calloc(1, sizeof(*rs));
		struct seen s = { 0 };
		size_t n = 0, tail;
		int fds[2];

		nonblocking_pipe(fds);
		n += make(buf + n, EV_CYCLE, 1, "before");
		memcpy(junk, &h, sizeof(h));
		memcpy(buf + n, junk, sizeof(junk));
		n += sizeof(junk);
		assert_int_equal(write(fds[1], buf, n), (ssize_t)n);
		assert_int_equal(record_drain(rs, fds[0], collect, &s), RECORD_END);
		assert_true(rs->garbled);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.bodies[0], "before");
		/* A good record after it is not read from the pipe at all. */
		tail = make(buf, EV_CYCLE, 2, "after");
		assert_int_equal(write(fds[1], buf, tail), (ssize_t)tail);
		assert_int_equal(record_drain(rs, fds[0], collect, &s), RECORD_END);
		assert_int_equal(s.n, 1);
		assert_int_equal(read(fds[0], rest, sizeof(rest)), (ssize_t)tail);
		/* A new writer starts clean. */
		record_stream_reset(rs);
		assert_false(rs->garbled);
		assert_int_equal(write(fds[1], buf, tail), (ssize_t)tail);
		assert_int_equal(record_drain(rs, fds[0], collect, &s), RECORD_DATA);
		assert_int_equal(s.n, 2);
		assert_string_equal(s.bodies[1], "after");
		(void)close(fds[1]);
		(void)close(fds[0]);
		free(rs);
	}
}

static struct record text_record(uint8_t kind, const char *text, size_t len)
{
	struct record rec = { .h = { .magic = EVENT_MAGIC, .kind = kind }, .len = len };

	rec.body = (const uint8_t *)text;
	rec.h.size = (uint16_t)(sizeof(rec.h) + len);
	return rec;
}

static void cycle_text(void **state)
{
	static const char both[] = "EOFError: marshal data too short\0py33-atomic-eof-0-w1-c2";
	struct record rec = text_record(EV_CYCLE, both, sizeof(both) - 1);
	struct record_cycle c;

	(void)state;
	record_cycle_text(&rec, &c);
	assert_int_equal(c.error_len, strlen("EOFError: marshal data too short"));
	assert_memory_equal(c.error, "EOFError: marshal data too short", c.error_len);
	assert_int_equal(c.evidence_len, strlen("py33-atomic-eof-0-w1-c2"));
	assert_memory_equal(c.evidence, "py33-atomic-eof-0-w1-c2", c.evidence_len);
	/* The error alone, with and without its NUL. */
	rec = text_record(EV_CYCLE, "stale", 5);
	record_cycle_text(&rec, &c);
	assert_int_equal(c.error_len, 5);
	assert_int_equal(c.evidence_len, 0);
	rec = text_record(EV_CYCLE, "stale", 6);
	record_cycle_text(&rec, &c);
	assert_int_equal(c.error_len, 5);
	assert_int_equal(c.evidence_len, 0);
}

static void fault_points(void **state)
{
	static const char line[] = "worker=1 cycle=3 call=2 point=pycstorm/crash path=a/b.pyc at=after-write";
	static const char last[] = "worker=1 cycle=3 call=2 point=pycstorm/crash";
	static const char longer[] = "worker=1 point=pycstorm/crashes path=x";
	static const char inside[] = "worker=1 checkpoint=pycstorm/crash path=x";
	struct record rec;
	const char *p;
	size_t len;

	(void)state;
	rec = text_record(EV_FAULT, line, strlen(line));
	assert_true(record_fault_point(&rec, &p, &len));
	assert_int_equal(len, strlen("pycstorm/crash"));
	assert_memory_equal(p, "pycstorm/crash", len);
	assert_true(record_fault_is(&rec, "pycstorm/crash"));
	assert_false(record_fault_is(&rec, "pycstorm/cras"));
	rec = text_record(EV_FAULT, last, strlen(last));
	assert_true(record_fault_is(&rec, "pycstorm/crash"));
	rec = text_record(EV_FAULT, longer, strlen(longer));
	assert_false(record_fault_is(&rec, "pycstorm/crash"));
	rec = text_record(EV_FAULT, inside, strlen(inside));
	assert_false(record_fault_point(&rec, &p, &len));
	rec = text_record(EV_FAULT, "no fields here", 14);
	assert_false(record_fault_point(&rec, &p, &len));
}

static void fatal_reasons(void **state)
{
	static const char bad[] = EVENT_FATAL_BAD_INPUT "strategy file 'x.py' defines no write(path, data)";
	static const char other[] = "cannot compile small version 1: SyntaxError";
	struct record rec;
	const char *text;
	size_t len;

	(void)state;
	rec = text_record(EV_FATAL, bad, strlen(bad));
	assert_int_equal(record_fatal_reason(&rec, &text, &len), FATAL_BAD_INPUT);
	assert_int_equal(len, strlen("strategy file 'x.py' defines no write(path, data)"));
	assert_memory_equal(text, "strategy file 'x.py'", 20);
	rec = text_record(EV_FATAL, other, strlen(other));
	assert_int_equal(record_fatal_reason(&rec, &text, &len), FATAL_CANNOT_RUN);
	assert_int_equal(len, strlen(other));
	assert_ptr_equal(text, other);
	rec = text_record(EV_FATAL, "bad", 3);
	assert_int_equal(record_fatal_reason(&rec, &text, &len), FATAL_CANNOT_RUN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_records_in_order),
		cmocka_unit_test(split_records_wait_for_their_end),
		cmocka_unit_test(garbled_stream_ends_there),
		cmocka_unit_test(cycle_text),
		cmocka_unit_test(fault_points),
		cmocka_unit_test(fatal_reasons),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
