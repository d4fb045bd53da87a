"""check_page.py PAGE.html [--truth TRUTH.json] [--stats STATS.json]
                 [--screenshot OUT.png] [--click NAME] [--search NAME]
                 [--diff-truth JSON] [--py-truth TRUTH.txt [--py-native]]
Loads a flame graph page in headless Chromium and checks it: no console
error, no network request, something drawn; with --truth, the exact values
per mode, per thread, per moment, inverted (a real click on the toggle) and
per time range (a real drag on the chart); --stats: totals and the size
histogram; --click zooms into a frame by a real mouse click, --search types
into the search box; --diff-truth: a --base page's changes; --py-truth: a
Python capture's file:line labels, kinds and hide toggles.  Exit 0 = pass,
1 = fail, 77 = no Chromium."""
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
    ap.add_argument("--diff-truth")
    ap.add_argument("--range-truth", help='JSON {"ranges": [[from ns, to ns, {name: bytes}]]}')
    ap.add_argument("--py-truth")
    ap.add_argument("--thread-option", action="append", default=[],
                    help="LABEL=BYTES: the thread list has an option starting with LABEL; choosing it shows BYTES allocated")
    ap.add_argument("--note", help="the header's note must contain this text")
    ap.add_argument("--facts", help="the header's facts must contain this text")
    ap.add_argument("--any-facts", action="store_true", help="with --note: not a sampled capture's note")
    ap.add_argument("--no-note", help="the header's note and facts must not contain this word")
    ap.add_argument("--py-native", action="store_true")
    ap.add_argument("--shot-drag", help="before --screenshot: drag the chart FROM:TO (fractions of its width)")
    ap.add_argument("--shot-height", type=int, help="cut the screenshot at this height")
    ap.add_argument("--shot-click", action="append", default=[], help="before --screenshot: click this element (CSS)")
    ap.add_argument("--shot-thread", help="before --screenshot: choose the thread of this name in the thread list")
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

    if a.truth:
        check_inverted(b, truth)
        check_ranges(b, truth)
    if a.stats:
        check_hist(b, stats)
    if a.range_truth:
        check_ranges(b, json.load(open(a.range_truth)))
    if a.diff_truth:
        check_diff(b, json.load(open(a.diff_truth)))
    if a.py_truth:
        check_python(b, a.py_truth, a.py_native)
    for spec in a.thread_option:
        label, want = spec.rsplit("=", 1)
        opts = json.loads(b.eval("JSON.stringify(Array.from(document.getElementById('thread').options)"
                                 ".map(function(o){return [o.value, o.textContent];}))"))
        hit = [v for v, text in opts if text.startswith(label + " \u2014")]
        check(len(hit) == 1, f"thread list has {label!r} ({[t for _, t in opts]})")
        if hit:
            b.eval("__memattach.setMode('total')")
            b.eval(f"(function(){{var s=document.getElementById('thread');s.value='{hit[0]}';"
                   "s.dispatchEvent(new Event('change'));})()")
            got = b.eval("__memattach.totalBytes")
            check(got == int(want), f"thread {label!r} chosen: total {got} (want {want})")
            b.eval("__memattach.setThread(-1)")
    if a.facts:
        facts = b.eval("document.getElementById('facts').textContent")
        check(a.facts in facts, f"header facts {facts!r} say {a.facts!r}")
    if a.note or a.no_note:
        note = b.eval("(function(){var e=document.getElementById('note');return e.hidden?'':e.textContent;})()")
        facts = b.eval("document.getElementById('facts').textContent")
        if a.note:
            check(a.note in note, f"header note {note!r} says {a.note!r}")
            if not a.any_facts:
                check("estimates (sampled)" in facts, f"header facts {facts!r} say 'estimates (sampled)'")
        if a.no_note:
            check(a.no_note not in note.lower() and a.no_note not in facts.lower(),
                  f"header {facts!r} / {note!r} does not say {a.no_note!r}")

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
        for sel in a.shot_click:
            click_el(b, sel)
        if a.shot_thread:
            k = (b.eval("__memattach.threadNames") or []).index(a.shot_thread)
            b.eval(f"(function(){{var s=document.getElementById('thread');s.value='{k}';"
                   "s.dispatchEvent(new Event('change'));})()")
        if a.shot_drag:
            f0, f1 = (float(x) for x in a.shot_drag.split(":"))
            r = json.loads(b.eval("JSON.stringify(document.getElementById('chart').getBoundingClientRect())"))
            drag(b, r["x"] + 64 + (r["width"] - 128) * f0, r["x"] + 64 + (r["width"] - 128) * f1, r["y"] + r["height"] / 2)
        b.eval("window.scrollTo(0,0)")
        b.screenshot(a.screenshot, a.shot_height)
        print(f"     screenshot: {a.screenshot}")

    time.sleep(0.2)
    b.eval("1")   # collect late events
    check(not b.errors, "no console error, uncaught exception or network request" +
          ("".join("\n       " + e for e in b.errors) if b.errors else ""))
    return 1 if fails else 0


