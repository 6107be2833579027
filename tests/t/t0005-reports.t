#!/bin/bash
# Reports people read and CI gates: every format from a run's summary.json,
# parsed by real parsers, and compare's verdicts and exit status.
. "$(dirname "$0")/lib.sh"

base_and_candidate() {
	"$PYCSTORM" run -s py33-atomic,fsync-atomic -j 2 -d 3s --seed 1 -q -o "$SCRATCH/base"
	"$PYCSTORM" run -s py33-atomic,fsync-atomic -j 2 -d 3s --seed 2 -q -o "$SCRATCH/cand" \
		--fault short-write:p=0.3
}
test_ok "a safe base run and a candidate that corrupts" base_and_candidate
for f in summary.json summary.md report.html; do
	test_ok "every run writes $f" test -s "$SCRATCH/base/$f"
done

junit_parses() {
	"$PYCSTORM" report "$SCRATCH/cand" --format junit >"$SCRATCH/junit.xml"
	xmllint --noout "$SCRATCH/junit.xml"
}
test_ok "the junit report parses with xmllint" junit_parses
junit_properties() {
	grep -q '<property name="seed" value="2"/>' "$SCRATCH/junit.xml"
	grep -q '<property name="filesystem" value="' "$SCRATCH/junit.xml"
	grep -q '<property name="python" value="3\.' "$SCRATCH/junit.xml"
}
test_ok "it carries seed, python and filesystem as properties" junit_properties
junit_cases() {
	local cases
	cases=$("$JSON_PY" -c '
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
print(sorted(c.get("name") + ":" + ("fail" if c.find("failure") is not None else "pass") for c in cases))
' "$SCRATCH/junit.xml")
	[ "$cases" = "['fsync-atomic:pass', 'py33-atomic:fail']" ]
}
test_ok "one testcase per strategy; a failure only where a strategy expected to be safe corrupted" junit_cases

tap_report() {
	local first
	"$PYCSTORM" report "$SCRATCH/cand" --format tap >"$SCRATCH/report.tap"
	first=$(head -n 1 "$SCRATCH/report.tap")
	[ "$first" = "TAP version 14" ]
	grep -q "^1\.\.2$" "$SCRATCH/report.tap"
	grep -q "^not ok .*py33-atomic" "$SCRATCH/report.tap"
	grep -q "^ok .*fsync-atomic" "$SCRATCH/report.tap"
}
test_ok "the TAP report is TAP 14, with not ok for the strategy that corrupted" tap_report

csv_report() {
	"$PYCSTORM" report "$SCRATCH/cand" --format csv >"$SCRATCH/report.csv"
	"$JSON_PY" -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["strategy"] for r in rows] == ["py33-atomic", "fsync-atomic"], rows
assert int(rows[0]["corrupt"]) > 0 and int(rows[1]["corrupt"]) == 0
' "$SCRATCH/report.csv"
}
test_ok "the csv report has a row per strategy with its counts" csv_report

html_report() {
	"$PYCSTORM" report "$SCRATCH/cand" --format html -o "$SCRATCH/r.html"
	not grep -qiE "<script|(src|href|url)[=(][\"']?https?://" "$SCRATCH/r.html"
	grep -q "<svg" "$SCRATCH/r.html"
}
test_ok "the html report is one file with inline SVG, no script and no network" html_report
svg_parses() {
	"$JSON_PY" -c '
import re, sys, xml.dom.minidom
html = open(sys.argv[1]).read()
svgs = re.findall(r"<svg.*?</svg>", html, re.S)
assert svgs
for s in svgs:
    xml.dom.minidom.parseString(s)
print(len(svgs))
' "$SCRATCH/r.html" >"$SCRATCH/nsvg"
	diag "$(cat "$SCRATCH/nsvg") SVG charts"
}
test_ok "each of its SVG charts parses as XML" svg_parses
test_ok "it shows the command that replays the run" grep -q "pycstorm run default --seed 2" "$SCRATCH/r.html"

