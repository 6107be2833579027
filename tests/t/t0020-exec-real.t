#!/bin/bash
# pycstorm exec against real programs (Debian's mypy, Twisted, pytest, and
# compileall of another release): every cache kind judged the way its
# reader reads it, leftover temporary files named, the verdict as the exit
# status, and nothing of ours left where the project's tools look.
. "$(dirname "$0")/lib.sh"
skip_if_asan_preload "exec on real programs"

PY=/usr/bin/python3
skip_unless_executable "$PY"
# Our runs go here unless -o says otherwise; never below a project.
export XDG_STATE_HOME="$SCRATCH/state"

in_dir() {
	local d=$1
	shift
	(cd "$d" && "$@")
}

# make_module FILE FUNCTIONS [PREFIX]: a module big enough that a random cut
# almost never falls in its header.
make_module() {
	"$PY" -c 'import sys
n = int(sys.argv[2])
p = sys.argv[3] if len(sys.argv) > 3 else ""
open(sys.argv[1], "w").write(p + "".join("def f%d(x):\n    return x + %d\n" % (i, i) for i in range(n)))' "$@"
}

# --- the judges of each kind, on files made by hand ------------------------------
JUDGE="$PYCSTORM_BIN/pycstorm-cache-judge.py"
judges() {
	local J="$SCRATCH/judge"
	mkdir -p "$J"
	printf '{"id": "a", "mtime": 1, "size": 2, "dependencies": [], "data_mtime": 3}' >"$J/ok.meta.json"
	printf '{"id": "a", "mtime": 1, "size": 2, "depend' >"$J/cut.meta.json"
	printf '{"id": "a"}' >"$J/thin.meta.json"
	printf '{"id": "a" "x"}' >"$J/bad.json"
	"$PY" -c 'import pickle, sys; open(sys.argv[1], "wb").write(pickle.dumps({"a": 1})[:-3])' "$J/cut.pickle"
	"$PY" -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("create table files (path, data)")
db.executemany("insert into files values (?, ?)", [(str(i), "x" * 500) for i in range(200)])
db.commit(); db.close()' "$J/ok.db"
	head -c 20000 "$J/ok.db" >"$J/cut.db"
	in_dir "$J" "$PY" "$JUDGE" mypy-meta ok.meta.json mypy-meta cut.meta.json mypy-meta thin.meta.json \
		json bad.json twisted-dropin cut.pickle sqlite ok.db sqlite cut.db >"$SCRATCH/judged"
	sed 's/^/# /' "$SCRATCH/judged"
	cut -f1 "$SCRATCH/judged" | tr '\n' ' ' >"$SCRATCH/classes"
	[ "$(cat "$SCRATCH/classes")" = "ok eof stale bad_marshal eof ok bad_marshal " ]
}
test_ok "each kind's judge: JSON and mypy's fields, pickle, SQLite" judges

# --- a single damaging round exits 1, even with -q ---------------------------------
quiet_single() {
	local W="$SCRATCH/q"
	mkdir -p "$W/mods"
	make_module "$W/mods/mod.py" 2000
	exits 1 in_dir "$W" "$PYCSTORM" exec -q -o "$SCRATCH/q-run" --fault short-write:p=1 \
		-- "$PY" -m compileall -q mods >"$SCRATCH/q.out" 2>"$SCRATCH/q.err"
	test ! -s "$SCRATCH/q.out"
	test ! -s "$SCRATCH/q.err"
	result_true "$SCRATCH/q-run/summary.json" exec 'r["corrupt"] == 1'
}
test_ok "a single round that leaves damage exits 1, and -q prints nothing" quiet_single
header_python() {
	json_true "$SCRATCH/q-run/summary.json" 'j["python"]["version"].startswith("3.") and j["python"]["executable"].startswith("/")'
}
test_ok "the header names the interpreter that ran" header_python