def click_el(b, selector):
    """A real mouse click on the middle of a page element."""
    r = json.loads(b.eval(f"JSON.stringify(document.querySelector({json.dumps(selector)}).getBoundingClientRect())"))
    b.click(r["x"] + r["width"] / 2, r["y"] + r["height"] / 2)


def boxes(b):
    return json.loads(b.eval("JSON.stringify(__memattach.boxes())"))


def paths(bx):
    """Each drawn box's path of names from the root (the boxes come in
    depth-first order, parents before children)."""
    out, stack = [], []
    for x in bx:
        del stack[x["depth"]:]
        stack.append(x["name"])
        out.append((";".join(stack[1:]), x))
    return out


def check_inverted(b, truth):
    if "inverted" not in truth:
        return
    b.eval("__memattach.setMode('peak')")
    before = b.eval("__memattach.totalBytes")
    if b.eval("__memattach.inverted"):   # report --inverted: the page starts inverted
        got = {p: x["bytes"] for p, x in paths(boxes(b)) if p}
        check(all(got.get(k) == v for k, v in truth["inverted"].items())
              and b.eval("document.getElementById('inverted').checked"),
              f"--inverted: the page starts inverted, toggle on: {got}")
        click_el(b, "#inverted")
        got = {p: x["bytes"] for p, x in paths(boxes(b)) if p}
        check(got.get("main") == truth["modes"]["peak"]["main"], f"a click turns it top-down (main = {got.get('main')})")
        return
    click_el(b, "#inverted")
    check(b.eval("__memattach.inverted") is True, "a click on the Inverted toggle inverts the graph")
    got = {p: x["bytes"] for p, x in paths(boxes(b)) if p}
    for path, want in truth["inverted"].items():
        check(got.get(path) == want, f"inverted peak: {path} = {got.get(path)} (want {want})")
    check(b.eval("__memattach.totalBytes") == before, "inverting keeps the total")
    click_el(b, "#inverted")
    got = {p: x["bytes"] for p, x in paths(boxes(b)) if p}
    check(b.eval("__memattach.inverted") is False and got.get("main") == truth["modes"]["peak"]["main"],
          f"a second click turns it back (main = {got.get('main')})")


def drag(b, x0, x1, y):
    b.call("Input.dispatchMouseEvent", type="mouseMoved", x=x0, y=y)
    b.call("Input.dispatchMouseEvent", type="mousePressed", x=x0, y=y, button="left", clickCount=1)
    for k in range(1, 6):
        b.call("Input.dispatchMouseEvent", type="mouseMoved", x=x0 + (x1 - x0) * k / 5, y=y, button="left", buttons=1)
    b.call("Input.dispatchMouseEvent", type="mouseReleased", x=x1, y=y, button="left", clickCount=1)


