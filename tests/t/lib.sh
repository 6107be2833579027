# TAP helpers for pycstorm's integration tests, in the spirit of git's
# test-lib: each check prints "ok N - name" or "not ok N - name", the plan
# comes at the end, and the script's exit status is non-zero if any failed.
#
# Every test gets its own scratch folder ($SCRATCH), removed at exit.

set -u
: "${PYCSTORM_BIN:?run through make check, which sets PYCSTORM_BIN}"
: "${PYCSTORM_PYTHON:=/usr/bin/python3}"
PYCSTORM="$PYCSTORM_BIN/pycstorm"
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$TESTS_DIR/../.." && pwd)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pycstorm-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
# pycstorm keeps probe answers and verdicts between runs: each test starts
# with none, so no test leans on what an earlier one left.
export XDG_CACHE_HOME="$SCRATCH/cache"
# The JSON the tests read is parsed by a Python tool, not by pycstorm.
JSON_PY=${JSON_PY:-/usr/bin/python3}

_n=0
_failed=0

# _tap STATUS NAME: print the check's line; count it as failed unless STATUS is 0.
_tap() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

# A check whose verdict is the status of whatever ran last can pass while
# its first commands failed: there is no such helper. Say so loudly if one
# is called.
ok() {
	echo "Bail out! ok '$1': wrap the check in test_ok, which checks every command"
	exit 255
}

# _failed_at LINE: test_ok's ERR trap. Names the command that ended the
# check, on stderr (so that a $(...) never captures it); inside $(...),
# where set -e is off, it says nothing.
_failed_at() {
	case $- in
	*e*) printf '#   failed at line %s: %s\n' "$1" "${2%%$'\n'*}" >&2 ;;
	esac
}

# test_ok NAME CMD...: run CMD (usually a shell function holding one check)
# in a subshell under `set -e`, so every command in it counts, not only the
# last; pass when it runs to the end. set -e overlooks a failure on the left
# of `&&` or `||` and after `!`: inside a check, write each assertion as a
# command of its own, `not CMD` for a negation and `exits CODE CMD` for an
# expected failure. Never call test_ok itself in a condition: set -e would
# then be off inside it.
test_ok() {
	local name=$1
	shift
	(
		set -eE
		trap '_failed_at "$LINENO" "$BASH_COMMAND"' ERR
		"$@"
	)
	_tap $? "$name"
}

# not CMD...: succeeds when CMD fails (a `! CMD` that set -e acts on).
not() {
	if "$@"; then
		diag "succeeded, wanted a failure: $*" >&2
		return 1
	fi
	return 0
}

# quiet CMD...: CMD with its stdout thrown away (a check's own TAP line
# must not be).
quiet() {
	"$@" >/dev/null
}

# exits CODE CMD...: CMD exits with CODE (its output is left alone).
exits() {
	local code=$1 rc=0
	shift
	"$@" || rc=$?
	if [ $rc -ne "$code" ]; then
		diag "exit $rc, wanted $code: $*" >&2
		return 1
	fi
}

skip() { # skip NAME REASON
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP $2"
}

diag() { printf '# %s\n' "$@"; }

