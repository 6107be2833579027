/*
 * fsync-atomic: the durable variant nobody shipped: loop the writes, fsync
 * the temporary file, rename, then fsync the directory, so a power cut
 * leaves either the old file or the complete new one.
 */
#include "atomic.h"

static enum write_status fsync_atomic_write(struct write_req *req)
{
	static const struct atomic_protocol proto = {
		.body = BODY_LOOP, .tmp = TMP_ID, .fsync_file = 1, .fsync_dir = 1,
	};

	return atomic_write(req, &proto);
}

const struct strategy_info strategy_fsync_atomic = {
	.name = "fsync-atomic",
	.summary = "looped write, fsync file, os.replace, fsync directory",
	.source = "durable rename protocol (the missing fsync of LP #1010077)",
	.write = fsync_atomic_write,
};