def check_ranges(b, truth):
    if "ranges" not in truth:
        return
    check(b.eval("__memattach.hasRange") is True, "the page has time-range data")
    y = b.eval("__memattach.chartPointFor(0).y")
    for t0, t1, want in truth["ranges"]:
        drag(b, b.eval(f"__memattach.chartXFor({t0})"), b.eval(f"__memattach.chartXFor({t1})"), y)
        mode = b.eval("__memattach.mode")
        for name, v in want.items():
            got = b.eval("__memattach.totalBytes" if name == "all" else f"__memattach.valueOf({json.dumps(name)})")
            check(mode == "range" and got == v, f"drag {t0}..{t1} ns ({mode}): {name} = {got} (want {v})")
        info = b.eval("document.getElementById('rangeinfo').textContent")
        check("allocated from" in info, f"the range is named: {info!r}")
    b.eval("__memattach.setMode('peak')")


def check_hist(b, stats):
    bars = json.loads(b.eval("""JSON.stringify([].map.call(document.querySelectorAll('#hist .hb'),
        function(e){return [+e.dataset.min, +e.dataset.max, +e.dataset.count, +e.dataset.bytes];}))"""))
    want = [[h["min"], h["max"], h["count"], h["bytes"]] for h in stats["histogram"] if h["count"]]
    check(bars == want, f"size histogram bars {bars} == stats histogram {want}")


def check_diff(b, truth):
    for mode, vals in truth["modes"].items():
        b.eval(f"__memattach.setMode('{mode}')")
        for name, want in vals.items():
            got = b.eval("__memattach.totalChange" if name == "all" else f"__memattach.changeOf({json.dumps(name)})")
            check(got == want, f"--base {mode}: change of {name} = {got} (want {want})")
    b.eval(f"__memattach.setMode('{truth['hover_mode']}')")
    name = truth["hover"]
    colors = {x["name"]: x["color"] for x in boxes(b)}
    click_el(b, "#widthbase")
    colors.update({x["name"]: x["color"] for x in boxes(b) if x["name"] not in colors})
    p = b.eval(f"__memattach.rectOf({json.dumps(name)})")
    check(p is not None, f"with the base's widths, {name} is drawn")
    if p:
        b.call("Input.dispatchMouseEvent", type="mouseMoved", x=p["x"], y=p["y"])
        tip = b.eval("document.getElementById('tip').textContent")
        check(truth["hover_text"] in tip, f"tooltip over {name}: {tip!r} has {truth['hover_text']!r}")
    for name, hue in truth["colors"].items():
        check(colors.get(name, "").startswith(f"hsl({hue},"), f"{name} is coloured {colors.get(name)} (hue {hue})")
    click_el(b, "#widthbase")
    # no moment or range on a diff: the buttons are hidden and the page says why
    why = b.eval("(function(){var e=document.getElementById('diffnote');return e&&!e.hidden?e.textContent:'';})()")
    hidden = b.eval("document.getElementById('momentbtn').hidden && document.getElementById('rangebtn').hidden")
    check(hidden and "no counterpart in the base" in why and "--time FROM:TO" in why,
          f"--base page: moment and range hidden ({hidden}) and why shown: {why!r}")
    check_diff_threads(b, truth.get("threads", {}))


def check_diff_threads(b, threads):
    """The thread filter on a diff page: threads matched by name in both
    captures, chosen in the page's own select (a real change event)."""
    names = b.eval("__memattach.threadNames") or []
    for tname, modes in threads.items():
        check(tname in names, f"--base page lists thread {tname!r} ({names})")
        if tname not in names:
            continue
        k = names.index(tname)
        b.eval(f"(function(){{var s=document.getElementById('thread');s.value='{k}';"
               "s.dispatchEvent(new Event('change'));})()")
        for mode, (now, changes) in modes.items():
            b.eval(f"__memattach.setMode('{mode}')")
            got = b.eval("__memattach.totalBytes")
            check(got == now, f"--base, thread {tname}, {mode}: this capture {got} (want {now})")
            for name, want in changes.items():
                got = b.eval("__memattach.totalChange" if name == "all" else f"__memattach.changeOf({json.dumps(name)})")
                check(got == want, f"--base, thread {tname}, {mode}: change of {name} = {got} (want {want})")
    b.eval("__memattach.setThread(-1)")


