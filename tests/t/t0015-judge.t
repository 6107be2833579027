#!/bin/bash
# Judging by release: classify hands each file to an interpreter of the
# release that reads it (its cache tag, else its magic number), found from
# --python, PYCSTORM_PYTHONS, PATH and pyenv; says "cannot judge" with exit
# 77 when there is none; and runs the code when it differs from its
# source's, so damage that unmarshals cleanly (a zero block in the
# bytecode) is the crash or SystemError a user would meet, never "ok".
. "$(dirname "$0")/lib.sh"


# python_of RELEASE: the interpreter `list pythons` chose for RELEASE.
python_of() {
	"$PYCSTORM" list pythons | awk -v r="$1" '$1 == r && !/not used/ { print $6; exit }'
}

# A module whose body runs one long function: its middle is bytecode.
long_module() {
	"$JSON_PY" -c '
import sys
body = "".join("    y = y + x * 3 - %d\n" % (i % 5) for i in range(200))
open(sys.argv[1], "w").write("def f(x):\n    y = x\n" + body + "    return y\nR = f(2)\n")' "$1"
}

# compiled PYTHON DIR: compile DIR/big.py with PYTHON; print the cache path.
compiled() {
	# 2.7's py_compile returns nothing; its cache is NAME.pyc beside NAME.py.
	"$1" -E -s -c 'import py_compile, sys; sys.stdout.write(py_compile.compile(sys.argv[1], doraise=True) or sys.argv[1] + "c")' "$2/big.py"
}

# zero_block FILE: 64 zero bytes in the middle of the body.
zero_block() {
	"$JSON_PY" -c '
import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read()); at = 16 + (len(d) - 16) // 2
d[at:at + 64] = bytes(64); open(p, "wb").write(bytes(d))' "$1"
}

