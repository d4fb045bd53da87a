#!/bin/sh
# summary_inverted.sh — `summary --inverted` (bottom-up): each top location
# with the callers its memory came through, exact on mkflame's synthetic
# capture (total: grow_buf 28,000 B = 16,000 B from parse_input + 12,000 B
# from build_index; leak_cache 12,288 B from load_config), in --json and
# in the text.
. "$(dirname "$0")/../integration/common.sh"
MKFLAME=$ma_builddir/tests/flamegraph/mkflame
"$MKFLAME" "$ma_tmp/small.cap" >/dev/null || { echo "FAIL: mkflame"; exit 1; }
"$MEMATTACH" report summary --total --inverted --json "$ma_tmp/small.cap" >"$ma_tmp/s.json" &&
"$MEMATTACH" report summary --total --inverted "$ma_tmp/small.cap" >"$ma_tmp/s.txt" ||
	{ echo "FAIL: report summary --inverted exited $?"; exit 1; }
"$PYTHON" - "$ma_tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
s = json.load(open(tmp + "/s.json"))
got = [(r["function"], r["own_bytes"], [(c["function"], c["bytes"]) for c in r.get("callers", [])]) for r in s["top"]]
want = [("grow_buf", 28000, [("parse_input", 16000), ("build_index", 12000)]),
        ("leak_cache", 12288, [("load_config", 12288)])]
bad = 0
if s.get("inverted") is not True or got != want:
    print("FAIL: summary --inverted --json: %s (want %s)" % (got, want)); bad = 1
else:
    print("ok   summary --inverted --json: %s" % got)
text = open(tmp + "/s.txt").read().splitlines()
lines = [l for l in text if "from " in l]
want_text = [("16,000", "parse_input"), ("12,000", "build_index"), ("12,288", "load_config")]
got_text = [(l.split()[0], l.split("from ")[1].split()[0]) for l in lines]
if got_text != want_text:
    print("FAIL: summary --inverted text callers %s (want %s)" % (got_text, want_text)); print("\n".join(text)); bad = 1
else:
    print("ok   summary --inverted text: %s" % got_text)
sys.exit(bad)
PY
rc=$?
[ $rc = 0 ] && echo "PASS"
exit $rc
