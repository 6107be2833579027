#!/bin/sh
# The fidelity corpus, quick subset: for every release found here, classify
# agrees with the real import on at least 99% of damaged files, and never
# calls ok a file that crashes, aborts or raises SystemError in the real
# interpreter. The full corpus is `make fidelity`.
: "${PYCSTORM_BIN:?run through make check, which sets PYCSTORM_BIN}"
exec "${JSON_PY:-/usr/bin/python3}" "$(dirname "$0")/../fidelity/fidelity.py" --quick \
	--pycstorm "$PYCSTORM_BIN/pycstorm"
