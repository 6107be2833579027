"""Does `pycstorm classify` agree with the real import, release by release?

    python3 tests/fidelity/fidelity.py [--quick] [--pycstorm BIN] [--python PATH]...

For every release found (`pycstorm list pythons`, or the given --python
interpreters), build a corpus of damaged cache files from a module that
interpreter compiled itself: truncations, zero blocks at the tail and in the
middle of the bytecode, torn mixes of two versions' images, a bad magic, bad
flags, a stale header, an empty file and trailing garbage. Each file is then
imported by that interpreter in a fresh process (the truth) and judged by
`pycstorm classify --python` (the verdict).

Prints TAP: per release, one check that agreement is at least 99% and one
that no file the interpreter crashed on, aborted on or raised SystemError on
was called ok; then "N passed, N failed". Exit 1 on any failure.
"""
import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

MODULE = "fidmod"
SOURCE_MTIME = 1700000000
AGREEMENT_MIN = 0.99

# Two versions of one module with the same size and mtime, as a package
# upgrade that keeps the tarball's mtimes leaves them: a torn mix of their
# images passes the header check, so the body alone decides.
SOURCE_TEMPLATE = """\
TABLE = {table!r}
NAMES = ("alpha", "beta", "gamma", "delta")


def total(values):
    acc = 0
    for v in values:
        acc += v * {factor}
    return acc


def describe(n):
    if n > 10:
        return "big %d" % n
    return "small %d" % n


class Box(object):
    def __init__(self, value):
        self.value = value

    def doubled(self):
        return Box(self.value * 2)


RESULT = total(TABLE) + Box({factor}).doubled().value
LABEL = describe(RESULT)
"""


def source_text(version):
    table = [version * 7 + i for i in range(8)]
    return SOURCE_TEMPLATE.format(table=table, factor=version + 2)


def header_size(release):
    if release == "2.7":
        return 8
    minor = int(release.split(".")[1])
    return 16 if minor >= 7 else 12