read_back() {
	local expr='[(r["strategy"], r["cycles"], r["corrupt"], r["latency_hist_ns"]["compile"]["count"]) for r in j["results"]]'
	local again orig
	"$PYCSTORM" report "$SCRATCH/base/summary.json" --format json >"$SCRATCH/again.json"
	again=$(json "$SCRATCH/again.json" "$expr")
	orig=$(json "$SCRATCH/base/summary.json" "$expr")
	[ "$again" = "$orig" ]
}
test_ok "summary.json read back and written again keeps its counts and histograms" read_back

compare_regressed() {
	exits 1 "$PYCSTORM" compare "$SCRATCH/base" "$SCRATCH/cand" >"$SCRATCH/cmp"
	grep -q "| py33-atomic .*| corruption .*| regressed |" "$SCRATCH/cmp"
	grep -q "| fsync-atomic .*| corruption .*| no significant change |" "$SCRATCH/cmp"
}
test_ok "compare: a strategy that corrupts against a safe base regresses, exit 1" compare_regressed
test_ok "compare of a run with itself: exit 0" quiet "$PYCSTORM" compare "$SCRATCH/base" "$SCRATCH/base"
compare_improved() {
	"$PYCSTORM" compare "$SCRATCH/cand" "$SCRATCH/base" >"$SCRATCH/cmp2"
	grep -q "| py33-atomic .*| corruption .*| improved |" "$SCRATCH/cmp2"
}
test_ok "the other way round it is an improvement, exit 0" compare_improved
test_ok "a regression within --tolerance does not fail" \
	quiet "$PYCSTORM" compare "$SCRATCH/base" "$SCRATCH/cand" --tolerance 0.9

truncated_summary() {
	printf '{"schema_version": 1, "results": [' >"$SCRATCH/cut.json"
	one_line_exit 2 "cut.json: line 1 column [0-9]+: " "$PYCSTORM" compare "$SCRATCH/cut.json" "$SCRATCH/base"
}
test_ok "a truncated summary.json: one line naming where, exit 2" truncated_summary
other_schema() {
	printf '{"schema_version": 7, "results": []}' >"$SCRATCH/v7.json"
	one_line_exit 2 "schema_version" "$PYCSTORM" report "$SCRATCH/v7.json"
}
test_ok "a summary.json of another schema_version: one line, exit 2" other_schema
test_ok "an unknown format: one line naming the valid ones, exit 2" \
	one_line_exit 2 "unknown format 'pdf' \(valid: json, md, html, csv, junit, tap\)" \
	"$PYCSTORM" report "$SCRATCH/base" --format pdf
test_ok "compare with one run: exit 2" \
	one_line_exit 2 "compare: give two runs" "$PYCSTORM" compare "$SCRATCH/base"

# --- shards and merge -------------------------------------------------------------
# A rate that does not depend on timing: with compile workers only, a
# checked-atomic write fails exactly when a short write fires (p = 0.3).
printf 'name = merge-check\nmodules = small, medium\ncompile-share = 1\njobs = 2\nstrategies = checked-atomic\n' \
	>"$SCRATCH/mc.scn"
shards() {
	local i
	for i in 1 2 3 4; do
		"$PYCSTORM" run "$SCRATCH/mc.scn" -n 300 --shard $i/4 --seed 9 -q -o "$SCRATCH/shard$i" \
			--fault short-write:p=0.3
	done
	json_true "$SCRATCH/shard3/summary.json" 'j["shard"] == "3/4"'
	grep -q '"worker": 5,' "$SCRATCH/shard3/events.jsonl"
	not grep -q '"worker": 1,' "$SCRATCH/shard3/events.jsonl"
}
test_ok "--shard 3/4 runs its own slice of the worker space (workers 4 and 5 of 8)" shards
test_ok "merge of four shards exits 0" \
	quiet "$PYCSTORM" merge "$SCRATCH"/shard{1,2,3,4} -o "$SCRATCH/merged"
