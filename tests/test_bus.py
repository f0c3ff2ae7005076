"""Bus behaviour on a real kernel, once per backend: sending and receiving,
timestamps, direction, filters, timeouts, shutdown and interruption."""

from __future__ import annotations

import copy
import gc
import os
import pickle
import select
import signal
import socket
import struct
import threading
import time
import weakref
from pathlib import Path

import ferrocan
import pytest
from ferrocan import BusState, CanInitializationError, CanOperationError, Message, Recorder

from .support import (
    IO_URING_MACHINES,
    REFUSED_XL,
    BusFactory,
    at_xl_mtu,
    bus_arguments,
    kernel_release,
    run,
)

RECV_TIMEOUT = 2.0


def roundtrip(make_bus: BusFactory, msg: Message, **kwargs: object) -> Message:
    tx, rx = make_bus(**kwargs), make_bus(**kwargs)
    tx.send(msg)
    got = rx.recv(RECV_TIMEOUT)
    assert got is not None, f"{msg} did not arrive"
    return got


@pytest.mark.parametrize(
    "msg",
    [
        Message(arbitration_id=0x123, is_extended_id=False, data=b"\xde\xad\xbe\xef"),
        Message(arbitration_id=0x1FFFFFFF, data=bytes(range(8))),
        Message(arbitration_id=0, is_extended_id=False),
        Message(arbitration_id=0x7FF, is_extended_id=False, is_remote_frame=True, dlc=6),
        Message(arbitration_id=0x12345, is_remote_frame=True, dlc=0),
        Message(arbitration_id=0x12, is_extended_id=False, data=bytes(range(8)), dlc=15),
    ],
    ids=["standard", "extended", "empty", "remote", "remote-extended", "len8-dlc"],
)
def test_classic_frames_arrive_equal(make_bus: BusFactory, msg: Message) -> None:
    got = roundtrip(make_bus, msg)
    assert got.equals(msg, timestamp_delta=None, check_channel=False, check_direction=False)
    assert got.channel == "vcan0"


def test_a_remote_frame_with_len8_dlc_arrives_as_its_length(make_bus: BusFactory) -> None:
    """A peer may set len8_dlc on a remote frame requesting 8 bytes; a remote
    frame's dlc is its requested length, which must stay sendable (0..8).
    (cargo fuzz's frame_decode found this.)"""
    rx = make_bus()
    with socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW) as peer:
        peer.bind(("vcan0",))
        # struct can_frame: can_id, len, __pad, __res0, len8_dlc, data[8]
        peer.send(struct.pack("=IBBBB8x", 0x123 | socket.CAN_RTR_FLAG, 8, 0, 0, 13))
    got = rx.recv(RECV_TIMEOUT)
    assert got is not None and got.is_remote_frame
    assert got.dlc == 8
    make_bus().send(got)


@pytest.mark.parametrize("size", [0, 8, 12, 64])
def test_fd_frames_keep_brs_and_esi(make_bus: BusFactory, size: int) -> None:
    msg = Message(
        arbitration_id=0x1ABCDE,
        is_fd=True,
        bitrate_switch=True,
        error_state_indicator=True,
        data=bytes(range(size)),
    )
    got = roundtrip(make_bus, msg, fd=True)
    assert got.equals(msg, timestamp_delta=None, check_channel=False, check_direction=False)


FD_LENGTHS = [*range(9), 12, 16, 20, 24, 32, 48, 64]


@pytest.mark.parametrize("size", range(65))
def test_fd_data_is_padded_to_a_valid_length(make_bus: BusFactory, size: int) -> None:
    """CAN FD carries 0..8, 12, 16, 20, 24, 32, 48 or 64 bytes: other lengths
    go out padded with zeros to the next of those."""
    padded = min(n for n in FD_LENGTHS if n >= size)
    data = bytes(range(1, size + 1))
    got = roundtrip(make_bus, Message(arbitration_id=1, is_fd=True, data=data), fd=True)
    assert got.data == bytearray(data + bytes(padded - size))
    assert got.dlc == padded and got.is_fd


