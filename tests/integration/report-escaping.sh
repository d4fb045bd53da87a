#!/bin/sh
# report-escaping.sh — a capture whose strings carry terminal escape
# sequences and non-UTF-8 bytes (tests/unit/mkhostile: what a hostile
# target can send): every text report prints them inert (\x1b, \u009b,
# \xe9 as text), and stats --json is valid UTF-8 JSON holding the exact
# strings (controls as \u00XX, a non-UTF-8 byte as the character of the same
# value).  The capture lies in a directory whose name is Latin-1.
. "$(dirname "$0")/common.sh"
bad=0
dir=$(printf '%s/caf\351' "$ma_tmp")
mkdir "$dir" || exit 1
cap=$dir/hostile.cap
"$ma_builddir/tests/unit/mkhostile" "$cap" || { echo "FAIL: mkhostile"; exit 1; }

# check_text FILE NEEDLE... — FILE has no byte a terminal acts on (C0 but
# newline, DEL, C1 raw or as UTF-8) and holds each escaped NEEDLE.
check_text() {
	"$PYTHON" - "$@" <<'PY'
import sys
path, needles = sys.argv[1], sys.argv[2:]
data = open(path, 'rb').read()
bad = [b for b in set(data) if (b < 0x20 and b != 0x0a) or b == 0x7f]
text = data.decode('utf-8', 'replace')
c1 = [c for c in text if 0x80 <= ord(c) <= 0x9f]
if bad or c1 or '\ufffd' in text:
    print("FAIL: %s: raw control bytes %r, C1 %r, invalid UTF-8 %s" %
          (path, sorted(bad), c1, '\ufffd' in text))
    sys.exit(1)
for n in needles:
    if n not in text:
        print("FAIL: %s: %r not shown" % (path, n))
        sys.exit(1)
PY
}

for fmt in stats summary tree folded; do
	opts=""
	[ "$fmt" = summary ] && opts="--sort total"   # also rows that own nothing
	# shellcheck disable=SC2086  # opts are words
	"$MEMATTACH" report "$fmt" "$cap" $opts -o "$ma_tmp/$fmt.txt" 2>"$ma_tmp/err"
	rc=$?
	ma_show "report $fmt stderr" "$ma_tmp/err"
	[ "$rc" = 0 ] || { echo "FAIL: report $fmt exited $rc"; bad=1; continue; }
	ma_show "report $fmt" "$ma_tmp/$fmt.txt"
	case $fmt in
	stats) needles='evil\x1b[31mred\x1b[0m c1\u009b2Jcsi victim --title=\x1b]0;owned\x07 caf\xe9 caf\xe9/hostile.cap' ;;
	folded) needles='evil\x1b[31mred\x1b[0m c1\u009b2Jcsi' ;;
	*) needles='evil\x1b[31mred\x1b[0m c1\u009b2Jcsi src/caf\xe9\x9b2J.c:7' ;;
	esac
	# shellcheck disable=SC2086  # needles are words
	check_text "$ma_tmp/$fmt.txt" $needles || bad=1
done

# The same through --base (a change report against a one-event capture).
"$ma_builddir/tests/unit/mksynth" "$ma_tmp/base.cap" 2 1 1 >/dev/null || { echo "FAIL: mksynth"; exit 1; }
for fmt in summary tree folded; do
	"$MEMATTACH" report "$fmt" "$cap" --base "$ma_tmp/base.cap" -o "$ma_tmp/$fmt-base.txt" 2>"$ma_tmp/err"
	rc=$?
	[ "$rc" = 0 ] || { ma_show "stderr" "$ma_tmp/err"; echo "FAIL: report $fmt --base exited $rc"; bad=1; continue; }
	ma_show "report $fmt --base" "$ma_tmp/$fmt-base.txt"
	check_text "$ma_tmp/$fmt-base.txt" 'evil\x1b[31mred\x1b[0m' || bad=1
done

# The flame graph page: strings inside its <script> as JSON escapes.
"$MEMATTACH" report flamegraph "$cap" -o "$ma_tmp/fg.html" || { echo "FAIL: flamegraph"; bad=1; }
"$PYTHON" - "$ma_tmp/fg.html" <<'PY' || bad=1
import sys
raw = open(sys.argv[1], 'rb').read()
try:
    text = raw.decode('utf-8', 'strict')
except ValueError as e:
    sys.exit("FAIL: the flame graph page is not UTF-8: %s" % e)
ctl = sorted(set(c for c in text if (ord(c) < 0x20 and c not in '\n\r\t') or 0x7f <= ord(c) <= 0x9f))
if ctl:
    sys.exit("FAIL: the flame graph page holds raw control characters %r" % ctl)
for n in (r'evil\u001b[31mred\u001b[0m', r'c1\u009b2Jcsi', r'src/caf\u00e9\u009b2J.c'):
    if n not in text:
        sys.exit("FAIL: the flame graph page lacks %s" % n)
PY
"$MEMATTACH" report stats --json "$cap" -o "$ma_tmp/s.json" || { echo "FAIL: stats --json"; bad=1; }
"$PYTHON" - "$ma_tmp/s.json" "$cap" <<'PY' || bad=1
import json, os, sys
raw = open(sys.argv[1], 'rb').read()
try:
    j = json.loads(raw.decode('utf-8', 'strict'))
except ValueError as e:
    print("FAIL: stats --json is not valid UTF-8 JSON: %s" % e)
    sys.exit(1)
want = {
    'capture': os.fsencode(sys.argv[2]).decode('latin-1'),
    'command': 'victim --title=\x1b]0;owned\x07 caf\u00e9',
    'executable': '/opt/caf\u00e9/\u00ed\u00a0\u0080\u00c0\u0080\u00f4\u0090\u0080\u0080\u00e2\u0082victim',
}
for k, v in want.items():
    if j.get(k) != v:
        print("FAIL: stats --json %s is %r, want %r" % (k, j.get(k), v))
        sys.exit(1)
names = json.dumps(j)
for n in ('evil\x1b[31mred\x1b[0m', 'c1\u009b2Jcsi'):
    if json.dumps(n)[1:-1] not in names:
        print("FAIL: stats --json lacks the function name %r" % n)
        sys.exit(1)
if any(b < 0x20 and b != 0x0a for b in raw) or b'\xc2\x9b' in raw:
    print("FAIL: stats --json holds raw control characters")
    sys.exit(1)
print("--- stats --json: valid, command %r" % j['command'])
PY
exit $bad
