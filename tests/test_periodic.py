"""Kernel-timed periodic sending (CAN_BCM), once per backend: exact frame
counts, message lists, modify_data keeping the phase, stop/start, input
checks, CAN FD, and jitter next to python-can's. A second bus on the same
interface counts the frames and their kernel receive timestamps.

Every wait is bounded; frames 10 ms apart keep the file to a few seconds."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence

import can
import ferrocan
import pytest
from ferrocan import CanInitializationError, CanOperationError, Message
from ferrocan._backend import BackendTask, bcm_class

from .support import BusFactory, run

PERIOD = 0.01
#: How far the median gap between two frames may stray from the period.
#: Inside User-Mode Linux the kernel timer usually strays by under 0.5 ms; a
#: loaded host delays single ticks by tens of ms (ferrocan and python-can
#: alike), which moves the median by up to ~1.6 ms.
TOLERANCE = 0.003
#: Time for the last frame of a task to arrive, and for an extra one to show.
GRACE = 0.1
#: How long to wait for frames that must come.
TIMEOUT = 2.0


def receive_for(rx: ferrocan.Bus, seconds: float) -> list[Message]:
    """Every frame ``rx`` receives in the next ``seconds``."""
    deadline = time.monotonic() + seconds
    got = []
    while (remaining := deadline - time.monotonic()) > 0:
        msg = rx.recv(remaining)
        if msg is not None:
            got.append(msg)
    return got


def receive_n(rx: ferrocan.Bus, n: int, timeout: float = TIMEOUT) -> list[Message]:
    """The next ``n`` frames ``rx`` receives, or fewer once ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    got: list[Message] = []
    while len(got) < n and (remaining := deadline - time.monotonic()) > 0:
        msg = rx.recv(remaining)
        if msg is not None:
            got.append(msg)
    return got


def gaps(frames: Sequence[Message]) -> list[float]:
    """Seconds between consecutive frames, by kernel receive timestamp."""
    return [b.timestamp - a.timestamp for a, b in zip(frames, frames[1:])]


def assert_evenly_spaced(frames: Sequence[Message], period: float) -> None:
    """Sent by a timer every ``period``: not in a burst, not at another rate."""
    off = [round(gap - period, 6) for gap in gaps(frames)]
    assert not off or abs(statistics.median(off)) < TOLERANCE, f"gaps minus the period (s): {off}"


def assert_silent(rx: ferrocan.Bus) -> None:
    """Nothing arrives any more, once frames already on their way are in."""
    receive_for(rx, 2 * PERIOD)
    late = receive_for(rx, GRACE)
    assert late == [], f"{len(late)} frames after the task stopped: {late[:3]}"


def standard(arbitration_id: int, data: bytes = b"") -> Message:
    return Message(arbitration_id=arbitration_id, is_extended_id=False, data=data)


# -- counts and order


@pytest.mark.parametrize(
    ("period", "duration", "count"),
    [(0.01, 0.1, 10), (0.02, 0.1, 5), (0.01, 0.001, 1)],
    ids=["10", "5", "at-least-1"],
)
def test_a_duration_sends_exactly_duration_over_period_frames(
    make_bus: BusFactory, period: float, duration: float, count: int
) -> None:
    tx, rx = make_bus(), make_bus()
    msg = standard(0x101, b"\x11")
    task = tx.send_periodic(msg, period, duration)
    got = receive_for(rx, duration + GRACE)
    assert len(got) == count, f"{len(got)} frames, expected exactly {count}"
    assert all(m.arbitration_id == 0x101 and m.data == b"\x11" for m in got)
    assert_evenly_spaced(got, period)
    assert (task.period, task.duration) == (period, duration)


