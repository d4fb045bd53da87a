#!/bin/bash
# every.sh — `--every` and `--dump-on-threshold --dump-count` against
# tests/live/ticker, which allocates only when told (4 x 1234 B per 't').
# A periodic snapshot holds everything done before it was due, and the
# next is due after the previous is written: once the target said it is
# done, the second snapshot after the last one written holds it exactly.
# Every snapshot must hold exactly the target's total of its moment (the
# target is idle between ticks), --keep N leaves the last N files, and the
# threshold dumps fall where the documented rule puts them.
set -u
top=${top_builddir:-.}
ma="$top/memattach"
tk="$top/tests/live/ticker"
tmp=$(mktemp -d)
fail=0
trap 'exec 9>&- 2>/dev/null; kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
bad() { echo "FAIL: $*"; fail=1; }
export MEMATTACH_STALL_LIMIT=60s
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

start_ticker() {
	rm -f "$tmp/in"
	mkfifo "$tmp/in"
	: > "$tmp/out"   # the last ticker's "ready" must not end the wait below
	"$tk" < "$tmp/in" > "$tmp/out" 2> "$tmp/terr" &
	tpid=$!
	exec 9> "$tmp/in"
	for _ in $(seq 200); do grep -q ready "$tmp/out" && return 0; sleep 0.05; done
	echo "FAIL: ticker did not start"
	exit 1
}
# tick: the target leaks once; prints its total
tick() {
	local n
	n=$(grep -c . "$tmp/out")
	echo -n t >&9
	for _ in $(seq 600); do
		[ "$(grep -c . "$tmp/out")" -gt "$n" ] && { tail -1 "$tmp/out" | awk '{print $4}'; return 0; }
		sleep 0.05
	done
	return 1
}
nsnaps() { grep -c '^memattach: snapshot ' "$tmp/err"; }
# wait_snaps N: until N snapshot lines are on stderr (60 s at most)
wait_snaps() {
	for _ in $(seq 1200); do
		[ "$(nsnaps)" -ge "$1" ] && return 0
		kill -0 "$mpid" 2>/dev/null || break
		sleep 0.05
	done
	bad "waited for snapshot $1; stderr:"
	sed 's/^/    /' "$tmp/err"
	return 1
}

# wait_cli WHAT: memattach's exit status, 60 s at most; after that a FAIL
# that shows what it said and what the target did, and memattach is
# stopped (SIGINT, then SIGKILL) so that the test ends
wait_cli() {
	for _ in $(seq 1200); do
		kill -0 "$mpid" 2>/dev/null || { wait "$mpid"; return $?; }
		sleep 0.05
	done
	bad "$1: memattach still running after 60 s; its stderr, then the target's output:"
	sed 's/^/    /' "$tmp/err" "$tmp/out"
	kill -INT "$mpid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$mpid" 2>/dev/null
	wait "$mpid"
	return 124
}

# 1. --every 200ms --keep 3: four ticks, each seen exactly.
start_ticker
mkdir "$tmp/snaps"
: > "$tmp/err"   # here, not only in the job: its redirection comes after the fork
"$ma" --pid "$tpid" --every 200ms --keep 3 -o "$tmp/snaps" 2> "$tmp/err" &
mpid=$!
wait_snaps 1 || exit 1
: > "$tmp/truth"   # per tick: "last snapshot before it, first one sure to hold it, bytes"
for i in 1 2 3 4; do
	c0=$(nsnaps)
	b=$(tick) || { bad "tick $i"; break; }
	c=$(nsnaps)
	echo "$c0 $((c + 2)) $b" >> "$tmp/truth"
	wait_snaps $((c + 2)) || break
