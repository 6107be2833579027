/*
 * libFuzzer target: the summary.json reader behind merge, compare, gate and
 * report. Any bytes must give a summary or one message, never a crash.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* memfd_create; the Makefile defines it too */
#endif
#include "summary.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int summary_load(const char *path, struct summary *s, char *err, size_t errlen);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct summary s;
	char path[64], err[1024];

	if (fd < 0)
		fd = memfd_create("summary.json", 0);
	if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	if (summary_load(path, &s, err, sizeof(err)) == 0)
		summary_free(&s);
	else if (!err[0])
		abort();   /* a rejection always says why */
	return 0;
}
