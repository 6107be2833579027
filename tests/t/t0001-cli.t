#!/bin/bash
# The command line: help, version, lists, and one clear line with exit 2
# for every kind of bad input.
. "$(dirname "$0")/lib.sh"

version_runs() {
	"$PYCSTORM" --version >"$SCRATCH/v"
	test -s "$SCRATCH/v"
}
test_ok "--version runs" version_runs
test_ok "--version names pycstorm's and the embedded Python's versions" \
	grep -qE '^pycstorm [0-9]+\.[0-9]+\.[0-9]+ .*Python 3\.' "$SCRATCH/v"

help_usage() { # help_usage CMD
	"$PYCSTORM" "$1" --help >"$SCRATCH/h"
	grep -q "usage: pycstorm $1" "$SCRATCH/h"
}
for cmd in run list classify; do
	test_ok "$cmd --help prints its usage" help_usage $cmd
done

list_strategies() {
	"$PYCSTORM" list strategies >"$SCRATCH/ls"
	test -s "$SCRATCH/ls"
}
test_ok "list strategies" list_strategies
listed_strategy() { # listed_strategy NAME
	grep -qE "^$1 +[a-z]" "$SCRATCH/ls"
	grep -A1 -E "^$1 " "$SCRATCH/ls" >"$SCRATCH/ls-$1"
	grep -q 'mirrors: .' "$SCRATCH/ls-$1"
}
for s in py27-import py27-pycompile py33-atomic checked-atomic loop-atomic \
	fsync-atomic replace-retry skip-on-error native; do
	test_ok "list strategies shows $s with a summary and its source" listed_strategy $s
done
list_scenarios() {
	"$PYCSTORM" list scenarios >"$SCRATCH/lscn"
	grep -qE '^default +.' "$SCRATCH/lscn"
}
test_ok "list scenarios shows default" list_scenarios

test_ok "unknown strategy: one line naming the valid ones, exit 2" \
	one_line_exit 2 "unknown strategy 'nope' \(valid: py27-import, .*native, unlink-rename, merge-direct, merge-wait\)" \
	"$PYCSTORM" run -s py33-atomic,nope -n 1
test_ok "unknown scenario: one line naming the valid ones, exit 2" \
	one_line_exit 2 "unknown scenario 'nope' \(valid: .*default" "$PYCSTORM" run nope -n 1
test_ok "unknown option: one line naming the valid ones, exit 2" \
	one_line_exit 2 "unknown option '--frobnicate' \(valid: -s/--strategy" "$PYCSTORM" run --frobnicate
test_ok "unknown command: one line naming the valid ones, exit 2" \
	one_line_exit 2 "unknown command 'frob' \(valid: run, list" "$PYCSTORM" frob
test_ok "unknown list: exit 2" \
	one_line_exit 2 "unknown list 'things' \(valid: strategies, scenarios, faults, pythons\)" "$PYCSTORM" list things
test_ok "bad --jobs value: exit 2" \
	one_line_exit 2 "--jobs '0' is not a number from 1 to 256" "$PYCSTORM" run -j 0
test_ok "bad --duration value: exit 2" \
	one_line_exit 2 "--duration 'soon' is not a duration" "$PYCSTORM" run -d soon
test_ok "bad --seed value: exit 2" \
	one_line_exit 2 "--seed '-3' is not a whole number" "$PYCSTORM" run --seed -3
test_ok "--duration with --iterations: exit 2" \
	one_line_exit 2 "not both" "$PYCSTORM" run -d 1s -n 5
test_ok "missing option value: exit 2" \
	one_line_exit 2 "option '-j' needs a value" "$PYCSTORM" run -j

malformed_scenario() {
	printf 'name = broken\nmodules = small\njobs = many\n' >"$SCRATCH/broken.scn"
	one_line_exit 2 "broken.scn:3: '?many'? is not a whole number" "$PYCSTORM" run "$SCRATCH/broken.scn"
}
test_ok "malformed scenario: file:line: problem, exit 2" malformed_scenario
unknown_key() {
	printf 'name = x\nmodules = small\nwobble = 1\n' >"$SCRATCH/key.scn"
	one_line_exit 2 "key.scn:3: unknown key 'wobble' \(valid: name, " "$PYCSTORM" run "$SCRATCH/key.scn"
}
test_ok "unknown scenario key: file:line naming the valid keys, exit 2" unknown_key
missing_module() {
	printf 'name = x\nmodules = nosuchmodule\n' >"$SCRATCH/mod.scn"
	one_line_exit 2 "mod.scn:2: module 'nosuchmodule' has no version 1" \
		"$PYCSTORM" run "$SCRATCH/mod.scn" -n 1 -o "$SCRATCH/modrun"
}
test_ok "a scenario naming a missing module fixture: one clear line, exit 2" missing_module

test_ok "classify without files: exit 2" \
	one_line_exit 2 "classify: no files given" "$PYCSTORM" classify

done_testing
