"""send() against a transmit queue that fills up: timeouts, retries,
shutdown and Ctrl-C. vcan never pushes back by itself, so a token-bucket
qdisc gives it a real kernel queue that answers ENOBUFS when full."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import pytest
from ferrocan import CanOperationError, Message

from .support import BusFactory

FRAME = Message(arbitration_id=0x10, is_extended_id=False, data=b"\x01")


def test_a_timed_send_gives_up_with_buffer_full(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    bus = make_bus(slow_vcan(limit="1"))
    start = time.monotonic()
    with pytest.raises(CanOperationError) as raised:
        bus.send(FRAME, timeout=0.2)
    waited = time.monotonic() - start
    assert raised.value.error_code == errno.ENOBUFS
    assert str(raised.value) == (
        "transmit buffer full on 'vcanq': the frame was not taken within 0.2 s [Error Code 105]"
    )
    assert 0.2 <= waited < 0.2 + 0.5


def test_a_zero_timeout_send_tries_once(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    bus = make_bus(slow_vcan(limit="1"))
    start = time.monotonic()
    with pytest.raises(CanOperationError, match=r"within 0\.0 s"):
        bus.send(FRAME, timeout=0.0)
    assert time.monotonic() - start < 0.2


def test_an_untimed_send_waits_for_room_and_loses_nothing(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    """620 frames/s with room for ten: most sends meet a full queue and retry."""
    channel = slow_vcan(rate="80kbit", burst="160", limit="160")
    tx, rx = make_bus(channel), make_bus(channel)
    for i in range(150):
        tx.send(Message(arbitration_id=i, is_extended_id=False))
    # Each frame within a second; then no extra one within 0.1 s, some 60
    # frame times at this rate (a fixed second of silence cost a second).
    got = []
    while len(got) < 150 and (msg := rx.recv(1.0)) is not None:
        got.append(msg.arbitration_id)
    if (extra := rx.recv(0.1)) is not None:
        got.append(extra.arbitration_id)
    assert got == list(range(150))
    stats = subprocess.run(
        ["tc", "-s", "qdisc", "show", "dev", channel], capture_output=True, text=True, check=True
    ).stdout
    assert "dropped 0," not in stats, f"the queue never filled, so nothing was retried:\n{stats}"


def test_shutdown_wakes_a_send_waiting_for_room(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    bus = make_bus(slow_vcan(limit="1"))
    threading.Timer(0.2, bus.shutdown).start()
    start = time.monotonic()
    with pytest.raises(CanOperationError, match="shut down"):
        bus.send(FRAME)
    assert time.monotonic() - start < 0.2 + 0.5


def test_ctrl_c_interrupts_a_send_waiting_for_room(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    bus = make_bus(slow_vcan(limit="1"))
    threading.Timer(0.2, os.kill, [os.getpid(), signal.SIGINT]).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        bus.send(FRAME)
    assert time.monotonic() - start < 0.2 + 0.1 + 0.1


def test_a_timed_send_batch_returns_how_many_the_queue_took(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    """The queue has room for about 160 of 200 frames at once, and drains 12
    more in 0.2 s. send_batch with timeout 0 takes what fits; with 0.2 s on a
    full queue it keeps offering frames until the timeout, then says how many
    went. The receiver proves the counts: exactly those frames, in order."""
    channel = slow_vcan(limit="1000")
    tx, rx = make_bus(channel), make_bus(channel)
    frames = [Message(arbitration_id=i, is_extended_id=False, data=b"\x01") for i in range(200)]
    start = time.monotonic()
    at_once = tx.send_batch(frames, timeout=0.0)
    assert time.monotonic() - start < 0.2
    assert 0 < at_once < len(frames)
    start = time.monotonic()
    later = tx.send_batch(frames[at_once:], timeout=0.2)
    waited = time.monotonic() - start
    assert 0 < later < len(frames) - at_once, "the full queue's room was not waited for"
    assert 0.2 <= waited < 0.2 + 0.5
    got = []
    while len(got) < at_once + later and (msg := rx.recv(1.0)) is not None:
        got.append(msg.arbitration_id)  # the queue drains at 62 frames/s
    # No frame past those counted: 0.2 s is some 12 frame times at this rate
    # (waiting out a fixed second for it cost a second).
    if (extra := rx.recv(0.2)) is not None:
        got.append(extra.arbitration_id)
    assert got == list(range(at_once + later))


def test_a_send_batch_the_queue_takes_none_of_raises_buffer_full(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    bus = make_bus(slow_vcan(limit="1"))
    start = time.monotonic()
    with pytest.raises(CanOperationError) as raised:
        bus.send_batch([FRAME] * 200, timeout=0.2)
    waited = time.monotonic() - start
    assert raised.value.error_code == errno.ENOBUFS
    assert str(raised.value) == (
        "transmit buffer full on 'vcanq': the frame was not taken within 0.2 s [Error Code 105]"
    )
    assert 0.2 <= waited < 0.2 + 0.5
