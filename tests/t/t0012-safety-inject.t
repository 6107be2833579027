#!/bin/bash
# Faults stay inside the caches (issue 12, item 3). A path is a target only
# where it really lies: '..' folded and symbolic links followed as the
# kernel follows them, never through a link as the last component, and the
# cache names counted only below the scope folder. `run` never writes
# through a strategy folder that is a link, and `exec` refuses a scope in
# which no fault could fire, or that would reach every cache on the machine.
#
# Every escape check writes 4000 bytes with os.write (a short write stays
# short) to a file outside the caches, the victim, and to one inside them,
# the control: the victim keeps everything, the control proves the faults
# were armed and firing in the same process.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
SIZE=4000
WRITE='import os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, bytes(4000))
    except OSError:
        pass
    os.close(fd)'

# bounded CMD...: in its own session (whatever it signals, the test runner
# is not in it), killed after 60 s.
bounded() { setsid -w timeout -s KILL 60 "$@"; }

# pycstorm_exec DIR ARGS...: `pycstorm exec -q ARGS` from DIR, into a fresh
# run folder; stderr in $SCRATCH/exec.err.
pycstorm_exec() {
	local dir=$1
	shift
	(cd "$dir" && bounded "$PYCSTORM" exec -q -o "$(mktemp -u "$SCRATCH/run.XXXXXX")" "$@") \
		2>"$SCRATCH/exec.err"
}

size() { stat -c %s "$1"; }
whole() { [ "$(size "$1")" -eq $SIZE ]; }
cut_short() { [ "$(size "$1")" -lt $SIZE ]; }

# A project folder with a cache, and a folder beside it that is not ours.
W="$SCRATCH/w"
OUT="$SCRATCH/outside"
mkdir -p "$W/proj/__pycache__" "$OUT"

# The checks that preload the library into a real interpreter: skipped
# where it cannot be preloaded, as in t0009.
preloaded() { # preloaded NAME FUNC
	if [ ! -x "$PY" ]; then
		skip "$1" "no $PY"
	elif case "${PYCSTORM_SANITIZE:-}" in *address*) true ;; *) false ;; esac; then
		skip "$1" "the inject library built with AddressSanitizer cannot be preloaded into $PY"
	else
		test_ok "$@"
	fi
}

# --- escapes under exec's default scope ------------------------------------------------
dotdot_escape() {
	pycstorm_exec "$W/proj" --fault short-write:p=1 -- \
		"$PY" -c "$WRITE" __pycache__/../dotdot.txt __pycache__/control.bin
	whole "$W/proj/dotdot.txt" && cut_short "$W/proj/__pycache__/control.bin"
}
preloaded "__pycache__/../dotdot.txt is not cut short (the cache file beside it is)" dotdot_escape

absolute_escape() {
	pycstorm_exec "$W/proj" --fault short-write:p=1 -- \
		"$PY" -c "$WRITE" "$W/proj/__pycache__/../../../outside/abs.txt" "$W/proj/__pycache__/control.bin"
	whole "$OUT/abs.txt" && cut_short "$W/proj/__pycache__/control.bin"
}
preloaded "an absolute path climbing out of __pycache__ with .. is not cut short" absolute_escape

symlink_escape() {
	printf 'x' >"$OUT/victim.txt"
	ln -sfn "$OUT/victim.txt" "$W/proj/__pycache__/link"
	pycstorm_exec "$W/proj" --fault short-write:p=1 -- \
		"$PY" -c "$WRITE" __pycache__/link __pycache__/control.bin
	whole "$OUT/victim.txt" && cut_short "$W/proj/__pycache__/control.bin"
}
preloaded "a symlink __pycache__/link -> outside/victim.txt is not faulted through" symlink_escape

linked_folder_escape() {
	ln -sfn "$OUT" "$W/proj/__pycache__/elsewhere"
	pycstorm_exec "$W/proj" --fault short-write:p=1 -- \
		"$PY" -c "$WRITE" __pycache__/elsewhere/through.txt __pycache__/control.bin
	whole "$OUT/through.txt" && cut_short "$W/proj/__pycache__/control.bin"
}
preloaded "a file below a linked folder __pycache__/elsewhere -> outside is not cut short" \
	linked_folder_escape

named_cwd_escape() {
	local cwd="$SCRATCH/x/__pycache__/proj"
	mkdir -p "$cwd/sub" "$cwd/__pycache__"
	pycstorm_exec "$cwd" --fault short-write:p=1 -- \
		"$PY" -c "$WRITE" sub/file.txt top.txt __pycache__/control.bin
	whole "$cwd/sub/file.txt" && whole "$cwd/top.txt" && cut_short "$cwd/__pycache__/control.bin"
}
preloaded "below a current folder whose path holds __pycache__, only the caches below it are hit" \
	named_cwd_escape

