/*
 * native: the write path of the interpreter under test, not a copy of it.
 * The embedded worker calls importlib's own SourceFileLoader.set_data (which
 * runs _write_atomic and swallows OSError, as an import does), so this
 * strategy changes whenever the Python it is built against changes. The
 * worker, which owns the interpreter, installs the implementation.
 */
#include "strategy.h"

#include <errno.h>
#include <stdio.h>

enum write_status (*strategy_native_impl)(struct write_req *req);

static enum write_status native_write(struct write_req *req)
{
	if (strategy_native_impl)
		return strategy_native_impl(req);
	req->err = ENOSYS;
	(void)snprintf(req->error, sizeof(req->error),
		       "native needs a worker that hosts the interpreter");
	return WRITE_RAISED;
}

const struct strategy_info strategy_native = {
	.name = "native",
	.summary = "the interpreter's own importlib SourceFileLoader.set_data (errors swallowed)",
	.source = "the Python under test: importlib._bootstrap_external",
	.write = native_write,
};
