/*
 * Small helpers shared by every pycstorm program: error reporting with the
 * documented exit codes, monotonic time, seed derivation and JSON text.
 *
 * Nothing here touches Python; the orchestrator, the lock holder and the
 * embedded worker all link it, and so does the inject library, which runs
 * inside the user's process: common.c itself never exits (see base_fail()).
 */
#ifndef PYCSTORM_COMMON_H
#define PYCSTORM_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PYCSTORM_VERSION "0.1.0"

/* Exit codes, as documented in README.md and the man page. */
enum exit_code {
	EXIT_OK = 0,          /* success, no regression, reproduced */
	EXIT_FAILED = 1,      /* regression, or reproduction failed */
	EXIT_USAGE = 2,       /* usage or input error */
	EXIT_SKIP = 77,       /* the environment cannot run the test */
	EXIT_INTERNAL = 99,   /* a bug in pycstorm */
	EXIT_INTERRUPTED = 130, /* Ctrl-C or SIGTERM: partial results written */
};

/*
 * What a helper does when it cannot go on (an allocation failed): it calls
 * the failure hook with an exit code and one line. Every pycstorm program
 * links die.c, which installs a hook that dies (prints, exits with code)
 * before main runs. The inject library links no die.c: it installs a hook
 * that returns (stop injecting, report once), and the helper then returns
 * NULL or -ENOMEM, which its callers handle. With no hook the helper just
 * returns that failure.
 */
typedef void (*failure_hook)(int code, const char *message);
/* Install hook (NULL: none); returns the one it replaces. */
failure_hook set_failure_hook(failure_hook hook);
/* Format the line and call the hook; returns when the hook returns. */
void base_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* die.c, for programs only. progname prefixes every line. */
extern const char *progname;
/* Print "pycstorm: <message>" on stderr and exit with code. */
void die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* Print "pycstorm: warning: <message>" on stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation: NULL only when the failure hook returned (see above). */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t now_ns(void);            /* CLOCK_MONOTONIC */
uint64_t wall_ns(void);           /* CLOCK_REALTIME */
void sleep_ns(uint64_t ns);

/* 64-bit FNV-1a of data, continuing from h (start with HASH_FNV1A_INIT):
 * a quick, stable hash for names, paths and cache keys, never for anything
 * chosen to collide. */
#define HASH_FNV1A_INIT 0xcbf29ce484222325ull
uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len);

/* splitmix64: the one mixing function every seed derivation goes through. */
uint64_t mix64(uint64_t x);
/* A seed for (run seed, a, b, c): distinct inputs give unrelated seeds. */
uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
/* xorshift-based generator state, seeded through mix64. */
struct rng { uint64_t s; };
void rng_init(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
double rng_unit(struct rng *r);             /* [0, 1) */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi); /* [lo, hi] */

/* Parse helpers: return 0 on success, -1 when the text is not a number. */
int parse_u64(const char *s, uint64_t *out);
int parse_double(const char *s, double *out);
/* "250ms", "2s", "1.5s", "500us", "10" (seconds): nanoseconds. */
int parse_duration_ns(const char *s, uint64_t *out);

/* JSON text: write s as a quoted, escaped JSON string. */
void json_put_string(FILE *f, const char *s);
/* Same, into buf; returns the length it needed (like snprintf). */
size_t json_escape(char *buf, size_t size, const char *s);

/* Write a whole buffer, retrying on EINTR and short writes. 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);
/* Everything pycstorm reads whole (a .pyc, a summary, a scenario) is far
 * smaller than this; anything larger is refused, not read. */
#define READ_FILE_MAX (64u << 20)
/* read_file's own refusals, outside the errno range. */
#define READ_NOT_REGULAR (-4097)
#define READ_TOO_LARGE (-4098)
/* Read a whole regular file of at most READ_FILE_MAX bytes into a malloc'd
 * buffer (NUL-terminated). A device, FIFO or folder is refused before a
 * byte is read. 0, -errno, READ_NOT_REGULAR or READ_TOO_LARGE. */
int read_file(const char *path, char **data, size_t *len);
/* The last max bytes (max <= READ_FILE_MAX) of a regular file of any size,
 * as read_file gives them: a program's output, which may be huge. */
int read_file_tail(const char *path, size_t max, char **data, size_t *len);
/* Would read_file take path? 0, or its error, with no byte read: for a file
 * that someone else (the interpreter, a worker) reads later. */
int read_file_check(const char *path);
/* The text for a read_file failure: strerror, or the refusal named. */
const char *read_file_error(int rc);
/* Write path atomically: temporary sibling, fsync, rename, fsync dir. */
int write_file_atomic(const char *path, const void *data, size_t len);
/* Should write_file_atomic fsync (the default)? Without, a file is still
 * replaced whole or not at all for every reader while the machine runs;
 * only a power cut may lose it. */
void write_files_durable(int durable);
/* fsync the folder that holds path, so a rename in it is durable; 0 or -errno. */
int fsync_parent(const char *path);
/* mkdir -p; 0 or -errno. */
int mkdir_p(const char *path, unsigned mode);
/* rm -rf that follows no symbolic link (a link is removed, never its
 * target) and stays on path's filesystem (a mount point below is left,
 * -EXDEV); 0 or -errno of the first failure. */
int remove_tree(const char *path);

#endif
