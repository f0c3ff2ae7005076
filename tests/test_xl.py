"""CAN XL: ferrocan's XL frames against Python's own socket module as an
independent peer (it reads and writes ``struct canxl_frame`` bytes packed
with struct), in both directions, once per backend; an xl bus carrying
classic, CAN FD and CAN XL frames mixed; filters and VCIDs as the kernel
applies them; timeouts and shutdown; and the bad input CAN XL adds, in both
Message implementations.

Kernels without CAN XL refuse an xl bus: there every test that needs one
checks that refusal instead (the ``xl`` fixture), and likewise for VCIDs
(the ``vcid`` fixture). Which kernel has what is asked of the kernel, not
read from its version: CAN XL came with 6.2 and VCIDs with 6.9, but stable
kernels have them backported (Debian's 6.1.176 has CAN XL without VCIDs).
Messages need no kernel."""

from __future__ import annotations

import asyncio
import copy
import os
import pickle
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import can
import ferrocan
import pytest
from ferrocan import CanInitializationError, CanOperationError
from ferrocan._message import Message as PureMessage
from ferrocan._native import Message as NativeMessage

from .support import (
    CANXL_MTU,
    CANXL_SEC,
    REFUSED_XL,
    BusFactory,
    XlRecord,
    at_xl_mtu,
    has_vcid,
    has_xl,
    pack_xl,
    set_mtu,
    unpack_xl,
    xl_frame_fields,
    xl_peer,
)
from .test_message import run_python

MESSAGES: dict[str, Any] = {"native": NativeMessage, "pure": PureMessage}
#: Data lengths at the edges: CAN FD's 8 and 64, the smallest and largest.
LENGTHS = [1, 2, 7, 8, 64, 65, 512, 2047, 2048]
#: How long a receive that should get nothing waits.
QUIET = 0.3
REFUSED = REFUSED_XL
NO_VCID = "tx_vcid and rx_vcid need Linux 6.9 or later (CAN_RAW_XL_VCID_OPTS); this kernel is "
NOT_XL_BUS = "cannot send a CAN XL frame on 'vcan1': open the bus with xl=True"

# struct can_frame and struct canfd_frame, for the peer's side of a mixed run.
CAN_EFF_FLAG = 0x80000000
CAN_RTR_FLAG = 0x40000000
CANFD_BRS, CANFD_ESI, CANFD_FDF = 0x01, 0x02, 0x04
CLASSIC = "=IBBBB8s"
FD = "=IBBBB64s"


@pytest.fixture(scope="module")
def xl_mtu() -> Iterator[None]:
    """vcan1 at CANXL_MTU while this module runs, where the kernel has CAN XL."""
    with at_xl_mtu("vcan1"):
        yield


@pytest.fixture
def xl(make_bus: BusFactory, xl_mtu: None) -> bool:
    """Whether this kernel has CAN XL. Where it has not, checks that an xl
    bus is refused with the documented error; the test then ends there."""
    if has_xl():
        return True
    with pytest.raises(CanInitializationError) as raised:
        make_bus("vcan1", xl=True)
    assert str(raised.value) == REFUSED + os.uname().release
    return False


@pytest.fixture
def vcid(xl: bool, make_bus: BusFactory) -> bool:
    """Whether this kernel has CAN XL's VCIDs (6.9). Where it has CAN XL but
    not VCIDs, checks that tx_vcid and rx_vcid are refused, and a message
    with a VCID, with the documented errors; the test then ends there."""
    if not xl or has_vcid():
        return xl
    for kwargs in ({"tx_vcid": 1}, {"rx_vcid": (1, 0xFF)}):
        with pytest.raises(CanInitializationError) as raised:
            make_bus("vcan1", xl=True, **kwargs)
        assert str(raised.value) == NO_VCID + os.uname().release
    bus = make_bus("vcan1", xl=True)
    with pytest.raises(CanOperationError) as refused:
        bus.send(xl_message(arbitration_id=1, data=b"\x01", vcid=5))
    assert str(refused.value) == "cannot send vcid=5 on 'vcan1': VCIDs need Linux 6.9 or later"
    return False


@pytest.fixture
def peer() -> Iterator[socket.socket]:
    with xl_peer("vcan1") as sock:
        yield sock


def payload(length: int) -> bytes:
    """``length`` bytes that differ from their neighbours and by length."""
    return bytes((i * 7 + length) & 0xFF for i in range(length))


def xl_message(cls: Any = None, **fields: Any) -> Any:
    return (cls or ferrocan.Message)(is_xl=True, **fields)


def receive_all(bus: ferrocan.Bus) -> list[Any]:
    """Every message until none comes for QUIET seconds."""
    got = []
    while (msg := bus.recv(QUIET)) is not None:
        got.append(msg)
    return got


# -- the peer's side: the kernel's structs, packed without ferrocan