# dup2 replaces a cache file's descriptor with the victim's behind the
# library's back: the number alone must not make the victim a target.
DUP='import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, bytes(4000))
victim = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.dup2(victim, fd)
os.write(fd, bytes(4000))'
reused_descriptor() {
	pycstorm_exec "$W/proj" --fault short-write:p=1 -- \
		"$PY" -c "$DUP" __pycache__/dup-control.bin "$OUT/dup.txt"
	whole "$OUT/dup.txt" && cut_short "$W/proj/__pycache__/dup-control.bin"
}
preloaded "a cache file's descriptor number reused by dup2 for another file is not faulted" \
	reused_descriptor

# Guards the per-folder table: '__pycache__' is remembered for the first
# current folder and must be looked at again after os.chdir. (The code
# before the table passed this as well: it asked getcwd() on every call.)
CHDIR='import os, sys
def write(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, bytes(4000))
    os.close(fd)
write("__pycache__/chdir-control.bin")
os.chdir(sys.argv[1])
write("__pycache__/victim.bin")'
chdir_moves_relative_paths() {
	mkdir -p "$OUT/__pycache__"
	pycstorm_exec "$W/proj" --fault short-write:p=1 -- "$PY" -c "$CHDIR" "$OUT"
	whole "$OUT/__pycache__/victim.bin" && cut_short "$W/proj/__pycache__/chdir-control.bin"
}
preloaded "after os.chdir out of the scope, a relative __pycache__ path is not faulted" \
	chdir_moves_relative_paths

# --- --cache-dir ---------------------------------------------------------------------
cache_dir_dotdot() {
	mkdir -p "$W/cd/cache"
	pycstorm_exec "$W/cd" --fault write-error:p=1 --cache-dir cache -- \
		"$PY" -c "$WRITE" cache/../data.txt cache/control.bin
	whole "$W/cd/data.txt" && [ "$(size "$W/cd/cache/control.bin")" -eq 0 ]
}
preloaded "--cache-dir cache: write-error does not empty cache/../data.txt" cache_dir_dotdot

trailing_slash_not_created() {
	mkdir -p "$W/ts"
	pycstorm_exec "$W/ts" --fault short-write:p=1 --cache-dir c2/ -- \
		sh -c 'mkdir c2 && exec "$0" -c "$1" c2/f' "$PY" "$WRITE"
	cut_short "$W/ts/c2/f" && ! grep -q 'no armed fault fired' "$SCRATCH/exec.err"
}
preloaded "--cache-dir c2/ (trailing slash, created by the command) is hit" \
	trailing_slash_not_created

nothing_fired() {
	mkdir -p "$W/nf"
	pycstorm_exec "$W/nf" --fault short-write:p=1 -- "$PY" -c "$WRITE" plain.txt
	whole "$W/nf/plain.txt" &&
		[ "$(grep -c '^pycstorm: warning: exec: no armed fault fired: nothing the command did reached __pycache__, .* below ' "$SCRATCH/exec.err")" -eq 1 ]
}
preloaded "a round in which the armed faults never fired says so in one line, even with -q" \
	nothing_fired

# The command did write a cache file, and the fault's chance never came up.
chances_never_came() {
	mkdir -p "$W/cn/__pycache__"
	pycstorm_exec "$W/cn" --fault short-write:p=0.000001 -- "$PY" -c "$WRITE" __pycache__/c.bin
	whole "$W/cn/__pycache__/c.bin" &&
		[ "$(grep -c '^pycstorm: warning: exec: no armed fault fired, though the command wrote 1 cache file in __pycache__, .* below .*: the faults. chances never came up (raise p=, or run more rounds)$' "$SCRATCH/exec.err")" -eq 1 ]
}
preloaded "a round whose command wrote caches but whose faults never came up says that instead" \
	chances_never_came

# --- exec refuses scopes where nothing can fire, or everything would --------------------
from_root() {
	cd /
	one_line_exit 2 "^pycstorm: exec: the current folder is '/': the default scope would reach every cache on the machine; give --cache-dir DIR$" \
		bounded "$PYCSTORM" exec -q -o "$SCRATCH/from-root" --fault short-write:p=1 -- true &&
		[ ! -e "$SCRATCH/from-root" ]
}
test_ok "exec from / with the default scope: exit 2, one line, nothing created" from_root

