/*
 * The outcome classes every cycle is sorted into (DESIGN.md). One list,
 * expanded into the enum and the name table, so a new class is one line.
 *
 * Corruption is bad_marshal + eof seen by a reader whose header check
 * passed: the import would fail for a user.
 */
#ifndef PYCSTORM_OUTCOME_H
#define PYCSTORM_OUTCOME_H

#define OUTCOME_LIST(X)                                                      \
	X(OK, "ok")                                                          \
	X(STALE, "stale")                                                    \
	X(MISSING, "missing")                                                \
	X(BAD_MARSHAL, "bad_marshal")                                        \
	X(EOF, "eof")                                                        \
	X(PERMISSION_ERROR, "permission_error")                              \
	X(MODULE_NOT_FOUND, "module_not_found")                              \
	X(OTHER_ERROR, "other_error")                                        \
	X(WORKER_CRASH, "worker_crash")                                      \
	X(WORKER_TIMEOUT, "worker_timeout")

enum outcome {
#define X(id, name) OUTCOME_##id,
	OUTCOME_LIST(X)
#undef X
	OUTCOME_COUNT
};

/* The operations a cycle performs. */
#define OP_LIST(X)                                                           \
	X(COMPILE, "compile")                                                \
	X(IMPORT, "import")                                                  \
	X(WRITE, "write")                                                    \
	X(RECOVER, "recover")

enum op {
#define X(id, name) OP_##id,
	OP_LIST(X)
#undef X
	OP_COUNT
};

const char *outcome_name(enum outcome o);
int outcome_from_name(const char *name);   /* -1 when unknown */
const char *op_name(enum op o);
int op_from_name(const char *name);        /* -1 when unknown */

static inline int outcome_is_corrupt(enum outcome o)
{
	return o == OUTCOME_BAD_MARSHAL || o == OUTCOME_EOF;
}

/*
 * The failures a reader keeps the bytes (or the package) of, as proof: the
 * one definition. The embedded worker keeps them, the orchestrator counts
 * them as reproduced only once they are kept, and the driver's copy is
 * generated from this function when pycstorm-driver.py is built.
 */
static inline int outcome_leaves_evidence(enum outcome o)
{
	return outcome_is_corrupt(o) || o == OUTCOME_MODULE_NOT_FOUND ||
	       o == OUTCOME_OTHER_ERROR;
}

#endif
