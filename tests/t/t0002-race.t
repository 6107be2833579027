#!/bin/bash
# With no faults at all, py_compile's in-place protocol corrupts under four
# workers and two alternating source versions, while the rename-based ones
# do not: the LP #1010077 / #1060842 race, on demand. Every corruption
# reported must be real: the kept file fails the same way in the real
# interpreter.
. "$(dirname "$0")/lib.sh"

RUN="$SCRATCH/run"
"$PYCSTORM" run default -s py27-pycompile,py33-atomic,fsync-atomic,native \
	-j 4 -d 15s --seed 20131001 -o "$RUN" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr"
ok "a 15 s run of four strategies exits 0"
[ ! -s "$SCRATCH/stderr" ]
ok "nothing on stderr when stderr is not a terminal and all went well"
grep -q "seed 20131001" "$SCRATCH/stdout"
ok "the seed is printed at the start"

S="$RUN/summary.json"
[ "$(json "$S" 'j["schema_version"]')" = 1 ] && [ "$(json "$S" 'j["seed"]')" = 20131001 ]
ok "summary.json has schema_version and the seed"
json "$S" '[k for k in ("python","runner","cache_dir","cache_fs","kernel","replay") if not j[k]]' | grep -qx '\[\]'
ok "summary.json names python, runner, cache dir, filesystem, kernel and the replay command"
[ "$(json "$S" 'j["cache_fs"]')" != unknown ]
ok "the cache filesystem type is known ($(json "$S" 'j["cache_fs"]'))"
for key in cycles reads outcomes corrupt corrupt_rate corrupt_ci95 write_latency_us read_latency_us cycles_per_s; do
	[ "$(result "$S" py33-atomic "'$key' in r")" = True ]
	ok "results[] carry $key"
done

eof=$(result "$S" py27-pycompile 'r["outcomes"].get("eof", 0)')
bad=$(result "$S" py27-pycompile 'r["outcomes"].get("bad_marshal", 0)')
diag "py27-pycompile: eof $eof, bad_marshal $bad in $(result "$S" py27-pycompile 'r["reads"]') reads"
[ "$eof" -gt 0 ]
ok "py27-pycompile shows eof corruption"
[ "$bad" -gt 0 ]
ok "py27-pycompile shows bad_marshal corruption (the versions differ in length)"
[ "$(result "$S" py27-pycompile 'r["corrupt_ci95"][0] > 0')" = True ]
ok "its interval excludes zero"
for s in py33-atomic fsync-atomic native; do
	reads=$(result "$S" $s 'r["reads"]')
	[ "$(result "$S" $s 'r["corrupt"]')" = 0 ] && [ "$reads" -gt 1000 ]
	ok "$s shows no corruption in $reads reads"
	[ "$(result "$S" $s 'r["corrupt_ci95"][1] > 0 and r["corrupt_ci95"][1] < 0.01')" = True ]
	ok "$s reports a real upper bound for its zero"
done

# Evidence: every kept file fails in the real interpreter with the same text.
n=0
for d in "$RUN"/evidence/py27-pycompile-*; do
	[ -d "$d" ] || continue
	n=$((n + 1))
	want=$(sed -n 's/^error: //p' "$d/README")
	mod=$(basename "$d"/*.py .py)
	got=$(cd "$d" && "$PYCSTORM_PYTHON" -B -c "import sys; sys.path.insert(0, '.'); import $mod" 2>&1 | tail -n 1)
	[ -n "$want" ] && [ "$got" = "$want" ]
	ok "evidence $(basename "$d") fails in $PYCSTORM_PYTHON with: $want"
done
[ $n -ge 2 ]
ok "corrupt files were kept as evidence ($n)"
ls "$RUN"/evidence | grep -q "^py27-pycompile-eof-.*-w[0-9]*-c[0-9]*$"
ok "evidence names say strategy, class, worker and cycle"

"$JSON_PY" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    json.loads(line); n += 1
sys.exit(0 if n > 0 else 1)' "$RUN/events.jsonl"
ok "every line of events.jsonl is JSON"
grep '"outcome": "eof"' "$RUN/events.jsonl" | head -1 | grep -q '"error": "EOFError: .*", "evidence"\|"error": "EOFError: [^"]*"'
ok "events.jsonl keeps the exact error text of a corrupt read"
grep -q '"type": "batch".*"counts": {"import/ok": [0-9]' "$RUN/events.jsonl"
ok "ok cycles are summarised in batch lines"
[ "$(grep -c '"type": "start"' "$RUN/events.jsonl")" -eq 16 ]
ok "events.jsonl records the start of all 16 workers with their seeds"

done_testing