def pack(msg: Any) -> bytes:
    """A message as the record the peer writes: CAN XL, CAN FD or classic."""
    if msg.is_xl:
        return pack_xl(
            msg.arbitration_id,
            bytes(msg.data),
            sdt=msg.sdu_type,
            af=msg.acceptance_field,
            sec=msg.simple_extended_content,
            vcid=msg.vcid,
        )
    can_id = msg.arbitration_id | (CAN_EFF_FLAG if msg.is_extended_id else 0)
    if msg.is_fd:
        flags = CANFD_FDF | (CANFD_BRS if msg.bitrate_switch else 0)
        flags |= CANFD_ESI if msg.error_state_indicator else 0
        return struct.pack(FD, can_id, len(msg.data), flags, 0, 0, bytes(msg.data))
    can_id |= CAN_RTR_FLAG if msg.is_remote_frame else 0
    return struct.pack(CLASSIC, can_id, msg.dlc, 0, 0, 0, bytes(msg.data))


def record_fields(record: bytes) -> tuple[object, ...]:
    """What a record the peer read is, laid out as xl_frame_fields."""
    if len(record) not in (16, 72):
        x = unpack_xl(record)
        head = (x.prio, False, False, False, False, False, False, len(x.data), x.data.hex())
        return (*head, True, x.sdt, x.af, bool(x.flags & CANXL_SEC), x.vcid)
    fd = len(record) == 72
    can_id, length, flags, _, _, data = struct.unpack(FD if fd else CLASSIC, record)
    extended, remote = bool(can_id & CAN_EFF_FLAG), bool(can_id & CAN_RTR_FLAG)
    arbitration_id = can_id & (0x1FFFFFFF if extended else 0x7FF)
    data = b"" if remote else data[:length]
    brs, esi = fd and bool(flags & CANFD_BRS), fd and bool(flags & CANFD_ESI)
    head = (arbitration_id, extended, remote, False, fd, brs, esi, length, data.hex())
    return (*head, False, 0, 0, False, 0)


def mix() -> list[Any]:
    """Classic, CAN FD and CAN XL frames interleaved (all with VCID 0)."""
    m = ferrocan.Message
    return [
        m(arbitration_id=0x100, is_extended_id=False, data=b"\x01"),
        xl_message(arbitration_id=0x101, data=payload(20), sdu_type=1, acceptance_field=0xA),
        m(arbitration_id=0x1ABCDE, is_fd=True, bitrate_switch=True, data=payload(64)),
        xl_message(arbitration_id=0x102, data=payload(2048), simple_extended_content=True),
        m(arbitration_id=0x103, is_extended_id=False, is_remote_frame=True, dlc=4),
        xl_message(arbitration_id=0x7FF, data=b"\xff", sdu_type=0xFF, acceptance_field=2**32 - 1),
        m(arbitration_id=0x105, is_extended_id=False, is_fd=True, error_state_indicator=True),
        m(arbitration_id=0x1FFFFFFF, data=payload(8), dlc=8),
    ]


# -- round trips with the peer, every length


@pytest.mark.parametrize("length", LENGTHS)
def test_ferrocan_to_peer(make_bus: BusFactory, xl: bool, peer: socket.socket, length: int) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    bus.send(xl_message(arbitration_id=0x2A5, data=payload(length), sdu_type=length % 256))
    record = peer.recv(CANXL_MTU)
    assert unpack_xl(record) == XlRecord(0x2A5, 0, 0x80, length % 256, 0, payload(length))


@pytest.mark.parametrize("length", LENGTHS)
def test_peer_to_ferrocan(make_bus: BusFactory, xl: bool, peer: socket.socket, length: int) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    peer.send(pack_xl(0x2A5, payload(length), sdt=length % 256, af=length))
    got = bus.recv(2.0)
    assert got is not None
    assert xl_frame_fields(got) == (
        *(0x2A5, False, False, False, False, False, False, length, payload(length).hex()),
        *(True, length % 256, length, False, 0),
    )


# -- every field, both ways, with either Message implementation

#: The XL fields at their smallest, their largest, and in between.
FIELDS = [
    {"arbitration_id": 0x0, "sdu_type": 0, "acceptance_field": 0, "vcid": 0},
    {
        "arbitration_id": 0x7FF,
        "sdu_type": 0xFF,
        "acceptance_field": 0xFFFFFFFF,
        "simple_extended_content": True,
        "vcid": 0xFF,
    },
    {
        "arbitration_id": 0x123,
        "sdu_type": 0x03,
        "acceptance_field": 0x12345678,
        "simple_extended_content": True,
        "vcid": 0x45,
    },
    {"arbitration_id": 0x456, "sdu_type": 0x80, "acceptance_field": 0x80000001, "vcid": 0},
]
FIELD_IDS = ["smallest", "largest", "sec", "no-sec"]


@pytest.mark.parametrize("impl", MESSAGES)
@pytest.mark.parametrize("fields", FIELDS, ids=FIELD_IDS)
def test_every_field_reaches_the_peer_and_the_own_echo(
    make_bus: BusFactory,
    xl: bool,
    vcid: bool,
    peer: socket.socket,
    impl: str,
    fields: dict[str, Any],
) -> None:
    if not (vcid if fields["vcid"] else xl):
        return
    bus = make_bus("vcan1", xl=True, receive_own_messages=True)
    sent = xl_message(MESSAGES[impl], data=payload(9), **fields)
    before = time.time()
    bus.send(sent)
    got = bus.recv(2.0)
    after = time.time()
    assert record_fields(peer.recv(CANXL_MTU)) == xl_frame_fields(sent)
    assert got is not None
    assert xl_frame_fields(got) == xl_frame_fields(sent)
    assert (got.is_rx, got.channel) == (False, "vcan1")
    assert before <= got.timestamp <= after


