/*
 * The crash-state model; see rollback.h. It runs in the orchestrator, after
 * every worker is dead, on the real cache folder: the readers that follow
 * judge exactly the bytes this leaves.
 */
#include "rollback.h"

#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *crash_model_name(enum crash_model m)
{
	return m == MODEL_EXT4_ORDERED ? "ext4-ordered" : "writeback";
}

void rollback_backup_path(char *buf, size_t size, const char *state_dir, unsigned long long ino)
{
	(void)snprintf(buf, size, "%s/" ROLLBACK_BACKUP_PREFIX "%llu", state_dir, ino);
}

/* One journal line; 0, or -1 when it does not parse (a torn last line). */
static int parse_line(char *line, struct journal_entry *e)
{
	char path[4096] = "", dst[4096] = "";
	unsigned long long t;
	int n = 0;

	memset(e, 0, sizeof(*e));
	e->data = -1;
	if (sscanf(line, "%llu %c%n", &t, &e->op, &n) < 2)
		return -1;
	e->t = t;
	line += n;
	switch (e->op) {
	case 'C': case 'T': case 'S': case 'D': case 'U':
		if (sscanf(line, "%llu %4095s", &e->ino, path) != 2)
			return -1;
		break;
	case 'W':
		if (sscanf(line, "%llu %lld %lld %lld", &e->ino, &e->off, &e->len, &e->data) != 4)
			return -1;
		break;
	case 'R':
		if (sscanf(line, "%llu %llu %4095s %4095s", &e->ino, &e->replaced, path, dst) != 4)
			return -1;
		e->dst = xstrdup(dst);
		break;
	default:
		return -1;
	}
	e->path = path[0] ? xstrdup(path) : NULL;
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct journal_entry *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

static void load_file(const char *path, struct journal *j)
{
	char *text = NULL, *line, *save = NULL;
	size_t len;
	struct journal_entry e;

	if (read_file(path, &text, &len) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (parse_line(line, &e) < 0)
			continue;
		/* Doubling: a long run's journal holds tens of thousands of
		 * entries, and a realloc that copies (ASan's always does)
		 * would make one entry at a time quadratic. */
		if (j->n == j->cap) {
			j->cap = j->cap ? j->cap * 2 : 256;
			j->e = xrealloc(j->e, j->cap * sizeof(*j->e));
		}
		j->e[j->n++] = e;
	}
	free(text);
}

int rollback_load(const char *state_dir, struct journal *j)
{
	DIR *d = opendir(state_dir);
	struct dirent *de;
	char *path;

	memset(j, 0, sizeof(*j));
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ROLLBACK_JOURNAL_PREFIX, strlen(ROLLBACK_JOURNAL_PREFIX)))
			continue;
		path = xasprintf("%s/%s", state_dir, de->d_name);
		load_file(path, j);
		free(path);
	}
	(void)closedir(d);
	qsort(j->e, j->n, sizeof(*j->e), by_time);
	return 0;
}

void rollback_free(struct journal *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		free(j->e[i].path);
		free(j->e[i].dst);
	}
	free(j->e);
	memset(j, 0, sizeof(*j));
}

void rollback_clear(const char *state_dir)
{
	DIR *d = opendir(state_dir);
	struct dirent *de;
	char *path;

	while (d && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ROLLBACK_JOURNAL_PREFIX, strlen(ROLLBACK_JOURNAL_PREFIX)) &&
		    strncmp(de->d_name, ROLLBACK_BACKUP_PREFIX, strlen(ROLLBACK_BACKUP_PREFIX)) &&
		    strcmp(de->d_name, ROLLBACK_TRACE_DATA))
			continue;
		path = xasprintf("%s/%s", state_dir, de->d_name);
		(void)unlink(path);
		free(path);
	}
	if (d)
		(void)closedir(d);
}

/* ---- metadata ------------------------------------------------------------- */

/* An empty scope is every path below the cache root (exec's). */
static int in_scope(const struct rollback_plan *p, const char *rel)
{
	size_t n = strlen(p->scope);

	return rel && (!n || (!strncmp(rel, p->scope, n) && rel[n] == '/'));
}

