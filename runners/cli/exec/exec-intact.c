/*
 * The intact check; see exec-intact.h.
 */
#include "exec-intact.h"

#include "common.h"
#include "outcome.h"
#include "pyc.h"
#include "written.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PYCACHE "__pycache__"

static int by_digest(const void *a, const void *b)
{
	const struct exec_stream *x = a, *y = b;

	if (x->length != y->length)
		return x->length < y->length ? -1 : 1;
	if (x->crc[0] != y->crc[0])
		return x->crc[0] < y->crc[0] ? -1 : 1;
	return x->crc[1] < y->crc[1] ? -1 : x->crc[1] > y->crc[1];
}

/* "LENGTH EVEN ODD PATH" into st; 0, or -1 when the line is not one. */
static int parse_record(const char *line, size_t len, struct exec_stream *st)
{
	char *text = xstrndup(line, len), *end = NULL;
	unsigned long long length = strtoull(text, &end, 10);
	unsigned long even = 0, odd = 0;
	int rc = end != text && *end == ' ' ? 0 : -1;

	if (rc == 0) {
		even = strtoul(end + 1, &end, 16);
		rc = *end == ' ' ? 0 : -1;
	}
	if (rc == 0) {
		odd = strtoul(end + 1, &end, 16);
		rc = *end == ' ' && end[1] == '/' ? 0 : -1;
	}
	if (rc == 0) {
		st->length = length;
		st->crc[0] = (uint32_t)even;
		st->crc[1] = (uint32_t)odd;
		st->path = xstrdup(end + 1);
	}
	free(text);
	return rc;
}

size_t exec_streams_add(struct exec_streams *s, const char *text, size_t len,
			void (*each)(void *ctx, const char *path), void *ctx)
{
	const char *line, *nl;
	size_t used = 0, had = s->n;

	/* A line without its newline is cut short, or still being written:
	 * left for later (and skipped at the end). */
	for (line = text; (nl = memchr(line, '\n', len - (size_t)(line - text))) != NULL;
	     line = nl + 1) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
		}
		if (parse_record(line, (size_t)(nl - line), &s->items[s->n]) == 0) {
			if (each)
				each(ctx, s->items[s->n].path);
			s->n++;
		}
		used = (size_t)(nl + 1 - text);
	}
	/* Only new lines need a sort (a turn may bring only part of one). */
	if (s->n > had)
		qsort(s->items, s->n, sizeof(*s->items), by_digest);
	return used;
}

void exec_streams_load(const char *dir, struct exec_streams *s)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	char *path, *data;
	size_t len;

	memset(s, 0, sizeof(*s));
	while (d && (e = readdir(d)) != NULL) {
		if (!exec_streams_file(e->d_name))
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		data = NULL;
		if (read_file(path, &data, &len) == 0)
			(void)exec_streams_add(s, data, len, NULL, NULL);
		free(data);
		free(path);
	}
	if (d)
		(void)closedir(d);
}

int exec_streams_file(const char *name)
{
	return !strncmp(name, "written-", 8);
}

void exec_streams_free(struct exec_streams *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->items[i].path);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

/* Was name written, or a temporary NAME.SUFFIX renamed onto it? */
static int written_as(const struct exec_stream *st, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(st->path, name, n) && (st->path[n] == '\0' || st->path[n] == '.');
}

/* Does a stream with data's length and digest name path? The records hold
 * resolved paths; ours is resolved only when it matches none as it is. */
static int streamed(const struct exec_streams *s, const char *path, const void *data, size_t len)
{
	struct exec_stream key = { .length = len };
	const struct exec_stream *hit;
	char real[PATH_MAX];
	size_t lo, hi, i;
	int found = 0, pass;

	written_digest(data, len, key.crc);
	hit = s->n ? bsearch(&key, s->items, s->n, sizeof(*s->items), by_digest) : NULL;
	if (!hit)
		return 0;
	/* Equal digests sit together: widen to all of them. */
	for (lo = (size_t)(hit - s->items); lo > 0 && !by_digest(&s->items[lo - 1], &key); lo--)
		;
	for (hi = (size_t)(hit - s->items); hi + 1 < s->n && !by_digest(&s->items[hi + 1], &key); hi++)
		;
	for (pass = 0; pass < 2 && !found; pass++) {
		const char *name = pass == 0 ? path : realpath(path, real);
		for (i = lo; name && i <= hi && !found; i++)
			found = written_as(&s->items[i], name);
	}
	return found;
}

/* DIR/__pycache__/MODULE.TAG.pyc -> DIR/MODULE.py and MODULE, or NULL when
 * path is not a .pyc of this tag in a __pycache__ folder. Malloc'd. */