cache_dir_is_file() {
	printf 'data' >"$W/afile"
	cd "$W"
	one_line_exit 2 "^pycstorm: exec: --cache-dir 'afile' is not a folder: no file below it can be faulted$" \
		bounded "$PYCSTORM" exec -q -o "$SCRATCH/file-dir" --fault short-write:p=1 --cache-dir afile -- true &&
		[ "$(cat "$W/afile")" = data ]
}
test_ok "--cache-dir naming a regular file: exit 2, one line" cache_dir_is_file

cache_dir_below_file() {
	cd "$W"
	one_line_exit 2 "^pycstorm: exec: cannot resolve --cache-dir 'afile/sub': Not a directory$" \
		bounded "$PYCSTORM" exec -q -o "$SCRATCH/below-file" --fault short-write:p=1 --cache-dir afile/sub -- true &&
		[ ! -e "$SCRATCH/below-file" ]
}
test_ok "--cache-dir below a regular file: exit 2, one line, nothing created" cache_dir_below_file

cache_dir_root() {
	cd "$W"
	one_line_exit 2 "^pycstorm: exec: --cache-dir '/tmp/\.\./' is the root folder: faults would reach every file on the machine$" \
		bounded "$PYCSTORM" exec -q -o "$SCRATCH/root-dir" --fault short-write:p=1 --cache-dir /tmp/../ -- true &&
		[ ! -e "$SCRATCH/root-dir" ]
}
test_ok "--cache-dir resolving to /: exit 2, one line, nothing created" cache_dir_root

cache_dir_unwritable() {
	mkdir -p "$W/ro"
	chmod 555 "$W/ro"
	cd "$W"
	one_line_exit 2 "^pycstorm: exec: --cache-dir 'ro/new': nothing can be written there \(Permission denied\), so no fault could fire$" \
		bounded "$PYCSTORM" exec -q -o "$SCRATCH/ro-dir" --fault short-write:p=1 --cache-dir ro/new -- true &&
		[ ! -e "$SCRATCH/ro-dir" ]
}
if [ "$(id -u)" -eq 0 ]; then
	skip "--cache-dir where nothing can be written: exit 2, one line" "root may write anywhere"
else
	test_ok "--cache-dir where nothing can be written: exit 2, one line" cache_dir_unwritable
fi

# --- run: a strategy folder that is a link ----------------------------------------------
# A cache folder is pycstorm's only once marked (a first run marks it); a
# link planted in it afterwards is removed as a link, never followed.
# marked_cache CACHE: a cache folder a real run made and marked.
marked_cache() {
	bounded "$PYCSTORM" run -q -s py33-atomic -j 1 -n 2 --seed 1 --cache-dir "$1" \
		-o "$(mktemp -u "$SCRATCH/run.XXXXXX")" >/dev/null
}

# faulted_run CACHE: a run with every write cut short, on CACHE.
faulted_run() {
	bounded "$PYCSTORM" run -q -s py33-atomic -j 1 -n 5 --seed 1 --cache-dir "$1" \
		-o "$(mktemp -u "$SCRATCH/run.XXXXXX")" --fault short-write:p=1 >/dev/null
}

run_linked_strategy() {
	local cache="$SCRATCH/run-cache" theirs="$SCRATCH/theirs"
	mkdir -p "$theirs"
	printf 'user data\n' >"$theirs/medium.py"
	marked_cache "$cache"
	rm -rf "$cache/py33-atomic"
	ln -s "$theirs" "$cache/py33-atomic"
	faulted_run "$cache"
	[ ! -L "$cache/py33-atomic" ] && [ -d "$cache/py33-atomic/__pycache__" ] &&
		[ "$(cat "$theirs/medium.py")" = "user data" ] && [ "$(ls -A "$theirs")" = medium.py ]
}
test_ok "run: a strategy folder inside --cache-dir that links elsewhere is not written through" \
	run_linked_strategy

run_linked_source() {
	local cache="$SCRATCH/run-cache2" theirs="$SCRATCH/theirs2"
	mkdir -p "$theirs"
	printf 'user data\n' >"$theirs/small.py"
	marked_cache "$cache"
	rm -f "$cache/py33-atomic/medium.py"
	ln -s "$theirs/small.py" "$cache/py33-atomic/medium.py"
	faulted_run "$cache"
	[ "$(cat "$theirs/small.py")" = "user data" ] && [ ! -L "$cache/py33-atomic/medium.py" ]
}
test_ok "run: a source file in a strategy folder that links elsewhere is not written through" \
	run_linked_source

done_testing