def test_fd_frame_on_a_classic_bus_is_refused(make_bus: BusFactory) -> None:
    bus = make_bus()
    with pytest.raises(CanOperationError, match="open the bus with fd=True"):
        bus.send(Message(arbitration_id=1, is_fd=True, data=b"x"))


@pytest.mark.privileged  # sets vcan1's MTU
def test_an_xl_bus_carries_can_xl_frames_or_is_refused_clearly(make_bus: BusFactory) -> None:
    """Where the kernel has CAN XL (6.2, or a backport such as Debian's
    6.1.176), a 2048-byte CAN XL frame and its header cross an xl bus pair
    next to a classic frame; where it has not (5.10), opening one is a clear
    error, not a crash."""
    with at_xl_mtu("vcan1") as has_xl:
        if not has_xl:
            with pytest.raises(CanInitializationError) as raised:
                make_bus("vcan1", xl=True)
            assert str(raised.value) == REFUSED_XL + os.uname().release
            return
        tx, rx = make_bus("vcan1", xl=True), make_bus("vcan1", xl=True)
        data = bytes(range(256)) * 8
        sent = Message(
            is_xl=True, arbitration_id=0x123, data=data, sdu_type=7, acceptance_field=0xA5A5A5A5
        )
        tx.send_batch([sent, Message(arbitration_id=0x124, is_extended_id=False, data=b"x")])
        got = [rx.recv(RECV_TIMEOUT), rx.recv(RECV_TIMEOUT)]
        for bus in (tx, rx):
            bus.shutdown()
    assert got[0] is not None and got[1] is not None
    assert (got[0].is_xl, got[0].arbitration_id, got[0].dlc, got[0].data) == (
        True,
        0x123,
        2048,
        data,
    )
    assert (got[0].sdu_type, got[0].acceptance_field, got[0].is_extended_id) == (
        7,
        0xA5A5A5A5,
        False,
    )
    assert (got[1].is_xl, got[1].arbitration_id, got[1].data) == (False, 0x124, b"x")


def test_a_candump_log_recording_asks_for_can_xl_and_works_without(
    backend: str, make_bus: BusFactory, tmp_path: Path
) -> None:
    """The recorder takes CAN XL frames where the kernel has them, as
    candump does, and falls back to classic and CAN FD where it has not."""
    path = tmp_path / "vcan1.log"
    with Recorder(path, "vcan1", format="log", backend=backend.partition("-")[0]) as recorder:
        make_bus("vcan1").send(Message(arbitration_id=0x321, is_extended_id=False, data=b"\x01"))
        deadline = time.monotonic() + RECV_TIMEOUT
        while recorder.frames_written < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert path.read_text().split()[1:] == ["vcan1", "321#01"]


def test_timestamps_are_the_kernels_epoch_seconds(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    before = time.time()
    tx.send(Message(arbitration_id=1))
    got = rx.recv(RECV_TIMEOUT)
    after = time.time()
    assert got is not None
    assert before - 0.001 <= got.timestamp <= after + 0.001


def test_frames_from_this_host_are_not_rx(make_bus: BusFactory) -> None:
    own = make_bus(receive_own_messages=True)
    other = make_bus()
    own.send(Message(arbitration_id=2))
    for bus in (own, other):
        got = bus.recv(RECV_TIMEOUT)
        assert got is not None and got.is_rx is False


def test_cansend_frames_arrive_and_are_local(make_bus: BusFactory) -> None:
    bus = make_bus("vcan1")
    run("cansend", "vcan1", "321#01")
    got = bus.recv(RECV_TIMEOUT)
    assert got is not None and (got.arbitration_id, got.data) == (0x321, bytearray(b"\x01"))
    assert got.is_rx is False, "cansend runs on this host, so MSG_DONTROUTE is set"


@pytest.mark.privileged
def test_frames_through_a_vxcan_tunnel_are_rx(
    make_bus: BusFactory, vxcan_pair: tuple[str, str]
) -> None:
    """is_rx is the kernel's word (no MSG_DONTROUTE), as Python's own socket
    reads it. From 6.1 on, a frame that crossed a vxcan came from the peer;
    5.10 still marks it as sent from this host."""
    near, far = vxcan_pair
    tx, rx = make_bus(near), make_bus(far)
    with socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW) as peer:
        peer.bind((far,))
        peer.settimeout(RECV_TIMEOUT)
        tx.send(Message(arbitration_id=7))
        _, _, flags, _ = peer.recvmsg(16)
    got = rx.recv(RECV_TIMEOUT)
    assert got is not None and got.arbitration_id == 7
    assert got.is_rx is not bool(flags & socket.MSG_DONTROUTE)
    if kernel_release() >= (6, 1):
        assert got.is_rx is True, "a frame that crossed vxcan came from the peer"


