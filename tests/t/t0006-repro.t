#!/bin/bash
# The field reports on demand: the scenario catalogue, `repro` for each
# report (confirmed by a real interpreter in a fresh process), the
# interpreter runner, and candidate fixes given as Python files.
. "$(dirname "$0")/lib.sh"

listed_scenario() { # listed_scenario NAME
	"$PYCSTORM" list scenarios >"$SCRATCH/scn"
	grep -qE "^$1 +[^ ]" "$SCRATCH/scn"
	grep -A1 -E "^$1 " "$SCRATCH/scn" >"$SCRATCH/scn-$1"
	grep -q 'reproduces: .' "$SCRATCH/scn-$1"
}
for s in default lp1010077 lp1060842 gh126606 mypy3215 twisted-dropin portage663324 enospc; do
	test_ok "scenario $s parses and names the report it reproduces" listed_scenario $s
done

# --- repro: each target, several seeds, a short bound -----------------------
# (the issue's bar is 9 of 10 seeds within 60 s; the benchmark measures the
# time; here each seed gets 20 s and at most one may miss)
nine_of_ten() { # nine_of_ten TARGET
	local seed hits=0
	for seed in 1 2 3 4 5 6 7 8 9 10; do
		if "$PYCSTORM" repro "$1" --seed "$seed" --timeout 20s -o "$SCRATCH/r-$1-$seed" \
			>"$SCRATCH/r-$1-$seed.out" 2>&1; then
			hits=$((hits + 1))
		fi
	done
	diag "repro $1: confirmed for $hits of 10 seeds"
	[ $hits -ge 9 ]
}
for target in bad-marshal eof permission-error module-not-found; do
	test_ok "repro $target reproduces and is confirmed by the real interpreter for >= 9 of 10 seeds" \
		nine_of_ten $target
done
# What repro calls reproduced is what the run kept. (A half-merged package
# the merge completed before the worker could copy it was seen, not kept,
# and is not reproduced: the 1 ms runs further down meet that under load.)
said_as_kept() { # said_as_kept TARGET CLASS
	local seed out
	for seed in 1 2 3 4 5 6 7 8 9 10; do
		out="$SCRATCH/r-$1-$seed"
		if grep -q "^reproduced after" "$out.out"; then
			json_true "$out/summary.json" 'any("'"$2"'" in e for r in j["results"] for e in r["evidence"])'
		else
			grep -q "^not reproduced within" "$out.out"
		fi
	done
}
test_ok "repro says reproduced only when the run kept a copy of the class, for every seed above" \
	said_as_kept module-not-found module_not_found
repro_prints() {
	local out="$SCRATCH/r-eof-1.out"
	grep -q "^seed 1; run folder" "$out"
	grep -q "pycstorm repro eof --seed 1" "$out"
	grep -q "^    EOFError: " "$out"
	grep -q '^    Traceback (most recent call last):' "$out"
}
test_ok "repro prints the seed, the interpreter's own traceback and the command that replays it" repro_prints
# The cache tag is the embedded interpreter's: the one pycstorm was built
# against, which make passes as PYCSTORM_PYTHON.
repro_permission_error() {
	local tag
	tag=$("$PYCSTORM_PYTHON" -c 'import sys; print(sys.implementation.cache_tag)')
	test -n "$tag"
	grep -q "^    PermissionError: \[Errno 13\] Permission denied: 'new.tmp' -> 'mod\.$tag\.pyc'" \
		"$SCRATCH/r-permission-error-1.out"
}
test_ok "repro permission-error shows the real interpreter's PermissionError on os.replace" repro_permission_error
test_ok "repro module-not-found shows the real interpreter's import error on the kept half-merged package" \
	grep -qE "^    (ModuleNotFoundError: No module named 'stormplugin|ImportError: cannot import name '[a-z]+' from partially initialized module 'stormplugin')" \
	"$SCRATCH/r-module-not-found-1.out"

distro_repro() {
	"$PYCSTORM" repro eof --python /usr/bin/python3 --seed 7 --timeout 30s >"$SCRATCH/distro.out" 2>&1
}
test_ok "repro eof --python /usr/bin/python3 reproduces gh-126606 with the distro's own binary" distro_repro
distro_traceback() {
	grep -q "^  \$ cd .* && /usr/bin/python3 -B -c" "$SCRATCH/distro.out"
	grep -q "^    EOFError: " "$SCRATCH/distro.out"
}
test_ok "and /usr/bin/python3's own traceback confirms it" distro_traceback

