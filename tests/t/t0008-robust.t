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
for sig in INT TERM; do
	R="$SCRATCH/sig-$sig"
	run_bg "$R" -s py33-atomic,py27-pycompile -j 2 -d 60s --seed 1
	wait_for 20 started "$R"
	sleep 1
	kill -$sig $pid
	wait $pid
	rc=$?
	[ $rc -eq 130 ]
	ok "SIG$sig stops the run with exit 130 ($rc)"
	[ "$(json "$R/summary.json" 'j["interrupted"]')" = True ] &&
		[ "$(json "$R/summary.json" 'sum(r["cycles"] for r in j["results"]) > 0')" = True ] &&
		[ -s "$R/summary.md" ]
	ok "after SIG$sig, summary.json says interrupted and keeps every cycle counted so far"
	[ "$(wc -l <"$R.stderr")" -eq 1 ] && grep -q "interrupted: partial results written to" "$R.stderr"
	ok "and says so in one line"
done
R="$SCRATCH/twice"
run_bg "$R" -s py33-atomic -j 2 -d 60s --seed 2 --fault rename-delay:delay=2s
wait_for 20 started "$R"
kill -INT $pid
sleep 0.2
kill -INT $pid
t0=$(date +%s%N)
wait $pid
t=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $t -lt 1500 ] && [ -s "$R/summary.json" ]
ok "a second Ctrl-C does not wait for workers stuck in a 2 s rename (${t} ms) and still writes the summary"

# --- supervision --------------------------------------------------------------------
R="$SCRATCH/killed"
run_bg "$R" -s py33-atomic -j 2 -d 4s --seed 3
wait_for 20 started "$R"
victim=$(sed -n 's/.*"type": "start".*"pid": \([0-9]*\).*/\1/p' "$R/events.jsonl" | head -n 1)
kill -KILL "$victim"
wait $pid
ok "a worker killed from outside does not stop the run"
[ "$(result "$R/summary.json" py33-atomic 'r["outcomes"].get("worker_crash", 0)')" -ge 1 ] &&
	[ "$(result "$R/summary.json" py33-atomic 'r["workers_started"]')" -ge 3 ] &&
	result "$R/summary.json" py33-atomic 'r["first_errors"]["worker_crash"]' | grep -q "killed by signal 9"
ok "it is counted as worker_crash, with the signal, and replaced"

"$PYCSTORM" run -s py33-atomic -j 1 -d 5s --seed 4 -q -o "$SCRATCH/hung" --cycle-timeout 1s \
	--fault rename-delay:delay=3s
ok "a run whose worker hangs in a rename goes on"
[ "$(result "$SCRATCH/hung/summary.json" py33-atomic 'r["outcomes"].get("worker_timeout", 0)')" -ge 1 ] &&
	result "$SCRATCH/hung/summary.json" py33-atomic 'r["first_errors"]["worker_timeout"]' | grep -q "no record within the cycle timeout"
ok "the hung worker is counted as worker_timeout and replaced"

cat >"$SCRATCH/dying-python" <<'SH'
#!/bin/sh
# passes pycstorm's probe, then dies like a broken interpreter
case "$*" in *pycstorm-driver-ready*) echo pycstorm-driver-ready; exit 0 ;; esac
kill -SEGV $$
SH
chmod +x "$SCRATCH/dying-python"
one_line_exit 77 "workers keep dying \(20 in a row without a cycle\): worker died: killed by signal 11" \
	"$PYCSTORM" run -s py33-atomic -j 1 -d 30s -q -o "$SCRATCH/dying" --python "$SCRATCH/dying-python"
ok "workers that keep dying stop the run with one clear line, exit 77"
[ "$(result "$SCRATCH/dying/summary.json" py33-atomic 'r["outcomes"]["worker_crash"]')" -ge 20 ]
ok "and the deaths are in the summary"

# --- resources ------------------------------------------------------------------------
mkdir -p "$SCRATCH/full"
if mount -t tmpfs -o size=64k tmpfs "$SCRATCH/full" 2>/dev/null; then
	one_line_exit 77 "cannot write '.*': No space left on device" \
		"$PYCSTORM" run -s py33-atomic -n 5 -q -o "$SCRATCH/fullrun" --cache-dir "$SCRATCH/full"
	ok "a cache folder on a full filesystem: one clear line, exit 77"
	umount "$SCRATCH/full"
else
	skip "a cache folder on a full filesystem" "cannot mount a small tmpfs here"
fi
one_line_exit 77 "cannot create run folder '/proc/pycstorm-nope'" \
	"$PYCSTORM" run -s py33-atomic -n 5 -q -o /proc/pycstorm-nope
ok "an unwritable output folder: one clear line, exit 77"
one_line_exit 77 "--python '/nonexistent/python3': No such file or directory" \
	"$PYCSTORM" run -s py33-atomic -n 5 -q --python /nonexistent/python3
ok "a missing python: one clear line, exit 77"
mkdir -p "$SCRATCH/bin"
cp "$PYCSTORM_BIN"/pycstorm "$PYCSTORM_BIN"/pycstorm-worker "$SCRATCH/bin/"
echo "not a library" >"$SCRATCH/bin/libpycstorm-inject.so"
PYCSTORM_HOME="$REPO" one_line_exit 77 "cannot load the inject library: .*libpycstorm-inject.so" \
	"$SCRATCH/bin/pycstorm" run -s py33-atomic -n 5 -q -o "$SCRATCH/nolib" --fault short-write
ok "an inject library that cannot load (no libfiu): one clear line, exit 77, before any worker"

# --- a long run holds its descriptors steady ------------------------------------------
R="$SCRATCH/fds"
run_bg "$R" -s py33-atomic,py27-pycompile -j 2 -d 10s --seed 5 --fault crash:p=0.02
wait_for 20 started "$R"
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
sleep 1
early=$(fewest $pid)
sleep 4
late=$(fewest $pid)
crashes=$(grep -c crash-injected "$R/events.jsonl")
wait $pid
diag "orchestrator descriptors: $early after 2 s, $late after 7 s, $crashes workers replaced meanwhile"
# At that rate a replacement is nearly always under way (one pipe more for a
# moment); a leak would add one per replacement, so with at least 20 of them
# the floor may move by one at most.
[ "$late" -le $((early + 1)) ] && [ "$crashes" -ge 20 ]
ok "the orchestrator's open descriptors stay constant while workers die and are replaced"

done_testing
