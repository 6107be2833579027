#!/bin/bash
# An upgrade in progress (issue 14, item 4): workers of two interpreters of
# one cache tag share one cache at the same time (run --shared-cache, the
# upgrade scenario: the new one compiles, the old one imports); differing
# cache tags are refused; gate --against runs the upgrade as a race check.
. "$(dirname "$0")/lib.sh"
skip_if_asan_preload "shared-cache runs of real interpreters"

OLD=/usr/bin/python3
NEW=$PYENV_VERSIONS/3.11.7/bin/python3.11
OTHER=$PYENV_VERSIONS/3.12.1/bin/python3.12

tag() {
	"$1" -I -c 'import sys; print(sys.implementation.cache_tag)' 2>/dev/null
}

if [ ! -x "$OLD" ] || [ ! -x "$NEW" ] || [ "$(tag "$OLD")" != "$(tag "$NEW")" ] ||
   [ "$("$OLD" -I -c 'import sys; print(sys.version)')" = "$("$NEW" -I -c 'import sys; print(sys.version)')" ]; then
	skip "upgrade" "needs two different 3.11 interpreters ($OLD and $NEW), one cache tag"
	done_testing
	exit
fi

# Every worker's start event of the run folder $1: the interpreter and the
# cache folder of each, and what each role ran. $2 is the expected split
# ("upgrade": NEW compiles, OLD imports; "shared": each runs both roles).
one_cache() {
	"$JSON_PY" - "$1/events.jsonl" "$1/summary.json" "$NEW" "$OLD" "$2" <<'PY'
import json, sys
events, summary, new, old, split = sys.argv[1:]
starts = [e for e in map(json.loads, open(events)) if e.get("type") == "start"]
assert starts, "no start events"
by_strategy = {}
for e in starts:
    by_strategy.setdefault(e["strategy"], []).append(e)
s = json.load(open(summary))
for strategy, es in by_strategy.items():
    dirs = {e["cache_dir"] for e in es}
    assert len(dirs) == 1, (strategy, dirs)
    assert {e["python"] for e in es} == {new, old}, (strategy, es)
    if split == "upgrade":
        assert {e["python"] for e in es if e["role"] == "compile"} == {new}, es
        assert {e["python"] for e in es if e["role"] == "import"} == {old}, es
    r = [x for x in s["results"] if x["strategy"] == strategy]
    assert len(r) == 1 and r[0]["reads"] > 0 and r[0]["writes"] > 0, r
assert new in s["shared_cache"] and old in s["shared_cache"], s["shared_cache"]
assert "3.11.7" in s["shared_cache"] and "3.11.2" in s["shared_cache"], s["shared_cache"]
PY
}

upgrade_run() {
	exits 0 "$PYCSTORM" run upgrade --python "$NEW" --python "$OLD" -s native,checked-atomic \
		-n 40 --seed 7 -q -o "$SCRATCH/up"
	one_cache "$SCRATCH/up" upgrade
	grep -q "one cache shared by $NEW (3.11.7, compile); $OLD (3.11.2, import)" "$SCRATCH/up/summary.md"
	grep -q -- "--shared-cache" "$SCRATCH/up/replay.args"
	[ ! -d "$SCRATCH/up/py-1" ]
}
test_ok "run upgrade NEW OLD: one cache folder per strategy, NEW's workers compile, OLD's import" upgrade_run

shared_run() {
	exits 0 "$PYCSTORM" run default --shared-cache --python "$NEW" --python "$OLD" -s native \
		-n 20 --seed 8 -q -o "$SCRATCH/sh"
	one_cache "$SCRATCH/sh" shared
}
test_ok "run --shared-cache: each strategy's workers split between NEW and OLD on one cache" shared_run

replay_shared() {
	exits 0 "$PYCSTORM" replay "$SCRATCH/up" -q -o "$SCRATCH/up-again"
	one_cache "$SCRATCH/up-again" upgrade
}
test_ok "replay of a shared run shares the cache again" replay_shared

if [ -x "$OTHER" ] && [ "$(tag "$OTHER")" != "$(tag "$OLD")" ]; then
	test_ok "differing cache tags are refused, exit 2, one line saying why" \
		one_line_exit 2 "cache tag cpython-311 but .* has cpython-3[0-9]+: they would not share" \
		"$PYCSTORM" run upgrade --python "$OTHER" --python "$OLD" -n 1 -q -o "$SCRATCH/tags"
	test_ok "the refused run started no worker" not test -e "$SCRATCH/tags/events.jsonl"
else
	skip "differing cache tags are refused" "no interpreter of another cache tag ($OTHER)"
	skip "the refused run started no worker" "no interpreter of another cache tag ($OTHER)"
fi

test_ok "--shared-cache with one --python is refused, exit 2" \
	one_line_exit 2 "needs two or more --python" \
	"$PYCSTORM" run default --shared-cache --python "$OLD" -n 1 -q -o "$SCRATCH/one"

gate_upgrade() {
	exits 0 "$PYCSTORM" gate --python "$NEW" --against "$OLD" --no-matrix --races upgrade --race-duration 2s \
		-o "$SCRATCH/gate" >"$SCRATCH/gate.out"
	json_true "$SCRATCH/gate/gate.json" 'j["race_checks"] == 1 and j["race_regressions"] == 0'
	grep -q "^### Race upgrade (with its faults): an upgrade in progress" "$SCRATCH/gate/gate.md"
	grep -q 'classname="pycstorm.gate.race" name="upgrade / native"' "$SCRATCH/gate/gate.xml"
	one_cache "$SCRATCH/gate/race-upgrade-new" upgrade
	json_true "$SCRATCH/gate/race-upgrade-old/summary.json" 'j["shared_cache"] is None'
}
test_ok "gate NEW --against OLD runs the upgrade race check, one shared run against OLD alone" gate_upgrade

if [ -x "$OTHER" ]; then
	gate_tags() {
		exits 0 "$PYCSTORM" gate --python "$OTHER" --against "$OLD" --no-matrix --races upgrade,gh126606 \
			--race-duration 1s -o "$SCRATCH/gt" >"$SCRATCH/gt.out"
		grep -q "race upgrade not run: the cache tags differ" "$SCRATCH/gt.out"
		json_true "$SCRATCH/gt/gate.json" 'j["race_checks"] == 1'
	}
	test_ok "gate across cache tags says why the upgrade check did not run" gate_tags
else
	skip "gate across cache tags" "no interpreter of another cache tag ($OTHER)"
fi

done_testing
