#!/bin/bash
# leak.sh — --sample 64KiB on a target that leaks a known 65,536,000 B
# from leak_big() (and 4 MiB from leak_small(), while 256 MiB churn
# through churn()): leak_big is named first, its estimate is within 10%,
# the exact counts are exact.  The seed is fixed (MEMATTACH_SAMPLE_SEED):
# the samples, and so the result, are the same on every run.
set -u
top=${top_builddir:-.}
here=$(cd "$(dirname "$0")" && pwd)
ma="$top/memattach"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# bad sizes: one line, exit 2, nothing run
for bad in 0 2GiB 10XB -5KiB ""; do
	"$ma" run --sample "$bad" -o "$tmp/bad.cap" -- "$top/tests/sample/sampled" leak > "$tmp/bad.out" 2> "$tmp/bad.err"
	rc=$?
	if [ $rc != 2 ] || [ "$(wc -l < "$tmp/bad.err")" != 1 ] || [ -s "$tmp/bad.out" ] || ! grep -q "^memattach: --sample" "$tmp/bad.err"; then
		echo "FAIL: --sample '$bad': exit $rc, stderr: $(cat "$tmp/bad.err")"
		exit 1
	fi
done
export MEMATTACH_SAMPLE_SEED=1
"$ma" run -q --sample 64KiB -o "$tmp/leak.cap" -- "$top/tests/sample/sampled" leak > "$tmp/truth.json" \
	|| { echo "FAIL: memattach run exited $?"; exit 1; }
"$ma" report summary --leaks --json "$tmp/leak.cap" > "$tmp/summary.json" || { echo "FAIL: summary"; exit 1; }
"$ma" report stats --json "$tmp/leak.cap" > "$tmp/stats.json" || { echo "FAIL: stats"; exit 1; }
"$ma" report summary --leaks "$tmp/leak.cap" > "$tmp/summary.txt" || { echo "FAIL: summary text"; exit 1; }
"$ma" report pprof --leaks "$tmp/leak.cap" -o "$tmp/p.pb.gz" || { echo "FAIL: pprof"; exit 1; }
PYTHONPATH="$here" python3 - "$tmp" <<'PY'
import gzip, json, sys
from theory import within, sd_bytes
d = sys.argv[1]

def varint(b, i):
    v = s = 0
    while True:
        v |= (b[i] & 0x7f) << s
        s += 7
        i += 1
        if b[i - 1] < 0x80:
            return v, i

def fields(b):
    # top-level fields of a protobuf message: {number: [values]}
    out, i = {}, 0
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        else:
            v, i = b[i:i + 4], i + 4
        out.setdefault(num, []).append(v)
    return out
truth = json.load(open(d + "/truth.json"))
summ = json.load(open(d + "/summary.json"))
st = json.load(open(d + "/stats.json"))
text = open(d + "/summary.txt").read()
ok = True
S = 65536
def check(what, got, want):
    global ok
    if got != want:
        print("FAIL %s: got %r, want %r" % (what, got, want))
        ok = False
check("sampled interval (stats)", (st["sampled"] or {}).get("interval"), S)
check("sampled interval (summary)", (summ["sampled"] or {}).get("interval"), S)
check("text reports say they are estimates", "~ Sampled: estimated from" in text, True)
# pprof: the period is the interval (profile.proto: Profile.period = 12)
prof = fields(gzip.open(d + "/p.pb.gz").read())
check("pprof period", prof.get(12, [None])[0], S)
# exact counts: every call, whatever was sampled
ex = st["sampled"]["exact"]
n = 65536
check("exact allocations", ex["total_allocations"], n + n // 8 + n)
check("exact bytes allocated", ex["total_bytes_allocated"],
      truth["leak_big"] + truth["leak_small"] + truth["churn"])
check("exact frees", ex["total_frees"], n)
top = summ["top"][0]
check("first location", top["function"], "leak_big")
got, want = top["own_bytes"], truth["leak_big"]
if abs(got - want) > want // 10:
    print("FAIL leak_big: estimate %d is more than 10%% off %d" % (got, want))
    ok = False
ok &= within("leak_big bytes", got, want, sd_bytes(n, 1000, S), 0.5 * n)
# the stated ± is at least the true 2 sd
if top["own_error_bytes"] < 2 * sd_bytes(n, 1000, S):
    print("FAIL: own_error_bytes %d is below 2 sd" % top["own_error_bytes"])
    ok = False
sd_leak = (sd_bytes(n, 1000, S) ** 2 + sd_bytes(n // 8, 512, S) ** 2) ** 0.5
ok &= within("leaked bytes", st["leaked_bytes"], truth["leak_big"] + truth["leak_small"], sd_leak, 0.5 * n)
# far fewer events than calls: sampling happened
if st["events"] * 10 > ex["total_allocations"]:
    print("FAIL: %d events recorded for %d allocations: not sampled" % (st["events"], ex["total_allocations"]))
    ok = False
print("PASS: leak" if ok else "FAIL: leak")
sys.exit(0 if ok else 1)
PY
