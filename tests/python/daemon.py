# Daemon threads still allocating while the interpreter finalizes and the
# process exits: the agent must not read freed thread states (no crash).
import threading
import zlib


def spin():
    data = bytes(200_000)
    while True:
        zlib.compress(data)      # allocates with the GIL released
        bytearray(300_000)


for _ in range(4):
    threading.Thread(target=spin, daemon=True).start()
print("done", flush=True)
