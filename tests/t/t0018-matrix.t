#!/bin/bash
# The fault matrix: one recorded cache write replayed once per (call,
# fault); byte-identical between runs; the gh-126606 cell corrupt for the
# unchecked writers and clean for the checked ones.
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

test_ok "matrix native under $PY runs" quiet "$PYCSTORM" matrix native --python "$PY" -o "$SCRATCH/a"
test_ok "a second run" quiet "$PYCSTORM" matrix native --python "$PY" -o "$SCRATCH/b"
test_ok "the two matrix.json are byte-identical" cmp "$SCRATCH/a/matrix.json" "$SCRATCH/b/matrix.json"
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
test_ok "with no fault the write gives an importable cache" json_true "$SCRATCH/a/matrix.json" \
	'j["matrices"][0]["no_fault"] == "ok"'
test_ok "matrix.md and the matrix.html heat map are written" \
	grep -q "short write keep=half" "$SCRATCH/a/matrix.md" "$SCRATCH/a/matrix.html"

test_ok "py33-atomic, checked-atomic, loop-atomic, fsync-atomic under $PY" quiet \
	"$PYCSTORM" matrix --python "$PY" -o "$SCRATCH/c" py33-atomic checked-atomic loop-atomic fsync-atomic
test_ok "py33-atomic shows the gh-126606 cell corrupt" json_true "$SCRATCH/c/matrix.json" \
	'[c["verdict"] for m in j["matrices"] if m["strategy"] == "py33-atomic" for c in '"$CELL"'] == ["corrupt"]'
test_ok "checked-atomic, loop-atomic and fsync-atomic have no corrupt cell at all" \
	json_true "$SCRATCH/c/matrix.json" \
	'sorted((m["strategy"], m["corrupt"], len('"$CELL"')) for m in j["matrices"] if m["strategy"] != "py33-atomic")
	 == [("checked-atomic", 0, 1), ("fsync-atomic", 0, 1), ("loop-atomic", 0, 1)]'
summary_lines() {
	"$PYCSTORM" matrix native --python "$PY" -o "$SCRATCH/d" >"$SCRATCH/out"
	grep -Eq '^native under /usr/bin/python3 3\.[0-9]+\.[0-9]+: [0-9]+ cells, [1-9][0-9]* corrupt, [0-9]+ leftover-temp$' "$SCRATCH/out"
}
test_ok "the summary line names cells, corrupt cells and leftover-temp cells" summary_lines
test_ok "an unknown strategy is bad usage" one_line_exit 2 "unknown strategy 'nope'" \
	"$PYCSTORM" matrix nope --python "$PY" -o "$SCRATCH/e"
test_ok "a --python that is not there cannot run" one_line_exit 77 "--python '/nonexistent/python'" \
	"$PYCSTORM" matrix --python /nonexistent/python -o "$SCRATCH/f"
done_testing
