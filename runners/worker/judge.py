# pycstorm judge: what a real pythonX.Y does when it meets a cache file.
#
#   pythonX.Y pycstorm-judge.py [--run | --no-run] [--source FILE.py] [--written DIR] FILE.pyc...
#   pythonX.Y pycstorm-judge.py --serve
#
# This is the one definition of a verdict for every release pycstorm cannot
# host itself. It runs under 2.7 and 3.6 through 3.13, so it keeps to the
# syntax they share, and it asks the running interpreter's own import code
# each question: the header is judged by importlib's _classify_pyc /
# _validate_*_pyc (3.7+), _validate_bytecode_header (3.3-3.6) or import.c's
# rules (2.7, whose reader has no Python-level hook), and the body by this
# interpreter's marshal. `pycstorm classify` (runners/cli/cmd-classify.c)
# picks the interpreter; exec and crashpoints read this report through it.
#
# Two steps can take the interpreter down with them, so each runs in a child:
#   - unmarshalling (a v1/v2 byte mix has aborted 3.8's marshal and crashed
#     3.13's): a fork of this process, with faulthandler on where it exists;
#   - importing the module: a fresh exec of this interpreter with its memory,
#     CPU time and core size capped, in a scratch folder, so damage that
#     unmarshals cleanly (a zero block in the bytecode) shows as the crash,
#     abort or SystemError a user would meet. It runs when the code differs
#     from what the source compiles to, always with --run, never with
#     --no-run; a file that equals its source's code needs no run.
#
# --written DIR names the records exec's inject library kept of complete
# write streams (inject/preload/written.h). A file whose bytes are, length
# and digest, one its own writer wrote to it (its path, or a temporary
# sibling PATH.SUFFIX renamed onto it) is that writer's intact image: its
# header and body are judged as always, but it is not compiled to compare.
#
# --serve: the arguments come later, on stdin, one request after another:
# each argument NUL-terminated, and one more NUL to end the request. Each
# answer is the report, then a line "end N", N the exit status the request
# would have had alone. exec starts this interpreter while the program
# runs, and keeps it for every round.
#
# Exit status: 0 every file would import, 1 one would fail, 2 a file cannot
# be read or the usage is wrong.
from __future__ import print_function

import binascii
import errno
import marshal
import os
import signal
import stat
import struct
import sys
import time
import traceback

PY2 = sys.version_info[0] == 2
READ_LIMIT = 64 << 20          # the classifier's limit for one file
CHILD_OUTPUT_LIMIT = 64 << 10  # what is kept of a child's stderr
RUN_SECONDS = 20               # wall-clock bound for one --run import
RUN_CPU_SECONDS = 10
RUN_MEMORY = 1 << 30
JUDGED_NAME = "pycstorm_judged"  # a name no stdlib or site module has

if PY2:
    import imp
    MAGIC = imp.get_magic()
    HEADER_SIZE = 8
    CACHE_TAG = None
else:
    import importlib.util
    import importlib._bootstrap_external as bootstrap
    MAGIC = importlib.util.MAGIC_NUMBER
    HEADER_SIZE = 16 if sys.version_info >= (3, 7) else 12
    CACHE_TAG = sys.implementation.cache_tag


class Verdict(object):
    """One file's judgement: the lines of its report and its class."""

    def __init__(self):
        self.lines = []
        self.outcome = None
        self.error = ""

    def say(self, text):
        self.lines.append(text)


def exception_line(exc):
    """The last line of the traceback, as this interpreter prints it."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def class_of_error(line):
    """The outcome class of an import error's last traceback line."""
    name = line.split(":", 1)[0].split(".")[-1]
    found = "other_error"
    if name == "EOFError":
        found = "eof"
    elif name == "ValueError" and "bad marshal data" in line:
        found = "bad_marshal"
    elif name == "SystemError":
        found = "code_error"
    elif name in ("PermissionError", "IOError", "OSError") and "ermission denied" in line:
        found = "permission_error"
    return found