static char *tagged_source(const char *path, const char *tag, char **module)
{
	const char *base = strrchr(path, '/'), *end;
	size_t blen, tlen = strlen(tag), plen = strlen(PYCACHE);
	char *source = NULL;

	*module = NULL;
	if (!base || !*tag)
		return NULL;
	base++;
	blen = strlen(base);
	end = base + blen - (tlen + 5);   /* ".TAG.pyc" */
	if (blen > tlen + 5 && !strcmp(base + blen - 4, ".pyc") && end[0] == '.' &&
	    !strncmp(end + 1, tag, tlen) && memchr(base, '.', (size_t)(end - base)) == NULL &&
	    (size_t)(base - path) > plen + 1 && !strncmp(base - plen - 1, PYCACHE, plen) &&
	    base[-plen - 2] == '/') {
		*module = xstrndup(base, (size_t)(end - base));
		source = xasprintf("%.*s%s.py", (int)(base - path - plen - 1), path, *module);
	}
	return source;
}

/* Is the file still what st said: the same inode, size, mtime and ctime? */
static int unchanged(int fd, const struct stat *st)
{
	struct exec_identity was, is;
	struct stat now;

	exec_identity_of(st, &was);
	if (fstat(fd, &now) < 0)
		return 0;
	exec_identity_of(&now, &is);
	return exec_same_identity(&was, &is);
}

int exec_read_whole(int fd, const struct stat *st, struct exec_buffer *buf)
{
	ssize_t got = 0;
	int rc = S_ISREG(st->st_mode) && st->st_size <= READ_FILE_MAX ? 0 : -1;

	if (rc == 0 && (size_t)st->st_size > buf->cap) {
		buf->cap = (size_t)st->st_size;
		buf->data = xrealloc(buf->data, buf->cap);
	}
	for (buf->len = 0; rc == 0 && buf->len < (size_t)st->st_size; buf->len += (size_t)got) {
		got = read(fd, buf->data + buf->len, (size_t)st->st_size - buf->len);
		if (got < 0 && errno == EINTR)
			got = 0;
		else if (got <= 0)
			rc = -1;   /* an error, or cut while we read: the judge's */
	}
	/* Written to while we read: the bytes are no one version of it. */
	if (rc == 0 && !unchanged(fd, st))
		rc = -1;
	return rc;
}

/* exec_read_whole on the file at path. */
static int read_whole(const char *path, struct exec_buffer *buf)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rc = fd < 0 ? -1 : 0;
	struct stat st;

	if (rc == 0 && (fstat(fd, &st) < 0 || exec_read_whole(fd, &st, buf) < 0))
		rc = -1;
	if (fd >= 0)
		(void)close(fd);
	return rc;
}

void exec_intact_verdict(struct exec_verdict *v, const struct exec_writer *w, const char *path)
{
	memset(v, 0, sizeof(*v));
	v->outcome = OUTCOME_OK;
	v->own_image = 1;
	v->intact = 1;
	v->report = xasprintf("file: %s\nheader: magic %u, python %s's, fresh for its source\n"
			      "body: its writer's own complete write, not read back "
			      "(--read-back reads it)\nclass: ok\n",
			      path, (unsigned)(w->magic & 0xffff), w->version);
}

char *exec_intact_source(const char *path, const struct exec_writer *w)
{
	char *module = NULL, *source = tagged_source(path, w->cache_tag, &module);

	free(module);
	return source;
}

int exec_intact_bytes(const struct exec_streams *s, const struct exec_writer *w, const char *path,
		      const void *data, size_t len, struct stat *source_st)
{
	char *module = NULL, *source = tagged_source(path, w->cache_tag, &module);
	struct pyc_source src = { 0 };
	struct pyc_check chk;
	struct stat st;
	int intact = 0;

	if (s->n && source && stat(source, &st) == 0 && S_ISREG(st.st_mode) &&
	    len >= PYC_HEADER_SIZE && pyc_le32((const uint8_t *)data + 4) == 0) {
		src.mtime = (uint32_t)st.st_mtim.tv_sec;
		src.size = (uint32_t)st.st_size;
		pyc_check_header(data, len, w->magic, &src, 1, module, &chk);
		intact = chk.verdict == PYC_VALID && streamed(s, path, data, len);
	}
	if (intact && source_st)
		*source_st = st;
	free(source);
	free(module);
	return intact;
}

int exec_intact_pyc(const struct exec_streams *s, const struct exec_writer *w, const char *path,
		    struct exec_buffer *buf, struct exec_verdict *v)
{
	int intact = s->n && read_whole(path, buf) == 0 &&
		     exec_intact_bytes(s, w, path, buf->data, buf->len, NULL);

	if (intact)
		exec_intact_verdict(v, w, path);
	return intact;
}
