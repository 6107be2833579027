# pycstorm interpreter worker: the same cycles as the embedded worker, run by
# a real pythonX.Y binary (the one a distro ships, linked its own way).
#
# It takes the embedded worker's options (WORKER_OPTIONS in
# runners/worker/worker.h), writes the same binary records to the orchestrator
# (runners/base/event.h), draws the same (module, version) sequence from the
# same seed (Rng below), and judges every read with the interpreter's own
# importlib functions (_classify_pyc, _validate_timestamp_pyc,
# _validate_hash_pyc, _compile_bytecode), so its verdicts are that binary's.
# C strategies run through ctypes from libpycstorm-strategies.so; `native`
# is this interpreter's SourceLoader._cache_bytecode (3.6+), or import.c's
# write_compiled_module (2.7).
#
# It runs under 2.7, 3.6 and 3.7+, so it keeps to the syntax they share;
# what differs by release is in the Pyc*Entry classes and the few helpers
# right below the imports.
import ctypes
import errno
import fcntl
import importlib
import json
import os
import pickle
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
import traceback

PY2 = sys.version_info[0] == 2
if PY2:
    import imp
    bootstrap = None
else:
    import importlib._bootstrap_external as bootstrap
    import importlib.util


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _clock_monotonic_ns():
    """CLOCK_MONOTONIC in ns, the orchestrator's clock for --deadline-ns,
    where time.monotonic_ns (3.7) is missing."""
    ts = _Timespec()
    if _clock_gettime(1, ctypes.byref(ts)) != 0:
        raise OSError(ctypes.get_errno(), "clock_gettime")
    return ts.tv_sec * 1000000000 + ts.tv_nsec


if hasattr(time, "monotonic_ns"):
    monotonic_ns = time.monotonic_ns
else:
    _clock_gettime = ctypes.CDLL(None, use_errno=True).clock_gettime
    monotonic_ns = _clock_monotonic_ns


def make_dirs(path):
    """os.makedirs(path, exist_ok=True), which 2.7 lacks."""
    try:
        os.makedirs(path)
    except OSError as e:
        if e.errno != errno.EEXIST:
            raise


def as_bytes(text):
    return text if isinstance(text, bytes) else text.encode("utf-8", "replace")


def le16(data):
    return struct.unpack("<H", data[:2])[0]

# @GENERATED-TABLES@
if "WORKER_OPTIONS" not in globals():
    raise SystemExit("pycstorm-driver: this is the source; run the built copy "
                     "(bin/pycstorm-driver.py), which has the tables make fills in")

# struct event_hdr and struct event_sample, little endian, as in event.h.
HDR = struct.Struct("<HBBBBBBIIQQ")
SAMPLE = struct.Struct("<IHBB")
HEARTBEAT_S = 1.0   # while waiting on the judge, a sign of life this often
assert HDR.size == EVENT_HDR_SIZE and SAMPLE.size == EVENT_SAMPLE_SIZE
SAMPLES_MAX = (EVENT_MAX - HDR.size) // SAMPLE.size
MASK64 = (1 << 64) - 1


def mix64(x):
    """splitmix64's finaliser, as mix64() in runners/base/common.c."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def derive_seed(seed, a, b, c):
    """A seed for (seed, a, b, c), as derive_seed() in common.c."""
    return mix64(mix64(mix64(mix64(seed) ^ a) ^ b) ^ c)


class Rng:
    """xorshift64*, seeded through mix64: struct rng in common.c, step for
    step, so a seed picks the same (module, version) sequence in both runners."""

    def __init__(self, seed):
        self.s = mix64(seed & MASK64) | 1

    def next(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & MASK64
        s ^= s >> 27
        self.s = s
        return (s * 0x2545F4914F6CDD1D) & MASK64

    def range(self, lo, hi):
        """[lo, hi], as rng_range(): no draw at all when hi <= lo."""
        if hi <= lo:
            return lo
        return lo + self.next() % (hi - lo + 1)


def source_mtime(version):
    """The same fixed mtimes the embedded worker uses (worker.h)."""
    return WORKER_MTIME_BASE + WORKER_MTIME_STEP * version


def exception_line(exc):
    """The last line of the traceback, exactly as the interpreter prints it."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