def test_own_messages_only_when_asked(make_bus: BusFactory) -> None:
    quiet = make_bus("vcan1")
    quiet.send(Message(arbitration_id=3))
    assert quiet.recv(0.1) is None


def test_local_loopback_off_hides_frames_from_other_sockets(make_bus: BusFactory) -> None:
    tx = make_bus("vcan1", local_loopback=False)
    rx = make_bus("vcan1")
    tx.send(Message(arbitration_id=4))
    assert rx.recv(0.1) is None


def test_filters_select_in_the_kernel(make_bus: BusFactory) -> None:
    tx = make_bus("vcan1")
    rx = make_bus("vcan1", can_filters=[{"can_id": 0x100, "can_mask": 0x7F0, "extended": False}])
    for can_id, ext in [(0x0FF, False), (0x105, False), (0x105, True), (0x10F, False)]:
        tx.send(Message(arbitration_id=can_id, is_extended_id=ext))
    got = drain(rx)
    assert [(m.arbitration_id, m.is_extended_id) for m in got] == [(0x105, False), (0x10F, False)]
    assert rx.filters == [{"can_id": 0x100, "can_mask": 0x7F0, "extended": False}]


def test_a_bus_opened_during_traffic_holds_only_what_its_filters_and_options_let_in(
    make_bus: BusFactory,
) -> None:
    # Traffic every millisecond: a frame that arrived between binding the
    # socket and setting its filters, or its timestamping, would sit first
    # in the queue.
    task = make_bus("vcan1").send_periodic(Message(arbitration_id=1), 0.001)
    wanted = Message(arbitration_id=0x123, is_extended_id=False)
    only_wanted = [{"can_id": 0x123, "can_mask": 0x7FF, "extended": False}]
    for _ in range(20):
        rx = make_bus("vcan1", can_filters=only_wanted)
        every = make_bus("vcan1")
        time.sleep(0.01)
        assert rx.recv(0.0) is None
        first = every.recv(RECV_TIMEOUT)
        assert first is not None and first.timestamp > 0, first
        make_bus("vcan1").send(wanted)
        got = rx.recv(RECV_TIMEOUT)
        assert got is not None and got.arbitration_id == 0x123, got
        rx.shutdown()
        every.shutdown()
    task.stop()


def test_set_filters_replaces_and_none_receives_all(make_bus: BusFactory) -> None:
    tx, rx = make_bus("vcan1"), make_bus("vcan1")
    rx.set_filters([{"can_id": 0x1, "can_mask": 0x7FF}])
    tx.send(Message(arbitration_id=2, is_extended_id=False))
    assert rx.recv(0.1) is None
    rx.set_filters(None)
    tx.send(Message(arbitration_id=2, is_extended_id=False))
    assert [m.arbitration_id for m in drain(rx)] == [2]


def test_recv_zero_never_blocks(make_bus: BusFactory) -> None:
    bus = make_bus("vcan1")
    start = time.monotonic()
    for _ in range(100):
        assert bus.recv(0.0) is None
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize("timeout", [0.05, 0.3])
def test_recv_timeout_waits_about_that_long(make_bus: BusFactory, timeout: float) -> None:
    bus = make_bus("vcan1")
    start = time.monotonic()
    assert bus.recv(timeout) is None
    waited = time.monotonic() - start
    assert timeout <= waited < timeout + 0.25


