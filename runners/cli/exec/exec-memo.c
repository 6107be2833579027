/*
 * Remembered .pyc verdicts; see exec-memo.h.
 */
#include "exec-memo.h"

#include "cli.h"
#include "common.h"
#include "pyc.h"
#include "pythons.h"
#include "strbuf.h"
#include "usercache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MEMO_KIND "verdict"
/* The judge's words for the one verdict kept (runners/worker/judge.py). */
static const char *const conclusive[] = {
	"\nheader: accepted\n",
	"\nbody: unmarshals to a code object, the same code as its source\n",
	"\nrun: not run\n",
	"\nclass: ok\n",
};

/* A file as what it is now: path, inode, size, mtime, ctime. */
static void add_file_ident(struct strbuf *sb, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	strbuf_addf(sb, "%s %ju %ju %jd %jd.%09ld %jd.%09ld\n", path, (uintmax_t)st.st_dev,
		    (uintmax_t)st.st_ino, (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

void exec_memo_open(struct exec_memo *m, const char *python)
{
	struct strbuf sb = STRBUF_INIT;
	struct python py = { 0 };
	char *judge, *self;

	memset(m, 0, sizeof(*m));
	if (!python || pythons_probe(python, &py) < 0)
		return;
	judge = cli_judge_program();
	self = cli_self_program();
	strbuf_addf(&sb, "verdict 1\nreader %s %s\n", py.version, py.path);
	add_file_ident(&sb, python);
	add_file_ident(&sb, py.path);
	add_file_ident(&sb, judge);
	add_file_ident(&sb, self);
	m->ident = strbuf_detach(&sb);
	m->magic = py.magic;
	free(judge);
	free(self);
	free(py.path);
	free(py.version);
	free(py.release);
	free(py.cache_tag);
}

void exec_memo_close(struct exec_memo *m)
{
	free(m->ident);
	m->ident = NULL;
}

/* The source the judge compares pyc with, as it finds it:
 * X/__pycache__/NAME.TAG.pyc -> X/NAME.py, X/NAME.pyc -> X/NAME.py.
 * NULL for a path without a folder (exec's paths are absolute). */
static char *source_of(const char *pyc)
{
	static const char cache_dir[] = "/__pycache__";
	const char *slash = strrchr(pyc, '/');
	size_t dirlen, cl = sizeof(cache_dir) - 1;

	if (!slash)
		return NULL;
	dirlen = (size_t)(slash - pyc);
	if (dirlen >= cl && !strncmp(slash - cl, cache_dir, cl))
		dirlen -= cl;
	return xasprintf("%.*s/%.*s.py", (int)dirlen, pyc, (int)strcspn(slash + 1, "."), slash + 1);
}

/* "LEN:BYTES" of a whole file into sb; -1 when it cannot be read. */
static int add_file_bytes(struct strbuf *sb, const char *path, char **data, size_t *len)
{
	if (read_file(path, data, len) < 0)
		return -1;
	strbuf_addf(sb, "%zu:", *len);
	strbuf_addn(sb, *data, *len);
	return 0;
}

char *exec_memo_key(const struct exec_memo *m, const char *pyc, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char *source = NULL, *pyc_data = NULL, *src_data = NULL;
	size_t pyc_len = 0, src_len = 0;
	struct stat st;
	int ok = 0;

	if (m->ident) {
		source = source_of(pyc);
		strbuf_add(&sb, m->ident);
		strbuf_addf(&sb, "pyc %s\n", pyc);
		ok = source && add_file_bytes(&sb, pyc, &pyc_data, &pyc_len) == 0 && pyc_len >= 4 &&
		     pyc_le32((const uint8_t *)pyc_data) == m->magic && stat(source, &st) == 0;
	}
	if (ok) {
		/* The header is judged against the source's mtime and size. */
		strbuf_addf(&sb, "\nsource %s %jd %jd\n", source, (intmax_t)st.st_mtim.tv_sec,
			    (intmax_t)st.st_size);
		ok = add_file_bytes(&sb, source, &src_data, &src_len) == 0;
	}
	free(source);
	free(pyc_data);
	free(src_data);
	if (!ok) {
		strbuf_release(&sb);
		return NULL;
	}
	*len = sb.len;
	return strbuf_detach(&sb);
}

int exec_memo_find(const char *key, size_t len, struct exec_verdict *v)
{
	size_t rlen = 0;
	char *report = usercache_get(MEMO_KIND, key, len, &rlen);

	if (!report)
		return -1;
	/* Only conclusive verdicts are kept: class ok, no error line. */
	memset(v, 0, sizeof(*v));
	v->report = report;
	v->outcome = OUTCOME_OK;
	v->remembered = 1;
	return 0;
}

static int is_conclusive(const struct exec_verdict *v)
{
	size_t i, n = sizeof(conclusive) / sizeof(conclusive[0]);
	int yes = v->report && v->outcome == OUTCOME_OK && !v->cannot_judge;

	for (i = 0; i < n && yes; i++)
		yes = strstr(v->report, conclusive[i]) != NULL;
	return yes;
}

void exec_memo_keep(const struct exec_memo *m, const char *pyc, const char *key, size_t len,
		    const struct exec_verdict *v)
{
	size_t now_len = 0;
	char *now;

	if (!key || !is_conclusive(v))
		return;
	/* What the judge read is what key holds only if nothing moved since. */
	now = exec_memo_key(m, pyc, &now_len);
	if (now && now_len == len && !memcmp(now, key, len))
		usercache_put(MEMO_KIND, key, len, v->report, strlen(v->report));
	free(now);
}
