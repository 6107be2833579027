/*
 * The strategy registry and the helpers the protocol files share. The
 * table is built from STRATEGY_LIST, so adding a strategy is one file plus
 * one line in strategy.h.
 */
#include "strategy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define X(id) &strategy_##id,
REGISTRY_DEFINE(strategy_info, strategy, STRATEGY_LIST(X))
#undef X

/* The OSError subclass Python raises for an errno (PEP 3151). */
static const char *oserror_class(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return "PermissionError";
	case ENOENT:
		return "FileNotFoundError";
	case EEXIST:
		return "FileExistsError";
	case EISDIR:
		return "IsADirectoryError";
	case ENOTDIR:
		return "NotADirectoryError";
	case EINTR:
		return "InterruptedError";
	default:
		return "OSError";
	}
}

void strategy_oserror(struct write_req *req, int e, const char *path,
		      const char *dst)
{
	req->err = e;
	if (dst)
		(void)snprintf(req->error, sizeof(req->error),
			       "%s: [Errno %d] %s: '%s' -> '%s'", oserror_class(e),
			       e, strerror(e), path, dst);
	else
		(void)snprintf(req->error, sizeof(req->error),
			       "%s: [Errno %d] %s: '%s'", oserror_class(e), e,
			       strerror(e), path);
}

long strategy_write_once(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	do
		n = write(fd, p, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (long)n;
}

int strategy_write_loop(int fd, const uint8_t *p, size_t len)
{
	long n;
	int rc = 0;

	while (len > 0 && rc == 0) {
		n = strategy_write_once(fd, p, len);
		if (n < 0)
			rc = (int)n;
		else if (n == 0)
			rc = -EIO;
		else {
			p += n;
			len -= (size_t)n;
		}
	}
	return rc;
}

int strategy_write_chunked(int fd, const uint8_t *p, size_t len)
{
	size_t piece;
	int rc = 0;

	while (len > 0 && rc == 0) {
		piece = len < 4096 ? len : 4096;
		rc = strategy_write_loop(fd, p, piece);
		p += piece;
		len -= piece;
	}
	return rc;
}

int strategy_fsync_dir(const char *path)
{
	return fsync_parent(path);
}

void strategy_tmp_name(char *buf, size_t size, const char *path, uint64_t id)
{
	(void)snprintf(buf, size, "%s.%llu", path, (unsigned long long)id);
}