def read_bounded(path):
    """The bytes of a regular file of at most READ_LIMIT; IOError otherwise."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IOError(errno.EINVAL, "not a regular file")
        if st.st_size > READ_LIMIT:
            raise IOError(errno.EFBIG, "larger than the 64 MiB limit")
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def le32(data, offset):
    return struct.unpack("<I", data[offset:offset + 4])[0]


def source_for(pyc):
    """X/__pycache__/NAME.TAG.pyc -> X/NAME.py; X/NAME.pyc -> X/NAME.py."""
    folder, base = os.path.split(pyc)
    name = base.split(".", 1)[0]
    if os.path.basename(folder) == "__pycache__":
        folder = os.path.dirname(folder)
    return os.path.join(folder, name + ".py"), name


def print_header(verdict, data):
    if len(data) < 4:
        verdict.say("magic: (file shorter than 4 bytes)")
        return
    number = le32(data, 0)
    if data[:4] == MAGIC:
        verdict.say("magic: %d (this reader's own)" % (number & 0xffff))
    else:
        verdict.say("magic: 0x%08x (not this reader's %d)" % (number, le32(MAGIC, 0) & 0xffff))
    if len(data) < HEADER_SIZE:
        verdict.say("header: truncated at %d of %d bytes" % (len(data), HEADER_SIZE))
        return
    if HEADER_SIZE == 16:
        flags = le32(data, 4)
        if flags & 1:
            verdict.say("flags: %d (hash-based, %s)" % (flags, "checked" if flags & 2 else "unchecked"))
            verdict.say("source_hash: " + "".join("%02x" % b for b in bytearray(data[8:16])))
            return
        verdict.say("flags: %d (%s)" % (flags, "invalid" if flags else "timestamp"))
        mtime, size = le32(data, 8), le32(data, 12)
    else:
        mtime = le32(data, 4)
        size = le32(data, 8) if HEADER_SIZE == 12 else None
    verdict.say("source_mtime: %d (%s)" % (mtime, time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                  time.gmtime(mtime))))
    if size is not None:
        verdict.say("source_size: %d" % size)


class Source(object):
    """The source a reader compares the header with: stat and bytes."""

    def __init__(self, path):
        self.path = path
        self.data = read_bounded(path)
        st = os.stat(path)
        self.mtime = int(st.st_mtime) & 0xFFFFFFFF
        self.size = st.st_size & 0xFFFFFFFF


def check_header_py2(data, source):
    """import.c's check_compiled_module: a wrong magic or mtime recompiles."""
    if data[:4] != MAGIC or len(data) < 8:
        return "bad magic number"
    if source is not None and le32(data, 4) != source.mtime:
        return "bad mtime"
    return None


def check_header_py3(data, source, name, path):
    """importlib's own header checks; returns why it recompiles, or None."""
    details = {"name": name, "path": path}
    try:
        if sys.version_info < (3, 7):
            stats = {"mtime": source.mtime, "size": source.size} if source else None
            bootstrap._validate_bytecode_header(data, source_stats=stats, name=name, path=path)
            return None
        flags = bootstrap._classify_pyc(data, name, details)
        hash_based = flags & 1
        check_source = flags & 2
        if source is None:
            return None
        if hash_based:
            import _imp
            mode = getattr(_imp, "check_hash_based_pycs", "default")
            if mode != "never" and (check_source or mode == "always"):
                wanted = _imp.source_hash(bootstrap._RAW_MAGIC_NUMBER, source.data)
                bootstrap._validate_hash_pyc(data, wanted, name, details)
        else:
            bootstrap._validate_timestamp_pyc(data, source.mtime, source.size, name, details)
        return None
    except (ImportError, EOFError) as exc:
        return str(exc)


def in_child(work):
    """Run work(out_w) in a fork; (status, text, stderr): text is what it wrote
    to out_w and returned, status the child's wait status, so a crash in
    marshal is data."""
    return child_result(start_child(work))


