/*
 * replace-retry: the alternative proposed in mypy issue 3215 and used by
 * Go's robustio and LLVM: when the rename is refused because another
 * process holds the destination (EACCES, EPERM, EBUSY), sleep 1 ms, 2 ms,
 * 4 ms ... and try again until the retry budget is spent, then raise.
 */
#include "atomic.h"

static enum write_status replace_retry_write(struct write_req *req)
{
	static const struct atomic_protocol proto = {
		.body = BODY_LOOP, .tmp = TMP_RANDOM, .retry_replace = 1,
	};

	return atomic_write(req, &proto);
}

const struct strategy_info strategy_replace_retry = {
	.name = "replace-retry",
	.summary = "temp file, looped write, os.replace retried with backoff on EACCES/EPERM/EBUSY",
	.source = "mypy #3215 proposal; Go robustio, LLVM sys::fs::rename retries",
	.write = replace_retry_write,
};
