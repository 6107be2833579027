#!/bin/sh
# Gate a distro Python update with pycstorm: run the default scenario's
# rename-based strategies (py33-atomic, checked-atomic, loop-atomic,
# fsync-atomic and native: the interpreter's own importlib) with the
# interpreter you ship, and compare with the stored baseline. None of them
# may start corrupting caches, raising, or crashing workers.
#
#   ci/gate.sh                         gate /usr/bin/python3 for 20 s
#   PYTHON=/usr/bin/python3.12 DURATION=60s ci/gate.sh -o gate-out
#
# Exit: 0 no regression, 1 regression (see <run folder>/gate.md, gate.xml),
# 2 bad input, 77 cannot run here. Regenerate the baseline after a change
# you accept with:
#   pycstorm run default -s py33-atomic,checked-atomic,loop-atomic,fsync-atomic,native \
#       -j 4 -d 20s --python /usr/bin/python3 -o DIR && cp DIR/summary.json ci/baseline/default.json
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pycstorm=${PYCSTORM:-pycstorm}
command -v "$pycstorm" >/dev/null 2>&1 || pycstorm="$here/../bin/pycstorm"
exec "$pycstorm" gate --baseline "$here/baseline/default.json" default \
	-s py33-atomic,checked-atomic,loop-atomic,fsync-atomic,native \
	-j 4 -d "${DURATION:-20s}" --python "${PYTHON:-/usr/bin/python3}" "$@"
