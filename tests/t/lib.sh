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
# The JSON the tests read is parsed by a Python tool, not by pycstorm.
JSON_PY=${JSON_PY:-/usr/bin/python3}

_n=0
_failed=0

ok() { # ok NAME: the last command's status decides
	local status=$?
	_n=$((_n + 1))
	if [ $status -eq 0 ]; then
		echo "ok $_n - $1"
	else
		echo "not ok $_n - $1"
		_failed=$((_failed + 1))
	fi
}

check() { # check NAME CMD...: run CMD, pass if it succeeds
	local name=$1
	shift
	"$@"
	ok "$name"
}

# test_ok NAME CMD...: run CMD (usually a shell function holding one check)
# in a subshell under `set -e`, so every command in it counts, not only the
# last; pass when it runs to the end. Inside, write `a && b` only as the last
# command, since set -e ignores a failure on the left of `&&`.
test_ok() {
	local name=$1
	shift
	(set -e; "$@")
	ok "$name"
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
