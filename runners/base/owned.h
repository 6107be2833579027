/*
 * Folders pycstorm owns. pycstorm writes, clears or deletes only inside a
 * folder that it created, or found empty, and marked. The marker, a file
 * named OWNED_MARKER in the folder, says what kind of folder it is, which
 * process owns it (its pid, that process's start time and the boot it ran
 * in, so that a reused pid is never taken for a live owner), when it was
 * made, whether it may go once its owner is dead, and which of its entries
 * are pycstorm's ("owns NAME" lines; "owns *" for all of them). The owner
 * holds an exclusive flock on the marker for as long as it uses the folder:
 * a second process is refused, and a folder left by a dead run can be told
 * from one in use.
 *
 * Every decision is made on the resolved location (symbolic links and
 * ".." folded, as realpath gives it, also for a folder still to be made).
 * This module knows nothing of the command line: callers word the
 * refusals around owned_problem's text.
 *
 *   pycstorm-owned 1
 *   kind run
 *   temporary 0
 *   pid 4242
 *   start 1234567
 *   boot 6c1f0e52-...
 *   created 1764590000
 *   owns summary.json
 */
#ifndef PYCSTORM_OWNED_H
#define PYCSTORM_OWNED_H

#include <stddef.h>

#define OWNED_MARKER ".pycstorm-owned"

/* id, the name in the marker, the words for a message. */
#define OWNED_KINDS(X)                                  \
	X(OWNED_RUN, "run", "run folder")               \
	X(OWNED_CACHE, "cache", "cache folder")         \
	X(OWNED_STATE, "exec-state", "exec state folder")

enum owned_kind {
#define X(id, name, words) id,
	OWNED_KINDS(X)
#undef X
};

/* owned_take's refusals, outside the errno range (as read_file's are). */
#define OWNED_NOT_EMPTY (-4201)    /* files in it, and no marker of ours */
#define OWNED_IN_USE (-4202)       /* ours, and a live process holds it: holder */
#define OWNED_OTHER_KIND (-4203)   /* ours, but of another kind: found */
#define OWNED_NOT_FOLDER (-4204)
#define OWNED_PROTECTED (-4205)    /* the root folder or the home folder */
#define OWNED_NO_NAME (-4206)      /* an empty path */

/* owned_take's flags. */
#define OWNED_CREATE 1u      /* a missing folder is made, an empty one marked */
#define OWNED_CLEAR 2u       /* a reused folder loses the entries its marker lists */
#define OWNED_TEMPORARY 4u   /* once its owner is dead, owned_sweep may remove it */

struct owned {
	char *path;              /* resolved; malloc'd, also after a refusal */
	int fd;                  /* the marker, open and locked; -1 when not held */
	enum owned_kind kind;
	long holder;             /* OWNED_IN_USE: the pid the marker names, or 0 */
	enum owned_kind found;   /* OWNED_OTHER_KIND: the kind the marker names */
};

/* Take the folder at path as kind, locked: a missing one (with
 * OWNED_CREATE) is made and marked, an empty one marked, one with our
 * marker of this kind reused. 0, -errno, or a refusal above. Call
 * owned_release (or owned_remove) afterwards, whatever it returned. */
int owned_take(struct owned *o, const char *path, enum owned_kind kind, unsigned flags);
/* A fresh folder parent/<prefix>XXXXXX, marked and locked. 0 or -errno. */
int owned_make_temp(struct owned *o, const char *parent, const char *prefix,
		    enum owned_kind kind, unsigned flags);
/* Record name (an entry of the folder, or "*") as pycstorm's. 0, -EINVAL
 * for a name that is not a plain one, or -errno. */
int owned_add(struct owned *o, const char *name);
/* Remove the whole folder (it must be held), then release it. 0 or -errno. */
int owned_remove(struct owned *o);
/* Unlock and forget the folder; what is in it stays. */
void owned_release(struct owned *o);
/* Remove the folders below parent named <prefix>... whose marker says
 * temporary and whose owner is dead; never an unmarked one, a link, or one
 * whose owner lives or holds its lock. Returns how many went. */
size_t owned_sweep(const char *parent, const char *prefix);
/* Is rc one of the refusals above (bad input, not a failing machine)? */
int owned_is_refusal(int rc);
/* The words after the folder's name: "is in use by pid 42", or strerror. */
const char *owned_problem(const struct owned *o, int rc, char *buf, size_t size);
/* "run folder", "cache folder", ... */
const char *owned_kind_words(enum owned_kind kind);

#endif
