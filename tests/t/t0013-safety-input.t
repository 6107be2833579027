#!/bin/bash
# Bounded input: every reader of outside files refuses what is not a
# regular file, or is over 64 MiB, with exit 2 and one line, before it
# reads (a FIFO must not hang it, a device or a sparse file must not fill
# memory). Lists given on the command line and in scenarios name each item
# once; scenario problems name their line; merge refuses counts that would
# wrap; Markdown escapes names; a gate or compare of nothing fails.
#
# Every command runs in its own session under `timeout -s KILL`, so a hang
# fails its check instead of blocking the runner.
. "$(dirname "$0")/lib.sh"

# refused PATTERN CMD...: CMD exits 2 within 10 s with exactly one line on
# stderr, matching PATTERN (an extended regex).
refused() {
	local pattern=$1 rc=0
	shift
	setsid -w timeout -s KILL 10 "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$SCRATCH/err")" -ne 1 ] ||
		! grep -qE -- "$pattern" "$SCRATCH/err"; then
		diag "exit $rc, wanted 2 and one line matching: $pattern" "from: $*"
		sed 's/^/#   /' "$SCRATCH/err"
		return 1
	fi
}

# bounded CMD...: CMD in its own session, killed after 30 s.
bounded() {
	setsid -w timeout -s KILL 30 "$@"
}

# A small run to read back, and one that shares no strategy with it.
BASE=$SCRATCH/base
OTHER=$SCRATCH/other
two_runs() {
	bounded "$PYCSTORM" run -q -s py33-atomic -j 1 -n 20 --seed 7 -o "$BASE"
	bounded "$PYCSTORM" run -q -s loop-atomic -j 1 -n 20 --seed 7 -o "$OTHER"
}
test_ok "two small runs to read back, with no strategy in common" two_runs

# every_reader_refuses PATH SUMMARY_ARG ALIAS WHY: classify, classify
# --source, report, compare (either side), merge, a scenario and a
# --strategy-file all refuse PATH with one line naming it and WHY. report,
# compare and merge are given SUMMARY_ARG (PATH, or the run folder holding
# it); run is given ALIAS, a name for PATH ending in .py.
every_reader_refuses() {
	local path=$1 arg=$2 alias=$3 why=$4
	refused "^pycstorm: classify: '$path': $why$" "$PYCSTORM" classify "$path"
	refused "^pycstorm: classify: --source '$path': $why$" \
		"$PYCSTORM" classify --source "$path" "$SCRATCH/x.pyc"
	[ ! -s "$SCRATCH/out" ]
	refused "^pycstorm: report: '$path': $why$" "$PYCSTORM" report "$arg"
	refused "^pycstorm: compare: '$path': $why$" "$PYCSTORM" compare "$arg" "$BASE"
	refused "^pycstorm: compare: '$path': $why$" "$PYCSTORM" compare "$BASE" "$arg"
	refused "^pycstorm: merge: '$path': $why$" "$PYCSTORM" merge "$BASE" "$arg" -o "$SCRATCH/merged"
	refused "^pycstorm: cannot read scenario '$alias': $why$" \
		"$PYCSTORM" run "$alias" -j 1 -n 1 -o "$SCRATCH/run"
	refused "^pycstorm: run: --strategy-file '$alias': $why$" \
		"$PYCSTORM" run -s py33-atomic --strategy-file "$alias" -j 1 -n 1 -o "$SCRATCH/run"
	[ ! -e "$SCRATCH/merged" ] && [ ! -e "$SCRATCH/run" ]
}

dev_zero() {
	ln -sf /dev/zero "$SCRATCH/zero.py"
	every_reader_refuses /dev/zero /dev/zero "$SCRATCH/zero.py" "not a regular file"
}
test_ok "/dev/zero: every reader refuses it at once, exit 2, one line" dev_zero

dev_urandom() {
	ln -sf /dev/urandom "$SCRATCH/urandom.py"
	every_reader_refuses /dev/urandom /dev/urandom "$SCRATCH/urandom.py" "not a regular file"
}
test_ok "/dev/urandom: every reader refuses it at once, exit 2, one line" dev_urandom

fifo() {
	mkfifo "$SCRATCH/fifo.py"
	every_reader_refuses "$SCRATCH/fifo.py" "$SCRATCH/fifo.py" "$SCRATCH/fifo.py" \
		"not a regular file"
}
test_ok "a FIFO: every reader refuses it without waiting for a writer, exit 2, one line" fifo

