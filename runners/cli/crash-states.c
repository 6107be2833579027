/*
 * The power-cut states of one traced write; see crash-states.h. Each state
 * is rebuilt from nothing: the old cache file and its source, then the
 * traced operations replayed for real, then the crash model.
 */
#include "crash-states.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int crash_copy_file(const char *from, const char *to)
{
	char *data = NULL;
	size_t len;
	struct stat st;
	struct timespec times[2];
	int rc = read_file(from, &data, &len);

	if (rc == 0 && stat(from, &st) == 0) {
		int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		rc = fd < 0 ? -errno : write_all(fd, data, len);
		times[0] = st.st_atim;
		times[1] = st.st_mtim;
		if (fd >= 0) {
			(void)futimens(fd, times);
			(void)close(fd);
		}
	}
	free(data);
	return rc;
}

/* W and S entries name the file by inode only: give them its path. */
static void name_writes(struct journal *j)
{
	size_t i, k;

	for (i = 0; i < j->n; i++) {
		if ((j->e[i].op != 'W' && j->e[i].op != 'S') || j->e[i].path)
			continue;
		for (k = 0; k < i; k++)
			if ((j->e[k].op == 'C' || j->e[k].op == 'T') && j->e[k].ino == j->e[i].ino)
				j->e[i].path = xstrdup(j->e[k].path);
	}
}

int crash_write_load(struct crash_write *w)
{
	char *data_path = xasprintf("%s/" ROLLBACK_TRACE_DATA, w->state_dir);
	int rc = rollback_load(w->state_dir, &w->trace);

	/* opened now: every state's build clears the state folder */
	w->data_fd = open(data_path, O_RDONLY | O_CLOEXEC);
	if (rc == 0 && w->trace.n == 0)
		rc = -ENODATA;
	if (rc == 0)
		name_writes(&w->trace);
	free(data_path);
	return rc;
}

void crash_write_free(struct crash_write *w)
{
	rollback_free(&w->trace);
	if (w->data_fd >= 0)
		(void)close(w->data_fd);
	w->data_fd = -1;
}

/* Replay one traced operation for real under root, keeping backups as the
 * preload library does; the entry's inode is updated to the replayed file's. */
static void replay(const struct crash_write *w, const char *root, struct journal_entry *e)
{
	char *abs = e->path ? xasprintf("%s/%s", root, e->path) : NULL;
	char *dst = e->dst ? xasprintf("%s/%s", root, e->dst) : NULL;
	char backup[4200], *buf;
	struct stat st;
	int fd;

	switch (e->op) {
	case 'C': case 'T':
		fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0 && fstat(fd, &st) == 0)
			e->ino = (unsigned long long)st.st_ino;
		if (fd >= 0)
			(void)close(fd);
		break;
	case 'W':
		buf = xmalloc((size_t)e->len);
		fd = open(abs, O_WRONLY | O_CLOEXEC);
		if (fd >= 0 && pread(w->data_fd, buf, (size_t)e->len, e->data) == e->len)
			(void)!pwrite(fd, buf, (size_t)e->len, e->off);
		if (fd >= 0 && fstat(fd, &st) == 0)
			e->ino = (unsigned long long)st.st_ino;
		if (fd >= 0)
			(void)close(fd);
		free(buf);
		break;
	case 'R':
		e->replaced = 0;
		if (lstat(dst, &st) == 0) {
			e->replaced = (unsigned long long)st.st_ino;
			rollback_backup_path(backup, sizeof(backup), w->state_dir, e->replaced);
			(void)link(dst, backup);
		}
		if (lstat(abs, &st) == 0)
			e->ino = (unsigned long long)st.st_ino;
		(void)rename(abs, dst);
		break;
	case 'S': case 'D':
		if (abs && lstat(abs, &st) == 0)
			e->ino = (unsigned long long)st.st_ino;
		break;
	case 'U':
		if (lstat(abs, &st) == 0) {
			e->ino = (unsigned long long)st.st_ino;
			rollback_backup_path(backup, sizeof(backup), w->state_dir, e->ino);
			(void)link(abs, backup);
		}
		(void)unlink(abs);
		break;
	default:
		break;
	}
	free(abs);
	free(dst);
}

/* Build one crash state under work: the old cache and its source, the
 * first k operations replayed, the model applied. */
static void build_state(const struct crash_write *w, const char *work, size_t k, long keep_meta,
			enum data_policy data, struct rollback_report *rep)
{
	struct journal prefix = { .e = xcalloc(k + 1, sizeof(struct journal_entry)), .n = k };
	char *pyc = xasprintf("%s/%s", work, w->pyc_rel), *pycache = xstrdup(pyc);
	char *src_from = xasprintf("%s/%s", w->root, w->source_rel);
	char *src = xasprintf("%s/%s", work, w->source_rel);
	struct rollback_plan plan = {
		.cache_root = work, .state_dir = w->state_dir, .scope = w->scope,
		.model = w->model, .sector = w->sector, .persist = 0.5, .seed = 1,
		.keep_meta = keep_meta, .data = data,
	};
	size_t i;

	*strrchr(pycache, '/') = '\0';
	(void)remove_tree(work);
	(void)mkdir_p(pycache, 0755);
	(void)crash_copy_file(w->old_pyc, pyc);
	(void)crash_copy_file(src_from, src);
	rollback_clear(w->state_dir);
	for (i = 0; i < k; i++) {
		prefix.e[i] = w->trace.e[i];
		replay(w, work, &prefix.e[i]);
	}
	memset(rep, 0, sizeof(*rep));
	(void)rollback_apply(&plan, &prefix, rep);
	free(prefix.e);      /* its strings belong to the trace */
	free(pyc);
	free(pycache);
	free(src_from);
	free(src);
}

size_t crash_states_walk(struct crash_write *w, const char *work, crash_state_fn fn, void *ctx)
{
	static const struct { enum data_policy data; const char *name; } variants[] = {
		{ DATA_ALL_LOST, "unsynced lost" }, { DATA_TORN, "torn" },
		{ DATA_ALL_KEPT, "unsynced kept" },
	};
	char *pyc = xasprintf("%s/%s", work, w->pyc_rel), *pycache = xstrdup(pyc);
	struct crash_state s = { .pyc = pyc, .pycache = pycache };
	struct rollback_report rep;
	size_t states = 0, v;

	*strrchr(pycache, '/') = '\0';
	for (s.after = 0; s.after <= w->trace.n; s.after++) {
		/* a first build only counts the uncommitted metadata */
		build_state(w, work, s.after, -1, DATA_ALL_KEPT, &rep);
		s.pending = rep.meta_pending;
		for (s.kept = 0; s.kept <= s.pending; s.kept++) {
			for (v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
				build_state(w, work, s.after, s.kept, variants[v].data, &rep);
				s.data = variants[v].name;
				fn(&s, ctx);
				states++;
			}
		}
	}
	free(pyc);
	free(pycache);
	return states;
}
