#!/bin/bash
# The field reports on demand: the scenario catalogue, `repro` for each
# report (confirmed by a real interpreter in a fresh process), the
# interpreter runner, and candidate fixes given as Python files.
. "$(dirname "$0")/lib.sh"

"$PYCSTORM" list scenarios >"$SCRATCH/scn"
for s in default lp1010077 lp1060842 gh126606 mypy3215 twisted-dropin portage663324 enospc; do
	grep -qE "^$s +[^ ]" "$SCRATCH/scn" && grep -A1 -E "^$s " "$SCRATCH/scn" | grep -q 'reproduces: .'
	ok "scenario $s parses and names the report it reproduces"
done

# --- repro: each target, several seeds, a short bound -----------------------
# (the issue's bar is 9 of 10 seeds within 60 s; the benchmark measures the
# time; here each seed gets 20 s and at most one may miss)
for target in bad-marshal eof permission-error module-not-found; do
	hits=0
	for seed in 1 2 3 4 5 6 7 8 9 10; do
		if "$PYCSTORM" repro "$target" --seed "$seed" --timeout 20s -o "$SCRATCH/r-$target-$seed" \
			>"$SCRATCH/r-$target-$seed.out" 2>&1; then
			hits=$((hits + 1))
		fi
	done
	diag "repro $target: confirmed for $hits of 10 seeds"
	[ $hits -ge 9 ]
	ok "repro $target reproduces and is confirmed by the real interpreter for >= 9 of 10 seeds"
done
out="$SCRATCH/r-eof-1.out"
grep -q "^seed 1; run folder" "$out" && grep -q "pycstorm repro eof --seed 1" "$out" &&
	grep -q "^    EOFError: " "$out" && grep -q '^    Traceback (most recent call last):' "$out"
ok "repro prints the seed, the interpreter's own traceback and the command that replays it"
grep -q "^    PermissionError: \[Errno 13\] Permission denied: 'new.tmp' -> 'mod.cpython-311.pyc'" \
	"$SCRATCH/r-permission-error-1.out"
ok "repro permission-error shows the real interpreter's PermissionError on os.replace"
grep -qE "^    (ModuleNotFoundError: No module named 'stormplugin|ImportError: cannot import name '[a-z]+' from partially initialized module 'stormplugin')" \
	"$SCRATCH/r-module-not-found-1.out"
ok "repro module-not-found shows the real interpreter's import error on the kept half-merged package"

"$PYCSTORM" repro eof --python /usr/bin/python3 --seed 7 --timeout 30s >"$SCRATCH/distro.out" 2>&1
ok "repro eof --python /usr/bin/python3 reproduces gh-126606 with the distro's own binary"
grep -q "^  \$ cd .* && /usr/bin/python3 -B -c" "$SCRATCH/distro.out" && grep -q "^    EOFError: " "$SCRATCH/distro.out"
ok "and /usr/bin/python3's own traceback confirms it"

"$PYCSTORM" repro eof --timeout 1ms --seed 3 >"$SCRATCH/short.out" 2>&1
[ $? -eq 1 ] && grep -q "not reproduced within 1ms" "$SCRATCH/short.out"
ok "repro that runs out of time exits 1 and says so"
one_line_exit 2 "unknown target 'segfault' \(valid: bad-marshal, eof, permission-error, module-not-found\)" \
	"$PYCSTORM" repro segfault
ok "unknown repro target: one line naming the valid ones, exit 2"

# --- the interpreter runner ---------------------------------------------------------
R="$SCRATCH/interp"
PYTHONDONTWRITEBYTECODE=1 "$PYCSTORM" run -s py27-pycompile,py33-atomic,native -j 4 -d 4s \
	--python /usr/bin/python3 --seed 11 -o "$R" -q
ok "a run with --python /usr/bin/python3 (and PYTHONDONTWRITEBYTECODE=1 set) exits 0"
[ "$(json "$R/summary.json" 'j["runner"]')" = interpreter ] &&
	[ "$(json "$R/summary.json" 'j["python"]["executable"]')" = /usr/bin/python3 ] &&
	json "$R/summary.json" 'j["python"]["version"]' | grep -q '^3\.'