merged_sums() {
	local i total=0 cycles
	for i in 1 2 3 4; do
		cycles=$(result "$SCRATCH/shard$i/summary.json" checked-atomic 'r["cycles"]')
		total=$((total + cycles))
	done
	[ "$total" -eq 2400 ]
	result_true "$SCRATCH/merged/summary.json" checked-atomic "r[\"cycles\"] == $total"
	json_true "$SCRATCH/merged/summary.json" 'len(j["merged"]) == 4'
}
test_ok "the merge's cycles are the sum of the shards' (2400), and it lists its four parts" merged_sums
test_ok "the latency histograms add up too" \
	result_true "$SCRATCH/merged/summary.json" checked-atomic 'r["latency_hist_ns"]["compile"]["count"] == 2400'
single_agrees() {
	"$PYCSTORM" run "$SCRATCH/mc.scn" -n 1200 --seed 9 -q -o "$SCRATCH/single" --fault short-write:p=0.3
	"$PYCSTORM" compare "$SCRATCH/single" "$SCRATCH/merged" >"$SCRATCH/agree"
}
test_ok "four merged shards agree with one run of the same total within the intervals (compare exits 0)" single_agrees
test_ok "the timing-independent failure rate shows no significant change" \
	grep -q "| checked-atomic .*| other_error .*| no significant change |" "$SCRATCH/agree"
merge_other_scenario() {
	printf 'name = other\nmodules = small\n' >"$SCRATCH/other.scn"
	"$PYCSTORM" run "$SCRATCH/other.scn" -s py33-atomic -n 5 -q -o "$SCRATCH/otherrun"
	one_line_exit 2 "ran scenario 'other', not 'merge-check'" \
		"$PYCSTORM" merge "$SCRATCH/shard1" "$SCRATCH/otherrun" -o "$SCRATCH/bad-merge"
}
test_ok "merging runs of different scenarios: one line, exit 2" merge_other_scenario

# --- gate --------------------------------------------------------------------------
test_ok "gate against a safe baseline with nothing worse: exit 0" \
	quiet "$PYCSTORM" gate --baseline "$SCRATCH/base" -s py33-atomic,fsync-atomic -j 2 -d 2s --seed 4 \
	-o "$SCRATCH/gate-ok"
gate_files() {
	xmllint --noout "$SCRATCH/gate-ok/gate.xml"
	grep -q "no significant change" "$SCRATCH/gate-ok/gate.md"
}
test_ok "gate writes gate.xml (parses) and gate.md" gate_files
gate_regressed() {
	exits 1 "$PYCSTORM" gate --baseline "$SCRATCH/base" -s py33-atomic,fsync-atomic -j 2 -d 2s --seed 4 \
		-o "$SCRATCH/gate-bad" --fault short-write:p=0.3 >/dev/null
	grep -q 'name="py33-atomic"><failure' "$SCRATCH/gate-bad/gate.xml"
	grep -q 'name="fsync-atomic"/>' "$SCRATCH/gate-bad/gate.xml"
}
test_ok "gate with a candidate that corrupts: exit 1, and the JUnit names the strategy that regressed" gate_regressed
test_ok "a broken baseline: one line, exit 2, before anything runs" \
	one_line_exit 2 "gate: baseline: .*cut.json: line 1" "$PYCSTORM" gate --baseline "$SCRATCH/cut.json" -n 5
test_ok "bad run options: the run's own line, exit 2" \
	one_line_exit 2 "unknown strategy 'nope'" "$PYCSTORM" gate --baseline "$SCRATCH/base" -s nope -n 5 -o "$SCRATCH/g3"
ci_gate() {
	NEW=/usr/bin/python3 "$REPO/ci/gate.sh" --race-duration 3s -o "$SCRATCH/gate-ci" >/dev/null
	json_true "$SCRATCH/gate-ci/gate.json" 'j["cells_compared"] > 0 and j["race_checks"] == 3'
}
if asan_preload; then
	skip "ci/gate.sh against the stored baseline" "the inject library built with AddressSanitizer cannot be preloaded into /usr/bin/python3"
else
	test_ok "ci/gate.sh passes against the stored baseline (matrix and races) with /usr/bin/python3" ci_gate
fi

done_testing
