#!/usr/bin/python3
"""pycstorm benchmark (`make bench`): throughput against the ceiling,
injection overhead, time to reproduce and memory.

Writes results/bench/<id>/bench.json and bench.md. A measurement, not a
test: it exits 0 whether or not the targets are met, and non-zero only when
it could not measure (a run that failed, a missing program).

The machine is shared and noisy, so every figure is a median over repeats,
compared configurations run interleaved (round after round, the order
rotated or shuffled with a fixed seed), and bench.json records the load
average at the start and end of each phase. Besides cycles/s (wall clock,
as summary.json gives it) every run also records CPU time per cycle (user +
system of the whole process tree, from wait4), which other engineers' load
disturbs much less: it is the second opinion on every ratio.

Modes: default (~10 min), --quick or BENCH_QUICK=1 (~2 min, fewer points,
one repeat for the matrix, 3 repro seeds, 5 s / 20 s memory runs), and
BENCH_FULL=1 (the full matrix for the representative strategies; long).
--only gate times the default gate alone (gate_s);
--only inject measures the injection overhead alone (paired runs and the
callgrind counts, a few minutes); --inject-fault SPEC arms SPEC (say
short-write:p=0, which never fires) instead of preloading with nothing
armed, so the cost of deciding which paths are targets is counted too.
--only exec measures exec_overhead alone: what `pycstorm exec` adds, nothing
armed, to the wall time of `python3 -m compileall` over a copy of the
standard library's email and json packages.
Standard library only; run with /usr/bin/python3.
"""
import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The fixtures and the sizes the issue names them by.
MODULES = {"small": "~1 KB", "medium": "~32 KB", "large": "~200 KB"}
WORKERS = [1, 2, 4, 8]
CENTER = {"workers": 4, "module": "medium", "fs": "tmpfs"}
# Full matrix (or the star around CENTER) for these; the centre point only
# for the other cache-file strategies.
REPRESENTATIVE = ["py33-atomic", "fsync-atomic", "native"]
REPRO_TARGETS = ["bad-marshal", "eof", "permission-error", "module-not-found"]
# The outcome class each target waits for (runners/cli/cmd-repro.c).
REPRO_CLASS = {"bad-marshal": "bad_marshal", "eof": "eof",
               "permission-error": "permission_error", "module-not-found": "module_not_found"}
TARGETS = {"ceiling_ratio": ">= 0.8", "inject_overhead": "<= 0.05",
           "repro_median_s": "<= 2 s for every target",
           "gate_s": "<= 60 s (the default gate: matrix and races, two interpreters)",
           "orchestrator_rss": "flat with run length", "exec_overhead": "<= 0.10"}
