# Tests for the plugin's own test (pytest.sh): each allocates a known
# amount at a known line; the passing ones stay under their limits.
import pytest

kept = []


@pytest.mark.limit_memory("100 MB")
def test_memory_under():
    data = bytearray(30_000_000)
    assert len(data) == 30_000_000


@pytest.mark.limit_memory("24 MB")
def test_memory_over():
    data = bytearray(40_000_000)
    assert len(data) == 40_000_000


@pytest.mark.limit_leaks("1 MB")
def test_leaks_under():
    data = bytearray(5_000_000)
    del data


@pytest.mark.limit_leaks("1 MB")
def test_leaks_over():
    kept.append(bytearray(3_000_000))


def test_unmarked():
    data = bytearray(50_000_000)
    assert data[0] == 0
