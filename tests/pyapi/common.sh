# common.sh — sourced by the Python API tests: the package from the source
# tree, the CLI from the build tree, every CPython 3.8-3.13 present.
set -u
pa_here=$(cd "$(dirname "$0")" && pwd)
pa_builddir=${MA_BUILDDIR:-$(pwd)}
MEMATTACH=$pa_builddir/memattach
if [ ! -x "$MEMATTACH" ]; then
	echo "FAIL: $MEMATTACH not built (run from the build directory or set MA_BUILDDIR)"
	exit 1
fi
export MEMATTACH_BIN=$MEMATTACH
export PYTHONPATH=$pa_here/../../python${PYTHONPATH:+:$PYTHONPATH}
pa_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-pyapi.XXXXXX")
trap 'rm -rf "$pa_tmp"' EXIT

. "$pa_here/../python/pythons.sh"

# The pyenv builds of 3.8-3.13, then /usr/bin/python3 (MA_PYTHONS overrides).
pa_pythons() {
	pyenv_pythons
	[ -z "${MA_PYTHONS:-}" ] || return 0
	/usr/bin/python3 -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 13))' \
		2>/dev/null && echo /usr/bin/python3
}