@pytest.mark.parametrize("fields", FIELDS, ids=FIELD_IDS)
def test_every_field_arrives_from_the_peer(
    make_bus: BusFactory,
    xl: bool,
    vcid: bool,
    vxcan_pair: tuple[str, str],
    fields: dict[str, Any],
) -> None:
    """The peer at the far end of a vxcan tunnel: its frames are received
    ones (is_rx), as from another node."""
    if not (vcid if fields["vcid"] else xl):
        return
    near, far = vxcan_pair
    for end in vxcan_pair:
        set_mtu(end, CANXL_MTU)  # deleted after the test
    bus = make_bus(near, xl=True)
    expected = xl_message(data=payload(9), **fields)
    with xl_peer(far) as peer:
        before = time.time()
        peer.send(pack(expected))
        got = bus.recv(2.0)
        after = time.time()
    assert got is not None
    assert xl_frame_fields(got) == xl_frame_fields(expected)
    assert (got.is_xl, got.is_extended_id, got.dlc) == (True, False, 9)
    assert (got.is_rx, got.channel) == (True, near)
    assert before <= got.timestamp <= after


# -- classic, CAN FD and CAN XL on one bus


@pytest.mark.parametrize("how", ["recv", "recv_batch", "iteration"])
def test_an_xl_bus_receives_every_kind_in_order(
    make_bus: BusFactory, xl: bool, peer: socket.socket, how: str
) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    frames = mix()
    for msg in frames:
        peer.send(pack(msg))
    got: list[Any] = []
    if how == "iteration":
        guard = threading.Timer(5.0, bus.shutdown)  # ends the loop if frames are missing
        guard.start()
        for msg in bus:
            got.append(msg)
            if len(got) == len(frames):
                break
        guard.cancel()
    while how == "recv" and len(got) < len(frames) and (msg := bus.recv(2.0)):
        got.append(msg)
    while how == "recv_batch" and len(got) < len(frames) and (batch := bus.recv_batch(8, 2.0)):
        got += batch
    assert [xl_frame_fields(m) for m in got] == [xl_frame_fields(m) for m in frames]
    assert [(m.is_fd, m.is_xl) for m in got] == [(m.is_fd, m.is_xl) for m in frames]


@pytest.mark.parametrize("how", ["send", "send_batch"])
def test_an_xl_bus_sends_every_kind_to_the_peer_in_order(
    make_bus: BusFactory, xl: bool, peer: socket.socket, how: str
) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    frames = mix()
    if how == "send_batch":
        assert bus.send_batch(frames) == len(frames)
    for msg in frames if how == "send" else []:
        bus.send(msg)
    got = [record_fields(peer.recv(CANXL_MTU)) for _ in frames]
    assert got == [xl_frame_fields(m) for m in frames]


def test_recv_batch_takes_many_full_xl_frames(
    make_bus: BusFactory, xl: bool, peer: socket.socket
) -> None:
    """Each slot of the receive buffer holds a whole 2060-byte record."""
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    frames = [xl_message(arbitration_id=i, data=payload(2048 - i)) for i in range(20)]
    for msg in frames:
        peer.send(pack(msg))
    got: list[Any] = []
    while len(got) < len(frames) and (batch := bus.recv_batch(64, 2.0)):
        got += batch
    assert [xl_frame_fields(m) for m in got] == [xl_frame_fields(m) for m in frames]


def test_a_bus_without_xl_gets_the_classic_and_fd_frames_only(
    make_bus: BusFactory, xl: bool, peer: socket.socket
) -> None:
    """The kernel hands CAN XL frames only to sockets that asked for them."""
    if not xl:
        return
    bus = make_bus("vcan1", fd=True)
    frames = mix()
    for msg in frames:
        peer.send(pack(msg))
    got = receive_all(bus)
    assert [xl_frame_fields(m) for m in got] == [xl_frame_fields(m) for m in frames if not m.is_xl]


def test_a_python_can_message_goes_out_as_a_classic_frame(
    make_bus: BusFactory, xl: bool, peer: socket.socket
) -> None:
    """python-can's Message has no XL fields: it is read with their defaults."""
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    bus.send(can.Message(arbitration_id=0x123, is_extended_id=False, data=b"\x01\x02"))
    record = peer.recv(CANXL_MTU)
    assert record_fields(record) == (
        *(0x123, False, False, False, False, False, False, 2, "0102"),
        *(False, 0, 0, False, 0),
    )