def start_child(work, close_in_child=()):
    """Fork a child that runs work(out_w); (pid, out_r, err_r)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for fd in (out_r, err_r) + tuple(close_in_child):
                os.close(fd)
            os.dup2(err_w, 2)
            try:
                import faulthandler
                faulthandler.enable()
            except ImportError:
                pass
            text = work(out_w)
            os.write(out_w, text.encode("utf-8", "replace"))
        except BaseException:
            code = 3
        os._exit(code)
    os.close(out_w)
    os.close(err_w)
    return pid, out_r, err_r


def child_result(started):
    """(status, text, stderr) of a child from start_child, once it ends."""
    pid, out_r, err_r = started
    text = read_pipe(out_r)
    err = read_pipe(err_r)
    status = os.waitpid(pid, 0)[1]
    return status, text, err


class SentSource(object):
    """What unmarshal_one needs of a Source, as it crosses a pipe."""

    def __init__(self, data, path):
        self.data = data
        self.path = path


class EarlyChild(object):
    """The unmarshal child forked before the files are known (exec starts
    the judge with the round), so its fork and the copy-on-write faults that
    follow are paid while the program runs. It waits on a pipe for the
    items, as marshal data of plain bytes, strings and flags."""

    def __init__(self):
        self.in_r, self.in_w = os.pipe()
        self.started = start_child(lambda out_w: unmarshal_batch(self.receive(), 0, out_w),
                                   (self.in_w,))
        os.close(self.in_r)
        self.done = False

    def receive(self):
        """In the child: the items the judge sent."""
        chunks = []
        while True:
            chunk = os.read(self.in_r, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return [(body, None if path is None else SentSource(data, path), own)
                for body, data, path, own in marshal.loads(b"".join(chunks))]

    def run(self, items):
        """Hand it items (body, source, own); (status, text, stderr)."""
        blob = marshal.dumps([(body, source.data if source else None,
                               source.path if source else None, own)
                              for body, source, own in items])
        try:
            while blob:
                blob = blob[os.write(self.in_w, blob):]
        except OSError:
            pass  # it died already: its status says how
        os.close(self.in_w)
        self.done = True
        return child_result(self.started)

    def cancel(self):
        """Nothing for it to do: end it now rather than wait for it."""
        pid, out_r, err_r = self.started
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        for fd in (self.in_w, out_r, err_r):
            os.close(fd)
        self.done = True


def read_pipe(fd):
    chunks, kept = [], 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        if kept < CHILD_OUTPUT_LIMIT:
            chunks.append(chunk)
            kept += len(chunk)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def signal_name(number):
    for name in dir(signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and getattr(signal, name) == number:
            return name
    return "signal %d" % number


def crash_evidence(number, stderr):
    """The signal, the fatal message and the first faulthandler frame."""
    fatal = [l.strip() for l in stderr.splitlines() if l.startswith("Fatal Python error")]
    frames = [l.strip() for l in stderr.splitlines() if l.strip().startswith("File ")]
    parts = ["killed by %s" % signal_name(number)]
    if fatal:
        parts.append(fatal[0])
    if frames:
        parts.append("first frame: " + frames[0])
    return "; ".join(parts)


def unmarshal_one(body, source, own):
    """In the child: this interpreter's marshal on one body, as a report line:
    the kind and a detail (the exception line, or the non-code type)."""
    try:
        code = marshal.loads(body)
    except Exception as exc:
        return "error\t" + exception_line(exc).replace("\n", " ")
    if not hasattr(code, "co_code"):
        return "noncode\t" + type(code).__name__
    if own:
        return "own\t"
    if source is None:
        return "code\t"
    try:
        fresh = compile(source.data, source.path, "exec", 0, True)
    except Exception:
        return "code\t"
    return "same\t" if fresh == code else "differs\t"


def unmarshal_batch(items, start, out_w):
    """In the child: one report line per item from start on, each written as
    soon as it is known, so a crash names the item it happened on."""
    for k in range(start, len(items)):
        body, source, own = items[k]
        os.write(out_w, ("%d\t%s\n" % (k, unmarshal_one(body, source, own))).encode("utf-8", "replace"))
    return ""


def body_result(kind, detail):
    """(class, evidence, same-as-source) from a child's report line; "own":
    the writer's intact image, not compared."""
    if kind in ("code", "same", "differs", "own"):
        return "ok", "", {"code": None, "same": True, "differs": False, "own": "own"}[kind]
    if kind == "noncode":
        return "other_error", "ImportError: Non-code object (%s)" % detail, None
    return class_of_error(detail), detail, None


