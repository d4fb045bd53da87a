#!/bin/sh
# capture-damage.sh — one flipped bit in a real capture costs one zstd frame,
# not the capture: at each of several offsets (fixed seed) `report stats`
# still reports, exits 20 with one warning naming the damaged byte range
# (the frame holding the bit), and counts exactly the allocations of the
# undamaged capture minus those of the frames skipped (tests/unit/capframes
# decodes the frames on its own).  A bit zstd does not read (a few in a
# frame's header and tables) changes nothing: exit 0 and the same report.
. "$(dirname "$0")/common.sh"
check_run 0 threads || exit 1
cap=$ma_tmp/threads.cap
"$ma_builddir/tests/unit/capframes" "$cap" >"$ma_tmp/frames" || { echo "FAIL: capframes"; exit 1; }
echo "--- $(wc -l <"$ma_tmp/frames") frames, $(wc -c <"$cap") bytes"
"$PYTHON" - "$MEMATTACH" "$cap" "$ma_tmp/frames" "$ma_tmp/report.json" <<'PYEOF'
import json, random, re, subprocess, sys
memattach, cap, frames_path, report = sys.argv[1:]
frames = [tuple(int(x) for x in l.split()) for l in open(frames_path)]
data = open(cap, 'rb').read()
def allocs(j):
    return sum(v['count'] for v in j['by_allocator'].values())
orig = allocs(json.load(open(report)))
if len(frames) < 4:
    sys.exit("FAIL: the capture has %d frames: too few to test skipping one" % len(frames))
rng = random.Random(20261206)
# the first, the middle and the last frame, and random offsets
offsets = [frames[0][0] + 40, frames[len(frames) // 2][0] + 1, frames[-1][1] - 2]
offsets += [rng.randrange(12, len(data)) for _ in range(5)]
bad = 0
for off in offsets:
    bit = rng.randrange(8)
    d = bytearray(data)
    d[off] ^= 1 << bit
    path = cap + '.flip'
    open(path, 'wb').write(d)
    p = subprocess.run([memattach, 'report', 'stats', '--json', path],
                       capture_output=True, text=True)
    warn = [l for l in p.stderr.splitlines() if 'damaged' in l]
    if p.returncode == 0 and not warn:
        # zstd leaves a few bits of a frame unread (seen: 14 of 3,200 in
        # a first frame): then the content is the same, and so the report
        same = {k: v for k, v in json.loads(p.stdout).items() if k.startswith('total') or k == 'by_allocator'}
        want = {k: v for k, v in json.load(open(report)).items() if k.startswith('total') or k == 'by_allocator'}
        print("%s: bit %d of byte %d: not read by zstd: %s report" % ("ok" if same == want else "FAIL", bit, off,
              "the same" if same == want else "a different"))
        bad += same != want
        continue
    m = re.search(r'compressed bytes (\d+)-(\d+)', warn[0]) if len(warn) == 1 else None
    if p.returncode != 20 or not m:
        print("FAIL: bit %d of byte %d: exit %d (want 20), damage warnings %d (want 1):\n%s"
              % (bit, off, p.returncode, len(warn), p.stderr))
        bad += 1
        continue
    lo, hi = int(m.group(1)), int(m.group(2))
    lost = sum(f[3] for f in frames if f[0] >= lo and f[1] <= hi)
    got = allocs(json.loads(p.stdout))
    ok = lo <= off < hi and got == orig - lost
    print("%s: bit %d of byte %d: skipped %d-%d, %d frames lost, allocations %d = %d - %d"
          % ("ok" if ok else "FAIL", bit, off, lo, hi,
             sum(1 for f in frames if f[0] >= lo and f[1] <= hi), got, orig, lost))
    if not ok:
        print(p.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PYEOF