def test_an_xl_frame_arrives_through_asyncio(
    make_bus: BusFactory, xl: bool, peer: socket.socket
) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    sent = xl_message(arbitration_id=0x321, data=payload(300), acceptance_field=7)
    peer.send(pack(sent))
    got = asyncio.run(bus.recv_async(2.0))
    assert got is not None
    assert xl_frame_fields(got) == xl_frame_fields(sent)


# -- filters match the priority ID


FILTERS = [
    ([{"can_id": 0x123, "can_mask": 0x7FF}], [0x123]),
    ([{"can_id": 0x123, "can_mask": 0x7FF, "extended": False}], [0x123]),
    ([{"can_id": 0x123, "can_mask": 0x7FF, "extended": True}], []),
    ([{"can_id": 0x100, "can_mask": 0x700}], [0x123, 0x124]),
]


@pytest.mark.parametrize("when", ["open", "set_filters"])
@pytest.mark.parametrize(
    ("filters", "passed"), FILTERS, ids=["id-mask", "standard", "extended", "range"]
)
def test_filters_match_the_priority_id(
    make_bus: BusFactory,
    xl: bool,
    peer: socket.socket,
    when: str,
    filters: list[dict[str, Any]],
    passed: list[int],
) -> None:
    """The kernel compares a CAN XL frame's prio field as a standard ID
    (no CAN_EFF_FLAG), so filters on the priority ID work as on 11-bit IDs."""
    if not xl:
        return
    if when == "open":
        bus = make_bus("vcan1", xl=True, can_filters=filters)
    else:
        bus = make_bus("vcan1", xl=True)
        bus.set_filters(filters)
    for prio in (0x124, 0x123):
        peer.send(pack_xl(prio, b"\x01"))
    assert [m.arbitration_id for m in receive_all(bus)] == sorted(passed, reverse=True)


def test_a_filter_matches_the_priority_of_any_vcid(
    make_bus: BusFactory, vcid: bool, peer: socket.socket
) -> None:
    """The kernel masks the whole prio field, VCID bits included: a mask of
    0x7FF leaves them out, so a frame of any VCID passes on its priority."""
    if not vcid:
        return
    bus = make_bus("vcan1", xl=True, can_filters=[{"can_id": 0x123, "can_mask": 0x7FF}])
    for v in (0, 5, 0xFF):
        peer.send(pack_xl(0x123, b"\x01", vcid=v))
        peer.send(pack_xl(0x124, b"\x01", vcid=v))
    assert [(m.arbitration_id, m.vcid) for m in receive_all(bus)] == [
        (0x123, 0),
        (0x123, 5),
        (0x123, 0xFF),
    ]


# -- VCIDs


def test_each_message_sends_its_own_vcid(
    make_bus: BusFactory, vcid: bool, peer: socket.socket
) -> None:
    if not vcid:
        return
    bus = make_bus("vcan1", xl=True)
    for v in (0, 5, 0xFF):
        bus.send(xl_message(arbitration_id=0x10, data=b"\x01", vcid=v))
    assert [unpack_xl(peer.recv(CANXL_MTU)).vcid for _ in range(3)] == [0, 5, 0xFF]


@pytest.mark.parametrize("tx_vcid", [0, 0x42])
def test_tx_vcid_stamps_every_frame(
    make_bus: BusFactory, vcid: bool, peer: socket.socket, tx_vcid: int
) -> None:
    if not vcid:
        return
    bus = make_bus("vcan1", xl=True, tx_vcid=tx_vcid)
    for v in (0, 5):
        bus.send(xl_message(arbitration_id=0x10, data=b"\x01", vcid=v))
    assert [unpack_xl(peer.recv(CANXL_MTU)).vcid for _ in range(2)] == [tx_vcid] * 2


@pytest.mark.parametrize(
    ("rx_vcid", "passed"),
    [(None, [0, 5, 7, 0x45, 0xFF]), ((5, 0xFF), [5]), ((0x40, 0xF0), [0x45]), ((0, 0), None)],
    ids=["default", "one", "masked", "all"],
)
def test_rx_vcid_selects_what_arrives(
    make_bus: BusFactory,
    vcid: bool,
    peer: socket.socket,
    rx_vcid: tuple[int, int] | None,
    passed: list[int] | None,
) -> None:
    """The kernel filters CAN XL frames on their VCID; other frames pass."""
    if not vcid:
        return
    bus = make_bus("vcan1", xl=True, rx_vcid=rx_vcid)
    sent = [0, 5, 7, 0x45, 0xFF]
    for v in sent:
        peer.send(pack_xl(0x10 + v, b"\x01", vcid=v))
    peer.send(pack(ferrocan.Message(arbitration_id=0x7, is_extended_id=False)))
    got = [(m.is_xl, m.vcid, m.arbitration_id) for m in receive_all(bus)]
    assert got == [(True, v, 0x10 + v) for v in passed or sent] + [(False, 0, 0x7)]


# -- opening an xl bus


