/*
 * Digests of complete write streams; see written.h. Runs inside the
 * user's program: no allocation, no stdio, and the record file is opened,
 * appended to and closed with raw system calls, so no wrapper (ours or a
 * user's preload) sees it and no descriptor of ours outlives the call.
 */
#include "written.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CRC32_POLY 0xedb88320u   /* IEEE 802.3, bit-reversed, as zlib's */

/* crc_table[0] is the byte-at-a-time table; crc_table[k] advances a CRC
 * over a byte followed by k zero bytes, so four bytes of one chain fold in
 * with four lookups (slicing by four). */
static uint32_t crc_table[4][256];
static int crc_ready;

/* The tables are a pure function of the polynomial: two threads filling
 * them at once write the same values. */
static void crc_init(void)
{
	uint32_t c;
	unsigned i, k;

	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = (c & 1) ? CRC32_POLY ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (k = 1; k < 4; k++)
		for (i = 0; i < 256; i++)
			crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
					  crc_table[0][crc_table[k - 1][i] & 0xff];
	crc_ready = 1;
}

static uint32_t crc_byte(uint32_t c, unsigned char b)
{
	return crc_table[0][(c ^ b) & 0xff] ^ (c >> 8);
}

/* Four bytes of one chain, a b c d in order, folded into c. */
static uint32_t crc_four(uint32_t c, const unsigned char *p, size_t stride)
{
	c ^= (uint32_t)p[0] | (uint32_t)p[stride] << 8 | (uint32_t)p[2 * stride] << 16 |
	     (uint32_t)p[3 * stride] << 24;
	return crc_table[3][c & 0xff] ^ crc_table[2][(c >> 8) & 0xff] ^
	       crc_table[1][(c >> 16) & 0xff] ^ crc_table[0][c >> 24];
}

/* count bytes at stream offset at: even offsets into crc[0], odd into
 * crc[1]; eight at a time (four per chain), the rest one by one. */
static void crc_update(uint32_t crc[2], uint64_t at, const unsigned char *p, size_t count)
{
	size_t i = 0;

	if ((at & 1) && count) {
		crc[1] = crc_byte(crc[1], p[0]);
		i = 1;
	}
	for (; i + 8 <= count; i += 8) {
		crc[0] = crc_four(crc[0], p + i, 2);
		crc[1] = crc_four(crc[1], p + i + 1, 2);
	}
	for (; i < count; i++)
		crc[(at + i) & 1] = crc_byte(crc[(at + i) & 1], p[i]);
}

void written_open(struct written_stream *w, int flags)
{
	int writes = (flags & O_ACCMODE) == O_WRONLY || (flags & O_ACCMODE) == O_RDWR;

	if (!crc_ready)
		crc_init();
	memset(w, 0, sizeof(*w));
	w->owner = writes && !(flags & O_APPEND) ? getpid() : 0;
	w->crc[0] = w->crc[1] = 0xffffffffu;
}

void written_add(struct written_stream *w, const void *buf, size_t count)
{
	if (!w->owner || !buf)
		return;
	crc_update(w->crc, w->length, buf, count);
	w->length += count;
}

void written_moved(struct written_stream *w, int64_t offset)
{
	if (offset < 0 || (uint64_t)offset != w->length)
		w->owner = 0;
}

void written_spoil(struct written_stream *w)
{
	w->owner = 0;
}

void written_close(struct written_stream *w, const char *dir, const char *path)
{
	char file[4096], line[4200];
	int fd, n;

	/* A child closing a descriptor it inherited ends nothing: its parent
	 * may still be writing. A newline in the path would split the line. */
	if (!w->owner || w->owner != getpid() || !w->length || !dir || strchr(path, '\n'))
		return;
	n = snprintf(line, sizeof(line), "%llu %08x %08x %s\n", (unsigned long long)w->length,
		     ~w->crc[0], ~w->crc[1], path);
	if (n <= 0 || (size_t)n >= sizeof(line) ||
	    (size_t)snprintf(file, sizeof(file), "%s/written-%ld", dir, (long)getpid()) >=
		    sizeof(file))
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  0600);
	if (fd < 0)
		return;
	(void)syscall(SYS_write, fd, line, (size_t)n);
	(void)syscall(SYS_close, fd);
	w->owner = 0;
}

void written_digest(const void *buf, size_t len, uint32_t crc[2])
{
	if (!crc_ready)
		crc_init();
	crc[0] = crc[1] = 0xffffffffu;
	crc_update(crc, 0, buf, len);
	crc[0] = ~crc[0];
	crc[1] = ~crc[1];
}
