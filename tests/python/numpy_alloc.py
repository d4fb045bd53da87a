# np.zeros((1000, 1000)) under Debian's python3 and python3-numpy: the
# 8,000,000-byte buffer numpy asks calloc for must carry the Python frames
# that called np.zeros, and (checked by python-system.sh on the report) the
# Python view must read make_zeros → numpy's C functions, with the
# interpreter's call machinery between them left out.
import numpy as np

SRC = open(__file__).read().splitlines()


def line_of(tag):
    return next(i + 1 for i, s in enumerate(SRC) if s.rstrip().endswith("# @" + tag))


def make_zeros():
    return np.zeros((1000, 1000))  # @zeros


def main():
    a = make_zeros()  # @main
    assert a.nbytes == 8_000_000 and a.sum() == 0
    print("TRUTH 8000000 1 make_zeros numpy_alloc.py:%d|main numpy_alloc.py:%d"
          % (line_of("zeros"), line_of("main")))


main()
