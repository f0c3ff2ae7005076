"""The reliability battery, once per backend, on a real kernel.

A CAN library runs inside test benches, loggers and vehicles for days: it
must never crash the interpreter, never hang past its timeout, never lose a
frame without saying so, and never turn a mistake into a traceback from deep
inside. Sections: faults (the interface goes away), interrupts and wake-ups,
fork(), many file descriptors, receive overflow, concurrency, load and leaks.

Every wait here is bounded: blocking calls run under a watchdog that shuts
the bus down (so a hang becomes a failure, not a stuck suite), threads are
joined with timeouts, and forked children are reaped by polling ``waitpid``.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import ferrocan
import pytest
from ferrocan import CanOperationError, Message

from .support import BusFactory, bus_arguments, link

pytestmark = pytest.mark.reliability

# -- how much: one place ------------------------------------------------------

#: FERROCAN_SOAK=1 (CI sets it) runs the battery's million frames through every
#: API and backend: about 6 minutes inside User-Mode Linux, where a syscall
#: costs ~20 us. Without it, the counts below keep the file near two minutes
#: and still push each path far past any buffer, cache or counter warm-up.
SOAK = os.environ.get("FERROCAN_SOAK") == "1"
#: Frames through the single-frame APIs (send, recv, iteration) and through the
#: batch APIs (send_batch, recv_batch).
SINGLE_FRAMES = 1_000_000 if SOAK else 50_000
BATCH_FRAMES = 1_000_000 if SOAK else 200_000
#: Frames run before RSS is first measured: allocator pools, caches, lazily
#: created buffers and interned objects settle in this warm-up.
WARMUP_FRAMES = 10_000
#: RSS growth allowed across a load run after its warm-up.
RSS_BOUND = 5 << 20
#: Buses open at once, and dummy descriptors opened to push a bus past 1024.
MANY_BUSES = 1_000
DUMMY_FDS = 1_100
#: Frames a second process floods onto a bus that is not reading.
FLOOD_FRAMES = 5_000

# -- how long -----------------------------------------------------------------

#: Ctrl-C and a raising signal handler must end a blocking call this fast
#: (the README promises 100 ms; User-Mode Linux gets slack).
INTERRUPT_BOUND = 0.3
#: shutdown() from another thread ends a blocking call this fast.
WAKE_BOUND = 0.3
#: A fault (interface deleted or down) is reported this fast.
FAULT_BOUND = 1.0
#: How long a blocking call may run before the watchdog shuts its bus down.
WATCHDOG = 10.0
#: Bounds on thread joins and child processes.
JOIN_TIMEOUT = 30.0
CHILD_TIMEOUT = 20.0

RECV_TIMEOUT = 2.0
SCRATCH = "vrel0"
FRAME = Message(arbitration_id=0x10, is_extended_id=False, data=b"\x01")


# -- helpers --------------------------------------------------------------------


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("/proc/self/status has no VmRSS")


def tagged(seq: int) -> Message:
    """Frame number `seq`: its ID and data both say which it is, so a frame
    that arrives twice, out of order or torn is recognised."""
    return Message(arbitration_id=seq, data=payload(seq))


def payload(seq: int) -> bytes:
    return seq.to_bytes(4, "little") + ((seq * 2654435761) & 0xFFFFFFFF).to_bytes(4, "little")


def seq_of(msg: Message) -> int:
    """The number a `tagged` frame carries; fails on a torn frame."""
    seq = msg.arbitration_id
    assert msg.is_extended_id and bytes(msg.data) == payload(seq), f"torn frame: {msg}"
    return seq


@contextlib.contextmanager
def after(delay: float, action: Callable[[], object]) -> Iterator[list[float]]:
    """Runs `action` in a timer thread `delay` s from now; yields a list that
    gets the monotonic times `action` started and finished at. Joined on exit.

    An interface fault is timed from when its action finished: starting
    ip(8) (the pure wheel's fixtures) can take longer than the bound on a
    slow interpreter."""
    started: list[float] = []

    def run() -> None:
        started.append(time.monotonic())
        action()
        started.append(time.monotonic())

    timer = threading.Timer(delay, run)
    timer.daemon = True
    timer.start()
    try:
        yield started
    finally:
        timer.cancel()
        timer.join(JOIN_TIMEOUT)
        assert not timer.is_alive(), "the timer thread did not finish"


@contextlib.contextmanager
def watchdog(*buses: ferrocan.Bus, seconds: float = WATCHDOG) -> Iterator[None]:
    """Shuts `buses` down if the block runs past `seconds`: a call that would
    hang then fails with 'shut down' instead of stalling the suite."""
    with after(seconds, lambda: [bus.shutdown() for bus in buses]):
        yield


def join_all(threads: list[threading.Thread], timeout: float = JOIN_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still running after {timeout} s (deadlock?): {stuck}"


def scratch_vcan(name: str = SCRATCH) -> str:
    """A fresh vcan that the test may delete or take down."""
    with contextlib.suppress(Exception):
        link.delete(name)
    link.add_vcan(name)
    link.up(name)
    return name


@pytest.fixture
def scratch() -> Iterator[str]:
    yield scratch_vcan()
    with contextlib.suppress(Exception):
        link.delete(SCRATCH)


def interface_drops(channel: str) -> int:
    """Frames the kernel dropped on `channel` before any socket saw them.

    vcan loops every frame back through the kernel's per-CPU input backlog
    (net.core.netdev_max_backlog, 1000). When senders outrun the softirq that
    empties it, as several threads releasing the GIL can on one CPU, the
    kernel drops frames there and counts them only in the interface's
    rx_dropped: no socket, and so no bus, ever sees them."""
    return link.show(channel).statistics.rx_dropped


def assert_gone(error: CanOperationError, channel: str) -> None:
    """The error a bus on a deleted interface must give: ENODEV (or ENXIO,
    sendto's errno for an interface index that no longer exists) and the
    advice to open a new Bus."""
    assert error.error_code in (errno.ENODEV, errno.ENXIO), error
    assert f"'{channel}'" in str(error) and "open a new Bus" in str(error), error


# -- 1. faults: the interface goes away -----------------------------------------


def test_deleting_the_interface_ends_a_blocked_recv(make_bus: BusFactory, scratch: str) -> None:
    bus = make_bus(scratch)
    with watchdog(bus), after(0.2, lambda: link.delete(scratch)) as deleted:
        with pytest.raises(CanOperationError) as raised:
            bus.recv(None)
        ended = time.monotonic()
    assert "shut down" not in str(raised.value), "recv(None) hung: only the watchdog ended it"
    assert raised.value.error_code in (errno.ENODEV, errno.ENETDOWN), raised.value
    assert ended - deleted[1] < FAULT_BOUND


def test_deleting_the_interface_ends_a_send_loop(make_bus: BusFactory, scratch: str) -> None:
    bus = make_bus(scratch)
    sent = 0
    with watchdog(bus), after(0.2, lambda: link.delete(scratch)) as deleted:
        deadline = time.monotonic() + WATCHDOG
        with pytest.raises(CanOperationError) as raised:
            while time.monotonic() < deadline:
                bus.send(FRAME, timeout=1.0)
                sent += 1
        ended = time.monotonic()
    assert sent > 0, "nothing was sent before the interface went"
    assert "shut down" not in str(raised.value), "send hung: only the watchdog ended it"
    assert raised.value.error_code in (errno.ENODEV, errno.ENXIO, errno.ENETDOWN), raised.value
    assert ended - deleted[1] < FAULT_BOUND


def outcome(call: Callable[[], object]) -> str:
    """What a call did, for failure messages: its result or its error."""
    try:
        return f"returned {call()!r}"
    except CanOperationError as error:
        return f"raised {error}"


def test_a_bus_on_a_deleted_interface_keeps_saying_so(make_bus: BusFactory, scratch: str) -> None:
    """The kernel reports the deletion once (sk_err) and unbinds the socket:
    a bus that went on with recv(timeout) would then wait in silence, even
    once an interface of the same name exists again. Every call must instead
    say that the interface went and that a new Bus is needed."""
    bus = make_bus(scratch)
    link.delete(scratch)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("recv", lambda: bus.recv(0.2)),
        ("recv again", lambda: bus.recv(0.2)),
        ("recv_batch", lambda: bus.recv_batch(8, 0.2)),
        ("send", lambda: bus.send(FRAME, timeout=0.2)),
    ]
    gone = [f"{name}: {outcome(call)}" for name, call in calls]
    scratch_vcan(scratch)  # the same name, a new interface
    recreated = [f"{name} once recreated: {outcome(call)}" for name, call in calls]
    wrong = [
        result
        for result in gone + recreated
        if "open a new Bus" not in result or f"'{scratch}'" not in result
    ]
    assert not wrong, "\n".join(["calls on a bus whose interface was deleted:", *wrong])

    fresh_tx, fresh_rx = make_bus(scratch), make_bus(scratch)
    fresh_tx.send(FRAME)
    got = fresh_rx.recv(RECV_TIMEOUT)
    assert got is not None and got.arbitration_id == FRAME.arbitration_id


def test_down_and_up_again(make_bus: BusFactory, scratch: str) -> None:
    """Down is not gone: recv and send say the interface is down and how to
    bring it up; once it is up again, the same bus carries frames."""
    bus = make_bus(scratch)
    with watchdog(bus), after(0.2, lambda: link.down(scratch)) as downed:
        with pytest.raises(CanOperationError) as raised:
            bus.recv(None)
        ended = time.monotonic()
    assert raised.value.error_code == errno.ENETDOWN, raised.value
    assert f"bring it up with: sudo ip link set {scratch} up" in str(raised.value)
    assert ended - downed[1] < FAULT_BOUND
    with pytest.raises(CanOperationError) as raised:
        bus.send(FRAME, timeout=0.5)
    assert raised.value.error_code == errno.ENETDOWN, raised.value

    link.up(scratch)
    peer = make_bus(scratch)  # opened after the outage: no stale error pending
    bus.send(tagged(1))
    got = peer.recv(RECV_TIMEOUT)
    assert got is not None and seq_of(got) == 1
    peer.send(tagged(2))
    got = bus.recv(RECV_TIMEOUT)
    assert got is not None and seq_of(got) == 2


# -- 2. interrupts and wake-ups ----------------------------------------------------

BLOCKING = ["recv", "recv_batch", "send", "iterate"]


def blocked_call(
    op: str, make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> tuple[ferrocan.Bus, Callable[[], object]]:
    """A bus and a call on it that blocks until something ends it: a receive
    on a quiet vcan, or a send on a transmit queue that never has room."""
    if op == "send":
        bus = make_bus(slow_vcan(limit="1"))
        return bus, lambda: bus.send(FRAME)
    bus = make_bus("vcan1")
    calls: dict[str, Callable[[], object]] = {
        "recv": lambda: bus.recv(None),
        "recv_batch": lambda: bus.recv_batch(16, None),
        "iterate": lambda: list(bus),
    }
    return bus, calls[op]


def assert_still_usable(op: str, bus: ferrocan.Bus, make_bus: BusFactory) -> None:
    if op == "send":
        assert bus.recv(0.0) is None
        with pytest.raises(CanOperationError) as raised:
            bus.send(FRAME, timeout=0.05)
        assert raised.value.error_code == errno.ENOBUFS, "the queue is full: nothing else"
        return
    make_bus("vcan1").send(tagged(3))
    got = bus.recv_batch(16, RECV_TIMEOUT) if op == "recv_batch" else [bus.recv(RECV_TIMEOUT)]
    assert [seq_of(m) for m in got if m is not None] == [3]


@pytest.mark.parametrize("op", BLOCKING)
def test_ctrl_c_ends_a_blocking_call(
    make_bus: BusFactory, slow_vcan: Callable[..., str], op: str
) -> None:
    bus, call = blocked_call(op, make_bus, slow_vcan)
    with watchdog(bus), after(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)) as sent:
        with pytest.raises(KeyboardInterrupt):
            call()
        ended = time.monotonic()
    assert ended - sent[0] < INTERRUPT_BOUND
    assert_still_usable(op, bus, make_bus)


@pytest.mark.parametrize("op", BLOCKING)
def test_shutdown_from_another_thread_ends_a_blocking_call(
    make_bus: BusFactory, slow_vcan: Callable[..., str], op: str
) -> None:
    bus, call = blocked_call(op, make_bus, slow_vcan)
    with after(0.2, bus.shutdown) as shut:
        if op == "iterate":
            assert call() == [], "iteration simply ends at shutdown"
        else:
            with pytest.raises(CanOperationError, match="is shut down; open a new Bus"):
                call()
        ended = time.monotonic()
    assert ended - shut[0] < WAKE_BOUND


class HandlerError(RuntimeError):
    pass


@pytest.mark.parametrize("op", BLOCKING)
def test_an_exception_from_a_signal_handler_ends_a_blocking_call(
    make_bus: BusFactory, slow_vcan: Callable[..., str], op: str
) -> None:
    def handler(signum: int, frame: object) -> NoReturn:
        raise HandlerError(f"signal {signum}")

    bus, call = blocked_call(op, make_bus, slow_vcan)
    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        with watchdog(bus), after(0.2, lambda: os.kill(os.getpid(), signal.SIGUSR1)) as sent:
            with pytest.raises(HandlerError, match=f"signal {int(signal.SIGUSR1)}"):
                call()
            ended = time.monotonic()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert ended - sent[0] < INTERRUPT_BOUND
    assert_still_usable(op, bus, make_bus)


# -- 3. fork() ---------------------------------------------------------------------


def in_child(work: Callable[[], Any]) -> Any:
    """Runs `work` in a forked child and returns its result (JSON), or raises
    with the child's error. The child never returns into pytest."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_end)
            try:
                report = {"result": work()}
                code = 0
            except BaseException as error:
                report = {"error": f"{type(error).__name__}: {error}"}
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    os.set_blocking(read_end, False)
    chunks: list[bytes] = []
    deadline = time.monotonic() + CHILD_TIMEOUT
    try:
        while True:
            with contextlib.suppress(BlockingIOError):
                while chunk := os.read(read_end, 65536):
                    chunks.append(chunk)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(f"the child did not finish within {CHILD_TIMEOUT} s")
            time.sleep(0.01)
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(read_end, 65536):
                chunks.append(chunk)
    finally:
        os.close(read_end)
    assert chunks, f"the child died without a report (wait status {status})"
    report = json.loads(b"".join(chunks))
    assert "error" not in report, f"in the child: {report['error']}"
    return report["result"]


def test_a_child_uses_the_bus_it_inherited(make_bus: BusFactory, backend: str) -> None:
    """The child receives on the inherited bus what the parent sends (more
    frames than the io_uring buffer ring holds), then sends on it; the
    parent's bus then still receives (the child's frame)."""
    count = 300
    tx = make_bus("vcan1")
    rx = make_bus("vcan1", receive_buffer_size=1 << 20)
    ready_read, ready_write = os.pipe()

    def child() -> list[int]:
        os.write(ready_write, b"x")
        got: list[int] = []
        deadline = time.monotonic() + 3.0
        while len(got) < count and time.monotonic() < deadline:
            got.extend(seq_of(m) for m in rx.recv_batch(256, 0.2))
        tx.send(tagged(count))
        return got

    def parent_sends() -> None:
        os.read(ready_read, 1)
        assert tx.send_batch([tagged(i) for i in range(count)]) == count

    sender = threading.Thread(target=parent_sends, daemon=True)
    sender.start()
    try:
        got = in_child(child)
    finally:
        os.close(ready_write)  # unblocks the sender if the child never started
        join_all([sender])
        os.close(ready_read)
    after_child = rx.recv(RECV_TIMEOUT)
    problems = []
    if got != list(range(count)):
        problems.append(f"the child received {len(got)} of the {count} frames on its inherited bus")
    if after_child is None or seq_of(after_child) != count:
        problems.append(f"the parent's bus then received {after_child}, not the child's frame")
    assert not problems, f"{backend}: " + "; ".join(problems)


def test_a_child_opens_its_own_bus(make_bus: BusFactory, backend: str) -> None:
    options = bus_arguments(backend)
    rx = make_bus("vcan1")

    def child() -> list[int]:
        with (
            ferrocan.Bus("vcan1", **options) as own_tx,
            ferrocan.Bus("vcan1", **options) as own_rx,
        ):
            own_tx.send(tagged(5))
            got = own_rx.recv(RECV_TIMEOUT)
            return [] if got is None else [seq_of(got)]

    assert in_child(child) == [5]
    got = rx.recv(RECV_TIMEOUT)
    assert got is not None and seq_of(got) == 5, "the parent's bus did not see the child's frame"


def test_a_child_leaves_the_parents_buffered_frames_alone(
    make_bus: BusFactory, backend: str
) -> None:
    """The parent has frames queued, some already read into its buffers; the
    child works on its own buses and exits; the parent gets the rest intact
    and in order."""
    options = bus_arguments(backend)
    tx, rx = make_bus("vcan0"), make_bus("vcan0")
    tx.send_batch([tagged(i) for i in range(40)])
    first = [rx.recv(RECV_TIMEOUT) for _ in range(5)]
    assert [seq_of(m) for m in first if m is not None] == list(range(5))

    def child() -> list[int]:
        rx.statistics()
        rx.fileno()
        with (
            ferrocan.Bus("vcan1", **options) as own_tx,
            ferrocan.Bus("vcan1", **options) as own_rx,
        ):
            own_tx.send_batch([tagged(i) for i in range(100, 110)])
            return [seq_of(m) for m in own_rx.recv_batch(64, RECV_TIMEOUT)]

    assert in_child(child) == list(range(100, 110))
    rest: list[int] = []
    while (msg := rx.recv(0.3)) is not None and len(rest) < 100:
        rest.append(seq_of(msg))
    assert rest == list(range(5, 40))
    tx.send(tagged(41))
    got = rx.recv(RECV_TIMEOUT)
    assert got is not None and seq_of(got) == 41


def test_a_child_shutting_down_its_copy_leaves_the_parents_bus_open(
    make_bus: BusFactory, backend: str
) -> None:
    """A child that ends with `bus.shutdown()` (or a `with` block) closes its
    copy. The parent's bus must stay open, and its waits must still sleep:
    the shutdown wake-up (an eventfd) is shared across fork()."""
    tx, rx = make_bus("vcan1"), make_bus("vcan1")

    def child() -> None:
        rx.shutdown()
        tx.shutdown()

    in_child(child)
    cpu = time.thread_time()
    start = time.monotonic()
    assert rx.recv(0.5) is None, f"{backend}: the parent's bus was shut down by the child"
    waited, spent = time.monotonic() - start, time.thread_time() - cpu
    assert 0.5 <= waited < 1.0
    assert spent < 0.25, f"{backend}: recv(0.5) spun on the CPU for {spent:.2f} s"
    tx.send(tagged(7))
    got = rx.recv(RECV_TIMEOUT)
    assert got is not None and seq_of(got) == 7


def test_a_child_shuts_down_a_bus_another_parent_thread_was_blocked_on(
    make_bus: BusFactory, backend: str
) -> None:
    """fork() copies a lock as it is: held by the parent's thread blocked in
    recv, a thread the child does not have. Shutting down (or dropping) the
    inherited bus in the child must still end at once, not wait on it."""
    rx = make_bus("vcan1")

    def receive() -> None:
        with contextlib.suppress(CanOperationError):  # the shutdown below
            rx.recv(None)

    blocked = threading.Thread(target=receive, daemon=True)
    with watchdog(rx):
        blocked.start()
        time.sleep(0.2)  # the thread is in recv's wait

        def child() -> float:
            start = time.monotonic()
            rx.shutdown()
            with contextlib.suppress(CanOperationError):
                rx.recv(0.0)
            return time.monotonic() - start

        took = in_child(child)
        assert took < WAKE_BOUND, f"{backend}: the child's shutdown took {took:.2f} s"
        assert rx.recv(0.1) is None, "the parent's bus is still open"
        rx.shutdown()
    join_all([blocked])


# -- 4. many file descriptors ----------------------------------------------------


@contextlib.contextmanager
def fd_limit(needed: int) -> Iterator[None]:
    """RLIMIT_NOFILE raised to at least `needed` (root may raise the hard limit)."""
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = saved
    if soft < needed:
        hard = max(hard, needed) if hard != resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, saved)


def test_a_bus_above_descriptor_1024(make_bus: BusFactory) -> None:
    """python-can#2053: select() breaks past FD_SETSIZE. Nothing here may use it."""
    with fd_limit(fd_count() + DUMMY_FDS + 64):
        dummies = [os.open("/dev/null", os.O_RDONLY) for _ in range(DUMMY_FDS)]
        try:
            tx, rx = make_bus("vcan1"), make_bus("vcan1")
            assert rx.fileno() > 1024 and tx.fileno() > 1024
            start = time.monotonic()
            assert rx.recv(0.2) is None
            assert 0.2 <= time.monotonic() - start < 1.0
            tx.send(tagged(1))
            got = rx.recv(RECV_TIMEOUT)
            assert got is not None and seq_of(got) == 1
            assert tx.send_batch([tagged(2), tagged(3)]) == 2
            seqs: list[int] = []
            while len(seqs) < 2 and (batch := rx.recv_batch(8, RECV_TIMEOUT)):
                seqs.extend(seq_of(m) for m in batch)
            assert seqs == [2, 3]
            with after(0.2, rx.shutdown) as shut:
                with pytest.raises(CanOperationError, match="shut down"):
                    rx.recv(None)
                assert time.monotonic() - shut[0] < WAKE_BOUND
        finally:
            for fd in dummies:
                os.close(fd)


def test_a_thousand_buses_at_once(make_bus: BusFactory) -> None:
    """Each bus hears one ID (a kernel filter) and sends the next bus's."""
    start_fds = fd_count()
    with fd_limit(start_fds + 4 * MANY_BUSES + 64):
        buses: list[ferrocan.Bus] = []
        try:
            for i in range(MANY_BUSES):
                buses.append(make_bus("vcan1", can_filters=[{"can_id": i, "can_mask": 0x7FF}]))
            for i, bus in enumerate(buses):
                nxt = (i + 1) % MANY_BUSES
                bus.send(Message(arbitration_id=nxt, is_extended_id=False, data=payload(i)))
            for i, bus in enumerate(buses):
                got = bus.recv(RECV_TIMEOUT)
                sender = (i - 1) % MANY_BUSES
                assert got is not None, f"bus {i} received nothing"
                assert (got.arbitration_id, bytes(got.data)) == (i, payload(sender))
                assert bus.recv(0.0) is None
        finally:
            for bus in buses:
                bus.shutdown()
    assert fd_count() == start_fds


# -- 5. receive overflow ---------------------------------------------------------

FLOODER = """
import sys
import ferrocan
from ferrocan import Message

backend, channel, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with ferrocan.Bus(channel, backend=backend) as bus:
    sent = 0
    for start in range(0, count, 256):
        chunk = [
            Message(arbitration_id=i, data=i.to_bytes(4, "little"))
            for i in range(start, min(start + 256, count))
        ]
        sent += bus.send_batch(chunk)
    print(sent, bus.statistics().sent)
"""


def test_an_overflow_is_counted_exactly(make_bus: BusFactory, backend: str) -> None:
    """Another process floods a bus that is not reading: every frame is
    either received or counted as dropped, none both, none neither."""
    rx = make_bus("vcan1")
    drops_before = interface_drops("vcan1")
    flood = subprocess.run(
        [sys.executable, "-c", FLOODER, backend.partition("-")[0], "vcan1", str(FLOOD_FRAMES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sent, counted = map(int, flood.stdout.split())
    assert sent == counted == FLOOD_FRAMES
    got: list[int] = []
    while batch := rx.recv_batch(256, 0.5):
        got.extend(m.arbitration_id for m in batch)
    assert got == sorted(set(got)), "frames were received twice or out of order"
    stats = rx.statistics()
    assert stats.received == len(got)
    assert stats.dropped > 0, "the flood did not overflow the receive buffer: no test"
    # Frames the kernel dropped before any socket (see interface_drops) are
    # not the bus's to count; normally there are none.
    before_socket = interface_drops("vcan1") - drops_before
    assert stats.received + stats.dropped + before_socket == sent, (stats, before_socket)


# -- 6. concurrency -------------------------------------------------------------


class Worker(threading.Thread):
    """A thread that records the exception it died of."""

    def __init__(self, name: str, work: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self._work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._work()
        except BaseException as error:
            self.error = error


def run_workers(workers: list[Worker]) -> None:
    for worker in workers:
        worker.start()
    finish(workers)


def finish(workers: list[Worker]) -> None:
    """Joins started workers (bounded) and fails with their errors."""
    join_all(list(workers))
    failed = {w.name: repr(w.error) for w in workers if w.error is not None}
    assert not failed, failed


def receive_until_drained(
    bus: ferrocan.Bus, into: list[int], sent: threading.Event, timeout: float = 0.05
) -> Callable[[], None]:
    """Work for a receiving thread: `recv(timeout)` until the senders are done
    and the bus has nothing more (or the join bound is near)."""

    def work() -> None:
        deadline = time.monotonic() + JOIN_TIMEOUT - 5
        while time.monotonic() < deadline:
            msg = bus.recv(timeout)
            if msg is not None:
                into.append(seq_of(msg))
            elif sent.is_set() and timeout > 0:
                return
            elif sent.is_set():
                # recv(0.0) found nothing: make sure with one real wait.
                if (msg := bus.recv(0.2)) is None:
                    return
                into.append(seq_of(msg))
            else:
                time.sleep(0)  # a poller lets the senders in

    return work


def assert_each_frame_once(received: list[list[int]], total: int, dropped: int) -> None:
    """Every frame sent arrived exactly once, except those the kernel dropped
    before the socket (`dropped`, counted on the interface)."""
    counts = Counter(seq for chunk in received for seq in chunk)
    assert not [seq for seq, n in counts.items() if n > 1], "frames delivered twice"
    assert set(counts) <= set(range(total)), "frames that were never sent arrived"
    lost = total - len(counts)
    assert lost == dropped, (
        f"{lost} frames never arrived; the kernel dropped {dropped} before the socket"
    )


def test_eight_senders_and_two_receivers(make_bus: BusFactory) -> None:
    senders, per_sender = 8, 2_000
    total = senders * per_sender
    tx = make_bus("vcan1")
    rx = make_bus("vcan1", receive_buffer_size=32 << 20)
    received: list[list[int]] = [[], []]
    sent = threading.Event()
    drops_before = interface_drops("vcan1")

    def send(first: int) -> Callable[[], None]:
        def work() -> None:
            for seq in range(first, first + per_sender):
                tx.send(tagged(seq), timeout=5.0)

        return work

    sending = [Worker(f"send-{s}", send(s * per_sender)) for s in range(senders)]
    receiving = [Worker(f"recv-{r}", receive_until_drained(rx, received[r], sent)) for r in (0, 1)]
    with watchdog(tx, rx, seconds=JOIN_TIMEOUT):
        for worker in receiving:
            worker.start()
        run_workers(sending)
        sent.set()
        finish(receiving)
    assert tx.statistics().sent == total
    assert rx.statistics().dropped == 0
    assert_each_frame_once(received, total, interface_drops("vcan1") - drops_before)


def test_set_filters_while_another_thread_receives(make_bus: BusFactory) -> None:
    """Frames with ID 0x100 pass both filters that are swapped in and out:
    each must arrive once and in order; 0x200 passes neither and never arrives."""
    rounds, frames = 400, 2_000
    tx = make_bus("vcan1")
    rx = make_bus("vcan1", receive_buffer_size=4 << 20)
    narrow = [{"can_id": 0x100, "can_mask": 0x7FF, "extended": False}]
    wide = [{"can_id": 0x100, "can_mask": 0x700, "extended": False}]
    rx.set_filters(narrow)
    got: list[tuple[int, bytes]] = []
    sending = threading.Event()
    sent = threading.Event()
    drops_before = interface_drops("vcan1")

    def receive() -> None:
        deadline = time.monotonic() + JOIN_TIMEOUT - 5
        while time.monotonic() < deadline:
            msg = rx.recv(0.05)
            if msg is not None:
                got.append((msg.arbitration_id, bytes(msg.data)))
            elif sent.is_set():
                return

    def refilter() -> None:
        sending.wait(JOIN_TIMEOUT)
        for i in range(rounds):
            rx.set_filters(wide if i % 2 else narrow)

    def send() -> None:
        sending.set()
        for seq in range(frames):
            tx.send(Message(arbitration_id=0x100, is_extended_id=False, data=payload(seq)))
            tx.send(Message(arbitration_id=0x200, is_extended_id=False, data=payload(seq)))

    receiver = Worker("recv", receive)
    with watchdog(tx, rx, seconds=JOIN_TIMEOUT):
        receiver.start()
        run_workers([Worker("filters", refilter), Worker("send", send)])
        sent.set()
        finish([receiver])
    assert all(can_id == 0x100 for can_id, _ in got), "a filtered-out frame arrived"
    seqs = [int.from_bytes(data[:4], "little") for _, data in got]
    assert [payload(seq) for seq in seqs] == [data for _, data in got], "torn frames"
    assert seqs == sorted(set(seqs)), "frames arrived twice or out of order"
    dropped = interface_drops("vcan1") - drops_before  # of 0x100 and 0x200 alike
    assert frames - len(seqs) <= dropped, f"{frames - len(seqs)} lost, {dropped} dropped"


def test_threads_polling_one_bus_share_the_frames(make_bus: BusFactory) -> None:
    """Several threads call recv(0.0) on one bus while frames flow: each
    frame goes to exactly one of them, and each sees its share in order."""
    pollers, total = 4, 4_000
    tx = make_bus("vcan1")
    rx = make_bus("vcan1", receive_buffer_size=4 << 20)
    received: list[list[int]] = [[] for _ in range(pollers)]
    sent = threading.Event()
    drops_before = interface_drops("vcan1")

    def send() -> None:
        for first in range(0, total, 50):
            tx.send_batch([tagged(seq) for seq in range(first, first + 50)], timeout=5.0)

    polling = [
        Worker(f"poll-{p}", receive_until_drained(rx, received[p], sent, timeout=0.0))
        for p in range(pollers)
    ]
    with watchdog(tx, rx, seconds=JOIN_TIMEOUT):
        for worker in polling:
            worker.start()
        run_workers([Worker("send", send)])
        sent.set()
        finish(polling)
    for chunk in received:
        assert chunk == sorted(chunk), "a thread saw its frames out of order"
    assert rx.statistics().dropped == 0
    assert_each_frame_once(received, total, interface_drops("vcan1") - drops_before)


# -- 7. load and leaks ------------------------------------------------------------

CHUNK = 256


def pump_single(tx: ferrocan.Bus, rx: ferrocan.Bus, first: int, count: int) -> None:
    """`count` frames through send() and recv(), a chunk at a time."""
    for start in range(first, first + count, CHUNK):
        stop = min(start + CHUNK, first + count)
        for seq in range(start, stop):
            tx.send(tagged(seq))
        for seq in range(start, stop):
            msg = rx.recv(RECV_TIMEOUT)
            assert msg is not None and seq_of(msg) == seq, f"frame {seq}: got {msg}"


def pump_batch(tx: ferrocan.Bus, rx: ferrocan.Bus, first: int, count: int) -> None:
    """`count` frames through send_batch() and recv_batch()."""
    for start in range(first, first + count, CHUNK):
        stop = min(start + CHUNK, first + count)
        assert tx.send_batch([tagged(seq) for seq in range(start, stop)]) == stop - start
        expected = start
        while expected < stop:
            batch = rx.recv_batch(CHUNK, RECV_TIMEOUT)
            assert batch, f"frame {expected} did not arrive"
            for msg in batch:
                assert seq_of(msg) == expected
                expected += 1


def pump_iteration(tx: ferrocan.Bus, rx: ferrocan.Bus, first: int, count: int) -> None:
    """`count` frames through send_batch() and `for msg in bus` (one
    iterator throughout, as a logger keeps it)."""
    frames = iter(rx)
    for start in range(first, first + count, CHUNK):
        stop = min(start + CHUNK, first + count)
        assert tx.send_batch([tagged(seq) for seq in range(start, stop)]) == stop - start
        for seq in range(start, stop):
            msg = next(frames, None)
            assert msg is not None, f"iteration ended before frame {seq} (watchdog?)"
            assert seq_of(msg) == seq


PUMPS: dict[str, tuple[Callable[[ferrocan.Bus, ferrocan.Bus, int, int], None], int]] = {
    "send-recv": (pump_single, SINGLE_FRAMES),
    "send_batch-recv_batch": (pump_batch, BATCH_FRAMES),
    "send_batch-iteration": (pump_iteration, SINGLE_FRAMES),
}


@pytest.mark.parametrize("api", list(PUMPS))
def test_load_keeps_memory_and_descriptors_flat(make_bus: BusFactory, api: str) -> None:
    pump, count = PUMPS[api]
    start_fds = fd_count()
    tx = make_bus("vcan1")
    rx = make_bus("vcan1", receive_buffer_size=1 << 20)
    with watchdog(tx, rx, seconds=600.0):
        pump(tx, rx, 0, WARMUP_FRAMES)
        gc.collect()
        before = rss_bytes()
        pump(tx, rx, WARMUP_FRAMES, count)
        gc.collect()
        grown = rss_bytes() - before
    total = WARMUP_FRAMES + count
    assert tx.statistics().sent == total
    assert rx.statistics() == (total, 0, 0)
    assert grown < RSS_BOUND, f"RSS grew by {grown / 2**20:.1f} MiB over {count} frames"
    tx.shutdown()
    rx.shutdown()
    assert fd_count() == start_fds
