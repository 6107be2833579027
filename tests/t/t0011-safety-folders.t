#!/bin/bash
# pycstorm writes, clears and deletes only folders it made and marked: -o
# and --cache-dir refuse a folder of the user's (not empty and unmarked,
# through a link, the home or the root folder) and one in use by another
# run; exec keeps out of the user's tree; a run removes the cache folders
# that dead runs left, and only those; replay runs only what a replay.args
# may say, and names the interpreter first.
. "$(dirname "$0")/lib.sh"

# listing DIR: each entry's type, path, size, mtime and link target, then
# each file's checksum. The same before and after: nothing was touched.
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%y %p %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# user_folder DIR: the user's own files, some under names pycstorm writes.
user_folder() {
	mkdir -p "$1/output" "$1/evidence" "$1/.state"
	echo mine >"$1/notes.txt"
	echo mine >"$1/summary.json"
	echo mine >"$1/output/copy-0.out"
	echo mine >"$1/.state/keep"
}

# quick ARGS...: a short run in its own session, bounded.
quick() {
	setsid -w timeout -s KILL 120 "$PYCSTORM" run -s py33-atomic -j 1 -n 5 -q "$@"
}

# long NAME ARGS...: a run of up to 60 s in the background, in its own
# session (its group id in $group); $SCRATCH/NAME is its run folder.
long() {
	local name=$1
	shift
	setsid -w timeout -s KILL 120 "$PYCSTORM" run -s py33-atomic -j 1 -d 60s \
		-o "$SCRATCH/$name" "$@" >"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err" &
	group=$!
}

# cache_of NAME: the cache folder the run NAME announced, once it has.
cache_of() {
	wait_for 30 grep -qs '; cache ' "$SCRATCH/$1.out"
	sed -n 's/.*; cache \(.*\) ([a-z0-9]*); results .*/\1/p' "$SCRATCH/$1.out"
}

# run_pid GROUP: the run's own process, timeout's one child in the group.
run_pid() { pgrep -P "$1" -x pycstorm; }

# stop GROUP: Ctrl-C the run of that group and wait for it; its timeout
# bounds the wait. Used by the checks' exit traps, which run after a
# function's locals are gone: what they name is global to the check.
stop() {
	local pid
	[ -n "$1" ] || return 0
	pid=$(run_pid "$1") && kill -INT "$pid"
	wait "$1" 2>/dev/null || :   # (cleanup: the run was told to stop, its status is not checked here)
}

# --- -o ------------------------------------------------------------------------
refuse_user_folder() {
	user_folder "$SCRATCH/mine"
	before=$(listing "$SCRATCH/mine")
	one_line_exit 2 "run: -o '.*/mine' is not empty and not a pycstorm run folder" \
		quick -o "$SCRATCH/mine"
	[ "$(listing "$SCRATCH/mine")" = "$before" ]
	# while a run folder of pycstorm's is reused: its own files replaced,
	# a file the user added kept
	quick -o "$SCRATCH/again" --seed 1
	echo mine >"$SCRATCH/again/notes.txt"
	echo old >"$SCRATCH/again/evidence/old-file"
	quick -o "$SCRATCH/again" --seed 2
	[ "$(json "$SCRATCH/again/summary.json" 'j["seed"]')" = 2 ] &&
		[ ! -e "$SCRATCH/again/evidence/old-file" ] && [ "$(cat "$SCRATCH/again/notes.txt")" = mine ]
}
test_ok "-o on a folder of the user's: exit 2, one line, nothing changes; one of ours is reused" \
	refuse_user_folder

refuse_link() {
	ln -s mine "$SCRATCH/mine-link"
	before=$(listing "$SCRATCH/mine")
	one_line_exit 2 "run: -o '.*/mine-link' \(.*/mine\) is not empty and not a pycstorm run folder" \
		quick -o "$SCRATCH/mine-link"
	[ "$(listing "$SCRATCH/mine")" = "$before" ]
}
test_ok "-o through a symbolic link: decided on where it leads, refused the same" refuse_link