wait_for() { # wait_for SECONDS CMD...: poll, with a bound, until CMD succeeds
	local limit=$(($1 * 10))
	shift
	while [ $limit -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		limit=$((limit - 1))
	done
	return 1
}

done_testing() {
	echo "1..$_n"
	[ $_failed -eq 0 ]
}

# json FILE EXPR: print a Python expression over the loaded JSON as 'j'.
json() {
	"$JSON_PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); r=eval(sys.argv[2]); print(r if not isinstance(r,(dict,list)) else json.dumps(r))' "$1" "$2"
}

# result FILE STRATEGY EXPR: the same over one strategy's entry as 'r'.
result() {
	"$JSON_PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); r=[x for x in j["results"] if x["strategy"]==sys.argv[2]][0]; v=eval(sys.argv[3]); print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1" "$2" "$3"
}

# json_true FILE EXPR / result_true FILE STRATEGY EXPR: succeed when the
# Python expression (over the JSON as 'j', one strategy's entry as 'r') is
# true; a false one is named on stderr, a missing key fails with its error.
json_true() {
	"$JSON_PY" -c 'import json,re,sys
j=json.load(open(sys.argv[1]))
if not eval("(%s)" % sys.argv[2]):
    sys.exit("#   false in %s: %s" % (sys.argv[1], sys.argv[2]))' "$1" "$2"
}

result_true() {
	"$JSON_PY" -c 'import json,re,sys
j=json.load(open(sys.argv[1]))
rs=[x for x in j["results"] if x["strategy"]==sys.argv[2]]
if len(rs) != 1:
    sys.exit("#   %s: %d results for strategy %s" % (sys.argv[1], len(rs), sys.argv[2]))
r=rs[0]
if not eval("(%s)" % sys.argv[3]):
    seen = {k: v for k, v in r.items() if "\"%s\"" % k in sys.argv[3]}
    sys.exit("#   false for %s in %s: %s\n#   where %s" % (sys.argv[2], sys.argv[1], sys.argv[3], json.dumps(seen)))' "$1" "$2" "$3"
}

# confirmed PYTHON FOLDER...: how many kept evidence folders fail in the
# real interpreter PYTHON with exactly the error their README recorded (the
# README's `check:` statement is run in the folder, in a fresh process).
confirmed() {
	local python=$1 d want check got n=0
	shift
	for d in "$@"; do
		[ -f "$d/README" ] || continue
		want=$(sed -n 's/^error: //p' "$d/README")
		check=$(sed -n 's/^check: //p' "$d/README")
		got=$(cd "$d" && "$python" -B -c "import sys; sys.path.insert(0, '.'); $check" 2>&1 | tail -n 1)
		[ -n "$want" ] && [ "$got" = "$want" ] && n=$((n + 1))
	done
	echo $n
}

# one_line_exit CODE PATTERN CMD...: CMD exits CODE, prints exactly one
# line on stderr matching PATTERN and nothing on stdout. CMD's failure is
# what is checked, so it does not end a test_ok check by itself.
one_line_exit() {
	local code=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
	if [ $rc -ne "$code" ]; then
		diag "exit $rc, wanted $code"; cat "$SCRATCH/err" >&2; return 1
	fi
	if [ "$(wc -l <"$SCRATCH/err")" -ne 1 ] || ! grep -qE -- "$pattern" "$SCRATCH/err"; then
		diag "stderr was:"; sed 's/^/#   /' "$SCRATCH/err"; return 1
	fi
	[ ! -s "$SCRATCH/out" ]
}

# skip_if_asan_preload WHAT: under SANITIZE=address the inject library
# carries the ASan runtime, which cannot be preloaded into a real
# interpreter that was not built with it; a test file whose every check
# preloads it into one is skipped whole, naming why (the plain pass runs it).
skip_if_asan_preload() {
	case "${PYCSTORM_SANITIZE:-}" in
	*address*)
		echo "1..0 # SKIP $1: the inject library built with AddressSanitizer cannot be preloaded into a real interpreter"
		exit 0
		;;
	esac
}

# Where pyenv keeps its interpreters (the folder may be absent).
PYENV_VERSIONS=$( (pyenv root 2>/dev/null || echo "$HOME/.pyenv") | sed 's|$|/versions|')

# pyenv_python X.Y: the path of pyenv's pythonX.Y, or nothing.
pyenv_python() {
	ls "$PYENV_VERSIONS"/"$1".*/bin/python"$1" 2>/dev/null | head -n 1
}

# skip_unless_executable PROGRAM: a test file whose every check runs
# PROGRAM is skipped whole, naming it, where it is absent.
skip_unless_executable() {
	if [ ! -x "$1" ]; then
		echo "1..0 # SKIP no $1"
		exit 0
	fi
}

# asan_preload: true under SANITIZE=address (see skip_if_asan_preload).
asan_preload() {
	case "${PYCSTORM_SANITIZE:-}" in *address*) return 0 ;; esac
	return 1
}
