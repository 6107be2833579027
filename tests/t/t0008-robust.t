#!/bin/bash
# The harness never fails its users: interruption keeps what was measured,
# dead and hung workers are counted and replaced, workers that keep dying
# stop the run with one line, resource problems get one line and exit 77,
# and a long run holds its descriptors steady.
. "$(dirname "$0")/lib.sh"

run_bg() { # run_bg OUTDIR ARGS...: start a run in the background; its pid in $pid
	local out=$1
	shift
	"$PYCSTORM" run -q -o "$out" "$@" >"$out.stdout" 2>"$out.stderr" &
	pid=$!
}

started() { grep -q '"type": "start"' "$1/events.jsonl" 2>/dev/null; }

# --- interruption -----------------------------------------------------------------
# interrupted SIG: SIG stops a run with exit 130 (the run is killed if the
# check ends early)
interrupted() {
	local R="$SCRATCH/sig-$1" rc=0
	run_bg "$R" -s py33-atomic,py27-pycompile -j 2 -d 60s --seed 1
	trap 'kill -KILL "$pid" 2>/dev/null || :' EXIT
	wait_for 20 started "$R"
	sleep 1
	kill -"$1" "$pid"
	wait "$pid" || rc=$?
	diag "exit $rc"
	[ $rc -eq 130 ]
}
partial_results() { # partial_results SIG
	local R="$SCRATCH/sig-$1"
	json_true "$R/summary.json" 'j["interrupted"] is True and sum(r["cycles"] for r in j["results"]) > 0'
	test -s "$R/summary.md"
}
one_line_said() { # one_line_said SIG
	local R="$SCRATCH/sig-$1" lines
	lines=$(wc -l <"$R.stderr")
	[ "$lines" -eq 1 ]
	grep -q "interrupted: partial results written to" "$R.stderr"
}
for sig in INT TERM; do
	test_ok "SIG$sig stops the run with exit 130" interrupted $sig
	test_ok "after SIG$sig, summary.json says interrupted and keeps every cycle counted so far" \
		partial_results $sig
	test_ok "and says so in one line" one_line_said $sig
done
second_ctrl_c() {
	local R="$SCRATCH/twice" t0 t
	run_bg "$R" -s py33-atomic -j 2 -d 60s --seed 2 --fault rename-delay:delay=2s
	trap 'kill -KILL "$pid" 2>/dev/null || :' EXIT
	wait_for 20 started "$R"
	kill -INT "$pid"
	sleep 0.2
	kill -INT "$pid"
	t0=$(date +%s%N)
	exits 130 wait "$pid"
	t=$(( ($(date +%s%N) - t0) / 1000000 ))
	diag "waited ${t} ms"
	[ $t -lt 1500 ]
	test -s "$R/summary.json"
}
test_ok "a second Ctrl-C does not wait for workers stuck in a 2 s rename and still writes the summary" second_ctrl_c

# --- supervision --------------------------------------------------------------------
R="$SCRATCH/killed"
killed_worker() {
	local victim
	run_bg "$R" -s py33-atomic -j 2 -d 4s --seed 3
	trap 'kill -KILL "$pid" 2>/dev/null || :' EXIT
	wait_for 20 started "$R"
	victim=$(sed -n 's/.*"type": "start".*"pid": \([0-9]*\).*/\1/p' "$R/events.jsonl" | head -n 1)
	test -n "$victim"
	kill -KILL "$victim"
	wait "$pid"
}
test_ok "a worker killed from outside does not stop the run" killed_worker
crash_counted() {
	result_true "$R/summary.json" py33-atomic 'r["outcomes"].get("worker_crash", 0) >= 1 and r["workers_started"] >= 3'
	result "$R/summary.json" py33-atomic 'r["first_errors"]["worker_crash"]' >"$SCRATCH/wc"
	grep -q "killed by signal 9" "$SCRATCH/wc"
}
test_ok "it is counted as worker_crash, with the signal, and replaced" crash_counted

test_ok "a run whose worker hangs in a rename goes on" \
	"$PYCSTORM" run -s py33-atomic -j 1 -d 5s --seed 4 -q -o "$SCRATCH/hung" --cycle-timeout 1s \
	--fault rename-delay:delay=3s
hung_counted() {
	result_true "$SCRATCH/hung/summary.json" py33-atomic 'r["outcomes"].get("worker_timeout", 0) >= 1'
	result "$SCRATCH/hung/summary.json" py33-atomic 'r["first_errors"]["worker_timeout"]' >"$SCRATCH/wt"
	grep -q "no record within the cycle timeout" "$SCRATCH/wt"
}
test_ok "the hung worker is counted as worker_timeout and replaced" hung_counted

# A real interpreter that takes 2 s to start, as on a loaded machine: with
# --cycle-timeout 1s its workers are still starting, not hung; the cycle
# timeout counts from their hello.
cat >"$SCRATCH/slow-python" <<SH
#!/bin/sh
case "\$*" in *pycstorm-driver-ready*) exec /usr/bin/python3 "\$@" ;; esac
sleep 2
exec /usr/bin/python3 "\$@"
SH
chmod +x "$SCRATCH/slow-python"
slow_start() {
	"$PYCSTORM" run -s py33-atomic -j 2 -d 1s --seed 5 -q -o "$SCRATCH/slow" --cycle-timeout 1s \
		--python "$SCRATCH/slow-python"
	result_true "$SCRATCH/slow/summary.json" py33-atomic \
		'r["outcomes"].get("worker_timeout", 0) == 0 and r["cycles"] > 0'
}
if [ -x /usr/bin/python3 ]; then
	test_ok "workers slower to start than --cycle-timeout are not hung" slow_start
