#!/bin/bash
# pycstorm never harms the processes around it (issue 12): a worker that
# cannot start stops the run with one line naming the limit and signals
# nothing but its own children; what it starts is capped; a signal stops
# it at any point, starting included; every child dies with it, even
# after kill -9; a lock holder cannot swallow the SIGTERM that stops it.
#
# Every run here is in a session of its own (setsid), under
# `timeout -s KILL`, so a failure cannot take the test runner down; what
# a check leaves running in its session is killed when the check ends.
. "$(dirname "$0")/lib.sh"

SHIMS=${PYCSTORM_SHIMS:?run through make integration-tests, which builds the shims}
CPUS=$(nproc)
CAP=$((CPUS * 16 > 64 ? CPUS * 16 : 64))
[ $CAP -le 4096 ] || CAP=4096

# alive SID: the processes of session SID that are not zombies.
alive() {
	ps -s "$1" -o stat=,pid= | awk '$1 !~ /^Z/ { print $2 }'
}

# none_alive SID: poll, with a bound (10 s), until session SID is empty.
none_alive() {
	local n=100
	while [ $n -gt 0 ]; do
		[ -z "$(alive "$1")" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	diag "still running in session $1:" "$(ps -s "$1" -o pid=,stat=,args= | cut -c1-120)"
	return 1
}

# reap_session SID: kill whatever a failed check left in session SID (each
# one a process of ours, by its pid).
reap_session() {
	local p
	for p in $(alive "$1"); do
		kill -KILL "$p" 2>/dev/null || :
	done
}

# start_in_session OUT CMD...: CMD in a new session, in the background,
# stdout and stderr in OUT.out / OUT.err. The session's id (CMD's pid) goes
# in $sid, and `wait $bg` gives CMD's exit status (setsid may fork first).
start_in_session() {
	local out=$1 n=100
	shift
	rm -f "$out.sid"
	setsid -w sh -c 'echo $$ >"$0.sid"; exec "$@"' "$out" "$@" >"$out.out" 2>"$out.err" &
	bg=$!
	while [ ! -s "$out.sid" ] && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	sid=$(cat "$out.sid")
}

# orchestrator SID: the pid of the first pycstorm of session SID (its
# holders are pycstorm too, and younger).
orchestrator() {
	pgrep -o -s "$1" -x pycstorm
}

# wait_count SID N: poll (10 s) until session SID has at least N processes.
wait_count() {
	local n=100
	while [ $n -gt 0 ]; do
		[ "$(alive "$1" | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# --- a worker that cannot start ---------------------------------------------------

# The reproduction of issue 12, item 1: the caller's shell and its other
# children survive, the run says which limit it hit, and its results are
# written.
nofile_stops_cleanly() {
	local d=$SCRATCH/nofile
	mkdir -p "$d"
	timeout -s KILL 60 setsid -w sh -c '
		sleep 30 & echo $! >"$1/sleeper"
		ulimit -n 64
		"$2" run -q -s py33-atomic -j 64 -d 3s --seed 1 -o "$1/run" --cache-dir "$1/cache" 2>"$1/err"
		echo $? >"$1/rc"' sh "$d" "$PYCSTORM" || :
	local sleeper
	sleeper=$(cat "$d/sleeper")
	trap "kill $sleeper 2>/dev/null || :" EXIT
	[ -s "$d/rc" ] || { diag "the caller's shell did not survive"; return 1; }
	kill -0 "$sleeper" || { diag "the caller's other child was killed"; return 1; }
	[ "$(cat "$d/rc")" = 77 ] || { diag "exit $(cat "$d/rc")"; cat "$d/err" >&2; return 1; }
	[ "$(wc -l <"$d/err")" -eq 1 ]
	grep -q "cannot start worker [0-9]* of 64: too many open files (ulimit -n is 64)" "$d/err"
	[ -s "$d/run/summary.json" ] && [ -s "$d/run/summary.md" ]
}
test_ok "ulimit -n 64 with -j 64: exit 77, one line naming the limit, summary written, the caller and its children untouched" \
	nofile_stops_cleanly

# Under ulimit -u as an unprivileged user (root is exempt from it): the
# fork that fails names the process limit. The interpreter runner is used
# because the embedded worker's libpython may not be readable by nobody.
nproc_stops_cleanly() {
	local d=$SCRATCH/nproc/d
	mkdir -p "$d/cache"
	chmod 755 "$SCRATCH" "$SCRATCH/nproc"
	chmod 777 "$d" "$d/cache"
	start_in_session "$d/pycstorm" timeout -s KILL 60 setpriv --reuid=65534 --regid=65534 \
		--clear-groups bash -c 'ulimit -u 8; exec "$0" run -q -s py33-atomic -j 16 -d 3s --seed 1 \
			--python /usr/bin/python3 --cache-dir "$1/cache" -o "$1/run"' "$PYCSTORM" "$d"
	trap 'reap_session "$sid"' EXIT
	local rc=0
	wait "$bg" || rc=$?
	[ $rc -eq 77 ] || { diag "exit $rc"; cat "$d/pycstorm.err" >&2; return 1; }
	[ "$(wc -l <"$d/pycstorm.err")" -eq 1 ]
	grep -q "process limit reached (ulimit -u is 8)" "$d/pycstorm.err"
	none_alive "$sid"
}
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
	test_ok "ulimit -u 8 for an unprivileged user: exit 77, one line naming the process limit, nothing left running" \
		nproc_stops_cleanly
else
	skip "ulimit -u for an unprivileged user" "needs root (to become nobody) and setpriv"
fi

# A worker program that cannot be executed: the run stops with the reason,
# not after twenty deaths counted as crashes.
unrunnable_worker() {
	local d=$SCRATCH/noexec
	mkdir -p "$d/bin"
	cp "$PYCSTORM_BIN/pycstorm" "$d/bin/"
	printf '#!/nonexistent/interpreter\n' >"$d/bin/pycstorm-worker"
	chmod +x "$d/bin/pycstorm-worker"
	PYCSTORM_HOME="$REPO" one_line_exit 77 \
		"run stopped: py33-atomic worker [01]: cannot run '.*/pycstorm-worker': No such file or directory" \
		timeout -s KILL 60 "$d/bin/pycstorm" run -q -s py33-atomic -j 2 -d 30s --seed 1 -o "$d/run" ||
		return 1
	[ -s "$d/run/summary.json" ]
}
test_ok "a worker that cannot be executed: exit 77 and one line naming the program and why" unrunnable_worker

# --- caps ---------------------------------------------------------------------------
# (one_line_exit judges an exit status itself: called with `|| return 1`,
# so that set -e does not act on that status first.)

jobs_over_cap() {
	one_line_exit 2 "run: $((CAP + 1)) workers per strategy is over the cap of $CAP \(16 per CPU, at least 64\)" \
		timeout -s KILL 120 setsid -w "$PYCSTORM" run -q -s py33-atomic -j $((CAP + 1)) -n 1 -o "$SCRATCH/cap-j" ||
		return 1
}
holders_over_cap() {
	one_line_exit 2 "run: held-lock:holders=65 is over the cap of 64 lock holders" \
		timeout -s KILL 120 setsid -w "$PYCSTORM" run -q -s py33-atomic -j 1 -n 1 \
		-f held-lock:holders=65 -o "$SCRATCH/cap-h" ||
		return 1
}
total_over_cap() {
	local j=$((CAP / 2 + 1))
	one_line_exit 2 "run: $((2 * j)) processes at once \(2 x \($j workers per strategy \+ 0 lock holders\)\) is over the cap of $CAP" \
		timeout -s KILL 120 setsid -w "$PYCSTORM" run -q -s py33-atomic,fsync-atomic -j $j -n 1 -o "$SCRATCH/cap-t" ||
		return 1
}
exec_jobs_over_cap() {
	one_line_exit 2 "exec: $((CAP + 1)) copies is over the cap of $CAP" \
		timeout -s KILL 120 setsid -w "$PYCSTORM" exec -q -j $((CAP + 1)) -o "$SCRATCH/cap-ej" -- true ||
		return 1
}
exec_holders_over_cap() {
	one_line_exit 2 "exec: held-lock:holders=65 is over the cap of 64 lock holders" \
		timeout -s KILL 120 setsid -w "$PYCSTORM" exec -q -f held-lock:holders=65 -o "$SCRATCH/cap-eh" -- true ||
		return 1
}
if [ $CAP -lt 256 ] && [ $((CAP / 2 + 1)) -le 256 ]; then
	test_ok "run -j past the cap ($CAP on $CPUS CPUs): exit 2, one line" jobs_over_cap
	test_ok "run with more workers in all than the cap: exit 2, one line" total_over_cap
	test_ok "exec -j past the cap: exit 2, one line" exec_jobs_over_cap
else
	skip "-j past the cap" "the cap ($CAP) is past what -j accepts (256) on $CPUS CPUs"
	skip "more workers in all than the cap" "the cap ($CAP) is past what -j accepts"
	skip "exec -j past the cap" "the cap ($CAP) is past what -j accepts"
fi
test_ok "run held-lock:holders=65: exit 2, one line" holders_over_cap
test_ok "exec held-lock:holders=65: exit 2, one line" exec_holders_over_cap

# --- signals while starting ---------------------------------------------------------

# fork() returns to pycstorm 50 ms late under the slow-fork shim, so
# starting 16 holders and 48 workers takes seconds; a SIGTERM sent once a
# few have started stops the starting, stops what started, writes the
# summary and exits 130.
sigterm_while_starting() {
	local d=$SCRATCH/spawn rc=0
	mkdir -p "$d"
	start_in_session "$d/pycstorm" env LD_PRELOAD="$SHIMS/slow-fork.so" timeout -s KILL 60 \
		"$PYCSTORM" run -q -s py33-atomic,fsync-atomic -j 24 -d 60s --seed 1 \
		-f held-lock:holders=8 -o "$d/run" --cache-dir "$d/cache"
	trap 'reap_session "$sid"' EXIT
	wait_count "$sid" 5
	kill -TERM "$(orchestrator "$sid")"
	wait "$bg" || rc=$?
	[ $rc -eq 130 ] || { diag "exit $rc"; cat "$d/pycstorm.err" >&2; return 1; }
	[ "$(json "$d/run/summary.json" 'j["interrupted"]')" = True ]
	# Not every one of the 48 workers was started: the starting stopped.
	local started
	started=$(json "$d/run/summary.json" 'sum(r["workers_started"] for r in j["results"])')
	[ "$started" -lt 48 ] || { diag "all $started workers were started after the SIGTERM"; return 1; }
	none_alive "$sid"
}
test_ok "SIGTERM while starting workers and holders: the starting stops, exit 130, summary written, nothing left" \
	sigterm_while_starting

# --- every child dies with its parent ------------------------------------------------

run_children_die() {
	local d=$SCRATCH/orphans
	mkdir -p "$d"
	start_in_session "$d/pycstorm" "$PYCSTORM" run -q -s py33-atomic -j 2 -n 1000000 --seed 1 \
		-f held-lock:holders=2 -o "$d/run" --cache-dir "$d/cache"
	trap 'reap_session "$sid"' EXIT
	wait_count "$sid" 5      # pycstorm, 2 holders, 2 workers
	kill -KILL "$(orchestrator "$sid")"
	{ wait "$bg"; } 2>/dev/null || :   # (bash would report the kill)
	none_alive "$sid"
}
test_ok "kill -9 of run during -n 1000000: no worker or holder keeps running" run_children_die

exec_children_die() {
	local d=$SCRATCH/exec-orphans
	mkdir -p "$d"
	start_in_session "$d/pycstorm" "$PYCSTORM" exec -q -j 2 -o "$d/run" -- sleep 300
	trap 'reap_session "$sid"' EXIT
	wait_count "$sid" 3      # pycstorm and its two copies
	kill -KILL "$(orchestrator "$sid")"
	{ wait "$bg"; } 2>/dev/null || :   # (bash would report the kill)
	none_alive "$sid"
}
test_ok "kill -9 of exec: no copy keeps running" exec_children_die

# --- a holder cannot swallow its SIGTERM (issue 12, item 7) ----------------------------

# Under the slow-pdeathsig shim every child of pycstorm spends 0.7 s
# between fork and its own handlers. Holders move between the six cache
# folders every 0.5 s, so each is told to stop inside that window; one
# that lost the signal used to hold exec up forever.
holder_stops() {
	local d=$SCRATCH/holder i rc=0
	for i in 1 2 3 4 5 6; do
		mkdir -p "$d/w/p$i/__pycache__"
		echo x >"$d/w/p$i/__pycache__/m.cpython-311.pyc"
	done
	(cd "$d/w" && LD_PRELOAD="$SHIMS/slow-pdeathsig.so" timeout -s KILL 30 setsid -w \
		"$PYCSTORM" exec -q --seed 1 --fault held-lock -o "$d/run" -- sh -c 'sleep 3') || rc=$?
	[ $rc -eq 0 ] || { diag "exit $rc (137: still waiting for a holder after 30 s)"; return 1; }
	[ -s "$d/run/summary.json" ]
}
test_ok "exec under held-lock finishes when a holder is stopped before its handler is in place" holder_stops

# --- exec with one copy: interrupted is 130 --------------------------------------------

exec_sigterm_130() {
	local d=$SCRATCH/exec-term rc=0
	mkdir -p "$d"
	start_in_session "$d/pycstorm" timeout -s KILL 60 "$PYCSTORM" exec -q -o "$d/run" -- sleep 30
	trap 'reap_session "$sid"' EXIT
	wait_count "$sid" 3      # timeout, pycstorm, the copy
	kill -TERM "$(orchestrator "$sid")"
	wait "$bg" || rc=$?
	[ $rc -eq 130 ] || { diag "exit $rc"; return 1; }
	[ "$(json "$d/run/summary.json" 'j["interrupted"]')" = True ]
}
test_ok "exec with one copy: SIGTERM gives exit 130 and the results are written" exec_sigterm_130

done_testing
