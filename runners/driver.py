# pycstorm interpreter worker: the same cycles as the embedded worker, run by
# a real pythonX.Y binary (the one a distro ships, linked its own way).
#
# It takes the embedded worker's options (runners/worker-args.c) plus
# --strategies-lib, writes the same binary records to the orchestrator
# (runners/event.h), and judges every read with the interpreter's own
# importlib functions (_classify_pyc, _validate_timestamp_pyc,
# _validate_hash_pyc, _compile_bytecode), so its verdicts are that binary's.
# C strategies run through ctypes from libpycstorm-strategies.so; `native`
# is this interpreter's SourceLoader._cache_bytecode.
import ctypes
import errno
import importlib._bootstrap_external as bootstrap
import importlib.util
import marshal
import os
import signal
import struct
import sys
import time
import traceback

# struct event_hdr and struct event_sample, little endian, as in event.h.
HDR = struct.Struct("<HBBBBBBIIQQ")
SAMPLE = struct.Struct("<IHBB")
EVENT_MAGIC = 0xA5
EVENT_MAX = 4096
EV_HELLO, EV_SAMPLES, EV_CYCLE, EV_FAULT, EV_BYE, EV_FATAL = range(1, 7)
OP_COMPILE, OP_IMPORT, OP_WRITE = range(3)
(OK, STALE, MISSING, BAD_MARSHAL, EOF, PERMISSION_ERROR, MODULE_NOT_FOUND,
 OTHER_ERROR) = range(8)
OUTCOME_NAMES = ["ok", "stale", "missing", "bad_marshal", "eof", "permission_error",
                 "module_not_found", "other_error"]
WRITE_DONE, WRITE_RAISED, WRITE_SWALLOWED = range(3)
SAMPLES_MAX = (EVENT_MAX - HDR.size) // SAMPLE.size
FLUSH_NS = 20_000_000


def source_mtime(version):
    """The same fixed mtimes the embedded worker uses (worker.h)."""
    return 1700000000 + 86400 * version


