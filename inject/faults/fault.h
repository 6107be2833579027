/*
 * Faults: one file each (fault-*.c) exporting one `const struct fault_info`,
 * listed once in FAULT_LIST. A fault has a libfiu failure point under
 * pycstorm/ (or, for `fiu`, one of libfiu's own), a parameter table that
 * drives both the spec parser and `pycstorm list faults`, and hooks the
 * preload library calls around the system calls it wraps. Its parameters
 * land in its own typed struct (fault_spec.u.<fault>), choices as the
 * values its table gives them, so a caller reads spec->u.power_cut.model,
 * never a slot by position.
 *
 * To add a fault: a fault-NAME.c with its table and hooks, its params
 * struct in the union below, and one line in FAULT_LIST.
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

#include "registry.h"
#include "rollback.h"

enum param_kind {
	P_PROB,        /* a probability, 0..1: double */
	P_FRACTION,    /* a fraction in (0, 1), or "random" (stored as -1): double */
	P_RANGE,       /* a duration "5ms" or a range "1ms..500ms": struct ns_range */
	P_COUNT,       /* a whole number >= 1: unsigned */
	P_CHOICE,      /* one word of the choices: int, that word's value */
	P_MASK,        /* one or more words, joined by '|': unsigned, their values or'ed */
	P_NAME,        /* free text without ',' (a libfiu point name): char[FAULT_NAME_MAX] */
};

struct fault_spec;

/* A word a P_CHOICE or P_MASK parameter accepts, and what it stands for. */
struct fault_choice {
	const char *word;
	int value;
};

struct fault_param {
	const char *name;
	enum param_kind kind;
	size_t offset;           /* where in struct fault_spec it goes (a typed field) */
	const char *fallback;    /* default, parsed like a given value; NULL: required */
	const struct fault_choice *choices;  /* P_CHOICE / P_MASK; ends with { NULL } */
	const char *help;
};

/* What the preload library tells a hook about the call being wrapped. */
enum inject_op { IOP_OPEN, IOP_WRITE, IOP_CLOSE, IOP_FSYNC, IOP_RENAME, IOP_UNLINK };

