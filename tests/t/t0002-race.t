#!/bin/bash
# With no faults at all, py_compile's in-place protocol corrupts under four
# workers and two alternating source versions, while the rename-based ones
# do not: the LP #1010077 / #1060842 race, on demand. Every corruption
# reported must be real: the kept file fails the same way in the real
# interpreter.
. "$(dirname "$0")/lib.sh"

RUN="$SCRATCH/run"
S="$RUN/summary.json"

race_run() {
	"$PYCSTORM" run default -s py27-pycompile,py33-atomic,fsync-atomic,native \
		-j 4 -d 15s --seed 20131001 -o "$RUN" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr"
}
test_ok "a 15 s run of four strategies exits 0" race_run
test_ok "nothing on stderr when stderr is not a terminal and all went well" not test -s "$SCRATCH/stderr"
test_ok "the seed is printed at the start" grep -q "seed 20131001" "$SCRATCH/stdout"

test_ok "summary.json has schema_version and the seed" \
	json_true "$S" 'j["schema_version"] == 1 and j["seed"] == 20131001'
test_ok "summary.json names python, runner, cache dir, filesystem, kernel and the replay command" \
	json_true "$S" 'all(j[k] for k in ("python", "runner", "cache_dir", "cache_fs", "kernel", "replay"))'
test_ok "the cache filesystem type is known ($(json "$S" 'j["cache_fs"]' 2>/dev/null))" \
	json_true "$S" 'j["cache_fs"] not in ("", "unknown")'
for key in cycles reads outcomes corrupt corrupt_rate corrupt_ci95 write_latency_us read_latency_us cycles_per_s; do
	test_ok "results[] carry $key" result_true "$S" py33-atomic "'$key' in r"
done

diag "py27-pycompile: $(result "$S" py27-pycompile '"eof %d, bad_marshal %d in %d reads" % (r["outcomes"].get("eof", 0), r["outcomes"].get("bad_marshal", 0), r["reads"])' 2>&1)"
test_ok "py27-pycompile shows eof corruption" \
	result_true "$S" py27-pycompile 'r["outcomes"].get("eof", 0) > 0'
test_ok "py27-pycompile shows bad_marshal corruption (the versions differ in length)" \
	result_true "$S" py27-pycompile 'r["outcomes"].get("bad_marshal", 0) > 0'
test_ok "its interval excludes zero" result_true "$S" py27-pycompile 'r["corrupt_ci95"][0] > 0'
for s in py33-atomic fsync-atomic native; do
	test_ok "$s shows no corruption in $(result "$S" $s 'r["reads"]' 2>/dev/null) reads" \
		result_true "$S" $s 'r["corrupt"] == 0 and r["reads"] > 1000'
	test_ok "$s reports a real upper bound for its zero" \
		result_true "$S" $s '0 < r["corrupt_ci95"][1] < 0.01'
done

# Evidence: every kept file fails in the real interpreter with the same text.
same_error() { # same_error FOLDER: importing its module gives the README's error
	local d=$1 want mod got
	want=$(sed -n 's/^error: //p' "$d/README")
	test -n "$want"
	mod=$(basename "$d"/*.py .py)
	got=$(cd "$d" && exits 1 "$PYCSTORM_PYTHON" -B -c "import sys; sys.path.insert(0, '.'); import $mod" 2>&1)
	got=$(printf '%s\n' "$got" | tail -n 1)
	[ "$got" = "$want" ] || { diag "got: $got" "want: $want"; return 1; }
}
n=0
for d in "$RUN"/evidence/py27-pycompile-*; do
	[ -d "$d" ] || continue
	n=$((n + 1))
	test_ok "evidence $(basename "$d") fails in $PYCSTORM_PYTHON with: $(sed -n 's/^error: //p' "$d/README")" \
		same_error "$d"
done
test_ok "corrupt files were kept as evidence ($n)" test $n -ge 2
evidence_names() {
	ls "$RUN"/evidence >"$SCRATCH/evidence"
	grep -q "^py27-pycompile-eof-.*-w[0-9]*-c[0-9]*$" "$SCRATCH/evidence"
}
test_ok "evidence names say strategy, class, worker and cycle" evidence_names

test_ok "every line of events.jsonl is JSON" "$JSON_PY" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    json.loads(line); n += 1
sys.exit(0 if n > 0 else 1)' "$RUN/events.jsonl"
exact_error() {
	grep -m 1 '"outcome": "eof"' "$RUN/events.jsonl" >"$SCRATCH/eof-line"
	grep -q '"error": "EOFError: [^"]*"' "$SCRATCH/eof-line"
}
test_ok "events.jsonl keeps the exact error text of a corrupt read" exact_error
test_ok "ok cycles are summarised in batch lines" \
	grep -q '"type": "batch".*"counts": {"import/ok": [0-9]' "$RUN/events.jsonl"
# (a worker killed as hung and replaced starts twice: count workers, not lines)
all_started() {
	local starts
	starts=$("$JSON_PY" -c '
import json, sys
seen = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("type") == "start" and e.get("seed"):
        seen.add((e["strategy"], e["worker"]))
print(len(seen))' "$RUN/events.jsonl")
	[ "$starts" -eq 16 ]
}
test_ok "events.jsonl records the start of all 16 workers with their seeds" all_started

done_testing