else
	skip "workers slower to start than --cycle-timeout" "no /usr/bin/python3"
fi

cat >"$SCRATCH/dying-python" <<'SH'
#!/bin/sh
# passes pycstorm's probe, then dies like a broken interpreter
case "$*" in *pycstorm-driver-ready*) echo pycstorm-driver-ready; exit 0 ;; esac
kill -SEGV $$
SH
chmod +x "$SCRATCH/dying-python"
test_ok "workers that keep dying stop the run with one clear line, exit 77" \
	one_line_exit 77 "workers keep dying \(20 in a row without a cycle\): worker died: killed by signal 11" \
	"$PYCSTORM" run -s py33-atomic -j 1 -d 30s -q -o "$SCRATCH/dying" --python "$SCRATCH/dying-python"
test_ok "and the deaths are in the summary" \
	result_true "$SCRATCH/dying/summary.json" py33-atomic 'r["outcomes"]["worker_crash"] >= 20'

# --- resources ------------------------------------------------------------------------
mkdir -p "$SCRATCH/full"
if mount -t tmpfs -o size=64k tmpfs "$SCRATCH/full" 2>/dev/null; then
	test_ok "a cache folder on a full filesystem: one clear line, exit 77" \
		one_line_exit 77 "cannot write '.*': No space left on device" \
		"$PYCSTORM" run -s py33-atomic -n 5 -q -o "$SCRATCH/fullrun" --cache-dir "$SCRATCH/full"
	umount "$SCRATCH/full"
else
	skip "a cache folder on a full filesystem" "cannot mount a small tmpfs here"
fi
test_ok "an unwritable output folder: one clear line, exit 77" \
	one_line_exit 77 "cannot create run folder '/proc/pycstorm-nope'" \
	"$PYCSTORM" run -s py33-atomic -n 5 -q -o /proc/pycstorm-nope
test_ok "a missing python: one clear line, exit 77" \
	one_line_exit 77 "--python '/nonexistent/python3': No such file or directory" \
	"$PYCSTORM" run -s py33-atomic -n 5 -q --python /nonexistent/python3
bad_inject_library() {
	mkdir -p "$SCRATCH/bin"
	cp "$PYCSTORM_BIN"/pycstorm "$PYCSTORM_BIN"/pycstorm-worker "$SCRATCH/bin/"
	echo "not a library" >"$SCRATCH/bin/libpycstorm-inject.so"
	PYCSTORM_HOME="$REPO" one_line_exit 77 "cannot load the inject library: .*libpycstorm-inject.so" \
		"$SCRATCH/bin/pycstorm" run -s py33-atomic -n 5 -q -o "$SCRATCH/nolib" --fault short-write
}
test_ok "an inject library that cannot load (no libfiu): one clear line, exit 77, before any worker" \
	bad_inject_library

# --- a long run holds its descriptors steady ------------------------------------------
# The fewest descriptors seen in each window: a worker being replaced holds
# its new pipe for a moment, a leak raises the floor for good.
fewest() { # fewest PID: the smallest of ten counts taken 0.1 s apart
	local i n min=100000
	for i in 1 2 3 4 5 6 7 8 9 10; do
		n=$(ls /proc/$1/fd 2>/dev/null | wc -l)
		[ "$n" -gt 0 ] && [ "$n" -lt "$min" ] && min=$n
		sleep 0.1
	done
	echo $min
}
replaced() { # replaced RUN N: at least N workers were killed by the crash fault
	local n
	n=$(grep -c crash-injected "$1/events.jsonl" 2>/dev/null) || :
	[ "${n:-0}" -ge "$2" ]
}
steady_descriptors() {
	local R="$SCRATCH/fds" early late crashes
	# Counted in replacements, not seconds: a loaded machine cycles slower.
	# The run is ours to end (Ctrl-C) once enough workers were replaced.
	run_bg "$R" -s py33-atomic,py27-pycompile -j 2 -d 120s --seed 5 --fault crash:p=0.02
	trap 'kill -KILL "$pid" 2>/dev/null || :' EXIT
	wait_for 60 replaced "$R" 5
	early=$(fewest $pid)
	wait_for 90 replaced "$R" 25
	late=$(fewest $pid)
	kill -INT "$pid"
	wait "$pid" || :
	crashes=$(grep -c crash-injected "$R/events.jsonl")
	diag "orchestrator descriptors: $early after 5 replacements, $late after 25 ($crashes in all)"
	# A replacement is nearly always under way at that rate (one pipe more for
	# a moment); a leak would add one per replacement, so over 20 of them the
	# floor may move by one at most.
	[ "$early" -lt 100000 ]
	[ "$late" -lt 100000 ]
	[ "$late" -le $((early + 1)) ]
	[ "$crashes" -ge 25 ]
}
test_ok "the orchestrator's open descriptors stay constant while workers die and are replaced" steady_descriptors

done_testing
