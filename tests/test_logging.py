"""What ferrocan logs, through module loggers under ``ferrocan`` as python-can's
interfaces do: a bus opening and shutting down, a growing drop count (a
warning), periodic tasks starting and stopping, interface changes. Nothing is
logged per frame. (The io_uring fallback's record is in test_fallback.py.)"""

from __future__ import annotations

import logging
import uuid

import pytest
from ferrocan import Message, link

from .support import BusFactory, send_through_backlog

FRAME = Message(arbitration_id=0x123, is_extended_id=False, data=b"\x01")


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="ferrocan")
    return caplog


def records(caplog: pytest.LogCaptureFixture, logger: str) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == logger]


def test_a_bus_logs_its_opening_and_its_shutdown(
    make_bus: BusFactory, logged: pytest.LogCaptureFixture
) -> None:
    bus = make_bus("vcan0", fd=True, can_filters=[{"can_id": 0x123, "can_mask": 0x7FF}])
    [(level, opened)] = records(logged, "ferrocan.bus")
    assert level == logging.DEBUG
    expected = f"opened {bus.channel_info}: fd=True, xl=False, filters=[{{'can_id': 291,"
    assert opened.startswith(expected)
    assert f"receive buffer {bus.receive_buffer_size} bytes, software timestamps" in opened
    logged.clear()
    make_bus("vcan0").send(FRAME)
    assert bus.recv(2.0) is not None
    logged.clear()
    bus.shutdown()
    bus.shutdown()
    assert records(logged, "ferrocan.bus") == [
        (logging.DEBUG, "shutting down 'vcan0': 1 received, 0 sent, 0 dropped")
    ]


def test_nothing_is_logged_per_frame(
    make_bus: BusFactory, logged: pytest.LogCaptureFixture
) -> None:
    tx, rx = make_bus("vcan0"), make_bus("vcan0")
    logged.clear()
    for _ in range(50):
        tx.send(FRAME)
        assert rx.recv(2.0) is not None
        assert rx.recv(0.0) is None
    assert tx.send_batch([FRAME] * 50) == 50
    received = 0
    while received < 50:
        received += len(rx.recv_batch(50, 2.0))
    assert logged.records == []


def test_a_growing_drop_count_is_a_warning_once(
    make_bus: BusFactory, logged: pytest.LogCaptureFixture
) -> None:
    rx = make_bus("vcan1", receive_buffer_size=1)  # the kernel's minimum
    send_through_backlog(make_bus("vcan1"), [FRAME] * 1000)
    dropped = rx.statistics().dropped
    assert dropped > 0
    assert records(logged, "ferrocan.bus")[-1] == (
        logging.WARNING,
        f"the kernel dropped {dropped} frame(s) on 'vcan1' for want of room in the receive "
        f"buffer ({dropped} in all): read faster, or open the bus with a larger "
        "receive_buffer_size",
    )
    logged.clear()
    assert rx.statistics().dropped == dropped
    assert records(logged, "ferrocan.bus") == []


def test_periodic_tasks_log_starting_and_stopping(
    make_bus: BusFactory, logged: pytest.LogCaptureFixture
) -> None:
    task = make_bus("vcan0").send_periodic(FRAME, 0.05)
    task.stop()
    assert records(logged, "ferrocan.periodic") == [
        (logging.DEBUG, "periodic task id=0x123 started: 1 message(s) every 0.05 s"),
        (logging.DEBUG, "periodic task id=0x123 stopped"),
    ]


def test_interface_changes_are_logged(logged: pytest.LogCaptureFixture) -> None:
    name = f"vlog{uuid.uuid4().hex[:6]}"
    link.add_vcan(name)
    try:
        link.set(name, mtu=72)
        link.up(name)
        link.down(name)
    finally:
        link.delete(name)
    assert records(logged, "ferrocan.link") == [
        (logging.INFO, f"created vcan interface {name!r}"),
        (logging.INFO, f"set {name!r}: mtu=72"),
        (logging.INFO, f"brought {name!r} up"),
        (logging.INFO, f"brought {name!r} down"),
        (logging.INFO, f"deleted interface {name!r}"),
    ]
