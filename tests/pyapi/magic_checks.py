# The notebook magics through IPython's own test shell (globalipapp): a cell
# that keeps 7 bytearrays of 1,000,000 bytes (7 blocks of 1,000,001: the
# buffer and its NUL) made at a known line of a function of its own.
# %%memattach_summary --leaks must name that line with exactly those
# bytes and blocks; %%memattach_flamegraph must show the cell's function
# in an iframe srcdoc holding the whole flame graph page, nothing fetched;
# argv[1], if given, receives that output inside a page (magic_page.py).
import html
import re
import sys

from IPython.testing.globalipapp import get_ipython
from IPython.utils.capture import capture_output

failed = 0


def check(ok, what):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed |= not ok


CELL = """\
def make_blocks():
    out = []
    for _ in range(7):
        out.append(bytearray(1_000_000))
    return out
kept = make_blocks()
"""
BYTES, BLOCKS = 7 * 1_000_001, 7

ip = get_ipython()
# as in a notebook (the terminal test shell shows text/plain only)
ip.display_formatter.formatters["text/html"].enabled = True
ip.display_formatter.active_types = ["text/plain", "text/html"]
ip.run_line_magic("load_ext", "memattach")

with capture_output() as cap:
    ip.run_cell_magic("memattach_summary", "--leaks --max 3", CELL)
text = cap.stdout
check(len(ip.user_ns.get("kept", [])) == 7, "the cell ran in the user namespace")
rows = [l.split() for l in text.splitlines() if re.match(r"\s+[0-9,]+\s+[0-9.]+%", l)]
top = rows[0] if rows else []
# own bytes, own%, total bytes, total%, blocks, function, file:line
ok = (len(top) >= 7 and top[0] == "{:,}".format(BYTES) and top[4] == str(BLOCKS)
      and top[5] == "make_blocks" and top[-1].endswith(":4"))
check(ok, "summary --leaks: top row %r is %s B in %d blocks at make_blocks <cell>:4"
      % (" ".join(top), "{:,}".format(BYTES), BLOCKS))
if not ok:
    print(text)

with capture_output() as cap:
    ip.run_cell_magic("memattach_flamegraph", "", CELL)
outs = [o.data.get("text/html", "") for o in cap.outputs]
check(len(outs) == 1, "the flame graph magic displays one HTML output (%d)" % len(outs))
m = re.fullmatch(r'<iframe srcdoc="([^"]*)" width="100%" height="[0-9]+" frameborder="0" '
                 r'sandbox="allow-scripts"></iframe>', outs[0] if outs else "")
page = html.unescape(m.group(1)) if m else ""
check(page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>"),
      "an iframe whose srcdoc is a whole HTML page (%d bytes)" % len(page))
check('"make_blocks"' in page, "the page names the cell's function make_blocks")
check(not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page), "the page fetches nothing (no src/href to a URL)")
check(str(BYTES) in page, "the page holds the cell's %d bytes" % BYTES)
if len(sys.argv) > 1 and outs:
    # the output as a notebook shows it, for the browser check (magic_page.py)
    with open(sys.argv[1], "w") as f:
        f.write("<!DOCTYPE html>\n<html><body><h1>notebook</h1>\n%s\n</body></html>\n" % outs[0])

for line in ("--leaks --peak", "--bogus"):
    with capture_output() as cap:
        try:
            ip.run_cell_magic("memattach_summary", line, "x = 1")
            refused = False
        except (ValueError, Exception) as e:
            refused = "memattach" in str(e) or "unrecognized" in str(e)
    check(refused, "options %r are refused" % line)
sys.exit(1 if failed else 0)