static unsigned long long ino_at(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

static void restore_backup(const struct rollback_plan *p, unsigned long long ino, const char *abs)
{
	char backup[4200];

	rollback_backup_path(backup, sizeof(backup), p->state_dir, ino);
	if (ino && ino_at(abs) == 0)
		(void)link(backup, abs);
}

/* Undo one metadata operation that never reached the disk. */
static void undo(const struct rollback_plan *p, const struct journal_entry *e)
{
	char *abs = xasprintf("%s/%s", p->cache_root, e->path), *dst = NULL;

	switch (e->op) {
	case 'C':
		if (ino_at(abs) == e->ino)
			(void)unlink(abs);
		break;
	case 'U':
		restore_backup(p, e->ino, abs);
		break;
	case 'R':
		dst = xasprintf("%s/%s", p->cache_root, e->dst);
		if (ino_at(dst) == e->ino)
			(void)rename(dst, abs);      /* the temporary name comes back */
		restore_backup(p, e->replaced, dst);
		break;
	default:
		break;
	}
	free(abs);
	free(dst);
}

static int is_meta(char op)
{
	return op == 'C' || op == 'R' || op == 'U';
}

/* Undo a suffix of the metadata after the last directory fsync. */
static void roll_metadata(const struct rollback_plan *p, const struct journal *j, struct rng *rng,
			  struct rollback_report *report, char *undone)
{
	size_t i, start = 0, pending = 0, keep, seen = 0;

	for (i = 0; i < j->n; i++)
		if (j->e[i].op == 'D' && in_scope(p, j->e[i].path))
			start = i + 1;
	for (i = start; i < j->n; i++)
		pending += is_meta(j->e[i].op) && in_scope(p, j->e[i].path);
	keep = p->keep_meta < 0 ? (size_t)rng_range(rng, 0, pending)
				: ((size_t)p->keep_meta < pending ? (size_t)p->keep_meta : pending);
	report->meta_pending += (unsigned)pending;
	for (i = start; i < j->n; i++)
		if (is_meta(j->e[i].op) && in_scope(p, j->e[i].path) && seen++ >= keep)
			undone[i] = 1;
	for (i = j->n; i-- > start;) {
		if (undone[i]) {
			undo(p, &j->e[i]);
			report->meta_undone++;
		}
	}
}

/* ---- data -------------------------------------------------------------------- */

/* When did ino's data last become durable: its last fsync, or (ext4-ordered)
 * a kept rename over an existing file, which commits its data. */
static uint64_t durable_until(const struct rollback_plan *p, const struct journal *j,
			      const char *undone, unsigned long long ino)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < j->n; i++) {
		const struct journal_entry *e = &j->e[i];
		if (e->ino != ino)
			continue;
		if (e->op == 'S' || (p->model == MODEL_EXT4_ORDERED && e->op == 'R' &&
				     e->replaced && !undone[i]))
			t = e->t;
	}
	return t;
}

static int sector_survives(const struct rollback_plan *p, struct rng *rng, long long sector,
			   long long first_sector)
{
	switch (p->data) {
	case DATA_ALL_LOST: return 0;
	case DATA_ALL_KEPT: return 1;
	case DATA_TORN: return sector == first_sector;
	default: return rng_unit(rng) < p->persist;
	}
}

/* Lose what ino's unsynced writes put in the file at abs. */
static void roll_data(const struct rollback_plan *p, const struct journal *j, const char *undone,
		      struct rng *rng, unsigned long long ino, const char *abs,
		      struct rollback_report *report)
{
	static const char zeros[4096];
	uint64_t since = durable_until(p, j, undone, ino);
	long long s, first, lowest_lost = -1, size;
	struct stat st;
	size_t i;
	int fd = open(abs, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			(void)close(fd);
		return;
	}
	size = st.st_size;
	for (i = 0; i < j->n; i++) {
		const struct journal_entry *e = &j->e[i];
		if (e->op != 'W' || e->ino != ino || e->t <= since)
			continue;
		first = e->off / p->sector * p->sector;
		for (s = first; s < e->off + e->len && s < size; s += p->sector) {
			if (sector_survives(p, rng, s, first))
				continue;
			report->sectors_lost++;
			if (p->model == MODEL_WRITEBACK)
				(void)!pwrite(fd, zeros, (size_t)(s + p->sector <= size ? p->sector
										: size - s), s);
			else if (lowest_lost < 0 || s < lowest_lost)
				lowest_lost = s;
		}
	}
	if (lowest_lost >= 0 && lowest_lost < size && ftruncate(fd, lowest_lost) == 0)
		report->files_cut++;
	(void)close(fd);
}

static void walk_files(const struct rollback_plan *p, const struct journal *j, const char *undone,
		       struct rng *rng, const char *dir, int depth, struct rollback_report *report)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	char *path;

	while (d && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &st) < 0)
			;   /* gone since readdir: nothing to roll back */
		else if (S_ISDIR(st.st_mode) && depth > 0)
			walk_files(p, j, undone, rng, path, depth - 1, report);
		else if (S_ISREG(st.st_mode))
			roll_data(p, j, undone, rng, (unsigned long long)st.st_ino, path, report);
		free(path);
	}
	if (d)
		(void)closedir(d);
}

int rollback_apply(const struct rollback_plan *p, const struct journal *j,
		   struct rollback_report *report)
{
	char *undone = xcalloc(j->n + 1, 1), *top = *p->scope ? xasprintf("%s/%s", p->cache_root, p->scope)
								 : xstrdup(p->cache_root);
	struct rng rng;

	rng_init(&rng, p->seed);
	roll_metadata(p, j, &rng, report, undone);
	walk_files(p, j, undone, &rng, top, 4, report);
	free(undone);
	free(top);
	return 0;
}
