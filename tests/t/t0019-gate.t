#!/bin/bash
# The matrix gate: a patched interpreter (a venv of Debian's python3 whose
# .pth replaces importlib's _write_atomic) gated against the stock one and
# the other way round; a dropped temp cleanup caught; a gate that compared
# nothing fails; a stored matrix from before power cuts were cells; the race
# checks alone, with their correction for bursts, still catch Debian's
# unchecked write under gh-126606's faults (against a run and against a
# stored summary).
. "$(dirname "$0")/lib.sh"
skip_if_asan_preload "gate"

PY=/usr/bin/python3
if [ ! -x "$PY" ] || ! "$PY" -c 'import venv' 2>/dev/null; then
	skip "gate" "no $PY with venv"
	done_testing
	exit
fi
MAKE_PATCHED="$REPO/tests/fixtures/make-patched-python.sh"

make_fixtures() {
	CHECKED=$("$MAKE_PATCHED" checked "$SCRATCH/checked")
	NOCLEAN=$("$MAKE_PATCHED" no-cleanup "$SCRATCH/noclean")
	test -x "$CHECKED"
	test -x "$NOCLEAN"
}
test_ok "the fixtures: venvs of $PY with a patched _write_atomic, loaded under -I" make_fixtures
CHECKED="$SCRATCH/checked/bin/python"
NOCLEAN="$SCRATCH/noclean/bin/python"

# Its time is make bench's gate_s (a median, with the load); here only said.
gate_fixed() {
	local t0 t1
	t0=$(date +%s)
	"$PYCSTORM" gate --python "$CHECKED" --against "$PY" -o "$SCRATCH/fixed" >"$SCRATCH/fixed.out" || return
	t1=$(date +%s)
	diag "default gate (matrix + 4 race scenarios, both interpreters): $((t1 - t0)) s"
}
test_ok "gate PATCHED --against $PY (matrix and races) exits 0" gate_fixed
test_ok "it reports the gh-126606 cell fixed" json_true "$SCRATCH/fixed/gate.json" \
	'j["regressions"] == 0 and j["race_regressions"] == 0 and
	 any(i["kind"] == "fix" and i["op"] == "write temp" and i["fault"] == "short write keep=half"
	     and i["was"] == "eof" for i in j["items"])'
test_ok "the races ran with their faults: gh126606, enospc, mypy3215, upgrade" json_true "$SCRATCH/fixed/gate.json" \
	'j["race_checks"] == 4 and sorted(r["scenario"] for r in j["races"]) ==
	 ["enospc", "gh126606", "mypy3215", "upgrade"]'
test_ok "each race check shows both sides' deff (>= 1, from 2+ blocks) and effective counts" \
	json_true "$SCRATCH/fixed/gate.json" \
	'all(s["deff"] >= 1 and s["blocks"] >= 2 and not s["deff_assumed"] and
	     abs(s["effective_reads"] * s["deff"] - s["reads"]) <= 1e-3 * s["reads"] + 1e-6 and
	     abs(s["effective_corrupt"] * s["deff"] - s["corrupt"]) <= 1e-3 * s["corrupt"] + 1e-6
	     for r in j["races"] for s in (r["old"], r["new"])) and j["race_alpha"] == 0.05'
test_ok "gate.md has the corrected race verdicts" grep -q "^### Race verdicts: the corrupt rate, corrected for bursts" "$SCRATCH/fixed/gate.md"
junit_ok() {
	"$JSON_PY" - "$SCRATCH/fixed/gate.xml" "$SCRATCH/fixed/matrix.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().findall(".//testcase")
cells = len(json.load(open(sys.argv[2]))["matrices"][0]["cells"])
matrix = [c for c in cases if c.get("classname").startswith("pycstorm.gate.matrix.")]
races = [c for c in cases if c.get("classname") == "pycstorm.gate.race"]
assert len(matrix) == cells and len(races) == 4, (len(matrix), cells, len(races))
assert not any(c.find("failure") is not None for c in cases)
PY
}
test_ok "gate.xml: one testcase per cell and per race check, none failing" junit_ok
test_ok "gate.md is written" grep -q "fix: corrupt -> stale" "$SCRATCH/fixed/gate.md"

reversed() {
	exits 1 "$PYCSTORM" gate --python "$PY" --against "$CHECKED" --no-races -o "$SCRATCH/rev" >"$SCRATCH/rev.out"
	grep -q "regression in native: call 2 (write temp), fault short write keep=half: regression: stale -> corrupt" "$SCRATCH/rev.out"
	grep -q '<failure' "$SCRATCH/rev/gate.xml"
}
test_ok "gate $PY --against PATCHED exits 1 naming the cell" reversed

noclean() {
	exits 1 "$PYCSTORM" gate --python "$NOCLEAN" --against "$PY" --no-races -o "$SCRATCH/nc" >"$SCRATCH/nc.out"
	grep -q "fault ENOSPC: regression: leftover temporary file" "$SCRATCH/nc.out"
}
test_ok "a writer that drops its temp cleanup is a leftover-temp regression" noclean

