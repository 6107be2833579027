/*
 * unlink-rename: Twisted's FilePath.setContent as it runs on Windows, where
 * rename cannot replace: write a temporary sibling (O_EXCL, random name),
 * unlink the destination, then rename the sibling into place. Between the
 * two steps the cache is missing; if the unlink left the file
 * delete-pending, the rename is refused. No fsync.
 */
#include "strategy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static enum write_status unlink_rename_write(struct write_req *req)
{
	char tmp[4096];
	int fd, rc;

	(void)snprintf(tmp, sizeof(tmp), "%s.%016llx.new", req->path,
		       (unsigned long long)rng_next(req->rng));
	fd = open(tmp, O_EXCL | O_CREAT | O_WRONLY | O_CLOEXEC, req->mode & 0666);
	if (fd < 0) {
		strategy_oserror(req, errno, tmp, NULL);
		return WRITE_RAISED;
	}
	rc = strategy_write_loop(fd, req->data, req->len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		strategy_oserror(req, -rc, tmp, NULL);
	} else if (unlink(req->path) < 0 && errno != ENOENT) {
		rc = -errno;
		strategy_oserror(req, errno, req->path, NULL);
	} else if (rename(tmp, req->path) < 0) {
		rc = -errno;
		strategy_oserror(req, errno, tmp, req->path);
	}
	if (rc < 0)
		(void)unlink(tmp);
	return rc < 0 ? WRITE_RAISED : WRITE_DONE;
}

const struct strategy_info strategy_unlink_rename = {
	.name = "unlink-rename",
	.summary = "temp sibling, unlink the destination, rename (a window with no cache)",
	.source = "Twisted FilePath.setContent on Windows (dropin.cache)",
	.write = unlink_rename_write,
};
