/*
 * Which paths the faults may touch. A path is a target only when the
 * folder it lies in, resolved as the kernel will resolve it ('.' and '..'
 * folded, symbolic links followed, as realpath gives it), is one of the
 * scope's folders or below one, and its last component is not a symbolic
 * link. With names (exec's default scope), the path also needs a
 * component with one of the names below that folder, so a scope folder
 * whose own path holds such a name does not make everything a target.
 *
 * Pure path logic, without libfiu: the inject library decides with it on
 * every wrapped call, the command resolves exec's --cache-dir with the
 * same rules, and the unit tests link it alone.
 */
#ifndef PYCSTORM_SCOPE_H
#define PYCSTORM_SCOPE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SCOPE_MAX_DIRS 16
#define SCOPE_MAX_NAMES 16
/* Folders remembered, direct-mapped: a worker uses one or two, a real
 * program a few dozen (the stdlib's __pycache__ folders among them). */
#define SCOPE_CACHE_SLOTS 64

/* One folder as a call spelled it, and what it resolved to. */
struct scope_slot {
	uint64_t hash;
	unsigned gen;                 /* 0: an absolute spelling; else the cwd's */
	char *text;                   /* the folder as spelled */
	char *folder;                 /* where it resolved to */
	int inside;                   /* in one of the scope's folders */
	int named;                    /* a named component below that folder */
};

struct scope {
	char *dirs[SCOPE_MAX_DIRS];   /* resolved; never "/" */
	size_t dir_len[SCOPE_MAX_DIRS];
	size_t ndirs;
	char *names[SCOPE_MAX_NAMES];
	size_t name_len[SCOPE_MAX_NAMES];
	size_t nnames;
	/* Taken with an exchange, never waited for: a thread (or a signal
	 * handler) that finds it taken resolves without the table. */
	atomic_int locked;
	struct scope_slot slots[SCOPE_CACHE_SLOTS];
};

/*
 * Where path is, or would be once created: realpath's answer when it
 * exists; otherwise that of its longest existing ancestor with the rest
 * appended, '.' and '..' folded. A relative path is taken against the
 * current folder. 0 when path exists, 1 when part of it does not yet,
 * -errno when it cannot be resolved (ENOTDIR below a file, EACCES, ELOOP,
 * ENAMETOOLONG).
 */
int scope_resolve(const char *path, char *out, size_t size);

/* Fill sc from ':'-separated lists (names may be NULL: no names rule).
 * Folders that cannot be resolved, or resolve to "/", are left out: they
 * could only widen the scope. Returns how many were left out. */
size_t scope_init(struct scope *sc, const char *dirs, const char *names);
void scope_release(struct scope *sc);

/*
 * Is path a target? gen identifies the current folder for a relative
 * path (the caller changes it when the current folder changes; it is
 * ignored for an absolute path). On 1, out holds the resolved path
 * (the folder resolved, then the last component as given); 0: not a
 * target, out undefined.
 */
int scope_target(struct scope *sc, unsigned gen, const char *path, char *out, size_t size);

/* Forget every remembered folder (tests; a caller that knows better). */
void scope_forget(struct scope *sc);

#endif