folder() {
	# A run folder whose summary.json is a folder, and that folder itself.
	mkdir -p "$SCRATCH/run1/summary.json"
	ln -sf "$SCRATCH/run1/summary.json" "$SCRATCH/folder.py"
	every_reader_refuses "$SCRATCH/run1/summary.json" "$SCRATCH/run1" "$SCRATCH/folder.py" \
		"not a regular file"
}
test_ok "a folder: every reader refuses it, exit 2, one line" folder

sparse() {
	truncate -s 1G "$SCRATCH/big.py"
	every_reader_refuses "$SCRATCH/big.py" "$SCRATCH/big.py" "$SCRATCH/big.py" \
		"larger than the 64 MiB limit"
}
test_ok "a 1 GB sparse file: every reader refuses it unread, naming the 64 MiB limit" sparse

# --- lists on the command line --------------------------------------------------------

empty_strategy_list() {
	refused "run: -s/--strategy is empty" "$PYCSTORM" run -s '' -j 1 -n 1 -o "$SCRATCH/s"
	refused "run: -s/--strategy ',,,' has an empty name" \
		"$PYCSTORM" run -s ',,,' -j 1 -n 1 -o "$SCRATCH/s"
	[ ! -e "$SCRATCH/s" ]
}
test_ok "-s '' and -s ',,,' run nothing: exit 2, one line" empty_strategy_list

empty_strategy_item() {
	refused "run: -s/--strategy 'py33-atomic,,native' has an empty name" \
		"$PYCSTORM" run -s py33-atomic,,native -j 1 -n 1 -o "$SCRATCH/s"
	refused "run: -s/--strategy 'py33-atomic,' has an empty name" \
		"$PYCSTORM" run -s py33-atomic, -j 1 -n 1 -o "$SCRATCH/s"
	[ ! -e "$SCRATCH/s" ]
}
test_ok "-s with an empty item: exit 2, one line" empty_strategy_item

repeated_strategy() {
	refused "run: -s/--strategy 'py33-atomic,native,py33-atomic' names 'py33-atomic' twice" \
		"$PYCSTORM" run -s py33-atomic,native,py33-atomic -j 1 -n 1 -o "$SCRATCH/s"
	[ ! -e "$SCRATCH/s" ]
}
test_ok "-s naming a strategy twice: exit 2, one line" repeated_strategy

repeated_fault() {
	refused "run: fault 'short-write' is given twice \(--fault 'short-write:p=0.1' and --fault 'short-write:p=0.2'\)" \
		"$PYCSTORM" run -s py33-atomic -f short-write:p=0.1 -f short-write:p=0.2 -j 1 -n 1 \
		-o "$SCRATCH/s"
	[ ! -e "$SCRATCH/s" ]
}
test_ok "run --fault naming a fault twice: exit 2, one line" repeated_fault

fault_parameters() {
	refused "exec: fault 'short-write:p=0.1,,fraction=random': an empty parameter" \
		"$PYCSTORM" exec -q -o "$SCRATCH/e" -f 'short-write:p=0.1,,fraction=random' -- true
	refused "exec: fault 'short-write:p=0.1,p=0.9': 'p' is given twice" \
		"$PYCSTORM" exec -q -o "$SCRATCH/e" -f 'short-write:p=0.1,p=0.9' -- true
	refused "run: fault 'short-write:': an empty parameter" \
		"$PYCSTORM" run -s py33-atomic -f short-write: -j 1 -n 1 -o "$SCRATCH/s"
	[ ! -e "$SCRATCH/e" ] && [ ! -e "$SCRATCH/s" ]
}
test_ok "a fault spec with an empty or repeated parameter: exit 2, one line" fault_parameters

repeated_cache_dir() {
	refused "exec: --cache-dir 'c' is given twice" \
		"$PYCSTORM" exec -q -o "$SCRATCH/e" --cache-dir c --cache-dir c -- true
	[ ! -e "$SCRATCH/e" ]
}
test_ok "exec --cache-dir given twice: exit 2, one line" repeated_cache_dir

# --- scenario files --------------------------------------------------------------------

# scenario_refused NAME TEXT PATTERN [RUN OPTIONS...]: running the scenario
# TEXT (a printf format) is refused with one line "NAME.scn:PATTERN", and
# nothing runs.
scenario_refused() {
	local name=$1 text=$2 pattern=$3
	shift 3
	printf "$text" >"$SCRATCH/$name.scn"
	refused "$name.scn:$pattern" "$PYCSTORM" run "$SCRATCH/$name.scn" -j 1 -n 1 \
		-o "$SCRATCH/s" "$@"
	[ ! -e "$SCRATCH/s" ]
}

