/*
 * The cache kinds table; see exec-kinds.h. First match wins, so the
 * narrower patterns of a folder come before its catch-all ones, and the
 * temporary names before "unknown".
 */
#include "exec-kinds.h"

#include <fnmatch.h>
#include <stddef.h>

static const struct exec_kind kinds[] = {
	/* pytest's assertion rewriter reads its .pyc through its own loader,
	 * which drops a file it cannot read and rewrites it. */
	{ "pyc", "*/__pycache__/*-pytest-*.pyc", EXEC_JUDGE_CLASSIFY,
	  "pytest's rewritten .pyc", "pytest rewrites it" },
	{ "pyc", "*.pyc", EXEC_JUDGE_CLASSIFY, ".pyc", NULL },
	/* mypy stops with "Error reading JSON file; you likely have a bad
	 * cache" on JSON it cannot parse; a meta file lacking a field it
	 * needs is abandoned and the module rechecked. */
	{ "mypy-meta", "*/.mypy_cache/*.meta.json", EXEC_JUDGE_READER, "mypy's JSON cache (meta)",
	  NULL },
	{ "mypy-data", "*/.mypy_cache/*.data.json", EXEC_JUDGE_READER, "mypy's JSON cache (data)",
	  NULL },
	{ "json", "*/.mypy_cache/*.json", EXEC_JUDGE_READER, "mypy's JSON cache", NULL },
	{ "sqlite", "*/.mypy_cache/*.db", EXEC_JUDGE_READER, "mypy's SQLite cache", NULL },
	/* pytest's Cache.get returns the default for what it cannot parse. */
	{ "json", "*/.pytest_cache/v/*", EXEC_JUDGE_READER, "pytest's cache",
	  "pytest ignores it" },
	{ "twisted-dropin", "*/dropin.cache", EXEC_JUDGE_READER,
	  "Twisted's plugin cache (pickle)", NULL },
	{ "temp", "*.pyc.*", EXEC_JUDGE_TEMP, "temporary .pyc", NULL },
	{ "temp", "*.json.*", EXEC_JUDGE_TEMP, "temporary JSON", NULL },
	{ "temp", "*.new", EXEC_JUDGE_TEMP, "temporary file", NULL },
	{ "temp", "*.tmp", EXEC_JUDGE_TEMP, "temporary file", NULL },
	{ "temp", "*-journal", EXEC_JUDGE_TEMP, "SQLite journal", NULL },
	{ "unknown", "*", EXEC_JUDGE_NONE, "not judged", NULL },
};

const struct exec_kind *exec_kind_of(const char *path)
{
	size_t i, n = sizeof(kinds) / sizeof(kinds[0]);

	for (i = 0; i + 1 < n; i++)
		if (fnmatch(kinds[i].pattern, path, 0) == 0)
			break;
	return &kinds[i];
}
