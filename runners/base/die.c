/*
 * How a pycstorm program gives up: die() prints one line and exits with a
 * documented code, and the failure hook of the base helpers (common.h) is
 * die() too, installed before main runs. Every program links this file;
 * the inject library, which runs inside the user's process, does not (it
 * installs its own hook, preload.c), so nothing it links can exit.
 */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

const char *progname = "pycstorm";

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	(void)fprintf(stderr, "%s: %s%s\n", progname, prefix, line);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
	/* An error exit leaves the caller's memory to the kernel: _exit skips
	 * the leak check a sanitizer build runs at a normal exit. */
	(void)fflush(NULL);
	_exit(code);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

static void die_on_failure(int code, const char *message)
{
	die(code, "%s", message);
}

/* Before main, so even a program's first allocation has it. */
__attribute__((constructor)) static void die_init(void)
{
	(void)set_failure_hook(die_on_failure);
}