struct inject_call {
	enum inject_op op;
	int fd;                  /* write, close, fsync: the descriptor */
	const char *path;        /* absolute; the source for rename */
	const char *dst;         /* rename: the destination (absolute) */
	int open_flags;          /* open: its flags; close: those it was opened with */
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

/* A duration or a range of them, in nanoseconds; lo <= hi. */
struct ns_range {
	uint64_t lo, hi;
};

#define FAULT_NAME_MAX 128

/*
 * Each fault's parameters, typed. The fault's own file (fault-*.c) lists
 * them in its parameter table, which says where each one goes; nothing
 * else decodes a spec.
 */
enum write_error_op { WRITE_ERROR_ON_WRITE = 1, WRITE_ERROR_ON_CLOSE = 2, WRITE_ERROR_ON_FSYNC = 4 };
enum delay_when { DELAY_BEFORE = 1, DELAY_AFTER = 2, DELAY_BOTH = 3 };
enum delay_op { DELAY_RENAME = 1, DELAY_UNLINK = 2 };
enum lock_share { SHARE_DELETE, SHARE_NONE };
enum crash_at { CRASH_AFTER_WRITE, CRASH_BEFORE_RENAME, CRASH_AFTER_RENAME };

struct short_write_params {
	double fraction;         /* share of the bytes kept; -1: random */
};

struct write_error_params {
	unsigned errnos;         /* bits of the errno choices: the errors to pick from */
	unsigned on;             /* enum write_error_op bits */
};

struct rename_delay_params {
	struct ns_range delay;
	enum delay_when when;
	unsigned ops;            /* enum delay_op bits */
};

struct held_lock_params {
	unsigned holders;        /* lock-holder processes per strategy */
	struct ns_range hold;    /* how long a holder keeps a file */
	struct ns_range gap;     /* how long it waits before the next one */
	enum lock_share share;
	double grab;             /* chance a file the program wrote is held at its close */
};

struct crash_params {
	enum crash_at at;
	unsigned n;              /* CRASH_AFTER_WRITE: which write of the cycle */
};

struct power_cut_params {
	struct ns_range at;      /* how long workers write before each cut */
	enum crash_model model;
	unsigned sector;         /* bytes: 4096 or 512 */
	double persist;          /* chance an unsynced sector survives anyway */
};

/* exact: what happens at the chosen call. */
enum exact_do {
	EXACT_TRACE,             /* nothing fails: every call is written to the trace */
	EXACT_SHORT,             /* a write keeps only `keep` bytes */
	EXACT_ENOSPC, EXACT_EIO, EXACT_EDQUOT, EXACT_EACCES, EXACT_EPERM,
	EXACT_CRASH_BEFORE,      /* SIGKILL just before the call */
	EXACT_CRASH_AFTER,       /* SIGKILL just after it */
};
/* exact's keep= words that are not a byte count. */
#define EXACT_KEEP_HALF (-1)
#define EXACT_KEEP_ONE_SHORT (-2)
/* The file, in the state folder, that do=trace appends to. */
#define EXACT_TRACE_FILE "calls.trace"

struct exact_params {
	unsigned call;           /* which call on a cache file in the cycle, from 1 */
	enum exact_do what;
	int keep;                /* do=short: bytes kept, or EXACT_KEEP_* */
};

struct fiu_params {
	char point[FAULT_NAME_MAX];   /* one of libfiu's own points */
};

struct fault_spec {
	const struct fault_info *info;
	char text[256];          /* the spec as given, for logs and summaries */
	double p;                /* the chance that point fires when asked (0: no p=) */
	union {
		struct short_write_params short_write;
		struct write_error_params write_error;
		struct rename_delay_params rename_delay;
		struct held_lock_params held_lock;
		struct crash_params crash;
		struct power_cut_params power_cut;
		struct fiu_params fiu;
		struct exact_params exact;
	} u;                     /* the member named after info */
};

#define FAULT_LIST(X)                                                        \
	X(short_write)                                                       \
	X(write_error)                                                       \
	X(rename_delay)                                                      \
	X(held_lock)                                                         \
	X(crash)                                                             \
	X(power_cut)                                                         \
	X(fiu)                                                               \
	X(exact)

#define X(id) extern const struct fault_info fault_##id;
FAULT_LIST(X)
#undef X

REGISTRY_DECLARE(fault_info, fault)

#define FAULT_MAX_SPECS 16

/* Parse one spec; on error fill err with one line naming the bad part. */
int fault_parse(const char *text, struct fault_spec *out, char *err, size_t errlen);
/* Parse ';'-separated specs (how they travel in PYCSTORM_FAULTS); at most
 * one per fault. Returns the number parsed, or -1 with err filled. */
int fault_parse_list(const char *text, struct fault_spec *out, size_t max,
		     char *err, size_t errlen);
/* The libfiu point spec arms: its fault's, or for `fiu` the one it names. */
const char *fault_point(const struct fault_spec *spec);

/* The value of word among param's choices, or -1 when it is not one. */
int fault_choice_value(const struct fault_info *info, const char *param, const char *word);
/* param's choices as "a|b|c", into buf. */
void fault_choice_words(const struct fault_param *param, char *buf, size_t size);

/* Environment the preload library reads. */
#define INJECT_ENV_FAULTS "PYCSTORM_FAULTS"
#define INJECT_ENV_DIRS "PYCSTORM_INJECT_DIRS"
/* Optional: a path must also have a component with one of these names. */
#define INJECT_ENV_NAMES "PYCSTORM_INJECT_NAMES"
#define INJECT_ENV_ROOT "PYCSTORM_CACHE_ROOT"
#define INJECT_ENV_SEED "PYCSTORM_INJECT_SEED"
#define INJECT_ENV_WORKER "PYCSTORM_WORKER"
#define INJECT_ENV_STATE "PYCSTORM_STATE_DIR"
/* Optional: record complete write streams there (inject/preload/written.h),
 * faults or not. */
#define INJECT_ENV_WRITTEN "PYCSTORM_WRITTEN_DIR"

#endif