done
kill -INT $mpid
wait_cli "--every after SIGINT"
rc=$?
[ $rc = 0 ] || bad "--every: exit $rc after SIGINT"
for f in "$tmp/snaps"/*.memcap; do
	"$ma" report stats --json "$f" > "$f.json" 2> "$f.err" || bad "report stats $f: $(cat "$f.err")"
done
"$PYTHON" - "$tmp/err" "$tmp/truth" "$tmp/snaps" <<'PY' || fail=1
import glob, json, os, re, sys
err = open(sys.argv[1]).read().splitlines()
truth = [tuple(map(int, l.split())) for l in open(sys.argv[2])]
snaps = {}
for l in err:
    m = re.match(r"memattach: snapshot (\d+) at [0-9.]+ s: tracked heap (\d+) B = \S+ \S* ?\(([-+][0-9,]+) B since the previous\), RSS .*: (.*)$", l)
    if l.startswith("memattach: snapshot "):
        if not m:
            print("FAIL: unexpected snapshot line:", l); sys.exit(1)
        snaps[int(m[1])] = (int(m[2]), int(m[3].replace(",", "")), m[4])
ok = True
def fail(*a):
    global ok
    print("FAIL:", *a); ok = False
n = max(snaps)
if sorted(snaps) != list(range(1, n + 1)):
    fail("snapshot numbers", sorted(snaps))
# snapshots up to lo were written before the tick was sent: without it;
# from hi on (due after the target said it was done): with it, exactly;
# in between either
for s in range(1, n + 1):
    heap, growth, path = snaps[s]
    allowed = {0}
    for lo, hi, b in truth:
        if s >= hi:
            allowed = {b}
        elif s > lo:
            allowed = allowed | {b}
    if heap not in allowed:
        fail(f"snapshot {s}: {heap} B, want one of {sorted(allowed)}")
    prev = snaps[s - 1][0] if s > 1 else 0
    if growth != heap - prev:
        fail(f"snapshot {s}: growth {growth}, want {heap - prev}")
for lo, hi, b in truth:
    if hi <= n and snaps[hi][0] != b:
        fail(f"snapshot {hi} (due after the tick) holds {snaps[hi][0]} B, want exactly {b}")
kept = sorted(glob.glob(os.path.join(sys.argv[3], "*.memcap")))
want_kept = sorted(snaps[s][2] for s in range(n - 2, n + 1))
if kept != want_kept:
    fail("--keep 3 left", kept, "want", want_kept)
for s in range(max(1, n - 2), n + 1):
    path = snaps[s][2]
    if os.path.exists(path + ".json"):
        st = json.load(open(path + ".json"))
        if st["leaked_bytes"] != snaps[s][0]:
            fail(f"snapshot {s}'s file holds {st['leaked_bytes']} B, its line says {snaps[s][0]}")
sys.exit(0 if ok else 1)
PY
kill -0 $tpid 2>/dev/null || bad "the target is gone after --every"
b=$(tick) && [ "$b" = $((5 * 4936)) ] || bad "the target after --every holds ${b:-?}, want $((5 * 4936))"
echo -n q >&9
wait $tpid

# 2. --dump-on-threshold 10000 --threshold-on heap --dump-count 2: the
# first dump at 14,808 (3 ticks); the next when the heap is 10,000 above
# it, 24,808: not at 4 or 5 ticks (24,680), at 6 (29,616); then exit 0.
start_ticker
mkdir "$tmp/dumps"
: > "$tmp/err"   # the last part's lines must not end the waits below
"$ma" --pid "$tpid" --dump-on-threshold 10000 --threshold-on heap --dump-count 2 -o "$tmp/dumps" \
	2> "$tmp/err" &
mpid=$!
for _ in $(seq 600); do grep -q 'watching pid' "$tmp/err" && break; sleep 0.05; done
for i in 1 2 3; do tick > /dev/null || bad "tick $i"; done
wait_snaps 1
for i in 4 5 6; do tick > /dev/null || bad "tick $i"; done
wait_cli "--dump-count 2 after the sixth tick"
rc=$?
[ $rc = 0 ] || bad "--dump-count 2: exit $rc"
grep '^memattach: snapshot' "$tmp/err" | sed -n 's/.*(dump \([0-9]\) of 2: the tracked heap reached \([0-9]*\) B): tracked heap \([0-9]*\) B.*/\1 \2 \3/p' \
	> "$tmp/dumps.txt"
[ "$(cat "$tmp/dumps.txt" | tr '\n' ' ')" = "1 14808 14808 2 29616 29616 " ] ||
	{ bad "dumps: $(cat "$tmp/dumps.txt" | tr '\n' ' '), want 1 at 14808 and 2 at 29616"; cat "$tmp/err"; }
[ "$(ls "$tmp/dumps" | wc -l)" = 2 ] || bad "dump files: $(ls "$tmp/dumps")"
echo -n q >&9
wait $tpid

# 3. Both: --every 200ms and one threshold dump at 10,000 B of heap.
start_ticker
mkdir "$tmp/both"
: > "$tmp/err"
"$ma" --pid "$tpid" --every 200ms --dump-on-threshold 10000 --threshold-on heap -o "$tmp/both" 2> "$tmp/err" &
mpid=$!
wait_snaps 1
for i in 1 2 3; do tick > /dev/null || bad "tick $i"; done
grep -q '(dump 1 of 1' "$tmp/err" || for _ in $(seq 600); do grep -q '(dump 1 of 1' "$tmp/err" && break; sleep 0.05; done
c=$(nsnaps)
wait_snaps $((c + 2))   # periodic snapshots go on after the dump
kill -INT $mpid
wait_cli "--every with a threshold after SIGINT"
rc=$?
[ $rc = 0 ] || bad "--every with a threshold: exit $rc"
[ "$(grep -c '(dump 1 of 1: the tracked heap reached 14808 B): tracked heap 14808 B' "$tmp/err")" = 1 ] ||
	{ bad "--every with a threshold: not one dump at 14808 B"; cat "$tmp/err"; }
tail -1 "$tmp/err" | grep -q 'detached' || bad "--every with a threshold did not go on after the dump"
grep '^memattach: snapshot [0-9]* at [0-9.]* s: tracked heap' "$tmp/err" | tail -1 | grep -q 'tracked heap 14808 B' ||
	bad "the last periodic snapshot after the dump is not 14808 B"
echo -n q >&9
wait $tpid

# 4. Bad combinations: one line each, exit 2, nothing attached.
for args in "--keep 3" "--dump-count 2" "--every 0" "--every 5ms"; do
	"$ma" --pid 1 $args 2> "$tmp/bad.err"
	rc=$?
	[ $rc = 2 ] && [ "$(grep -c . "$tmp/bad.err")" = 1 ] || bad "'$args': exit $rc: $(cat "$tmp/bad.err")"
done
"$ma" --pid $$ --every 1s -o "$tmp/no/such/dir" 2> "$tmp/bad.err"
rc=$?
[ $rc = 4 ] || bad "--every with a missing directory: exit $rc: $(cat "$tmp/bad.err")"

[ $fail = 0 ] && echo "PASS: every"
exit $fail
