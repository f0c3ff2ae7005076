"""What a Raspberry Pi user gets from ``pip install ferrocan``: the
machine's own wheel, on the native backend, sending and receiving on
Debian's kernel for that machine (tools/arm-run). The ctypes backend, which
the same wheel carries, is checked beside it: its kernel structs are laid
out by hand, and armv7l is the one 32-bit machine in the suite."""

from __future__ import annotations

import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

import can
import ferrocan
import pytest
from ferrocan import Bus, Message
from ferrocan._backend import native_available

from ..peers import Candump, cansend
from ..support import BusFactory, frame_fields

#: Emulation makes everything slower; bounds are generous, never tight.
SLACK = 2.0

FRAMES = {
    "classic": Message(arbitration_id=0x123, data=b"\x01\x02\x03\x04", is_extended_id=False),
    "extended": Message(arbitration_id=0x1ABCDEF0, data=b"\xde\xad\xbe\xef\x00\x11\x22\x33"),
    "remote": Message(arbitration_id=0x321, is_extended_id=False, is_remote_frame=True, dlc=6),
    "fd": Message(
        arbitration_id=0x1F000001,
        data=bytes(range(64)),
        is_fd=True,
        bitrate_switch=True,
        error_state_indicator=True,
    ),
}


def same_frame(got: Message | None, sent: Message) -> bool:
    return got is not None and frame_fields(got) == frame_fields(sent)


def test_pip_installed_this_machines_wheel_with_the_native_backend(machine: str) -> None:
    dist = metadata.distribution("ferrocan")
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(": ", 1)[1] for line in wheel.splitlines() if line.startswith("Tag: ")]
    assert f"cp310-abi3-manylinux_2_17_{machine}" in tags
    assert all(
        tag.startswith("cp310-abi3-manylinux") and tag.endswith(f"_{machine}") for tag in tags
    ), tags
    assert Path(ferrocan.__file__).is_relative_to(sys.prefix), "ferrocan must come from the venv"
    assert native_available()
    assert ferrocan.backend == "native"
    with Bus("vcan0") as bus:
        assert bus.backend == "native"


@pytest.mark.parametrize("kind", FRAMES)
def test_send_and_receive(machine: str, make_bus: BusFactory, kind: str) -> None:
    sender, receiver = make_bus(fd=True), make_bus(fd=True)
    sent = FRAMES[kind]
    before = time.time()
    sender.send(sent)
    got = receiver.recv(SLACK)
    assert same_frame(got, sent), got
    assert got is not None and got.channel == "vcan0"
    # A 32-bit time_t or a misread timeval would put the stamp far off.
    assert before - 0.001 <= got.timestamp <= time.time() + 0.001


def test_recv_zero_returns_at_once_empty_or_with_a_frame(
    machine: str, make_bus: BusFactory
) -> None:
    sender, receiver = make_bus(), make_bus()
    assert receiver.recv(0.0) is None
    sent = FRAMES["classic"]
    sender.send(sent)
    deadline = time.monotonic() + SLACK
    got = None
    while got is None and time.monotonic() < deadline:
        got = receiver.recv(0.0)
    assert same_frame(got, sent)
    assert receiver.recv(0.0) is None


def test_recv_timeout_waits_about_that_long(machine: str, make_bus: BusFactory) -> None:
    receiver = make_bus()
    start = time.monotonic()
    assert receiver.recv(0.2) is None
    assert 0.2 <= time.monotonic() - start < 0.2 + SLACK


def test_batches_keep_every_frame_in_order(machine: str, make_bus: BusFactory) -> None:
    sender, receiver = make_bus(), make_bus()
    sent = [
        Message(arbitration_id=i, data=i.to_bytes(2, "big"), is_extended_id=False)
        for i in range(200)
    ]
    assert sender.send_batch(sent, timeout=SLACK) == len(sent)
    got: list[Message] = []
    deadline = time.monotonic() + SLACK
    while len(got) < len(sent) and time.monotonic() < deadline:
        got += receiver.recv_batch(64, timeout=0.1)
    assert [(m.arbitration_id, bytes(m.data)) for m in got] == [
        (m.arbitration_id, bytes(m.data)) for m in sent
    ]


