/*
 * py33-atomic: importlib._bootstrap_external._write_atomic as shipped from
 * Python 3.3 to 3.13.0 (and still in Debian 12's 3.11): one write() whose
 * count is never checked, then os.replace. A short write renames a
 * truncated file into place (gh-126606). No fsync of file or directory.
 */
#include "atomic.h"

static enum write_status py33_atomic_write(struct write_req *req)
{
	static const struct atomic_protocol proto = {
		.body = BODY_ONE_WRITE, .tmp = TMP_ID,
	};

	return atomic_write(req, &proto);
}

const struct strategy_info strategy_py33_atomic = {
	.name = "py33-atomic",
	.summary = "temp file, one unchecked write(), os.replace; no fsync",
	.source = "CPython 3.3-3.13.0 importlib _write_atomic (bpo-13146)",
	.write = py33_atomic_write,
};
