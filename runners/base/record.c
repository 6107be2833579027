/*
 * The record stream reader; see record.h.
 */
#include "record.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define POINT_FIELD "point="

void record_stream_reset(struct record_stream *rs)
{
	rs->have = 0;
	rs->garbled = 0;
}

static int is_record(const struct event_hdr *h)
{
	return h->magic == EVENT_MAGIC && h->size >= sizeof(*h) && h->size <= EVENT_MAX;
}

enum record_status record_drain(struct record_stream *rs, int fd, record_fn *fn, void *ctx)
{
	struct record rec;
	size_t off = 0;
	ssize_t n;

	if (rs->garbled)
		return RECORD_END;
	/* What stays from the last read is less than one record, so there
	 * is always room for a whole one. */
	n = read(fd, rs->buf + rs->have, sizeof(rs->buf) - rs->have);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? RECORD_NONE
										 : RECORD_END;
	if (n == 0)
		return RECORD_END;
	rs->have += (size_t)n;
	while (rs->have - off >= sizeof(rec.h)) {
		memcpy(&rec.h, rs->buf + off, sizeof(rec.h));
		if (!is_record(&rec.h)) {
			rs->garbled = 1;
			rs->have = 0;
			return RECORD_END;
		}
		if (rs->have - off < rec.h.size)
			break;
		rec.body = rs->buf + off + sizeof(rec.h);
		rec.len = rec.h.size - sizeof(rec.h);
		fn(ctx, &rec);
		off += rec.h.size;
	}
	memmove(rs->buf, rs->buf + off, rs->have - off);
	rs->have -= off;
	return RECORD_DATA;
}

void record_cycle_text(const struct record *rec, struct record_cycle *out)
{
	const char *text = (const char *)rec->body;
	size_t elen = strnlen(text, rec->len);

	out->error = text;
	out->error_len = elen;
	out->evidence = elen + 1 < rec->len ? text + elen + 1 : "";
	out->evidence_len = elen + 1 < rec->len ? rec->len - elen - 1 : 0;
}

int record_fault_point(const struct record *rec, const char **point, size_t *len)
{
	const char *text = (const char *)rec->body, *end = text + rec->len, *p = text, *stop;
	size_t field = strlen(POINT_FIELD);

	/* A field starts the line or follows a space. */
	while ((p = memmem(p, (size_t)(end - p), POINT_FIELD, field)) != NULL) {
		if (p == text || p[-1] == ' ')
			break;
		p += field;
	}
	if (!p)
		return 0;
	p += field;
	stop = memchr(p, ' ', (size_t)(end - p));
	*point = p;
	*len = (size_t)((stop ? stop : end) - p);
	return 1;
}

int record_fault_is(const struct record *rec, const char *point)
{
	const char *p;
	size_t len;

	return record_fault_point(rec, &p, &len) && len == strlen(point) &&
	       memcmp(p, point, len) == 0;
}

enum record_fatal record_fatal_reason(const struct record *rec, const char **text, size_t *len)
{
	size_t prefix = strlen(EVENT_FATAL_BAD_INPUT);

	*text = (const char *)rec->body;
	*len = rec->len;
	if (rec->len >= prefix && memcmp(rec->body, EVENT_FATAL_BAD_INPUT, prefix) == 0) {
		*text += prefix;
		*len -= prefix;
		return FATAL_BAD_INPUT;
	}
	return FATAL_CANNOT_RUN;
}