refuse_home() {
	local home="$SCRATCH/home" empty="$SCRATCH/empty-home"
	mkdir -p "$home/.config" "$empty"
	echo mine >"$home/.profile"
	before=$(listing "$home")
	(export HOME="$home" && one_line_exit 2 "run: -o '.*/home' is the home folder" quick -o ~)
	(export HOME="$home" && one_line_exit 2 "is the home folder" quick -o ~/.config/..)
	# even an empty home is nobody's run folder
	(export HOME="$empty" && one_line_exit 2 "is the home folder" quick -o ~)
	[ "$(listing "$home")" = "$before" ] && [ -z "$(ls -A "$empty")" ]
}
test_ok "-o ~ (a fake HOME): exit 2, one line, untouched" refuse_home

# CMD in a mount namespace of its own where / is read-only: even a
# pycstorm that took / could not write there.
readonly_root() {
	unshare -m --propagation private sh -c 'mount -o remount,bind,ro / && exec "$@"' sh "$@"
}

refuse_root() {
	one_line_exit 2 "run: -o '/' is the root folder" readonly_root \
		setsid -w timeout -s KILL 60 "$PYCSTORM" run -s py33-atomic -j 1 -n 5 -q -o /
	one_line_exit 2 "run: -o '/tmp/\.\./\.' \(/\) is the root folder" readonly_root \
		setsid -w timeout -s KILL 60 "$PYCSTORM" run -s py33-atomic -j 1 -n 5 -q -o /tmp/../.
}
if readonly_root true 2>/dev/null; then
	test_ok "-o / (with / read-only around it): exit 2, one line" refuse_root
else
	skip "-o / (with / read-only around it)" "cannot make a mount namespace here"
fi

empty_name() {
	quick -o "$SCRATCH/small"
	one_line_exit 2 "^pycstorm: run: -o '' names no folder$" quick -o ''
	one_line_exit 2 "^pycstorm: exec: -o '' names no folder$" \
		setsid -w timeout -s KILL 60 "$PYCSTORM" exec -q -o '' -- true
	one_line_exit 2 "^pycstorm: merge: -o '' names no folder$" \
		setsid -w timeout -s KILL 60 "$PYCSTORM" merge "$SCRATCH/small" -o ''
}
test_ok "-o '' (run, exec, merge): exit 2, one line" empty_name

in_use() {
	local holder rc=0
	long busy -q
	first=$group
	trap 'stop "$first"' EXIT
	# once it has counted cycles, so that it has results to keep
	wait_for 30 grep -qs '"type": "batch"' "$SCRATCH/busy/events.jsonl"
	one_line_exit 2 "run: -o '.*/busy' is in use by pid [0-9]+$" quick -o "$SCRATCH/busy"
	holder=$(sed -n 's/.*in use by pid \([0-9]*\)$/\1/p' "$SCRATCH/err")
	[ "$holder" = "$(run_pid "$first")" ]
	kill -INT "$holder"
	wait "$first" || rc=$?
	[ "$rc" -eq 130 ]
	[ "$(json "$SCRATCH/busy/summary.json" 'j["interrupted"]')" = True ] &&
		[ "$(json "$SCRATCH/busy/summary.json" 'sum(r["cycles"] for r in j["results"]) > 0')" = True ]
}
test_ok "two runs on one -o: the second is refused (exit 2, names the pid), the first keeps its results" in_use

# Clearing a reused run folder removes a link, never what it points at, and
# stops at a mount point the user put in it.
clear_in_place() {
	mnt="$SCRATCH/keep/evidence/mnt"
	quick -o "$SCRATCH/keep"
	mkdir -p "$SCRATCH/victim" "$mnt"
	echo mine >"$SCRATCH/victim/file"
	ln -s "$SCRATCH/victim" "$SCRATCH/keep/evidence/link"
	trap 'umount "$mnt" 2>/dev/null' EXIT
	mount -t tmpfs -o size=64k tmpfs "$mnt"
	echo mine >"$mnt/file"
	quick -o "$SCRATCH/keep"
	[ ! -L "$SCRATCH/keep/evidence/link" ] && [ -f "$SCRATCH/victim/file" ] && [ -f "$mnt/file" ]
}
if mkdir -p "$SCRATCH/probe" && mount -t tmpfs -o size=64k tmpfs "$SCRATCH/probe" 2>/dev/null; then
	umount "$SCRATCH/probe"
	test_ok "clearing a reused run folder follows no link and stops at a mount point" clear_in_place