# --- judged by the interpreter that ran: compileall of 3.12 ------------------------
PY312=$(pyenv_python 3.12)
compileall_312() {
	local W="$SCRATCH/c312"
	mkdir -p "$W/mods"
	make_module "$W/mods/mod.py" 2000
	exits 1 in_dir "$W" "$PYCSTORM" exec -o "$SCRATCH/c312-run" --fault short-write:p=1 \
		-- "$PY312" -m compileall -q mods 2>"$SCRATCH/c312.err"
	grep -qE '^pycstorm exec: python: .*3\.12\.[0-9]+ \(from the command\)' "$SCRATCH/c312.err"
	grep -qE '^pycstorm exec:   eof +mods/__pycache__/mod\.cpython-312\.pyc \(\.pyc\): EOFError: ' "$SCRATCH/c312.err"
	# the real consequence: 3.12 itself fails to import it
	not in_dir "$W/mods" "$PY312" -c 'import mod' 2>"$SCRATCH/c312-import.err"
	tail -n 1 "$SCRATCH/c312-import.err" | grep -q '^EOFError: '
}
if [ -n "$PY312" ]; then
	test_ok "a 3.12 compileall under short-write: eof, judged by 3.12" compileall_312
else
	skip "a 3.12 compileall under short-write" "no pyenv python3.12"
fi

# --- Twisted: the plugin cache lists plugins that no longer load -------------------
TW="$SCRATCH/tw"
twisted_dropin() {
	local i
	mkdir -p "$TW/myplugins"
	: >"$TW/myplugins/__init__.py"
	for i in 1 2 3 4 5 6; do
		make_module "$TW/myplugins/p$i.py" 300 "from zope.interface import provider
from twisted.plugin import IPlugin
@provider(IPlugin)
class P$i:
    pass
"
	done
	printf '%s\n' 'from twisted.plugin import getPlugins, IPlugin' 'import myplugins' \
		'print(len(list(getPlugins(IPlugin, myplugins))))' >"$TW/load.py"
	# The package itself was byte-compiled at install time.
	"$PY" -m compileall -q "$TW/myplugins/__init__.py"
	exits 1 in_dir "$TW" "$PYCSTORM" exec -o "$SCRATCH/tw-run" --fault short-write:p=1 \
		-- "$PY" load.py >"$SCRATCH/tw.out" 2>"$SCRATCH/tw.err"
	[ "$(cat "$SCRATCH/tw.out")" = 6 ]
	grep -qE "^pycstorm exec:   eof +myplugins/dropin\.cache \(Twisted's plugin cache \(pickle\)\): damaged: 6 of the 6 plugins it lists fail to load" "$SCRATCH/tw.err"
	result_true "$SCRATCH/tw-run/summary.json" exec 'any(e.endswith("myplugins/dropin.cache.kept") for e in r["evidence"])'
}
twisted_consequence() {
	# The next process silently loses them and still exits 0.
	in_dir "$TW" "$PY" load.py >"$SCRATCH/tw2.out" 2>"$SCRATCH/tw2.err"
	[ "$(cat "$SCRATCH/tw2.out")" = 0 ]
}
if "$PY" -c 'import twisted.plugin' 2>/dev/null; then
	test_ok "short-write on Twisted: dropin.cache reported damaged, exit 1" twisted_dropin
	test_ok "the real consequence: the next run loses every plugin and exits 0" twisted_consequence
else
	skip "short-write on Twisted" "no python3-twisted"
	skip "Twisted's next run" "no python3-twisted"
fi

