#!/bin/bash
# pycstorm exec: real programs under the faults. The interpreter is the
# distribution's own /usr/bin/python3 (its importlib is the one under test),
# run by exec with the inject library preloaded; damage is judged by the
# classifier and confirmed by importing in a fresh interpreter.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
skip_unless_executable "$PY"
skip_if_asan_preload "exec"

# A module big enough that a random cut almost never falls in its header.
make_module() { # make_module FILE FUNCTIONS
	"$PY" -c 'import sys
n = int(sys.argv[2])
open(sys.argv[1], "w").write("".join("def f%d(x):\n    return x + %d\n" % (i, i) for i in range(n)))' "$1" "$2"
}

# in_dir DIR CMD...: CMD run from DIR.
in_dir() {
	local d=$1
	shift
	(cd "$d" && "$@")
}

# --- one round: compileall under short writes ---------------------------------
W="$SCRATCH/single"
single_round() {
	mkdir -p "$W/mods"
	make_module "$W/mods/mod.py" 2000
	PYTHONDONTWRITEBYTECODE=1 in_dir "$W" "$PYCSTORM" exec --fault short-write:p=1 -o "$SCRATCH/single-run" \
		-- "$PY" -m compileall -q mods >"$SCRATCH/single.out" 2>"$SCRATCH/single.err"
}
test_ok "the verdict is the exit status: 1 for the damage compileall left (PYTHONDONTWRITEBYTECODE=1 set)" \
	exits 1 single_round
cache_written() {
	ls "$W"/mods/__pycache__/mod.cpython-3*.pyc >/dev/null 2>&1
}
test_ok "the cache was written although the environment said not to" cache_written
# import_fails DIR PATTERN: 'import mod' in DIR fails, its last line matching PATTERN
import_fails() {
	local got
	got=$(cd "$1" && { "$PY" -c 'import mod' 2>&1 && echo "imported"; } | tail -n 1)
	diag "got: $got"
	printf '%s\n' "$got" | grep -qE "$2"
}
test_ok "a later 'import mod' fails with EOFError" \
	import_fails "$W/mods" '^EOFError: (marshal data too short|EOF read where (object|not) expected)$'
test_ok "the report names the truncated file and its error" \
	grep -qE '^pycstorm exec:   eof +mods/__pycache__/mod\.cpython-3[0-9]+\.pyc \(\.pyc\): EOFError: ' "$SCRATCH/single.err"