class Channel:
    """Records to the orchestrator, written whole past every preload."""

    def __init__(self, fd, lib):
        self.fd = fd
        self.lib = lib
        self.samples = []
        self.last_flush = monotonic_ns()

    def send(self, kind, text=b"", op=0, outcome=0, module=0, cycle=0, latency=0, count=0):
        text = text[:EVENT_MAX - HDR.size]
        record = HDR.pack(HDR.size + len(text), EVENT_MAGIC, kind, op, outcome, module, 0,
                          count, 0, cycle, latency) + text
        self.lib.pycstorm_event_write(self.fd, record, len(record))

    def heartbeat(self):
        """An empty batch: a record that says this worker is alive."""
        self.flush()
        self.send(EV_SAMPLES, count=0)

    def flush(self):
        if self.samples:
            body = b"".join(SAMPLE.pack(lat & 0xFFFFFFFF, (lat >> 32) & 0xFFFF, op, outcome)
                            for op, outcome, lat in self.samples)
            self.send(EV_SAMPLES, body, count=len(self.samples))
            self.samples = []
        self.last_flush = monotonic_ns()

    def sample(self, op, outcome, latency, eager):
        self.samples.append((op, outcome, latency))
        if eager or len(self.samples) >= SAMPLES_MAX or \
                monotonic_ns() - self.last_flush > WORKER_FLUSH_NS:
            self.flush()

    def cycle_line(self, op, outcome, module, cycle, latency, error, evidence=""):
        self.flush()
        self.send(EV_CYCLE, as_bytes(error)[:2000] + b"\0" +
                  as_bytes(evidence), op, outcome, module, cycle, latency)


def parse_args(argv):
    """The options as text, with WORKER_OPTIONS' defaults; lists as lists."""
    kinds = dict((name, kind) for name, kind, _, _ in WORKER_OPTIONS)
    args = dict((name, default) for name, _, default, _ in WORKER_OPTIONS
                if default is not None)
    args.update((name, []) for name, kind in kinds.items() if kind == "LIST")
    if len(argv) % 2:
        raise SystemExit("pycstorm-driver: options come in '--name value' pairs")
    for name, value in zip(argv[::2], argv[1::2]):
        if not name.startswith("--") or name[2:] not in kinds:
            raise SystemExit("pycstorm-driver: bad option %r" % name)
        if kinds[name[2:]] == "LIST":
            args[name[2:]].append(value)
        else:
            args[name[2:]] = value
    for name, _, _, required in WORKER_OPTIONS:
        if required and not args.get(name):
            raise SystemExit("pycstorm-driver: needs --%s" % name)
    return args


def compile_fixture(name, source, path):
    """A module version's code; a fixture this release cannot compile is the
    scenario's problem, said in one line (2.7 runs need 2.7 syntax: legacy)."""
    try:
        return compile(source, path, "exec", 0, True)
    except SyntaxError as e:
        raise BadInput("module '%s' does not compile under Python %d.%d (%s); pick modules "
                       "in syntax this release reads, such as legacy" % (
                           name, sys.version_info[0], sys.version_info[1], exception_line(e)))


class PycEntry(object):
    """A module's .pyc in __pycache__, judged exactly as importlib's get_code."""

    kind = "pyc"
    header_size = 16

    def __init__(self, spec, cache_dir, pyc_mode):
        name, _, paths = spec.partition(":")
        self.name = name
        self.source_path = os.path.join(cache_dir, name + ".py")
        self.path = self.cache_path()
        self.loader = None if PY2 else bootstrap.SourceFileLoader(name, self.source_path)
        self.sources, self.images, self.stamps, self.codes = [], [], [], []
        self.last_code = None      # what the last accepted read unmarshalled to
        for v, path in enumerate(paths.split(",")[:WORKER_MAX_VERSIONS]):
            with open(path, "rb") as f:
                source = f.read()
            code = compile_fixture(name, source, self.source_path)
            mtime = source_mtime(v)
            if pyc_mode != "timestamp" and sys.version_info < (3, 7):
                raise BadInput("pyc = %s needs Python 3.7 or later (PEP 552)" % pyc_mode)
            self.sources.append(source)
            self.codes.append(code)
            self.images.append(bytes(self.image(code, mtime, source, pyc_mode)))
            self.stamps.append((mtime, len(source), self.source_hash(source)))

    def cache_path(self):
        return importlib.util.cache_from_source(self.source_path)

    def damaged(self, data):
        """Did the reader accept something none of the writers wrote? The
        bytes first (the hot path's cost); before 3.11 marshal's output
        may differ between processes (its references follow refcounts), so
        bytes that differ are then compared as code, as the judge does."""
        return data not in self.images and self.last_code not in self.codes

    def image(self, code, mtime, source, pyc_mode):
        if pyc_mode == "timestamp":
            return bootstrap._code_to_timestamp_pyc(code, mtime, len(source))
        return bootstrap._code_to_hash_pyc(code, importlib.util.source_hash(source),
                                           pyc_mode == "checked-hash")

    def source_hash(self, source):
        return importlib.util.source_hash(source)

    def native_write(self, image):
        self.loader._cache_bytecode(self.source_path, self.path, image)

    def judge(self, data):
        """(outcome, error text, version) exactly as importlib's get_code decides."""
        details = {"name": self.name, "path": self.path}
        try:
            flags = bootstrap._classify_pyc(data, self.name, details)
        except (ImportError, EOFError):
            return STALE, "", -1
        version = -1
        for v, (mtime, size, source_hash) in enumerate(self.stamps):
            try:
                if flags & 0b1:
                    if flags & 0b10:
                        bootstrap._validate_hash_pyc(data, source_hash, self.name, details)
                    elif data[8:16] != source_hash:
                        continue
                else:
                    bootstrap._validate_timestamp_pyc(data, mtime, size, self.name, details)
            except ImportError:
                continue
            version = v
            break
        if version < 0 and not (flags & 0b1 and not flags & 0b10):
            return STALE, "", -1
        return self.unmarshal(data, version)

    def unmarshal(self, data, version):
        """The body, as importlib's _compile_bytecode reads it."""
        try:
            self.last_code = bootstrap._compile_bytecode(
                memoryview(data)[self.header_size:], self.name, self.path, self.source_path)
        except EOFError as e:
            return EOF, exception_line(e), version
        except ValueError as e:
            line = exception_line(e)
            return (BAD_MARSHAL if line.startswith("ValueError: bad marshal data") else
                    OTHER_ERROR), line, version
        except Exception as e:
            return OTHER_ERROR, exception_line(e), version
        return OK, "", version

    def keep(self, folder, data, version):
        """The failing bytes beside the source its header names: `import NAME` there fails."""
        self.lay_out(folder, data, version)
        return "import %s" % self.name

    def lay_out(self, folder, data, version):
        """NAME.py of that version and data where this release looks for its
        cache; the cache file's path."""
        v = max(version, 0)
        make_dirs(folder)
        source = os.path.join(folder, self.name + ".py")
        with open(source, "wb") as f:
            f.write(self.sources[v])
        os.utime(source, (self.stamps[v][0], self.stamps[v][0]))
        pyc = self.cache_path_for(source)
        make_dirs(os.path.dirname(pyc))
        with open(pyc, "wb") as f:
            f.write(data)
        return pyc

    def cache_path_for(self, source):
        return importlib.util.cache_from_source(source)


