/*
 * loop-atomic: _write_atomic as gh-141930 made it: keep calling write()
 * until the whole image is in the temporary file, then os.replace.
 */
#include "atomic.h"

static enum write_status loop_atomic_write(struct write_req *req)
{
	static const struct atomic_protocol proto = {
		.body = BODY_LOOP, .tmp = TMP_ID,
	};

	return atomic_write(req, &proto);
}

const struct strategy_info strategy_loop_atomic = {
	.name = "loop-atomic",
	.summary = "temp file, write() looped over partial writes, os.replace",
	.source = "CPython gh-141930 (2025)",
	.write = loop_atomic_write,
};