def exception_line(exc):
    """The last line of the traceback, exactly as the interpreter prints it."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


class Channel:
    """Records to the orchestrator, written whole past every preload."""

    def __init__(self, fd, lib):
        self.fd = fd
        self.lib = lib
        self.samples = []
        self.last_flush = time.monotonic_ns()

    def send(self, kind, text=b"", op=0, outcome=0, module=0, cycle=0, latency=0, count=0):
        text = text[:EVENT_MAX - HDR.size]
        record = HDR.pack(HDR.size + len(text), EVENT_MAGIC, kind, op, outcome, module, 0,
                          count, 0, cycle, latency) + text
        self.lib.pycstorm_event_write(self.fd, record, len(record))

    def flush(self):
        if self.samples:
            body = b"".join(SAMPLE.pack(lat & 0xFFFFFFFF, (lat >> 32) & 0xFFFF, op, outcome)
                            for op, outcome, lat in self.samples)
            self.send(EV_SAMPLES, body, count=len(self.samples))
            self.samples = []
        self.last_flush = time.monotonic_ns()

    def sample(self, op, outcome, latency, eager):
        self.samples.append((op, outcome, latency))
        if eager or len(self.samples) >= SAMPLES_MAX or \
                time.monotonic_ns() - self.last_flush > FLUSH_NS:
            self.flush()

    def cycle_line(self, op, outcome, module, cycle, latency, error, evidence=""):
        self.flush()
        self.send(EV_CYCLE, error.encode("utf-8", "replace")[:2000] + b"\0" +
                  evidence.encode(), op, outcome, module, cycle, latency)


def parse_args(argv):
    args = {"module": [], "evidence-max": "5", "retry-budget-ns": "100000000",
            "iterations": "0", "deadline-ns": "0", "import-writes": "1", "tmp-id": "0",
            "pyc": "timestamp"}
    if len(argv) % 2:
        raise SystemExit("pycstorm-driver: options come in '--name value' pairs")
    for name, value in zip(argv[::2], argv[1::2]):
        if not name.startswith("--"):
            raise SystemExit("pycstorm-driver: bad option %r" % name)
        if name == "--module":
            args["module"].append(value)
        else:
            args[name[2:]] = value
    return args


class Module:
    def __init__(self, spec, cache_dir, pyc_mode):
        name, _, paths = spec.partition(":")
        self.name = name
        self.source_path = os.path.join(cache_dir, name + ".py")
        self.pyc_path = importlib.util.cache_from_source(self.source_path)
        self.loader = bootstrap.SourceFileLoader(name, self.source_path)
        self.sources, self.images, self.stamps = [], [], []
        for v, path in enumerate(paths.split(",")):
            with open(path, "rb") as f:
                source = f.read()
            code = compile(source, self.source_path, "exec", dont_inherit=True)
            mtime = source_mtime(v)
            if pyc_mode == "timestamp":
                image = bootstrap._code_to_timestamp_pyc(code, mtime, len(source))
            else:
                image = bootstrap._code_to_hash_pyc(code, importlib.util.source_hash(source),
                                                    pyc_mode == "checked-hash")
            self.sources.append(source)
            self.images.append(bytes(image))
            self.stamps.append((mtime, len(source), importlib.util.source_hash(source)))


class Driver:
    def __init__(self, args):
        self.a = args
        self.lib = ctypes.CDLL(args["strategies-lib"])
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
        # The inject library, when preloaded, is in the global namespace.
        main = ctypes.CDLL(None)
        self.inject_cycle = getattr(main, "pycstorm_inject_cycle", None)
        if self.inject_cycle:
            self.inject_cycle.argtypes = [ctypes.c_uint64]
        self.inject_failures = getattr(main, "pycstorm_inject_failures", None)
        if self.inject_failures:
            self.inject_failures.restype = ctypes.c_uint64
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
                raise RuntimeError("%s defines no write(path, data)" % path)
        self.modules = [Module(spec, args["cache"], args["pyc"]) for spec in args["module"]]
        self.rng = (self.seed * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)

    def random_below(self, n):
        # A small LCG: the module choice only needs to be seeded, not strong.
        self.rng = (self.rng * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        return (self.rng >> 33) % n

    def hello(self):
        text = ("runner=interpreter\npython_version=%s\npython_executable=%s\npid=%d\n"
                "magic=%d\ncache_tag=%s\n" % (
                    sys.version.replace("\n", " "), sys.executable, os.getpid(),
                    int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little"),
                    sys.implementation.cache_tag))
        self.chan.send(EV_HELLO, text.encode())

    # ---- writes ------------------------------------------------------------

    def write_with_strategy(self, m, image):
        """(status, errno, error text) for one write of image to m.pyc_path."""
        failures = self.inject_failures() if self.inject_failures else 0
        if self.strategy == "native" or self.file_write:
            try:
                if self.file_write:
                    self.file_write(m.pyc_path, image)
                else:
                    m.loader._cache_bytecode(m.source_path, m.pyc_path, image)
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
            self.strategy.encode(), m.pyc_path.encode(), image, len(image), 0o644,
            int(self.a["tmp-id"]), int(self.a["retry-budget-ns"]), error, len(error),
            ctypes.byref(err))
        if status < 0:
            raise RuntimeError("unknown strategy %r" % self.strategy)
        return status, err.value, error.value.decode("utf-8", "replace")

    def write_cycle(self, op, mi, v, cycle):
        m = self.modules[mi]
        t0 = time.monotonic_ns()
        status, err, text = self.write_with_strategy(m, m.images[v])
        latency = time.monotonic_ns() - t0
        if status == WRITE_DONE:
            outcome = OK
        elif status == WRITE_SWALLOWED:
            outcome = STALE
        else:
            outcome = PERMISSION_ERROR if err in (errno.EACCES, errno.EPERM) else OTHER_ERROR
        if text:
            self.chan.cycle_line(op, outcome, mi, cycle, latency, text)
        else:
            self.chan.sample(op, outcome, latency, self.eager)

    # ---- reads ---------------------------------------------------------------

    def judge(self, m, data):
        """(outcome, error text, version) exactly as importlib's get_code decides."""
        details = {"name": m.name, "path": m.pyc_path}
        try:
            flags = bootstrap._classify_pyc(data, m.name, details)
        except (ImportError, EOFError) as e:
            return STALE, "", -1
        version = -1
        for v, (mtime, size, source_hash) in enumerate(m.stamps):
            try:
                if flags & 0b1:
                    if flags & 0b10:
                        bootstrap._validate_hash_pyc(data, source_hash, m.name, details)
                    elif data[8:16] != source_hash:
                        continue
                else:
                    bootstrap._validate_timestamp_pyc(data, mtime, size, m.name, details)
            except ImportError:
                continue
            version = v
            break
        if version < 0 and not (flags & 0b1 and not flags & 0b10):
            return STALE, "", -1
        try:
            bootstrap._compile_bytecode(memoryview(data)[16:], m.name, m.pyc_path, m.source_path)
        except EOFError as e:
            return EOF, exception_line(e), version
        except ValueError as e:
            line = exception_line(e)
            return (BAD_MARSHAL if line.startswith("ValueError: bad marshal data") else
                    OTHER_ERROR), line, version
        except Exception as e:
            return OTHER_ERROR, exception_line(e), version
        return OK, "", version

    def keep_evidence(self, outcome, m, version, data, cycle, error):
        """Keep the failing bytes beside the source its header names (see worker.c)."""
        where = ""
        if not self.a.get("evidence") or outcome in self.evidence_full:
            return where
        name = OUTCOME_NAMES[outcome]
        for k in range(int(self.a["evidence-max"])):
            slot = os.path.join(self.a["evidence"], ".slots", "%s-%s-%d" % (
                self.strategy_name(), name, k))
            try:
                os.mkdir(slot)
            except OSError:
                continue
            where = "%s-%s-%d-w%d-c%d" % (self.strategy_name(), name, k, self.worker, cycle)
            break
        if not where:
            self.evidence_full.add(outcome)
            return ""
        folder = os.path.join(self.a["evidence"], where)
        os.makedirs(os.path.join(folder, "__pycache__"))
        v = max(version, 0)
        source = os.path.join(folder, m.name + ".py")
        with open(source, "wb") as f:
            f.write(m.sources[v])
        os.utime(source, (m.stamps[v][0], m.stamps[v][0]))
        with open(importlib.util.cache_from_source(source), "wb") as f:
            f.write(data)
        with open(os.path.join(folder, "README"), "w") as f:
            f.write("strategy: %s\nclass: %s\nerror: %s\nfound by: worker %d, cycle %d, seed %d\n"
                    "interpreter: %s\nreproduce: cd into this folder and run: %s -B -c "
                    "'import %s'\n" % (self.strategy_name(), name, error, self.worker, cycle,
                                       self.seed, sys.executable, sys.executable, m.name))
        return where

    def strategy_name(self):
        return os.path.basename(self.strategy[5:]) if self.file_write else self.strategy

    def read_cycle(self, mi, cycle):
        m = self.modules[mi]
        t0 = time.monotonic_ns()
        error, version, data = "", -1, b""
        try:
            with open(m.pyc_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            outcome = MISSING
        except OSError as e:
            # importlib ignores an unreadable cache and compiles from source.
            outcome, error = STALE, exception_line(e) + " (ignored by importlib)"
        else:
            outcome, error, version = self.judge(m, data)
        latency = time.monotonic_ns() - t0
        evidence = ""
        if outcome in (EOF, BAD_MARSHAL, OTHER_ERROR) and data:
            evidence = self.keep_evidence(outcome, m, version, data, cycle, error)
        if error:
            self.chan.cycle_line(OP_IMPORT, outcome, mi, cycle, latency, error, evidence)
        else:
            self.chan.sample(OP_IMPORT, outcome, latency, self.eager)
        return outcome

    def run(self, stop):
        iterations = int(self.a["iterations"])
        deadline = int(self.a["deadline-ns"])
        compile_role = self.a["role"] == "compile"
        import_writes = self.a["import-writes"] != "0"
        cycle = 0
        while not stop():
            if iterations and cycle >= iterations:
                break
            if deadline and time.monotonic_ns() >= deadline:
                break
            if self.inject_cycle:
                self.inject_cycle(cycle)
            mi = self.random_below(len(self.modules))
            v = (cycle + self.worker) % len(self.modules[mi].images)
            if compile_role:
                self.write_cycle(OP_COMPILE, mi, v, cycle)
            elif self.read_cycle(mi, cycle) in (STALE, MISSING) and import_writes:
                self.write_cycle(OP_WRITE, mi, v, cycle)
            cycle += 1
        self.chan.flush()
        self.chan.send(EV_BYE)


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
    except Exception as e:
        text = ("cannot start the interpreter worker: " + exception_line(e)).encode()
        record = HDR.pack(HDR.size + len(text), EVENT_MAGIC, EV_FATAL, 0, 0, 0, 0, 0, 0, 0, 0)
        os.write(int(args.get("event-fd", "3")), record + text)
        return 77
    driver.hello()
    driver.run(lambda: bool(stopping))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
