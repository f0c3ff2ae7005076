"""The socket options, on every backend: the receive buffer's size
(python-can#657: frames lost past a few hundred queued), hardware or software
timestamps, and a bus on every interface (``channel=''``)."""

from __future__ import annotations

import errno
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator

import pytest
from ferrocan import Bus, CanInitializationError, CanOperationError, Message

from .support import BusFactory, run, send_through_backlog

BURST = 2000
MIB = 1 << 20
NO_HARDWARE_STAMPS = (
    "'vcan0' has no hardware timestamps (its driver reports no SOF_TIMESTAMPING_RX_HARDWARE); "
    "use timestamping='software'"
)
NO_CHANNEL_TO_SEND = (
    "a bus on every interface (channel='') sends a message only where msg.channel names "
    "the interface, e.g. msg.channel = 'can0'"
)


def frame(can_id: int, channel: str | int | None = None) -> Message:
    return Message(arbitration_id=can_id, is_extended_id=False, data=b"\x01", channel=channel)


def drain(bus: Bus, expected: int) -> list[Message]:
    """Everything ``bus`` receives, up to ``expected``, until 0.5 s of silence."""
    got: list[Message] = []
    while len(got) < expected:
        batch = bus.recv_batch(256, 0.5)
        if not batch:
            break
        got.extend(batch)
    return got


def burst_into(receiver: Bus, sender: Bus) -> list[Message]:
    """Sends BURST frames to ``receiver``, which reads only once all of them
    have reached its socket's buffer or been dropped there. They go in
    chunks the kernel's input backlog holds (net.core.netdev_max_backlog,
    1000), each left to empty first, so that none is lost before the socket."""
    send_through_backlog(sender, [frame(i % 0x800) for i in range(BURST)])
    return drain(receiver, BURST)


# -- receive_buffer_size


def test_the_default_buffer_drops_part_of_a_burst_and_counts_it(make_bus: BusFactory) -> None:
    receiver, sender = make_bus(), make_bus()
    got = burst_into(receiver, sender)
    dropped = receiver.statistics().dropped
    assert dropped > 0
    assert len(got) + dropped == BURST


@pytest.mark.privileged
def test_a_larger_buffer_holds_the_whole_burst(make_bus: BusFactory) -> None:
    receiver, sender = make_bus(receive_buffer_size=4 * MIB), make_bus()
    got = burst_into(receiver, sender)
    assert [msg.arbitration_id for msg in got] == [i % 0x800 for i in range(BURST)]
    assert receiver.statistics().dropped == 0


def test_the_buffer_size_is_what_the_kernel_reports(make_bus: BusFactory) -> None:
    """The kernel doubles what is asked, for its bookkeeping."""
    with open("/proc/sys/net/core/rmem_default") as f:
        default = int(f.read())
    assert make_bus().receive_buffer_size == default
    assert make_bus(receive_buffer_size=100_000).receive_buffer_size == 200_000


@pytest.mark.privileged
def test_a_buffer_past_rmem_max_is_granted_with_cap_net_admin(make_bus: BusFactory) -> None:
    """SO_RCVBUFFORCE; tests/unprivileged_checks.py has it without CAP_NET_ADMIN."""
    with open("/proc/sys/net/core/rmem_max") as f:
        size = 2 * int(f.read())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # granted in full: nothing to warn about
        assert make_bus(receive_buffer_size=size).receive_buffer_size == 2 * size


@pytest.mark.parametrize(
    ("size", "error", "text"),
    [
        ("4096", TypeError, "receive_buffer_size must be an int (bytes), got str"),
        (4096.0, TypeError, "receive_buffer_size must be an int (bytes), got float"),
        (True, TypeError, "receive_buffer_size must be an int (bytes), got bool"),
        (0, ValueError, "receive_buffer_size must be at least 1 byte, got 0"),
        (-4096, ValueError, "receive_buffer_size must be at least 1 byte, got -4096"),
    ],
)
def test_a_bad_buffer_size_is_refused(
    make_bus: BusFactory, size: object, error: type[Exception], text: str
) -> None:
    with pytest.raises(error) as raised:
        make_bus(receive_buffer_size=size)
    assert str(raised.value) == text


# -- timestamping


def test_timestamps_are_the_kernels_receive_time_by_default(make_bus: BusFactory) -> None:
    default, software, sender = make_bus(), make_bus(timestamping="software"), make_bus()
    sent_at = time.time()
    sender.send(frame(0x10))
    for bus in (default, software):
        msg = bus.recv(1.0)
        assert msg is not None
        assert abs(msg.timestamp - sent_at) < 1.0


