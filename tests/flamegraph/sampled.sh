#!/bin/sh
# sampled.sh — a sampled capture (--sample 64KiB, fixed seed) says that its
# figures are estimates: `report folded` starts with a "# memattach: ..."
# line of weight 0 (every line ends in a count, as speedscope needs to
# recognise the format; flamegraph.pl reads it as an empty stack), the
# other lines unchanged (they sum to stats' leaked_bytes); two columns with
# --base; none on an exact capture.  The flame graph page's header says it
# (headless Chromium); an exact capture's page does not.
. "$(dirname "$0")/../integration/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
MKFLAME=$ma_builddir/tests/flamegraph/mkflame
SAMPLED=$ma_builddir/tests/sample/sampled
fail=0

MEMATTACH_SAMPLE_SEED=1 "$MEMATTACH" run -q --sample 64KiB -o "$ma_tmp/s.cap" -- "$SAMPLED" leak \
	>/dev/null 2>"$ma_tmp/err" </dev/null || { ma_show stderr "$ma_tmp/err"; echo "FAIL: memattach run --sample"; exit 1; }
"$MKFLAME" "$ma_tmp/exact.cap" >/dev/null || { echo "FAIL: mkflame"; exit 1; }
"$MEMATTACH" report stats --json "$ma_tmp/s.cap" >"$ma_tmp/stats.json" &&
"$MEMATTACH" report folded --leaks "$ma_tmp/s.cap" >"$ma_tmp/s.folded" &&
"$MEMATTACH" report folded --leaks --base "$ma_tmp/s.cap" "$ma_tmp/exact.cap" >"$ma_tmp/d.folded" &&
"$MEMATTACH" report folded --leaks "$ma_tmp/exact.cap" >"$ma_tmp/e.folded" || { echo "FAIL: report exited $?"; exit 1; }
"$PYTHON" - "$ma_tmp" <<'PY' || fail=1
import json, re, sys
tmp = sys.argv[1]
stats = json.load(open(tmp + "/stats.json"))
text = ("{:,} samples, one per 64.0 KiB allocated on average (--sample)"
        .format(stats["sampled"]["samples"]))
bad = 0
def check(ok, what):
    global bad
    print(("ok   " if ok else "FAIL ") + what)
    bad += not ok
lines = open(tmp + "/s.folded").read().splitlines()
want = "# memattach: the values are estimates: the capture was sampled (" + text + ") 0"
check(lines[0] == want, "folded, sampled: first line %r (want %r)" % (lines[0], want))
check(";" not in lines[0], "the note has no ';' (it would split into frames)")
# speedscope recognises collapsed stacks only when every line ends in " <digits>"
check(all(re.search(r" \d+$", l) for l in lines), "every line ends in a count (speedscope)")
# flamegraph.pl's own parse: the note is a stack of 0 samples
m = re.match(r"^(.*)\s+?(\d+(?:\.\d*)?)$", lines[0])
check(m is not None and m.group(2) == "0", "flamegraph.pl reads the note with 0 samples")
total = sum(int(l.rsplit(" ", 1)[1]) for l in lines[1:])
check(total == stats["leaked_bytes"], "the other lines sum to %d (stats leaked_bytes %d)" % (total, stats["leaked_bytes"]))
d = open(tmp + "/d.folded").read().splitlines()
want = "# memattach: the base's values are estimates: the base was sampled (" + text + ") 0 0"
check(d[0] == want, "folded --base, the base sampled: first line %r (want %r)" % (d[0], want))
check(all(re.search(r" \d+ \d+$", l) for l in d), "--base: every line ends in two counts")
e = open(tmp + "/e.folded").read().splitlines()
check(e and not any(l.startswith("#") for l in e), "folded, exact capture: no note")
sys.exit(1 if bad else 0)
PY

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
	echo "SKIP: the page part needs chromium (apt-get install chromium)"
	[ "$fail" = 0 ] && exit 77
	exit 1
fi
samples=$("$PYTHON" -c 'import json,sys; print("{:,}".format(json.load(open(sys.argv[1]))["sampled"]["samples"]))' "$ma_tmp/stats.json")
"$MEMATTACH" report flamegraph "$ma_tmp/s.cap" -o "$ma_tmp/s.html" &&
	"$PYTHON" "$here/check_page.py" "$ma_tmp/s.html" --stats "$ma_tmp/stats.json" \
		--note "this capture was sampled ($samples samples, one per 64.0 KiB allocated on average (--sample)), so every figure here is an estimate, not a count." || fail=1
"$MEMATTACH" report flamegraph "$ma_tmp/exact.cap" -o "$ma_tmp/e.html" &&
	"$PYTHON" "$here/check_page.py" "$ma_tmp/e.html" --no-note estimate || fail=1
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"