class Pyc36Entry(PycEntry):
    """3.6: a 12-byte header (magic, mtime, size), checked by importlib's
    _validate_bytecode_header; no hash-based pycs."""

    header_size = 12

    def image(self, code, mtime, source, pyc_mode):
        return bootstrap._code_to_bytecode(code, mtime, len(source))

    def source_hash(self, source):
        return None

    def judge(self, data):
        version = -1
        for v, (mtime, size, _) in enumerate(self.stamps):
            try:
                bootstrap._validate_bytecode_header(data, source_stats={"mtime": mtime, "size": size},
                                                    name=self.name, path=self.path)
            except (ImportError, EOFError):
                continue
            version = v
            break
        if version < 0:
            return STALE, "", -1
        return self.unmarshal(data, version)


class Pyc27Entry(PycEntry):
    """2.7: NAME.pyc beside the source (no __pycache__), an 8-byte header
    (magic, mtime). import.c's check_compiled_module recompiles on a wrong
    magic or mtime, and read_compiled_module's marshal errors fail the
    import. `native` is import.c's own write_compiled_module, reached the
    only way Python code can: imp.load_source on a file object whose fstat
    gives the version's mtime."""

    header_size = 8

    def __init__(self, spec, cache_dir, pyc_mode):
        PycEntry.__init__(self, spec, cache_dir, pyc_mode)
        # each version's text with its mtime, outside the faults' reach
        folder = os.path.join(os.path.dirname(cache_dir), ".state",
                              "py27-sources-%s-%d" % (self.name, os.getpid()))
        make_dirs(folder)
        self.version_files = []
        for v, source in enumerate(self.sources):
            path = os.path.join(folder, "v%d.py" % (v + 1))
            with open(path, "wb") as f:
                f.write(source)
            os.utime(path, (self.stamps[v][0], self.stamps[v][0]))
            self.version_files.append(path)

    def cache_path(self):
        return self.source_path + "c"

    def cache_path_for(self, source):
        return source + "c"

    def image(self, code, mtime, source, pyc_mode):
        return imp.get_magic() + struct.pack("<I", mtime) + marshal_dumps(code)

    def source_hash(self, source):
        return None

    def native_write(self, image):
        with open(self.version_files[self.images.index(image)], "U") as f:
            try:
                imp.load_source(self.name, self.source_path, f)
            finally:
                sys.modules.pop(self.name, None)

    def judge(self, data):
        if len(data) < 8 or data[:4] != imp.get_magic():
            return STALE, "", -1
        mtime = struct.unpack("<I", data[4:8])[0]
        versions = [v for v, stamp in enumerate(self.stamps) if stamp[0] == mtime]
        if not versions:
            return STALE, "", -1
        try:
            code = marshal_loads(data[8:])
        except EOFError as e:
            return EOF, exception_line(e), versions[0]
        except ValueError as e:
            line = exception_line(e)
            return (BAD_MARSHAL if line.startswith("ValueError: bad marshal data") else
                    OTHER_ERROR), line, versions[0]
        except Exception as e:
            return OTHER_ERROR, exception_line(e), versions[0]
        if not hasattr(code, "co_code"):
            return OTHER_ERROR, "ImportError: Non-code object in %s" % self.path, versions[0]
        self.last_code = code
        return OK, "", versions[0]


