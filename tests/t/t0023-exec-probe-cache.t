#!/bin/bash
# What exec keeps between runs ($XDG_CACHE_HOME/pycstorm; lib.sh gives each
# test its own): an interpreter's probe answer, valid while the binary is
# the same file. It may never answer for something that changed. No .pyc
# verdict is kept: each round judges every file it touched.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3.11
PY312=$(pyenv_python 3.12)
skip_unless_executable "$PY"
skip_if_asan_preload "exec"

W="$SCRATCH/w"
mkdir -p "$W/mods" "$SCRATCH/bin"
"$PY" -c 'import sys
open(sys.argv[1], "w").write("".join("def f%d(x):\n    return x + %d\n" % (i, i) for i in range(50)))' "$W/mods/mod.py"
PYC="$W/mods/__pycache__/mod.cpython-311.pyc"

# exec_in NAME CMD...: pycstorm exec -- CMD from $W; output in NAME.out/.err,
# run folder NAME-run.
exec_in() {
	local name=$1
	shift
	(cd "$W" && "$PYCSTORM" exec -o "$SCRATCH/$name-run" -- "$@" \
		>"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err")
}

# --- the probe cache -------------------------------------------------------------
ln -s "$PY" "$SCRATCH/bin/python3"
probe_kept() {
	exec_in probe1 "$SCRATCH/bin/python3" -c pass
	grep -q "^pycstorm exec: python: $SCRATCH/bin/python3 3\.11\." "$SCRATCH/probe1.err"
	test -n "$(ls "$XDG_CACHE_HOME/pycstorm/probe")"
	exec_in probe2 "$SCRATCH/bin/python3" -c pass
	grep -q "^pycstorm exec: python: $SCRATCH/bin/python3 3\.11\." "$SCRATCH/probe2.err"
}
test_ok "the probe's answer is kept, and given again for the same binary" probe_kept
# The same path, now another interpreter: the kept answer must not be used.
probe_renewed() {
	ln -sfn "$PY312" "$SCRATCH/bin/python3"
	exec_in probe3 "$SCRATCH/bin/python3" -c pass
	grep -q "^pycstorm exec: python: $SCRATCH/bin/python3 3\.12\." "$SCRATCH/probe3.err"
}
if [ -n "$PY312" ]; then
	test_ok "the same path leading to another binary is probed again (3.12, not the kept 3.11)" probe_renewed
else
	skip "the same path leading to another binary is probed again" "no pyenv 3.12"
fi
probe_not_kept_for_scripts() {
	printf '#!/bin/sh\nexec %s "$@"\n' "$PY" >"$SCRATCH/bin/wrapper"
	chmod +x "$SCRATCH/bin/wrapper"
	rm -rf "$XDG_CACHE_HOME/pycstorm/probe"
	"$PYCSTORM" classify --python "$SCRATCH/bin/wrapper" "$SCRATCH/nothing.pyc" >/dev/null 2>&1 || :
	test -z "$(ls "$XDG_CACHE_HOME/pycstorm/probe" 2>/dev/null | grep -v '^\.')"
}
test_ok "a script's answer (a pyenv shim's) is never kept: it may change while the script does not" \
	probe_not_kept_for_scripts

# --- no verdicts kept ---------------------------------------------------------------
# A program that rewrites the .pyc after a clean round: same path, same
# source, a header the reader accepts, a body that is not the source's code
# and fails to import, written as py_compile in 2.7 did (the header last,
# after a seek), so it is no plain write stream. It must be judged afresh.
REWRITE='import importlib.util as u, marshal, os, sys
src = "mods/mod.py"; st = os.stat(src)
body = marshal.dumps(compile("import pycstorm_no_such_module", src, "exec"))
f = open(sys.argv[1], "wb"); f.write(bytes(16) + body); f.seek(0)
f.write(u.MAGIC_NUMBER + (0).to_bytes(4, "little") + int(st.st_mtime).to_bytes(4, "little")
    + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")); f.close()'
rewritten() {
	exec_in v1 "$PY" -m compileall -q -f mods
	grep -q 'judged 1 .pyc and 0 other: 0 damaged' "$SCRATCH/v1.err"
	exits 1 exec_in v2 "$PY" -c "$REWRITE" mods/__pycache__/mod.cpython-311.pyc
	grep -qE "^pycstorm exec:   other_error +mods/__pycache__/mod\\.cpython-311\\.pyc \\(\\.pyc\\): ModuleNotFoundError: No module named 'pycstorm_no_such_module'" "$SCRATCH/v2.err"
	test ! -e "$XDG_CACHE_HOME/pycstorm/verdict"
}
test_ok "a .pyc rewritten with other bytes after a clean round is judged again, and its damage found" rewritten
no_cache() {
	rm -rf "$XDG_CACHE_HOME"
	PYCSTORM_NO_CACHE=1 exec_in v5 "$PY" -m compileall -q -f mods
	grep -q 'judged 1 .pyc and 0 other: 0 damaged' "$SCRATCH/v5.err"
	test ! -e "$XDG_CACHE_HOME"
}
test_ok "PYCSTORM_NO_CACHE=1: nothing kept" no_cache

done_testing
