"""A small Python "service" for the README: it loads batches forever and
keeps every one of them in a cache that is never pruned."""
import os
import sys
import time

cache = []


def load_batch(n):
    return bytearray(n)


def handle(i):
    batch = load_batch(100_000)
    if i % 10 == 0:
        cache.append(batch)


def main():
    print("etl_service: pid", os.getpid(), flush=True)
    i = 0
    while True:
        handle(i)
        i += 1
        time.sleep(0.001)


if __name__ == "__main__":
    sys.exit(main())