def test_recv_returns_as_soon_as_a_frame_arrives(make_bus: BusFactory) -> None:
    tx, rx = make_bus("vcan1"), make_bus("vcan1")
    threading.Timer(0.1, tx.send, [Message(arbitration_id=5)]).start()
    start = time.monotonic()
    got = rx.recv(5.0)
    assert got is not None and got.arbitration_id == 5
    assert time.monotonic() - start < 1.0


def test_iteration_yields_messages_and_ends_at_shutdown(make_bus: BusFactory) -> None:
    tx, rx = make_bus("vcan1"), make_bus("vcan1")
    for i in range(3):
        tx.send(Message(arbitration_id=i))
    seen: list[int] = []
    for msg in rx:
        seen.append(msg.arbitration_id)
        if len(seen) == 3:
            threading.Timer(0.1, rx.shutdown).start()
    assert seen == [0, 1, 2]


def test_a_call_right_after_a_shutdown_ends_a_wait_fails(make_bus: BusFactory) -> None:
    """The thread that shuts the bus down may not have returned yet: the
    woken one must find the bus shut down all the same."""
    bus = make_bus("vcan1")
    for _ in range(5):
        stopper = threading.Timer(0.05, bus.shutdown)
        stopper.start()
        for _msg in bus:
            pass
        with pytest.raises(CanOperationError, match="shut down"):
            bus.recv(0.0)
        stopper.join()
        bus = make_bus("vcan1")


def test_context_manager_shuts_down(make_bus: BusFactory) -> None:
    with make_bus() as bus:
        assert bus.recv(0.0) is None
    with pytest.raises(CanOperationError, match="shut down"):
        bus.recv(0.0)


def test_fileno_is_a_selectable_socket(make_bus: BusFactory) -> None:
    tx, rx = make_bus("vcan1"), make_bus("vcan1")
    assert select.select([rx.fileno()], [], [], 0)[0] == []
    tx.send(Message(arbitration_id=6))
    assert select.select([rx.fileno()], [], [], RECV_TIMEOUT)[0] == [rx.fileno()]


def test_bus_describes_itself(make_bus: BusFactory) -> None:
    classic, fd = make_bus(), make_bus(fd=True)
    assert classic.channel == "vcan0"
    assert classic.protocol is ferrocan.CanProtocol.CAN_20
    assert fd.protocol is ferrocan.CanProtocol.CAN_FD
    assert classic.channel_info.startswith(
        f"socketcan channel 'vcan0' (ferrocan {classic.backend} backend"
    )


def test_every_call_that_uses_the_interface_after_shutdown_is_a_clear_error(
    make_bus: BusFactory,
) -> None:
    bus = make_bus()
    bus.shutdown()
    bus.shutdown()
    calls = [
        lambda: bus.recv(0.0),
        lambda: bus.recv_batch(8, 0.0),
        lambda: bus.send(Message(arbitration_id=1)),
        lambda: bus.send_batch([Message(arbitration_id=1)]),
        lambda: bus.send_periodic(Message(arbitration_id=1), 0.1),
        lambda: bus.set_filters(None),
        bus.fileno,
        lambda: bus.receive_buffer_size,
    ]
    for call in calls:
        with pytest.raises(CanOperationError, match="vcan0' is shut down; open a new Bus"):
            call()