def test_hardware_timestamps_need_a_device_that_has_them(make_bus: BusFactory) -> None:
    with pytest.raises(CanInitializationError) as raised:
        make_bus(timestamping="hardware")
    assert str(raised.value) == NO_HARDWARE_STAMPS


@pytest.mark.parametrize("value", ["Hardware", "", None, 1])
def test_a_bad_timestamping_is_refused(make_bus: BusFactory, value: object) -> None:
    with pytest.raises(ValueError) as raised:
        make_bus(timestamping=value)
    assert str(raised.value) == f"timestamping must be 'software' or 'hardware', got {value!r}"


# -- a bus on every interface


def test_a_bus_on_every_interface_names_where_each_frame_came_from(
    make_bus: BusFactory,
) -> None:
    every = make_bus("")
    assert every.channel == ""
    make_bus("vcan0").send(frame(0x100))
    make_bus("vcan1").send(frame(0x101))
    run("cansend", "vcan1", "102#02")
    got = {(msg.channel, msg.arbitration_id) for msg in drain(every, 3)}
    assert got == {("vcan0", 0x100), ("vcan1", 0x101), ("vcan1", 0x102)}


def test_a_bus_without_a_channel_is_on_every_interface(backend: str) -> None:
    """As python-can's socketcan bus: no channel means every interface."""
    name, _, mode = backend.partition("-")
    with (
        Bus(backend=name, io_uring=mode != "direct" and name == "native") as every,
        Bus("vcan1", backend=name) as tx,
    ):
        assert every.channel == ""
        tx.send(frame(0x105))
        got = drain(every, 1)
    assert [(m.channel, m.arbitration_id) for m in got] == [("vcan1", 0x105)]


def test_a_bus_on_every_interface_sends_where_msg_channel_says(make_bus: BusFactory) -> None:
    every, on_vcan0, on_vcan1 = make_bus(""), make_bus("vcan0"), make_bus("vcan1")
    every.send(frame(0x200, "vcan1"))
    assert every.send_batch([frame(0x201, "vcan1"), frame(0x202, "vcan0")]) == 2
    assert [msg.arbitration_id for msg in drain(on_vcan1, 3)] == [0x200, 0x201]
    assert [msg.arbitration_id for msg in drain(on_vcan0, 2)] == [0x202]


@pytest.mark.parametrize("channel", [None, 0])
def test_sending_from_every_interface_needs_msg_channel_to_name_one(
    make_bus: BusFactory, channel: int | None
) -> None:
    every, listener = make_bus(""), make_bus("vcan0")
    with pytest.raises(ValueError) as raised:
        every.send(frame(0x300, channel))
    assert str(raised.value) == NO_CHANNEL_TO_SEND
    with pytest.raises(ValueError):  # all are checked before any is sent
        every.send_batch([frame(0x301, "vcan0"), frame(0x302, channel)])
    assert listener.recv(0.2) is None


def test_sending_from_every_interface_to_a_missing_one_fails(make_bus: BusFactory) -> None:
    every, listener = make_bus(""), make_bus("vcan0")
    with pytest.raises(CanOperationError) as raised:
        every.send(frame(0x400, "vcan9"))
    assert raised.value.error_code == errno.ENODEV
    assert str(raised.value) == (
        "failed to transmit on 'vcan9': No such device; "
        "the interface has gone, open a new Bus once it exists again [Error Code 19]"
    )
    with pytest.raises(CanOperationError):  # all are checked before any is sent
        every.send_batch([frame(0x401, "vcan0"), frame(0x402, "vcan9")])
    assert listener.recv(0.2) is None


@pytest.fixture
def new_vcan() -> Iterator[Callable[[], str]]:
    """Creates vcan7 when called; deletes it after the test."""
    name = "vcan7"

    def create() -> str:
        run("ip", "link", "add", "dev", name, "type", "vcan")
        run("ip", "link", "set", name, "up")
        return name

    yield create
    subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.mark.privileged
def test_a_bus_on_every_interface_sees_interfaces_created_after_it(
    make_bus: BusFactory, new_vcan: Callable[[], str]
) -> None:
    every = make_bus("")
    vcan7 = new_vcan()
    on_vcan7 = make_bus(vcan7)
    on_vcan7.send(frame(0x500))
    assert [(msg.channel, msg.arbitration_id) for msg in drain(every, 1)] == [(vcan7, 0x500)]
    every.send(frame(0x501, vcan7))
    assert [msg.arbitration_id for msg in drain(on_vcan7, 2)] == [0x501]