def unmarshal_all(items, early=None):
    """What this interpreter's marshal makes of each (body, source, own): the class,
    the evidence, and whether the code equals what this reader compiles the
    source to (None without a source). Under exec (early set), a writer's
    own image is bytes this release's marshal made, unmarshalled here: a
    child's fork and its copy-on-write faults cost more than the work, and
    exec judges the files of a judge that dies again, in full, each in a
    child. The others go to children (below)."""
    results = [None] * len(items)
    for k, (body, source, own) in enumerate(items):
        if own and early is not None:
            results[k] = body_result(*unmarshal_one(body, source, own).split("\t", 1))
    rest = [k for k in range(len(items)) if results[k] is None]
    for k, result in zip(rest, unmarshal_in_children([items[k] for k in rest], early)):
        results[k] = result
    return results


def unmarshal_in_children(items, early):
    """unmarshal_all's results for items, in children: one does them all in
    turn (early, when one was started ahead); one that dies takes only the
    body it was on, and the next starts after it."""
    results = [None] * len(items)
    start = 0
    if early is not None and not items:
        early.cancel()
    elif early is not None:
        status, text, err = early.run(items)
    while start < len(items):
        if early is None:
            status, text, err = in_child(lambda out_w: unmarshal_batch(items, start, out_w))
        early = None
        for line in text.splitlines():
            fields = line.split("\t", 2)
            if len(fields) == 3 and fields[0].isdigit() and int(fields[0]) < len(items):
                results[int(fields[0])] = body_result(fields[1], fields[2])
        while start < len(items) and results[start] is not None:
            start += 1
        if start < len(items):
            if os.WIFSIGNALED(status):
                results[start] = ("interpreter_crash", crash_evidence(os.WTERMSIG(status), err), None)
            else:
                results[start] = ("other_error", "the unmarshal child failed (status %d)" % status, None)
            start += 1
    return results