lists_every_pyenv_release() {
	"$PYCSTORM" list pythons >"$SCRATCH/list"
	head -n 1 "$SCRATCH/list" | grep -q '^RELEASE *VERSION *MAGIC *CACHE TAG'
	for d in "$PYENV_VERSIONS"/*/; do
		v=$(basename "$d")
		grep -qE "^${v%.*} +$v +[0-9]+ " "$SCRATCH/list" || { diag "pyenv $v not listed"; return 1; }
	done
	# The magic is the interpreter's own word, not a table's guess.
	py=$(python_of 3.11)
	want=$("$py" -c 'import importlib.util, struct; print(struct.unpack("<I", importlib.util.MAGIC_NUMBER)[0] & 0xffff)')
	grep -E "^3\.11 .* $py\$" "$SCRATCH/list" | grep -qw "$want"
}
if [ -d "$PYENV_VERSIONS" ]; then
	test_ok "list pythons shows every pyenv release with its version, magic and tag" lists_every_pyenv_release
else
	skip "list pythons shows every pyenv release" "no pyenv versions folder at $PYENV_VERSIONS"
fi

cannot_judge() {
	mkdir -p "$SCRATCH/cj/__pycache__"
	# magic 3531 is 3.12's; the rest is a plausible header and body.
	printf '\313\015\015\012\0\0\0\0\0\0\0\0\0\0\0\0\343' >"$SCRATCH/cj/__pycache__/m.cpython-312.pyc"
	rc=0
	env -u PYCSTORM_PYTHONS PATH=/nonexistent PYENV_ROOT="$SCRATCH/none" HOME="$SCRATCH/none" \
		"$PYCSTORM" classify "$SCRATCH/cj/__pycache__/m.cpython-312.pyc" \
		>"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
	[ $rc -eq 77 ] || { diag "exit $rc, wanted 77"; return 1; }
	grep -qx 'class: cannot_judge' "$SCRATCH/out"
	grep -qx 'error: cannot judge: written by Python 3.12 (magic 3531); pass --python' "$SCRATCH/out"
	[ "$(wc -l <"$SCRATCH/err")" -eq 1 ]
	grep -q "cannot judge: written by Python 3.12" "$SCRATCH/err"
}
test_ok "no interpreter of the file's release: cannot judge, exit 77, never a guess" cannot_judge

bad_python() {
	rc=0
	"$PYCSTORM" classify --python /bin/true "$SCRATCH/x.pyc" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
	[ $rc -eq 77 ] && [ "$(wc -l <"$SCRATCH/err")" -eq 1 ] &&
		grep -q -- "--python '/bin/true': not a Python interpreter" "$SCRATCH/err"
}
: >"$SCRATCH/x.pyc"
test_ok "--python that is not an interpreter: one line, exit 77" bad_python

# For each release from 2.7 to 3.13 found here: a truncated file is eof
# in the words of that release, and the report names that interpreter.
for release in 2.7 3.6 3.8 3.10 3.12 3.13; do
	py=$(python_of "$release")
	if [ -z "$py" ]; then
		skip "a truncated $release cache is judged by $release" "no Python $release here (pass --python)"
		continue
	fi
	judged_by_release() {
		local dir="$SCRATCH/trunc-$1" rc=0 pyc want
		mkdir -p "$dir"
		long_module "$dir/big.py"
		pyc=$(compiled "$2" "$dir")
		head -c 200 "$pyc" >"$dir/cut" && cat "$dir/cut" >"$pyc"
		want=$(cd "$dir" && "$2" -B -c 'import big' 2>&1 | tail -n 1)
		"$PYCSTORM" classify "$pyc" >"$SCRATCH/out" 2>/dev/null || rc=$?
		[ $rc -eq 1 ] || { diag "exit $rc"; return 1; }
		grep -q "^python: ${1//./\\.}" "$SCRATCH/out"
		grep -qx 'class: eof' "$SCRATCH/out"
		grep -qxF "error: $want" "$SCRATCH/out"
	}
	test_ok "a truncated $release cache is eof, with $release's own message" judged_by_release "$release" "$py"
done

# A zero block in the bytecode unmarshals cleanly; running it crashes,
# aborts or raises SystemError, depending on the release.
for release in 3.8 3.11 3.12 3.13; do
	py=$(python_of "$release")
	if [ -z "$py" ]; then
		skip "a zero block in $release bytecode is caught" "no Python $release here"
		continue
	fi
	zero_block_caught() {
		local dir="$SCRATCH/zero-$1" rc=0 pyc
		mkdir -p "$dir"
		long_module "$dir/big.py"
		pyc=$(compiled "$2" "$dir")
		zero_block "$pyc"
		"$PYCSTORM" classify "$pyc" >"$SCRATCH/out" 2>/dev/null || rc=$?
		[ $rc -eq 1 ] || { diag "exit $rc"; cat "$SCRATCH/out" >&2; return 1; }
		grep -qxE 'class: (interpreter_crash|code_error)' "$SCRATCH/out"
		grep -qx 'run: fails' "$SCRATCH/out"
		# The real import agrees: it dies by a signal or with SystemError.
		rc=0
		# (sh, not bash, waits for it: bash would print "Segmentation fault")
		rc=$(sh -c 'cd "$1" && ulimit -c 0; "$2" -B -c "import big" >/dev/null 2>"$3"; echo $?' \
			sh "$dir" "$2" "$SCRATCH/real")
		if grep -qx 'class: code_error' "$SCRATCH/out"; then
			tail -n 1 "$SCRATCH/real" | grep -q '^SystemError'
		else
			[ $rc -gt 128 ]
		fi
		# Without the run step the same file looks fine: why it exists.
		"$PYCSTORM" classify --no-run "$pyc" >"$SCRATCH/out2"
		grep -qx 'class: ok' "$SCRATCH/out2"
	}
	test_ok "a zero block in $release bytecode is interpreter_crash or code_error, as the real import" \
		zero_block_caught "$release" "$py"
done

crash_evidence() {
	local py dir="$SCRATCH/crash" pyc
	py=$(python_of 3.12)
	mkdir -p "$dir"
	long_module "$dir/big.py"
	pyc=$(compiled "$py" "$dir")
	zero_block "$pyc"
	"$PYCSTORM" classify "$pyc" >"$SCRATCH/out" 2>/dev/null || :
	grep -q '^error: killed by SIG[A-Z]*; Fatal Python error: ' "$SCRATCH/out"
	grep -q "first frame: File \"$dir/big.py\", line [0-9]* in f" "$SCRATCH/out"
}
if [ -n "$(python_of 3.12)" ]; then
	test_ok "a crash keeps the signal, the fatal message and the first frame, named by the module's file" crash_evidence
else
	skip "a crash keeps its evidence" "no Python 3.12 here"
fi

own_failure_not_blamed() {
	local dir="$SCRATCH/dep" py pyc
	py=$(python_of 3.11)
	mkdir -p "$dir"
	echo 'import pycstorm_no_such_module' >"$dir/big.py"
	pyc=$(compiled "$py" "$dir")
	"$PYCSTORM" classify --run "$pyc" >"$SCRATCH/out"
	grep -qx 'class: ok' "$SCRATCH/out"
	grep -q '^run: fails, as the module does from its source alone' "$SCRATCH/out"
}
test_ok "a module that fails on its own (a missing dependency) is not blamed on its cache" own_failure_not_blamed

tag_names_reader() {
	local dir="$SCRATCH/tag" py311 pyc
	py311=$(python_of 3.11)
	mkdir -p "$dir/__pycache__"
	long_module "$dir/big.py"
	pyc=$(compiled "$py311" "$dir")
	# A 3.11 image where only 3.12 looks: 3.12 rejects the magic and recompiles.
	cp "$pyc" "$dir/__pycache__/big.cpython-312.pyc"
	"$PYCSTORM" classify --python "$(python_of 3.12)" "$dir/__pycache__/big.cpython-312.pyc" >"$SCRATCH/out"
	grep -q '^python: 3\.12' "$SCRATCH/out"
	grep -qx 'class: stale' "$SCRATCH/out"
}
if [ -n "$(python_of 3.12)" ]; then
	test_ok "the cache tag names the reader: a 3.11 image in a cpython-312 file is stale for 3.12" tag_names_reader
else
	skip "the cache tag names the reader" "no Python 3.12 here"
fi

done_testing
