#!/bin/bash
# Fault injection through the preload library: short writes, held locks,
# delayed renames and crashes do what they say, only to the cache, with
# deterministic decisions, and bad fault specs are rejected.
. "$(dirname "$0")/lib.sh"

# A scenario of compile workers only: each worker's system calls then do not
# depend on what the others did, so fault decisions can be compared exactly.
cat >"$SCRATCH/compile-only.scn" <<'SCN'
name = compile-only
modules = small, medium
compile-share = 1
jobs = 2
SCN

# --- short writes: the gh-126606 truncation ---------------------------------
R="$SCRATCH/short"
"$PYCSTORM" run -s py33-atomic,native,checked-atomic,loop-atomic,fsync-atomic -j 2 -d 3s \
	--seed 126606 --fault short-write:p=0.3 -o "$R" -q
ok "short-write run exits 0"
for s in py33-atomic native; do
	eof=$(result "$R/summary.json" $s 'r["outcomes"].get("eof", 0)')
	err=$(result "$R/summary.json" $s 'r["first_errors"].get("eof", "")')
	[ "$eof" -gt 0 ] && echo "$err" | grep -qE '^EOFError: (marshal data too short|EOF read where (object|not) expected)$'
	ok "$s shows eof corruption under short writes ($eof: $err)"
done
for s in checked-atomic loop-atomic fsync-atomic; do
	[ "$(result "$R/summary.json" $s 'r["corrupt"]')" = 0 ] &&
		[ "$(result "$R/summary.json" $s 'r["faults_fired"].get("pycstorm/write/short", 0) > 0')" = True ]
	ok "$s shows no corruption although short writes fired"
done
n=$(confirmed "$PYCSTORM_PYTHON" "$R"/evidence/native-eof-*)
[ "$n" -gt 0 ]
ok "files truncated by the real importlib fail the same way in the real interpreter ($n)"
grep -q "point=pycstorm/write/short path=py33-atomic/__pycache__/[a-z]*\.cpython-[0-9]*\.pyc\.[0-9]* kept=[0-9]*/[0-9]*" "$R/faults/py33-atomic-w0.log"
ok "the fault log names worker, cycle, call, point, path and what was kept"

# --- held locks: Windows semantics ------------------------------------------
R="$SCRATCH/held"
"$PYCSTORM" run -s py27-import,py33-atomic,replace-retry,skip-on-error,native -j 4 -d 5s \
	--seed 3215 --fault held-lock:holders=2,hold=1ms..50ms -o "$R" -q
ok "held-lock run exits 0"
S="$R/summary.json"
pe=$(result "$S" py33-atomic 'r["outcomes"].get("permission_error", 0)')
[ "$pe" -gt 0 ] && result "$S" py33-atomic 'r["first_errors"]["permission_error"]' |
	grep -q "^PermissionError: \[Errno 13\] Permission denied: '.*' -> '.*\.pyc'$"
ok "py33-atomic reports PermissionError on replace ($pe)"
[ "$(result "$S" native 'r["outcomes"].get("permission_error", 0)')" = 0 ] &&
	[ "$(result "$S" native 'r["outcomes"].get("stale", 0) > 0 and r["corrupt"] == 0')" = True ] &&
	[ "$(result "$S" native 'r["faults_fired"].get("pycstorm/lock/held", 0) > 0')" = True ]
ok "native swallows refused replaces: stale, not corrupt, no PermissionError"
held=$(result "$S" replace-retry 'r["faults_fired"].get("pycstorm/lock/held", 0)')
left=$(result "$S" replace-retry 'r["outcomes"].get("permission_error", 0)')
[ "$held" -gt 0 ] && [ $((left * 4)) -lt "$held" ]
ok "replace-retry turns most refused replaces into writes ($left errors left of $held refusals)"
[ "$(result "$S" replace-retry 'r["write_latency_us"]["max"] >= 1000')" = True ]
ok "the summary shows replace-retry's latency cost (its slowest write waited >= 1 ms)"
[ "$(result "$S" skip-on-error 'r["outcomes"].get("permission_error", 0)')" = 0 ]
ok "skip-on-error never raises"
[ "$(result "$S" py27-import 'r["faults_fired"].get("pycstorm/lock/delete-pending", 0) > 0')" = True ] &&
	grep -q "point=pycstorm/lock/delete-pending .*refused: 'open' is delete-pending" "$R"/faults/py27-import-w*.log
ok "py27-import meets delete-pending: unlink then create is refused"

# --- delays and crashes change the outcome counts -----------------------------
"$PYCSTORM" run -s py27-import,py27-pycompile -j 4 -n 400 --seed 42 -o "$SCRATCH/plain" -q
"$PYCSTORM" run -s py27-import,py27-pycompile -j 4 -n 400 --seed 42 -o "$SCRATCH/delay" -q \
	--fault rename-delay:delay=2ms..10ms,ops=unlink
"$PYCSTORM" run -s py33-atomic -j 2 -n 400 --seed 42 -o "$SCRATCH/crash" -q \
	--fault crash:p=0.02,at=before-rename --cache-dir "$SCRATCH/crash-cache"
ok "runs with rename-delay and crash exit 0"
[ "$(result "$SCRATCH/delay/summary.json" py27-import 'r["faults_fired"]["pycstorm/rename/delay"] > 0')" = True ] &&
	[ "$(result "$SCRATCH/plain/summary.json" py27-import 'r["outcomes"]')" != \
	  "$(result "$SCRATCH/delay/summary.json" py27-import 'r["outcomes"]')" ]