else
	skip "clearing a reused run folder follows no link and stops at a mount point" \
		"cannot mount a small tmpfs here"
fi

# --- --cache-dir ------------------------------------------------------------------
cache_dir_rules() {
	user_folder "$SCRATCH/ucache"
	before=$(listing "$SCRATCH/ucache")
	one_line_exit 2 "run: --cache-dir '.*/ucache' is not empty and not a pycstorm cache folder" \
		quick -o "$SCRATCH/cd1" --cache-dir "$SCRATCH/ucache"
	ln -s ucache "$SCRATCH/ucache-link"
	one_line_exit 2 "run: --cache-dir '.*/ucache-link' \(.*/ucache\) is not empty" \
		quick -o "$SCRATCH/cd2" --cache-dir "$SCRATCH/ucache-link"
	[ "$(listing "$SCRATCH/ucache")" = "$before" ]
	# a new one is made and marked; reused, it starts cold and keeps what
	# the user put beside pycstorm's folders
	quick -o "$SCRATCH/cd3" --cache-dir "$SCRATCH/newcache"
	echo mine >"$SCRATCH/newcache/notes.txt"
	echo old >"$SCRATCH/newcache/py33-atomic/__pycache__/planted.pyc"
	quick -o "$SCRATCH/cd4" --cache-dir "$SCRATCH/newcache"
	[ "$(cat "$SCRATCH/newcache/notes.txt")" = mine ]
	[ ! -e "$SCRATCH/newcache/py33-atomic/__pycache__/planted.pyc" ]
	# a run folder is not a cache folder
	one_line_exit 2 "run: --cache-dir '.*/cd3' is a pycstorm run folder, not a cache folder" \
		quick -o "$SCRATCH/cd5" --cache-dir "$SCRATCH/cd3"
}
test_ok "--cache-dir: a user's folder or a link to one is refused; ours is reused cold" cache_dir_rules

# --- exec -------------------------------------------------------------------------
exec_dot() {
	local p="$SCRATCH/proj"
	user_folder "$p"
	echo 'x = 1' >"$p/mod.py"
	before=$(listing "$p")
	(cd "$p" && one_line_exit 2 "exec: -o '\.' \(.*/proj\) is not empty and not a pycstorm run folder" \
		setsid -w timeout -s KILL 60 "$PYCSTORM" exec -q -o . --fault short-write:p=1 -- true)
	[ "$(listing "$p")" = "$before" ]
	# elsewhere, its state folder is its own, inside its run folder, and gone after
	(cd "$p" && setsid -w timeout -s KILL 60 "$PYCSTORM" exec -q -o "$SCRATCH/proj-run" -- true)
	[ "$(listing "$p")" = "$before" ] && [ -f "$SCRATCH/proj-run/summary.json" ] &&
		[ ! -e "$SCRATCH/proj-run/.state" ]
}
test_ok "exec -o . in the user's folder (with a .state/ of its own): refused, nothing changes" exec_dot

# --- dead runs' cache folders -----------------------------------------------------
stale_caches() {
	live_group= unmarked= kept= dead= link=
	trap 'rm -rf "$unmarked" "$kept" "$dead"; rm -f "$link"; stop "$live_group"' EXIT
	# every run sweeps as it starts, so the dead run is the last one killed
	long kept --keep-cache
	kept=$(cache_of kept)
	kill -KILL -- -"$group"
	exits 137 wait "$group" 2>/dev/null
	long live
	live_group=$group
	live=$(cache_of live)
	wait_for 30 test -d "$live/py33-atomic/__pycache__"
	long dead
	dead=$(cache_of dead)
	kill -KILL -- -"$group"
	exits 137 wait "$group" 2>/dev/null
	[ -d "$dead" ]
	[ -d "$kept" ]
	parent=$(dirname "$dead")
	# named like ours, but not marked
	unmarked=$(mktemp -d "$parent/pycstorm-XXXXXX")
	# named like ours, a link to a dead run's marker somewhere else
	mkdir "$SCRATCH/elsewhere"
	cp "$dead/.pycstorm-owned" "$SCRATCH/elsewhere/"
	echo mine >"$SCRATCH/elsewhere/notes.txt"
	link="$parent/pycstorm-link-$$"
	ln -s "$SCRATCH/elsewhere" "$link"
	quick -o "$SCRATCH/sweeper"
	[ ! -e "$dead" ]
	[ -d "$unmarked" ]
	[ -d "$kept" ]
	[ -d "$live/py33-atomic" ]
	[ -L "$link" ]
	[ -f "$SCRATCH/elsewhere/notes.txt" ]
}
test_ok "a run removes the cache folder a killed run left; not an unmarked one, a kept one, a link or a live run's" \
	stale_caches

