/*
 * py27-import: Python 2.7 Python/import.c write_compiled_module, on the
 * layout of the image it is given (2.7's 8-byte header, or the 12- and
 * 16-byte ones of Python 3, the mtime where pyc_mtime_offset finds it).
 * unlink the old pyc, create the new one with
 * O_EXCL|O_CREAT, write magic, a zero where the mtime goes and the body
 * through a 4 KiB stdio buffer, and only then patch the real mtime in, so a
 * reader never trusts a half-written file. No rename, no fsync, and every
 * error is silent: the import just goes on from source.
 */
#include "pyc.h"
#include "strategy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static enum write_status py27_import_write(struct write_req *req)
{
	uint8_t header[PYC_HEADER_SIZE];
	size_t at = pyc_mtime_offset(req->data, req->len);   /* 0: no mtime to patch */
	int fd, rc;

	if (req->len < PYC_HEADER_SIZE) {
		strategy_oserror(req, EINVAL, req->path, NULL);
		return WRITE_RAISED;
	}
	(void)unlink(req->path);
	fd = open(req->path, O_EXCL | O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC,
		  req->mode & 0666);
	if (fd < 0) {
		strategy_oserror(req, errno, req->path, NULL);
		return WRITE_SWALLOWED;
	}
	memcpy(header, req->data, req->len < sizeof(header) ? req->len : sizeof(header));
	if (at)
		memset(header + at, 0, 4);            /* the dummy mtime */
	rc = strategy_write_chunked(fd, header, sizeof(header));
	if (rc == 0)
		rc = strategy_write_chunked(fd, req->data + sizeof(header),
					    req->len - sizeof(header));
	if (rc == 0 && at) {
		errno = 0;
		if (pwrite(fd, req->data + at, 4, (off_t)at) != 4)
			rc = errno ? -errno : -EIO;
	}
	if (rc < 0) {
		strategy_oserror(req, -rc, req->path, NULL);
		(void)unlink(req->path);
	}
	(void)close(fd);
	return rc == 0 ? WRITE_DONE : WRITE_SWALLOWED;
}

const struct strategy_info strategy_py27_import = {
	.name = "py27-import",
	.summary = "unlink, O_EXCL create, write with mtime 0, patch mtime last; errors silent",
	.source = "CPython 2.7 Python/import.c write_compiled_module",
	.write = py27_import_write,
};
