#!/bin/bash
# ci.sh — the test command: installs missing Debian packages with
# scripts/install-deps.sh, builds from scratch, runs `make check` (unit,
# injector and integration tests), and ends with one line
# "N passed, N failed[, N skipped]".  Exits nonzero when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 1

log() { echo "ci: $*"; }

# A failure before the tests ran counts as one failed step.
finish_broken() {
	log "$1"
	echo "0 passed, 1 failed"
	exit 1
}

# The package list and the install logic live in scripts/install-deps.sh
# (shared with the quick start; EXTRA_PACKAGES adds to it).
bash scripts/install-deps.sh --tests || finish_broken "installing the Debian packages failed (scripts/install-deps.sh)"

log "building"
{ ./autogen.sh && ./configure -q && make -j2; } || finish_broken "the build failed"

log "make check"
rm -f test-suite.log
find . -name '*.trs' -delete
make -j2 -k check
check_rc=$?

# Count results from automake's .trs files (one per test).
pass=0 fail=0 skip=0
while IFS= read -r res; do
	case $res in
	PASS | XFAIL) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)) ;;   # FAIL, XPASS, ERROR
	esac
done < <(find . -name '*.trs' -exec sed -n 's/^:test-result: //p' {} +)

if [ "$fail" -gt 0 ] && [ -f test-suite.log ]; then
	log "failures (test-suite.log):"
	cat test-suite.log
fi
# make check failing without a failed test: a check program did not build.
if [ "$check_rc" != 0 ] && [ "$fail" = 0 ]; then
	log "make check failed outside the tests (exit $check_rc)"
	fail=$((fail + 1))
fi
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