def test_an_xl_bus_opens_where_the_kernel_has_can_xl(make_bus: BusFactory) -> None:
    """Linux 6.2 and later: an xl bus; before: the documented refusal, and
    buses without xl open as ever."""
    if not has_xl():
        with pytest.raises(CanInitializationError) as raised:
            make_bus("vcan1", xl=True)
        assert str(raised.value) == REFUSED + os.uname().release
        assert make_bus("vcan1", fd=True).xl is False
        return
    bus = make_bus("vcan1", xl=True)
    assert bus.xl is True
    assert bus.protocol is ferrocan.CanProtocol.CAN_XL, "python-can's name for it"
    assert ", io_uring)" not in bus.channel_info, "an xl bus reads with recvmmsg"
    assert make_bus("vcan1").xl is False
    assert make_bus("vcan1", fd=True).xl is False


def test_recv_times_out_on_an_xl_bus(make_bus: BusFactory, xl: bool) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    start = time.monotonic()
    assert bus.recv(0.2) is None
    assert 0.2 <= time.monotonic() - start < 0.2 + 0.5


def test_shutdown_wakes_a_blocked_recv_on_an_xl_bus(make_bus: BusFactory, xl: bool) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    threading.Timer(0.2, bus.shutdown).start()
    start = time.monotonic()
    with pytest.raises(CanOperationError, match="shut down"):
        bus.recv(None)
    assert time.monotonic() - start < 0.2 + 0.5


# -- what a bus cannot send, and Bus arguments


@pytest.mark.parametrize("fd", [False, True], ids=["classic-bus", "fd-bus"])
@pytest.mark.parametrize("call", ["send", "send_batch"])
def test_an_xl_message_on_a_bus_without_xl_is_refused(
    make_bus: BusFactory, fd: bool, call: str
) -> None:
    bus = make_bus("vcan1", fd=fd, receive_own_messages=True)
    msg = xl_message(arbitration_id=1, data=b"\x01")
    with pytest.raises(CanOperationError) as raised:
        if call == "send":
            bus.send(msg)
        else:
            bus.send_batch([msg])
    assert str(raised.value) == NOT_XL_BUS
    bus.send(ferrocan.Message(arbitration_id=2))
    got = bus.recv(2.0)
    assert got is not None and got.arbitration_id == 2, "the bus goes on working"


@pytest.mark.parametrize("mtu", [16, 72])
def test_an_xl_message_on_an_interface_without_the_xl_mtu_is_refused(
    make_bus: BusFactory, xl: bool, mtu: int
) -> None:
    if not xl:
        return
    set_mtu("vcan1", mtu)
    try:
        bus = make_bus("vcan1", xl=True, receive_own_messages=True)
        with pytest.raises(CanOperationError) as raised:
            bus.send(xl_message(arbitration_id=1, data=b"\x01"))
        bus.send(ferrocan.Message(arbitration_id=2))
        got = bus.recv(2.0)
    finally:
        set_mtu("vcan1", CANXL_MTU)
    assert str(raised.value) == (
        f"cannot send a CAN XL frame on 'vcan1': its MTU is {mtu}, and CAN XL needs 2060 "
        "(ip link set vcan1 mtu 2060)"
    )
    assert got is not None and got.arbitration_id == 2, "classic frames still go"


def test_send_periodic_refuses_an_xl_message(make_bus: BusFactory, xl: bool) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    with pytest.raises(ValueError) as raised:
        bus.send_periodic(xl_message(arbitration_id=1, data=b"\x01"), 0.1)
    assert str(raised.value) == (
        "send_periodic cannot send CAN XL frames: the kernel's CAN_BCM has no CAN XL support"
    )


def test_an_xl_bus_sends_can_fd_frames_periodically(
    make_bus: BusFactory, xl: bool, peer: socket.socket
) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    fd = ferrocan.Message(arbitration_id=0x42, is_extended_id=False, is_fd=True, data=bytes(12))
    bus.send_periodic(fd, 0.05, duration=0.12)
    assert len(peer.recv(CANXL_MTU)) == 72, "a CAN FD frame"


def test_modify_data_refuses_an_xl_message(make_bus: BusFactory, xl: bool) -> None:
    if not xl:
        return
    bus = make_bus("vcan1", xl=True)
    classic = ferrocan.Message(arbitration_id=1, is_extended_id=False, data=b"\x01")
    task = bus.send_periodic(classic, 0.1)
    with pytest.raises(ValueError) as raised:
        task.modify_data(xl_message(arbitration_id=1, data=b"\x02"))
    task.stop()
    assert str(raised.value) == (
        "send_periodic cannot send CAN XL frames: the kernel's CAN_BCM has no CAN XL support"
    )


BUS_ERRORS = [
    ({"tx_vcid": 5}, ValueError, "tx_vcid requires xl=True"),
    ({"rx_vcid": (5, 0xFF)}, ValueError, "rx_vcid requires xl=True"),
    (
        {"xl": True, "tx_vcid": 256},
        ValueError,
        "tx_vcid 256 is out of range: must be in 0..255 or None",
    ),
    (
        {"xl": True, "tx_vcid": -1},
        ValueError,
        "tx_vcid -1 is out of range: must be in 0..255 or None",
    ),
    ({"xl": "yes"}, TypeError, "xl must be True or False, got 'yes'"),
]


