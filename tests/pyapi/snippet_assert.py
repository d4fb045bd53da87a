# The assert_max_memory example of the issue, as written, around a 50 MB
# bytearray; argv[1] is the limit in MB.  Prints PASSED or the assertion.
import sys
from contextlib import contextmanager
from memattach import Tracker


@contextmanager
def assert_max_memory(max_mb):
    with Tracker('memory_test.bin') as tracker:
        yield
        stats = tracker.stats()
        peak_mb = stats.peak_memory / (1024 * 1024)
        assert peak_mb <= max_mb, f"Memory usage ({peak_mb}MB) exceeded limit ({max_mb}MB)"


try:
    with assert_max_memory(int(sys.argv[1])):
        data = bytearray(50_000_000)
except AssertionError as e:
    print("AssertionError:", e)
else:
    print("PASSED")
