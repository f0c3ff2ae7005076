"""Send a heartbeat every 10 ms with the kernel's broadcast manager, change
its data on the fly, and count what a second bus receives.

Run it where vcan0 exists, e.g.: tools/vcan-run .venv/bin/python examples/periodic.py
"""

from __future__ import annotations

import time

import ferrocan
from ferrocan import Message

PERIOD = 0.01  # seconds
HEARTBEAT_ID = 0x100


def heartbeat(counter: int) -> Message:
    return Message(arbitration_id=HEARTBEAT_ID, is_extended_id=False, data=[counter, 0xAA])


def main() -> None:
    with ferrocan.Bus("vcan0") as bus, ferrocan.Bus("vcan0") as listener:
        task = bus.send_periodic(heartbeat(0), PERIOD)
        for counter in range(1, 5):
            time.sleep(0.05)
            task.modify_data(heartbeat(counter))  # the next frame is sent on time
        time.sleep(0.05)
        task.stop()

        frames = listener.recv_batch(max_messages=1000, timeout=1.0)
        counters = sorted({msg.data[0] for msg in frames})
        print(f"received {len(frames)} heartbeats, counters {counters}")
        if counters != [0, 1, 2, 3, 4]:
            raise SystemExit("a modification was not sent")

        # A cycle of two messages, for exactly 10 frames: duration / period.
        cycle = [heartbeat(0x10), heartbeat(0x11)]
        bus.send_periodic(cycle, PERIOD, duration=10 * PERIOD)
        frames = []
        while (msg := listener.recv(timeout=1.0)) is not None:  # until 1 s of silence
            frames.append(msg)
        print("cycle:", " ".join(f"{msg.data[0]:02X}" for msg in frames))
        if len(frames) != 10:
            raise SystemExit(f"expected 10 frames, got {len(frames)}")


if __name__ == "__main__":
    main()
