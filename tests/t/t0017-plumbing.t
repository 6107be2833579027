#!/bin/bash
# One definition of each piece of plumbing, seen from outside: the inject
# environment (our library first in LD_PRELOAD, the user's preloads kept
# after it, an outer pycstorm's variables never passed on) is the same for
# run's workers and exec's copies, and the replay line a run stores runs.
. "$(dirname "$0")/lib.sh"

case "${PYCSTORM_SANITIZE:-}" in
*address*)
	echo "1..0 # SKIP a test shim preloaded next to the AddressSanitizer runtime cannot load"
	exit 0
	;;
esac
SHIM="$PYCSTORM_SHIMS/slow-fork.so"
LIB="$(cd "$PYCSTORM_BIN" && pwd -P)/libpycstorm-inject.so"

# A stand-in interpreter: it passes run's probe, then, as a worker, writes
# down the environment it was given and fails.
cat >"$SCRATCH/env-python" <<EOF_PY
#!/bin/sh
case "\$*" in *pycstorm-driver-ready*) echo pycstorm-driver-ready; exit 0 ;; esac
printf '%s\n' "\${LD_PRELOAD-unset}" >"\$SEEN/preload"
printf '%s\n' "\${PYCSTORM_FAULTS-unset}" >"\$SEEN/faults"
exit 1
EOF_PY
chmod +x "$SCRATCH/env-python"

# run_seen NAME ARGS...: a run whose workers are env-python; it stops when
# they keep dying (exit 77); what the last one saw is in $SCRATCH/NAME.
run_seen() {
	local name=$1 rc=0
	shift
	mkdir -p "$SCRATCH/$name"
	SEEN="$SCRATCH/$name" "$PYCSTORM" run -s py33-atomic -j 1 -n 1 -q -o "$SCRATCH/$name-run" \
		--python "$SCRATCH/env-python" "$@" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 77 ]
}

run_keeps_user_preload() {
	LD_PRELOAD="$SHIM" run_seen keep --fault short-write:p=0.01
	[ "$(cat "$SCRATCH/keep/preload")" = "$LIB:$SHIM" ]
	[ "$(cat "$SCRATCH/keep/faults")" = "short-write:p=0.01" ]
}
test_ok "run: a worker preloads the inject library first and the user's preload after it" \
	run_keeps_user_preload

run_drops_outer_faults() {
	PYCSTORM_FAULTS="crash:p=1" run_seen outer --preload
	[ "$(cat "$SCRATCH/outer/preload")" = "$LIB" ]
	[ "$(cat "$SCRATCH/outer/faults")" = "unset" ]
}
test_ok "run: an inherited PYCSTORM_FAULTS never reaches a worker" run_drops_outer_faults

run_plain_keeps_preload() {
	LD_PRELOAD="$SHIM" run_seen plain
	[ "$(cat "$SCRATCH/plain/preload")" = "$SHIM" ]
}
test_ok "run: with nothing to inject, the user's LD_PRELOAD is passed on as it was" \
	run_plain_keeps_preload

exec_keeps_user_preload() {
	mkdir -p "$SCRATCH/ex/w"
	(cd "$SCRATCH/ex/w" && LD_PRELOAD="$SHIM" PYCSTORM_FAULTS="crash:p=1" "$PYCSTORM" exec -q \
		-o "$SCRATCH/ex/run" --fault short-write:p=0.01 -- \
		sh -c 'printf "%s\n" "$LD_PRELOAD" >../preload; printf "%s\n" "$PYCSTORM_FAULTS" >../faults') \
		>/dev/null 2>&1
	[ "$(cat "$SCRATCH/ex/preload")" = "$LIB:$SHIM" ]
	[ "$(cat "$SCRATCH/ex/faults")" = "short-write:p=0.01" ]
}
test_ok "exec: a copy preloads the inject library first and the user's preload after it" \
	exec_keeps_user_preload

# --- the stored replay line runs ---------------------------------------------------
# Its strategy files are named by path, not by -s (which would exit 2:
# "unknown strategy"), and every other setting comes along.
replay_line_runs() {
	local line
	"$PYCSTORM" run -s py33-atomic --strategy-file "$REPO/scenarios/fixes/fsync-replace.py" \
		-n 20 -j 2 --seed 7 --cycle-timeout 7500ms --fault short-write:p=0.05 -q -o "$SCRATCH/orig"
	line=$(json "$SCRATCH/orig/summary.json" 'j["replay"]')
	case "$line" in "pycstorm run default "*) ;; *) false ;; esac
	eval "\"\$PYCSTORM\" ${line#pycstorm } -q -o \"\$SCRATCH/again\""
	for k in seed iterations jobs faults; do
		[ "$(json "$SCRATCH/again/summary.json" "j['$k']")" = \
		  "$(json "$SCRATCH/orig/summary.json" "j['$k']")" ]
	done
	[ "$(json "$SCRATCH/again/summary.json" '[r["strategy"] for r in j["results"]]')" = \
	  '["py33-atomic", "fsync-replace.py"]' ]
	[ "$(json "$SCRATCH/again/summary.json" 'j["replay"]')" = "$line" ]
	# replay.args says the same, with the scenario as its file.
	"$PYCSTORM" replay "$SCRATCH/orig" -q -o "$SCRATCH/replayed"
	[ "$(json "$SCRATCH/replayed/summary.json" 'j["replay"]')" = \
	  "pycstorm run $(cd "$REPO" && pwd -P)/scenarios/default.scn ${line#pycstorm run default }" ]
}
test_ok "a run with --strategy-file stores a replay line that runs the same settings" replay_line_runs

done_testing