def limit_child():
    """In the --run child: caps, no core, and death with the judge."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (RUN_CPU_SECONDS, RUN_CPU_SECONDS))
        resource.setrlimit(resource.RLIMIT_AS, (RUN_MEMORY, RUN_MEMORY))
    except (ImportError, ValueError, OSError):
        pass
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


RUN_PROGRAM = (
    "import sys; sys.path.insert(0, sys.argv[1]); sys.dont_write_bytecode = True; "
    "__import__(sys.argv[2])")


def run_import(folder):
    """Import JUDGED_NAME from folder in a fresh, capped interpreter.
    Returns (class, evidence)."""
    argv = [sys.executable, "-E", "-s", "-B"]
    if not PY2:
        argv += ["-X", "faulthandler"]
    argv += ["-c", RUN_PROGRAM, folder, JUDGED_NAME]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.dup2(err_w, 2)
            os.close(err_r)
            os.chdir(folder)
            limit_child()
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(err_w)
    deadline = time.time() + RUN_SECONDS
    status = None
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
        elif time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
        else:
            time.sleep(0.01)
    err = read_pipe(err_r)
    return run_verdict(status, err, deadline)


def run_verdict(status, err, deadline):
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGKILL and time.time() > deadline:
            return "other_error", "the import did not finish within %d s" % RUN_SECONDS
        return "interpreter_crash", crash_evidence(number, err)
    if os.WEXITSTATUS(status) == 0:
        return "ok", ""
    lines = [l for l in err.strip().splitlines() if l.strip()]
    last = lines[-1].strip() if lines else "exit status %d" % os.WEXITSTATUS(status)
    return class_of_error(last), last


def lay_out(folder, data, source, with_source):
    """The scratch tree a reader imports from: NAME.py plus the cache file
    where this release looks for it, or NAME.pyc alone (sourceless)."""
    pyc = os.path.join(folder, JUDGED_NAME + ".pyc")
    if with_source:
        path = os.path.join(folder, JUDGED_NAME + ".py")
        with open(path, "wb") as f:
            f.write(source.data)
        os.utime(path, (source.mtime, source.mtime))
        if not PY2:
            os.mkdir(os.path.join(folder, "__pycache__"))
            pyc = bootstrap.cache_from_source(path)
    if data is not None:
        with open(pyc, "wb") as f:
            f.write(data)


def scrubbed(evidence, folder, source, path):
    """Frames name the scratch copy; the user knows the module by its file."""
    scratch = os.path.join(os.path.realpath(folder), JUDGED_NAME)
    evidence = evidence.replace(scratch + ".py", source.path if source else path)
    return evidence.replace(scratch + ".pyc", path)


def run_with(data, source, path):
    """The run step: the file as the cache of its module, then, when that
    fails and a source is at hand, the source alone, so a module that fails
    on its own (a missing dependency) is not blamed on its cache."""
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="pycstorm-judge-")
    try:
        lay_out(folder, data, source, source is not None)
        outcome, evidence = run_import(folder)
        evidence = scrubbed(evidence, folder, source, path)
        if outcome != "ok" and source is not None:
            plain = os.path.join(folder, "plain")
            os.mkdir(plain)
            lay_out(plain, None, source, True)
            alone, said = run_import(plain)
            if (alone, scrubbed(said, plain, source, path)) == (outcome, evidence):
                outcome, evidence = "ok", "the module fails the same way from its source: " + evidence
    finally:
        shutil.rmtree(folder, True)
    return outcome, evidence


class Written(object):
    """The complete write streams exec's inject library recorded: digest ->
    the paths they were written to."""

    def __init__(self, folder):
        self.paths = {}
        for name in sorted(os.listdir(folder)) if folder else []:
            if name.startswith("written-"):
                self.load(os.path.join(folder, name))

    def load(self, path):
        try:
            with open(path, "rb") as f:
                text = f.read()
        except (IOError, OSError):
            return
        if not PY2:
            text = os.fsdecode(text)  # paths as argv gives them
        # A line cut short (a full disk) has no newline: never trusted.
        for line in text.split("\n")[:-1]:
            fields = line.split(" ", 3)
            try:
                key = (int(fields[0]), int(fields[1], 16), int(fields[2], 16))
            except (ValueError, IndexError):
                continue
            if len(fields) == 4 and fields[3]:
                self.paths.setdefault(key, set()).add(fields[3])

    def own_image(self, path, data):
        """Were these bytes, whole, written to path (or to PATH.SUFFIX)?"""
        if not self.paths:
            return False
        key = (len(data), binascii.crc32(data[0::2]) & 0xFFFFFFFF,
               binascii.crc32(data[1::2]) & 0xFFFFFFFF)
        candidates = self.paths.get(key, ())
        # The records name resolved paths; resolving ours costs a stat per
        # component, so only when the path as given matches nothing.
        return (self.written_to(candidates, os.path.abspath(path))
                or self.written_to(candidates, os.path.realpath(path)))

    @staticmethod
    def written_to(candidates, name):
        """Was one of candidates name itself, or a temporary NAME.SUFFIX?"""
        for written in candidates:
            if written == name or written.startswith(name + "."):
                return True
        return False


def examine(path, source_opt, written):
    """Everything up to the body: (verdict, data, source, own). The verdict has
    its outcome when the file is settled here (unreadable, or its header
    rejected)."""
    verdict = Verdict()
    verdict.say("file: " + path)
    try:
        data = read_bounded(path)
    except (IOError, OSError) as exc:
        verdict.outcome = "unreadable"
        verdict.error = exc.strerror or str(exc)
        return verdict, None, None, False
    guess, name = source_for(path)
    source = None
    try:
        source = Source(source_opt or guess)
    except (IOError, OSError):
        pass
    verdict.say("size: %d" % len(data))
    print_header(verdict, data)
    if source is not None:
        verdict.say("source: %s (mtime %d, size %d)" % (source.path, source.mtime, source.size))
    else:
        verdict.say("source: none found at %s (header not compared with a source)" % guess)
    if PY2:
        why = check_header_py2(data, source)
    else:
        why = check_header_py3(data, source, name, path)
    if why is not None:
        verdict.say("header: rejected: %s (the reader recompiles from source)" % why)
        verdict.outcome = "stale"
    else:
        verdict.say("header: accepted")
    return verdict, data, source, written.own_image(path, data)


def conclude(verdict, body, data, source, path, run):
    """From the body's result on: the class, and the run step when needed."""
    verdict.outcome, verdict.error, same = body
    if verdict.outcome != "ok":
        verdict.say("body: does not load")
        return
    verdict.say("body: unmarshals to a code object%s" % {
        None: "", True: ", the same code as its source",
        False: ", code that differs from its source",
        "own": ", its writer's own complete write (not compared with its source)"}[same])
    if run == "never" or (run == "auto" and same is not False):
        verdict.say("run: not run%s" % (" (pass --run to import it)" if same is None else ""))
        return
    verdict.outcome, verdict.error = run_with(data, source, path)
    if verdict.outcome != "ok":
        verdict.say("run: fails")
    elif verdict.error:
        verdict.say("run: fails, as the module does from its source alone (not the cache's fault)")
    else:
        verdict.say("run: imports and runs")


