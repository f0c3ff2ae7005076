"""can-utils and ferrocan agree on the wire, in both directions, once per backend."""

from __future__ import annotations

import pytest
from ferrocan import Message

from .conftest import BusFactory
from .peers import Candump, cansend

# (cansend/candump -L syntax, the same frame as a Message)
FRAMES = [
    ("123#DEADBEEF", Message(arbitration_id=0x123, is_extended_id=False, data=b"\xde\xad\xbe\xef")),
    ("1FFFFFFF#0102030405060708", Message(arbitration_id=0x1FFFFFFF, data=bytes(range(1, 9)))),
    ("7FF#", Message(arbitration_id=0x7FF, is_extended_id=False)),
    ("123#R", Message(arbitration_id=0x123, is_extended_id=False, is_remote_frame=True)),
    ("00012345#R3", Message(arbitration_id=0x12345, is_remote_frame=True, dlc=3)),
    (
        "321##5" + bytes(range(12)).hex().upper(),
        Message(
            arbitration_id=0x321,
            is_extended_id=False,
            is_fd=True,
            bitrate_switch=True,
            data=bytes(range(12)),
        ),
    ),
    (
        "1BADCAFE##4" + "AA" * 64,
        Message(arbitration_id=0x1BADCAFE, is_fd=True, data=b"\xaa" * 64),
    ),
]
IDS = ["standard", "extended", "empty", "remote", "remote-dlc", "fd-brs", "fd-64"]


@pytest.mark.parametrize(("text", "expected"), FRAMES, ids=IDS)
def test_cansend_to_ferrocan(make_bus: BusFactory, text: str, expected: Message) -> None:
    bus = make_bus("vcan1", fd=True)
    cansend("vcan1", text)
    got = bus.recv(2.0)
    assert got is not None, f"cansend {text} did not arrive"
    assert got.equals(expected, timestamp_delta=None, check_channel=False, check_direction=False), (
        got
    )


@pytest.mark.parametrize(("text", "msg"), FRAMES, ids=IDS)
def test_ferrocan_to_candump(make_bus: BusFactory, text: str, msg: Message) -> None:
    bus = make_bus("vcan1", fd=True)
    with Candump("vcan1") as candump:
        bus.send(msg)
        assert candump.lines(1) == [text]