duplicate_key() {
	scenario_refused dup 'name = d\nmodules = small\nstrategies = py33-atomic\n# c\nstrategies = native\n' \
		"5: 'strategies' is given twice, on lines 3 and 5$"
	scenario_refused dupf 'name = d\nmodules = small\nfault = short-write:p=0.1\nfault = crash\nfault = short-write\n' \
		"5: fault 'short-write' is given twice, on lines 3 and 5$" -s py33-atomic
}
test_ok "a scenario key given twice: exit 2 naming the key and both lines" duplicate_key

crlf() {
	scenario_refused crlf 'name = c\nmodules = small\r\nstrategies = py33-atomic\r\n' \
		"2: a carriage return \\(CRLF line ends\\)"
}
test_ok "a scenario with CRLF line ends: exit 2 naming the first such line" crlf

scenario_lists() {
	scenario_refused l1 'name = l\nmodules = small,,medium\n' \
		"2: 'small,,medium' has an empty item$" -s py33-atomic
	scenario_refused l2 'name = l\nmodules = small\nstrategies = py33-atomic, py33-atomic\n' \
		"3: 'py33-atomic' is listed twice$"
}
test_ok "a scenario list with an empty or repeated item: exit 2 naming the line" scenario_lists

fault_lines() {
	scenario_refused f1 'name = f\nmodules = small\n# c\nfault = short-write:q=1\n' \
		"4: fault 'short-write:q=1': unknown parameter 'q=1'" -s py33-atomic
	scenario_refused f2 'name = f\nmodules = small\nfault = short-write\nfault = gremlins\n' \
		"4: fault 'gremlins': unknown fault 'gremlins'" -s py33-atomic
}
test_ok "a scenario's fault problem names its line" fault_lines

module_lines() {
	scenario_refused m1 'name = m\n\nmodules = small, nosuch\n' \
		"3: module 'nosuch' has no version 1 " -s py33-atomic
	scenario_refused m2 'name = m\nmodules = small, ../modules/small\n' \
		"2: module '../modules/small' is not a Python identifier$" -s py33-atomic
}
test_ok "a scenario's module problem names its line; a module is never a path" module_lines

strategy_lines() {
	scenario_refused s1 'name = s\nmodules = small\nstrategies = py33-atomic, nope\n' \
		"3: unknown strategy 'nope' \\(valid: " -s py33-atomic
	scenario_refused s2 'name = s\nmodules = small\nexpect-safe = py33-atomc\n' \
		"3: expect-safe names unknown strategy 'py33-atomc'" -s py33-atomic
}
test_ok "a scenario's strategy problem names its line" strategy_lines

# --- merge arithmetic ------------------------------------------------------------------

# edit SRC DEST EXPR: DEST is SRC's summary.json with EXPR (Python, over j) applied.
edit() {
	"$JSON_PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(j, open(sys.argv[2], "w"))' \
		"$1/summary.json" "$2" "$3"
}

merge_overflow() {
	edit "$BASE" "$SCRATCH/huge.json" 'j["results"][0]["by_op"]["compile"]["ok"] = 2**64 - 5'
	refused "^pycstorm: merge: '$SCRATCH/huge.json': strategy 'py33-atomic': by_op.compile.ok: the sum with the runs before it passes 2\^64-1$" \
		"$PYCSTORM" merge "$BASE" "$SCRATCH/huge.json" -o "$SCRATCH/m"
	edit "$BASE" "$SCRATCH/hsum.json" 'j["results"][0]["latency_hist_ns"]["compile"]["sum"] = 2**64 - 5'
	refused "merge: '$SCRATCH/hsum.json': strategy 'py33-atomic': latency_hist_ns.compile.sum: " \
		"$PYCSTORM" merge "$BASE" "$SCRATCH/hsum.json" -o "$SCRATCH/m"
	edit "$BASE" "$SCRATCH/fast.json" 'j["elapsed_s"] = 1e-308'
	refused "merge: '$SCRATCH/fast.json': strategy 'py33-atomic': cycles_per_s: .* not a finite number" \
		"$PYCSTORM" merge "$BASE" "$SCRATCH/fast.json" -o "$SCRATCH/m"
	[ ! -e "$SCRATCH/m" ]
}
test_ok "merge: a sum past 2^64-1 (or not finite) is exit 2 naming the file and field" merge_overflow