def judge_all(paths, source_opt, run, written, early=None):
    """The verdicts of paths, in order; the bodies are unmarshalled together."""
    examined = [examine(path, source_opt, written) for path in paths]
    pending = [i for i, e in enumerate(examined) if e[0].outcome is None]
    bodies = unmarshal_all([(examined[i][1][HEADER_SIZE:], examined[i][2], examined[i][3])
                            for i in pending], early)
    for i, body in zip(pending, bodies):
        verdict, data, source, _ = examined[i]
        conclude(verdict, body, data, source, paths[i], run)
    return [e[0] for e in examined]


class Requests(object):
    """What exec sends on stdin under --serve: each request its arguments,
    NUL-terminated, and one more NUL to end it."""

    def __init__(self):
        self.pending = b""

    def next(self):
        """The next request's arguments, or None at the end of stdin."""
        while b"\0\0" not in self.pending and not self.pending.startswith(b"\0"):
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return None
            self.pending += chunk
        end = 0 if self.pending.startswith(b"\0") else self.pending.index(b"\0\0") + 1
        fields = self.pending[:end].split(b"\0")[:-1] if end else []
        self.pending = self.pending[end + 1:]
        return fields if PY2 else [os.fsdecode(f) for f in fields]


def serve():
    """Answer exec's requests until it closes our stdin. Each one's unmarshal
    child is forked before the request comes, while the program runs."""
    requests = Requests()
    while True:
        early = EarlyChild()
        args = requests.next()
        if args is None:
            early.cancel()
            return 0
        rc = main(["judge"] + args, early)
        if not early.done:
            early.cancel()
        print("end %d" % rc)
        sys.stdout.flush()


def main(argv, early=None):
    run = "auto"
    source = None
    written = None
    args = argv[1:]
    while args and args[0].startswith("--"):
        if args[0] in ("--run", "--no-run"):
            run = "always" if args[0] == "--run" else "never"
            args = args[1:]
        elif args[0] in ("--source", "--written") and len(args) > 1:
            if args[0] == "--source":
                source = args[1]
            else:
                written = args[1]
            args = args[2:]
        else:
            sys.stderr.write("pycstorm: judge: unknown option '%s'\n" % args[0])
            return 2
    if not args:
        sys.stderr.write("pycstorm: judge: no files given\n")
        return 2
    print("python: %s (magic %d, %s)" % (sys.version.split()[0], le32(MAGIC, 0) & 0xffff,
                                         sys.executable))
    print("")
    rc = 0
    try:
        records = Written(written)
    except (IOError, OSError) as exc:
        sys.stderr.write("pycstorm: judge: --written '%s': %s\n" % (written, exc.strerror or exc))
        return 2
    for path, verdict in zip(args, judge_all(args, source, run, records, early)):
        for line in verdict.lines:
            print(line)
        print("class: " + verdict.outcome)
        if verdict.error:
            print("error: " + verdict.error)
        print("")
        sys.stdout.flush()
        if verdict.outcome == "unreadable":
            sys.stderr.write("pycstorm: classify: '%s': %s\n" % (path, verdict.error))
            rc = 2
        elif rc == 0 and verdict.outcome not in ("ok", "stale"):
            rc = 1
    return rc


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        STATUS = serve()
        # exec waits for our end: the interpreter's teardown is not worth it.
        sys.stdout.flush()
        os._exit(STATUS)
    sys.exit(main(sys.argv))
