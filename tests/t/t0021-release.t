#!/bin/bash
# Runs judged by the writer's release (issue 13): the readers of a run hand
# every file they accepted whose bytes are none of the writers' images to
# the judge, which runs the code in a fresh interpreter of the same release
# (zero-block, repro interpreter-crash); 2.7 and 3.6 as runners (the real
# import.c write under 2.7, repro bad-marshal and eof by their own
# interpreters).
. "$(dirname "$0")/lib.sh"
skip_if_asan_preload "runs under real 2.7, 3.6 and 3.x interpreters"

PY27=$PYENV_VERSIONS/2.7.18/bin/python
PY36=$PYENV_VERSIONS/3.6.15/bin/python
PY311=$PYENV_VERSIONS/3.11.7/bin/python

# A sector of zeros in start-up code unmarshals; the run step catches it,
# the evidence kept crashes a fresh real interpreter, and it is corruption.
repro_crash() {
	exits 0 "$PYCSTORM" repro interpreter-crash --timeout 120s --seed 1 -o "$SCRATCH/ic" >"$SCRATCH/out"
	grep -q '^reproduced after .*: killed by SIG' "$SCRATCH/out"
	grep -q '(killed by signal [0-9]*)' "$SCRATCH/out"
	grep -q '^confirmed' "$SCRATCH/out"
	json_true "$SCRATCH/ic/summary.json" 'sum(r["outcomes"].get("interpreter_crash", 0) for r in j["results"]) > 0'
	json_true "$SCRATCH/ic/summary.json" 'all(r["corrupt"] >= r["outcomes"].get("interpreter_crash", 0) + r["outcomes"].get("code_error", 0) for r in j["results"])'
	ls -d "$SCRATCH"/ic/evidence/*-interpreter_crash-* >/dev/null
}
test_ok "repro interpreter-crash: zero-block's kept file kills a fresh interpreter, counted as corruption" repro_crash

# The durable protocol loses no sector: nothing for the judge to run.
fsync_safe() {
	exits 0 "$PYCSTORM" run zero-block -s fsync-atomic -n 4 --seed 2 -q -o "$SCRATCH/fs"
	result_true "$SCRATCH/fs/summary.json" fsync-atomic 'r["reads"] == 4 and r["corrupt"] == 0'
	result_true "$SCRATCH/fs/summary.json" fsync-atomic '"other_error" not in r["outcomes"]'
}
test_ok "zero-block: fsync-atomic never corrupts, and no judge verdict is an error" fsync_safe

# The interpreter runner's driver has the same run step.
driver_run_step() {
	exits 0 "$PYCSTORM" run zero-block -s py33-atomic,native --python "$PY311" --until-reproduced \
		-d 120s --seed 3 -q -o "$SCRATCH/drv"
	json_true "$SCRATCH/drv/summary.json" 'sum(r["outcomes"].get("interpreter_crash", 0) for r in j["results"]) > 0'
	json_true "$SCRATCH/drv/summary.json" 'j["runner"] == "interpreter"'
}
if [ -x "$PY311" ]; then
	test_ok "the driver's readers judge what they accepted too (interpreter_crash under --python 3.11)" driver_run_step
else
	skip "the driver's run step" "no pyenv 3.11.7 at $PY311"
fi

refuses_non_python() {
	one_line_exit 77 "is not a Python 2.7, or 3.6 or later" "$PYCSTORM" run default -n 1 --python /bin/true -o "$SCRATCH/t"
}
test_ok "run --python refuses what is not a Python 2.7 or 3.6+, in one line, exit 77" refuses_non_python

py27_runner() {
	exits 0 "$PYCSTORM" run lp1010077-py27 -s py27-import,native -j 2 -n 150 --seed 4 -q --python "$PY27" -o "$SCRATCH/r27"
	json_true "$SCRATCH/r27/summary.json" 'j["python"]["version"].startswith("2.7")'
	for s in py27-import native; do
		result_true "$SCRATCH/r27/summary.json" $s 'r["reads"] > 0 and r["writes"] > 0'
	done
	# import.c's write, real: the cache is NAME.pyc beside NAME.py (no __pycache__)
	exits 0 "$PYCSTORM" run lp1010077-py27 -s native -j 1 -n 3 --seed 4 -q --python "$PY27" \
		--keep-cache --cache-dir "$SCRATCH/c27" -o "$SCRATCH/r27b"
	test -s "$SCRATCH/c27/native/legacy.pyc"
	"$PY27" -c 'import imp, sys; sys.exit(open(sys.argv[1], "rb").read(4) != imp.get_magic())' "$SCRATCH/c27/native/legacy.pyc"
}
refuses_py3_fixture() {
	exits 2 "$PYCSTORM" run default -s py33-atomic -n 1 --python "$PY27" -o "$SCRATCH/r27c" \
		>/dev/null 2>"$SCRATCH/err"
	test "$(wc -l <"$SCRATCH/err")" -eq 1
	grep -q "module 'small' does not compile under Python 2.7" "$SCRATCH/err"
}
repro_27() {
	exits 0 "$PYCSTORM" repro bad-marshal --python "$PY27" --timeout 120s -o "$SCRATCH/rp27" >"$SCRATCH/out"
	grep -q '^pycstorm repro bad-marshal: scenario lp1010077-py27' "$SCRATCH/out"
	# LP #1010077's text is "(unknown type code)"; a torn file can also end
	# in another of 2.7's bad-marshal texts ("(string size out of range)")
	grep -qxE '    ValueError: bad marshal data \([a-z ]+\)' "$SCRATCH/out"
	grep -q '^confirmed' "$SCRATCH/out"
}
if [ -x "$PY27" ]; then
	test_ok "run --python 2.7: both py27-import and the real import.c native write NAME.pyc" py27_runner
	test_ok "run --python 2.7 with a fixture 2.7 cannot compile: one line, exit 2" refuses_py3_fixture
	test_ok "repro bad-marshal --python 2.7: LP #1010077 confirmed by a fresh 2.7" repro_27
else
	skip "run --python 2.7" "no pyenv 2.7.18 at $PY27"
	skip "run --python 2.7 with a fixture 2.7 cannot compile" "no pyenv 2.7.18 at $PY27"
	skip "repro bad-marshal --python 2.7" "no pyenv 2.7.18 at $PY27"
fi

repro_36() {
	exits 0 "$PYCSTORM" repro eof --python "$PY36" --timeout 120s -o "$SCRATCH/rp36" >"$SCRATCH/out"
	grep -qE '^    EOFError: (marshal data too short|EOF read where (not|object) expected)$' "$SCRATCH/out"
	grep -q '^confirmed' "$SCRATCH/out"
	json_true "$SCRATCH/rp36/summary.json" 'j["python"]["version"].startswith("3.6")'
}
if [ -x "$PY36" ]; then
	test_ok "repro eof --python 3.6: gh-126606 confirmed by a fresh 3.6" repro_36
else
	skip "repro eof --python 3.6" "no pyenv 3.6.15 at $PY36"
fi

# One run, a row per strategy and interpreter, in every format.
matrix() {
	exits 0 "$PYCSTORM" run lp1010077-py27 -s native,py33-atomic -j 2 -n 30 --seed 5 -q \
		--python "$PY36" --python "$PY311" -o "$SCRATCH/mx"
	json_true "$SCRATCH/mx/summary.json" 'sorted(r["strategy"] for r in j["results"]) == ["native@3.11.7", "native@3.6.15", "py33-atomic@3.11.7", "py33-atomic@3.6.15"]'
	json_true "$SCRATCH/mx/summary.json" 'all(r["reads"] > 0 for r in j["results"])'
	for k in 1 2; do
		json_true "$SCRATCH/mx/py-$k/summary.json" 'len(j["results"]) == 2'
	done
	exits 0 "$PYCSTORM" report "$SCRATCH/mx" --format csv -o "$SCRATCH/mx.csv"
	test "$(grep -c ',native@3\.' "$SCRATCH/mx.csv")" -eq 2
}
if [ -x "$PY36" ] && [ -x "$PY311" ]; then
	test_ok "run --python A --python B: a row per strategy and interpreter, each run in its own folder" matrix
else
	skip "the version matrix" "no pyenv 3.6.15 or 3.11.7"
fi

done_testing
