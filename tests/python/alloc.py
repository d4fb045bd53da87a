# Allocates known amounts from known lines and prints the truth, one line
# per expectation:  TRUTH <size> <count> <frame>|<frame>...
# (the Python frames expected innermost first, a prefix of the stack; a
# frame is "function file:line", lines found from the "# @tag" markers).
# Sizes are unusual so that no other allocation of the process has them:
# bytearray(n) mallocs n + 1 bytes, [None] * n mallocs 8 n (both above
# pymalloc's 512-byte limit, so they reach malloc).
import asyncio
import os
import sys
import threading

SRC = open(__file__).read().splitlines()
NEW = sys.version_info >= (3, 11)   # co_qualname


def line_of(tag):
    return next(i + 1 for i, s in enumerate(SRC) if s.rstrip().endswith("# @" + tag))


def fr(name, tag, qual=None):
    return "%s alloc.py:%d" % (qual if (qual and NEW) else name, line_of(tag))


def truth(size, count, *frames):
    print("TRUTH %d %d %s" % (size, count, "|".join(frames)))


def make_buffer(n):
    return bytearray(n)  # @buffer


def make_list(n):
    return [None] * n  # @list


def outer():
    keep = []
    for _ in range(3):
        keep.append(make_buffer(10_000_000))  # @outer_buffer
    keep.append(make_list(1_000_003))  # @outer_list
    return keep


def basic():
    outer()  # @basic
    truth(10_000_001, 3, fr("make_buffer", "buffer"), fr("outer", "outer_buffer"),
          fr("basic", "basic"))
    truth(8_000_024, 1, fr("make_list", "list"), fr("outer", "outer_list"), fr("basic", "basic"))


def tbuf(n):
    return bytearray(n)  # @tbuf


def worker(k, out):
    for _ in range(5):
        out.append(tbuf(2_000_000 + 1000 * k))  # @worker


