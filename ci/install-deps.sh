#!/bin/sh
# Install what pycstorm needs to build and test, from Debian/Ubuntu packages.
#
#   sh ci/install-deps.sh              install everything listed below
#   sh ci/install-deps.sh --if-missing install only when something is missing
#   sh ci/install-deps.sh --check      say what is missing; exit 1 if anything
#
# Uses sudo when not root. Where it cannot install, it says so in one line and
# exits 77 (the environment cannot run pycstorm).
set -u

# package:file-that-proves-it-is-installed
NEEDS="
libfiu-dev:/usr/include/fiu.h
libfiu0:/usr/lib/fiu/fiu_posix_preload.so
fiu-utils:/usr/bin/fiu-run
hyperfine:/usr/bin/hyperfine
python3-dev:/usr/bin/python3-config
libcmocka-dev:/usr/include/cmocka.h
libxml2-utils:/usr/bin/xmllint
gcc:/usr/bin/gcc
make:/usr/bin/make
pkg-config:/usr/bin/pkg-config
perl:/usr/bin/prove
python3-pytest:/usr/bin/pytest-3
mypy:/usr/bin/mypy
python3-twisted:/usr/lib/python3/dist-packages/twisted/plugin.py
"

missing=""
for item in $NEEDS; do
	pkg=${item%%:*}
	file=${item#*:}
	[ -e "$file" ] || missing="$missing $pkg"
done

case "${1:-}" in
--check)
	if [ -n "$missing" ]; then
		echo "pycstorm: missing packages:$missing"
		exit 1
	fi
	exit 0
	;;
--if-missing)
	[ -z "$missing" ] && exit 0
	;;
"") missing=$(for item in $NEEDS; do printf ' %s' "${item%%:*}"; done) ;;
*)
	echo "pycstorm: install-deps: unknown option '$1' (valid: --if-missing, --check)" >&2
	exit 2
	;;
esac

if ! command -v apt-get >/dev/null 2>&1; then
	echo "pycstorm: cannot install$missing: no apt-get here; install them by hand" >&2
	exit 77
fi
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	echo "pycstorm: cannot install$missing: not root and no password-less sudo" >&2
	exit 77
fi

echo "pycstorm: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq >/dev/null 2>&1 ||
   ! $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
	echo "pycstorm: apt-get could not install$missing" >&2
	exit 77
fi
exit 0
