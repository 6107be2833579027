#!/bin/bash
# The fault matrix: one recorded cache write replayed once per (call,
# fault); every power-cut state crashpoints enumerates a cell too;
# byte-identical between runs; the gh-126606 cell corrupt for the
# unchecked writers and clean for the checked ones; the torn power cut
# corrupt without fsync and clean with it.
. "$(dirname "$0")/lib.sh"
skip_if_asan_preload "matrix"

PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
	skip "matrix" "no $PY"
	done_testing
	exit
fi

# The gh-126606 cell: a short write to the temporary file (half kept).
CELL='[c for c in m["cells"] if c["op"] == "write temp" and c["fault"] == "short write keep=half"]'

matrix_a() { "$PYCSTORM" matrix native --python "$PY" -o "$SCRATCH/a" >"$SCRATCH/a.out"; }
test_ok "matrix native under $PY runs" matrix_a
test_ok "a second run" quiet "$PYCSTORM" matrix native --python "$PY" -o "$SCRATCH/b"
test_ok "the two matrix.json are byte-identical, power-cut cells and all" \
	cmp "$SCRATCH/a/matrix.json" "$SCRATCH/b/matrix.json"
test_ok "native under Debian's 3.11: the gh-126606 cell is corrupt (eof), the write reported success" \
	json_true "$SCRATCH/a/matrix.json" \
	'[(c["verdict"], c["import"], c["writer"], c["cache"].startswith("truncated"))
	  for m in j["matrices"] for c in '"$CELL"'] == [("corrupt", "eof", "success", True)]'
test_ok "every call has a crash before and after it; the write has 3 disk errors" \
	json_true "$SCRATCH/a/matrix.json" \
	'all(sum(1 for c in m["cells"] if c["call"] == n and c["fault"].startswith("crash")) == 2
	     for m in j["matrices"] for n in set(c["call"] for c in m["cells"])) and
	 sorted(c["fault"] for m in j["matrices"] for c in m["cells"]
	        if c["op"] == "write temp" and c["fault"].startswith("E")) == ["EDQUOT", "EIO", "ENOSPC"]'
# The power-cut cells: one per state crashpoints walks, at the call the cut follows.
crashpoint_states() {
	"$PYCSTORM" crashpoints native >"$SCRATCH/cp.out" || test $? = 1
	grep -Eo '[0-9]+ crash states' "$SCRATCH/cp.out" | grep -Eo '^[0-9]+'
}
cut_cells_as_crashpoints() {
	local states
	states=$(crashpoint_states) && test -n "$states" &&
	json_true "$SCRATCH/a/matrix.json" '[(m["power_cut"]["cells"], len([c for c in m["cells"]
	     if c["fault"].startswith("power cut") and c["writer"] == "power cut"])) for m in j["matrices"]]
	     == [('"$states"', '"$states"')]'
}
test_ok "native: as many power-cut cells as crashpoints has crash states" cut_cells_as_crashpoints
test_ok "native under Debian's 3.11: the torn cut after the rename is corrupt; nothing synced" \
	json_true "$SCRATCH/a/matrix.json" \
	'[(c["op"], c["import"]) for m in j["matrices"] for c in m["cells"]
	  if c["fault"] == "power cut after, metadata 2/2 kept, torn"] == [("rename temp -> cache", "bad_marshal")]
	 and j["matrices"][0]["power_cut"]["corrupt"] >= 1'
test_ok "with no fault the write gives an importable cache" json_true "$SCRATCH/a/matrix.json" \
	'j["matrices"][0]["no_fault"] == "ok"'
test_ok "matrix.md and the matrix.html heat map are written" \
	grep -q "short write keep=half" "$SCRATCH/a/matrix.md" "$SCRATCH/a/matrix.html"

test_ok "py33-atomic, checked-atomic, loop-atomic, fsync-atomic under $PY" quiet \
	"$PYCSTORM" matrix --python "$PY" -o "$SCRATCH/c" py33-atomic checked-atomic loop-atomic fsync-atomic
test_ok "py33-atomic shows the gh-126606 cell corrupt" json_true "$SCRATCH/c/matrix.json" \
	'[c["verdict"] for m in j["matrices"] if m["strategy"] == "py33-atomic" for c in '"$CELL"'] == ["corrupt"]'
test_ok "checked-atomic, loop-atomic and fsync-atomic have no corrupt cell but power cuts" \
	json_true "$SCRATCH/c/matrix.json" \
	'sorted((m["strategy"], m["corrupt"] - m["power_cut"]["corrupt"], len('"$CELL"'))
	        for m in j["matrices"] if m["strategy"] != "py33-atomic")
	 == [("checked-atomic", 0, 1), ("fsync-atomic", 0, 1), ("loop-atomic", 0, 1)]'
test_ok "power cuts corrupt checked-atomic (no fsync), and no state of fsync-atomic is corrupt or missing" \
	json_true "$SCRATCH/c/matrix.json" \
	'sorted((m["strategy"], m["power_cut"]["cells"] > 0, m["power_cut"]["corrupt"] > 0,
	         m["power_cut"]["missing"]) for m in j["matrices"]
	        if m["strategy"] in ("checked-atomic", "fsync-atomic"))
	 == [("checked-atomic", True, True, 0), ("fsync-atomic", True, False, 0)]'
summary_lines() {
	grep -Eq '^native under /usr/bin/python3 3\.[0-9]+\.[0-9]+: [0-9]+ cells, [1-9][0-9]* corrupt, [0-9]+ leftover-temp; power cut: [1-9][0-9]* cells, [1-9][0-9]* corrupt, [0-9]+ missing, [0-9]+ leftover-temp$' "$SCRATCH/a.out"
}
test_ok "the summary line names cells, corrupt and leftover-temp cells, and those of power cuts" summary_lines
test_ok "an unknown strategy is bad usage" one_line_exit 2 "unknown strategy 'nope'" \
	"$PYCSTORM" matrix nope --python "$PY" -o "$SCRATCH/e"
test_ok "a --python that is not there cannot run" one_line_exit 77 "--python '/nonexistent/python'" \
	"$PYCSTORM" matrix --python /nonexistent/python -o "$SCRATCH/f"
done_testing