def find_pythons(pycstorm, given):
    args = [pycstorm, "list", "pythons"]
    for path in given:
        args += ["--python", path]
    out = subprocess.run(args, stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    chosen = {}
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6 and "(not used" not in line:
            chosen.setdefault(fields[0], fields[5])
    if given:
        # Only the releases of the interpreters named on the command line.
        wanted = set()
        for path in given:
            for release, exe in chosen.items():
                if os.path.realpath(exe) == os.path.realpath(path) or exe == path:
                    wanted.add(release)
        chosen = {r: p for r, p in chosen.items() if r in wanted}
    return chosen


def compile_with(python, src, out):
    code = "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)"
    subprocess.run([python, "-E", "-s", "-c", code, src, out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out, "rb") as f:
        return f.read()


def images(python, release, work):
    """The image of each source version, compiled at the module's own path."""
    result = []
    for version in (1, 2):
        folder = os.path.join(work, "compile-%d" % version)
        os.makedirs(folder)
        src = os.path.join(folder, MODULE + ".py")
        with open(src, "w") as f:
            f.write(source_text(version))
        os.utime(src, (SOURCE_MTIME, SOURCE_MTIME))
        result.append(compile_with(python, src, os.path.join(folder, "out.pyc")))
    return result


def zeroed(data, start, length):
    start = max(0, min(start, len(data)))
    end = min(len(data), start + length)
    return data[:start] + b"\0" * (end - start) + data[end:]


def corpus(old, new, release, quick):
    """(name, bytes) for every damaged variant of new."""
    hs = header_size(release)
    body = len(new) - hs
    items = [("intact", new), ("empty", b"")]
    for cut in ([3, hs - 1] if quick else [1, 3, 4, 7, hs - 4, hs - 1]):
        items.append(("header-cut-%d" % cut, new[:cut]))
    for pct in ([50] if quick else [5, 10, 25, 40, 50, 60, 75, 90]):
        items.append(("body-cut-%d%%" % pct, new[:hs + body * pct // 100]))
    items.append(("one-byte-short", new[:-1]))
    for size in ([512] if quick else [512, 64, 16]):
        items.append(("zero-tail-%d" % size, zeroed(new, len(new) - min(size, body // 2), size)))
    for pct in ([30] if quick else [20, 30, 45, 60, 80]):
        for size in ([512] if quick else [512, 16, 4]):
            at = hs + body * pct // 100
            items.append(("zero-%d@%d%%" % (size, pct), zeroed(new, at, min(size, body // 3))))
    for pct in ([50] if quick else [20, 35, 50, 65, 80, 95]):
        k = hs + body * pct // 100
        items.append(("mix-new-old-%d%%" % pct, new[:k] + old[k:]))
        if not quick:
            items.append(("mix-old-new-%d%%" % pct, old[:k] + new[k:]))
    items.append(("bad-magic", bytes([new[0] ^ 0x40]) + new[1:]))
    if hs == 16:
        items.append(("bad-flags", new[:4] + b"\x04\0\0\0" + new[8:]))
    stale_at = 8 if hs == 16 else 4
    items.append(("stale-mtime", new[:stale_at] + b"\x01\0\0\0" + new[stale_at + 4:]))
    items.append(("trailing-garbage", new + b"\x00garbage\xff"))
    return items


def lay_out(folder, release, data):
    """NAME.py (version 2) and its cache file where release looks for it."""
    os.makedirs(folder)
    src = os.path.join(folder, MODULE + ".py")
    with open(src, "w") as f:
        f.write(source_text(2))
    os.utime(src, (SOURCE_MTIME, SOURCE_MTIME))
    if release == "2.7":
        pyc = os.path.join(folder, MODULE + ".pyc")
    else:
        os.makedirs(os.path.join(folder, "__pycache__"))
        pyc = os.path.join(folder, "__pycache__",
                           "%s.cpython-%s.pyc" % (MODULE, release.replace(".", "")))
    with open(pyc, "wb") as f:
        f.write(data)
    return pyc


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def truth(python, folder):
    """What a user's import of the module gets: the class of its failure."""
    program = "import sys; sys.path.insert(0, sys.argv[1]); import " + MODULE
    try:
        done = subprocess.run([python, "-E", "-s", "-B", "-c", program, folder],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              preexec_fn=no_core, timeout=30)
    except subprocess.TimeoutExpired:
        return "timeout"
    if done.returncode < 0:
        return "interpreter_crash"
    if done.returncode == 0:
        return "ok"
    lines = [l for l in done.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
    last = lines[-1] if lines else ""
    kind = last.split(":", 1)[0].strip()
    if kind == "EOFError":
        return "eof"
    if kind == "ValueError" and "bad marshal data" in last:
        return "bad_marshal"
    if kind == "SystemError":
        return "code_error"
    return "other_error"


def verdicts(pycstorm, python, paths):
    done = subprocess.run([pycstorm, "classify", "--python", python] + paths,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True)
    found = {}
    current = None
    for line in done.stdout.splitlines():
        if line.startswith("file: "):
            current = line[6:]
        elif line.startswith("class: ") and current is not None:
            found[current] = line[7:]
    return [found.get(p, "no verdict (exit %d)" % done.returncode) for p in paths]


def agrees(real, said):
    if real == "ok":
        return said in ("ok", "stale")
    return real == said


def check_release(pycstorm, release, python, quick, work, verbose):
    old, new = images(python, release, work)
    items = corpus(old, new, release, quick)
    paths = []
    for i, (name, data) in enumerate(items):
        paths.append(lay_out(os.path.join(work, "case-%03d" % i), release, data))
    said = verdicts(pycstorm, python, paths)
    agree = 0
    dangerous_ok = []
    for (name, _), path, verdict in zip(items, paths, said):
        folder = os.path.dirname(path)
        if release != "2.7":
            folder = os.path.dirname(folder)
        real = truth(python, folder)
        if agrees(real, verdict):
            agree += 1
        elif verbose:
            print("# %s %s: the import gets %s, classify says %s" % (release, name, real, verdict))
        if real in ("interpreter_crash", "code_error") and verdict == "ok":
            dangerous_ok.append(name)
    return agree, len(items), dangerous_ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus per release")
    parser.add_argument("--pycstorm", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "bin", "pycstorm"))
    parser.add_argument("--python", action="append", default=[])
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    pythons = find_pythons(args.pycstorm, args.python)
    passed = failed = 0
    number = 0
    print("1..%d" % (2 * len(pythons)) if pythons else "1..0 # SKIP no interpreter found")
    for release in sorted(pythons, key=lambda r: [int(x) for x in r.split(".")]):
        work = tempfile.mkdtemp(prefix="pycstorm-fidelity-")
        try:
            agree, total, dangerous = check_release(args.pycstorm, release, pythons[release],
                                                    args.quick, work, args.verbose)
        finally:
            shutil.rmtree(work, True)
        for ok, text in ((agree >= AGREEMENT_MIN * total,
                          "%s: classify agrees with the real import on %d of %d files (%.1f%%)"
                          % (release, agree, total, 100.0 * agree / total)),
                         (not dangerous, "%s: no crash, abort or SystemError is called ok%s"
                          % (release, (" (called ok: %s)" % ", ".join(dangerous)) if dangerous else ""))):
            number += 1
            print("%s %d - %s" % ("ok" if ok else "not ok", number, text))
            passed += ok
            failed += not ok
        sys.stdout.flush()
    print("# %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
