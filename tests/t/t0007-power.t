#!/bin/bash
# Power loss: rounds that end in a power cut, rolled back by the writeback
# and ext4-ordered models, and the exhaustive crash-point walk.
. "$(dirname "$0")/lib.sh"

R="$SCRATCH/wb"
S="$R/summary.json"
test_ok "power-loss (writeback, 8 cuts) exits 0" "$PYCSTORM" run power-loss -n 8 --seed 1010077 -o "$R" -q
for s in py33-atomic native fsync-atomic; do
	test_ok "$s: 8 cuts, each followed by a read of its 3 cache files" result_true "$S" $s \
		'r["faults_fired"].get("pycstorm/power/cut") == 8 and sum(r["by_op"]["recover"].values()) == 24'
done
diag "py33-atomic + native: $(json "$S" 'sum(r["by_op"]["recover"].get("bad_marshal", 0) + r["by_op"]["recover"].get("eof", 0) for r in j["results"] if r["strategy"] in ("py33-atomic", "native"))' 2>&1) corrupt files after 8 cuts each"
test_ok "py33-atomic and native leave corrupt caches after cuts under writeback" json_true "$S" \
	'sum(r["by_op"]["recover"].get("bad_marshal", 0) + r["by_op"]["recover"].get("eof", 0)
for r in j["results"] if r["strategy"] in ("py33-atomic", "native")) > 0'
test_ok "fsync-atomic survives every cut" result_true "$S" fsync-atomic \
	'r["by_op"]["recover"].get("bad_marshal", 0) + r["by_op"]["recover"].get("eof", 0) == 0 and
r["by_op"]["recover"].get("ok", 0) > 0'
latency_both() {
	result_true "$S" fsync-atomic 'r["write_latency_us"]["count"] > 0 and r["write_latency_us"]["p50"] > 0'
	result_true "$S" py33-atomic 'r["write_latency_us"]["count"] > 0'
}
test_ok "the same summary holds the write latency fsync costs and the one without it" latency_both
cuts_recorded() {
	local cuts
	cuts=$(grep -c '"type": "power-cut".*"model": "writeback"' "$R/events.jsonl")
	[ "$cuts" -eq 40 ]
}
test_ok "events.jsonl records each cut per strategy with what the model undid and lost" cuts_recorded
cut_evidence() {
	local n
	n=$(confirmed "$PYCSTORM_PYTHON" "$R"/evidence/*-bad_marshal-* "$R"/evidence/*-eof-*)
	diag "confirmed: $n"
	[ "$n" -gt 0 ]
}
test_ok "files left corrupt by a cut fail the same way in the real interpreter" cut_evidence

test_ok "the ext4-ordered model with 512-byte sectors runs" \
	"$PYCSTORM" run power-loss -n 3 --seed 5 -s py33-atomic,fsync-atomic -o "$SCRATCH/ord" -q \
	--fault power-cut:model=ext4-ordered,sector=512
ordered_safe() {
	grep -q '"type": "power-cut".*"model": "ext4-ordered"' "$SCRATCH/ord/events.jsonl"
	result_true "$SCRATCH/ord/summary.json" fsync-atomic 'r["corrupt"] == 0'
}
test_ok "under ext4-ordered too, fsync-atomic never corrupts" ordered_safe

# --- every crash point ------------------------------------------------------------
walk_fsync() {
	"$PYCSTORM" crashpoints fsync-atomic >"$SCRATCH/cp-fsync"
}
test_ok "crashpoints fsync-atomic exits 0: no crash state is corrupt" walk_fsync
walks_all() {
	grep -qE "^fsync-atomic under writeback: [0-9]+ operations, [0-9]+ crash states: 0 corrupt" "$SCRATCH/cp-fsync"
	grep -q "fsync directory" "$SCRATCH/cp-fsync"
	grep -q "rename .* -> " "$SCRATCH/cp-fsync"
}
test_ok "it walks every operation of the trace, fsyncs and rename included" walks_all
torn_write() {
	exits 1 "$PYCSTORM" crashpoints py33-atomic >"$SCRATCH/cp-py33"
	grep -q "torn .*bad_marshal   <- CORRUPT" "$SCRATCH/cp-py33"
}
test_ok "crashpoints py33-atomic (writeback) finds the torn write renamed into place, exit 1" torn_write
test_ok "under ext4-ordered a rename over an existing cache commits its data: no corrupt state" \
	quiet "$PYCSTORM" crashpoints py33-atomic --model ext4-ordered
test_ok "an unknown model: one line, exit 2" \
	one_line_exit 2 "crashpoints: unknown model 'zfs' \(valid: ext4-ordered, writeback\)" \
	"$PYCSTORM" crashpoints py33-atomic --model zfs

done_testing
