/*
 * Unit tests for the power-cut model (inject/faults/rollback.c) on real
 * folders: journals load in time order and torn lines are skipped;
 * metadata after the last directory fsync is undone from the end (a
 * rename goes back to its temporary name and the file it replaced comes
 * back from its backup); unsynced data is lost by sector, as zeros
 * (writeback) or by cutting the file (ext4-ordered); an fsync, and under
 * ext4-ordered a rename over a file, makes data durable; other strategies'
 * folders are left alone; clearing removes only the model's own files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "rollback.h"

struct fixture {
	char root[256];               /* the cache root */
	char state[300];              /* its state folder */
	char pyc[512];                /* s/__pycache__/m.pyc */
	char tmp[512];                /* s/__pycache__/m.tmp */
	struct journal j;
	struct rollback_report rep;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *t = getenv("TMPDIR");
	char dir[400];

	if (!f)
		return -1;
	(void)snprintf(f->root, sizeof(f->root), "%s/pycstorm-rollback.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(f->root))
		return -1;
	(void)snprintf(f->state, sizeof(f->state), "%s/.state", f->root);
	(void)snprintf(dir, sizeof(dir), "%s/s/__pycache__", f->root);
	(void)snprintf(f->pyc, sizeof(f->pyc), "%s/m.pyc", dir);
	(void)snprintf(f->tmp, sizeof(f->tmp), "%s/m.tmp", dir);
	if (mkdir_p(f->state, 0700) < 0 || mkdir_p(dir, 0700) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rollback_free(&f->j);
	(void)remove_tree(f->root);
	free(f);
	return 0;
}

static void put(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, len), 0);
	assert_int_equal(close(fd), 0);
}

static unsigned long long ino(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return (unsigned long long)st.st_ino;
}

/* The whole file, or NULL when it is not there. */
static char *text_of(const char *path, size_t *len)
{
	char *data = NULL;

	return read_file(path, &data, len) == 0 ? data : NULL;
}

