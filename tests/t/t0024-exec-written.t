#!/bin/bash
# exec trusts a .pyc whose bytes are, whole, one complete write of its own
# writer (the inject library records a digest of every plain write
# stream; inject/preload/written.h). When the writer is the interpreter
# that ran, exec checks such a file's header itself and does not read its
# body back (exec-intact.c; --read-back has the judge read it); the judge,
# given the records, checks header and body but compiles nothing to
# compare. Any other file keeps the full judgement, so damage that
# unmarshals cleanly (a zero block in the bytecode) is still found: bytes
# changed in place after the program closed the file, a file written with
# pwrite, sectors a power cut lost, and the streams a fault shortened.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3.11
PY312=$(pyenv_python 3.12)
skip_unless_executable "$PY"
skip_if_asan_preload "exec preloads the inject library into $PY"

W="$SCRATCH/w"
mkdir -p "$W/mods"
# big.py runs one long function, so the middle of its .pyc is bytecode.
"$PY" -c 'import sys
body = "".join("    y = y + x * 3 - %d\n" % (i % 5) for i in range(200))
open(sys.argv[1] + "/big.py", "w").write("def f(x):\n    y = x\n" + body + "    return y\nR = f(2)\n")
for name in ("a", "b"):
    open(sys.argv[1] + "/%s.py" % name, "w").write("X = %r\n" % name)' "$W/mods"
BIG=mods/__pycache__/big.cpython-311.pyc

# exec_in NAME CMD...: pycstorm exec -- CMD from $W; output in NAME.out/.err,
# run folder NAME-run; exec's exit status back.
exec_in() {
	local name=$1
	shift
	(cd "$W" && PYCSTORM_NO_CACHE=1 "$PYCSTORM" exec -o "$SCRATCH/$name-run" -- "$@" \
		>"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err")
}
own_line() { # own_line N FILE: exec said N .pyc files were their writer's own writes, read back
	grep -q "^pycstorm exec: $1 of the \.pyc files are the very bytes their writer wrote" "$2"
}
intact_line() { # intact_line N FILE: ... and N were not read back
	grep -q "^pycstorm exec: $1 of the \.pyc files are the very bytes their writer, $PY, wrote in one complete write, and fresh: header checked, body not read back" "$2"
}