def marshal_dumps(code):
    import marshal
    return marshal.dumps(code)


def marshal_loads(data):
    import marshal
    return marshal.loads(data)


def pyc_entry_class():
    """The cache file layout and rules of the running release."""
    if PY2:
        return Pyc27Entry
    if sys.version_info < (3, 7):
        return Pyc36Entry
    return PycEntry


class JsonEntry:
    """A mypy-style JSON cache file (.mypy_cache/X.Y/NAME.data.json), read the way
    mypy reads it: a file that does not parse is ignored and rebuilt."""

    kind = "json"

    def __init__(self, spec, cache_dir, pyc_mode):
        name, _, paths = spec.partition(":")
        self.name = name
        self.path = os.path.join(cache_dir, ".mypy_cache", "%d.%d" % sys.version_info[:2],
                                 name + ".data.json")
        make_dirs(os.path.dirname(self.path))
        self.images = []
        for v, path in enumerate(paths.split(",")[:WORKER_MAX_VERSIONS]):
            with open(path, "rb") as f:
                source = f.read()
            code = compile(source, name + ".py", "exec", dont_inherit=True)
            names = sorted(set(code.co_names) | {c.co_name for c in code.co_consts
                                                  if hasattr(c, "co_name")})
            data = {".class": "MypyFile", "_fullname": name, "version": v + 1,
                    "mtime": source_mtime(v), "size": len(source),
                    "names": {n: {".class": "SymbolTableNode", "kind": "Gdef",
                                  "node": "%s.%s" % (name, n)} for n in names}}
            self.images.append(json.dumps(data, indent=1, sort_keys=True).encode())
        self.texts = set(self.images)

    def native_write(self, image):
        # The interpreter's own atomic writer, the one importlib uses.
        bootstrap._write_atomic(self.path, image)

    def judge(self, data):
        try:
            json.loads(data)
        except ValueError as e:
            return STALE, exception_line(e) + " (mypy ignores the cache entry)", -1
        return (OK, "", -1) if data in self.texts else (STALE, "", -1)

    def keep(self, folder, data, version):
        os.makedirs(folder)
        with open(os.path.join(folder, os.path.basename(self.path)), "wb") as f:
            f.write(data)
        return "import json; json.load(open('%s'))" % os.path.basename(self.path)


class PickleEntry:
    """Twisted's plugin cache, twisted/plugins/dropin.cache: a pickle of what each
    plugin module provides. getCache() treats any unpickling error as an empty
    cache, and then imports every plugin module at start-up to rebuild it."""

    kind = "pickle"

    def __init__(self, specs, cache_dir, pyc_mode):
        self.name = "dropin.cache"
        self.path = os.path.join(cache_dir, "twisted", "plugins", "dropin.cache")
        make_dirs(os.path.dirname(self.path))
        self.sources = []
        versions = None
        for spec in specs:
            name, _, paths = spec.partition(":")
            paths = paths.split(",")[:WORKER_MAX_VERSIONS]
            versions = len(paths) if versions is None else min(versions, len(paths))
            self.sources.append((name, paths))
        self.images = []
        for v in range(versions or 1):
            cache = {}
            for name, paths in self.sources:
                with open(paths[v], "rb") as f:
                    code = compile(f.read(), name + ".py", "exec", dont_inherit=True)
                cache[name] = {"moduleName": "twisted.plugins." + name, "version": v + 1,
                               "plugins": sorted(set(code.co_names))}
            self.images.append(pickle.dumps(cache, protocol=2))
        self.texts = set(self.images)

    def native_write(self, image):
        # The interpreter's own atomic writer, the one importlib uses.
        bootstrap._write_atomic(self.path, image)

    def rebuild(self):
        """The start-up import a missing or unreadable cache costs."""
        for name, paths in self.sources:
            with open(paths[0], "rb") as f:
                compile(f.read(), name + ".py", "exec", dont_inherit=True)

    def judge(self, data):
        try:
            pickle.loads(data)
        except Exception as e:
            return STALE, exception_line(e) + " (Twisted treats it as empty and rebuilds)", -1
        return (OK, "", -1) if data in self.texts else (STALE, "", -1)

    def keep(self, folder, data, version):
        os.makedirs(folder)
        with open(os.path.join(folder, "dropin.cache"), "wb") as f:
            f.write(data)
        return "import pickle; pickle.load(open('dropin.cache', 'rb'))"