# The time counts from each worker's start, so 1 ms is a few cycles: enough
# for eof, under gh126606's faults, now and then; a half-merged package
# needs a merge and an import to meet, which a few cycles do not give.
# A run may still meet one now and then: then another seed (each run's
# exit status must match what it says either way).
out_of_time() {
	local seed rc
	for seed in 3 4 5; do
		rc=0
		"$PYCSTORM" repro module-not-found --timeout 1ms --seed $seed >"$SCRATCH/short.out" 2>&1 || rc=$?
		if grep -q "not reproduced within 1ms" "$SCRATCH/short.out"; then
			[ $rc -eq 1 ] && return 0
			diag "said not reproduced, exited $rc"
			return 1
		fi
		grep -q "^confirmed" "$SCRATCH/short.out" && [ $rc -eq 0 ] && continue
		diag "seed $seed: exit $rc, neither out of time nor confirmed:"
		sed 's/^/#   /' "$SCRATCH/short.out"
		return 1
	done
	diag "reproduced within 1 ms under all three seeds"
	return 1
}
test_ok "repro that runs out of time exits 1 and says so" out_of_time

# A failure seen but never kept is not a reproduction: with every evidence
# slot taken (a test shim), the workers meet half-merged packages and keep
# none, as when each merge moves on before the copy.
unkept() {
	exits 1 env LD_PRELOAD="$PYCSTORM_SHIMS/evidence-slots-taken.so" \
		"$PYCSTORM" repro module-not-found --timeout 3s --seed 1 -o "$SCRATCH/unkept" \
		>"$SCRATCH/unkept.out" 2>&1
	result_true "$SCRATCH/unkept/summary.json" merge-direct \
		'r["outcomes"].get("module_not_found", 0) > 0 and r["evidence"] == []'
	grep -qE '^seen [0-9]+ times?, but no copy of it was kept$' "$SCRATCH/unkept.out"
	grep -q '^not reproduced within 3s' "$SCRATCH/unkept.out"
	not grep -q 'reproduced after\|the real interpreter' "$SCRATCH/unkept.out"
}
case "${PYCSTORM_SANITIZE:-}" in
*address*) skip "a failure seen but not kept" "a test shim cannot load next to the AddressSanitizer runtime" ;;
*) test_ok "a failure seen but not kept is not reproduced: exit 1, and it says so" unkept ;;
esac
test_ok "unknown repro target: one line naming the valid ones, exit 2" \
	one_line_exit 2 "unknown target 'segfault' \(valid: bad-marshal, eof, permission-error, module-not-found, interpreter-crash\)" \
	"$PYCSTORM" repro segfault

# --- the interpreter runner ---------------------------------------------------------
R="$SCRATCH/interp"
interp_run() {
	PYTHONDONTWRITEBYTECODE=1 "$PYCSTORM" run -s py27-pycompile,py33-atomic,native -j 4 -d 4s \
		--python /usr/bin/python3 --seed 11 -o "$R" -q
}
test_ok "a run with --python /usr/bin/python3 (and PYTHONDONTWRITEBYTECODE=1 set) exits 0" interp_run
test_ok "the summary names the interpreter runner, the binary and its version" \
	json_true "$R/summary.json" 'j["runner"] == "interpreter" and
j["python"]["executable"] == "/usr/bin/python3" and str(j["python"]["version"]).startswith("3.")'
test_ok "PYTHONDONTWRITEBYTECODE does not stop the real interpreter writing caches" \
	result_true "$R/summary.json" native 'r["by_op"]["compile"].get("ok", 0) > 100 and r["by_op"]["import"].get("ok", 0) > 100'
interp_classes() {
	result_true "$R/summary.json" py27-pycompile 'r["corrupt"] > 0'
	result_true "$R/summary.json" py33-atomic 'r["corrupt"] == 0'
}
test_ok "the interpreter runner sees the same classes: py27-pycompile corrupts, py33-atomic does not" interp_classes
interp_evidence() {
	local n
	n=$(confirmed /usr/bin/python3 "$R"/evidence/py27-pycompile-*)
	diag "confirmed: $n"
	[ "$n" -gt 0 ]
}
test_ok "files kept by the interpreter runner fail the same way in /usr/bin/python3" interp_evidence
test_ok "--python that is not a usable Python: one line, exit 77" \
	one_line_exit 77 "--python '/bin/true' is not a Python 2.7, or 3.6 or later" "$PYCSTORM" run -n 1 --python /bin/true

