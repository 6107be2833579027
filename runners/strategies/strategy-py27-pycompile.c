/*
 * py27-pycompile: py_compile.compile of Python 2.7 and 3.3 (what compileall
 * and the distro byte-compile hooks ran): open(cfile, 'wb') truncates the
 * existing inode in place, writes a zero magic, the rest of the header and
 * the body through a 4 KiB buffer, flushes, seeks to 0 and writes the real
 * magic last. Two writers share one inode; a reader can land between the
 * truncate and the last write.
 */
#include "pyc.h"
#include "strategy.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static enum write_status py27_pycompile_write(struct write_req *req)
{
	uint8_t zero_magic[4] = { 0, 0, 0, 0 };
	int fd, rc;

	if (req->len < PYC_HEADER_SIZE) {
		strategy_oserror(req, EINVAL, req->path, NULL);
		return WRITE_RAISED;
	}
	fd = open(req->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		strategy_oserror(req, errno, req->path, NULL);
		return WRITE_RAISED;
	}
	rc = strategy_write_chunked(fd, zero_magic, sizeof(zero_magic));
	if (rc == 0)
		rc = strategy_write_chunked(fd, req->data + 4, req->len - 4);
	if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0)
		rc = -errno;
	if (rc == 0)
		rc = strategy_write_loop(fd, req->data, 4);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		strategy_oserror(req, -rc, req->path, NULL);
	return rc == 0 ? WRITE_DONE : WRITE_RAISED;
}

const struct strategy_info strategy_py27_pycompile = {
	.name = "py27-pycompile",
	.summary = "truncate in place, zero magic, body, seek 0, real magic last",
	.source = "CPython 2.7 / 3.3 Lib/py_compile.py compile()",
	.write = py27_pycompile_write,
};
