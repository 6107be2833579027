/*
 * The cache of answers pycstorm can reuse; see usercache.h.
 *
 * File layout: one line "pycstorm-cache 1 KEYLEN VALUELEN CHECK", then the
 * key, then the value. CHECK hashes both, so a file cut short by a crash
 * (entries are renamed into place but never synced: losing one only costs
 * the work again) reads as a miss. Entries older than ENTRY_DAYS are
 * removed, at most once a day, so a folder of projects long gone does not
 * grow for ever.
 */
#include "usercache.h"

#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ENTRY_DAYS 30
#define DAY_S (24 * 3600)

/* The kind's folder, or NULL when there is no place for one. */
static char *kind_dir(const char *kind)
{
	const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	const char *off = getenv("PYCSTORM_NO_CACHE");

	if (off && *off)
		return NULL;
	if (cache && *cache == '/')
		return xasprintf("%s/pycstorm/%s", cache, kind);
	if (home && *home == '/')
		return xasprintf("%s/.cache/pycstorm/%s", home, kind);
	return NULL;
}

static char *entry_path(const char *dir, const void *key, size_t keylen)
{
	return xasprintf("%s/%016" PRIx64, dir, hash_fnv1a(HASH_FNV1A_INIT, key, keylen));
}

static uint64_t entry_check(const void *key, size_t keylen, const void *value, size_t len)
{
	return hash_fnv1a(hash_fnv1a(HASH_FNV1A_INIT, key, keylen), value, len);
}

/* The value of an entry's text when it holds exactly key; NULL otherwise. */
static char *entry_value(const char *text, size_t textlen, const void *key, size_t keylen,
			 size_t *len)
{
	const char *nl = memchr(text, '\n', textlen), *body;
	unsigned long long klen = 0, vlen = 0;
	uint64_t check = 0;
	char *value = NULL;

	if (nl && sscanf(text, "pycstorm-cache 1 %llu %llu %" SCNx64, &klen, &vlen, &check) == 3 &&
	    klen == keylen && (size_t)(textlen - (size_t)(nl + 1 - text)) == keylen + vlen) {
		body = nl + 1;
		if (!memcmp(body, key, keylen) &&
		    entry_check(key, keylen, body + keylen, (size_t)vlen) == check) {
			value = xmalloc((size_t)vlen + 1);
			memcpy(value, body + keylen, (size_t)vlen);
			value[vlen] = '\0';
			*len = (size_t)vlen;
		}
	}
	return value;
}

char *usercache_get(const char *kind, const void *key, size_t keylen, size_t *len)
{
	char *dir = kind_dir(kind), *path, *text = NULL, *value = NULL;
	size_t textlen = 0;

	if (!dir)
		return NULL;
	path = entry_path(dir, key, keylen);
	if (read_file(path, &text, &textlen) == 0)
		value = entry_value(text, textlen, key, keylen, len);
	free(text);
	free(path);
	free(dir);
	return value;
}

/* Remove entries older than ENTRY_DAYS, when the last sweep is a day old. */
static void sweep(const char *dir)
{
	char *stamp = xasprintf("%s/.swept", dir);
	time_t now = time(NULL);
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd;

	if (stat(stamp, &st) == 0 && now - st.st_mtime < DAY_S) {
		free(stamp);
		return;
	}
	fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0)
		(void)close(fd);
	d = opendir(dir);
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now - st.st_mtime > ENTRY_DAYS * DAY_S)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		(void)closedir(d);
	free(stamp);
}

void usercache_put(const char *kind, const void *key, size_t keylen, const void *value,
		   size_t len)
{
	char *dir = kind_dir(kind), *path, *tmp, head[96];
	int fd, n, rc = -1;

	if (!dir || mkdir_p(dir, 0700) < 0) {
		free(dir);
		return;
	}
	sweep(dir);
	path = entry_path(dir, key, keylen);
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	n = snprintf(head, sizeof(head), "pycstorm-cache 1 %zu %zu %016" PRIx64 "\n", keylen, len,
		     entry_check(key, keylen, value, len));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		rc = write_all(fd, head, (size_t)n) || write_all(fd, key, keylen) ||
		     write_all(fd, value, len);
		rc = close(fd) < 0 ? -1 : rc;
	}
	if (fd >= 0 && (rc != 0 || rename(tmp, path) < 0))
		(void)unlink(tmp);
	free(tmp);
	free(path);
	free(dir);
}
