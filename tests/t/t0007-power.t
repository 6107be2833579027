#!/bin/bash
# Power loss: rounds that end in a power cut, rolled back by the writeback
# and ext4-ordered models, and the exhaustive crash-point walk.
. "$(dirname "$0")/lib.sh"

R="$SCRATCH/wb"
"$PYCSTORM" run power-loss -n 8 --seed 1010077 -o "$R" -q
ok "power-loss (writeback, 8 cuts) exits 0"
S="$R/summary.json"
for s in py33-atomic native fsync-atomic; do
	[ "$(result "$S" $s 'r["faults_fired"].get("pycstorm/power/cut")')" = 8 ] &&
		[ "$(result "$S" $s 'sum(r["by_op"]["recover"].values())')" = 24 ]
	ok "$s: 8 cuts, each followed by a read of its 3 cache files"
done
bad=$(json "$S" 'sum(r["by_op"]["recover"].get("bad_marshal", 0) + r["by_op"]["recover"].get("eof", 0) for r in j["results"] if r["strategy"] in ("py33-atomic", "native"))')
diag "py33-atomic + native: $bad corrupt files after 8 cuts each"
[ "$bad" -gt 0 ]
ok "py33-atomic and native leave corrupt caches after cuts under writeback"
[ "$(result "$S" fsync-atomic 'r["by_op"]["recover"].get("bad_marshal", 0) + r["by_op"]["recover"].get("eof", 0)')" = 0 ] &&
	[ "$(result "$S" fsync-atomic 'r["by_op"]["recover"].get("ok", 0)')" -gt 0 ]
ok "fsync-atomic survives every cut"
[ "$(result "$S" fsync-atomic 'r["write_latency_us"]["count"] > 0 and r["write_latency_us"]["p50"] > 0')" = True ] &&
	[ "$(result "$S" py33-atomic 'r["write_latency_us"]["count"] > 0')" = True ]
ok "the same summary holds the write latency fsync costs and the one without it"
[ "$(grep -c '"type": "power-cut".*"model": "writeback"' "$R/events.jsonl")" -eq 40 ]
ok "events.jsonl records each cut per strategy with what the model undid and lost"
n=$(confirmed "$PYCSTORM_PYTHON" "$R"/evidence/*-bad_marshal-* "$R"/evidence/*-eof-*)
[ "$n" -gt 0 ]
ok "files left corrupt by a cut fail the same way in the real interpreter ($n)"

"$PYCSTORM" run power-loss -n 3 --seed 5 -s py33-atomic,fsync-atomic -o "$SCRATCH/ord" -q \
	--fault power-cut:model=ext4-ordered,sector=512
ok "the ext4-ordered model with 512-byte sectors runs"
grep -q '"type": "power-cut".*"model": "ext4-ordered"' "$SCRATCH/ord/events.jsonl" &&
	[ "$(result "$SCRATCH/ord/summary.json" fsync-atomic 'r["corrupt"]')" = 0 ]
ok "under ext4-ordered too, fsync-atomic never corrupts"

# --- every crash point ------------------------------------------------------------
"$PYCSTORM" crashpoints fsync-atomic >"$SCRATCH/cp-fsync"
ok "crashpoints fsync-atomic exits 0: no crash state is corrupt"
grep -qE "^fsync-atomic under writeback: [0-9]+ operations, [0-9]+ crash states: 0 corrupt" "$SCRATCH/cp-fsync" &&
	grep -q "fsync directory" "$SCRATCH/cp-fsync" && grep -q "rename .* -> " "$SCRATCH/cp-fsync"
ok "it walks every operation of the trace, fsyncs and rename included"
"$PYCSTORM" crashpoints py33-atomic >"$SCRATCH/cp-py33"
[ $? -eq 1 ] && grep -q "torn .*bad_marshal   <- CORRUPT" "$SCRATCH/cp-py33"
ok "crashpoints py33-atomic (writeback) finds the torn write renamed into place, exit 1"
"$PYCSTORM" crashpoints py33-atomic --model ext4-ordered >"$SCRATCH/cp-ord"
ok "under ext4-ordered a rename over an existing cache commits its data: no corrupt state"
one_line_exit 2 "crashpoints: unknown model 'zfs' \(valid: ext4-ordered, writeback\)" \
	"$PYCSTORM" crashpoints py33-atomic --model zfs
ok "an unknown model: one line, exit 2"

done_testing