# A zero block in the middle of big's body, written in place (r+b, a seek,
# a write) or as a whole new file through pwrite: the bytes still unmarshal.
ZERO_IN_PLACE='import sys
f = open(sys.argv[1], "r+b"); n = len(f.read()); f.seek(16 + (n - 16) // 2); f.write(bytes(64)); f.close()'
ZERO_BY_PWRITE='import os, sys
d = bytearray(open(sys.argv[1], "rb").read()); at = 16 + (len(d) - 16) // 2; d[at:at + 64] = bytes(64)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC); os.pwrite(fd, bytes(d), 0); os.close(fd)'

clean_round() {
	exec_in clean "$PY" -m compileall -q -f mods
	grep -q 'judged 3 .pyc and 0 other: 0 damaged' "$SCRATCH/clean.err"
	intact_line 3 "$SCRATCH/clean.err"
	not own_line 3 "$SCRATCH/clean.err"
	result_true "$SCRATCH/clean-run/summary.json" exec 'r["by_op"]["import"]["ok"] == 3'
	# A clean round keeps no copies; touched.txt lists what it wrote.
	test ! -e "$SCRATCH/clean-run/touched"
	grep -qx "ok	-	$BIG" "$SCRATCH/clean-run/touched.txt"
	[ "$(wc -l <"$SCRATCH/clean-run/touched.txt")" = 3 ]
}
test_ok "a clean round: every .pyc is its writer's intact write, its header checked, no judge needed" \
	clean_round

read_back() {
	(cd "$W" && PYCSTORM_NO_CACHE=1 "$PYCSTORM" exec --read-back -o "$SCRATCH/back-run" \
		-- "$PY" -m compileall -q -f mods >"$SCRATCH/back.out" 2>"$SCRATCH/back.err")
	grep -q 'judged 3 .pyc and 0 other: 0 damaged' "$SCRATCH/back.err"
	own_line 3 "$SCRATCH/back.err"
	not intact_line 3 "$SCRATCH/back.err"
}
test_ok "--read-back: the judge reads every .pyc back, intact ones too" read_back

# Stress rounds share one judge: it answers round after round, and still
# finds the damage the third round's program leaves.
THIRD_DAMAGES='import compileall, os, sys
compileall.compile_dir("mods", quiet=1, force=True)
n = len(os.listdir(sys.argv[2])) if os.path.isdir(sys.argv[2]) else 0
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], str(n)), "w").close()
if n == 2:
    f = open(sys.argv[1], "r+b"); m = len(f.read()); f.seek(16 + (m - 16) // 2); f.write(bytes(64)); f.close()'
judge_kept() {
	(cd "$W" && PYCSTORM_NO_CACHE=1 "$PYCSTORM" exec --read-back --runs 5 -o "$SCRATCH/kept-run" \
		-- "$PY" -c "$THIRD_DAMAGES" "$BIG" "$SCRATCH/rounds" >"$SCRATCH/kept.out" \
		2>"$SCRATCH/kept.err") && return 1
	grep -q '^pycstorm exec: round 3 (seed [0-9]*) failed' "$SCRATCH/kept.err"
	grep -qE "^pycstorm exec:   (interpreter_crash|code_error) +mods/__pycache__/big\.cpython-311\.pyc " \
		"$SCRATCH/kept.err"
	# every round's files were read back by the judge: 3 a round
	result_true "$SCRATCH/kept-run/summary.json" exec \
		'r["reads"] == 9 and r["by_op"]["import"]["ok"] == 8'
	# and one judge did it
	[ "$(grep -c '"type": "judge"' "$SCRATCH/kept-run/events.jsonl")" = 1 ]
}
test_ok "stress rounds keep one judge, which still finds the third round's damage" judge_kept

# The interpreter that ran changes a file after writing it, or its source
# after compiling it: exec's own check refuses both, and the judge decides.
CHANGED_BY_PY='import compileall, sys
compileall.compile_dir("mods", quiet=1, force=True)
f = open(sys.argv[1], "r+b"); n = len(f.read()); f.seek(16 + (n - 16) // 2); f.write(bytes(64)); f.close()'
intact_refuses_change() {
	exits 1 exec_in same "$PY" -c "$CHANGED_BY_PY" "$BIG"
	grep -qE "^pycstorm exec:   (interpreter_crash|code_error) +mods/__pycache__/big\.cpython-311\.pyc " \
		"$SCRATCH/same.err"
	intact_line 2 "$SCRATCH/same.err"
	# A failed round keeps a copy of every file it touched.
	test -f "$SCRATCH/same-run/touched/$BIG.kept"
	test -f "$SCRATCH/same-run/touched/mods/__pycache__/a.cpython-311.pyc.kept"
}
test_ok "a same-length change after the write, by the interpreter that ran: not intact, the judge finds it" \
	intact_refuses_change

STALE_BY_PY='import compileall
compileall.compile_dir("mods", quiet=1, force=True)
open("mods/a.py", "a").write("Y = 2\n")'
intact_refuses_stale() {
	exec_in stale "$PY" -c "$STALE_BY_PY"
	grep -q 'judged 3 .pyc and 0 other: 0 damaged' "$SCRATCH/stale.err"
	intact_line 2 "$SCRATCH/stale.err"
	result_true "$SCRATCH/stale-run/summary.json" exec 'r["by_op"]["import"]["stale"] == 1'
	grep -qx "stale	kept	mods/__pycache__/a.cpython-311.pyc" "$SCRATCH/stale-run/touched.txt"
	echo "X = 'a'" >"$W/mods/a.py"
}
test_ok "a source changed after its compile: not intact, the judge calls it stale" intact_refuses_stale

# What the judge says of a file: header and body checked, the compile skipped.
own_report() {
	mkdir -p "$SCRATCH/rec"
	(cd "$W" && env -u PYTHONDONTWRITEBYTECODE LD_PRELOAD="$PYCSTORM_BIN/libpycstorm-inject.so" \
		PYCSTORM_INJECT_DIRS="$W" PYCSTORM_INJECT_NAMES=__pycache__ \
		PYCSTORM_WRITTEN_DIR="$SCRATCH/rec" "$PY" -m compileall -q -f mods)
	"$PYCSTORM" classify --written "$SCRATCH/rec" "$W/$BIG" >"$SCRATCH/report"
	grep -qx 'header: accepted' "$SCRATCH/report"
	grep -qx "body: unmarshals to a code object, its writer's own complete write (not compared with its source)" \
		"$SCRATCH/report"
	grep -qx 'class: ok' "$SCRATCH/report"
	# Without the records the same file is compiled and compared.
	"$PYCSTORM" classify "$W/$BIG" >"$SCRATCH/report2"
	grep -qx 'body: unmarshals to a code object, the same code as its source' "$SCRATCH/report2"
}
test_ok "classify --written: the header and the body are judged, the compile is not done" own_report

changed_after_close() {
	exits 1 exec_in inplace sh -c "\"\$0\" -m compileall -q -f mods && \"\$0\" -c '$ZERO_IN_PLACE' $BIG" "$PY"
	grep -qE "^pycstorm exec:   (interpreter_crash|code_error) +mods/__pycache__/big\\.cpython-311\\.pyc " \
		"$SCRATCH/inplace.err"
	# a.py's and b.py's caches are still their writer's images.
	own_line 2 "$SCRATCH/inplace.err"
}
test_ok "bytes changed in place after the program closed the file: a zero block in the bytecode is found" \
	changed_after_close

written_by_pwrite() {
	exits 1 exec_in pwrite sh -c "\"\$0\" -m compileall -q -f mods && \"\$0\" -c '$ZERO_BY_PWRITE' $BIG" "$PY"
	grep -qE "^pycstorm exec:   (interpreter_crash|code_error) +mods/__pycache__/big\\.cpython-311\\.pyc " \
		"$SCRATCH/pwrite.err"
}
test_ok "a whole file written with pwrite is no plain stream: its zero block is found" written_by_pwrite

short_writes() {
	(cd "$W" && PYCSTORM_NO_CACHE=1 "$PYCSTORM" exec -f short-write:p=1 -o "$SCRATCH/short-run" \
		-- "$PY" -m compileall -q -f mods >"$SCRATCH/short.out" 2>"$SCRATCH/short.err") && return 1
	grep -qE '^pycstorm exec:   eof +mods/__pycache__/big\.cpython-311\.pyc ' "$SCRATCH/short.err"
	not grep -q 'of the \.pyc files are the very bytes' "$SCRATCH/short.err"
}
test_ok "streams a fault shortened never pass for their writer's image" short_writes

# A power cut after the program's complete write: the sectors it loses
# change the bytes, so the file is no longer its writer's image and gets
# the full judgement. Some seeds lose sectors inside the bytecode, which
# still unmarshals: the run step finds them (the seeds are searched, with
# a bound, as the cut's effect depends on them).
power_cut() {
	local s found= c="$SCRATCH/cut"
	mkdir -p "$c/mods"
	# 2000 lines: a .pyc of some 150 sectors, most of them bytecode
	"$PY" -c 'import sys
body = "".join("    y = y + x * 3 - %d\n" % (i % 5) for i in range(2000))
open(sys.argv[1], "w").write("def f(x):\n    y = x\n" + body + "    return y\nR = f(2)\n")' "$c/mods/big.py"
	for s in 1 2 3 4 5 6 7 8 9 10 11 12; do
		rm -rf "$c/mods/__pycache__"
		(cd "$c" && "$PYCSTORM" exec -o "$SCRATCH/cut-run" --seed "$s" \
			-f power-cut:model=writeback,at=1s,sector=512 -- "$PY" \
			-c 'import compileall, time; compileall.compile_dir("mods", quiet=1); time.sleep(2)' \
			>/dev/null 2>"$SCRATCH/cut.err") || :
		if grep -qE "^pycstorm exec:   (interpreter_crash|code_error) +mods/__pycache__/big\.cpython-311\.pyc " \
			"$SCRATCH/cut.err"; then
			found=$s
			break
		fi
	done
	diag "seed ${found:-none}"
	test -n "$found"
}
test_ok "sectors a power cut lost inside the bytecode of a complete write: found by the full judgement" power_cut

# The records themselves: one line per plain stream, none for the rest.
# rec_of NAME PYTHON-CODE: run the code under the inject library from $W,
# recording into $SCRATCH/NAME; print how many records name a.pyc's path.
PYC_A="$W/mods/__pycache__/a.pyc"
rec_of() {
	local name=$1 code=$2
	mkdir -p "$SCRATCH/$name"
	(cd "$W" && LD_PRELOAD="$PYCSTORM_BIN/libpycstorm-inject.so" PYCSTORM_INJECT_DIRS="$W" \
		PYCSTORM_INJECT_NAMES=__pycache__ PYCSTORM_WRITTEN_DIR="$SCRATCH/$name" \
		"$PY" -c "$code" "$PYC_A")
	cat "$SCRATCH/$name"/written-* 2>/dev/null | grep -c " $PYC_A\$" || :
}
records() {
	local got
	got=$(rec_of plain 'import sys; f = open(sys.argv[1], "wb"); f.write(b"ab" * 1000); f.write(b"c"); f.close()')
	[ "$got" = 1 ] || { diag "plain: $got records"; return 1; }
	# The digest is the file's: length, CRC-32 of the even and of the odd bytes.
	"$JSON_PY" -c 'import binascii, sys
d = open(sys.argv[1], "rb").read()
want = "%d %08x %08x %s" % (len(d), binascii.crc32(d[0::2]), binascii.crc32(d[1::2]), sys.argv[1])
got = open(sys.argv[2]).read().splitlines()
sys.exit(0 if got == [want] else "#   %r != %r" % (got, [want]))' "$PYC_A" "$(ls "$SCRATCH"/plain/written-*)" || return 1
	got=$(rec_of seek 'import sys; f = open(sys.argv[1], "wb"); f.write(b"ab"); f.seek(0); f.write(b"x"); f.close()')
	[ "$got" = 0 ] || { diag "seek: $got records"; return 1; }
	got=$(rec_of append 'import sys; f = open(sys.argv[1], "ab"); f.write(b"ab"); f.close()')
	[ "$got" = 0 ] || { diag "append: $got records"; return 1; }
	got=$(rec_of trunc 'import os, sys; f = open(sys.argv[1], "wb"); f.write(b"abc"); f.flush(); os.ftruncate(f.fileno(), 1); f.close()')
	[ "$got" = 0 ] || { diag "ftruncate: $got records"; return 1; }
	# A child closing the descriptor it inherited ends nothing of its parent's.
	got=$(rec_of fork 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC); os.write(fd, b"ab")
pid = os.fork()
if pid == 0:
    os.close(fd); os._exit(0)
os.waitpid(pid, 0); os.write(fd, b"cd"); os.close(fd)')
	[ "$got" = 1 ] && grep -q "^4 " "$SCRATCH"/fork/written-*
}
test_ok "a record per plain stream; none after a seek elsewhere, O_APPEND, a truncate, or a child's close" records

other_release() {
	exec_in rel sh -c '"$0" -m compileall -q -f mods && "$1" -m compileall -q -f mods' "$PY" "$PY312"
	grep -q 'judged 6 .pyc and 0 other: 0 damaged' "$SCRATCH/rel.err"
	own_line 6 "$SCRATCH/rel.err"
	not grep -q 'could not be judged' "$SCRATCH/rel.err"
}
# Under 3.11, a round whose only .pyc files are 3.12's: classify judges them
# with 3.12, and the 3.11 judge, which would take none, never starts.
other_release_only() {
	exec_in relonly "$PY" -c 'import subprocess, sys
subprocess.run([sys.argv[1], "-m", "compileall", "-q", "-f", "mods"], check=True)' "$PY312"
	grep -q "^pycstorm exec: python: $PY .*(from the command)" "$SCRATCH/relonly.err"
	grep -q 'judged 3 .pyc and 0 other: 0 damaged' "$SCRATCH/relonly.err"
	not grep -q 'could not be judged' "$SCRATCH/relonly.err"
	not grep -q '"type": "judge"' "$SCRATCH/relonly-run/events.jsonl"
}
if [ -n "$PY312" ]; then
	test_ok "files of another release go to classify, with the records too" other_release
	test_ok "a round with only another release's files starts no judge" other_release_only
else
	skip "files of another release go to classify" "no pyenv 3.12"
	skip "a round with only another release's files starts no judge" "no pyenv 3.12"
fi

bad_written() {
	one_line_exit 2 "^pycstorm: classify: --written '$SCRATCH/none': No such file or directory\$" \
		"$PYCSTORM" classify --written "$SCRATCH/none" "$W/$BIG"
}
test_ok "classify --written with no such folder: one line, exit 2" bad_written

done_testing
