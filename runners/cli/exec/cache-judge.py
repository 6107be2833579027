# pycstorm cache judge: is a cache file one its real reader can use?
#
#   PYTHON pycstorm-cache-judge.py KIND FILE [KIND FILE]...
#
# `pycstorm exec` runs this with the interpreter the command ran (so a
# pickle unpickles with the classes the program has), from the command's
# folder, with its memory, CPU time and core size capped, and without
# writing bytecode: judging must not repair what it judges. KIND is a name
# from the kinds table (runners/cli/exec/exec-kinds.c). For each file it
# prints one line, flushed at once, "CLASS<TAB>TEXT":
#
#   ok           the reader uses it as it is
#   stale        the reader drops it and rebuilds it (a field it needs is missing)
#   eof          the data ends early (a cut write)
#   bad_marshal  the data does not decode (bad JSON, pickle or SQLite pages)
#   eof, bad_marshal, module_not_found, other_error for a plugin cache:
#                how the first plugin it lists fails to load
#   other_error  it decodes, but the reader fails on what it holds
#
# It keeps to syntax every CPython from 2.7 on accepts.
from __future__ import print_function

import json
import os
import pickle
import signal
import sys

WALL_SECONDS = 60
READ_LIMIT = 256 << 20

# The fields mypy's find_cache_meta needs, else "Metadata abandoned".
MYPY_META_FIELDS = ("id", "mtime", "size", "dependencies", "data_mtime")
# What MypyFile.deserialize reads without a default.
MYPY_DATA_FIELDS = (".class", "_fullname", "names", "is_stub", "path")


def one_line(text):
    return " ".join(str(text).split())[:300]


def read(path):
    f = open(path, "rb")
    try:
        return f.read(READ_LIMIT)
    finally:
        f.close()


def parse_json(data):
    """(value, None) or (None, (class, text))."""
    if not data.strip():
        return None, ("eof", "empty file")
    try:
        return json.loads(data.decode("utf-8")), None
    except ValueError as e:
        pos = getattr(e, "pos", None)
        if pos is not None and pos >= len(data.rstrip()):
            return None, ("eof", "JSON ends early: %s" % one_line(e))
        if "Unterminated" in str(e) or "end of data" in str(e):
            return None, ("eof", "JSON ends early: %s" % one_line(e))
        return None, ("bad_marshal", "not JSON: %s" % one_line(e))


def judge_json(path):
    value, bad = parse_json(read(path))
    return bad or ("ok", "JSON parses")


def judge_mypy_meta(path):
    value, bad = parse_json(read(path))
    if bad:
        return bad
    if not isinstance(value, dict):
        return ("stale", "not a JSON object: mypy abandons it and rechecks the module")
    missing = [k for k in MYPY_META_FIELDS if value.get(k) is None]
    if missing:
        return ("stale", "lacks %s: mypy abandons it and rechecks the module" % ", ".join(missing))
    return ("ok", "JSON parses and holds the fields mypy reads")


def judge_mypy_data(path):
    value, bad = parse_json(read(path))
    if bad:
        return bad
    if not isinstance(value, dict):
        return ("other_error", "not a JSON object: mypy fails on it")
    missing = [k for k in MYPY_DATA_FIELDS if k not in value]
    if missing:
        return ("other_error", "lacks %s: mypy fails on it (KeyError)" % ", ".join(missing))
    if value[".class"] != "MypyFile":
        return ("other_error", "'.class' is %r, not 'MypyFile'" % value[".class"])
    return ("ok", "JSON parses and holds the fields mypy reads")


def unpickle(path):
    """(value, None) or (None, (class, text))."""
    data = read(path)
    if not data:
        return None, ("eof", "empty file")
    try:
        return pickle.loads(data), None
    except EOFError as e:
        return None, ("eof", "pickle ends early: EOFError: %s" % one_line(e))
    except Exception as e:
        text = "%s: %s" % (type(e).__name__, one_line(e))
        if "truncated" in text or "ran out of input" in text.lower():
            return None, ("eof", "pickle ends early: " + text)
        return None, ("bad_marshal", "does not unpickle: " + text)


def exception_class(e):
    name = type(e).__name__
    if isinstance(e, EOFError):
        return "eof"
    if "bad marshal data" in str(e):
        return "bad_marshal"
    if name in ("ModuleNotFoundError", "ImportError"):
        return "module_not_found"
    return "other_error"


def judge_twisted_dropin(path):
    """Unpickle it as twisted.plugin.getCache does, then load every plugin it
    lists, as getPlugins does: a plugin that fails to load is one the
    program silently loses."""
    value, bad = unpickle(path)
    if bad:
        return bad
    if not isinstance(value, dict):
        return ("bad_marshal", "not a dict of dropins: Twisted rebuilds it")
    total = 0
    failed = []
    for name in sorted(value):
        for plugin in getattr(value[name], "plugins", []):
            total += 1
            try:
                plugin.load()
            except Exception as e:
                failed.append((plugin, e))
    if failed:
        plugin, e = failed[0]
        return (exception_class(e), "damaged: %d of the %d plugins it lists fail to load, "
                "Twisted loses them; first %s.%s: %s: %s" % (
                    len(failed), total, getattr(plugin.dropin, "moduleName", "?"),
                    plugin.name, type(e).__name__, one_line(e)))
    return ("ok", "unpickles; its %d plugins load" % total)


def judge_sqlite(path):
    import sqlite3
    data = read(path)
    if not data:
        return ("eof", "empty file")
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            rows = db.execute("PRAGMA integrity_check").fetchall()
            if rows != [("ok",)]:
                return ("bad_marshal", "integrity_check: %s" % one_line(rows[0][0]))
            tables = [r[0] for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            n = 0
            for t in tables:
                for _ in db.execute('SELECT * FROM "%s"' % t.replace('"', '""')):
                    n += 1
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        return ("bad_marshal", "%s: %s" % (type(e).__name__, one_line(e)))
    return ("ok", "integrity_check ok; %d rows in %d tables read" % (n, len(tables)))


JUDGES = {
    "json": judge_json,
    "mypy-meta": judge_mypy_meta,
    "mypy-data": judge_mypy_data,
    "twisted-dropin": judge_twisted_dropin,
    "sqlite": judge_sqlite,
}


def main(argv):
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.getcwd())
    if hasattr(signal, "alarm"):
        signal.alarm(WALL_SECONDS)
    if len(argv) % 2:
        print("usage: PYTHON pycstorm-cache-judge.py KIND FILE [KIND FILE]...", file=sys.stderr)
        return 2
    for i in range(0, len(argv), 2):
        kind, path = argv[i], argv[i + 1]
        judge = JUDGES.get(kind)
        if judge is None:
            verdict = ("unreadable", "no judge for kind '%s'" % kind)
        else:
            try:
                verdict = judge(path)
            except (IOError, OSError) as e:
                verdict = ("unreadable", "%s: %s" % (type(e).__name__, one_line(e)))
            except Exception as e:
                verdict = ("other_error", "%s: %s" % (type(e).__name__, one_line(e)))
        sys.stdout.write("%s\t%s\n" % verdict)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