faults_printed() {
	grep -qE '^pycstorm exec: faults fired: [1-9][0-9]* \(pycstorm/write/short [1-9]' "$SCRATCH/single.err"
	grep -qE 'point=pycstorm/write/short path=mods/__pycache__/mod\.cpython-3[0-9]+\.pyc\.[0-9]+ kept=' "$SCRATCH/single.err"
}
test_ok "the faults that fired are printed, with paths relative to the current folder" faults_printed
S="$SCRATCH/single-run/summary.json"
single_summary() {
	result_true "$S" exec 'r["corrupt"] >= 1 and r["by_op"]["compile"] == {"ok": 1} and r["faults_fired"]["pycstorm/write/short"] >= 1'
	result_true "$S" exec 'any(re.search(r"touched/mods/__pycache__/mod\.cpython-3[0-9]*\.pyc", e) for e in r["evidence"])'
}
test_ok "summary.json: one run (compile ok), the corrupt file as evidence, the faults counted" single_summary
run_folder() {
	json_true "$S" 'j["runner"] == "exec" and j["replay"].startswith("pycstorm exec --seed ")'
	test -s "$SCRATCH/single-run/summary.md"
	test -s "$SCRATCH/single-run/faults/exec-w0.log"
}
test_ok "the run folder has the reports, the fault log and the replay command" run_folder
# Kept files end in .kept, so nothing run in a project imports them; with
# the suffix dropped the copy and its source fail the same way.
restore_kept() {
	mkdir -p "$SCRATCH/restored/__pycache__"
	cp -p "$SCRATCH/single-run/touched/mods/mod.py.kept" "$SCRATCH/restored/mod.py"
	for f in "$SCRATCH"/single-run/touched/mods/__pycache__/*.pyc.kept; do
		cp -p "$f" "$SCRATCH/restored/__pycache__/$(basename "$f" .kept)"
	done
}
test_ok "the kept copies end in .kept" restore_kept
test_ok "the kept copy, with its source beside it, fails the same way" \
	import_fails "$SCRATCH/restored" '^EOFError: '

# --- what exec passes on and what it aims at -------------------------------------
test_ok "CMD's own failure (exit 3) is reported, not counted: exit 0" \
	exits 0 "$PYCSTORM" exec -q -o "$SCRATCH/st3" -- sh -c 'exit 3'
test_ok "with --ok-exit 0 it counts: exit 1" \
	exits 1 "$PYCSTORM" exec -q --ok-exit 0 -o "$SCRATCH/st3k" -- sh -c 'exit 3'
test_ok "--ok-exit 0,3 accepts it: exit 0" \
	exits 0 "$PYCSTORM" exec -q --ok-exit 0,3 -o "$SCRATCH/st3a" -- sh -c 'exit 3'
test_ok "a CMD killed by a signal fails the round: exit 1" \
	exits 1 "$PYCSTORM" exec -q -o "$SCRATCH/st143" -- sh -c 'kill -TERM $$'
test_ok "bad --ok-exit: exit 2" \
	one_line_exit 2 "exec: --ok-exit '0,x' is not a list of exit statuses" "$PYCSTORM" exec --ok-exit 0,x -- true

# os.write, not a buffered file: a short write must stay short.
WRITE='import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
print(os.write(fd, bytes(4000)))'
aims() {
	local a1 a2 a3
	mkdir -p "$SCRATCH/aim/x/__pycache__"
	a1=$(in_dir "$SCRATCH/aim" "$PYCSTORM" exec -q -o "$SCRATCH/aim-1" --fault short-write:p=1 -- \
		"$PY" -c "$WRITE" data.bin)
	a2=$(in_dir "$SCRATCH/aim" "$PYCSTORM" exec -q -o "$SCRATCH/aim-2" --fault short-write:p=1 -- \
		"$PY" -c "$WRITE" x/__pycache__/data.bin)
	a3=$(in_dir "$SCRATCH/aim" "$PYCSTORM" exec -q -o "$SCRATCH/aim-3" --fault short-write:p=1 --cache-dir . -- \
		"$PY" -c "$WRITE" data.bin)
	[ "$a1" = 4000 ]
	[ "$a2" -lt 4000 ]
	[ "$a3" -lt 4000 ]
}
test_ok "by default only files in a cache folder are hit; --cache-dir DIR aims at everything below DIR" aims

# --- bad input: one line, exit 2 --------------------------------------------------
test_ok "no command: exit 2" \
	one_line_exit 2 "exec: no command given" "$PYCSTORM" exec --fault short-write:p=0.1
test_ok "an unknown fault: exit 2" \
	one_line_exit 2 "unknown fault 'nope' \(valid: short-write, " "$PYCSTORM" exec --fault nope -- true
test_ok "a bad fault parameter: exit 2" \
	one_line_exit 2 "p=2: not a probability from 0 to 1" "$PYCSTORM" exec --fault short-write:p=2 -- true
test_ok "bad --jobs: exit 2" \
	one_line_exit 2 "exec: --jobs '0' is not a number from 1 to 256" "$PYCSTORM" exec -j 0 -- true
test_ok "--until-failure with --runs: exit 2" \
	one_line_exit 2 "exec: give --until-failure or --runs, not both" "$PYCSTORM" exec --until-failure --runs 3 -- true
test_ok "bad --timeout: exit 2" \
	one_line_exit 2 "exec: --timeout 'soon' is not a duration" "$PYCSTORM" exec --timeout soon -- true
test_ok "an unknown option: exit 2" \
	one_line_exit 2 "exec: unknown option '--frobnicate' \(valid: -f/--fault" "$PYCSTORM" exec --frobnicate -- true
test_ok "a missing value: exit 2" \
	one_line_exit 2 "exec: option '--fault' needs a value" "$PYCSTORM" exec --fault

# --- stress: byte-compiling while others import the same package -------------------
P="$SCRATCH/stress"
R="$SCRATCH/stress-run"
# Copy 0 byte-compiles the package again (as dpkg does on an upgrade) while
# the other copies import it. fraction=0.5 keeps every header whole, so an
# import fails on the body and never rewrites the file: only copy 0 writes,
# which keeps a replay's damage the same.
stress() {
	local m
	mkdir -p "$P/pkg"
	: >"$P/pkg/__init__.py"
	for m in a b c d; do make_module "$P/pkg/$m.py" 300; done
	cat >"$P/run.sh" <<EOS
if [ "\$PYCSTORM_WORKER" = 0 ]; then
	$PY -m compileall -q -f pkg || exit 1
fi
for i in 1 2 3; do
	$PY -c 'import pkg.a, pkg.b, pkg.c, pkg.d' || exit 1
done
EOS
	in_dir "$P" "$PY" -m compileall -q pkg
	exits 1 in_dir "$P" timeout 120 "$PYCSTORM" exec -j 3 --until-failure --fault short-write:p=0.05,fraction=0.5 \
		-o "$R" -- sh run.sh >"$SCRATCH/stress.out" 2>"$SCRATCH/stress.err"
	grep -qE '^pycstorm exec: round [0-9]+ \(seed [0-9]+\) failed' "$SCRATCH/stress.err"
	diag "$(grep -o 'round [0-9]* (seed [0-9]*)' "$SCRATCH/stress.err")"
}
test_ok "stress mode finds a failing round and exits 1" stress
kept_round() {
	test -f "$R/output/copy-0.err"
	test -f "$R/output/copy-2.out"
	grep -q 'point=pycstorm/write/short path=pkg/__pycache__/' "$R/faults/exec-w0.log"
	ls "$R"/touched/pkg/__pycache__/*.pyc.kept >/dev/null 2>&1
	test -s "$R/damage.txt"
}
test_ok "it keeps the failing round's output, fault log, touched files and damage report" kept_round
replay_line() { sed -n 's/^pycstorm exec: replay: //p' "$SCRATCH/stress.err"; }
replay_printed() {
	local replay stored
	replay=$(replay_line)
	diag "$replay"
	printf '%s\n' "$replay" |
		grep -qE "^pycstorm exec --seed [0-9]+ -j 3 --fault short-write:p=0\.05,fraction=0\.5 -- sh run\.sh$"
	stored=$(json "$R/summary.json" 'j["replay"]')
	[ "$stored" = "$replay" ]
}
test_ok "it prints the command that replays the round, and stores it" replay_printed
test_ok "summary.json counts the runs and the corrupt files" \
	result_true "$R/summary.json" exec 'r["corrupt"] >= 1 and r["cycles"] >= 3'

# The replay starts from the caches as the round found them: freshly compiled.
replays() {
	local replay
	replay=$(replay_line)
	test -n "$replay"
	in_dir "$P" "$PY" -m compileall -q -f pkg
	exits 1 in_dir "$P" eval "\"\$PYCSTORM\" exec -q -o \"\$SCRATCH/replay-run\" ${replay#pycstorm exec }"
}
test_ok "the printed command replays the failure" replays
same_decisions() {
	local k
	test -s "$R/faults/exec-w0.log"
	for k in 0 1 2; do
		sed 's/\.pyc\.[0-9]*/.pyc.TMP/g' "$R/faults/exec-w$k.log" >"$SCRATCH/f1"
		sed 's/\.pyc\.[0-9]*/.pyc.TMP/g' "$SCRATCH/replay-run/faults/exec-w$k.log" >"$SCRATCH/f2"
		cmp -s "$SCRATCH/f1" "$SCRATCH/f2"
	done
	result "$R/summary.json" exec 'sorted(r["evidence"])' >"$SCRATCH/ev1"
	result "$SCRATCH/replay-run/summary.json" exec 'sorted(r["evidence"])' >"$SCRATCH/ev2"
	cmp -s "$SCRATCH/ev1" "$SCRATCH/ev2"
}
test_ok "with the same fault decisions and the same damaged files" same_decisions

