/*
 * Write strategies: the candidates under test. Each is one file
 * (strategy-*.c) exporting one `const struct strategy_info`; the list in
 * STRATEGY_LIST below is the only place that names them all.
 *
 * A strategy gets a complete pyc image (header + marshalled code) and puts it
 * at req->path with the protocol it mirrors, through plain libc calls so the
 * inject layer sees every open, write, rename and unlink.
 */
#ifndef PYCSTORM_STRATEGY_H
#define PYCSTORM_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "registry.h"

enum write_status {
	WRITE_DONE,       /* the protocol ran to its end */
	WRITE_RAISED,     /* the protocol raised: the caller sees the error */
	WRITE_SWALLOWED,  /* it failed and said nothing: the entry is left as it was */
};

struct write_req {
	const char *path;          /* the cache file to write */
	const uint8_t *data;       /* header + marshalled code */
	size_t len;
	unsigned mode;             /* permission bits of the source file */
	uint64_t tmp_id;           /* stands in for id(path) in temporary names */
	struct rng *rng;           /* for random temporary names and backoff */
	uint64_t retry_budget_ns;  /* replace-retry: total time it may sleep */
	int err;                   /* errno of the failure, 0 if none */
	char error[320];           /* the text Python would show for it */
};

struct strategy_info {
	const char *name;
	const char *summary;       /* one line: what it does */
	const char *source;        /* the historical code it mirrors */
	enum write_status (*write)(struct write_req *req);
	const char *file;          /* a --strategy-file: the Python file, else NULL */
	const char *workload;      /* NULL: writes a cache file; "package": merges */
};

#define STRATEGY_LIST(X)                                                     \
	X(py27_import)                                                       \
	X(py27_pycompile)                                                    \
	X(py33_atomic)                                                       \
	X(checked_atomic)                                                    \
	X(loop_atomic)                                                       \
	X(fsync_atomic)                                                      \
	X(replace_retry)                                                     \
	X(skip_on_error)                                                     \
	X(native)                                                            \
	X(unlink_rename)                                                     \
	X(merge_direct)                                                      \
	X(merge_wait)

#define X(id) extern const struct strategy_info strategy_##id;
STRATEGY_LIST(X)
#undef X

REGISTRY_DECLARE(strategy_info, strategy)

/* The embedded worker owns the interpreter, so it supplies native's write. */
extern enum write_status (*strategy_native_impl)(struct write_req *req);

/* Helpers the protocol files share. */
/* Record errno e as Python's OSError text for path (and dst for renames). */
void strategy_oserror(struct write_req *req, int e, const char *path,
		      const char *dst);
/* One write() call, as FileIO.write makes it: returns its result. */
long strategy_write_once(int fd, const uint8_t *p, size_t len);
/* Loop until everything is written: 0 or -errno (-EIO when write gives 0). */
int strategy_write_loop(int fd, const uint8_t *p, size_t len);
/* Write in stdio-sized pieces (a 4 KiB FILE buffer): 0 or -errno. */
int strategy_write_chunked(int fd, const uint8_t *p, size_t len);
/* fsync the directory holding path: 0 or -errno. */
int strategy_fsync_dir(const char *path);
/* "{path}.{id}" as importlib names its temporary file. */
void strategy_tmp_name(char *buf, size_t size, const char *path, uint64_t id);

#endif
