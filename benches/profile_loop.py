"""One operation of the native backend in a loop, for a profiler.

    tools/profile OPERATION [COUNT]        # under linux-perf, in the QEMU guest
    python benches/profile_loop.py OPERATION [COUNT]

Operations: poll (recv(0.0) on an idle vcan1), recv (recv(1.0) from a full
queue on vcan0), round-trip (send on one bus, recv(1.0) on another), send
and send-batch (of 200, while a plain socket listens). Everything is set up
first; then, when $PERF_CTL and $PERF_ACK name perf's control FIFOs (perf
record --control fifo:CTL,ACK -D -1), sampling starts, so that only the loop
is profiled. Prints the time per operation or frame.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import ferrocan
from compare import FRAME_ID, PAYLOAD, PLAIN_FRAME, SEND_BATCH, plain_socket

MESSAGE = ferrocan.Message(arbitration_id=FRAME_ID, is_extended_id=False, data=PAYLOAD)
QUEUE_BYTES = 64 << 20  # room for every frame queued (the kernel doubles it)


def bus(channel: str, stack: ExitStack, **options: Any) -> ferrocan.Bus:
    return stack.enter_context(ferrocan.Bus(channel, backend="native", **options))


def loop_of(operation: str, count: int, stack: ExitStack) -> tuple[Callable[[], None], int]:
    """The loop to profile, and how many operations or frames it makes."""
    if operation == "poll":
        recv = bus("vcan1", stack).recv

        def poll() -> None:
            for _ in range(count):
                recv(0.0)

        return poll, count
    if operation == "recv":
        receiver = bus("vcan0", stack, receive_buffer_size=QUEUE_BYTES)
        filler = stack.enter_context(plain_socket("vcan0"))
        for _ in range(count):
            filler.send(PLAIN_FRAME)
        recv = receiver.recv

        def drain() -> None:
            for _ in range(count):
                if recv(1.0) is None:
                    raise SystemExit("a queued frame did not arrive")

        return drain, count
    if operation == "round-trip":
        send, recv = bus("vcan0", stack).send, bus("vcan0", stack).recv

        def round_trip() -> None:
            for _ in range(count):
                send(MESSAGE)
                if recv(1.0) is None:
                    raise SystemExit("a frame sent did not arrive")

        return round_trip, count
    if operation in ("send", "send-batch"):
        sender = bus("vcan1", stack)
        stack.enter_context(plain_socket("vcan1"))  # listens, as in benches/raw.rs and compare.py
        if operation == "send":
            send = sender.send

            def send_loop() -> None:
                for _ in range(count):
                    send(MESSAGE)

            return send_loop, count
        send_batch, batch = sender.send_batch, [MESSAGE] * SEND_BATCH

        def send_batches() -> None:
            for _ in range(count // SEND_BATCH):
                send_batch(batch)

        return send_batches, count // SEND_BATCH * SEND_BATCH
    raise SystemExit(f"unknown operation {operation!r}: poll, recv, round-trip, send, send-batch")


def start_sampling() -> None:
    """Tells perf to start (perf record --control), if it runs us."""
    control, ack = os.environ.get("PERF_CTL"), os.environ.get("PERF_ACK")
    if control and ack:
        with open(control, "w") as fifo:
            fifo.write("enable\n")
        with open(ack) as fifo:
            fifo.readline()


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        raise SystemExit(__doc__)
    operation, count = argv[0], int(argv[1]) if len(argv) > 1 else 100_000
    with ExitStack() as stack:
        loop, done = loop_of(operation, count, stack)
        start_sampling()
        start = time.perf_counter()
        loop()
        elapsed = time.perf_counter() - start
    print(f"{operation}: {elapsed / done * 1e6:.2f} us per operation or frame ({done})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