# --- damage outlives a run that exited 0 ---------------------------------------------
quiet_damage() {
	exits 1 in_dir "$P" "$PYCSTORM" exec -j 2 --runs 3 --fault short-write:p=1,fraction=0.5 \
		-o "$SCRATCH/quiet-damage" -- "$PY" -m compileall -q -f pkg >/dev/null 2>"$SCRATCH/qd.err"
	grep -q 'failed: no copy failed, but it left damaged cache files' "$SCRATCH/qd.err"
	result_true "$SCRATCH/quiet-damage/summary.json" exec 'r["by_op"]["compile"] == {"ok": 2} and r["corrupt"] == 5'
}
test_ok "a round whose copies all exit 0 still fails on the files they left corrupt" quiet_damage
passing_runs() {
	in_dir "$P" "$PY" -m compileall -q -f pkg
	in_dir "$P" "$PYCSTORM" exec -q -j 2 --runs 2 -o "$SCRATCH/passing" -- "$PY" -c 'import pkg.a'
	json_true "$SCRATCH/passing/summary.json" 'j["iterations"] == 2 and j["results"][0]["workers_started"] == 4'
}
test_ok "--runs K: K rounds that pass give exit 0" passing_runs

# --- held locks on a real byte-compile ---------------------------------------------------
held_compileall() {
	cat >"$P/hold.sh" <<EOS
for i in 1 2 3 4 5 6; do $PY -m compileall -q -f pkg || exit 1; done
EOS
	exits 1 in_dir "$P" "$PYCSTORM" exec -q -j 2 --runs 3 --ok-exit 0 --fault held-lock:holders=2,hold=20ms..100ms \
		-o "$SCRATCH/held" -- sh hold.sh
	result "$SCRATCH/held/summary.json" exec 'r["first_errors"]["permission_error"]' >"$SCRATCH/held-pe"
	grep -q "^PermissionError: \[Errno 13\] Permission denied: '.*\.pyc\.[0-9]*' -> '.*\.pyc'$" "$SCRATCH/held-pe"
	result_true "$SCRATCH/held/summary.json" exec 'r["faults_fired"]["pycstorm/lock/held"] > 0'
}
test_ok "compileall under held locks fails with PermissionError on the rename, as on Windows" held_compileall