@pytest.mark.parametrize(("kwargs", "error", "text"), BUS_ERRORS)
def test_bad_bus_arguments(
    make_bus: BusFactory, kwargs: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error) as raised:
        make_bus("vcan1", **kwargs)
    assert type(raised.value) is error
    assert str(raised.value) == text


RX_VCID_TYPE = "rx_vcid must be a (vcid, mask) tuple of two ints in 0..255, or None, got "
RX_VCID_RANGE = "is out of range: its vcid and mask must be in 0..255"
VCID_ERRORS = [
    ({"tx_vcid": "5"}, TypeError, "tx_vcid must be an int in 0..255 or None, got str"),
    ({"tx_vcid": True}, TypeError, "tx_vcid must be an int in 0..255 or None, got bool"),
    ({"rx_vcid": (256, 0xFF)}, ValueError, f"rx_vcid (256, 255) {RX_VCID_RANGE}"),
    ({"rx_vcid": (5, -1)}, ValueError, f"rx_vcid (5, -1) {RX_VCID_RANGE}"),
    ({"rx_vcid": (5,)}, TypeError, RX_VCID_TYPE + "(5,)"),
    ({"rx_vcid": (5, 0xFF, 0)}, TypeError, RX_VCID_TYPE + "(5, 255, 0)"),
    ({"rx_vcid": [5, 0xFF]}, TypeError, RX_VCID_TYPE + "[5, 255]"),
    ({"rx_vcid": 5}, TypeError, RX_VCID_TYPE + "5"),
    ({"rx_vcid": (5.0, 0xFF)}, TypeError, RX_VCID_TYPE + "(5.0, 255)"),
    ({"rx_vcid": (True, 0xFF)}, TypeError, RX_VCID_TYPE + "(True, 255)"),
]


@pytest.mark.parametrize(("kwargs", "error", "text"), VCID_ERRORS)
def test_bad_vcid_arguments(
    make_bus: BusFactory, kwargs: dict[str, Any], error: type[Exception], text: str
) -> None:
    """Checked before the kernel is asked: the same on every kernel."""
    with pytest.raises(error) as raised:
        make_bus("vcan1", xl=True, **kwargs)
    assert type(raised.value) is error
    assert str(raised.value) == text


# -- Message: construction and its bad input, both implementations

MESSAGE_ERRORS = [
    (
        {"is_remote_frame": True},
        "is_remote_frame cannot be combined with is_xl: CAN XL has no remote frames",
    ),
    (
        {"is_error_frame": True},
        "is_error_frame cannot be combined with is_xl: error frames are classic CAN frames",
    ),
    ({"is_fd": True}, "is_fd cannot be combined with is_xl: a frame is either CAN FD or CAN XL"),
    (
        {"is_extended_id": True},
        "is_extended_id must be False for a CAN XL frame: its priority ID is 11 bits",
    ),
    (
        {"arbitration_id": 0x800},
        "arbitration_id 0x800 is out of range for a CAN XL priority ID: must be in 0x0..0x7ff",
    ),
    (
        {"arbitration_id": -1},
        "arbitration_id -0x1 is out of range for a CAN XL priority ID: must be in 0x0..0x7ff",
    ),
    ({"data": b""}, "data is empty, but a CAN XL frame carries 1 to 2048 bytes"),
    ({"data": None}, "data is empty, but a CAN XL frame carries 1 to 2048 bytes"),
    ({"data": bytes(2049)}, "data is 2049 bytes, but a CAN XL frame carries at most 2048"),
    (
        {"data": bytes(4), "dlc": 5},
        "dlc 5 contradicts the 4 data bytes: leave dlc=None or set it to 4",
    ),
    (
        {"data": bytes(100), "dlc": 15},
        "dlc 15 contradicts the 100 data bytes: leave dlc=None or set it to 100",
    ),
    ({"bitrate_switch": True}, "bitrate_switch requires is_fd=True"),
    ({"error_state_indicator": True}, "error_state_indicator requires is_fd=True"),
    ({"sdu_type": 256}, "sdu_type 256 is out of range: must be in 0..255"),
    ({"sdu_type": -1}, "sdu_type -1 is out of range: must be in 0..255"),
    (
        {"acceptance_field": 2**32},
        "acceptance_field 0x100000000 is out of range: must be in 0x0..0xffffffff",
    ),
    ({"acceptance_field": -1}, "acceptance_field -0x1 is out of range: must be in 0x0..0xffffffff"),
    ({"vcid": 256}, "vcid 256 is out of range: must be in 0..255"),
    ({"vcid": -1}, "vcid -1 is out of range: must be in 0..255"),
    # the order of the checks: the first problem is the one named
    (
        {"is_remote_frame": True, "is_fd": True},
        "is_remote_frame cannot be combined with is_fd: CAN FD has no remote frames",
    ),
    (
        {"is_fd": True, "is_extended_id": True},
        "is_fd cannot be combined with is_xl: a frame is either CAN FD or CAN XL",
    ),
    (
        {"arbitration_id": 0x800, "data": b""},
        "arbitration_id 0x800 is out of range for a CAN XL priority ID: must be in 0x0..0x7ff",
    ),
    ({"data": b"", "sdu_type": 256}, "data is empty, but a CAN XL frame carries 1 to 2048 bytes"),
    ({"bitrate_switch": True, "sdu_type": 256}, "bitrate_switch requires is_fd=True"),
    ({"sdu_type": 256, "vcid": 256}, "sdu_type 256 is out of range: must be in 0..255"),
    (
        {"acceptance_field": 2**32, "vcid": 256},
        "acceptance_field 0x100000000 is out of range: must be in 0x0..0xffffffff",
    ),
]
NOT_XL_ERRORS = [
    ({"sdu_type": 1}, "sdu_type requires is_xl=True"),
    ({"acceptance_field": 1}, "acceptance_field requires is_xl=True"),
    ({"simple_extended_content": True}, "simple_extended_content requires is_xl=True"),
    ({"vcid": 1}, "vcid requires is_xl=True"),
    ({"is_fd": True, "vcid": 1}, "vcid requires is_xl=True"),
    ({"vcid": 1, "acceptance_field": 1}, "acceptance_field requires is_xl=True"),
    ({"simple_extended_content": True, "sdu_type": 1}, "sdu_type requires is_xl=True"),
    ({"vcid": 256}, "vcid 256 is out of range: must be in 0..255"),
    (
        {"data": bytes(9), "vcid": 1},
        "data is 9 bytes, but a classic CAN frame carries at most 8; set is_fd=True for up to 64",
    ),
]
TYPE_ERRORS = [
    ({"is_xl": 1}, "is_xl must be a bool, got int"),
    ({"is_xl": None}, "is_xl must be a bool, got NoneType"),
    ({"is_xl": True, "sdu_type": "1"}, "sdu_type must be an int, got str"),
    ({"is_xl": True, "sdu_type": 1.0}, "sdu_type must be an int, got float"),
    ({"is_xl": True, "sdu_type": None}, "sdu_type must be an int, got NoneType"),
    ({"is_xl": True, "acceptance_field": None}, "acceptance_field must be an int, got NoneType"),
    ({"is_xl": True, "vcid": None}, "vcid must be an int, got NoneType"),
    ({"is_xl": True, "vcid": b"\x01"}, "vcid must be an int, got bytes"),
    (
        {"is_xl": True, "simple_extended_content": 1},
        "simple_extended_content must be a bool, got int",
    ),
    ({"simple_extended_content": "yes"}, "simple_extended_content must be a bool, got str"),
]


