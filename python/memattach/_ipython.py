"""IPython / Jupyter: `%load_ext memattach` gives two cell magics.

    %%memattach_flamegraph [--leaks|--peak] [--native] [--trace-python-allocators]
    %%memattach_summary [--leaks|--peak] [--native] [--trace-python-allocators] [--max N]

Each runs the cell under a Tracker (in this kernel's process, in its user
namespace) and shows the capture: the flame graph page of `memattach report
flamegraph`, self-contained, inside an iframe's srcdoc (nothing is fetched),
or the text of `memattach report summary`."""
import html
import os
import shutil
import subprocess
import tempfile

from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import HTML, display

from ._locate import find_cli
from ._tracker import Tracker


def _common(f):
    """The options both magics take."""
    for a in reversed([
            argument("--leaks", action="store_true", help="memory still live at the end of the cell"),
            argument("--peak", action="store_true", help="memory live at the high-water mark (the default)"),
            argument("--native", action="store_true", help="keep every native frame (Tracker(native_traces=True))"),
            argument("--trace-python-allocators", action="store_true",
                     help="see every object pymalloc serves (Tracker(trace_python_allocators=True))")]):
        f = a(f)
    return f


def _memory_option(args):
    if args.leaks and args.peak:
        raise ValueError("memattach: --leaks and --peak exclude each other; give one")
    return "--leaks" if args.leaks else "--peak"


def _report(args, capture, fmt, extra):
    """The report's text (written to a file beside the capture)."""
    out = capture + "." + fmt
    cmd = [find_cli(), "report", fmt, _memory_option(args)] + extra + ["-o", out, capture]
    if args.native:
        cmd.insert(4, "--native")
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode not in (0, 20):   # 20: damaged capture, still reported
        raise RuntimeError(p.stderr.decode("utf-8", "replace").strip())
    with open(out, encoding="utf-8", errors="replace") as f:
        return f.read()


def iframe(page, height=600):
    """The page inside an iframe's srcdoc (quotes and & escaped), so that its
    scripts and styles stay apart from the notebook's."""
    return ('<iframe srcdoc="%s" width="100%%" height="%d" frameborder="0" '
            'sandbox="allow-scripts"></iframe>' % (html.escape(page, quote=True), height))


@magics_class
class MemattachMagics(Magics):

    def _run_tracked(self, args, cell, capture):
        """Runs the cell as IPython would (magics in it transformed), its
        allocations recorded into capture."""
        source = self.shell.transform_cell(cell)
        filename = self.shell.compile.cache(source)
        code = compile(source, filename, "exec")
        with Tracker(capture, native_traces=args.native,
                     trace_python_allocators=args.trace_python_allocators):
            exec(code, self.shell.user_global_ns, self.shell.user_ns)

    def _capture_and_report(self, args, cell, fmt, extra):
        tmp = tempfile.mkdtemp(prefix="memattach-cell-")
        try:
            capture = os.path.join(tmp, "cell.memcap")
            self._run_tracked(args, cell, capture)
            return _report(args, capture, fmt, extra)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @magic_arguments()
    @_common
    @cell_magic
    def memattach_flamegraph(self, line, cell):
        """Runs the cell tracked and shows its flame graph inline."""
        args = parse_argstring(self.memattach_flamegraph, line)
        _memory_option(args)
        page = self._capture_and_report(args, cell, "flamegraph", [])
        display(HTML(iframe(page)))

    @magic_arguments()
    @_common
    @argument("--max", type=int, default=10, help="rows of the summary (default 10)")
    @cell_magic
    def memattach_summary(self, line, cell):
        """Runs the cell tracked and prints the summary of its memory."""
        args = parse_argstring(self.memattach_summary, line)
        _memory_option(args)
        if args.max < 1:
            raise ValueError("memattach: --max must be at least 1")
        print(self._capture_and_report(args, cell, "summary", ["--max", str(args.max)]), end="")


def load_ipython_extension(ipython):
    ipython.register_magics(MemattachMagics)