class PackageWorkload:
    """Gentoo bug 663324: a package merged file by file (its entry point first)
    while other jobs resolve the entry point and import it. Compile workers
    merge and unmerge; import workers import. merge-wait takes a lock around
    each merge (exclusive) and each import (shared)."""

    PACKAGE = "stormplugin"

    def __init__(self, driver, specs, cache_dir):
        self.d = driver
        self.site = os.path.join(cache_dir, "site")
        make_dirs(self.site)
        self.lock_path = os.path.join(cache_dir, "merge.lock")
        self.wait = driver.strategy == "merge-wait"
        names = [spec.partition(":")[0] for spec in specs]
        files = {"__init__.py": "".join("from . import %s\n" % n for n in names).encode()}
        for spec in specs:
            name, _, paths = spec.partition(":")
            with open(paths.split(",")[0], "rb") as f:
                files[name + ".py"] = f.read()
        self.meta = os.path.join(self.site, self.PACKAGE + "-1.0.dist-info", "entry_points.txt")
        self.files = [(os.path.join(self.site, self.PACKAGE, n), data)
                      for n, data in sorted(files.items(), key=lambda kv: kv[0] != "__init__.py")]
        self.target = "%s.%s" % (self.PACKAGE, names[0])
        if self.site not in sys.path:
            sys.path.insert(0, self.site)

    def locked(self, shared):
        """A context holding the merge lock under merge-wait, nothing otherwise."""
        workload = self

        class Lock:
            def __enter__(self):
                self.fd = None
                if workload.wait:
                    self.fd = os.open(workload.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
                    fcntl.flock(self.fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)

            def __exit__(self, *exc):
                if self.fd is not None:
                    os.close(self.fd)
        return Lock()

    def place(self, path, data):
        """Each file appears whole (portage moves a finished copy into place)."""
        make_dirs(os.path.dirname(path))
        tmp = "%s.%d.tmp" % (path, os.getpid())
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def merge_cycle(self, cycle):
        t0 = monotonic_ns()
        with self.locked(shared=False):
            if cycle % 2 == 0:   # merge: metadata first, then the files one by one
                self.place(self.meta, b"[storm.plugins]\nmain = %s\n" % self.target.encode())
                for path, data in self.files:
                    time.sleep(self.d.random_below(1000) / 1e6)
                    self.place(path, data)
            else:                # unmerge: the files, then the metadata
                for path in [p for p, _ in self.files] + [self.meta]:
                    time.sleep(self.d.random_below(1000) / 1e6)
                    try:        # another merge job may have been first
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
        self.d.chan.sample(OP_COMPILE, OK, monotonic_ns() - t0, self.d.eager)
        return OK

    def import_cycle(self, cycle):
        t0 = monotonic_ns()
        error = evidence = ""
        with self.locked(shared=True):
            try:
                with open(self.meta) as f:
                    target = f.read().split("=", 1)[1].strip()
            except (OSError, IndexError):
                outcome, target = MISSING, None   # not installed: no plugin to load
            if target:
                outcome, error = self.try_import(self.site, target)
                if outcome in EVIDENCE_OUTCOMES:
                    evidence = self.keep_evidence(outcome, cycle, error, target)
        latency = monotonic_ns() - t0
        if error:
            self.d.chan.cycle_line(OP_IMPORT, outcome, 0, cycle, latency, error, evidence)
        else:
            self.d.chan.sample(OP_IMPORT, outcome, latency, self.d.eager)
        return outcome

    def try_import(self, site, target):
        """Import target afresh from site: (outcome, error text)."""
        for name in [m for m in sys.modules if m.split(".")[0] == self.PACKAGE]:
            del sys.modules[name]
        sys.path[sys.path.index(self.site)] = site
        importlib.invalidate_caches()
        try:
            importlib.import_module(target)
            return OK, ""
        except ImportError as e:
            return MODULE_NOT_FOUND, exception_line(e)
        except Exception as e:
            return OTHER_ERROR, exception_line(e)
        finally:
            sys.path[sys.path.index(site)] = self.site

    def snapshot(self, folder):
        """Copy the site as it is now; a merge job may remove files meanwhile."""
        for top, dirs, files in os.walk(self.site):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            rel = os.path.relpath(top, self.site)
            make_dirs(os.path.join(folder, rel))
            for name in files:
                if name.endswith(".tmp"):
                    continue
                try:
                    shutil.copyfile(os.path.join(top, name), os.path.join(folder, rel, name))
                except FileNotFoundError:
                    pass

    def keep_evidence(self, outcome, cycle, error, target):
        """Snapshot the half-merged site, but only if it still lacks what was missing."""
        folder = self.d.claim_evidence(outcome, cycle)
        if not folder:
            return ""
        self.snapshot(folder)
        # The merge may have moved on since the failure: keep the snapshot
        # only if importing from it fails the same way (paths aside).
        _, again = self.try_import(folder, target)
        if again.replace(folder, self.site) != error:
            shutil.rmtree(folder)
            self.d.release_evidence(outcome)
            return ""
        self.d.write_readme(folder, outcome, error, cycle, "import %s" % target)
        return os.path.basename(folder)


class Driver:
    def __init__(self, args):
        self.a = args
        lib = args.get("strategies-lib") or None   # None: this very binary (embedded runner)
        self.lib = ctypes.CDLL(lib)
        self.lib.pycstorm_strategy_write.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
            ctypes.c_uint64, ctypes.c_uint64, ctypes.c_char_p, ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_int)]
        self.lib.pycstorm_event_write.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
        self.lib.pycstorm_strategy_seed.argtypes = [ctypes.c_uint64]
        self.lib.pycstorm_strategy_seed(int(args["seed"]))
        self.chan = Channel(int(args["event-fd"]), self.lib)
        self.strategy = args["strategy"]
        self.worker = int(args["worker"])
        self.seed = int(args["seed"])
        self.evidence_full = set()
        self.claimed = {}
        # The inject library, when preloaded, is in the global namespace.
        main = ctypes.CDLL(None)
        self.inject_cycle = getattr(main, "pycstorm_inject_cycle", None)
        if self.inject_cycle:
            self.inject_cycle.argtypes = [ctypes.c_uint64]
        self.inject_failures = getattr(main, "pycstorm_inject_failures", None)
        if self.inject_failures:
            self.inject_failures.restype = ctypes.c_uint64
        if os.environ.get("PYCSTORM_FAULTS") and not self.inject_cycle:
            # ld.so skips a preload it cannot load: faults would silently not happen
            raise RuntimeError("faults are armed but the inject library is not loaded "
                               "(is libfiu installed? Debian: libfiu0)")
        # A crash fault kills us without warning: then send every cycle at once.
        self.eager = "crash" in os.environ.get("PYCSTORM_FAULTS", "")
        self.file_write = None
        if self.strategy.startswith("file:"):
            namespace = {"__name__": "pycstorm_strategy_file"}
            path = self.strategy[5:]
            with open(path, "rb") as f:
                exec(compile(f.read(), path, "exec"), namespace)
            self.file_write = namespace.get("write")
            if not callable(self.file_write):
                raise BadInput("strategy file '%s' defines no write(path, data)" % path)
        # The cycle's choices; the C strategies draw from their own stream
        # (pycstorm_strategy_seed), as in the embedded worker.
        self.rng = Rng(self.seed)
        self.trace = None
        if args.get("trace"):
            self.trace = open(args["trace"], "a", buffering=1)
        kinds = args.get("cache-kind", "pyc").split(",")
        self.package = None
        self.entries = []
        if "package" in kinds:
            self.package = PackageWorkload(self, args["module"], args["cache"])
        for kind in kinds:
            if kind == "pyc":
                entry = pyc_entry_class()
                self.entries += [entry(s, args["cache"], args["pyc"]) for s in args["module"]]
            elif kind == "json":
                self.entries += [JsonEntry(s, args["cache"], args["pyc"]) for s in args["module"]]
            elif kind == "pickle":
                self.entries.append(PickleEntry(args["module"], args["cache"], args["pyc"]))

    def random_below(self, n):
        return self.rng.range(0, n - 1)

    def trace_cycle(self, cycle, op, name, version, outcome):
        """--trace: "CYCLE OP MODULE VERSION OUTCOME", as the embedded worker writes."""
        if self.trace:
            self.trace.write("%d %s %s %s %s\n" % (
                cycle, OP_NAMES[op], name, "-" if version < 0 else "v%d" % (version + 1),
                OUTCOME_NAMES[outcome]))

    def hello(self):
        text = ("runner=%s\npython_version=%s\npython_executable=%s\npid=%d\n"
                "magic=%d\ncache_tag=%s\n" % (
                    self.a["runner"],
                    sys.version.replace("\n", " "), sys.executable, os.getpid(),
                    le16(imp.get_magic() if PY2 else importlib.util.MAGIC_NUMBER),
                    "" if PY2 else sys.implementation.cache_tag))
        self.chan.send(EV_HELLO, as_bytes(text))

    def strategy_name(self):
        return os.path.basename(self.strategy[5:]) if self.file_write else self.strategy

    # ---- writes ------------------------------------------------------------

    def write_with_strategy(self, entry, image):
        """(status, errno, error text) for one write of image to entry.path."""
        failures = self.inject_failures() if self.inject_failures else 0
        if self.strategy == "native" or self.file_write:
            try:
                if self.file_write:
                    self.file_write(entry.path, image)
                else:
                    entry.native_write(image)
            except OSError as e:
                return WRITE_RAISED, e.errno or 0, exception_line(e)
            except Exception as e:
                return WRITE_RAISED, 0, exception_line(e)
            if self.inject_failures and self.inject_failures() != failures:
                return WRITE_SWALLOWED, 0, "OSError swallowed by importlib set_data"
            return WRITE_DONE, 0, ""
        error = ctypes.create_string_buffer(320)
        err = ctypes.c_int(0)
        status = self.lib.pycstorm_strategy_write(
            self.strategy.encode(), entry.path.encode(), image, len(image), 0o644,
            int(self.a["tmp-id"]), int(self.a["retry-budget-ns"]), error, len(error),
            ctypes.byref(err))
        if status < 0:
            raise BadInput("strategy '%s' does not write cache files" % self.strategy)
        return status, err.value, error.value.decode("utf-8", "replace")

    def write_cycle(self, op, ei, v, cycle):
        entry = self.entries[ei]
        t0 = monotonic_ns()
        status, err, text = self.write_with_strategy(entry, entry.images[v])
        latency = monotonic_ns() - t0
        if status == WRITE_DONE:
            outcome = OK
        elif status == WRITE_SWALLOWED:
            outcome = STALE
        else:
            outcome = PERMISSION_ERROR if err in (errno.EACCES, errno.EPERM) else OTHER_ERROR
        if text:
            self.chan.cycle_line(op, outcome, ei, cycle, latency, text)
        else:
            self.chan.sample(op, outcome, latency, self.eager)
        return outcome

    # ---- evidence --------------------------------------------------------------

    def claim_evidence(self, outcome, cycle):
        """A folder of our own for this failure, or None once the class has enough."""
        if not self.a.get("evidence") or outcome in self.evidence_full:
            return None
        name = OUTCOME_NAMES[outcome]
        for k in range(int(self.a["evidence-max"])):
            slot = os.path.join(self.a["evidence"], ".slots", "%s-%s-%d" % (
                self.strategy_name(), name, k))
            try:
                os.mkdir(slot)
            except OSError:
                continue
            self.claimed[outcome] = slot
            return os.path.join(self.a["evidence"], "%s-%s-%d-w%d-c%d" % (
                self.strategy_name(), name, k, self.worker, cycle))
        self.evidence_full.add(outcome)
        return None

    def release_evidence(self, outcome):
        os.rmdir(self.claimed.pop(outcome))

    def write_readme(self, folder, outcome, error, cycle, statement):
        with open(os.path.join(folder, "README"), "w") as f:
            f.write("strategy: %s\nclass: %s\nerror: %s\nfound by: worker %d, cycle %d, seed %d\n"
                    "check: %s\ninterpreter: %s\nreproduce: cd into this folder and run: "
                    "%s -B -c \"import sys; sys.path.insert(0, '.'); %s\"\n" % (
                        self.strategy_name(), OUTCOME_NAMES[outcome], error, self.worker,
                        cycle, self.seed, statement, sys.executable, sys.executable, statement))

    def keep_evidence(self, outcome, entry, version, data, cycle, error):
        folder = self.claim_evidence(outcome, cycle)
        if not folder:
            return ""
        statement = entry.keep(folder, data, version)
        self.write_readme(folder, outcome, error, cycle, statement)
        return os.path.basename(folder)

    # ---- the run step ------------------------------------------------------

    def run_step(self, entry, version, data):
        """A reader accepted bytes that are none of the module's images:
        damage that unmarshalled (a zero block in the bytecode, a torn
        mix). Only running the code tells whether an import survives it, so
        the file goes to pycstorm-judge.py --run, run by this interpreter in
        a fresh process, laid out with the source version its header names
        in a scratch folder under the cache root's .state (out of the
        faults' reach). Its class and evidence; ok when the code runs."""
        folder = os.path.join(os.path.dirname(self.a["cache"]), ".state", "judge-%s-w%d" % (
            self.strategy_name(), self.worker))
        shutil.rmtree(folder, True)
        try:
            pyc = entry.lay_out(folder, data, version)
            status, report = self.spawn_judge(pyc)
        finally:
            shutil.rmtree(folder, True)
        if status not in (0, 1):
            return OTHER_ERROR, "the judge %s exited with status %s" % (judge_program(), status)
        found, error = None, ""
        for line in report.splitlines():
            if line.startswith("class: "):
                found = line[7:].strip()
            elif line.startswith("error: "):
                error = line[7:]
        if found not in OUTCOME_NAMES:
            return OTHER_ERROR, "the judge gave no verdict"
        outcome = OUTCOME_NAMES.index(found)
        if outcome == OK:
            return OK, ""
        return outcome, error.replace(folder, self.a["cache"])

    def spawn_judge(self, pyc):
        """(exit status, stdout) of `python judge.py --run pyc`, without our
        preload or variables. posix_spawn where there is one: inside the
        embedded worker this interpreter must not be forked."""
        argv = [sys.executable, "-E", "-s", judge_program(), "--run", pyc]
        env = dict((k, v) for k, v in os.environ.items()
                   if k != "LD_PRELOAD" and not k.startswith("PYCSTORM_"))
        if not hasattr(os, "posix_spawn"):
            child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(os.devnull, "w"),
                                     close_fds=True, env=env)
            out = self.read_judge(child.stdout.fileno())
            child.wait()
            return child.returncode, out
        r, w = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r),
                   (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
        if int(self.a["event-fd"]) > 2:
            actions.append((os.POSIX_SPAWN_CLOSE, int(self.a["event-fd"])))
        try:
            pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        finally:
            os.close(w)
        out = self.read_judge(r)
        os.close(r)
        status = os.waitpid(pid, 0)[1]
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        return code, out

    def read_judge(self, fd):
        """All the judge prints on fd. It may take seconds (a slow or hanging
        import, up to the judge's own bound): meanwhile this worker says it
        is alive, or the orchestrator would kill it as hung."""
        chunks = []
        while True:
            try:
                ready = select.select([fd], [], [], HEARTBEAT_S)[0]
            except select.error as e:   # EINTR on 2.7 and 3.4
                if e.args[0] != errno.EINTR:
                    raise
                continue
            if not ready:
                self.chan.heartbeat()
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    # ---- reads ---------------------------------------------------------------

    def read_cycle(self, ei, cycle, op=OP_IMPORT):
        entry = self.entries[ei]
        t0 = monotonic_ns()
        error, version, data = "", -1, b""
        try:
            with open(entry.path, "rb") as f:
                data = f.read()
        except (IOError, OSError) as e:
            if e.errno == errno.ENOENT:
                outcome = MISSING
            else:
                # importlib (and mypy, and Twisted) treat an unreadable cache as absent.
                outcome, error = STALE, exception_line(e) + " (ignored: rebuilt from source)"
        else:
            outcome, error, version = entry.judge(data)
        latency = monotonic_ns() - t0
        # a reader's latency is the read; the run step comes after it
        if outcome == OK and entry.kind == "pyc" and entry.damaged(data):
            outcome, error = self.run_step(entry, version, data)
        evidence = ""
        if outcome in EVIDENCE_OUTCOMES:
            evidence = self.keep_evidence(outcome, entry, version, data, cycle, error)
        if error:
            self.chan.cycle_line(op, outcome, ei, cycle, latency, error, evidence)
        else:
            self.chan.sample(op, outcome, latency, self.eager)
        return outcome

    def run(self, stop):
        iterations = int(self.a["iterations"])
        deadline = int(self.a["deadline-ns"])
        if not deadline and int(self.a["duration-ns"]):
            # -d counts from the hello on, as in the embedded worker
            deadline = monotonic_ns() + int(self.a["duration-ns"])
        compile_role = self.a["role"] == "compile"
        if self.a["role"] == "recover":
            # after a power cut: every cache file once, writing nothing
            for ei in range(len(self.entries)):
                outcome = self.read_cycle(ei, ei, OP_RECOVER)
                self.trace_cycle(ei, OP_RECOVER, self.entries[ei].name, -1, outcome)
            self.finish()
            return
        import_writes = self.a["import-writes"] != "0"
        cycle = 0
        while not stop():
            if iterations and cycle >= iterations:
                break
            if deadline and monotonic_ns() >= deadline:
                break
            if self.inject_cycle:
                self.inject_cycle(cycle)
            if self.package:
                if compile_role:
                    outcome = self.package.merge_cycle(cycle)
                else:
                    outcome = self.package.import_cycle(cycle)
                self.trace_cycle(cycle, OP_COMPILE if compile_role else OP_IMPORT,
                                 self.package.PACKAGE, -1, outcome)
                cycle += 1
                continue
            # The same draws as run_cycles() in worker.c.
            ei = self.rng.range(0, len(self.entries) - 1)
            v = (cycle + self.worker) % len(self.entries[ei].images)
            if compile_role:
                outcome = self.write_cycle(OP_COMPILE, ei, v, cycle)
                self.trace_cycle(cycle, OP_COMPILE, self.entries[ei].name, v, outcome)
                cycle += 1
                continue
            outcome = self.read_cycle(ei, cycle)
            self.trace_cycle(cycle, OP_IMPORT, self.entries[ei].name, v, outcome)
            if outcome in (STALE, MISSING) and import_writes:
                if hasattr(self.entries[ei], "rebuild"):
                    self.entries[ei].rebuild()
                outcome = self.write_cycle(OP_WRITE, ei, v, cycle)
                self.trace_cycle(cycle, OP_WRITE, self.entries[ei].name, v, outcome)
            cycle += 1
        self.finish()

    def finish(self):
        self.chan.flush()
        if self.trace:
            self.trace.close()
        self.chan.send(EV_BYE)


class BadInput(Exception):
    """What the worker was given cannot be used: the run stops with exit 2."""


def judge_program():
    """pycstorm-judge.py, installed beside the built driver."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "pycstorm-judge.py")


def main(argv):
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # However this interpreter was started, the caches are to be written.
    sys.dont_write_bytecode = False
    args = parse_args(argv)
    driver = None
    try:
        driver = Driver(args)
    except BadInput as e:
        text = ("bad input: %s" % e).encode()
        record = HDR.pack(HDR.size + len(text), EVENT_MAGIC, EV_FATAL, 0, 0, 0, 0, 0, 0, 0, 0)
        os.write(int(args.get("event-fd", EVENT_FD)), record + text)
        return 2
    except Exception as e:
        text = ("cannot start the interpreter worker: " + exception_line(e)).encode()
        record = HDR.pack(HDR.size + len(text), EVENT_MAGIC, EV_FATAL, 0, 0, 0, 0, 0, 0, 0, 0)
        os.write(int(args.get("event-fd", EVENT_FD)), record + text)
        return 77
    driver.hello()
    driver.run(lambda: bool(stopping))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
