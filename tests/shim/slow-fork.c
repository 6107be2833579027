/*
 * A test fixture, preloaded into pycstorm itself: fork() returns to the
 * parent 50 ms late, so starting many workers and lock holders takes
 * seconds and a signal can be sent while it is going on. Never installed.
 */
#include <dlfcn.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

typedef pid_t (*fork_fn)(void);

pid_t fork(void)
{
	static const struct timespec delay = { .tv_sec = 0, .tv_nsec = 50000000L };
	fork_fn real = (fork_fn)dlsym(RTLD_NEXT, "fork");
	pid_t pid = real ? real() : -1;

	if (pid > 0)
		(void)nanosleep(&delay, NULL);
	return pid;
}