ok "delayed unlinks change py27-import's outcome counts against the same run without faults"
C="$SCRATCH/crash/summary.json"
crashes=$(result "$C" py33-atomic 'r["faults_fired"].get("pycstorm/crash", 0)')
[ "$crashes" -gt 0 ] && [ "$(result "$C" py33-atomic 'r["workers_started"]')" -eq $((2 + crashes)) ] &&
	[ "$(result "$C" py33-atomic 'r["outcomes"].get("worker_crash", 0)')" = 0 ]
ok "crashes are counted as faults ($crashes), not worker_crash, and each worker is replaced"
ls "$SCRATCH/crash-cache/py33-atomic/__pycache__/" | grep -qE '\.pyc\.[0-9]+$'
ok "a crash before the rename leaves the temporary file behind, as a real crash does"
[ "$(grep -c '"outcome": "crash-injected"' "$SCRATCH/crash/events.jsonl")" -eq "$crashes" ]
ok "events.jsonl records each injected crash"

# --- determinism --------------------------------------------------------------
for i in 1 2; do
	"$PYCSTORM" run "$SCRATCH/compile-only.scn" -s py33-atomic,checked-atomic,fsync-atomic \
		-n 300 --seed 77 -o "$SCRATCH/det$i" -q --fault short-write:p=0.1 \
		--fault 'write-error:p=0.05,on=write|fsync' --fault crash:p=0.01 --fault rename-delay:delay=1ms
done
diff -r "$SCRATCH/det1/faults" "$SCRATCH/det2/faults" >/dev/null &&
	[ "$(cat "$SCRATCH"/det1/faults/*.log | wc -l)" -gt 100 ]
ok "two runs with the same seed and -n give identical fault logs per worker"
[ "$(json "$SCRATCH/det1/summary.json" '[r["faults_fired"] for r in j["results"]]')" = \
  "$(json "$SCRATCH/det2/summary.json" '[r["faults_fired"] for r in j["results"]]')" ]
ok "and identical faults_fired"
"$PYCSTORM" replay "$SCRATCH/det1" -o "$SCRATCH/det3" -q && diff -r "$SCRATCH/det1/faults" "$SCRATCH/det3/faults" >/dev/null
ok "pycstorm replay RUNDIR runs it again with the same fault decisions"
"$PYCSTORM" run "$SCRATCH/compile-only.scn" -s py33-atomic -n 300 --seed 78 -o "$SCRATCH/det4" -q \
	--fault short-write:p=0.1
! diff -q "$SCRATCH/det1/faults/py33-atomic-w0.log" "$SCRATCH/det4/faults/py33-atomic-w0.log" >/dev/null
ok "another seed gives other decisions"

# --- libfiu's own point, side by side ---------------------------------------------
R="$SCRATCH/fiu"
case "${PYCSTORM_SANITIZE:-}" in
*address*)
	# fiu_posix_preload.so replaces malloc, which ASan owns: they cannot share a process.
	skip "a run with libfiu's posix/io/rw/write/reduce" "libfiu's preload and AddressSanitizer both replace malloc"
	skip "libfiu's reduce point fires and truncates" "libfiu's preload and AddressSanitizer both replace malloc"
	;;
*)
	"$PYCSTORM" run -s py33-atomic -j 4 -n 300 --seed 5 -o "$R" -q \
		--fault fiu:point=posix/io/rw/write/reduce,p=0.3
	ok "a run with libfiu's posix/io/rw/write/reduce exits 0"
	[ "$(result "$R/summary.json" py33-atomic 'r["faults_fired"].get("posix/io/rw/write/reduce", 0) > 0 and r["outcomes"].get("eof", 0) > 0')" = True ]
	ok "libfiu's reduce point fires, is counted, and truncates py33-atomic's caches"
	;;
esac

# --- bad specs -------------------------------------------------------------------
one_line_exit 2 "fault 'short-write:p=2': p=2: not a probability from 0 to 1" \
	"$PYCSTORM" run -n 1 --fault short-write:p=2
ok "a bad probability: one line naming it, exit 2"
one_line_exit 2 "unknown fault 'nope' \(valid: short-write, write-error, rename-delay, held-lock, crash, power-cut, fiu\)" \
	"$PYCSTORM" run -n 1 --fault nope
ok "an unknown fault: one line naming the valid ones, exit 2"
one_line_exit 2 "unknown parameter 'q=1' \(valid: p, fraction\)" "$PYCSTORM" run -n 1 --fault short-write:q=1
ok "an unknown parameter: one line naming the valid ones, exit 2"
one_line_exit 2 "hold=5ms..1ms: not a duration \(5ms\) or a range" "$PYCSTORM" run -n 1 --fault held-lock:hold=5ms..1ms
ok "a backwards range: exit 2"
one_line_exit 2 "fiu:p=0.1': needs point=" "$PYCSTORM" run -n 1 --fault fiu:p=0.1
ok "a missing required parameter: exit 2"
printf 'name = x\nmodules = small\nfault = crash:at=sometime\n' >"$SCRATCH/badfault.scn"
one_line_exit 2 "badfault.scn:3: fault 'crash:at=sometime': at=sometime: not one of after-write\|before-rename\|after-rename" \
	"$PYCSTORM" run "$SCRATCH/badfault.scn" -n 1
ok "a bad fault line in a scenario: exit 2"

"$PYCSTORM" list faults >"$SCRATCH/lf"
for f in short-write write-error rename-delay held-lock crash fiu; do
	grep -q "^$f " "$SCRATCH/lf"
	ok "list faults documents $f"
done

done_testing
