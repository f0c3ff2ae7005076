"""can-utils and ferrocan agree on the wire, in both directions, once per backend."""

from __future__ import annotations

import socket
import struct

import pytest
from ferrocan import Message
from ferrocan._can_h import CANFD_BRS, CANFD_ESI, CANFD_FDF

from .peers import Candump, cansend
from .support import BusFactory

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


@pytest.mark.usefixtures("mtu72")
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


FD_FRAME = Message(
    arbitration_id=0x321,
    is_extended_id=False,
    is_fd=True,
    bitrate_switch=True,
    error_state_indicator=True,
    data=bytes(range(12)),
)


def stdlib_fd_socket(channel: str) -> socket.socket:
    """Python's own CAN_RAW socket: a second independent peer for CAN FD,
    which works on the interface as the kernel made it (MTU 72 or 2060)."""
    peer = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
    peer.setsockopt(socket.SOL_CAN_RAW, socket.CAN_RAW_FD_FRAMES, 1)
    peer.bind((channel,))
    return peer


@pytest.mark.parametrize("fdf", [0, CANFD_FDF], ids=["without-fdf", "with-fdf"])
def test_stdlib_socket_fd_to_ferrocan(make_bus: BusFactory, fdf: int) -> None:
    """A CAN FD frame decodes the same whether its flags carry FDF or not
    (kernels from 6.2 on set it in every CAN FD frame they deliver)."""
    bus = make_bus("vcan1", fd=True)
    with stdlib_fd_socket("vcan1") as peer:
        flags = CANFD_BRS | CANFD_ESI | fdf
        peer.send(struct.pack("=IBBxx64s", 0x321, 12, flags, bytes(range(12))))
    got = bus.recv(2.0)
    assert got is not None
    assert got.equals(FD_FRAME, timestamp_delta=None, check_channel=False, check_direction=False)


def test_ferrocan_fd_to_stdlib_socket(make_bus: BusFactory) -> None:
    bus = make_bus("vcan1", fd=True)
    with stdlib_fd_socket("vcan1") as peer:
        peer.settimeout(2.0)
        bus.send(FD_FRAME)
        can_id, length, flags, data = struct.unpack("=IBBxx64s", peer.recv(72))
    assert (can_id, length, flags & ~CANFD_FDF) == (0x321, 12, CANFD_BRS | CANFD_ESI)
    assert data[:length] == bytes(range(12))
