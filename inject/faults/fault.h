/*
 * Faults: one file each (fault-*.c) exporting one `const struct fault_info`,
 * listed once in FAULT_LIST. A fault has a libfiu failure point under
 * pycstorm/ (or, for `fiu`, one of libfiu's own), a parameter table that
 * drives both the spec parser and `pycstorm list faults`, and hooks the
 * preload library calls around the system calls it wraps.
 *
 * Spec syntax, as --fault and scenario `fault =` lines take it:
 *     NAME[:KEY=VALUE[,KEY=VALUE...]]
 *     short-write:p=0.05,fraction=0.5
 *     held-lock:holders=2,hold=1ms..500ms
 */
#ifndef PYCSTORM_FAULT_H
#define PYCSTORM_FAULT_H

#include <stddef.h>
#include <stdint.h>

enum param_kind {
	P_PROB,        /* a probability, 0..1 */
	P_FRACTION,    /* a fraction in (0, 1), or "random" (stored as -1) */
	P_RANGE,       /* a duration "5ms" or a range "1ms..500ms" */
	P_COUNT,       /* a whole number >= 1 */
	P_CHOICE,      /* one word of choices ("before|after|both") */
	P_MASK,        /* one or more words of choices, joined by '|' */
	P_NAME,        /* free text without ',' (a libfiu point name) */
};

struct fault_spec;

struct fault_param {
	const char *name;
	enum param_kind kind;
	size_t offset;           /* where in struct fault_spec it goes */
	const char *fallback;    /* default, parsed like a given value; NULL: required */
	const char *choices;     /* P_CHOICE / P_MASK: "a|b|c" */
	const char *help;
};

/* What the preload library tells a hook about the call being wrapped. */
enum inject_op { IOP_OPEN, IOP_WRITE, IOP_CLOSE, IOP_FSYNC, IOP_RENAME, IOP_UNLINK };

struct inject_call {
	enum inject_op op;
	int fd;                  /* write, close, fsync: the descriptor */
	const char *path;        /* absolute; the source for rename */
	const char *dst;         /* rename: the destination (absolute) */
	int open_flags;          /* open: its flags */
	size_t count;            /* write: bytes asked; a hook may lower it */
	int fail_errno;          /* set by a hook: fail the call with this */
	int lock_fd;             /* held-lock: a lock held across the call */
	long long offset;        /* pwrite: its offset; write: -1 (the descriptor's) */
	const void *buf;         /* write: the bytes */
	int existed;             /* power-cut: open found the file already there */
	unsigned long long ino;  /* power-cut: the file's inode, noted by a hook */
};

struct fault_hooks {
	void (*init)(const struct fault_spec *spec);
	/* Before the real call: may lower call->count or set call->fail_errno. */
	void (*before)(const struct fault_spec *spec, struct inject_call *call);
	/* After the real call (not run when the call was failed by a hook). */
	void (*after)(const struct fault_spec *spec, struct inject_call *call, long result);
};

struct fault_info {
	const char *name;        /* as specs name it */
	const char *point;       /* its libfiu failure point */
	const char *extra_point; /* a second point it fires, or NULL */
	const char *summary;     /* one line */
	const char *detail;      /* a paragraph for `list faults` */
	const struct fault_param *params;
	size_t nparams;
	const struct fault_hooks *hooks;   /* NULL outside the preload library */
};

struct fault_spec {
	const struct fault_info *info;
	char text[256];          /* the spec as given, for logs and summaries */
	double p;
	double fraction;
	uint64_t lo_ns, hi_ns;   /* P_RANGE pairs are stored lo then hi */
	uint64_t hold_lo_ns, hold_hi_ns;
	unsigned count;
	unsigned n;
	int choice;
	unsigned mask;
	unsigned errno_mask;
	char name[128];
};

#define FAULT_LIST(X)                                                        \
	X(short_write)                                                       \
	X(write_error)                                                       \
	X(rename_delay)                                                      \
	X(held_lock)                                                         \
	X(crash)                                                             \
	X(power_cut)                                                         \
	X(fiu)

#define X(id) extern const struct fault_info fault_##id;
FAULT_LIST(X)
#undef X

extern const struct fault_info *const fault_table[];
extern const size_t fault_count;

#define FAULT_MAX_SPECS 16

/* Parse one spec; on error fill err with one line naming the bad part. */
int fault_parse(const char *text, struct fault_spec *out, char *err, size_t errlen);
/* Parse ';'-separated specs (how they travel in PYCSTORM_FAULTS); at most
 * one per fault. Returns the number parsed, or -1 with err filled. */
int fault_parse_list(const char *text, struct fault_spec *out, size_t max,
		     char *err, size_t errlen);
const struct fault_info *fault_find(const char *name);
/* "short-write, write-error, ...", malloc'd. */
char *fault_names(void);

/* The errno choices write-error and friends accept, by bit. */
#define ERRNO_CHOICES "ENOSPC|EIO|EDQUOT"
int fault_errno_from_bit(unsigned bit);

/* Environment the preload library reads. */
#define INJECT_ENV_FAULTS "PYCSTORM_FAULTS"
#define INJECT_ENV_DIRS "PYCSTORM_INJECT_DIRS"
/* Optional: a path must also have a component with one of these names. */
#define INJECT_ENV_NAMES "PYCSTORM_INJECT_NAMES"
#define INJECT_ENV_ROOT "PYCSTORM_CACHE_ROOT"
#define INJECT_ENV_SEED "PYCSTORM_INJECT_SEED"
#define INJECT_ENV_WORKER "PYCSTORM_WORKER"
#define INJECT_ENV_STATE "PYCSTORM_STATE_DIR"

#endif
