#!/bin/bash
# The command line: help, version, lists, and one clear line with exit 2
# for every kind of bad input.
. "$(dirname "$0")/lib.sh"

"$PYCSTORM" --version >"$SCRATCH/v"
ok "--version runs"
grep -qE '^pycstorm [0-9]+\.[0-9]+\.[0-9]+ .*Python 3\.' "$SCRATCH/v"
ok "--version names pycstorm's and the embedded Python's versions"

for cmd in run list classify; do
	"$PYCSTORM" $cmd --help >"$SCRATCH/h" && grep -q "usage: pycstorm $cmd" "$SCRATCH/h"
	ok "$cmd --help prints its usage"
done

"$PYCSTORM" list strategies >"$SCRATCH/ls"
ok "list strategies"
for s in py27-import py27-pycompile py33-atomic checked-atomic loop-atomic \
	fsync-atomic replace-retry skip-on-error native; do
	grep -qE "^$s +[a-z]" "$SCRATCH/ls" && grep -A1 -E "^$s " "$SCRATCH/ls" | grep -q 'mirrors: .'
	ok "list strategies shows $s with a summary and its source"
done
"$PYCSTORM" list scenarios | grep -qE '^default +.'
ok "list scenarios shows default"

one_line_exit 2 "unknown strategy 'nope' \(valid: py27-import, .*native, unlink-rename, merge-direct, merge-wait\)" \
	"$PYCSTORM" run -s py33-atomic,nope -n 1
ok "unknown strategy: one line naming the valid ones, exit 2"
one_line_exit 2 "unknown scenario 'nope' \(valid: .*default" "$PYCSTORM" run nope -n 1
ok "unknown scenario: one line naming the valid ones, exit 2"
one_line_exit 2 "unknown option '--frobnicate' \(valid: -s/--strategy" "$PYCSTORM" run --frobnicate
ok "unknown option: one line naming the valid ones, exit 2"
one_line_exit 2 "unknown command 'frob' \(valid: run, list" "$PYCSTORM" frob
ok "unknown command: one line naming the valid ones, exit 2"
one_line_exit 2 "unknown list 'things' \(valid: strategies, scenarios, faults, pythons\)" "$PYCSTORM" list things
ok "unknown list: exit 2"
one_line_exit 2 "--jobs '0' is not a number from 1 to 256" "$PYCSTORM" run -j 0
ok "bad --jobs value: exit 2"
one_line_exit 2 "--duration 'soon' is not a duration" "$PYCSTORM" run -d soon
ok "bad --duration value: exit 2"
one_line_exit 2 "--seed '-3' is not a whole number" "$PYCSTORM" run --seed -3
ok "bad --seed value: exit 2"
one_line_exit 2 "not both" "$PYCSTORM" run -d 1s -n 5
ok "--duration with --iterations: exit 2"
one_line_exit 2 "option '-j' needs a value" "$PYCSTORM" run -j
ok "missing option value: exit 2"

printf 'name = broken\nmodules = small\njobs = many\n' >"$SCRATCH/broken.scn"
one_line_exit 2 "broken.scn:3: '?many'? is not a whole number" "$PYCSTORM" run "$SCRATCH/broken.scn"
ok "malformed scenario: file:line: problem, exit 2"
printf 'name = x\nmodules = small\nwobble = 1\n' >"$SCRATCH/key.scn"
one_line_exit 2 "key.scn:3: unknown key 'wobble' \(valid: name, " "$PYCSTORM" run "$SCRATCH/key.scn"
ok "unknown scenario key: file:line naming the valid keys, exit 2"
printf 'name = x\nmodules = nosuchmodule\n' >"$SCRATCH/mod.scn"
one_line_exit 2 "mod.scn:2: module 'nosuchmodule' has no version 1" \
	"$PYCSTORM" run "$SCRATCH/mod.scn" -n 1 -o "$SCRATCH/modrun"
ok "a scenario naming a missing module fixture: one clear line, exit 2"

one_line_exit 2 "classify: no files given" "$PYCSTORM" classify
ok "classify without files: exit 2"

done_testing