summary_counts() {
	# Within one summary too: its figures add the counts of every op.
	edit "$BASE" "$SCRATCH/sum.json" \
		'r = j["results"][0]["by_op"]; r["compile"]["ok"] = 2**64 - 5; r["import"]["eof"] = 9'
	refused "report: .*sum.json: line 1 column [0-9]+: results\[0\]: the by_op counts add up past 2\^64-1" \
		"$PYCSTORM" report "$SCRATCH/sum.json"
	edit "$BASE" "$SCRATCH/neg.json" 'j["elapsed_s"] = -3.5'
	refused "report: .*neg.json: line 1 column [0-9]+: 'elapsed_s' is not a finite number from 0" \
		"$PYCSTORM" report "$SCRATCH/neg.json"
	for bad in -1 1.5 18446744073709551616 1e3; do
		edit "$BASE" "$SCRATCH/bad.json" "j['results'][0]['by_op']['compile']['ok'] = 0"
		sed -i "s/\"ok\": 0/\"ok\": $bad/" "$SCRATCH/bad.json"
		refused "results\[0\].by_op.compile: 'ok' is not a whole number" \
			"$PYCSTORM" report "$SCRATCH/bad.json"
	done
}
test_ok "summary_load refuses counts that add past 2^64-1, negative times, and counts that are not whole" \
	summary_counts

merge_twice() {
	refused "^pycstorm: merge: '$BASE/summary.json' is given twice \\(as '$BASE/summary.json' too\\)" \
		"$PYCSTORM" merge "$BASE" "$OTHER" "$BASE/summary.json" -o "$SCRATCH/m"
	[ ! -e "$SCRATCH/m" ]
}
test_ok "merge: one run given twice is exit 2 (it would count twice)" merge_twice

# --- Markdown --------------------------------------------------------------------------

# pipes LINE: the '|' in LINE that are not escaped by a backslash.
unescaped_pipes() {
	"$JSON_PY" -c 'import re,sys; print(len(re.findall(r"(?<!\\)\|", sys.argv[1])))' "$1"
}

markdown_names() {
	local f row line want got
	printf 'import os\ndef write(path, data):\n    with open(path + ".t", "wb") as f:\n        f.write(data)\n    os.replace(path + ".t", path)\n' \
		>"$SCRATCH/a|b.py"
	bounded "$PYCSTORM" run -q -s py33-atomic --strategy-file "$SCRATCH/a|b.py" -j 1 -n 5 \
		--seed 3 -o "$SCRATCH/md"
	"$PYCSTORM" report "$SCRATCH/md" --format md >"$SCRATCH/report.md"
	"$PYCSTORM" compare "$SCRATCH/md" "$SCRATCH/md" >"$SCRATCH/compare.md"
	for f in "$SCRATCH/md/summary.md" "$SCRATCH/report.md" "$SCRATCH/compare.md"; do
		row=$(grep -m 1 '^| py33-atomic ' "$f")
		want=$(unescaped_pipes "$row")
		line=$(grep -m 1 -F '| a\|b.py ' "$f")
		got=$(unescaped_pipes "$line")
		[ "$got" = "$want" ]
	done
}
test_ok "Markdown: a strategy file named 'a|b.py' keeps its row's columns (summary.md, report, compare)" \
	markdown_names

# --- comparing nothing -----------------------------------------------------------------

compare_nothing() {
	refused "^pycstorm: compare: nothing to compare: no strategy has cycles in both \(base: py33-atomic; candidate: loop-atomic\)$" \
		"$PYCSTORM" compare "$BASE" "$OTHER"
	[ ! -s "$SCRATCH/out" ]
}
test_ok "compare of runs sharing no strategy: exit 2 naming the strategies on each side" compare_nothing

gate_nothing() {
	refused "^pycstorm: gate: nothing to compare: no strategy has cycles in both \(baseline: py33-atomic; run: loop-atomic\)$" \
		"$PYCSTORM" gate --baseline "$BASE" -s loop-atomic -j 1 -n 5 --seed 2 -o "$SCRATCH/g"
	[ ! -e "$SCRATCH/g/gate.md" ] && [ ! -e "$SCRATCH/g/gate.xml" ]
}
test_ok "gate against a baseline sharing no strategy: exit 2, no gate.md or gate.xml" gate_nothing

done_testing
