/*
 * The outcome classes every cycle is sorted into, as README.md's "Outcome
 * classes" table describes them. One list, expanded into the enum and the
 * name table, so a new class is one line.
 *
 * Corruption is what a reader whose header check passed meets: bad_marshal
 * and eof (the import fails), interpreter_crash (running the code killed
 * the interpreter: a signal or a fatal error) and code_error (SystemError
 * while running code that unmarshalled). leftover_temp is not corruption:
 * a write left a temporary file behind (mypy #3215's consequence), which
 * fills a disk but breaks no import. interrupted is a run we stopped
 * (Ctrl-C, SIGTERM): no verdict, out of every rate. New classes go at the end, so the
 * numbers in a worker's records keep their meaning.
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
	X(WORKER_TIMEOUT, "worker_timeout")                                  \
	X(INTERPRETER_CRASH, "interpreter_crash")                            \
	X(CODE_ERROR, "code_error")                                          \
	X(LEFTOVER_TEMP, "leftover_temp")                                    \
	X(INTERRUPTED, "interrupted")

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
	return o == OUTCOME_BAD_MARSHAL || o == OUTCOME_EOF || o == OUTCOME_INTERPRETER_CRASH ||
	       o == OUTCOME_CODE_ERROR;
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