def check_python(b, truth_path, native):
    truth = {}
    for line in open(truth_path):
        if line.startswith("TRUTH "):
            _, what, size, where = line.split()
            truth[what] = (int(size), where)
    click_el(b, 'button[data-mode="total"]')
    check(b.eval("__memattach.mode") == "total", "the Total button shows everything allocated")
    total = truth["module"][0] + truth["hold"][0]
    check(b.eval("__memattach.totalBytes") == total, f"total {b.eval('__memattach.totalBytes')} (want {total})")
    shown = json.loads(b.eval("JSON.stringify([!document.getElementById('hideimportbox').hidden,"
                              " document.getElementById('hideimport').checked,"
                              " !document.getElementById('hideinterpbox').hidden,"
                              " document.getElementById('hideinterp').checked])"))
    check(shown == [True, True, True, True], f"both hide toggles shown and on for a Python capture {shown}")

    def find(bx, name, where):
        return [x for p, x in paths(bx) if x["name"] == name and x["loc"].endswith(where)]

    bx = boxes(b)
    mod, hold = find(bx, "<module>", truth["module"][1]), find(bx, "hold", truth["hold"][1])
    check(len(mod) == 1 and mod[0]["bytes"] == truth["module"][0] and truth["module"][1] in mod[0]["label"],
          f"the imported module's box: {mod} (want {truth['module']}, file:line in its label)")
    check(len(hold) == 1 and hold[0]["bytes"] == truth["hold"][0] and truth["hold"][1] in hold[0]["label"]
          and hold[0]["kind"] == "Python", f"hold's box: {hold} (want {truth['hold']}, a Python frame)")
    check(not [x for x in bx if "importlib" in x["loc"]], "import machinery hidden by default")
    check(mod and mod[0]["parent"] == "<module>", "the module's box sits on the importing line")
    legend = b.eval("document.getElementById('kinds').textContent")
    check("Python" in legend, f"the colour legend names the kinds drawn: {legend!r}")
    p = b.eval(f"__memattach.rectOf('hold')")
    if p:
        b.call("Input.dispatchMouseEvent", type="mouseMoved", x=p["x"], y=p["y"])
        tip = b.eval("document.getElementById('tip').textContent")
        want = "(" + format(truth["hold"][0], ",") + " B)"
        check(want in tip and truth["hold"][1] in tip, f"tooltip over hold: {tip!r}")

    click_el(b, "#hideimport")
    bx = boxes(b)
    imp = [x for x in bx if "importlib" in x["loc"]]
    check(imp and all(x["bytes"] == truth["module"][0] for x in imp),
          f"import machinery shown after the click: {[(x['name'], x['bytes']) for x in imp]}")
    mod = find(bx, "<module>", truth["module"][1])
    check(len(mod) == 1 and mod[0]["bytes"] == truth["module"][0] and mod[0]["parent"] != "<module>",
          f"the module's box, under importlib now: {mod}")
    check(b.eval("__memattach.totalBytes") == total, "the total does not change")
    click_el(b, "#hideimport")

    interp = lambda: [x for x in boxes(b) if x["kind"] == "the interpreter"]
    if native:
        check(not interp(), "the interpreter's frames hidden by default")
        click_el(b, "#hideinterp")
        got = interp()
        check(any(x["bytes"] == truth["hold"][0] for x in got),
              f"the interpreter's frames shown after the click: {[(x['name'], x['bytes']) for x in got][:6]}")
        check(b.eval("__memattach.totalBytes") == total, "the total does not change")
        click_el(b, "#hideinterp")
    b.eval("__memattach.setMode('peak')")


if __name__ == "__main__":
    sys.exit(main())