# exec_overhead: the program exec runs, over a copy of these stdlib packages.
EXEC_PACKAGES = ["email", "json"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def read_text(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def command_output(argv, first_line=False):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT,
                             timeout=60).stdout.strip()
        return out.splitlines()[0] if first_line and out else out
    except (OSError, subprocess.SubprocessError):
        return ""


def fs_facts(path):
    """statfs type (stat -f) and the mount's own type (findmnt)."""
    return {"path": os.path.relpath(path, ROOT) if path.startswith(ROOT + "/") else path,
            "statfs_type": command_output(["stat", "-f", "-c", "%T", path]),
            # stacked mounts list several lines; the first is the one in use
            "mount_fstype": command_output(["findmnt", "-n", "-o", "FSTYPE", "-T", path], True),
            "mount_source": command_output(["findmnt", "-n", "-o", "SOURCE", "-T", path], True)}


def is_memory_fs(path):
    f = fs_facts(path)
    return f["statfs_type"] in ("tmpfs", "ramfs") or f["mount_fstype"] in ("tmpfs", "ramfs")


def default_cache_parent():
    """Where `pycstorm run` puts a fresh cache (runners/base/fsinfo.c)."""
    if os.access("/dev/shm", os.W_OK | os.X_OK) and is_memory_fs("/dev/shm"):
        return "/dev/shm"
    return os.environ.get("TMPDIR") or "/tmp"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def p90(xs):
    """Nearest rank; None counts as longer than anything measured."""
    if not xs:
        return None
    ordered = sorted(xs, key=lambda x: float("inf") if x is None else x)
    return ordered[max(0, -(-9 * len(ordered) // 10) - 1)]


def fmt(x, digits=3):
    if x is None:
        return "-"
    if isinstance(x, float):
        return ("%." + str(digits) + "g") % x
    return str(x)


def md(text):
    """text for a Markdown table cell or line, as results/formats/markup.c's md_text
    writes it: '|', backslash and '<' escaped, control characters shown."""
    names = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = []
    for ch in str(text):
        if ch in "|\\<":
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append(names.get(ch, "\\x%02x" % ord(ch)))
        else:
            out.append(ch)
    return "".join(out)


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick or bool(os.environ.get("BENCH_QUICK"))
        self.full = not self.quick and bool(os.environ.get("BENCH_FULL"))
        self.mode = "quick" if self.quick else "full" if self.full else "default"
        self.bin = os.path.abspath(args.bin)
        self.pycstorm = os.path.join(self.bin, "pycstorm")
        self.ceiling_prog = os.path.abspath(args.ceiling)
        self.python = args.python
        self.duration = args.duration or (1.0 if self.quick else 2.0)
        self.repeats = args.repeats or (1 if self.quick else 3)
        self.pair_rounds = 3 if self.quick else 5
        self.repro_seeds = list(range(1, (3 if self.quick else 10) + 1))
        self.memory_lengths = [5, 20] if self.quick else [10, 60]
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        self.id = args.id or "%s-%s" % (stamp, self.mode)
        self.out = os.path.join(ROOT, "results", "bench", self.id)
        self.errors = []
        self.phases = {}
        self.nruns = 0
        self.t_start = time.monotonic()
        self.only_inject = args.only == "inject"
        self.only_gate = args.only == "gate"
        self.gate_results = []
        self.only_exec = args.only == "exec"
        self.exec_rounds = 5 if self.quick else 21
        self.exec_result = None

    # ---- setup ----------------------------------------------------------

    def setup(self):
        needed = [self.pycstorm, os.path.join(self.bin, "pycstorm-worker")]
        for prog in needed + ([] if self.only_inject or self.only_exec else [self.ceiling_prog]):
            if not os.access(prog, os.X_OK):
                sys.exit("bench: '%s' is missing: run 'make' first" % prog)
        os.makedirs(os.path.join(self.out, "scenarios"), exist_ok=True)
        os.makedirs(os.path.join(self.out, "runs"), exist_ok=True)
        self.scenarios = {}
        for m, size in MODULES.items():
            path = os.path.join(self.out, "scenarios", "bench-%s.scn" % m)
            with open(path, "w") as f:
                f.write("# make bench: one %s module, compile and import workers, no faults\n"
                        "name = bench-%s\n"
                        "description = benchmark load: the %s fixture (%s), two versions\n"
                        "modules = %s\nversions = 2\njobs = 4\ncompile-share = 0.5\n"
                        "duration = 2s\npyc = timestamp\nimport-writes = yes\n"
                        "reproduced = bad_marshal, eof\n" % (m, m, m, size, m))
            self.scenarios[m] = path
        self.tmpfs_parent = default_cache_parent()
        self.disk_parent = self.find_disk()
        self.interpreter_ok = os.access(self.python, os.X_OK)
        self.strategies = self.list_strategies()

    def find_disk(self):
        """A folder on a disk filesystem: under the repository, else $TMPDIR, /var/tmp."""
        for parent in (self.out, os.environ.get("TMPDIR"), "/var/tmp", "/tmp"):
            if parent and os.path.isdir(parent) and os.access(parent, os.W_OK) \
                    and not is_memory_fs(parent):
                path = os.path.join(parent, "disk-cache") if parent == self.out else \
                    tempfile.mkdtemp(prefix="pycstorm-bench-", dir=parent)
                os.makedirs(path, exist_ok=True)
                return path
        return None

    def list_strategies(self):
        """Cache-file strategies from `pycstorm list strategies`, in its order."""
        names = []
        for line in command_output([self.pycstorm, "list", "strategies"]).splitlines()[1:]:
            if line and not line[0].isspace() and "[package workload]" not in line:
                names.append(line.split()[0])
        return names

    def machine(self):
        git = command_output(["git", "rev-parse", "--short", "HEAD"])
        dirty = bool(command_output(["git", "status", "--porcelain", "--untracked-files=no"]))
        cpu = re.search(r"model name\s*:\s*(.*)", read_text("/proc/cpuinfo"))
        mem = re.search(r"MemTotal:\s*(\d+)", read_text("/proc/meminfo"))
        uname = platform.uname()
        return {
            "nproc": os.cpu_count(),
            "nproc_usable": len(os.sched_getaffinity(0)),
            "cpu_model": cpu.group(1) if cpu else None,
            "mem_total_kb": int(mem.group(1)) if mem else None,
            "kernel": "%s %s %s" % (uname.system, uname.release, uname.machine),
            "filesystems": {
                "tmpfs_cache": fs_facts(self.tmpfs_parent),
                "disk_cache": fs_facts(self.disk_parent) if self.disk_parent else None,
                "repository": fs_facts(ROOT),
            },
            "python_embedded": command_output([self.pycstorm, "--version"]) or None,
            "python_interpreter": command_output([self.python, "-c",
                                                  "import sys; print(sys.version.split()[0])"]),
            "git_commit": git + ("+dirty" if dirty else ""),
        }

    # ---- running things ------------------------------------------------------

    def spawn(self, argv, logfile, poll=None):
        """Run argv; (exit code, wall s, CPU s of the whole tree, max RSS kB of the tree)."""
        self.last_load = loadavg()[0]
        t0 = time.monotonic()
        with open(logfile, "w") as out:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG if poll else 0)
            if pid:
                break
            poll(p.pid)
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
        self.nruns += 1
        return (p.returncode, time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)

    def cache_for(self, fs, tag):
        parent = self.tmpfs_parent if fs == "tmpfs" else self.disk_parent
        return tempfile.mkdtemp(prefix="bench-%s-" % tag[:40], dir=parent)

    def harness(self, cfg, rnd, tag_prefix="tp"):
        """One `pycstorm run`: its summary's figures for cfg's strategy."""
        tag = "%s-%s-r%d" % (tag_prefix, slug(cfg), rnd)
        rundir = os.path.join(self.out, "runs", tag)
        argv = [self.pycstorm, "run", self.scenarios[cfg["module"]], "-s", cfg["strategy"],
                "-j", str(cfg["workers"]), "-d", "%dms" % (self.duration * 1000), "-q",
                "--seed", str(1000 + rnd), "-o", rundir]
        cache = None
        if cfg["fs"] == "disk":
            cache = self.cache_for("disk", tag)
            argv += ["--cache-dir", cache]
        if cfg["runner"] == "interpreter":
            argv += ["--python", self.python]
        if cfg.get("preload"):
            argv += self.preload_args()
        rc, wall, cpu, _ = self.spawn(argv, rundir + ".log")
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
        res = {"round": rnd, "exit": rc, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
               "load1": self.last_load, "run": os.path.relpath(rundir, self.out)}
        try:
            with open(os.path.join(rundir, "summary.json")) as f:
                s = json.load(f)
            r = s["results"][0]
            res.update({"cycles": r["cycles"], "reads": r["reads"], "writes": r["writes"],
                        "elapsed_s": s["elapsed_s"], "cycles_per_s": r["cycles_per_s"],
                        "cpu_us_per_cycle": round(cpu * 1e6 / r["cycles"], 2)
                        if r["cycles"] else None,
                        "corrupt": r["corrupt"], "cache_fs": s.get("cache_fs"),
                        "write_latency_us": pick(r["write_latency_us"]),
                        "read_latency_us": pick(r["read_latency_us"])})
        except (OSError, ValueError, KeyError, IndexError) as e:
            res["error"] = "no summary: %s" % e
        if rc != 0:
            res["error"] = "pycstorm run exited %d (see %s.log)" % (rc, res["run"])
        return res

    def ceiling_run(self, cfg, rnd):
        tag = "%s-r%d" % (slug(cfg), rnd)
        m = cfg["module"]
        fixtures = os.path.join(ROOT, "scenarios", "modules", m)
        parent = self.cache_for(cfg["fs"], tag)
        argv = [self.ceiling_prog, "-j", str(cfg["workers"]), "-d", str(self.duration),
                "--cache", os.path.join(parent, "c"), "--seed", str(1000 + rnd),
                "--module", "%s:%s/v1.py,%s/v2.py" % (m, fixtures, fixtures)]
        logfile = os.path.join(self.out, "runs", tag + ".json")
        rc, wall, cpu, _ = self.spawn(argv, logfile)
        shutil.rmtree(parent, ignore_errors=True)
        res = {"round": rnd, "exit": rc, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
               "load1": self.last_load, "run": os.path.relpath(logfile, self.out)}
        try:
            with open(logfile) as f:
                c = json.loads(f.read().strip().splitlines()[-1])
            res.update({k: c[k] for k in ("cycles", "reads", "writes", "elapsed_s",
                                          "cycles_per_s", "loop_cycles_per_s", "corrupt")})
            res["cpu_us_per_cycle"] = round(cpu * 1e6 / c["cycles"], 2) if c["cycles"] else None
        except (OSError, ValueError, KeyError, IndexError) as e:
            res["error"] = "no result: %s" % e
        if rc != 0:
            res["error"] = "ceiling exited %d (see %s)" % (rc, res["run"])
        return res

    def preload_args(self):
        """The library with nothing armed, or armed with --inject-fault."""
        return ["-f", self.args.inject_fault] if self.args.inject_fault else ["--preload"]

    def measure(self, cfg, rnd, tag_prefix="tp"):
        res = self.ceiling_run(cfg, rnd) if cfg["runner"] == "ceiling" else \
            self.harness(cfg, rnd, tag_prefix)
        if res.get("error"):
            self.errors.append("%s round %d: %s" % (key(cfg), rnd, res["error"]))
        log("  [%4.0fs] %-58s %9s cycles/s  %7s us CPU/cycle" % (
            time.monotonic() - self.t_start, key(cfg) + " r%d" % rnd,
            fmt(res.get("cycles_per_s"), 5), fmt(res.get("cpu_us_per_cycle"), 3)))
        return res

    def phase(self, name):
        self.phases[name] = {"load_start": loadavg(), "t_start_s": round(time.monotonic()
                                                                            - self.t_start, 1)}
        log("== %s (load %s)" % (name, " ".join("%.2f" % x for x in loadavg())))

    def end_phase(self, name):
        self.phases[name]["load_end"] = loadavg()
        self.phases[name]["duration_s"] = round(time.monotonic() - self.t_start
                                                - self.phases[name]["t_start_s"], 1)

    # ---- the phases ------------------------------------------------------------

    def paired(self):
        """Harness, harness with the inject library, ceiling: the centre point,
        round after round, the order rotated so each goes first as often."""
        self.phase("paired")
        base = dict(CENTER, strategy="py33-atomic", runner="embedded")
        cfgs = [base, dict(base, preload=True)]
        if not self.only_inject:
            cfgs.append(dict(base, strategy="py33-atomic", runner="ceiling"))
        runs = {key(c): [] for c in cfgs}
        for rnd in range(self.pair_rounds):
            k = rnd % len(cfgs)
            for cfg in cfgs[k:] + cfgs[:k]:
                runs[key(cfg)].append(self.measure(cfg, rnd, "pair"))
        self.end_phase("paired")
        h, p = runs[key(cfgs[0])], runs[key(cfgs[1])]
        c = runs[key(cfgs[2])] if len(cfgs) > 2 else []
        self.paired_runs = runs

        def ratio(a, b, field):
            ma, mb = median(r.get(field) for r in a), median(r.get(field) for r in b)
            return ma / mb if ma and mb else None

        def pair_ratios(a, b, field):
            return [x[field] / y[field] for x, y in zip(a, b)
                    if x.get(field) and y.get(field)]

        self.ceiling = {
            "config": "py33-atomic, embedded runner, 4 workers (2 compile, 2 import), "
                      "medium (~32 KB), tmpfs",
            "harness_cycles_per_s": median(r.get("cycles_per_s") for r in h),
            "ceiling_cycles_per_s": median(r.get("cycles_per_s") for r in c),
            "ceiling_loop_cycles_per_s": median(r.get("loop_cycles_per_s") for r in c),
            "ceiling_ratio": ratio(h, c, "cycles_per_s"),
            "ceiling_ratio_paired_median": median(pair_ratios(h, c, "cycles_per_s")),
            "ceiling_ratio_loop": (lambda a, b: a / b if a and b else None)(
                median(r.get("cycles_per_s") for r in h),
                median(r.get("loop_cycles_per_s") for r in c)),
            # CPU per cycle, ceiling over harness: the same ratio, less noisy.
            "ceiling_ratio_cpu": ratio(c, h, "cpu_us_per_cycle"),
            "harness_cpu_us_per_cycle": median(r.get("cpu_us_per_cycle") for r in h),
            "ceiling_cpu_us_per_cycle": median(r.get("cpu_us_per_cycle") for r in c),
            "rounds": self.pair_rounds,
            # (max - min) / median of the harness's own rounds: how far apart
            # two runs of one configuration land on this machine today
            "harness_spread": spread_of([r.get("cycles_per_s") for r in h]),
        }
        lost = ratio(p, h, "cycles_per_s")
        cpu = ratio(p, h, "cpu_us_per_cycle")
        self.inject = {
            "config": "py33-atomic, embedded runner, 4 workers, medium, tmpfs; run %s "
                      "against no preload" % self.armed_text(),
            "plain_cycles_per_s": median(r.get("cycles_per_s") for r in h),
            "preload_cycles_per_s": median(r.get("cycles_per_s") for r in p),
            "inject_overhead": 1 - lost if lost else None,
            "inject_overhead_paired_median": (lambda xs: 1 - median(xs) if xs else None)(
                pair_ratios(p, h, "cycles_per_s")),
            "inject_overhead_cpu": cpu - 1 if cpu else None,
            "plain_cpu_us_per_cycle": median(r.get("cpu_us_per_cycle") for r in h),
            "preload_cpu_us_per_cycle": median(r.get("cpu_us_per_cycle") for r in p),
            "rounds": self.pair_rounds,
        }

    def instructions(self):
        """The injection overhead counted, not timed: user-space instructions
        per cycle of the workers under callgrind, with and without --preload.
        Two lengths (-n) per configuration; their difference cancels the
        start-up. Other engineers' load does not change these counts."""
        self.inject_ir = None
        if not shutil.which("valgrind"):
            log("bench: no valgrind; skipping the instruction counts")
            return
        self.phase("instructions")
        lengths = (50, 300) if self.quick else (50, 550)
        ir = {}
        for preload in (False, True):
            for n in lengths:
                tag = "callgrind-%s-n%d" % ("preload" if preload else "plain", n)
                d = os.path.join(self.out, "runs", tag)
                os.makedirs(d, exist_ok=True)
                cache = self.cache_for("tmpfs", tag)
                argv = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                        "--callgrind-out-file=%s/callgrind.%%p" % d, self.pycstorm, "run",
                        self.scenarios["medium"], "-s", "py33-atomic", "-j", "2", "-n", str(n),
                        "-q", "--seed", "5", "--cycle-timeout", "300s", "--cache-dir", cache,
                        "-o", os.path.join(d, "run")] + (self.preload_args() if preload else [])
                rc, wall, _, _ = self.spawn(argv, d + ".log")
                shutil.rmtree(cache, ignore_errors=True)
                total = workers = 0
                for name in os.listdir(d):
                    if not name.startswith("callgrind."):
                        continue
                    text = read_text(os.path.join(d, name))
                    cmd = re.search(r"^cmd:\s*(\S+)", text, re.M)
                    count = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
                    if cmd and count and cmd.group(1).endswith("pycstorm-worker"):
                        total += int(count.group(1))
                        workers += 1
                    os.unlink(os.path.join(d, name))
                if rc != 0 or workers != 2:
                    self.errors.append("%s: exit %d, %d worker profiles" % (tag, rc, workers))
                ir[(preload, n)] = total
                log("  [%4.0fs] %-58s %12d worker instructions" % (
                    time.monotonic() - self.t_start, tag, total))
        self.end_phase("instructions")
        n1, n2 = lengths
        # two workers (one compile, one import), n cycles each
        per = {p: (ir[(p, n2)] - ir[(p, n1)]) / (2.0 * (n2 - n1)) for p in (False, True)}
        start = {p: ir[(p, n1)] - 2 * n1 * per[p] for p in (False, True)}
        self.inject_ir = {
            "config": "py33-atomic, embedded runner, 2 workers (1 compile, 1 import), medium, "
                      "-n %d and -n %d under callgrind" % lengths,
            "plain_instructions_per_cycle": round(per[False]),
            "preload_instructions_per_cycle": round(per[True]),
            "overhead_per_cycle": per[True] / per[False] - 1 if per[False] else None,
            "plain_startup_instructions_per_worker": round(start[False] / 2),
            "preload_startup_instructions_per_worker": round(start[True] / 2),
            "armed": self.armed_text(),
            "note": "user space only: with nothing armed the library adds no system calls",
        }

    def armed_text(self):
        return ("-f %s (armed)" % self.args.inject_fault if self.args.inject_fault
                else "--preload (nothing armed)")

    def matrix_points(self):
        """(strategy, runner, workers, module, fs) points, besides the paired centre."""
        runners = ["embedded"] + (["interpreter"] if self.interpreter_ok else [])
        fss = ["tmpfs"] + (["disk"] if self.disk_parent else [])
        reps = [s for s in REPRESENTATIVE if s in self.strategies]
        if self.quick:
            reps = reps[:1]
        pts = []

        def add(strategy, runner, workers, module, fs):
            cfg = {"strategy": strategy, "runner": runner, "workers": workers,
                   "module": module, "fs": fs}
            if cfg not in pts:
                pts.append(cfg)

        for s in reps:
            for runner in runners + (["ceiling"] if s == "py33-atomic" else []):
                if self.full:
                    for w in WORKERS:
                        for m in MODULES:
                            for fs in fss:
                                add(s, runner, w, m, fs)
                    continue
                # the star around the centre: each factor varied alone
                for w in WORKERS:
                    add(s, runner, w, CENTER["module"], CENTER["fs"])
                for m in MODULES:
                    add(s, runner, CENTER["workers"], m, CENTER["fs"])
                for fs in fss:
                    add(s, runner, CENTER["workers"], CENTER["module"], fs)
        if not self.quick:
            for s in self.strategies:
                if s not in reps:
                    add(s, "embedded", CENTER["workers"], CENTER["module"], CENTER["fs"])
        centre = dict(CENTER, strategy="py33-atomic")
        return [p for p in pts if not (p["runner"] in ("embedded", "ceiling") and
                                       all(p[k] == centre[k] for k in centre))]

    def matrix(self):
        self.phase("throughput")
        pts = self.matrix_points()
        runs = {key(p): [] for p in pts}
        for rnd in range(self.repeats):
            order = pts[:]
            random.Random(rnd).shuffle(order)
            for cfg in order:
                runs[key(cfg)].append(self.measure(cfg, rnd))
        self.end_phase("throughput")
        # the paired phase's runs are the centre point
        for cfg_key, rs in self.paired_runs.items():
            if "preload" not in cfg_key:
                runs[cfg_key] = rs
                pts.append(parse_key(cfg_key))
        rows = []
        for p in pts:
            rs = runs[key(p)]
            rows.append(dict(p, size=MODULES[p["module"]],
                             cycles_per_s=median(r.get("cycles_per_s") for r in rs),
                             cycles_per_s_min=min((r["cycles_per_s"] for r in rs
                                                   if r.get("cycles_per_s")), default=None),
                             cycles_per_s_max=max((r["cycles_per_s"] for r in rs
                                                   if r.get("cycles_per_s")), default=None),
                             cpu_us_per_cycle=median(r.get("cpu_us_per_cycle") for r in rs),
                             write_p50_us=median(r.get("write_latency_us", {}).get("p50")
                                                 for r in rs),
                             write_p99_us=median(r.get("write_latency_us", {}).get("p99")
                                                 for r in rs),
                             read_p50_us=median(r.get("read_latency_us", {}).get("p50")
                                                for r in rs),
                             read_p99_us=median(r.get("read_latency_us", {}).get("p99")
                                                for r in rs),
                             repeats=len(rs), runs=rs))
        # vs the ceiling at the same point (the ceiling is py33-atomic's protocol)
        ceil = {(r["workers"], r["module"], r["fs"]): r["cycles_per_s"] for r in rows
                if r["runner"] == "ceiling"}
        for r in rows:
            c = ceil.get((r["workers"], r["module"], r["fs"]))
            if r["strategy"] == "py33-atomic" and r["runner"] != "ceiling" and c \
                    and r["cycles_per_s"]:
                r["vs_ceiling"] = round(r["cycles_per_s"] / c, 3)
        order = {"embedded": 0, "interpreter": 1, "ceiling": 2}
        strat = {s: i for i, s in enumerate(self.strategies)}
        rows.sort(key=lambda r: (r["strategy"] not in REPRESENTATIVE,
                                 strat.get(r["strategy"], 99), order[r["runner"]],
                                 r["fs"] != "tmpfs", list(MODULES).index(r["module"]),
                                 r["workers"]))
        self.throughput = rows

    def gate(self):
        """gate_s: the default gate (`gate --python PY --against PY`: the native
        matrix of both, then the three race scenarios side by side), timed."""
        self.phase("gate")
        for rnd in range(1 if self.quick else 3):
            d = os.path.join(self.out, "gate", "r%d" % rnd)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            rc, wall, cpu, _ = self.spawn([self.pycstorm, "gate", "--python", self.python,
                                           "--against", self.python, "-o", d], d + ".log")
            if rc not in (0, 1):
                self.errors.append("gate round %d exited %d" % (rnd, rc))
            self.gate_results.append({"round": rnd, "exit": rc, "wall_s": round(wall, 3),
                                      "cpu_s": round(cpu, 3), "load1": self.last_load})
            log("  [%4.0fs] gate round %d: %.1f s (exit %d)" % (
                time.monotonic() - self.t_start, rnd, wall, rc))
        self.end_phase("gate")
        return median([r["wall_s"] for r in self.gate_results if r["exit"] in (0, 1)])

    def gate_report(self, machine):
        """--only gate: gate_s alone, in bench.json and on stdout."""
        gate_s = self.gate()
        machine["load_start"], machine["load_end"] = self.load_start, loadavg()
        doc = {"schema": "pycstorm-bench/1", "id": self.id, "mode": self.mode, "only": "gate",
               "started": self.started, "machine": machine,
               "wall_s": round(time.monotonic() - self.t_start, 1), "phases": self.phases,
               "gate_s": gate_s, "gate": self.gate_results, "targets": TARGETS,
               "verdicts": {"gate_s": verdict(gate_s, lambda x: x <= 60)},
               "errors": self.errors}
        with open(os.path.join(self.out, "bench.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print("gate_s %s (median of %d; target <= 60 s: %s)" % (
            fmt(gate_s), len(self.gate_results), doc["verdicts"]["gate_s"]))
        return 0 if gate_s is not None else 1

    def repro(self):
        self.phase("repro")
        runs = {t: [] for t in REPRO_TARGETS}
        timeouts = {t: 0 for t in REPRO_TARGETS}
        for seed in self.repro_seeds:
            for t in REPRO_TARGETS:
                if timeouts[t] >= 3:
                    continue      # three misses: the median is lost anyway
                d = os.path.join(self.out, "repro", "%s-s%d" % (t, seed))
                os.makedirs(os.path.dirname(d), exist_ok=True)
                rc, wall, cpu, _ = self.spawn([self.pycstorm, "repro", t, "--seed", str(seed),
                                               "--timeout", "60s", "-o", d], d + ".log")
                text = read_text(d + ".log")
                m = re.search(r"reproduced after ([0-9.]+) s", text)
                elapsed = None
                try:
                    with open(os.path.join(d, "summary.json")) as f:
                        elapsed = json.load(f)["elapsed_s"]
                except (OSError, ValueError, KeyError):
                    pass
                res = {"seed": seed, "exit": rc, "wall_s": round(wall, 3), "load1": self.last_load,
                       "reproduced": bool(m), "confirmed": rc == 0,
                       "elapsed_s": elapsed if m else None,
                       "run": os.path.relpath(d, self.out)}
                res.update(repro_anatomy(d, t))
                if not m:
                    timeouts[t] += 1
                    if rc not in (0, 1):
                        self.errors.append("repro %s seed %d exited %d" % (t, seed, rc))
                runs[t].append(res)
                log("  [%4.0fs] repro %-18s seed %-3d %s" % (
                    time.monotonic() - self.t_start, t, seed,
                    "%.2f s%s" % (elapsed, "" if rc == 0 else " (not confirmed)")
                    if m and elapsed is not None else "not reproduced (exit %d)" % rc))
        self.end_phase("repro")
        self.repro_results = {
            t: {"median_s": median_with_misses([r["elapsed_s"] for r in rs]),
                # where the time goes: workers starting, the race, stopping
                "median_ready_s": median(r.get("ready_s") for r in rs),
                "median_hit_s": median(r.get("hit_s") for r in rs),
                "median_race_s": median(r["hit_s"] - r["ready_s"] for r in rs
                                        if r.get("hit_s") is not None and r.get("ready_s")),
                "median_stop_s": median(r["elapsed_s"] - r["hit_s"] for r in rs
                                        if r.get("hit_s") is not None and r["elapsed_s"]),
                "median_workers": median(r.get("workers") for r in rs),
                "p90_s": p90([r["elapsed_s"] for r in rs]),
                "reproduced": sum(r["reproduced"] for r in rs),
                "confirmed": sum(r["confirmed"] for r in rs), "seeds": len(rs),
                "runs": rs} for t, rs in runs.items()}

    def memory(self):
        """Peak RSS (VmHWM) of the orchestrator and of one worker, short run
        against long. The orchestrator peaks in its last milliseconds, while
        it writes the reports, where polling alone would miss it: when strace
        is there, it holds every exit_group for 300 ms (seccomp-bpf: no other
        system call stops), so the last poll sees each process's final mark."""
        self.phase("memory")
        self.memory_results = []
        hold = ["strace", "-f", "--seccomp-bpf", "-o", "/dev/null", "-e", "trace=exit_group",
                "-e", "inject=exit_group:delay_enter=300ms"] if shutil.which("strace") else []
        for length in self.memory_lengths:
            tag = "memory-%ds" % length
            rundir = os.path.join(self.out, "runs", tag)
            peaks = {"orchestrator": 0, "workers": {}, "pid": None}

            def poll(pid):
                if peaks["pid"] is None:
                    kids = children_of(pid) if hold else [pid]
                    peaks["pid"] = kids[0] if kids else None
                orch = peaks["pid"]
                if orch is None:
                    return
                peaks["orchestrator"] = max(peaks["orchestrator"], vm_hwm(orch))
                for child in children_of(orch):
                    peaks["workers"][child] = max(peaks["workers"].get(child, 0),
                                                  vm_hwm(child))

            argv = hold + [self.pycstorm, "run", self.scenarios["medium"], "-s",
                           "py27-pycompile,py33-atomic", "-j", "4", "-d", "%ds" % length, "-q",
                           "--seed", "7", "-o", rundir]
            rc, wall, cpu, tree_maxrss = self.spawn(argv, rundir + ".log", poll)
            events = os.path.join(rundir, "events.jsonl")
            lines = sum(1 for _ in open(events)) if os.path.exists(events) else None
            w = sorted(v for v in peaks["workers"].values() if v)
            res = {"run_s": length, "exit": rc, "orchestrator_peak_rss_kb": peaks["orchestrator"],
                   "worker_peak_rss_kb_max": w[-1] if w else None,
                   "worker_peak_rss_kb_median": median(w), "workers_seen": len(w),
                   "exit_held_by_strace": bool(hold),
                   # the largest process of the tree, as /usr/bin/time reports it
                   "tree_maxrss_kb": tree_maxrss,
                   "events_jsonl_bytes": os.path.getsize(events) if lines is not None else None,
                   "events_jsonl_lines": lines, "run": os.path.relpath(rundir, self.out)}
            try:
                with open(os.path.join(rundir, "summary.json")) as f:
                    s = json.load(f)
                res["cycles"] = sum(r["cycles"] for r in s["results"])
                res["failed_cycles"] = sum(r["cycles"] - r["outcomes"].get("ok", 0)
                                           for r in s["results"])
            except (OSError, ValueError, KeyError):
                self.errors.append("memory run %s: no summary" % tag)
            if rc != 0:
                self.errors.append("memory run %s exited %d" % (tag, rc))
            self.memory_results.append(res)
            log("  [%4.0fs] %s: orchestrator %s kB, worker %s kB" % (
                time.monotonic() - self.t_start, tag, res["orchestrator_peak_rss_kb"],
                res["worker_peak_rss_kb_max"]))
        self.end_phase("memory")

    # ---- reports -------------------------------------------------------------------

    def report(self, machine, gate_s=None):
        short, long_ = self.memory_results[0], self.memory_results[-1]
        growth = (long_["orchestrator_peak_rss_kb"] / short["orchestrator_peak_rss_kb"]
                  if short["orchestrator_peak_rss_kb"] else None)
        repro_median = {t: r["median_s"] for t, r in self.repro_results.items()}
        spread = self.ceiling["harness_spread"]
        verdicts = {
            "ceiling_ratio": verdict(self.ceiling["ceiling_ratio"], lambda x: x >= 0.8,
                                     spread, 0.8),
            "inject_overhead": verdict(self.inject["inject_overhead"], lambda x: x <= 0.05,
                                       spread, 0.05),
            "repro_median_s": verdict(list(repro_median.values()),
                                      lambda xs: all(x is not None and x <= 2 for x in xs)),
            "orchestrator_rss": verdict(growth, lambda x: x <= 1.25),
            "gate_s": verdict(gate_s, lambda x: x <= 60),
            "exec_overhead": verdict(self.exec_result["exec_overhead"], lambda x: x <= 0.10),
        }
        machine["load_start"] = self.load_start
        machine["load_end"] = loadavg()
        doc = {
            "schema": "pycstorm-bench/1",
            "id": self.id, "mode": self.mode,
            "started": self.started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_s": round(time.monotonic() - self.t_start, 1),
            "machine": machine,
            "settings": {
                "duration_s": self.duration, "matrix_repeats": self.repeats,
                "paired_rounds": self.pair_rounds, "repro_seeds": self.repro_seeds,
                "repro_timeout_s": 60, "memory_run_s": self.memory_lengths,
                "interpreter": self.python,
                "representative_strategies": [s for s in REPRESENTATIVE
                                              if s in self.strategies][:1 if self.quick else 3],
                "matrix": "full" if self.full else
                          "star around 4 workers / medium / tmpfs (each factor varied alone)",
                "throughput_definition": "cycles / elapsed_s from summary.json (the start-up "
                                         "of the workers counts); cpu_us_per_cycle = user + "
                                         "system CPU of the process tree / cycles",
            },
            "phases": self.phases,
            "targets": TARGETS,
            "verdicts": verdicts,
            "ceiling_ratio": self.ceiling["ceiling_ratio"],
            "inject_overhead": self.inject["inject_overhead"],
            "repro_median_s": repro_median,
            "repro_p90_s": {t: r["p90_s"] for t, r in self.repro_results.items()},
            "gate_s": gate_s,
            "gate": self.gate_results,
            "ceiling": self.ceiling,
            "inject": dict(self.inject, instructions=self.inject_ir),
            "repro": self.repro_results,
            "memory": {"runs": self.memory_results, "orchestrator_growth": growth},
            "exec_overhead": self.exec_result["exec_overhead"],
            "exec": self.exec_result,
            "throughput": self.throughput,
            "runs": self.nruns,
            "errors": self.errors,
        }
        with open(os.path.join(self.out, "bench.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        md = markdown(doc)
        with open(os.path.join(self.out, "bench.md"), "w") as f:
            f.write(md)
        return doc, md

    def run(self):
        self.setup()
        self.started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.load_start = loadavg()
        machine = self.machine()
        log("pycstorm bench (%s): results/bench/%s; %s cores, load %s" % (
            self.mode, self.id, machine["nproc"], " ".join("%.2f" % x for x in self.load_start)))
        if not self.disk_parent:
            log("bench: no disk filesystem found for the disk points; skipping them")
        if not self.interpreter_ok:
            log("bench: %s is not executable; skipping the interpreter runner" % self.python)
        if self.only_gate:
            return self.gate_report(machine)
        if self.only_exec:
            self.exec_overhead()
            return self.exec_report(machine)
        self.paired()
        self.instructions()
        if self.only_inject:
            return self.inject_report(machine)
        self.matrix()
        self.repro()
        gate_s = self.gate()
        self.memory()
        self.exec_overhead()
        if self.disk_parent:
            shutil.rmtree(self.disk_parent, ignore_errors=True)
        doc, md = self.report(machine, gate_s)
        print(md)
        log("bench: %d runs in %.0f s; results/bench/%s/bench.json" % (
            self.nruns, doc["wall_s"], self.id))
        # Missed targets are findings, not failures; failing to measure is.
        return 1 if doc["ceiling_ratio"] is None or doc["inject_overhead"] is None else 0


    def exec_overhead(self):
        """What `pycstorm exec` adds to a real program's wall time with nothing
        armed: `python3 -m compileall -q -f` over a copy of the stdlib's email
        and json packages, bare and under exec, interleaved; the overhead is
        median(exec) / median(bare) - 1. Both compile every file (-f), so
        both write the same caches. exec keeps probe answers between runs
        (its user cache), so round 0 pays for the probe and later rounds
        reuse it; a third arm, "cold", runs exec with PYCSTORM_NO_CACHE=1
        every round: the probe asked every time (exec_overhead_cold, no
        target). The arms run in a shuffled order each round (seeded by the
        round): on a shared machine a run pays for the writeback of the one
        before it, and a fixed order would bill one arm for it. Each exec
        run's events.jsonl gives the copy's own wall time, which splits what
        exec adds into exec's own work (its wall time minus the copy's:
        exec_self_median_s) and the copy's slowdown under the inject library
        (copy_median_s against bare_median_s)."""
        self.phase("exec_overhead")
        work = os.path.join(self.out, "exec-overhead")
        stdlib = subprocess.run([self.python, "-c", "import sysconfig; "
                                 "print(sysconfig.get_paths()['stdlib'])"],
                                capture_output=True, text=True, check=True).stdout.strip()
        src = os.path.join(work, "project")
        for pkg in EXEC_PACKAGES:
            shutil.copytree(os.path.join(stdlib, pkg), os.path.join(src, pkg),
                            ignore=shutil.ignore_patterns("__pycache__"))
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        program = [self.python, "-m", "compileall", "-q", "-f"] + EXEC_PACKAGES
        cold_env = dict(env, PYCSTORM_NO_CACHE="1")
        times = {"bare": [], "exec": [], "cold": []}
        copy, own = [], []
        for rnd in range(self.exec_rounds):
            order = ["bare", "exec", "cold"]
            random.Random(rnd).shuffle(order)
            for how in order:
                run_dir = os.path.join(work, "%s-%d" % (how, rnd))
                argv = program if how == "bare" else [
                    self.pycstorm, "exec", "-q", "-o", run_dir, "--"] + program
                t0 = time.monotonic()
                rc = subprocess.run(argv, cwd=src, env=cold_env if how == "cold" else env,
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL).returncode
                wall = time.monotonic() - t0
                self.nruns += 1
                if rc != 0:
                    self.errors.append("exec_overhead: %s round %d exited %d" % (how, rnd, rc))
                    continue
                times[how].append(wall)
                latency = copy_latency_s(run_dir) if how == "exec" else None
                if latency is not None:
                    copy.append(latency)
                    own.append(wall - latency)
            log("  [%4.0fs] exec_overhead round %d: bare %.3f s, exec %.3f s, cold %.3f s" % (
                time.monotonic() - self.t_start, rnd,
                times["bare"][-1] if times["bare"] else -1,
                times["exec"][-1] if times["exec"] else -1,
                times["cold"][-1] if times["cold"] else -1))
        self.end_phase("exec_overhead")
        bare, under, cold = median(times["bare"]), median(times["exec"]), median(times["cold"])
        self.exec_result = {
            "exec_overhead": round(under / bare - 1, 4) if bare and under else None,
            "exec_overhead_cold": round(cold / bare - 1, 4) if bare and cold else None,
            "bare_median_s": bare, "exec_median_s": under, "cold_median_s": cold,
            "copy_median_s": median(copy), "exec_self_median_s": median(own),
            "rounds": self.exec_rounds, "cold_s": times["cold"],
            "program": " ".join(["python3", "-m", "compileall", "-q", "-f"] + EXEC_PACKAGES),
            "bare_s": times["bare"], "exec_s": times["exec"]}

    def exec_report(self, machine):
        """--only exec: exec_overhead alone, in bench.json and on stdout."""
        e = self.exec_result
        machine["load_start"], machine["load_end"] = self.load_start, loadavg()
        doc = {"schema": "pycstorm-bench/1", "id": self.id, "mode": self.mode,
               "only": "exec", "started": self.started, "machine": machine,
               "wall_s": round(time.monotonic() - self.t_start, 1), "phases": self.phases,
               "targets": {"exec_overhead": TARGETS["exec_overhead"]},
               "verdicts": {"exec_overhead": verdict(e["exec_overhead"], lambda x: x <= 0.10)},
               "exec_overhead": e["exec_overhead"], "exec": e, "errors": self.errors}
        with open(os.path.join(self.out, "bench.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print("exec overhead (%s, nothing armed): %s (median %s s under exec, %s s bare, "
              "%d rounds); target <= 0.10: %s; of it, exec's own work %s s and the copy "
              "%s s (median); with nothing kept from earlier runs (PYCSTORM_NO_CACHE=1): "
              "%s (median %s s)" % (
                  e["program"], fmt(e["exec_overhead"]), fmt(e["exec_median_s"]),
                  fmt(e["bare_median_s"]), e["rounds"], doc["verdicts"]["exec_overhead"],
                  fmt(e["exec_self_median_s"]), fmt(e["copy_median_s"]),
                  fmt(e["exec_overhead_cold"]), fmt(e["cold_median_s"])))
        return 1 if e["exec_overhead"] is None else 0

    def inject_report(self, machine):
        """--only inject: the overhead figures alone, in bench.json and on stdout."""
        i, ir = self.inject, self.inject_ir or {}
        machine["load_start"], machine["load_end"] = self.load_start, loadavg()
        doc = {"schema": "pycstorm-bench/1", "id": self.id, "mode": self.mode,
               "only": "inject", "started": self.started, "machine": machine,
               "wall_s": round(time.monotonic() - self.t_start, 1), "phases": self.phases,
               "inject_overhead": i["inject_overhead"],
               "inject": dict(i, instructions=self.inject_ir), "errors": self.errors}
        with open(os.path.join(self.out, "bench.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print("inject overhead, %s: %s (paired median %s; CPU per cycle %+.3g); "
              "%s / %s cycles/s, median of %d rounds" % (
                  self.armed_text(), fmt(i["inject_overhead"]),
                  fmt(i["inject_overhead_paired_median"]), i["inject_overhead_cpu"] or 0,
                  fmt(i["preload_cycles_per_s"], 5), fmt(i["plain_cycles_per_s"], 5),
                  i["rounds"]))
        if ir:
            print("instructions per cycle under callgrind: %s plain, %s with the library "
                  "(%+.3g)" % (ir["plain_instructions_per_cycle"],
                               ir["preload_instructions_per_cycle"],
                               ir["overhead_per_cycle"] or 0))
        log("bench: %d runs in %.0f s; results/bench/%s/bench.json" % (
            self.nruns, doc["wall_s"], self.id))
        return 1 if i["inject_overhead"] is None else 0


def key(cfg):
    return "%s/%s/j%d/%s/%s%s" % (cfg["strategy"], cfg["runner"], cfg["workers"],
                                  cfg["module"], cfg["fs"], "/preload" if cfg.get("preload")
                                  else "")


def slug(cfg):
    """key(cfg) as a file name."""
    return key(cfg).replace("/", "-")


def parse_key(k):
    s, runner, w, m, fs = k.split("/")[:5]
    return {"strategy": s, "runner": runner, "workers": int(w[1:]), "module": m, "fs": fs}


def pick(lat):
    return {k: lat.get(k) for k in ("p50", "p90", "p99", "mean")}


def repro_anatomy(run_dir, target):
    """From a repro run's events.jsonl: when the last worker said hello
    (ready_s), when the target's outcome was first seen with its evidence
    (hit_s), and how many workers started."""
    starts, hit = [], None
    try:
        with open(os.path.join(run_dir, "events.jsonl")) as f:
            for line in f:
                e = json.loads(line)
                if e.get("type") == "start":
                    starts.append(e["t"])
                elif hit is None and e.get("type") == "cycle" and \
                        e.get("outcome") == REPRO_CLASS[target] and \
                        (e.get("evidence") or target == "permission-error"):
                    hit = e["t"]
    except (OSError, ValueError, KeyError):
        return {}
    return {"ready_s": max(starts) if starts else None, "hit_s": hit, "workers": len(starts)}


def copy_latency_s(run_dir):
    """The wall time of an exec run's one copy, from its events.jsonl, or None."""
    try:
        with open(os.path.join(run_dir, "events.jsonl")) as f:
            exits = [json.loads(line) for line in f if '"type": "exit"' in line]
    except (OSError, ValueError):
        return None
    return exits[0]["latency_ns"] / 1e9 if len(exits) == 1 else None


def median_with_misses(xs):
    """A miss (None) is longer than every hit: it can be the median."""
    if not xs:
        return None
    ordered = sorted(xs, key=lambda x: float("inf") if x is None else x)
    n = len(ordered)
    lo, hi = ordered[(n - 1) // 2], ordered[n // 2]
    if lo is None or hi is None:
        return None
    return (lo + hi) / 2


def spread_of(xs):
    xs = [x for x in xs if x]
    return (max(xs) - min(xs)) / statistics.median(xs) if len(xs) > 1 else None


def verdict(value, ok, spread=None, target=None):
    """met / missed; a miss closer to the target than the run-to-run spread
    says so, since on a shared machine it may be noise."""
    if value is None or (isinstance(value, list) and not value):
        return "not measured"
    try:
        if ok(value):
            return "met"
    except TypeError:
        return "missed"
    if spread is not None and target is not None and abs(value - target) < spread:
        return "missed, within the run-to-run spread (%.2g)" % spread
    return "missed"


def vm_hwm(pid):
    m = re.search(r"VmHWM:\s*(\d+)", read_text("/proc/%d/status" % pid))
    return int(m.group(1)) if m else 0


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            stat = read_text("/proc/%s/stat" % d)
            # "pid (comm) state ppid ...": comm may hold spaces, so split after ')'
            rest = stat[stat.rfind(")") + 2:].split()
            if len(rest) > 1 and rest[1] == str(pid):
                kids.append(int(d))
    return kids


def markdown(doc):
    m, c, i = doc["machine"], doc["ceiling"], doc["inject"]
    fs = m["filesystems"]
    out = ["# pycstorm bench %s (%s)" % (doc["id"], doc["mode"]), "",
           "%s cores (%s), %s; load average %s at start, %s at end; tmpfs cache on %s, "
           "disk cache on %s (%s); git %s; %d runs in %.0f s." % (
               m["nproc"], md(m["cpu_model"]), md(m["kernel"]),
               "/".join("%.2f" % x for x in m["load_start"]),
               "/".join("%.2f" % x for x in m["load_end"]),
               md(fs["tmpfs_cache"]["mount_fstype"] or fs["tmpfs_cache"]["statfs_type"]),
               md((fs["disk_cache"] or {}).get("mount_fstype") or "-"),
               md((fs["disk_cache"] or {}).get("mount_source") or "-"),
               md(m["git_commit"]), doc["runs"], doc["wall_s"]), "",
           "Load average (1 min) by phase: %s." % ", ".join(
               "%s %.1f -> %.1f" % (n, p["load_start"][0], p["load_end"][0])
               for n, p in doc["phases"].items()), "",
           "Figures are medians; compared configurations ran interleaved in the same run. "
           "cycles/s is cycles over elapsed_s as summary.json has it; CPU/cycle is user + "
           "system time of the whole process tree per cycle (less sensitive to other load).",
           "", "## Targets", "",
           "| figure | value | target | verdict | second opinion |",
           "|---|---|---|---|---|",
           "| ceiling_ratio (harness / ceiling, 4 workers, 32 KB, tmpfs) | %s | >= 0.8 | %s | "
           "paired median %s; CPU/cycle ceiling/harness %s; vs the ceiling's loop-only rate %s |"
           % (fmt(c["ceiling_ratio"]), doc["verdicts"]["ceiling_ratio"],
              fmt(c["ceiling_ratio_paired_median"]), fmt(c["ceiling_ratio_cpu"]),
              fmt(c["ceiling_ratio_loop"])),
           "| inject_overhead (throughput lost with the library preloaded, nothing armed) | "
           "%s | <= 0.05 | %s | paired median %s; CPU/cycle %+.3g; instructions/cycle %s |"
           % (fmt(i["inject_overhead"]), doc["verdicts"]["inject_overhead"],
              fmt(i["inject_overhead_paired_median"]), i["inject_overhead_cpu"] or 0,
              "%+.2g (callgrind)" % i["instructions"]["overhead_per_cycle"]
              if i.get("instructions") and i["instructions"]["overhead_per_cycle"] is not None
              else "-"),
           "| repro_median_s (max over targets) | %s | <= 2 s each | %s | p90 max %s |"
           % (fmt(max((x for x in doc["repro_median_s"].values() if x is not None),
                      default=None)), doc["verdicts"]["repro_median_s"],
              fmt(max((x for x in doc["repro_p90_s"].values() if x is not None),
                      default=None))),
           "| gate_s (default gate: native matrix of both, 3 race scenarios) | %s | <= 60 s | %s "
           "| median of %d |" % (fmt(doc["gate_s"]), doc["verdicts"]["gate_s"], len(doc["gate"])),
           "| orchestrator peak RSS, %d s run / %d s run | %s | flat | %s | |"
           % (doc["memory"]["runs"][-1]["run_s"], doc["memory"]["runs"][0]["run_s"],
              fmt(doc["memory"]["orchestrator_growth"]), doc["verdicts"]["orchestrator_rss"]),
           "| exec_overhead (wall time exec adds to %s, nothing armed) | %s | <= 0.10 | %s | "
           "median %s s under exec, %s s bare (exec's own work %s s, the copy %s s); "
           "%s (%s s) with PYCSTORM_NO_CACHE=1 |"
           % (doc["exec"]["program"], fmt(doc["exec_overhead"]), doc["verdicts"]["exec_overhead"],
              fmt(doc["exec"]["exec_median_s"]), fmt(doc["exec"]["bare_median_s"]),
              fmt(doc["exec"]["exec_self_median_s"]), fmt(doc["exec"]["copy_median_s"]),
              fmt(doc["exec"]["exec_overhead_cold"]), fmt(doc["exec"]["cold_median_s"])),
           "", "## Ceiling and injection overhead (%d rounds)" % c["rounds"], "",
           "| configuration | cycles/s | CPU us/cycle |", "|---|---|---|",
           "| harness (embedded, py33-atomic) | %s | %s |" % (
               fmt(c["harness_cycles_per_s"], 5), fmt(c["harness_cpu_us_per_cycle"])),
           "| harness with --preload | %s | %s |" % (
               fmt(i["preload_cycles_per_s"], 5), fmt(i["preload_cpu_us_per_cycle"])),
           "| ceiling program | %s (loop only %s) | %s |" % (
               fmt(c["ceiling_cycles_per_s"], 5), fmt(c["ceiling_loop_cycles_per_s"], 5),
               fmt(c["ceiling_cpu_us_per_cycle"])),
           "", "Instructions per cycle under callgrind (user space, workers only): %s plain, "
           "%s with the library preloaded; start-up per worker %s against %s." % (
               tuple(fmt((i.get("instructions") or {}).get(k), 6) for k in (
                   "plain_instructions_per_cycle", "preload_instructions_per_cycle",
                   "plain_startup_instructions_per_worker",
                   "preload_startup_instructions_per_worker"))),
           "", "## Time to reproduce (%d seeds, --timeout 60s)" % len(doc["settings"]
                                                                  ["repro_seeds"]), "",
           "| target | median s | p90 s | reproduced | confirmed | workers | median s from the "
           "start: all workers up / first hit / stopped |",
           "|---|---|---|---|---|---|---|"]
    for t, r in doc["repro"].items():
        out.append("| %s | %s | %s | %d/%d | %d/%d | %s | %s / %s / %s |" % (
            md(t), fmt(r["median_s"]), fmt(r["p90_s"]) if r["p90_s"] is not None else "> 60",
            r["reproduced"], r["seeds"], r["confirmed"], r["seeds"], fmt(r["median_workers"]),
            fmt(r["median_ready_s"]), fmt(r["median_hit_s"]), fmt(r["median_s"])))
    out += ["", "## Memory (py27-pycompile + py33-atomic, 4 workers each, medium, tmpfs)", "",
            "VmHWM from /proc, polled every 50 ms%s." % (
                "; every exit held 300 ms by strace, so the last poll reads each process's "
                "final mark" if doc["memory"]["runs"][0].get("exit_held_by_strace") else
                " (no strace: the orchestrator's last milliseconds may be missed)"), "",
            "| run | orchestrator peak RSS kB | one worker peak RSS kB (max / median) | "
            "cycles | failed cycles | events.jsonl lines |", "|---|---|---|---|---|---|"]
    for r in doc["memory"]["runs"]:
        out.append("| %d s | %s | %s / %s | %s | %s | %s |" % (
            r["run_s"], r["orchestrator_peak_rss_kb"], r["worker_peak_rss_kb_max"],
            fmt(r["worker_peak_rss_kb_median"], 6), r.get("cycles"), r.get("failed_cycles"),
            r["events_jsonl_lines"]))
    out += ["", "## Throughput (%s; %d repeat(s), %g s runs)" % (
        doc["settings"]["matrix"], doc["settings"]["matrix_repeats"],
        doc["settings"]["duration_s"]), "",
        "| strategy | runner | workers | module | fs | cycles/s | min-max | CPU us/cycle | "
        "write us p50/p99 | read us p50/p99 | vs ceiling |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["throughput"]:
        out.append("| %s | %s | %d | %s (%s) | %s | %s | %s-%s | %s | %s / %s | %s / %s | %s |"
                   % (md(r["strategy"]) if r["runner"] != "ceiling" else "(ceiling program)",
                      md(r["runner"]), r["workers"], md(r["module"]), md(r["size"]), md(r["fs"]),
                      fmt(r["cycles_per_s"], 5), fmt(r["cycles_per_s_min"], 5),
                      fmt(r["cycles_per_s_max"], 5), fmt(r["cpu_us_per_cycle"]),
                      fmt(r["write_p50_us"]), fmt(r["write_p99_us"]), fmt(r["read_p50_us"]),
                      fmt(r["read_p99_us"]), fmt(r.get("vs_ceiling"))))
    if doc["errors"]:
        out += ["", "## Errors", ""] + ["- %s" % md(e) for e in doc["errors"]]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="bin", help="where pycstorm and its worker are")
    ap.add_argument("--ceiling", default="build/bench/pycstorm-ceiling")
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter runner's")
    ap.add_argument("--quick", action="store_true", help="~2 minutes (also BENCH_QUICK=1)")
    ap.add_argument("--duration", type=float, help="seconds per throughput run")
    ap.add_argument("--repeats", type=int, help="rounds of the throughput matrix")
    ap.add_argument("--id", help="results/bench/<id> (default: UTC time and mode)")
    ap.add_argument("--only", choices=["inject", "gate", "exec"],
                    help="inject: only the injection overhead (paired runs, callgrind); "
                         "gate: only gate_s; exec: only exec_overhead")
    ap.add_argument("--inject-fault", metavar="SPEC",
                    help="arm SPEC instead of --preload for the injection overhead")
    return Bench(ap.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
