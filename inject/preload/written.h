/*
 * What a program wrote to a cache file, as one digest per complete write
 * stream: the bytes it asked write() to put there, in order, from offset 0
 * to close(). exec's judge compares a .pyc's final bytes with them: a file
 * equal to a stream its own writer made is an intact image, so the
 * compile comparison (which exists to catch damage that still unmarshals)
 * has nothing to find in it.
 *
 * A stream is kept only when it is plain: opened for writing without
 * O_APPEND, written with write() alone (no pwrite, no seek elsewhere, no
 * truncate), and closed, successfully, by the process that opened it.
 * Anything else records nothing, so a bookkeeping gap can only make the
 * judge do its full check, never skip it. Bytes a fault shortened or
 * refused still count as asked for: the file then differs from the stream.
 *
 * The digest is two CRC-32s (the IEEE one, as Python's binascii.crc32),
 * one over the bytes at even offsets and one over the odd ones, plus the
 * length: 64 bits that every Python the judge runs under computes at C
 * speed on the bytes it actually reads.
 *
 * Records go to DIR/written-PID, one line per stream, appended with raw
 * system calls: "LENGTH EVEN ODD PATH\n" (decimal, 8 hex digits twice,
 * the resolved path the stream was opened at).
 */
#ifndef PYCSTORM_WRITTEN_H
#define PYCSTORM_WRITTEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct written_stream {
	pid_t owner;        /* the process that opened it; 0: not plain, keep nothing */
	uint64_t length;    /* bytes asked for so far: where the next write lands */
	uint32_t crc[2];    /* running CRC-32 state over even and odd offsets */
};

/* A stream opened with flags by this process. */
void written_open(struct written_stream *w, int flags);
/* count bytes asked for at the stream's end. */
void written_add(struct written_stream *w, const void *buf, size_t count);
/* The descriptor's offset is now offset: anywhere but the end spoils it. */
void written_moved(struct written_stream *w, int64_t offset);
/* Something other than a plain write changed the file through it. */
void written_spoil(struct written_stream *w);
/* The stream was closed without error: append its record for path to
 * dir, when it is plain, non-empty and this process opened it. */
void written_close(struct written_stream *w, const char *dir, const char *path);
/* The digest of bytes read back, as a record gives it: crc[0] over the
 * even offsets, crc[1] over the odd ones (exec's intact check). */
void written_digest(const void *buf, size_t len, uint32_t crc[2]);

#endif
