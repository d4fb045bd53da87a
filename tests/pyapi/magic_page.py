"""magic_page.py PAGE.html — the %%memattach_flamegraph output (an iframe
whose srcdoc is the flame graph page, sandbox="allow-scripts") inside a
page, as a notebook shows it, loaded in headless Chromium: the flame graph
runs inside the iframe (window.__memattach.ready), with no error and no
network request, and its leaks view gives make_blocks exactly 7,000,007
bytes (the cell of magic_checks.py).  Exit 0 pass, 1 fail, 77 no Chromium."""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "flamegraph"))
import cdp  # noqa: E402

BYTES = 7 * 1_000_001


def attach_iframe(b, deadline):
    """A DevTools client of the iframe: a sandboxed srcdoc iframe has an
    opaque origin, so Chromium runs it as a target of its own."""
    while time.time() < deadline:
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % b.port, timeout=5) as r:
            for t in json.load(r):
                if t.get("type") == "iframe" and t.get("url") == "about:srcdoc":
                    sub = object.__new__(cdp.Browser)   # the same client over the iframe's socket
                    sub.ws, sub.next_id, sub.events, sub.errors = cdp.WebSocket(t["webSocketDebuggerUrl"]), 0, [], []
                    return sub
        b.call("Runtime.evaluate", expression="1")
    return None


def main(page):
    chromium = cdp.find_chromium()
    if not chromium:
        print("SKIP: no chromium (apt-get install chromium)")
        return 77
    b = cdp.Browser(chromium)
    try:
        b.call("Runtime.enable")
        b.call("Log.enable")
        b.call("Page.enable")
        b.call("Network.enable")
        b.call("Page.navigate", url="file://" + os.path.abspath(page))
        b.wait_event("Page.loadEventFired", timeout=120)
        deadline = time.time() + 60
        sub = attach_iframe(b, deadline)
        ready = False
        if sub is not None:
            sub.call("Runtime.enable")
            while not ready and time.time() < deadline:
                ready = sub.eval("!!(window.__memattach && window.__memattach.ready)")
        fails = []
        if not ready:
            fails.append("the flame graph did not initialise inside the iframe (%s)"
                         % ("no iframe target" if sub is None else "not ready"))
        else:
            sub.eval("__memattach.setMode('leak')")
            got = sub.eval("__memattach.valueOf('make_blocks')")
            if got != BYTES:
                fails.append("leaks view: make_blocks = %r, not %d" % (got, BYTES))
            else:
                print("ok: inside the iframe, the leaks view gives make_blocks %d B" % got)
            fails += sub.errors
        fails += b.errors
        for f in fails:
            print("FAIL: " + f)
        if not fails:
            print("ok: no console error, no network request")
        return 1 if fails else 0
    finally:
        b.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
