/*
 * Which paths the faults may touch; see scope.h.
 *
 * The inject library asks on every open, rename and unlink, thousands of
 * times a second for the same __pycache__, so the resolved folder is
 * remembered by its spelling (plus, for a relative one, the current
 * folder's generation): a repeated folder costs a hash and a string
 * compare, and only a path found inside the scope costs one lstat() for
 * its last component. A folder that does not exist yet is resolved
 * again on every call until it does, so a cache created later is found
 * where it really is.
 *
 * It runs inside the programs under test: it never exits, never prints,
 * and everything it holds lives in the struct scope it is given.
 */
#include "scope.h"

#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- resolving ------------------------------------------------------------- */

/* Append rest's components to the resolved folder in out, '.' dropped and
 * '..' taking one off (never above "/"). 0 or -ENAMETOOLONG. */
static int append_lexically(char *out, size_t size, const char *rest)
{
	size_t len = strlen(out), n;
	const char *c = rest, *end;
	int rc = 0;

	while (*c && rc == 0) {
		end = strchrnul(c, '/');
		n = (size_t)(end - c);
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (len > 1 && out[len - 1] != '/')
				len--;
			len = len > 1 ? len - 1 : 1;
			out[len] = '\0';
		} else if (n && !(n == 1 && c[0] == '.')) {
			if (len + (len > 1) + n >= size) {
				rc = -ENAMETOOLONG;
			} else {
				if (len > 1)
					out[len++] = '/';
				memcpy(out + len, c, n);
				len += n;
				out[len] = '\0';
			}
		}
		c = *end ? end + 1 : end;
	}
	return rc;
}

/* The end of the component before end in w: the cut that drops it. */
static size_t drop_last(const char *w, size_t end)
{
	while (end > 0 && w[end - 1] == '/')
		end--;
	while (end > 0 && w[end - 1] != '/')
		end--;
	while (end > 1 && w[end - 1] == '/')
		end--;
	return end;
}

int scope_resolve(const char *path, char *out, size_t size)
{
	char w[PATH_MAX], real[PATH_MAX];
	size_t n = strlen(path), end = n;
	int rc = 0, found = 0;
	struct stat st;

	if (!n || n >= sizeof(w))
		return n ? -ENAMETOOLONG : -ENOENT;
	memcpy(w, path, n + 1);
	/* Cut components off the end until what is left exists; only a
	 * missing one is cut, any other failure is the answer. A dangling
	 * symbolic link is not missing: what it will point to is unknown. */
	while (!found && rc == 0) {
		char save = w[end];
		w[end] = '\0';
		found = realpath(end ? w : ".", real) != NULL;
		if (!found)
			rc = errno != ENOENT || end == 0 ? -errno : lstat(w, &st) == 0 ? -ENOENT : 0;
		w[end] = save;
		if (!found && rc == 0)
			end = drop_last(w, end);
	}
	if (rc == 0 && strlen(real) >= size)
		rc = -ENAMETOOLONG;
	if (rc == 0) {
		strcpy(out, real);
		rc = append_lexically(out, size, w + end);
	}
	return rc < 0 ? rc : end < n;
}

/* ---- the scope ------------------------------------------------------------- */

/* A ':'-separated list into malloc'd items; returns how many. */
static size_t split_list(const char *list, char **items, size_t *lens, size_t max)
{
	const char *c = list, *end;
	size_t n = 0;

	while (c && *c && n < max) {
		end = strchrnul(c, ':');
		if (end > c && (items[n] = strndup(c, (size_t)(end - c))) != NULL) {
			lens[n] = (size_t)(end - c);
			n++;
		}
		c = *end ? end + 1 : end;
	}
	return n;
}

size_t scope_init(struct scope *sc, const char *dirs, const char *names)
{
	char *given[SCOPE_MAX_DIRS], real[PATH_MAX];
	size_t lens[SCOPE_MAX_DIRS], n, i, dropped = 0;

	memset(sc, 0, sizeof(*sc));
	n = split_list(dirs, given, lens, SCOPE_MAX_DIRS);
	for (i = 0; i < n; i++) {
		if (scope_resolve(given[i], real, sizeof(real)) >= 0 && strcmp(real, "/") &&
		    (sc->dirs[sc->ndirs] = strdup(real)) != NULL)
			sc->dir_len[sc->ndirs++] = strlen(real);
		else
			dropped++;
		free(given[i]);
	}
	sc->nnames = split_list(names, sc->names, sc->name_len, SCOPE_MAX_NAMES);
	return dropped;
}

void scope_forget(struct scope *sc)
{
	size_t i;

	for (i = 0; i < SCOPE_CACHE_SLOTS; i++) {
		free(sc->slots[i].text);
		free(sc->slots[i].folder);
		memset(&sc->slots[i], 0, sizeof(sc->slots[i]));
	}
}

