"""check_page.py PAGE.html [--truth TRUTH.json] [--stats STATS.json]
                 [--screenshot OUT.png] [--click NAME] [--search NAME]
Loads a flame graph page in headless Chromium and checks it: no console
error, no network request, something drawn; with --truth, the exact values
per mode, per thread and per moment; --click zooms into a frame by a real
mouse click, --search types into the search box.  Exit 0 = pass, 1 = fail,
77 = no Chromium."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

fails = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails.append(what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--truth")
    ap.add_argument("--stats")
    ap.add_argument("--screenshot")
    ap.add_argument("--click")
    ap.add_argument("--search")
    ap.add_argument("--timing", action="store_true")
    a = ap.parse_args()
    chromium = cdp.find_chromium()
    if not chromium:
        print("SKIP: no chromium (apt-get install chromium)")
        return 77
    b = cdp.Browser(chromium)
    try:
        return run(a, b)
    finally:
        b.close()


def run(a, b):
    b.call("Runtime.enable")
    b.call("Log.enable")
    b.call("Page.enable")
    b.call("Network.enable")
    b.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    t0 = time.time()
    b.call("Page.navigate", url="file://" + os.path.abspath(a.page))
    b.wait_event("Page.loadEventFired", timeout=120)
    wall = time.time() - t0
    ready = b.eval("!!(window.__memattach && window.__memattach.ready)")
    check(ready, "page loaded and initialised (window.__memattach.ready)")
    if not ready:
        print("\n".join(b.errors))
        return 1
    st = b.eval("JSON.stringify({load: __memattach.loadMs, draw: __memattach.drawMs, nodes: __memattach.nodes,"
                " leaves: __memattach.leaves, frames: __memattach.framesDrawn, total: __memattach.totalBytes,"
                " mode: __memattach.mode, moments: __memattach.momentCount})")
    st = json.loads(st)
    print(f"     load {wall:.2f} s wall (script {st['load']:.0f} ms, first draw {st['draw']:.0f} ms), "
          f"{st['leaves']} leaves, {st['nodes']} nodes, {st['frames']} frames drawn, {st['moments']} moments")
    if a.timing:
        return 0
    check(st["frames"] > 1, "frames drawn in the flame graph")
    # pixels: the canvas really has coloured frames
    colored = b.eval("""(function(){var c=document.getElementById('flame'),x=c.getContext('2d');
        var d=x.getImageData(0,0,c.width,Math.min(c.height,200)).data,n=0;
        for(var i=0;i<d.length;i+=4) if(d[i+3]>0 && (d[i]!==d[i+1]||d[i]!==d[i+2])) n++; return n;})()""")
    check(colored > 1000, f"flame canvas has coloured pixels ({colored})")

    if a.stats:
        stats = json.load(open(a.stats))
        check(st["total"] == stats["peak_bytes"], f"peak view total {st['total']} == report stats peak_bytes {stats['peak_bytes']}")
        b.eval("__memattach.setMode('leak')")
        v = b.eval("__memattach.totalBytes")
        check(v == stats["leaked_bytes"], f"leaks view total {v} == leaked_bytes {stats['leaked_bytes']}")
        b.eval("__memattach.setMode('total')")
        v = b.eval("__memattach.totalBytes")
        check(v == stats["total_bytes_allocated"], f"total view {v} == total_bytes_allocated {stats['total_bytes_allocated']}")
        b.eval("__memattach.setMode('peak')")

    if a.truth:
        truth = json.load(open(a.truth))
        for mode, vals in truth["modes"].items():
            b.eval(f"__memattach.setMode('{mode}')")
            for name, want in vals.items():
                got = b.eval("__memattach.totalBytes" if name == "all" else f"__memattach.valueOf({json.dumps(name)})")
                check(got == want, f"{mode}: {name} = {got} (want {want})")
        b.eval("__memattach.setMode('total')")
        tids = b.eval("__memattach.threads")
        for tid, want in truth["threads_total"].items():
            b.eval(f"__memattach.setThread({tids.index(int(tid))})")
            got = b.eval("__memattach.totalBytes")
            check(got == want, f"thread {tid}: total {got} (want {want})")
        b.eval("__memattach.setThread(-1)")
        # moments: a real click on the chart at each moment
        nm = b.eval("__memattach.momentCount")
        check(nm >= len(truth["moments_heap"]), f"{nm} moments (want >= {len(truth['moments_heap'])})")
        for k in range(nm):
            p = b.eval(f"__memattach.chartPointFor({k})")
            b.click(p["x"], p["y"])
            got = json.loads(b.eval("JSON.stringify([__memattach.mode, __memattach.moment, __memattach.totalBytes, __memattach.momentHeap(__memattach.moment)])"))
            want = truth["moments_heap"][k] if k < len(truth["moments_heap"]) else got[3]
            check(got[0] == "moment" and got[1] == k and got[2] == got[3] == want,
                  f"chart click on moment {k}: view {got[0]} #{got[1]}, live {got[2]} = heap {got[3]} (want {want})")
        b.eval("__memattach.setMode('peak')")

    if a.click:
        p = b.eval(f"__memattach.rectOf({json.dumps(a.click)})")
        check(p is not None, f"frame {a.click} is drawn")
        if p:
            b.call("Input.dispatchMouseEvent", type="mouseMoved", x=p["x"], y=p["y"])
            tip = b.eval("document.getElementById('tip').style.display === 'block' ? document.getElementById('tip').textContent : ''")
            check(a.click in tip and "allocations" in tip and "% of total" in tip, f"tooltip over {a.click}: {tip!r}")
            b.click(p["x"], p["y"])
            z = b.eval("__memattach.zoomedName")
            check(z == a.click, f"click on {a.click} zooms into it (zoomedName={z})")
            zb = b.eval("__memattach.zoomedBytes")
            vb = b.eval(f"__memattach.valueOf({json.dumps(a.click)})")
            check(zb <= vb and zb > 0, f"zoomed frame value {zb} (function total {vb})")
            b.key("Escape", "Escape", 27)
            z = b.eval("__memattach.zoomedName")
            check(z == "all", f"Escape zooms back out (zoomedName={z})")

    if a.search:
        b.eval("document.getElementById('search').focus()")
        b.call("Input.insertText", text=a.search)
        time.sleep(0.3)
        m = json.loads(b.eval("JSON.stringify([__memattach.searchMatches, __memattach.searchBytes, document.getElementById('matchinfo').textContent])"))
        want = b.eval(f"__memattach.valueOf({json.dumps(a.search)})")
        check(m[0] > 0, f"search '{a.search}' highlights {m[0]} frames ({m[2]})")
        check(m[1] == want, f"search '{a.search}' matched total {m[1]} == {want}")

    if a.screenshot:
        b.eval("window.scrollTo(0,0)")
        b.screenshot(a.screenshot)
        print(f"     screenshot: {a.screenshot}")

    time.sleep(0.2)
    b.eval("1")   # collect late events
    check(not b.errors, "no console error, uncaught exception or network request" +
          ("".join("\n       " + e for e in b.errors) if b.errors else ""))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