def test_a_list_of_messages_is_sent_in_turn_one_per_period(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    tx.send_periodic([standard(0x102, bytes([i])) for i in range(3)], PERIOD, 9 * PERIOD)
    got = receive_for(rx, 9 * PERIOD + GRACE)
    assert [m.data[0] for m in got] == [0, 1, 2] * 3
    assert_evenly_spaced(got, PERIOD)


def test_two_tasks_with_one_id_both_run(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    tx.send_periodic(standard(0x103, b"A"), PERIOD, 10 * PERIOD)
    tx.send_periodic(standard(0x103, b"B"), PERIOD, 10 * PERIOD)
    got = receive_for(rx, 10 * PERIOD + GRACE)
    payloads = [bytes(m.data) for m in got]
    assert (payloads.count(b"A"), payloads.count(b"B")) == (10, 10)


def test_can_fd_frames_are_sent_periodically(make_bus: BusFactory) -> None:
    tx, rx = make_bus(fd=True), make_bus(fd=True)
    msg = Message(arbitration_id=0x1ABCDE, is_fd=True, bitrate_switch=True, data=bytes(range(64)))
    tx.send_periodic(msg, PERIOD, 5 * PERIOD)
    got = receive_for(rx, 5 * PERIOD + GRACE)
    assert len(got) == 5
    for m in got:
        assert m.equals(msg, timestamp_delta=None, check_channel=False, check_direction=False)


# -- modify_data


def test_modify_data_changes_later_frames_and_keeps_the_phase(make_bus: BusFactory) -> None:
    """Frames carry (generation, index). Modified halfway between two frames,
    the task must neither send at once nor restart its list: the gaps stay
    one period and the index keeps alternating across the change."""
    period = 4 * PERIOD  # a restart would be half of it off: far past TOLERANCE
    tx, rx = make_bus(), make_bus()
    task = tx.send_periodic([standard(0x104, bytes([0, i])) for i in range(2)], period)
    got = receive_n(rx, 4)
    time.sleep(period / 2)
    new = [standard(0x104, bytes([1, i])) for i in range(2)]
    task.modify_data(new)
    got += receive_n(rx, 4)
    task.stop()
    assert len(got) == 8
    generations, indexes = [m.data[0] for m in got], [m.data[1] for m in got]
    assert generations[0] == 0 and generations[-1] == 1 and generations == sorted(generations)
    assert all(b == 1 - a for a, b in zip(indexes, indexes[1:])), indexes
    assert_evenly_spaced(got, period)
    assert list(task.messages) == new


@pytest.mark.parametrize(
    ("other", "text"),
    [
        (standard(0x106), r"0x105 \(standard\), got 0x106 \(standard\)"),
        (
            Message(arbitration_id=0x105, is_extended_id=True),
            r"0x105 \(standard\), got 0x105 \(extended\)",
        ),
        (
            Message(arbitration_id=0x105, is_extended_id=False, is_fd=True),
            r"0x105 \(standard\), got 0x105 \(standard, CAN FD\)",
        ),
    ],
    ids=["another-id", "extended", "fd"],
)
def test_modify_data_refuses_another_id_or_number_of_messages(
    make_bus: BusFactory, other: Message, text: str
) -> None:
    """The kernel knows a task by its ID, ID kind and frame kind: modify_data()
    with another would start a second task that stop() never stops."""
    tx, rx = make_bus(fd=True), make_bus(fd=True)
    task = tx.send_periodic([standard(0x105), standard(0x105)], PERIOD)
    with pytest.raises(ValueError, match=f"modify_data\\(\\) must keep the arbitration_id {text}"):
        task.modify_data([other, other])
    with pytest.raises(ValueError, match=r"must keep the number of messages \(2\), got 1"):
        task.modify_data([standard(0x105)])
    receive_for(rx, 2 * PERIOD)
    got = receive_n(rx, 3)
    assert [(m.arbitration_id, m.is_extended_id, m.is_fd) for m in got] == [
        (0x105, False, False)
    ] * 3
    task.stop()
    assert_silent(rx)


def test_modify_data_after_stop_is_an_error(make_bus: BusFactory) -> None:
    task = make_bus().send_periodic(standard(0x107), PERIOD)
    task.stop()
    with pytest.raises(CanOperationError, match="modify_data\\(\\) on a stopped periodic task"):
        task.modify_data(standard(0x107, b"\x01"))


# -- stopping and starting


def test_stop_stops_and_start_restarts(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    task = tx.send_periodic(standard(0x108), PERIOD)
    assert len(receive_n(rx, 3)) == 3
    task.stop()
    assert_silent(rx)
    task.start()
    assert len(receive_n(rx, 3)) == 3
    task.stop()
    assert_silent(rx)


def test_autostart_false_waits_for_start(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    task = tx.send_periodic(standard(0x109), PERIOD, autostart=False)
    assert receive_for(rx, GRACE) == []
    task.start()
    assert len(receive_n(rx, 3)) == 3


# -- sockets: each started task holds one CAN_BCM socket, and only while it runs

CYCLES = 300
#: Descriptors a test may leave open: the last task's socket, and slack.
FD_SLACK = 3


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_stop_frees_the_tasks_socket_and_start_takes_a_new_one(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    before = open_fds()
    task = tx.send_periodic(standard(0x120), PERIOD)
    for _ in range(CYCLES):
        task.stop()
        task.start()
    for _ in range(CYCLES):
        tx.send_periodic(standard(0x121), PERIOD).stop()
    assert open_fds() <= before + FD_SLACK
    # Each start sent one frame at once (more than rx's buffer holds); then
    # the task runs on its own.
    got = receive_for(rx, GRACE)
    assert [m.arbitration_id for m in got[-3:]] == [0x120] * 3
    task.stop()
    assert open_fds() <= before
    assert_silent(rx)


@pytest.mark.parametrize("count", [1, 2])
def test_finished_duration_tasks_free_their_sockets(make_bus: BusFactory, count: int) -> None:
    """A task whose duration is over frees its socket by the time the bus
    starts another task (the kernel reports the end with TX_EXPIRED)."""
    tx = make_bus()
    before = open_fds()
    tasks = [tx.send_periodic(standard(0x122), 0.001, count * 0.001) for _ in range(CYCLES)]
    time.sleep(GRACE)
    tx.send_periodic(standard(0x123), PERIOD, PERIOD)
    assert open_fds() <= before + FD_SLACK
    assert len(tasks) == CYCLES


def test_a_finished_duration_task_can_be_restarted(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    task = tx.send_periodic(standard(0x124, b"\x01"), PERIOD, 3 * PERIOD)
    assert len(receive_for(rx, 3 * PERIOD + GRACE)) == 3
    tx.send_periodic(standard(0x125), PERIOD, PERIOD)  # frees the finished task's socket
    task.modify_data(standard(0x124, b"\x02"))  # over, not stopped: no error
    task.start()
    got = receive_for(rx, 3 * PERIOD + GRACE)
    assert [(m.arbitration_id, bytes(m.data)) for m in got if m.arbitration_id == 0x124] == [
        (0x124, b"\x02")
    ] * 3


def test_python_can_tasks_free_their_sockets(backend: str) -> None:
    """python-can's Bus.send_periodic on ferrocan takes the same path."""
    with can.Bus(interface="ferrocan", channel="vcan0", backend=backend.partition("-")[0]) as tx:
        before = open_fds()
        for _ in range(CYCLES):
            tx.send_periodic(can.Message(arbitration_id=0x126, is_extended_id=False), PERIOD).stop()
        for _ in range(CYCLES):
            tx.send_periodic(can.Message(arbitration_id=0x127, is_extended_id=False), 0.001, 0.001)
        time.sleep(GRACE)
        tx.send_periodic(can.Message(arbitration_id=0x128, is_extended_id=False), PERIOD, PERIOD)
        assert open_fds() <= before + FD_SLACK


@pytest.mark.parametrize("how", ["stop_all_periodic_tasks", "shutdown"])
def test_the_bus_stops_all_its_tasks(make_bus: BusFactory, how: str) -> None:
    tx, rx = make_bus(), make_bus()
    for arbitration_id in (0x10A, 0x10B):
        tx.send_periodic(standard(arbitration_id), PERIOD)
    assert {m.arbitration_id for m in receive_n(rx, 4)} == {0x10A, 0x10B}
    getattr(tx, how)()
    assert_silent(rx)


# -- input checks


@pytest.mark.parametrize("period", [0.0, -0.01, math.nan, math.inf], ids=str)
def test_a_period_must_be_positive_and_finite(make_bus: BusFactory, period: float) -> None:
    tx, rx = make_bus(), make_bus()
    with pytest.raises(ValueError, match="period must be a finite number of seconds > 0"):
        tx.send_periodic(standard(0x10C), period)
    assert receive_for(rx, 2 * PERIOD) == []


@pytest.mark.parametrize(
    "msgs",
    [
        [],
        [standard(0x10D), standard(0x10E)],
        [standard(0x10D), Message(arbitration_id=0x10D, is_extended_id=True)],
        [standard(0x10D), Message(arbitration_id=0x10D, is_extended_id=False, is_fd=True)],
    ],
    ids=["empty", "two-ids", "standard-and-extended", "classic-and-fd"],
)
def test_a_task_needs_messages_of_one_id_and_kind(
    make_bus: BusFactory, msgs: list[Message]
) -> None:
    tx, rx = make_bus(fd=True), make_bus(fd=True)
    with pytest.raises(ValueError):
        tx.send_periodic(msgs, PERIOD)
    assert receive_for(rx, 2 * PERIOD) == []


def test_fd_frames_need_a_bus_with_fd(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus(fd=True)
    with pytest.raises(CanOperationError, match="open the bus with fd=True"):
        tx.send_periodic(Message(arbitration_id=0x10E, is_fd=True), PERIOD)
    assert receive_for(rx, 2 * PERIOD) == []


# -- an interface that goes away


@pytest.fixture
def doomed_vcan() -> Iterator[str]:
    """A vcan the test may delete."""
    name = "vcanbcm"
    run("ip", "link", "add", "dev", name, "type", "vcan")
    run("ip", "link", "set", name, "up")
    yield name
    subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.mark.privileged
def test_a_task_whose_interface_vanished(make_bus: BusFactory, doomed_vcan: str) -> None:
    """The kernel drops the tasks of a vanished interface: modifying one is
    an error naming the interface, stopping it is not."""
    task = make_bus(doomed_vcan).send_periodic(standard(0x10F), PERIOD)
    run("ip", "link", "del", doomed_vcan)
    with pytest.raises(CanOperationError, match=f"failed to transmit on '{doomed_vcan}'"):
        task.modify_data(standard(0x10F, b"\x01"))
    task.stop()


# -- the backend task directly


TaskOpener = Callable[[str], BackendTask]


@pytest.fixture
def open_task(backend: str) -> Iterator[TaskOpener]:
    """Opens the backend's BcmTask; every task opened is closed after the test."""
    opened: list[BackendTask] = []

    def open_(channel: str) -> BackendTask:
        task = bcm_class(backend.partition("-")[0])(channel)
        opened.append(task)
        return task

    yield open_
    for task in opened:
        task.close()


@pytest.mark.parametrize("count", [1, 3])
def test_the_kernel_count_includes_the_frame_sent_at_once(
    make_bus: BusFactory, open_task: TaskOpener, count: int
) -> None:
    """STARTTIMER sends the first frame at once and counts it (Linux >= 4.x):
    exactly ``count`` frames go out (python-can#1710 sent one more)."""
    rx = make_bus()
    open_task("vcan0").setup([standard(0x110)], PERIOD, count, True)
    got = receive_for(rx, count * PERIOD + GRACE)
    assert len(got) == count


@pytest.mark.parametrize(
    ("channel", "text"),
    [
        ("nosuchcan0", "CAN interface 'nosuchcan0' does not exist; create a virtual one"),
        ("lo", "interface 'lo' is not a CAN interface"),
    ],
)
def test_a_task_on_a_missing_or_non_can_interface(
    open_task: TaskOpener, channel: str, text: str
) -> None:
    with pytest.raises(CanInitializationError, match=text):
        open_task(channel)


def test_expired_tells_when_a_counted_task_sent_its_last_frame(open_task: TaskOpener) -> None:
    task, endless = open_task("vcan0"), open_task("vcan0")
    task.setup([standard(0x112)], PERIOD, 3, True)
    endless.setup([standard(0x112)], PERIOD, None, True)
    assert not task.expired()
    time.sleep(3 * PERIOD + GRACE)
    assert (task.expired(), task.expired(), endless.expired()) == (True, True, False)
    task.close()
    assert not task.expired()


def test_delete_and_close_are_idempotent(make_bus: BusFactory, open_task: TaskOpener) -> None:
    rx = make_bus()
    task = open_task("vcan0")
    task.delete()  # nothing set up yet
    task.setup([standard(0x111)], PERIOD, None, True)
    task.delete()
    task.delete()
    assert_silent(rx)
    task.setup([standard(0x111)], PERIOD, None, True)
    assert len(receive_n(rx, 2)) == 2
    task.close()
    task.close()
    assert_silent(rx)


# -- jitter


def test_jitter_is_the_kernels_like_python_cans(make_bus: BusFactory) -> None:
    """Both send with the kernel's timer, at once, so that both meet the same
    load. Over 100 gaps of 10 ms, by kernel receive timestamps, ferrocan's
    90th-percentile deviation from the period is python-can's, give or take
    a millisecond: a timer thread, say, would stray far more under load."""
    rx = make_bus()
    with can.Bus("vcan0", interface="socketcan") as reference:
        task = make_bus().send_periodic(standard(0x112), PERIOD)
        theirs_task = reference.send_periodic(can.Message(arbitration_id=0x113), PERIOD)
        both = receive_n(rx, 202, timeout=4.0)
        task.stop()
        theirs_task.stop()
    ours = [m for m in both if m.arbitration_id == 0x112][:101]
    theirs = [m for m in both if m.arbitration_id == 0x113][:101]
    assert len(ours) == len(theirs) == 101
    report = f"ferrocan {jitter(ours)}, python-can {jitter(theirs)}"
    assert p90_deviation(ours) < 2 * p90_deviation(theirs) + 0.001, report


def p90_deviation(frames: Sequence[Message]) -> float:
    """The 90th percentile of |gap - period|, in seconds."""
    return statistics.quantiles([abs(gap - PERIOD) for gap in gaps(frames)], n=10)[-1]


def jitter(frames: Sequence[Message]) -> str:
    """The spread of the gaps between ``frames``, in milliseconds."""
    intervals = gaps(frames)
    spread = statistics.pstdev(intervals) * 1e3
    worst = max(abs(gap - PERIOD) for gap in intervals) * 1e3
    return f"std {spread:.3f} ms, max |gap - period| {worst:.3f} ms"