# Debian's importlib renames a short write into place (gh-126606); the
# checked fixture does not. The races alone must see it through the bursts.
race_regression() {
	exits 1 "$PYCSTORM" gate --python "$PY" --against "$CHECKED" --no-matrix --races gh126606 \
		--race-duration 8s -o "$SCRATCH/race" >"$SCRATCH/race.out"
	grep -q "^gate: race regression: gh126606 / native: corrupt 0/[0-9]* -> [1-9][0-9]*/" "$SCRATCH/race.out"
	grep -q '<failure' "$SCRATCH/race/gate.xml"
}
test_ok "gate $PY --against PATCHED --no-matrix --races gh126606: the race check alone exits 1" race_regression
test_ok "gate.json: no cell, one race check, regressed beyond bursts (deff from its blocks)" \
	json_true "$SCRATCH/race/gate.json" \
	'j["cells_compared"] == 0 and j["race_checks"] == 1 and j["race_regressions"] == 1 and
	 j["races"][0]["old"]["corrupt"] == 0 and j["races"][0]["new"]["blocks"] >= 4 and
	 j["races"][0]["new"]["deff"] >= 1 and j["races"][0]["new"]["deff_df"] >= 3 and
	 j["races"][0]["lo"] > 0 and j["races"][0]["regressed"]'

stored_race_baseline() {
	mkdir -p "$SCRATCH/rbase"
	cp "$SCRATCH/race/race-gh126606-old/summary.json" "$SCRATCH/rbase/race-gh126606.json"
	"$PYCSTORM" matrix native --python "$CHECKED" -o "$SCRATCH/rbase-m" >/dev/null
	cp "$SCRATCH/rbase-m/matrix.json" "$SCRATCH/rbase/matrix.json"
	exits 1 "$PYCSTORM" gate --python "$PY" --baseline "$SCRATCH/rbase" --no-matrix --races gh126606 \
		--race-duration 8s -o "$SCRATCH/race2" >"$SCRATCH/race2.out"
	grep -q "^gate: race regression: gh126606 / native" "$SCRATCH/race2.out"
}
test_ok "against a stored race summary (no blocks: the new run's deff) the same regression exits 1" \
	stored_race_baseline
test_ok "gate.json says the stored side's deff is assumed" json_true "$SCRATCH/race2/gate.json" \
	'j["races"][0]["old"]["deff_assumed"] and j["races"][0]["old"]["deff"] == j["races"][0]["new"]["deff"]'

test_ok "a stored matrix of py33-atomic" quiet "$PYCSTORM" matrix py33-atomic --python "$PY" -o "$SCRATCH/base"
test_ok "gate against the stored matrix compares it exactly (exit 0)" quiet \
	"$PYCSTORM" gate --python "$PY" --baseline "$SCRATCH/base" --no-races py33-atomic -o "$SCRATCH/g1"
every_cell_compared() {
	"$JSON_PY" - "$SCRATCH/base/matrix.json" "$SCRATCH/g1/gate.json" <<'PY'
import json, sys
cells = json.load(open(sys.argv[1]))["matrices"][0]["cells"]
gate = json.load(open(sys.argv[2]))
assert any(c["fault"].startswith("power cut") for c in cells)
assert (gate["cells_compared"], gate["cells_not_compared"]) == (len(cells), 0), gate
PY
}
test_ok "every cell of it compared, power-cut cells too" every_cell_compared
# A stored matrix from before power cuts were cells: the same without them.
old_baseline() {
	mkdir -p "$SCRATCH/old" &&
	"$JSON_PY" - "$SCRATCH/base/matrix.json" "$SCRATCH/old/matrix.json" <<'PY' &&
import json, sys
j = json.load(open(sys.argv[1]))
for m in j["matrices"]:
    m["cells"] = [c for c in m["cells"] if not c["fault"].startswith("power cut")]
    del m["power_cut"]
json.dump(j, open(sys.argv[2], "w"))
PY
	"$PYCSTORM" gate --python "$PY" --baseline "$SCRATCH/old" --no-races py33-atomic -o "$SCRATCH/g4" >"$SCRATCH/g4.out" &&
	grep -Eq "^gate: note: py33-atomic: [1-9][0-9]* power-cut cells not compared \(the baseline has none\)$" "$SCRATCH/g4.out" &&
	json_true "$SCRATCH/g4/gate.json" 'j["regressions"] == 0 and j["cells_not_compared"] > 0 and j["cells_compared"] > 0'
}
test_ok "against a matrix without power-cut cells: they are a note, not compared, not a failure" old_baseline
test_ok "a gate that compared nothing fails with one line" one_line_exit 2 "nothing compared" \
	"$PYCSTORM" gate --python "$PY" --baseline "$SCRATCH/base/matrix.json" --no-races native -o "$SCRATCH/g2"
test_ok "--against and --baseline together are bad usage" one_line_exit 2 "one of --against" \
	"$PYCSTORM" gate --python "$PY" --against "$PY" --baseline "$SCRATCH/base" -o "$SCRATCH/g3"
done_testing
