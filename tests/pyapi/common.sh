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
pa_pythons() { all_pythons; }   # the pyapi tests' name for it
