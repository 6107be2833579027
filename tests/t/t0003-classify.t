#!/usr/bin/env python3
# The classifier agrees with the real interpreter. Build .pyc files
# truncated at many offsets, zero-filled, and with bytes of two versions
# mixed; for each, `pycstorm classify` gives a class and an error text, and
# `python -B -c 'import mod'` on the same file must fail with exactly that
# text (or succeed, when the class says the import recompiles or loads).
import os
import random
import shutil
import subprocess
import sys
import tempfile

BIN = os.environ["PYCSTORM_BIN"]
PYTHON = os.environ.get("PYCSTORM_PYTHON") or "/usr/bin/python3"
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "scenarios", "modules", "medium")
n = 0
failed = 0


def ok(cond, name):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
    if not cond:
        failed += 1


def compile_with(python, src_path, pyc_path):
    """The image the real interpreter writes for src_path."""
    code = ("import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], "
            "doraise=True, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)")
    subprocess.run([python, "-c", code, src_path, pyc_path], check=True)
    with open(pyc_path, "rb") as f:
        return f.read()


def variants(v1, v2):
    """(name, bytes, which source it belongs to)."""
    out = []
    for cut in list(range(0, 40)) + [len(v1) * k // 60 for k in range(1, 60)] + [len(v1) - 1]:
        out.append(("truncated at %d" % cut, v1[:cut], 1))
    body = len(v1) - 16
    out.append(("body all zeros", v1[:16] + bytes(body), 1))
    for start in (16, 4096, len(v1) // 2, len(v1) - 4096):
        start = max(16, min(start, len(v1) - 1))
        block = bytes(min(4096, len(v1) - start))
        out.append(("4 KiB zero block at %d" % start, v1[:start] + block + v1[start + len(block):], 1))
    out.append(("zero-filled tail from 8192", v1[:8192] + bytes(len(v1) - 8192), 1))
    out.append(("header all zeros", bytes(16) + v1[16:], 1))
    for k in (20, 100, 1000, 4096, 8192, len(v1) // 2, len(v2) - 100):
        out.append(("v1 header, v2 bytes from %d" % k, v1[:k] + v2[k:], 1))
        out.append(("v2 header, v1 bytes from %d" % k, v2[:k] + v1[k:], 2))
    rng = random.Random(1234)
    for i in range(8):
        k = rng.randrange(16, len(v1))
        out.append(("v1 truncated, v2 tail appended (%d)" % k, v1[:k] + v2[k:k + 2000], 1))
    return out


def main():
    work = tempfile.mkdtemp(prefix="pycstorm-classify.")
    try:
        src = {}
        img = {}
        for v in (1, 2):
            src[v] = open(os.path.join(FIXTURES, "v%d.py" % v), "rb").read()
            p = os.path.join(work, "v%d.py" % v)
            with open(p, "wb") as f:
                f.write(src[v])
            os.utime(p, (1700000000 + v, 1700000000 + v))
            img[v] = compile_with(PYTHON, p, os.path.join(work, "v%d.pyc" % v))
        ok(img[1] != img[2], "the interpreter compiles two different images")
        cases = variants(img[1], img[2])
        dirs = []
        for i, (name, data, which) in enumerate(cases):
            d = os.path.join(work, "case%03d" % i)
            os.makedirs(os.path.join(d, "__pycache__"))
            with open(os.path.join(d, "mod.py"), "wb") as f:
                f.write(src[which])
            os.utime(os.path.join(d, "mod.py"), (1700000000 + which, 1700000000 + which))
            tag = subprocess.run([PYTHON, "-c", "import sys; print(sys.implementation.cache_tag)"],
                                 capture_output=True, text=True,
                                 check=True).stdout.strip() if i == 0 else tag
            pyc = os.path.join(d, "__pycache__", "mod.%s.pyc" % tag)
            with open(pyc, "wb") as f:
                f.write(data)
            dirs.append((name, d, pyc))
        res = subprocess.run([os.path.join(BIN, "pycstorm"), "classify"] + [p for _, _, p in dirs],
                             capture_output=True, text=True)
        ok(res.returncode == 1, "classify exits 1 when some file would fail an import")
        verdicts = {}
        for block in res.stdout.split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "file" in fields:
                verdicts[fields["file"]] = fields
        seen = set()
        for name, d, pyc in dirs:
            v = verdicts.get(pyc, {})
            cls = v.get("class", "?")
            seen.add(cls)
            imp = subprocess.run([PYTHON, "-B", "-c", "import sys; sys.path.insert(0, '.'); import mod"],
                                 cwd=d, capture_output=True, text=True)
            last = imp.stderr.strip().splitlines()[-1] if imp.stderr.strip() else ""
            if cls in ("ok", "stale"):
                good = imp.returncode == 0
                why = "imports (%s)" % cls
            else:
                good = imp.returncode != 0 and last == v.get("error")
                why = "%s: %s" % (cls, v.get("error"))
            if not good:
                print("#   pycstorm: %s / python: rc=%d %s" % (why, imp.returncode, last))
            ok(good, "%s -> %s" % (name, why))
        for cls in ("ok", "stale", "eof", "bad_marshal"):
            ok(cls in seen, "the variants include a file classed %s" % cls)
    finally:
        shutil.rmtree(work)
    print("1..%d" % n)
    return 1 if failed else 0


sys.exit(main())