# --- replay ---------------------------------------------------------------------
replay() { setsid -w timeout -s KILL 120 "$PYCSTORM" replay "$@"; }

# hostile NAME LINES...: a run folder whose replay.args is a real one with
# LINES added.
hostile() {
	local name=$1
	shift
	mkdir -p "$SCRATCH/$name"
	{ cat "$SCRATCH/orig/replay.args" && printf '%s\n' "$@"; } >"$SCRATCH/$name/replay.args"
}

replay_folders() {
	quick -o "$SCRATCH/orig" --seed 3
	hostile h-out -o "$SCRATCH/victim-out"
	one_line_exit 2 "replay: '.*/h-out/replay.args' names a folder to write in \(-o '.*/victim-out'\)" \
		replay "$SCRATCH/h-out" -q
	[ ! -e "$SCRATCH/victim-out" ]
	# the command line's -o is the one used
	replay "$SCRATCH/h-out" -q -o "$SCRATCH/chosen"
	[ -f "$SCRATCH/chosen/summary.json" ]
	[ ! -e "$SCRATCH/victim-out" ]
	user_folder "$SCRATCH/victim-cache"
	before=$(listing "$SCRATCH/victim-cache")
	hostile h-cache --cache-dir "$SCRATCH/victim-cache"
	one_line_exit 2 "replay: '.*/h-cache/replay.args' names a folder to write in \(--cache-dir" \
		replay "$SCRATCH/h-cache" -q -o "$SCRATCH/h-cache-run"
	[ "$(listing "$SCRATCH/victim-cache")" = "$before" ]
}
test_ok "replay: -o or --cache-dir in replay.args is refused unless the command line chooses" replay_folders

replay_python() {
	local rc=0
	printf '#!/bin/sh\necho ran >>"%s"\nexit 1\n' "$SCRATCH/python-ran" >"$SCRATCH/fake-python"
	chmod +x "$SCRATCH/fake-python"
	hostile h-python --python "$SCRATCH/fake-python"
	replay "$SCRATCH/h-python" -o "$SCRATCH/h-python-run" >"$SCRATCH/h-python.out" 2>/dev/null || rc=$?
	[ "$(head -n 1 "$SCRATCH/h-python.out")" = \
	  "pycstorm replay: the workers run $SCRATCH/fake-python (named in $SCRATCH/h-python/replay.args)" ]
	[ "$rc" -eq 77 ]
}
test_ok "replay names the interpreter replay.args asks for before it runs it" replay_python

bad_replay_args() {
	mkdir "$SCRATCH/r-fifo" "$SCRATCH/r-huge"
	mkfifo "$SCRATCH/r-fifo/replay.args"
	one_line_exit 2 "replay: cannot read '.*/r-fifo/replay.args': not a regular file" \
		replay "$SCRATCH/r-fifo"
	{ cat "$SCRATCH/orig/replay.args" && head -c 100000 /dev/zero | tr '\0' x && echo; } \
		>"$SCRATCH/r-huge/replay.args"
	one_line_exit 2 "replay: '.*/r-huge/replay.args' is larger than 64 KiB" replay "$SCRATCH/r-huge"
	hostile r-unknown --keep-cache
	one_line_exit 2 "replay: '.*/r-unknown/replay.args' holds '--keep-cache', which is not an option" \
		replay "$SCRATCH/r-unknown" -q -o "$SCRATCH/r-unknown-run"
	hostile r-dangling --fault
	one_line_exit 2 "replay: '.*/r-dangling/replay.args' ends in '--fault' without its value" \
		replay "$SCRATCH/r-dangling" -q -o "$SCRATCH/r-dangling-run"
}
test_ok "replay: a FIFO, a huge or an unknown replay.args: exit 2, one line" bad_replay_args

done_testing