@pytest.mark.parametrize("impl", MESSAGES)
@pytest.mark.parametrize(("fields", "text"), MESSAGE_ERRORS)
def test_bad_xl_message(impl: str, fields: dict[str, Any], text: str) -> None:
    fields = {"data": b"\x01", **fields}
    with pytest.raises(ValueError) as raised:
        xl_message(MESSAGES[impl], **fields)
    assert type(raised.value) is ValueError
    assert str(raised.value) == text


@pytest.mark.parametrize("impl", MESSAGES)
@pytest.mark.parametrize(("fields", "text"), NOT_XL_ERRORS)
def test_xl_fields_on_a_message_that_is_not_xl(
    impl: str, fields: dict[str, Any], text: str
) -> None:
    with pytest.raises(ValueError) as raised:
        MESSAGES[impl](**fields)
    assert type(raised.value) is ValueError
    assert str(raised.value) == text


@pytest.mark.parametrize("impl", MESSAGES)
@pytest.mark.parametrize(("fields", "text"), TYPE_ERRORS)
def test_xl_fields_of_the_wrong_type(impl: str, fields: dict[str, Any], text: str) -> None:
    fields = {"data": b"\x01", **fields}
    with pytest.raises(TypeError) as raised:
        MESSAGES[impl](**fields)
    assert type(raised.value) is TypeError
    assert str(raised.value) == text


@pytest.mark.parametrize("impl", MESSAGES)
def test_an_xl_message_and_its_defaults(impl: str) -> None:
    """Buildable on any kernel; is_extended_id defaults to False for CAN XL."""
    cls = MESSAGES[impl]
    msg = cls(is_xl=True, arbitration_id=0x7FF, data=payload(2048))
    assert (msg.is_xl, msg.is_extended_id, msg.dlc, len(msg.data)) == (True, False, 2048, 2048)
    assert (msg.sdu_type, msg.acceptance_field, msg.simple_extended_content, msg.vcid) == (
        0,
        0,
        False,
        0,
    )
    assert cls(is_xl=True, data=b"\x01", dlc=1, is_extended_id=False).dlc == 1
    plain = cls()
    assert (plain.is_xl, plain.sdu_type, plain.acceptance_field) == (False, 0, 0)
    assert (plain.simple_extended_content, plain.vcid) == (False, 0)


# -- Message: repr, str, equals, copies and pickles

SAMPLE: dict[str, Any] = {
    "timestamp": 1.5,
    "arbitration_id": 0x123,
    "channel": "vcan1",
    "data": b"\x01\x02\x03",
    "sdu_type": 3,
    "acceptance_field": 0x12345678,
    "simple_extended_content": True,
    "vcid": 5,
}
XL_FIELDS = {"sdu_type": 4, "acceptance_field": 0x1, "simple_extended_content": False, "vcid": 6}