void scope_release(struct scope *sc)
{
	size_t i;

	scope_forget(sc);
	for (i = 0; i < sc->ndirs; i++)
		free(sc->dirs[i]);
	for (i = 0; i < sc->nnames; i++)
		free(sc->names[i]);
	memset(sc, 0, sizeof(*sc));
}

static int is_name(const struct scope *sc, const char *c, size_t len)
{
	size_t i;
	int found = 0;

	for (i = 0; i < sc->nnames && !found; i++)
		found = len == sc->name_len[i] && !memcmp(c, sc->names[i], len);
	return found;
}

static int has_named_component(const struct scope *sc, const char *rest)
{
	const char *c = rest, *end;
	int found = 0;

	while (*c && !found) {
		end = strchrnul(c, '/');
		found = is_name(sc, c, (size_t)(end - c));
		c = *end ? end + 1 : end;
	}
	return found;
}

/* Is the resolved folder one of the scope's or below one, and does it
 * have a named component below that one? */
static void judge_folder(const struct scope *sc, const char *folder, int *inside, int *named)
{
	size_t i, len;

	*inside = *named = 0;
	for (i = 0; i < sc->ndirs; i++) {
		len = sc->dir_len[i];
		if (strncmp(folder, sc->dirs[i], len) || (folder[len] && folder[len] != '/'))
			continue;
		*inside = 1;
		*named |= has_named_component(sc, folder + len + (folder[len] == '/'));
	}
}

/* ---- the remembered folders ------------------------------------------------ */

static int take(struct scope *sc)
{
	return atomic_exchange_explicit(&sc->locked, 1, memory_order_acquire) == 0;
}

static void give_back(struct scope *sc)
{
	atomic_store_explicit(&sc->locked, 0, memory_order_release);
}

/* The remembered answer for text: 1 and folder filled, or 0. */
static int recall(struct scope *sc, uint64_t h, unsigned gen, const char *text,
		  char *folder, size_t size, int *inside, int *named)
{
	struct scope_slot *s = &sc->slots[h % SCOPE_CACHE_SLOTS];
	int hit;

	if (!take(sc))
		return 0;
	hit = s->text && s->hash == h && s->gen == gen && !strcmp(s->text, text) &&
	      strlen(s->folder) < size;
	if (hit) {
		strcpy(folder, s->folder);
		*inside = s->inside;
		*named = s->named;
	}
	give_back(sc);
	return hit;
}

static void remember(struct scope *sc, uint64_t h, unsigned gen, const char *text,
		     const char *folder, int inside, int named)
{
	struct scope_slot *s = &sc->slots[h % SCOPE_CACHE_SLOTS];
	char *t, *f;

	if (!take(sc))
		return;
	t = strdup(text);
	f = strdup(folder);
	if (t && f) {
		free(s->text);
		free(s->folder);
		*s = (struct scope_slot){ .hash = h, .gen = gen, .text = t, .folder = f,
					  .inside = inside, .named = named };
		t = f = NULL;
	}
	free(t);
	free(f);
	give_back(sc);
}

/* The folder text resolved and judged, from the table when it is there.
 * 0, or -errno when it cannot be resolved. */
static int folder_of(struct scope *sc, unsigned gen, const char *text, char *folder,
		     size_t size, int *inside, int *named)
{
	uint64_t h = hash_fnv1a(HASH_FNV1A_INIT ^ gen, text, strlen(text));
	int rc = 0;

	if (recall(sc, h, gen, text, folder, size, inside, named))
		return 0;
	rc = scope_resolve(text, folder, size);
	if (rc >= 0)
		judge_folder(sc, folder, inside, named);
	/* Only a folder that exists is remembered: one that does not yet may
	 * still appear as a symbolic link to anywhere. */
	if (rc == 0)
		remember(sc, h, gen, text, folder, *inside, *named);
	return rc < 0 ? rc : 0;
}

/* ---- the decision ---------------------------------------------------------- */

int scope_target(struct scope *sc, unsigned gen, const char *path, char *out, size_t size)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	size_t dlen, flen;
	int inside = 0, named = 0, target;
	struct stat st;

	if (path[0] == '/')
		gen = 0;
	/* "x/", "x/." and "x/..": the folder itself is the target. */
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		name = "";
	dlen = !*name ? strlen(path) : !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
	if (dlen >= sizeof(dir) || !*path)
		return 0;
	memcpy(dir, dlen ? path : ".", dlen ? dlen : 1);
	dir[dlen ? dlen : 1] = '\0';
	target = folder_of(sc, gen, dir, out, size, &inside, &named) == 0 && inside &&
		 (!sc->nnames || named || is_name(sc, name, strlen(name)));
	/* A symbolic link as the last component may point anywhere: the call
	 * goes through it untouched. */
	if (target && *name && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		target = 0;
	flen = target ? strlen(out) : 0;
	if (target && *name && flen + 1 + strlen(name) >= size)
		target = 0;
	if (target && *name) {
		if (flen > 1)
			out[flen++] = '/';
		strcpy(out + flen, name);
	}
	return target;
}
