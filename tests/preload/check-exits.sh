#!/bin/sh
# The inject library runs inside the user's process and must never end it:
# no exit, abort or assert may be linked into it, nor die() (die.c is for
# programs), and its own failure hook must be there. Reads the built
# library with nm; TAP output, exit 1 on any failure.
#
#   tests/preload/check-exits.sh bin/libpycstorm-inject.so
lib=$1
[ -n "$lib" ] && [ -f "$lib" ] || { echo "usage: $0 LIBRARY.so" >&2; exit 2; }
command -v nm >/dev/null 2>&1 || { echo "1..0 # SKIP nm not found"; exit 0; }

n=0
failed=0
check() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

# What it imports, one bare name a line (versions cut off).
imports=$(nm -D --undefined-only "$lib" | awk '{ sub(/@.*/, "", $NF); print $NF }') &&
	[ -n "$imports" ]
check $? "nm lists what $lib imports"
# Every symbol it holds, its own hidden ones included (the library is not stripped).
defined=$(nm --defined-only "$lib" | awk '{ print $NF }') && [ -n "$defined" ]
check $? "nm lists what $lib defines"

bad=$(printf '%s\n' "$imports" |
	grep -xE 'exit|_exit|_Exit|quick_exit|abort|__assert_fail|err|errx|verr|verrx|pthread_exit')
test -z "$bad"
check $? "imports nothing that ends the process${bad:+ (found: $(echo $bad))}"

bad=$(printf '%s\n' "$defined" | grep -xE 'die|warn|die_on_failure|die_init')
test -z "$bad"
check $? "links no die.c${bad:+ (found: $(echo $bad))}"

printf '%s\n' "$defined" | grep -qx inject_failed &&
	printf '%s\n' "$defined" | grep -qx set_failure_hook
check $? "has its own failure hook (inject_failed, installed with set_failure_hook)"

echo "1..$n"
exit $failed