# --- mypy: held locks leave temporary files behind (mypy #3215) --------------------
MY="$SCRATCH/mypy"
mypy_held() {
	mkdir -p "$MY"
	printf 'def f(x: int) -> str:\n    return str(x)\n' >"$MY/a.py"
	printf 'from a import f\nprint(f(3))\n' >"$MY/b.py"
	# A cache to rewrite: only a file that exists can be held.
	in_dir "$MY" mypy a.py b.py >/dev/null
	exits 1 in_dir "$MY" "$PYCSTORM" exec -j 2 --runs 5 --seed 7 -o "$SCRATCH/mypy-run" \
		--fault held-lock:holders=4,hold=20ms..200ms -- mypy --no-incremental a.py b.py \
		>/dev/null 2>"$SCRATCH/mypy.err"
	grep -qE 'failed: no copy failed, but it left temporary files' "$SCRATCH/mypy.err"
	grep -qE '^pycstorm exec:   leftover +\.mypy_cache/.*\.json\.[0-9a-f]+$' "$SCRATCH/mypy.err"
	result_true "$SCRATCH/mypy-run/summary.json" exec 'r["by_op"]["write"]["leftover_temp"] >= 1 and r["faults_fired"]["pycstorm/lock/held"] >= 1'
	grep -q '^class: leftover_temp$' "$SCRATCH/mypy-run/damage.txt"
}
mypy_leftovers_stay() {
	# The real consequence: they are still there after a plain run.
	in_dir "$MY" mypy a.py b.py >/dev/null
	ls "$MY"/.mypy_cache/*/*.json.* "$MY"/.mypy_cache/*/*/*.json.* 2>/dev/null | grep -q .
}
mypy_ok_exit() {
	printf 'x: int = "no"\n' >"$MY/bad.py"
	exits 0 in_dir "$MY" "$PYCSTORM" exec -q --ok-exit 0,1 -o "$SCRATCH/mypy-ok" -- mypy bad.py >/dev/null
	exits 1 in_dir "$MY" "$PYCSTORM" exec -q --ok-exit 0 -o "$SCRATCH/mypy-ok0" -- mypy bad.py >/dev/null
}
if [ -x /usr/bin/mypy ]; then
	test_ok "held-lock on mypy: leftover temporary files reported, exit 1" mypy_held
	test_ok "the real consequence: a later mypy run leaves them there" mypy_leftovers_stay
	test_ok "--ok-exit 0,1 accepts mypy's exit 1 for a type error" mypy_ok_exit
else
	skip "held-lock on mypy" "no /usr/bin/mypy"
	skip "mypy's leftovers" "no /usr/bin/mypy"
	skip "--ok-exit with mypy" "no /usr/bin/mypy"
fi

# --- pytest: its rewritten .pyc is damaged by a power cut, and pytest copes -------------
PT="$SCRATCH/pt"
pytest_tolerant() {
	local s found= rc
	mkdir -p "$PT/tests"
	"$PY" -c 'import sys
open(sys.argv[1], "w").write("".join("def test_%d():\n    assert %d + 1 == %d\n" % (i, i, i + 1) for i in range(200)))' "$PT/tests/test_one.py"
	# Seeds until one cut leaves the rewritten .pyc damaged (a few tries).
	for s in $(seq 1 30); do
		rm -rf "$PT/tests/__pycache__" "$PT/.pytest_cache" "$SCRATCH/pt-run"
		rc=0
		in_dir "$PT" "$PYCSTORM" exec -o "$SCRATCH/pt-run" --seed "$s" \
			--fault power-cut:model=ext4-ordered,at=60s,sector=512 -- pytest-3 -q tests \
			>/dev/null 2>"$SCRATCH/pt.err" || rc=$?
		if grep -q 'damaged, and pytest rewrites it' "$SCRATCH/pt.err"; then
			found=$s
			break
		fi
	done
	diag "seed ${found:-none}"
	test -n "$found"
	grep -qE "^pycstorm exec:   eof +tests/__pycache__/test_one\.cpython-3[0-9]+-pytest-[0-9.]+\.pyc \(pytest's rewritten \.pyc\): damaged, and pytest rewrites it" "$SCRATCH/pt.err"
	grep -q 'judged 1 .pyc and [0-9]* other: 0 damaged, 1 damaged but tolerated' "$SCRATCH/pt.err"
	result_true "$SCRATCH/pt-run/summary.json" exec 'r["corrupt"] == 0 and r["by_op"]["import"] == {"stale": 1}'
	grep -q '^pycstorm exec: after the cut the command ran cleanly$' "$SCRATCH/pt.err"
	# tolerated damage alone is a clean verdict; a temporary file the cut
	# brought back (an undone rename) is not
	if grep -q '^class: leftover_temp$' "$SCRATCH/pt-run/damage.txt"; then
		[ "$rc" = 1 ]
	else
		[ "$rc" = 0 ]
	fi
}
if [ -x /usr/bin/pytest-3 ]; then
	test_ok "pytest's tolerant .pyc after a power cut: reported, not counted as corruption" pytest_tolerant
else
	skip "pytest's tolerant .pyc" "no /usr/bin/pytest-3 (python3-pytest)"
fi

# --- the project after exec: nothing of ours where its tools look --------------------
PR="$SCRATCH/proj"
rerun_unaffected() {
	local before after
	mkdir -p "$PR/tests"
	printf 'import pytest\n\n@pytest.fixture\ndef two():\n    return 2\n' >"$PR/tests/conftest.py"
	printf 'def test_two(two):\n    assert two == 2\n' >"$PR/tests/test_two.py"
	before=$(in_dir "$PR" pytest-3 -q tests 2>&1 | tail -n 1)
	in_dir "$PR" "$PYCSTORM" exec --fault short-write:p=1 -- pytest-3 -q tests >/dev/null 2>"$SCRATCH/pr.err"
	# by default the run goes below $XDG_STATE_HOME, and says where
	grep -qF "results: $XDG_STATE_HOME/pycstorm/runs/" "$SCRATCH/pr.err"
	test -z "$(find "$PR" -name '*.kept' -o -name results -o -name summary.json)"
	# and one kept inside the project on purpose (-o) holds nothing a tool
	# picks up; from a fresh start, so the round writes files it cannot
	# judge (.pytest_cache/README.md), of which it keeps copies
	rm -rf "$PR/.pytest_cache" "$PR/tests/__pycache__"
	in_dir "$PR" "$PYCSTORM" exec -o "$PR/tests/pycstorm-run" -- pytest-3 -q tests >/dev/null 2>&1
	test -n "$(find "$PR/tests/pycstorm-run/touched" -type f)"
	test -z "$(find "$PR/tests/pycstorm-run/touched" -type f ! -name '*.kept')"
	after=$(in_dir "$PR" pytest-3 -q tests 2>&1 | tail -n 1)
	diag "before: $before" "after: $after"
	[ "${before% in *}" = "${after% in *}" ]
	[ "${after% in *}" = "1 passed" ]
}
if [ -x /usr/bin/pytest-3 ]; then
	test_ok "a plain re-run of the project after exec is unaffected by our files" rerun_unaffected
else
	skip "a plain re-run after exec" "no /usr/bin/pytest-3 (python3-pytest)"
fi

# --- crash at=after-write counts per file ------------------------------------------------
crash_per_file() {
	local W="$SCRATCH/cr" i
	mkdir -p "$W/mods"
	for i in 1 2 3 4 5 6; do make_module "$W/mods/m$i.py" 300; done
	exits 1 in_dir "$W" "$PYCSTORM" exec -o "$SCRATCH/cr-run" --seed 1 \
		--fault crash:at=after-write,n=1,p=0.3 -- "$PY" -m compileall -q mods 2>"$SCRATCH/cr.err"
	# it fired on the first write to a file that was not the process's first
	grep -qE 'call=([2-9]|[1-9][0-9]+) point=pycstorm/crash path=mods/__pycache__/m[0-9]\.cpython-3[0-9]+\.pyc\.[0-9]+ at=after-write n=1' \
		"$SCRATCH/cr-run/faults/exec-w0.log"
	grep -qE '^pycstorm exec:   leftover +mods/__pycache__/m[0-9]\.cpython-3[0-9]+\.pyc\.[0-9]+$' "$SCRATCH/cr.err"
	grep -q 'killed by the crash fault' "$SCRATCH/cr.err"
	# the killed run still counts as a run and a write
	result_true "$SCRATCH/cr-run/summary.json" exec 'r["writes"] >= 1 and r["cycles"] >= 1 and r["faults_fired"]["pycstorm/crash"] == 1'
}
test_ok "crash:at=after-write,n=1 fires on a later file's first write; its temporary file is left" crash_per_file

# --- interrupts, output, small things ---------------------------------------------------
interrupted() {
	exits 130 timeout --preserve-status -s INT 2 "$PYCSTORM" exec -o "$SCRATCH/int-run" -- sleep 30 \
		2>"$SCRATCH/int.err"
	json_true "$SCRATCH/int-run/summary.json" 'j["interrupted"] is True'
	result_true "$SCRATCH/int-run/summary.json" exec '"worker_crash" not in r["by_op"]["compile"] and r["cycles"] == 0'
	grep -q '"outcome": "interrupted"' "$SCRATCH/int-run/events.jsonl"
	not grep -q 'replay' "$SCRATCH/int.err"
}
test_ok "an interrupted round is 'interrupted', out of the rates, exit 130" interrupted
captured() {
	exits 0 "$PYCSTORM" exec -o "$SCRATCH/cap-run" -- "$PY" -c 'import sys; print("to out"); sys.stderr.write("no newline")' \
		>"$SCRATCH/cap.out" 2>"$SCRATCH/cap.err"
	grep -qx 'to out' "$SCRATCH/cap.out"
	grep -qx 'to out' "$SCRATCH/cap-run/output/copy-0.out"
	[ "$(cat "$SCRATCH/cap-run/output/copy-0.err")" = "no newline" ]
	# our next line starts a line of its own
	grep -qx 'no newline' "$SCRATCH/cap.err"
}
test_ok "one round's output is teed live and kept; our lines start their own" captured
same_class() {
	exits 0 "$PYCSTORM" exec -q -o "$SCRATCH/cls1" -- "$PY" -c 'raise PermissionError("held")'
	exits 0 "$PYCSTORM" exec -q -j 2 -o "$SCRATCH/cls2" -- "$PY" -c 'raise PermissionError("held")'
	result_true "$SCRATCH/cls1/summary.json" exec 'r["by_op"]["compile"] == {"permission_error": 1}'
	result_true "$SCRATCH/cls2/summary.json" exec 'r["by_op"]["compile"] == {"permission_error": 2}'
}
test_ok "the error class does not depend on how the output went" same_class
dontwrite_said() {
	PYTHONDONTWRITEBYTECODE=1 "$PYCSTORM" exec -o "$SCRATCH/dw" -- true 2>"$SCRATCH/dw.err"
	grep -q 'PYTHONDONTWRITEBYTECODE was set: removed for the command' "$SCRATCH/dw.err"
	json_true "$SCRATCH/dw/summary.json" '"without PYTHONDONTWRITEBYTECODE" in j["description"]'
}
test_ok "the summary says PYTHONDONTWRITEBYTECODE was removed" dontwrite_said
one_round_word() {
	"$PYCSTORM" exec --runs 1 -o "$SCRATCH/r1" -- true 2>"$SCRATCH/r1.err"
	grep -q 'up to 1 round until one fails' "$SCRATCH/r1.err"
	grep -qE '^pycstorm exec: 1 round, 0 failed; 1 run ' "$SCRATCH/r1.err"
}
test_ok "'up to 1 round', and the summary counts failed rounds" one_round_word
idle_rounds() {
	"$PYCSTORM" exec -q --runs 50 -o "$SCRATCH/idle" -- true 2>"$SCRATCH/idle.err"
	grep -q '50 rounds in a row wrote no cache file and fired no fault' "$SCRATCH/idle.err"
	"$PYCSTORM" exec -q --runs 49 -o "$SCRATCH/idle49" -- true 2>"$SCRATCH/idle49.err"
	test ! -s "$SCRATCH/idle49.err"
}
test_ok "stress warns after 50 rounds with nothing written or fired" idle_rounds
none_fired() {
	"$PYCSTORM" exec -q --fault short-write:p=1 -o "$SCRATCH/none" -- true 2>"$SCRATCH/none.err"
	grep -q 'exec: no armed fault fired' "$SCRATCH/none.err"
}
test_ok "armed faults that never fired are said, even with -q" none_fired

done_testing