def threads():
    out = []
    ts = [threading.Thread(target=worker, args=(k, out)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for k in range(4):
        truth(2_000_001 + 1000 * k, 5, fr("tbuf", "tbuf"), fr("worker", "worker"))


def gen(n):
    for _ in range(n):
        yield bytearray(3_000_000)  # @gen


def use_gen():
    keep = []
    for b in gen(4):  # @use_gen
        keep.append(b)
    truth(3_000_001, 4, fr("gen", "gen"), fr("use_gen", "use_gen"))


async def job(n):
    await asyncio.sleep(0)
    return bytearray(n)  # @job


async def amain():
    a = await job(4_000_000)  # @amain1
    b = await job(4_000_000)  # @amain2
    return a, b


def use_async():
    asyncio.run(amain())
    truth(4_000_001, 1, fr("job", "job"), fr("amain", "amain1"))
    truth(4_000_001, 1, fr("job", "job"), fr("amain", "amain2"))


def exec_loop():
    """Functions of different names and lines, created and freed in turn:
    their code objects reuse addresses; each must keep its own name."""
    ids = set()
    n = 300
    for i in range(n):
        src = "\n" * (i % 7) + "def f_%d(n):\n    return bytearray(n)\n" % i
        ns = {}
        exec(compile(src, "<gen>", "exec"), ns)
        f = ns["f_%d" % i]
        ids.add(id(f.__code__))
        f(600_000 + 8 * i)  # @exec
        ns.clear()  # breaks the function-globals cycle: freed now
        del f, ns
    for i in range(n):
        truth(600_001 + 8 * i, 1, "f_%d <gen>:%d" % (i, i % 7 + 2), fr("exec_loop", "exec"))
    print("REUSED %d" % (n - len(ids)))


def leaf(n):
    return bytearray(n)  # @leaf


def via_a(n):
    return leaf(n)  # @via_a


def via_b(n):
    return leaf(n)  # @via_b


def two_sites(n, k):
    if k:
        return leaf(n)  # @site1
    return leaf(n)  # @site2


def rec(d, n):
    return leaf(n) if d == 0 else rec(d - 1, n)  # @rec


def rec2(d, n):
    if d % 2:
        return rec2(d - 1, n)  # @rec_odd
    return leaf(n) if d == 0 else rec2(d - 1, n)  # @rec_even


def same_shape():
    """Call paths whose frames land where the last allocation's did, with
    the same sizes and often the same code: each allocation's frames must
    be its own (a walk may confirm the last one's frames, never assume
    them)."""
    keep = []
    for i in range(40):
        keep.append(via_a(700_003))  # @shape_a
        keep.append(via_b(700_005))  # @shape_b
        keep.append(leaf(700_007))  # @shape_leaf
        keep.append(two_sites(700_009, 1))  # @shape_s1
        keep.append(two_sites(700_011, 0))  # @shape_s2
        keep.append(rec(i % 3 + 1, 700_013 + 2 * (i % 3)))  # @shape_rec
        keep.append(rec2(i % 4 + 1, 700_031 + 2 * (i % 4)))  # @shape_rec2
    truth(700_004, 40, fr("leaf", "leaf"), fr("via_a", "via_a"), fr("same_shape", "shape_a"))
    truth(700_006, 40, fr("leaf", "leaf"), fr("via_b", "via_b"), fr("same_shape", "shape_b"))
    truth(700_008, 40, fr("leaf", "leaf"), fr("same_shape", "shape_leaf"))
    truth(700_010, 40, fr("leaf", "leaf"), fr("two_sites", "site1"), fr("same_shape", "shape_s1"))
    truth(700_012, 40, fr("leaf", "leaf"), fr("two_sites", "site2"), fr("same_shape", "shape_s2"))
    for d in range(1, 4):
        truth(700_014 + 2 * (d - 1), len([i for i in range(40) if i % 3 + 1 == d]),
              fr("leaf", "leaf"), *[fr("rec", "rec")] * (d + 1), fr("same_shape", "shape_rec"))
    # one function calling itself from two lines: each frame keeps its own
    for d in range(1, 5):
        truth(700_032 + 2 * (d - 1), 10, fr("leaf", "leaf"),
              *[fr("rec2", "rec_odd" if k % 2 else "rec_even") for k in range(d + 1)],
              fr("same_shape", "shape_rec2"))


def inner(n):
    return bytearray(n)  # @inner


# A generator whose frame (40000 locals) makes a 320 KB object, which
# pymalloc leaves to malloc.
FAT_SRC = ("def fat_gen():\n"
           + "".join("    v%d = %d\n" % (i, i) for i in range(40000))
           + "    yield inner(700_101)\n")


def freed_frames():
    """Frames of a chain that die with their memory: a generator's frame
    is freed with its object, and the next allocation's innermost frame
    sits where the one the generator called sat.  The last chain must not
    be taken for the new one, nor read where its memory may be gone."""
    ns = {"inner": inner}
    exec(compile(FAT_SRC, "<fat>", "exec"), ns)
    fat_gen = ns["fat_gen"]
    keep = [None] * 10   # filled in place: no allocation between the steps
    for i in range(5):
        g = fat_gen()
        keep[2 * i] = next(g)  # @ff_next
        next(g, None)   # returns without an exception object
        del g
        keep[2 * i + 1] = leaf(700_103)  # @ff_leaf
    truth(700_102, 5, fr("inner", "inner"), "fat_gen <fat>:40002",
          fr("freed_frames", "ff_next"))
    truth(700_104, 5, fr("leaf", "leaf"), fr("freed_frames", "ff_leaf"))


def marshal_loop():
    """Functions loaded from bytes made up front, each freed before the
    next is loaded: nothing between one's allocation and the next one's
    reaches malloc (code objects this small come from pymalloc), so the
    next one's frame sits where the last one's sat, its code object where
    the last one's was, at the same instruction.  Each must keep its own
    name."""
    import marshal
    n = 200
    blobs = [marshal.dumps(compile("def g_%d(n):\n    return bytearray(n)\n" % i, "<m>", "exec"))
             for i in range(n)]
    ids = [0] * n
    for i in range(n):
        ns = {}
        exec(marshal.loads(blobs[i]), ns)
        g = ns["g_%d" % i]
        ids[i] = id(g.__code__)
        g(650_000 + 8 * i)  # @marshal
        ns.clear()
        del g, ns
    for i in range(n):
        truth(650_001 + 8 * i, 1, "g_%d <m>:2" % i, fr("marshal_loop", "marshal"))
    print("REUSED %d" % sum(1 for i in range(1, n) if ids[i] == ids[i - 1]))


if __name__ == "__main__":
    for name in sys.argv[1:] or ["basic", "threads", "use_gen", "use_async", "exec_loop",
                                     "same_shape", "freed_frames", "marshal_loop"]:
        globals()[name]()
    sys.stdout.flush()