static void journal(const struct fixture *f, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void journal(const struct fixture *f, const char *name, const char *fmt, ...)
{
	char path[400], text[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	(void)snprintf(path, sizeof(path), "%s/%s", f->state, name);
	put(path, text, (size_t)n);
}

static int apply(struct fixture *f, enum crash_model model, enum data_policy data, long keep)
{
	struct rollback_plan p = { .cache_root = f->root, .state_dir = f->state, .scope = "s",
				   .model = model, .sector = 4096, .persist = 0.5, .seed = 1,
				   .keep_meta = keep, .data = data };

	rollback_free(&f->j);
	assert_int_equal(rollback_load(f->state, &f->j), 0);
	memset(&f->rep, 0, sizeof(f->rep));
	return rollback_apply(&p, &f->j, &f->rep);
}

static void load_orders_and_skips_torn_lines(void **state)
{
	struct fixture *f = *state;

	journal(f, "journal-100", "30 W 5 0 10 -1\n10 C 5 s/a\ngarbage\n40 R 5 0 s/a s/b\n"
				  "50 S 5 s/b\n60 X 1 s/a\n70 C 9");
	journal(f, "journal-200", "20 T 6 s/c\n");
	journal(f, "notes", "5 C 1 s/z\n");   /* not a journal */
	assert_int_equal(rollback_load(f->state, &f->j), 0);
	assert_int_equal(f->j.n, 5);
	assert_int_equal(f->j.e[0].t, 10);
	assert_int_equal(f->j.e[0].op, 'C');
	assert_string_equal(f->j.e[0].path, "s/a");
	assert_int_equal(f->j.e[1].op, 'T');
	assert_int_equal(f->j.e[1].ino, 6);
	assert_int_equal(f->j.e[2].op, 'W');
	assert_int_equal(f->j.e[2].off, 0);
	assert_int_equal(f->j.e[2].len, 10);
	assert_int_equal(f->j.e[2].data, -1);
	assert_null(f->j.e[2].path);
	assert_int_equal(f->j.e[3].op, 'R');
	assert_int_equal(f->j.e[3].ino, 5);
	assert_int_equal(f->j.e[3].replaced, 0);
	assert_string_equal(f->j.e[3].path, "s/a");
	assert_string_equal(f->j.e[3].dst, "s/b");
	assert_int_equal(f->j.e[4].op, 'S');
}

static void load_of_a_missing_folder_fails(void **state)
{
	struct fixture *f = *state;
	char missing[400];

	(void)snprintf(missing, sizeof(missing), "%s/none", f->root);
	assert_int_equal(rollback_load(missing, &f->j), -ENOENT);
	assert_int_equal(f->j.n, 0);
	assert_null(f->j.e);
}

/* py33-atomic's sequence: create the temporary file, write, fsync, rename. */
static unsigned long long atomic_write(struct fixture *f)
{
	unsigned long long x;

	put(f->tmp, "new", 3);
	x = ino(f->tmp);
	assert_int_equal(rename(f->tmp, f->pyc), 0);
	journal(f, "journal-1", "1 C %llu s/__pycache__/m.tmp\n2 W %llu 0 3 -1\n"
				"3 S %llu s/__pycache__/m.tmp\n4 R %llu 0 s/__pycache__/m.tmp "
				"s/__pycache__/m.pyc\n", x, x, x, x);
	return x;
}

static void unsynced_metadata_is_undone_from_the_end(void **state)
{
	struct fixture *f = *state;
	char *text;
	size_t len;

	(void)atomic_write(f);
	/* the rename is lost, the create kept: the temporary file is back */
	assert_int_equal(apply(f, MODEL_WRITEBACK, DATA_ALL_KEPT, 1), 0);
	assert_int_equal(f->rep.meta_pending, 2);
	assert_int_equal(f->rep.meta_undone, 1);
	assert_int_equal(access(f->pyc, F_OK), -1);
	text = text_of(f->tmp, &len);
	assert_non_null(text);
	assert_memory_equal(text, "new", 3);
	free(text);
}

static void everything_unsynced_can_go(void **state)
{
	struct fixture *f = *state;

	(void)atomic_write(f);
	assert_int_equal(apply(f, MODEL_WRITEBACK, DATA_ALL_KEPT, 0), 0);
	assert_int_equal(f->rep.meta_undone, 2);
	assert_int_equal(access(f->pyc, F_OK), -1);
	assert_int_equal(access(f->tmp, F_OK), -1);
}

static void kept_metadata_stays(void **state)
{
	struct fixture *f = *state;

	(void)atomic_write(f);
	assert_int_equal(apply(f, MODEL_WRITEBACK, DATA_ALL_KEPT, 2), 0);
	assert_int_equal(f->rep.meta_pending, 2);
	assert_int_equal(f->rep.meta_undone, 0);
	assert_int_equal(access(f->pyc, F_OK), 0);
}

static void a_folder_fsync_commits_what_came_before(void **state)
{
	struct fixture *f = *state;
	char dir[400];

	(void)atomic_write(f);
	(void)snprintf(dir, sizeof(dir), "%s/s/__pycache__", f->root);
	journal(f, "journal-2", "5 D %llu s/__pycache__\n", ino(dir));
	assert_int_equal(apply(f, MODEL_WRITEBACK, DATA_ALL_LOST, 0), 0);
	assert_int_equal(f->rep.meta_pending, 0);
	assert_int_equal(f->rep.meta_undone, 0);
	assert_int_equal(access(f->pyc, F_OK), 0);
}

static void a_replaced_file_comes_back_from_its_backup(void **state)
{
	struct fixture *f = *state;
	unsigned long long x, y;
	char backup[400], *text;
	size_t len;

	put(f->pyc, "old", 3);
	y = ino(f->pyc);
	rollback_backup_path(backup, sizeof(backup), f->state, y);
	assert_int_equal(link(f->pyc, backup), 0);
	put(f->tmp, "new", 3);
	x = ino(f->tmp);
	assert_int_equal(rename(f->tmp, f->pyc), 0);
	journal(f, "journal-1", "2 R %llu %llu s/__pycache__/m.tmp s/__pycache__/m.pyc\n", x, y);
	assert_int_equal(apply(f, MODEL_EXT4_ORDERED, DATA_ALL_KEPT, 0), 0);
	assert_int_equal(f->rep.meta_undone, 1);
	text = text_of(f->pyc, &len);
	assert_non_null(text);
	assert_int_equal(len, 3);
	assert_memory_equal(text, "old", 3);
	free(text);
	text = text_of(f->tmp, &len);
	assert_non_null(text);
	assert_memory_equal(text, "new", 3);
	free(text);
}

/* 8 KiB of 'A' in m.pyc, written and never synced. */
static unsigned long long unsynced_file(struct fixture *f)
{
	char data[8192];
	unsigned long long z;

	memset(data, 'A', sizeof(data));
	put(f->pyc, data, sizeof(data));
	z = ino(f->pyc);
	journal(f, "journal-1", "1 W %llu 0 8192 -1\n", z);
	return z;
}

static void writeback_loses_sectors_as_zeros(void **state)
{
	struct fixture *f = *state;
	char *text;
	size_t len, i;

	(void)unsynced_file(f);
	assert_int_equal(apply(f, MODEL_WRITEBACK, DATA_ALL_LOST, -1), 0);
	assert_int_equal(f->rep.sectors_lost, 2);
	assert_int_equal(f->rep.files_cut, 0);
	text = text_of(f->pyc, &len);
	assert_non_null(text);
	assert_int_equal(len, 8192);
	for (i = 0; i < len; i++)
		assert_int_equal(text[i], 0);
	free(text);
}

static void ext4_ordered_cuts_before_the_first_lost_sector(void **state)
{
	struct fixture *f = *state;
	char *text;
	size_t len;

	(void)unsynced_file(f);
	/* torn: the first sector of the write survives, the second does not */
	assert_int_equal(apply(f, MODEL_EXT4_ORDERED, DATA_TORN, -1), 0);
	assert_int_equal(f->rep.sectors_lost, 1);
	assert_int_equal(f->rep.files_cut, 1);
	text = text_of(f->pyc, &len);
	assert_non_null(text);
	assert_int_equal(len, 4096);
	assert_int_equal(text[0], 'A');
	assert_int_equal(text[4095], 'A');
	free(text);
}

static void fsync_makes_data_durable(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *text;

	journal(f, "journal-2", "2 S %llu s/__pycache__/m.pyc\n", unsynced_file(f));
	assert_int_equal(apply(f, MODEL_WRITEBACK, DATA_ALL_LOST, -1), 0);
	assert_int_equal(f->rep.sectors_lost, 0);
	text = text_of(f->pyc, &len);
	assert_non_null(text);
	assert_int_equal(len, 8192);
	assert_int_equal(text[8191], 'A');
	free(text);
}

/* ext4's auto_da_alloc: a rename over an existing file commits its data;
 * writeback has no such rule. */
static void rename_over_a_file_commits_data_only_under_ext4(void **state)
{
	struct fixture *f = *state;
	unsigned long long x;

	x = unsynced_file(f);
	journal(f, "journal-2", "2 R %llu 77 s/__pycache__/m.tmp s/__pycache__/m.pyc\n", x);
	assert_int_equal(apply(f, MODEL_EXT4_ORDERED, DATA_ALL_LOST, 1), 0);
	assert_int_equal(f->rep.meta_undone, 0);
	assert_int_equal(f->rep.sectors_lost, 0);
	assert_int_equal(apply(f, MODEL_WRITEBACK, DATA_ALL_LOST, 1), 0);
	assert_int_equal(f->rep.sectors_lost, 2);
}

static void other_strategies_are_left_alone(void **state)
{
	struct fixture *f = *state;
	char other[400], file[450], *text;
	unsigned long long q;
	size_t len;

	(void)snprintf(other, sizeof(other), "%s/other", f->root);
	assert_int_equal(mkdir_p(other, 0700), 0);
	(void)snprintf(file, sizeof(file), "%s/x.pyc", other);
	put(file, "kept", 4);
	q = ino(file);
	journal(f, "journal-1", "1 C %llu other/x.pyc\n2 W %llu 0 4 -1\n", q, q);
	assert_int_equal(apply(f, MODEL_WRITEBACK, DATA_ALL_LOST, 0), 0);
	assert_int_equal(f->rep.meta_pending, 0);
	assert_int_equal(f->rep.sectors_lost, 0);
	text = text_of(file, &len);
	assert_non_null(text);
	assert_memory_equal(text, "kept", 4);
	free(text);
}

static void clear_removes_only_its_own_files(void **state)
{
	struct fixture *f = *state;
	char path[400];

	journal(f, "journal-1", "1 C 1 s/a\n");
	journal(f, ROLLBACK_BACKUP_PREFIX "5", "x");
	journal(f, ROLLBACK_TRACE_DATA, "x");
	journal(f, "keep.txt", "x");
	rollback_clear(f->state);
	(void)snprintf(path, sizeof(path), "%s/journal-1", f->state);
	assert_int_equal(access(path, F_OK), -1);
	(void)snprintf(path, sizeof(path), "%s/" ROLLBACK_BACKUP_PREFIX "5", f->state);
	assert_int_equal(access(path, F_OK), -1);
	(void)snprintf(path, sizeof(path), "%s/" ROLLBACK_TRACE_DATA, f->state);
	assert_int_equal(access(path, F_OK), -1);
	(void)snprintf(path, sizeof(path), "%s/keep.txt", f->state);
	assert_int_equal(access(path, F_OK), 0);
}

static void names(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(crash_model_name(MODEL_EXT4_ORDERED), "ext4-ordered");
	assert_string_equal(crash_model_name(MODEL_WRITEBACK), "writeback");
	rollback_backup_path(buf, sizeof(buf), "st", 42);
	assert_string_equal(buf, "st/" ROLLBACK_BACKUP_PREFIX "42");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(load_orders_and_skips_torn_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(load_of_a_missing_folder_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(unsynced_metadata_is_undone_from_the_end, setup,
						teardown),
		cmocka_unit_test_setup_teardown(everything_unsynced_can_go, setup, teardown),
		cmocka_unit_test_setup_teardown(kept_metadata_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(a_folder_fsync_commits_what_came_before, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_replaced_file_comes_back_from_its_backup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(writeback_loses_sectors_as_zeros, setup, teardown),
		cmocka_unit_test_setup_teardown(ext4_ordered_cuts_before_the_first_lost_sector,
						setup, teardown),
		cmocka_unit_test_setup_teardown(fsync_makes_data_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(rename_over_a_file_commits_data_only_under_ext4,
						setup, teardown),
		cmocka_unit_test_setup_teardown(other_strategies_are_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(clear_removes_only_its_own_files, setup, teardown),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