# --- held locks on a brand-new tree: new files are held from their close on -------------
# No __pycache__ yet: every cache file is written once, to a temporary name
# renamed onto a name that does not exist, so only the new file itself can
# be in the way, as a scanner that opens it at close without sharing delete.
fresh_tree() { # fresh_tree DIR: a package never compiled
	rm -rf "$1"
	mkdir -p "$1/pkg"
	for i in 1 2 3 4 5 6 7 8; do printf 'x = %d\n' "$i" >"$1/pkg/m$i.py"; done
}
held_fresh() {
	local F="$SCRATCH/fresh" R="$SCRATCH/fresh-run"
	fresh_tree "$F"
	exits 1 in_dir "$F" "$PYCSTORM" exec -q --seed 3 --fault held-lock:share=none \
		-o "$R" -- "$PY" -m compileall -q pkg >/dev/null
	result_true "$R/summary.json" exec 'r["faults_fired"]["pycstorm/lock/held"] > 0'
	grep -q 'dst=pkg/__pycache__/m[0-9]\.cpython-[0-9]*\.pyc refused: source held$' "$R/faults/exec-w0.log"
	result "$R/summary.json" exec 'r["first_errors"]["permission_error"]' >"$SCRATCH/fresh-pe"
	grep -q "^PermissionError: \[Errno 13\] Permission denied: '.*\.pyc\.[0-9]*' -> '.*\.pyc'$" "$SCRATCH/fresh-pe"
	result_true "$R/summary.json" exec 'r["by_op"]["write"]["leftover_temp"] >= 1'
	# The real consequence: importlib could not remove its temporary file either.
	ls "$F"/pkg/__pycache__/m*.cpython-*.pyc.* >/dev/null
}
test_ok "a brand-new tree under held-lock:share=none: renames of new files refused, temporary files left" held_fresh
held_fresh_no_grab() {
	local F="$SCRATCH/fresh0" R="$SCRATCH/fresh0-run"
	fresh_tree "$F"
	exits 0 in_dir "$F" "$PYCSTORM" exec -q --seed 3 --fault held-lock:share=none,grab=0 \
		-o "$R" -- "$PY" -m compileall -q pkg >/dev/null 2>"$SCRATCH/fresh0.err"
	json_true "$R/summary.json" 'not j["results"][0]["faults_fired"]'
	grep -q '^pycstorm: warning: exec: no armed fault fired: nothing the command did in .* met a held file$' \
		"$SCRATCH/fresh0.err"
}
test_ok "the same with grab=0: nothing held is in the way, nothing fires" held_fresh_no_grab
held_fresh_shared() {
	local F="$SCRATCH/fresh-delete" R="$SCRATCH/fresh-delete-run"
	fresh_tree "$F"
	exits 0 in_dir "$F" "$PYCSTORM" exec -q --seed 3 --fault held-lock \
		-o "$R" -- "$PY" -m compileall -q pkg >/dev/null 2>"$SCRATCH/fresh-delete.err"
	grep -q '^pycstorm: warning: exec: no armed fault fired: nothing the command did in .* met a held file (with share=delete' \
		"$SCRATCH/fresh-delete.err"
	[ "$(ls "$F"/pkg/__pycache__/m*.cpython-*.pyc | wc -l)" -eq 8 ]
}
test_ok "the same with share=delete (the default): every rename goes through, and exec says why nothing fired" \
	held_fresh_shared