ok "the summary names the interpreter runner, the binary and its version"
[ "$(result "$R/summary.json" native 'r["by_op"]["compile"].get("ok", 0) > 100 and r["by_op"]["import"].get("ok", 0) > 100')" = True ]
ok "PYTHONDONTWRITEBYTECODE does not stop the real interpreter writing caches"
[ "$(result "$R/summary.json" py27-pycompile 'r["corrupt"] > 0')" = True ] &&
	[ "$(result "$R/summary.json" py33-atomic 'r["corrupt"]')" = 0 ]
ok "the interpreter runner sees the same classes: py27-pycompile corrupts, py33-atomic does not"
n=$(confirmed /usr/bin/python3 "$R"/evidence/py27-pycompile-*)
[ "$n" -gt 0 ]
ok "files kept by the interpreter runner fail the same way in /usr/bin/python3 ($n)"
one_line_exit 77 "--python '/bin/true' is not a Python 3.7 or later" "$PYCSTORM" run -n 1 --python /bin/true
ok "--python that is not a usable Python: one line, exit 77"

# --- candidate fixes as files ---------------------------------------------------------
FIXES="$REPO/scenarios/fixes"
for runner in embedded /usr/bin/python3; do
	args=()
	[ "$runner" = embedded ] || args=(--python "$runner")
	R="$SCRATCH/fix-$(basename "$runner")"
	"$PYCSTORM" run -s py33-atomic --strategy-file "$FIXES/gh126606-checked.py" \
		--strategy-file "$FIXES/fsync-replace.py" -j 2 -d 3s --seed 5 -o "$R" -q \
		--fault short-write:p=0.2 "${args[@]}"
	ok "--strategy-file runs in the $runner runner"
	[ "$(result "$R/summary.json" py33-atomic 'r["corrupt"] > 0')" = True ] &&
		[ "$(result "$R/summary.json" gh126606-checked.py 'r["corrupt"] == 0 and r["cycles"] > 100')" = True ] &&
		[ "$(result "$R/summary.json" fsync-replace.py 'r["corrupt"] == 0 and r["cycles"] > 100')" = True ]
	ok "under short writes the shipped fixes do not corrupt while py33-atomic does ($runner)"
done
echo 'x = 1' >"$SCRATCH/nowrite.py"
one_line_exit 2 "strategy file '.*nowrite.py' defines no write\(path, data\)" \
	"$PYCSTORM" run -s py33-atomic --strategy-file "$SCRATCH/nowrite.py" -n 5 -q -o "$SCRATCH/nw"
ok "a strategy file without write(): one line, exit 2"

# --- the other workloads --------------------------------------------------------------
"$PYCSTORM" run portage663324 -d 3s --seed 4 -o "$SCRATCH/portage" -q
[ "$(result "$SCRATCH/portage/summary.json" merge-direct 'r["outcomes"].get("module_not_found", 0) > 0')" = True ] &&
	[ "$(result "$SCRATCH/portage/summary.json" merge-wait 'r["outcomes"].get("module_not_found", 0)')" = 0 ] &&
	[ "$(result "$SCRATCH/portage/summary.json" merge-wait 'r["by_op"]["import"].get("ok", 0) > 0')" = True ]
ok "portage663324: merge-direct meets ModuleNotFoundError, merge-wait never does"
"$PYCSTORM" run twisted-dropin -d 3s --seed 4 -o "$SCRATCH/twisted" -q
[ "$(result "$SCRATCH/twisted/summary.json" unlink-rename 'r["faults_fired"].get("pycstorm/lock/delete-pending", 0) > 0 and r["outcomes"].get("permission_error", 0) > 0')" = True ]
ok "twisted-dropin: unlink then rename meets delete-pending and PermissionError"
"$PYCSTORM" run mypy3215 -d 3s --seed 4 -o "$SCRATCH/mypy" -q
grep -q '"type": "cycle".*"strategy": "py33-atomic".*\.mypy_cache/3\.[0-9]*/[a-z]*\.data\.json' "$SCRATCH/mypy/events.jsonl"
ok "mypy3215 refuses replaces of mypy-style JSON cache files too"
one_line_exit 2 "strategy 'merge-wait' merges packages \(cache = package\); scenario 'default' has cache = pyc" \
	"$PYCSTORM" run -s merge-wait -n 1
ok "a package strategy on a .pyc scenario: one line, exit 2"

done_testing
