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

static uint32_t crc_table[256];
static int crc_ready;

/* The table is a pure function of the polynomial: two threads filling it
 * at once write the same values. */
static void crc_init(void)
{
	uint32_t c;
	unsigned i, k;

	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = (c & 1) ? CRC32_POLY ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = 1;
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
	const unsigned char *p = buf;
	size_t i;

	if (!w->owner || !p)
		return;
	for (i = 0; i < count; i++) {
		uint32_t *c = &w->crc[(w->length + i) & 1];
		*c = crc_table[(*c ^ p[i]) & 0xff] ^ (*c >> 8);
	}
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