def test_after_shutdown_the_bus_still_tells_what_it_did(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    tx.send(Message(arbitration_id=1, is_extended_id=False))
    assert rx.recv(2.0) is not None
    tx.send_periodic(Message(arbitration_id=2, is_extended_id=False), 0.05)
    for bus in (tx, rx):
        bus.shutdown()
        bus.stop_all_periodic_tasks()
        assert bus.state is BusState.ACTIVE
    assert (tx.statistics().sent, rx.statistics().received) == (1, 1)


def test_a_huge_recv_batch_limit_means_no_limit(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    tx.send_batch([Message(arbitration_id=n, is_extended_id=False) for n in range(3)])
    got = rx.recv_batch(2**64, 2.0)
    while len(got) < 3 and (more := rx.recv_batch(2**64, 2.0)):
        got += more
    assert [msg.arbitration_id for msg in got] == [0, 1, 2]


def test_shutdown_from_another_thread_wakes_a_blocked_recv(make_bus: BusFactory) -> None:
    bus = make_bus("vcan1")
    threading.Timer(0.2, bus.shutdown).start()
    start = time.monotonic()
    with pytest.raises(CanOperationError, match="shut down"):
        bus.recv(None)
    assert time.monotonic() - start < 0.2 + 0.5


def test_ctrl_c_interrupts_a_blocking_recv_quickly(make_bus: BusFactory) -> None:
    bus = make_bus("vcan1")
    sent_at: list[float] = []

    def interrupt() -> None:
        sent_at.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Timer(0.2, interrupt).start()
    with pytest.raises(KeyboardInterrupt):
        bus.recv(None)
    assert time.monotonic() - sent_at[0] < 0.1
    assert bus.recv(0.0) is None, "the bus stays usable after Ctrl-C"


def drain(bus: ferrocan.Bus) -> list[Message]:
    got = []
    while (msg := bus.recv(0.2)) is not None:
        got.append(msg)
    return got


def test_the_native_backend_receives_through_io_uring_where_the_kernel_allows(
    make_bus: BusFactory, backend: str
) -> None:
    """Backend-specific: only the native backend has io_uring, on by default
    where the kernel has its multishot receive (6.0 and later) and the
    machine is one the io-uring crate has bindings for (64-bit: not armv7l);
    elsewhere it reads directly. native-direct turns it off."""
    bus = make_bus()
    multishot = kernel_release() >= (6, 0) and os.uname().machine in IO_URING_MACHINES
    assert (", io_uring)" in bus.channel_info) is (backend == "native" and multishot), (
        bus.channel_info
    )


def test_a_received_message_keeps_python_cans_data_semantics(make_bus: BusFactory) -> None:
    """One bytearray per message: every access returns it, changes to it
    stay, a copy shares it, a deep copy and a pickle do not."""
    rx, tx = make_bus(), make_bus()
    tx.send(Message(arbitration_id=0x42, is_extended_id=False, data=b"\x01\x02\x03"))
    msg = rx.recv(1.0)
    assert msg is not None
    assert bytes(msg) == b"\x01\x02\x03" and len(msg) == 3
    shallow, deep = copy.copy(msg), copy.deepcopy(msg)
    assert msg.data is msg.data and shallow.data is msg.data
    msg.data[0] = 0xFF
    assert msg.data == bytearray(b"\xff\x02\x03") and bytes(msg) == b"\xff\x02\x03"
    assert shallow.data[0] == 0xFF and deep.data[0] == 0x01
    assert pickle.loads(pickle.dumps(msg)).data == msg.data
    tx.send(msg)
    received = rx.recv(1.0)
    assert received is not None and bytes(received) == b"\xff\x02\x03"


def test_a_subclass_keeps_its_own_recv_and_send(backend: str) -> None:
    """Bus hands recv, send and send_batch straight to the backend, but
    never over a subclass's override."""

    class Counting(ferrocan.Bus):
        calls = 0

        def recv(self, timeout: float | None = None) -> Message | None:
            Counting.calls += 1
            return super().recv(timeout)

        def send(self, msg: Message, timeout: float | None = None) -> None:
            Counting.calls += 1
            super().send(msg, timeout)

    options = bus_arguments(backend)
    with Counting("vcan0", **options) as rx, Counting("vcan0", **options) as tx:
        tx.send(Message(arbitration_id=1, is_extended_id=False))
        assert rx.recv(1.0) is not None
    assert Counting.calls == 2


def test_an_unreferenced_bus_is_freed_at_once(backend: str) -> None:
    """No reference cycle keeps a bus (and its socket) alive until the
    garbage collector runs: python-can users often never call shutdown()."""
    gc.disable()
    try:
        bus = ferrocan.Bus("vcan0", **bus_arguments(backend))
        bus.recv(0.0)
        freed = weakref.ref(bus)
        del bus
        assert freed() is None
    finally:
        gc.enable()
