#!/bin/bash
# install-deps.sh [--tests] — installs the Debian packages memattach needs to
# build (and with --tests, to run every test: Go's pprof, Chromium, numpy,
# clang for the fuzzers), only
# those missing.  Used by the quick start and by tests/ci.sh.
set -u
PACKAGES="build-essential g++ autoconf automake libtool pkg-config libunwind-dev
libelf-dev libdw-dev libprotobuf-c-dev protobuf-c-compiler libcmocka-dev
libzstd-dev python3 zlib1g-dev libncurses-dev ${EXTRA_PACKAGES:-}"
# clang and its libFuzzer runtime: `make fuzz` (tests/fuzz); pytest, xdist and IPython:
# tests/pyapi; exceptiongroup: Debian's pytest (which IPython.testing imports) on
# CPython 3.8-3.10, which lack BaseExceptionGroup (tests/pyapi/magic.sh, pytest.sh).
# podman and runc: a container made by a real runtime (tests/integration/ns-podman.sh);
# uidmap: a rootless user namespace (tests/integration/ns-userns.sh).
# tmux: memattach live driven in a terminal (tests/live/live-view.sh).
# gunicorn: a real forking server (tests/integration/gunicorn-tree.sh).
[ "${1:-}" = --tests ] && PACKAGES="$PACKAGES tmux golang-go chromium python3-numpy clang libclang-rt-14-dev python3-pytest
	python3-pytest-xdist python3-ipython python3-exceptiongroup podman runc uidmap gunicorn"
missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# libunwind-dev replaces the preinstalled libunwind-14-dev: expected.
apt-get update -q </dev/null && apt-get install -y -q --no-install-recommends $missing </dev/null