# --- pytest keeps two caches -------------------------------------------------------------
pytest_caches() {
	local T="$SCRATCH/pytest"
	mkdir -p "$T/tests"
	printf 'def test_one():\n    assert 1 + 1 == 2\n' >"$T/tests/test_one.py"
	in_dir "$T" "$PYCSTORM" exec -o "$SCRATCH/pytest-run" --fault short-write:p=1 -- /usr/bin/pytest-3 -q tests \
		>"$SCRATCH/pytest.out" 2>"$SCRATCH/pytest.err"
	grep -q '1 passed' "$SCRATCH/pytest.out"
	grep -q 'point=pycstorm/write/short path=tests/__pycache__/test_one\.cpython-3[0-9]*-pytest-' \
		"$SCRATCH/pytest-run/faults/exec-w0.log"
	grep -q 'point=pycstorm/write/short path=\.pytest_cache/' "$SCRATCH/pytest-run/faults/exec-w0.log"
	grep -qE 'judged 1 .pyc and [0-9]+ other: 0 damaged' "$SCRATCH/pytest.err"
}
if [ -x /usr/bin/pytest-3 ]; then
	test_ok "pytest's buffered writes retry short writes: both caches hit, nothing damaged" pytest_caches
else
	skip "pytest's caches under short writes" "no /usr/bin/pytest-3 (python3-pytest)"
fi

done_testing