# --- candidate fixes as files ---------------------------------------------------------
FIXES="$REPO/scenarios/fixes"
fix_run() { # fix_run RUNNER ARGS...: the shipped fixes and py33-atomic under short writes
	"$PYCSTORM" run -s py33-atomic --strategy-file "$FIXES/gh126606-checked.py" \
		--strategy-file "$FIXES/fsync-replace.py" -j 2 -d 3s --seed 5 -o "$SCRATCH/fix-$1" -q \
		--fault short-write:p=0.2 "${@:2}"
}
fixes_hold() { # fixes_hold RUNNER
	local S="$SCRATCH/fix-$1/summary.json"
	result_true "$S" py33-atomic 'r["corrupt"] > 0'
	result_true "$S" gh126606-checked.py 'r["corrupt"] == 0 and r["cycles"] > 100'
	result_true "$S" fsync-replace.py 'r["corrupt"] == 0 and r["cycles"] > 100'
}
test_ok "--strategy-file runs in the embedded runner" fix_run embedded
test_ok "under short writes the shipped fixes do not corrupt while py33-atomic does (embedded)" fixes_hold embedded
test_ok "--strategy-file runs in the /usr/bin/python3 runner" fix_run python3 --python /usr/bin/python3
test_ok "under short writes the shipped fixes do not corrupt while py33-atomic does (/usr/bin/python3)" \
	fixes_hold python3
no_write() {
	echo 'x = 1' >"$SCRATCH/nowrite.py"
	one_line_exit 2 "strategy file '.*nowrite.py' defines no write\(path, data\)" \
		"$PYCSTORM" run -s py33-atomic --strategy-file "$SCRATCH/nowrite.py" -n 5 -q -o "$SCRATCH/nw"
}
test_ok "a strategy file without write(): one line, exit 2" no_write

# --- the other workloads --------------------------------------------------------------
portage() {
	local S="$SCRATCH/portage/summary.json"
	"$PYCSTORM" run portage663324 -d 3s --seed 4 -o "$SCRATCH/portage" -q
	result_true "$S" merge-direct 'r["outcomes"].get("module_not_found", 0) > 0'
	result_true "$S" merge-wait 'r["outcomes"].get("module_not_found", 0) == 0'
	result_true "$S" merge-wait 'r["by_op"]["import"].get("ok", 0) > 0'
}
test_ok "portage663324: merge-direct meets ModuleNotFoundError, merge-wait never does" portage
twisted() {
	"$PYCSTORM" run twisted-dropin -d 3s --seed 4 -o "$SCRATCH/twisted" -q
	result_true "$SCRATCH/twisted/summary.json" unlink-rename \
		'r["faults_fired"].get("pycstorm/lock/delete-pending", 0) > 0 and r["outcomes"].get("permission_error", 0) > 0'
}
test_ok "twisted-dropin: unlink then rename meets delete-pending and PermissionError" twisted
# A replace refused by a held lock raises, names the temporary file and the
# JSON cache file it was to replace, and writes nothing over that file:
# every read of the caches still finds a whole one. A count of cycles (enough
# for the holders to hold JSON files too, under load), not a
# duration, so that a slow start cannot leave the run without any.
mypy() {
	local S="$SCRATCH/mypy/summary.json"
	"$PYCSTORM" run mypy3215 -n 600 --seed 4 -o "$SCRATCH/mypy" -q
	result_true "$S" py33-atomic 'r["cycles"] == 2400 and r["faults_fired"].get("pycstorm/lock/held", 0) > 0 and
r["outcomes"].get("permission_error", 0) > 0'
	grep '"type": "cycle".*"strategy": "py33-atomic".*"outcome": "permission_error"' \
		"$SCRATCH/mypy/events.jsonl" >"$SCRATCH/mypy-refused"
	sed -n 's/.*"error": "\(.*\)"}$/\1/p' "$SCRATCH/mypy-refused" >"$SCRATCH/mypy-errors"
	# every refusal is a PermissionError on a cache file: os.replace's
	# ('X.N' -> 'X'), or, while a held name is delete-pending, the open of a
	# temporary name that a holder had taken
	not grep -vE "^PermissionError: \[Errno 13\] Permission denied: ('([^']*)\.[0-9]+' -> '\2'|'[^']*\.[0-9]+')$" "$SCRATCH/mypy-errors"
	grep -qE "^PermissionError: \[Errno 13\] Permission denied: '[^']*/\.mypy_cache/3\.[0-9]+/[a-z]+\.data\.json\.[0-9]+' -> '[^']*/\.mypy_cache/3\.[0-9]+/[a-z]+\.data\.json'$" \
		"$SCRATCH/mypy-errors"
	# nothing torn: a refused replace left the old file whole, in every strategy
	json_true "$S" 'all(r["corrupt"] == 0 and r["cycles"] == 2400 for r in j["results"])'
}
test_ok "mypy3215 refuses replaces of mypy-style JSON cache files too" mypy
test_ok "a package strategy on a .pyc scenario: one line, exit 2" \
	one_line_exit 2 "strategy 'merge-wait' merges packages \(cache = package\); scenario 'default' has cache = pyc" \
	"$PYCSTORM" run -s merge-wait -n 1

done_testing
