#!/bin/sh
# Gate a distro Python update with pycstorm. Exact first: the fault matrix of
# the interpreter's own cache writes (native), every call of one write with
# every fault, compared cell by cell; then the race scenarios gh126606,
# enospc and mypy3215 with their faults. With OLD set, the old interpreter
# (from the archive) and the new one (just built) run side by side in one
# invocation; without it, the new one is compared with ci/baseline/
# (matrix.json, exact and portable, and race-SCENARIO.json figures).
#
#   NEW=/usr/bin/python3 OLD=/srv/old/usr/bin/python3 ci/gate.sh -o gate-out
#   NEW=/usr/bin/python3 ci/gate.sh                    against ci/baseline/
#
# Exit: 0 no regression, 1 regression (see <folder>/gate.md, gate.xml,
# gate.json), 2 bad input or nothing compared, 77 cannot run here.
# Regenerate the baseline after a change you accept with:
#   pycstorm matrix native py33-atomic checked-atomic loop-atomic fsync-atomic \
#       --python /usr/bin/python3 -o DIR && cp DIR/matrix.json ci/baseline/
#   pycstorm gate --python /usr/bin/python3 --against /usr/bin/python3 -o G &&
#       for s in gh126606 enospc mypy3215; do cp G/race-$s-old/summary.json ci/baseline/race-$s.json; done
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pycstorm=${PYCSTORM:-pycstorm}
command -v "$pycstorm" >/dev/null 2>&1 || pycstorm="$here/../bin/pycstorm"
new=${NEW:-${PYTHON:-/usr/bin/python3}}
if [ -n "${OLD:-}" ]; then
	exec "$pycstorm" gate --python "$new" --against "$OLD" "$@"
fi
exec "$pycstorm" gate --python "$new" --baseline "$here/baseline" "$@"
