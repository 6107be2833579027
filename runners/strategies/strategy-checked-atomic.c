/*
 * checked-atomic: _write_atomic with the gh-126606 fix: a write() that
 * returns fewer bytes than asked is an error, so the partial temporary file
 * is unlinked instead of renamed into place.
 */
#include "atomic.h"

static enum write_status checked_atomic_write(struct write_req *req)
{
	static const struct atomic_protocol proto = {
		.body = BODY_CHECKED, .tmp = TMP_ID,
	};

	return atomic_write(req, &proto);
}

const struct strategy_info strategy_checked_atomic = {
	.name = "checked-atomic",
	.summary = "temp file, one write() checked for a short count, os.replace",
	.source = "CPython gh-126606 fix (3.13.1 and later)",
	.write = checked_atomic_write,
};