def full_fields(msg: Any) -> tuple[object, ...]:
    return (msg.timestamp, msg.channel, msg.is_rx, *xl_frame_fields(msg))


@pytest.mark.parametrize("impl", MESSAGES)
def test_repr_adds_the_xl_fields(impl: str) -> None:
    cls = MESSAGES[impl]
    xl_fields = {k: v for k, v in SAMPLE.items() if k in XL_FIELDS}
    classic = {k: v for k, v in SAMPLE.items() if k not in XL_FIELDS}
    expected = repr(cls(is_extended_id=False, **classic))[:-1] + (
        ", is_xl=True, sdu_type=3, acceptance_field=0x12345678, "
        "simple_extended_content=True, vcid=5)"
    )
    assert repr(cls(is_xl=True, **classic, **xl_fields)) == expected


def test_both_implementations_print_xl_messages_alike() -> None:
    for sec in (False, True):
        fields = {**SAMPLE, "simple_extended_content": sec}
        native, pure = xl_message(NativeMessage, **fields), xl_message(PureMessage, **fields)
        assert str(native) == str(pure)
        assert repr(native) == repr(pure)


@pytest.mark.parametrize("impl", MESSAGES)
@pytest.mark.parametrize("sec", [False, True])
def test_str_shows_xl_and_its_fields(impl: str, sec: bool) -> None:
    text = str(xl_message(MESSAGES[impl], **{**SAMPLE, "simple_extended_content": sec}))
    for part in ("XL", "SDT: 0x03", "AF: 0x12345678", "VCID: 0x05", "01 02 03"):
        assert part in text, text
    assert ("SEC" in text) is sec, text
    assert " F " not in text, "an XL message is not flagged CAN FD"


@pytest.mark.parametrize("impl", MESSAGES)
def test_equals_compares_the_xl_fields(impl: str) -> None:
    cls = MESSAGES[impl]
    msg = xl_message(cls, **SAMPLE)
    assert msg.equals(xl_message(cls, **SAMPLE))
    assert msg.equals(xl_message(MESSAGES["pure" if impl == "native" else "native"], **SAMPLE))
    for name, other in XL_FIELDS.items():
        assert not msg.equals(xl_message(cls, **{**SAMPLE, name: other})), name
    classic = {k: v for k, v in SAMPLE.items() if k not in XL_FIELDS}
    assert not msg.equals(cls(**classic, is_extended_id=False))
    assert not msg.equals(can.Message(**classic, is_extended_id=False))


@pytest.mark.parametrize("impl", MESSAGES)
def test_copies_keep_the_xl_fields(impl: str) -> None:
    msg = xl_message(MESSAGES[impl], **{**SAMPLE, "data": payload(2048)})
    shallow, deep = copy.copy(msg), copy.deepcopy(msg)
    assert full_fields(shallow) == full_fields(msg) == full_fields(deep)
    assert type(shallow) is type(deep) is type(msg)
    assert shallow.data is msg.data and deep.data is not msg.data


@pytest.fixture
def public_message(monkeypatch: pytest.MonkeyPatch, impl: str) -> Any:
    """Pickles refer to ``ferrocan.Message``: make that the class under test."""
    monkeypatch.setattr(ferrocan, "Message", MESSAGES[impl])
    return MESSAGES[impl]


@pytest.mark.parametrize("impl", MESSAGES)
@pytest.mark.parametrize("length", [3, 2048])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_keeps_the_xl_fields(public_message: Any, length: int, protocol: int) -> None:
    msg = xl_message(public_message, **{**SAMPLE, "data": payload(length)})
    loaded = pickle.loads(pickle.dumps(msg, protocol))
    assert type(loaded) is public_message
    assert full_fields(loaded) == full_fields(msg)


@pytest.mark.parametrize("impl", MESSAGES)
@pytest.mark.parametrize("length", [3, 2048])
def test_an_xl_pickle_loads_in_the_other_implementation(
    public_message: Any, impl: str, length: int, tmp_path: Any
) -> None:
    blob = tmp_path / "msg.pickle"
    blob.write_bytes(
        pickle.dumps(xl_message(public_message, **{**SAMPLE, "data": payload(length)}))
    )
    code = (
        "import pickle, ferrocan;"
        f"m = pickle.loads(open({str(blob)!r}, 'rb').read());"
        "print(ferrocan.backend, type(m) is ferrocan.Message, m.is_xl, m.arbitration_id,"
        " m.is_extended_id, m.dlc, m.data.hex(), m.sdu_type, m.acceptance_field,"
        " m.simple_extended_content, m.vcid, m.channel)"
    )
    out = run_python(code, without_native=impl == "native")
    backend = "ctypes" if impl == "native" else "native"
    assert out.split() == [
        *(backend, "True", "True", "291", "False", str(length), payload(length).hex()),
        *("3", str(0x12345678), "True", "5", "vcan1"),
    ]
