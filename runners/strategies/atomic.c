/*
 * The shared temporary-file-and-rename protocol; see atomic.h. The order of
 * steps is importlib's _write_atomic: exclusive create, write, close,
 * replace, and on any OSError unlink the temporary file and re-raise.
 */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int write_body(struct write_req *req, int fd, const char *tmp,
		      enum atomic_body body)
{
	long n;
	int rc = 0;

	switch (body) {
	case BODY_ONE_WRITE:
		n = strategy_write_once(fd, req->data, req->len);
		if (n < 0)
			rc = (int)n;
		break;
	case BODY_CHECKED:
		n = strategy_write_once(fd, req->data, req->len);
		if (n < 0)
			rc = (int)n;
		else if ((size_t)n != req->len) {
			req->err = EIO;
			(void)snprintf(req->error, sizeof(req->error),
				       "OSError: short write to %.200s: %ld of %zu bytes",
				       tmp, n, req->len);
			rc = 1;
		}
		break;
	case BODY_LOOP:
		rc = strategy_write_loop(fd, req->data, req->len);
		break;
	}
	if (rc < 0)
		strategy_oserror(req, -rc, tmp, NULL);
	return rc;
}

static int is_sharing_error(int e)
{
	return e == EACCES || e == EPERM || e == EBUSY;
}

/* rename(), retried with exponential backoff from 1 ms while refused. */
static int replace(struct write_req *req, const char *tmp, int retry)
{
	uint64_t delay = 1000000, slept = 0;
	int rc;

	for (;;) {
		rc = rename(tmp, req->path) < 0 ? -errno : 0;
		if (rc == 0 || !retry || !is_sharing_error(-rc) ||
		    slept >= req->retry_budget_ns)
			break;
		if (slept + delay > req->retry_budget_ns)
			delay = req->retry_budget_ns - slept;
		sleep_ns(delay);
		slept += delay;
		delay *= 2;
	}
	if (rc < 0)
		strategy_oserror(req, -rc, tmp, req->path);
	return rc;
}

enum write_status atomic_write(struct write_req *req,
			       const struct atomic_protocol *proto)
{
	char tmp[4096];
	uint64_t id = proto->tmp == TMP_RANDOM ? rng_next(req->rng) : req->tmp_id;
	int fd, rc;

	strategy_tmp_name(tmp, sizeof(tmp), req->path, id);
	fd = open(tmp, O_EXCL | O_CREAT | O_WRONLY | O_CLOEXEC, req->mode & 0666);
	if (fd < 0) {
		strategy_oserror(req, errno, tmp, NULL);
		return proto->swallow ? WRITE_SWALLOWED : WRITE_RAISED;
	}
	rc = write_body(req, fd, tmp, proto->body);
	if (rc == 0 && proto->fsync_file && fsync(fd) < 0) {
		strategy_oserror(req, errno, tmp, NULL);
		rc = -1;
	}
	if (close(fd) < 0 && rc == 0) {
		strategy_oserror(req, errno, tmp, NULL);
		rc = -1;
	}
	if (rc == 0)
		rc = replace(req, tmp, proto->retry_replace);
	if (rc == 0 && proto->fsync_dir && (rc = strategy_fsync_dir(req->path)) < 0)
		strategy_oserror(req, -rc, req->path, NULL);
	else if (rc != 0)
		(void)unlink(tmp);
	if (rc == 0)
		return WRITE_DONE;
	return proto->swallow ? WRITE_SWALLOWED : WRITE_RAISED;
}
