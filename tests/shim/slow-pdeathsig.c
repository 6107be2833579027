/*
 * A test fixture, preloaded into pycstorm itself: prctl(PR_SET_PDEATHSIG)
 * sleeps 0.7 s before the real call. A child pycstorm forks spends that
 * time between fork and its own signal handlers, which is where a SIGTERM
 * from its parent used to be lost (a lock holder that never stopped, and
 * an exec waiting for it forever). Never installed.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <time.h>

typedef int (*prctl_fn)(int, unsigned long, unsigned long, unsigned long, unsigned long);

/* prctl is variadic; like the C library's own, pass on four arguments. */
int prctl(int option, ...)
{
	static const struct timespec delay = { .tv_sec = 0, .tv_nsec = 700000000L };
	prctl_fn real = (prctl_fn)dlsym(RTLD_NEXT, "prctl");
	unsigned long arg[4];
	va_list ap;
	int i;

	va_start(ap, option);
	for (i = 0; i < 4; i++)
		arg[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_PDEATHSIG)
		(void)nanosleep(&delay, NULL);
	return real ? real(option, arg[0], arg[1], arg[2], arg[3]) : -1;
}
