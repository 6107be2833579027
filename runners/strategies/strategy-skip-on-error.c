/*
 * skip-on-error: what mypy settled on after issue 3215: write a temporary
 * file with a random name, os.replace it, and on any OSError drop the cache
 * entry without a word. Nothing breaks; the cache just stays stale.
 */
#include "atomic.h"

static enum write_status skip_on_error_write(struct write_req *req)
{
	static const struct atomic_protocol proto = {
		.body = BODY_LOOP, .tmp = TMP_RANDOM, .swallow = 1,
	};

	return atomic_write(req, &proto);
}

const struct strategy_info strategy_skip_on_error = {
	.name = "skip-on-error",
	.summary = "temp file, looped write, os.replace; any OSError skips the entry",
	.source = "mypy build.py write_cache after issue 3215 (2017)",
	.write = skip_on_error_write,
};
