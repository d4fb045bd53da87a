#!/bin/bash
# ci.sh — the test command: installs missing Debian packages with
# scripts/install-deps.sh, builds from scratch, runs `make check` (unit,
# injector and integration tests), the fuzzers for FUZZ_SECONDS each
# (`make fuzz`, default 60), then the unit tests and the capture-reading
# tests again in a second build with ASan and UBSan (build-asan/, from
# `make distdir`), and ends with one line "N passed, N failed[, N skipped]"
# counting all of them.  Exits nonzero when anything failed.
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
rm -f test-suite.log asan-build.trs fuzz-build.trs
find . -name '*.trs' -delete
make -j2 -k check
check_rc=$?

# The fuzzers (tests/fuzz): each writes tests/fuzz/NAME.trs; a crash is a
# failure with its reproducer in tests/fuzz/NAME.log.
log "make fuzz (${FUZZ_SECONDS:-60} s each)"
make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
fuzz_rc=$?
# A fuzzer that did not build (or a run that wrote no result) counts too.
if [ "$fuzz_rc" != 0 ] && ! grep -qs '^:test-result: FAIL' tests/fuzz/*.trs; then
	log "make fuzz failed outside the fuzzers (exit $fuzz_rc)"
	printf ':test-result: FAIL\n' > fuzz-build.trs
fi

# The CLI and the unit tests under ASan and UBSan (never the agent: it
# lives in unsanitized targets; configure --enable-sanitizers knows).
log "ASan+UBSan build (build-asan)"
# Every unit test, and the integration tests that drive the CLI's reading,
# writing and parsing hardest (bad input, damaged and hostile data, full
# disk, report-time symbols, the Python receiver's live view).
ASAN_TESTS="tests/unit/test_schema tests/unit/test_capture_file tests/unit/test_batch_decode
tests/unit/test_replay_pipe tests/unit/test_replay tests/unit/test_analysis tests/unit/test_range tests/unit/test_huge_table tests/unit/test_report
tests/unit/test_parse_units tests/unit/test_report_formats tests/unit/test_report_cli
tests/unit/test_outfile tests/unit/test_live_model tests/unit/test_peer_identity tests/agent/test_batch_wire
tests/unit/test_rx_trackers
tests/integration/report-formats.sh tests/integration/report-escaping.sh
tests/integration/single.sh tests/integration/capture-damage.sh tests/integration/disk-full.sh
tests/integration/cli-bad-input.sh tests/integration/output-safety.sh
tests/security/hostile-stream.sh tests/symbols/killed.sh tests/pyapi/live.sh"
rm -rf build-asan memattach-*/
if make distdir >/dev/null && mv memattach-*/ build-asan &&
	(cd build-asan && ./configure -q --enable-sanitizers && make -j2 >/dev/null); then
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		make -j2 -k check TESTS="$(echo $ASAN_TESTS)")
	asan_rc=$?
else
	log "the ASan build failed"
	asan_rc=1
	printf ':test-result: FAIL\n' > asan-build.trs
fi

# Count results from automake's .trs files (one per test).
pass=0 fail=0 skip=0
while IFS= read -r res; do
	case $res in
	PASS | XFAIL) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)) ;;   # FAIL, XPASS, ERROR
	esac
done < <(find . -name '*.trs' -exec sed -n 's/^:test-result: //p' {} +)

if [ "$fail" -gt 0 ]; then
	for f in test-suite.log build-asan/test-suite.log; do
		[ -f "$f" ] && { log "failures ($f):"; cat "$f"; }
	done
	for f in tests/fuzz/*.trs; do
		grep -q '^:test-result: FAIL' "$f" 2>/dev/null && { log "fuzzer failed (${f%.trs}.log):"; tail -n 80 "${f%.trs}.log"; }
	done
fi
# make check failing without a failed test: a check program did not build.
if { [ "$check_rc" != 0 ] || [ "$asan_rc" != 0 ]; } && [ "$fail" = 0 ]; then
	log "make check failed outside the tests (exit $check_rc, ASan build $asan_rc)"
	fail=$((fail + 1))
fi
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