def test_filters_pass_only_matching_frames(machine: str, make_bus: BusFactory) -> None:
    sender, receiver = make_bus(), make_bus()
    receiver.set_filters([{"can_id": 0x200, "can_mask": 0x700, "extended": False}])
    for can_id in (0x100, 0x201, 0x300, 0x2FF):
        sender.send(Message(arbitration_id=can_id, is_extended_id=False))
    got = []
    while (msg := receiver.recv(0.3)) is not None:
        got.append(msg.arbitration_id)
    assert got == [0x201, 0x2FF]


def test_send_periodic_is_timed_by_the_kernel(machine: str, make_bus: BusFactory) -> None:
    bus, receiver = make_bus(), make_bus()
    msg = Message(arbitration_id=0x456, data=b"\xaa", is_extended_id=False)
    task = bus.send_periodic(msg, 0.05)
    stamps = []
    deadline = time.monotonic() + 5 * SLACK
    while len(stamps) < 11 and time.monotonic() < deadline:
        got = receiver.recv(SLACK)
        if same_frame(got, msg):
            assert got is not None
            stamps.append(got.timestamp)
    task.stop()
    assert len(stamps) == 11
    intervals = [b - a for a, b in zip(stamps, stamps[1:])]
    assert statistics.median(intervals) == pytest.approx(0.05, rel=0.3)
    while receiver.recv(0.1) is not None:
        pass
    assert receiver.recv(0.3) is None, "a stopped task must send nothing more"


def test_cansend_to_ferrocan(machine: str, make_bus: BusFactory) -> None:
    receiver = make_bus(fd=True)
    cansend("vcan0", "1F334455#1122334455667788")
    cansend("vcan0", "123##1" + "ab" * 12)
    first, second = receiver.recv(SLACK), receiver.recv(SLACK)
    assert first is not None and second is not None
    assert (first.arbitration_id, first.is_extended_id, bytes(first.data)) == (
        0x1F334455,
        True,
        bytes.fromhex("1122334455667788"),
    )
    assert (second.arbitration_id, second.is_fd, second.bitrate_switch, bytes(second.data)) == (
        0x123,
        True,
        True,
        b"\xab" * 12,
    )


def test_ferrocan_to_candump(machine: str, make_bus: BusFactory) -> None:
    sender = make_bus(fd=True)
    with Candump("vcan0") as candump:
        for kind in ("classic", "extended", "remote", "fd"):
            sender.send(FRAMES[kind])
        assert candump.lines(4, timeout=5 * SLACK) == [
            "123#01020304",
            "1ABCDEF0#DEADBEEF00112233",
            "321#R6",
            "1F000001##7" + bytes(range(64)).hex().upper(),
        ]


def test_python_can_plugin_talks_to_python_cans_socketcan(machine: str) -> None:
    with (
        can.Bus(interface="ferrocan", channel="vcan0", fd=True) as ours,
        can.Bus(interface="socketcan", channel="vcan0", fd=True) as theirs,
    ):
        assert "ferrocan native backend" in ours.channel_info
        ours.send(can.Message(arbitration_id=0x10, data=b"\x01", is_extended_id=False))
        got = theirs.recv(SLACK)
        assert got is not None and (got.arbitration_id, bytes(got.data)) == (0x10, b"\x01")
        theirs.send(can.Message(arbitration_id=0x20, data=bytes(range(20)), is_fd=True))
        back = ours.recv(SLACK)
        assert back is not None and (back.arbitration_id, back.is_fd, bytes(back.data)) == (
            0x20,
            True,
            bytes(range(20)),
        )
