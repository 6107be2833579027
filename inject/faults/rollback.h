/*
 * The crash-state model behind the power-cut fault. Workers journal what
 * they did to the cache (fault-power-cut.c); after the cut the orchestrator
 * loads every journal and rolls each strategy's folder to one state a real
 * filesystem may be in after losing power:
 *
 *   metadata: creates, renames and unlinks after the last fsync of a
 *     directory are in an uncommitted journal; a prefix of them survives
 *     (the rest are undone: a renamed file goes back to its temporary name
 *     and the file it replaced comes back);
 *   data: bytes written since a file's last fsync survive sector by sector
 *     (probability `persist`):
 *       writeback     a lost sector reads back as zeros, the size stays;
 *       ext4-ordered  the file is cut back before its first lost sector (data
 *                     is never exposed before it is written), and a file
 *                     renamed over an existing one has its data committed
 *                     with the rename (auto_da_alloc).
 *   An in-place truncate (py_compile's open 'wb') is treated as committed.
 */
#ifndef PYCSTORM_ROLLBACK_H
#define PYCSTORM_ROLLBACK_H

#include <stddef.h>
#include <stdint.h>

#define ROLLBACK_JOURNAL_PREFIX "journal-"
#define ROLLBACK_BACKUP_PREFIX "backup-"
#define ROLLBACK_TRACE_DATA "trace-data"
#define ROLLBACK_ENV_TRACE "PYCSTORM_TRACE"

enum crash_model { MODEL_EXT4_ORDERED, MODEL_WRITEBACK };
enum data_policy {
	DATA_RANDOM,        /* each unsynced sector survives with probability persist */
	DATA_ALL_LOST,
	DATA_ALL_KEPT,
	DATA_TORN,          /* only the first sector of each unsynced write survives */
};

struct journal_entry {
	uint64_t t;
	char op;                     /* C T W S D R U */
	unsigned long long ino;      /* R: the renamed (source) file */
	unsigned long long replaced; /* R: the file it replaced; 0 if none */
	long long off, len, data;    /* W: where, how much, and (trace mode) at what offset
					of the trace data file; -1 without it */
	char *path;                  /* relative to the cache root; R: the source */
	char *dst;                   /* R: the destination */
};

struct journal {
	struct journal_entry *e;
	size_t n, cap;
};

struct rollback_plan {
	const char *cache_root;
	const char *state_dir;
	const char *scope;           /* one strategy's folder name: entries elsewhere are ignored;
					"": everything below cache_root */
	enum crash_model model;
	unsigned sector;
	double persist;
	uint64_t seed;
	long keep_meta;              /* uncommitted metadata ops kept (a prefix); -1: random */
	enum data_policy data;
};

struct rollback_report {
	unsigned meta_pending, meta_undone, sectors_lost, files_cut;
};

void rollback_backup_path(char *buf, size_t size, const char *state_dir, unsigned long long ino);
/* Load every journal in state_dir, ordered by time. 0 or -errno. */
int rollback_load(const char *state_dir, struct journal *j);
void rollback_free(struct journal *j);
/* Roll plan->scope to a post-crash state. 0 or -errno. */
int rollback_apply(const struct rollback_plan *plan, const struct journal *j,
		   struct rollback_report *report);
/* Forget the round: journals, backups and trace data go. */
void rollback_clear(const char *state_dir);
const char *crash_model_name(enum crash_model m);

#endif
