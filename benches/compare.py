"""ferrocan's backends against python-can and a plain socket loop, on vcan, in one run.

    tools/bench [--quick] [these options]   # the Rust floor, then this, in one QEMU guest

On a machine with vcan0 and vcan1 it runs on its own (``python
benches/compare.py``), after ``cargo bench --bench raw`` for the Rust floor.
python-can and matplotlib (for ``--png``) come with ``pip install
'ferrocan[bench]'``.

Implementations (columns): ferrocan ``native`` and ``ctypes``, python-can 4.x
``socketcan``, and ``socket``: Python's socket module on a CAN_RAW socket,
sending pre-packed ``struct can_frame`` bytes and receiving bytes without
decoding them (no Message objects: the pure-Python lower bound), and
``socket+time``: the same, receiving with ``recvmsg`` the kernel's receive
time (SO_TIMESTAMPNS) and the interface, which a Message carries. The Rust
floor is read from criterion's results of ``benches/raw.rs`` (cargo runs that
bench through tools/vcan-run; this script cannot, as it runs inside it). Where
a case receives, the floor receives as the native backend does here: through
io_uring (its default, Linux 6.0+), else directly with ``recvmmsg``; raw.rs
measures both.

Every rate is the median of ``--repeat`` loops of many calls, timed with one
clock read before and one after each loop. The loops run in rounds, one loop
per implementation back to back, and a ratio is the median of the ratios round
by round, so that a swing in the cost of a syscall cancels out. The run prints
what a syscall and a clock read cost, at its start and end: under emulation
they drift, so only ratios within one run mean anything.

(c) and (d) drain ``Sizes.queued`` frames (2000; --quick: 400) that a plain
socket queued beforehand, into a bus whose receive buffer was raised to 8 MiB
(SO_RCVBUFFORCE on the sockets it opened); the default 212992 bytes hold only
~250 frames.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import multiprocessing
import os
import platform
import socket
import stat
import statistics
import struct
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, Protocol, TypeVar, Union

import ferrocan

TRAFFIC = "vcan0"  # where frames flow: two buses, a filler, a sender process
IDLE = "vcan1"  # where nothing is received
FRAME_ID = 0x123
PAYLOAD = bytes(range(1, 9))
CAN_FRAME = struct.Struct("=IB3x8s")  # struct can_frame: can_id, len, 3 padding bytes, data
PLAIN_FRAME = CAN_FRAME.pack(FRAME_ID, len(PAYLOAD), PAYLOAD)
TIMEVAL = struct.Struct("@ll")
TIMESPEC = struct.Struct("@ll")
SO_TIMESTAMPNS = 35  # <asm-generic/socket.h>; the socket module lacks it
CONTROL_BYTES = socket.CMSG_SPACE(TIMESPEC.size)
RECV_MAX = 256  # recv_batch's max_messages (its default)
SEND_BATCH = 200  # frames per send_batch, as in benches/raw.rs
WAIT = 1.0  # timeout (s) for a frame that is surely coming
QUIET = 0.1  # (f): the sender is done once it has reported and no frame came for this long
FLOOD_DEADLINE = 60.0  # (f): give up on a sender after this many seconds

SO_MEMINFO = 55  # <asm-generic/socket.h>: u32 sk_meminfo[SK_MEMINFO_VARS]
SK_MEMINFO_VARS = 9
SK_MEMINFO_DROPS = 8
SO_RCVBUFFORCE = 33  # SO_RCVBUF past rmem_max (CAP_NET_ADMIN; root inside UML)
RCVBUF_BYTES = 4 << 20  # (b2), (c), (d): room for every frame queued (the kernel doubles it)

BASELINE = "python-can"
BARE = "socket"  # Python plus one syscall per frame: native's other yardstick
STAMPED = "socket+time"  # the same, receiving a timestamp and the interface too


class BenchError(Exception):
    """A measurement that cannot be made: the cell shows the reason."""


# ---------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    """Calls or frames per timed loop, per case."""

    calls: int  # (a) recv(0.0) calls
    round_trips: int  # (b) send+recv pairs
    queued: int  # (c), (d) frames pre-filled, then drained
    sent: int  # (b2), (e) frames sent, a multiple of SEND_BATCH
    flood: int  # (f) frames the sender process sends


FULL = Sizes(calls=10000, round_trips=1000, queued=2000, sent=2000, flood=10000)
QUICK = Sizes(calls=500, round_trips=200, queued=400, sent=400, flood=2000)


# ---------------------------------------------------------------- implementations


class Endpoint(Protocol):
    """One open bus of one implementation, reduced to what the cases time."""

    @property
    def recv(self) -> Callable[[float], object | None]:
        """The implementation's own recv, called as a user's loop calls it:
        a frame, or None on timeout."""

    def recv_batch(self, timeout: float) -> int:
        """Frames one recv_batch(RECV_MAX) call returned (one recv where there is none)."""

    def send(self) -> None:
        """Sends the benchmark frame."""

    def send_batch(self) -> None:
        """Sends SEND_BATCH frames with one send_batch call (a send loop where there is none)."""

    def dropped(self) -> int:
        """Frames the kernel dropped on this socket for want of room."""

    def close(self) -> None: ...


class FerrocanEndpoint:
    def __init__(self, channel: str, backend: str) -> None:
        self._bus = ferrocan.Bus(channel, backend=backend)
        self.recv = self._bus.recv
        message = ferrocan.Message(arbitration_id=FRAME_ID, is_extended_id=False, data=PAYLOAD)
        self._message = message
        self._batch = [message] * SEND_BATCH

    def recv_batch(self, timeout: float) -> int:
        return len(self._bus.recv_batch(RECV_MAX, timeout))

    def send(self) -> None:
        self._bus.send(self._message)

    def send_batch(self) -> None:
        taken = self._bus.send_batch(self._batch)
        if taken != SEND_BATCH:
            raise BenchError(f"send_batch took {taken} of {SEND_BATCH} frames")

    def dropped(self) -> int:
        return self._bus.statistics().dropped

    def close(self) -> None:
        self._bus.shutdown()


class PythonCanEndpoint:
    def __init__(self, channel: str) -> None:
        import can
        from can.interfaces.socketcan import SocketcanBus

        bus = can.Bus(channel=channel, interface="socketcan")
        if not isinstance(bus, SocketcanBus):
            raise BenchError(f"python-can gave a {type(bus).__name__}, not a SocketcanBus")
        self._bus = bus
        self.recv = bus.recv
        self._socket = bus.socket
        self._message = can.Message(arbitration_id=FRAME_ID, is_extended_id=False, data=PAYLOAD)

    def recv_batch(self, timeout: float) -> int:
        return 0 if self._bus.recv(timeout) is None else 1

    def send(self) -> None:
        self._bus.send(self._message)

    def send_batch(self) -> None:
        for _ in range(SEND_BATCH):
            self._bus.send(self._message)

    def dropped(self) -> int:
        return meminfo_drops(self._socket)

    def close(self) -> None:
        self._bus.shutdown()


class SocketEndpoint:
    """A blocking CAN_RAW socket: recv(0.0) is one MSG_DONTWAIT recv, a timeout
    is SO_RCVTIMEO; one syscall per frame either way. Its recv is the
    function a user of the socket module would write."""

    def __init__(self, channel: str) -> None:
        self._socket = plain_socket(channel)
        self._timeout = 0.0

    def recv(self, timeout: float) -> object | None:
        try:
            if timeout == 0.0:
                return self._socket.recv(CAN_FRAME.size, socket.MSG_DONTWAIT)
            if timeout != self._timeout:
                self._set_timeout(timeout)
            return self._socket.recv(CAN_FRAME.size)
        except BlockingIOError:
            return None

    def recv_batch(self, timeout: float) -> int:
        return 0 if self.recv(timeout) is None else 1

    def send(self) -> None:
        self._socket.send(PLAIN_FRAME)

    def send_batch(self) -> None:
        send_plain(self._socket, SEND_BATCH)

    def dropped(self) -> int:
        return meminfo_drops(self._socket)

    def close(self) -> None:
        self._socket.close()

    def _set_timeout(self, timeout: float) -> None:
        seconds = int(timeout)
        timeval = TIMEVAL.pack(seconds, int((timeout - seconds) * 1e6))
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        self._timeout = timeout


class StampedSocketEndpoint(SocketEndpoint):
    """The bare loop, receiving what a python-can Message carries besides the
    bytes: the kernel's receive time (SO_TIMESTAMPNS, through recvmsg's
    ancillary data) and the interface it came in on (the source address)."""

    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self._socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    def recv(self, timeout: float) -> object | None:
        try:
            if timeout == 0.0:
                received = self._socket.recvmsg(CAN_FRAME.size, CONTROL_BYTES, socket.MSG_DONTWAIT)
            else:
                if timeout != self._timeout:
                    self._set_timeout(timeout)
                received = self._socket.recvmsg(CAN_FRAME.size, CONTROL_BYTES)
        except BlockingIOError:
            return None
        data, ancillary, _flags, (interface, *_) = received
        seconds, nanoseconds = TIMESPEC.unpack_from(ancillary[0][2])
        return data, seconds + nanoseconds * 1e-9, interface


def plain_socket(channel: str) -> socket.socket:
    sock = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
    sock.bind((channel,))
    return sock


def send_plain(sock: socket.socket, count: int) -> None:
    for _ in range(count):
        sock.send(PLAIN_FRAME)


def meminfo_drops(sock: socket.socket) -> int:
    """The kernel's count of frames dropped on ``sock`` (SO_MEMINFO)."""
    info = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * SK_MEMINFO_VARS)
    return int(struct.unpack(f"{SK_MEMINFO_VARS}I", info)[SK_MEMINFO_DROPS])


def socket_fds() -> set[int]:
    """This process's descriptors that are sockets."""
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                fds.add(int(name))
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return fds


def grow_receive_buffer(fd: int) -> None:
    with socket.socket(fileno=os.dup(fd)) as dup:
        try:
            dup.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
        except PermissionError:
            dup.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)


@dataclass(frozen=True)
class Implementation:
    name: str
    open: Callable[[str], Endpoint]
    batched: bool  # has recv_batch and send_batch; else the batch cases time its loop


IMPLEMENTATIONS = (
    Implementation("native", partial(FerrocanEndpoint, backend="native"), batched=True),
    Implementation("ctypes", partial(FerrocanEndpoint, backend="ctypes"), batched=True),
    Implementation(BASELINE, PythonCanEndpoint, batched=False),
    Implementation(BARE, SocketEndpoint, batched=False),
    Implementation(STAMPED, StampedSocketEndpoint, batched=False),
)


@contextmanager
def opened(impl: Implementation, channel: str) -> Iterator[Endpoint]:
    endpoint = impl.open(channel)
    try:
        yield endpoint
    finally:
        endpoint.close()


@contextmanager
def opened_with_room(impl: Implementation, channel: str) -> Iterator[Endpoint]:
    """A bus whose sockets hold far more frames than the ~250 of the default
    212992-byte receive buffer. The sockets are found in /proc/self/fd, as
    fileno() need not be one (it may be an io_uring or an eventfd)."""
    before = socket_fds()
    with opened(impl, channel) as endpoint:
        for fd in socket_fds() - before:
            grow_receive_buffer(fd)
        yield endpoint


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Rate:
    """Calls or frames per second: the median of ``runs``."""

    per_s: float
    runs: tuple[float, ...]
    note: str = ""  # how it was measured, where not as the case says

    @classmethod
    def of(cls, runs: Sequence[float], note: str) -> Rate:
        return cls(statistics.median(runs), tuple(runs), note)

    @property
    def value(self) -> float:
        return self.per_s

    @property
    def samples(self) -> tuple[float, ...]:
        return self.runs


@dataclass(frozen=True)
class FloodRun:
    sent: int
    received: int
    dropped: int

    @property
    def balanced(self) -> bool:
        return self.sent == self.received + self.dropped


@dataclass(frozen=True)
class Flood:
    """The run with the median received count, and all runs."""

    median: FloodRun
    runs: tuple[FloodRun, ...]
    note: str = ""

    @classmethod
    def of(cls, runs: Sequence[FloodRun], note: str) -> Flood:
        ordered = sorted(runs, key=lambda run: run.received)
        return cls(ordered[len(ordered) // 2], tuple(runs), note)

    @property
    def balanced(self) -> bool:
        """Whether every run accounted for every frame sent."""
        return all(run.balanced for run in self.runs)

    @property
    def value(self) -> float:
        return float(self.median.received)

    @property
    def samples(self) -> tuple[float, ...]:
        return tuple(float(run.received) for run in self.runs)


@dataclass(frozen=True)
class Missing:
    reason: str


Cell = Union[Rate, Flood, Missing]


# ---------------------------------------------------------------- timing


def timed(loop: Callable[[], int]) -> float:
    """The rate of one run of ``loop``, which returns how many calls or frames
    it made: one clock read before it and one after."""
    start = time.perf_counter()
    done = loop()
    return done / (time.perf_counter() - start)


def probe_costs(native: bool, calls: int = 2000) -> dict[str, float]:
    """Microseconds per syscall (getppid) and per clock read, in this kernel;
    with ``native``, per call of a method of the extension that does almost
    nothing: the floor of any call into it."""
    costs = {
        "syscall_us": per_call(os.getppid, calls),
        "clock_read_us": per_call(time.perf_counter, calls),
    }
    if native:
        bus = ferrocan.Bus(IDLE, backend="native")
        try:
            # fileno() reads the bus's lock and returns an int; the public
            # Bus.fileno() would add a Python call around it.
            costs["method_us"] = per_call(bus._socket.fileno, calls)
        finally:
            bus.shutdown()
    return costs


def per_call(function: Callable[[], object], calls: int, loops: int = 5) -> float:
    """Microseconds per call of ``function``: the median of ``loops`` loops of
    ``calls`` calls, so that a moment of noise in the guest does not count."""
    times = []
    for _ in range(loops):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        times.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(times)


def receive_count(count: int, receive: Callable[[], int]) -> int:
    """Calls ``receive``, which returns how many frames it got, until ``count`` came."""
    received = 0
    while received < count:
        got = receive()
        if not got:
            raise BenchError(f"only {received} of {count} frames came")
        received += got
    return received


# ---------------------------------------------------------------- cases: one run each


def recv_empty(impl: Implementation, sizes: Sizes) -> float:
    """(a) recv(0.0) calls/s on an interface nothing is sent on."""

    def loop() -> int:
        for _ in range(sizes.calls):
            if recv(0.0) is not None:
                raise BenchError(f"a frame arrived on {IDLE}, which should be idle")
        return sizes.calls

    with opened(impl, IDLE) as bus:
        recv = bus.recv
        return timed(loop)


def send_recv(impl: Implementation, sizes: Sizes) -> float:
    """(b) frames/s sent by one bus and received by another, one at a time."""

    def loop() -> int:
        for _ in range(sizes.round_trips):
            tx.send()
            if rx.recv(WAIT) is None:
                raise BenchError(f"a frame sent was not received within {WAIT} s")
        return sizes.round_trips

    with opened(impl, TRAFFIC) as tx, opened(impl, TRAFFIC) as rx:
        return timed(loop)


def send_recv_batches(impl: Implementation, sizes: Sizes) -> float:
    """(b2) frames/s sent SEND_BATCH at a time with send_batch and received by
    another bus with recv_batch (benches/raw.rs "batch/send_batch+recv_batch")."""
    rounds = sizes.sent // SEND_BATCH

    def loop() -> int:
        for _ in range(rounds):
            tx.send_batch()
            receive_count(SEND_BATCH, lambda: rx.recv_batch(WAIT))
        return rounds * SEND_BATCH

    with opened(impl, TRAFFIC) as tx, opened_with_room(impl, TRAFFIC) as rx:
        return timed(loop)


def drain(impl: Implementation, sizes: Sizes, *, batched: bool) -> float:
    """(c), (d) frames/s received, with recv or with recv_batch, from a queue
    that a plain socket filled beforehand."""
    with opened_with_room(impl, TRAFFIC) as rx, closing(plain_socket(TRAFFIC)) as filler:
        send_plain(filler, sizes.queued)
        if batched:
            return timed(lambda: receive_count(sizes.queued, lambda: rx.recv_batch(WAIT)))
        return timed(lambda: receive_count(sizes.queued, lambda: int(rx.recv(WAIT) is not None)))


def send_only(impl: Implementation, sizes: Sizes, *, batched: bool) -> float:
    """(e), (e2) frames/s sent with send, or with send_batch, while a plain
    socket listens (as in benches/raw.rs)."""

    def single() -> int:
        for _ in range(sizes.sent):
            tx.send()
        return sizes.sent

    def batches() -> int:
        for _ in range(sizes.sent // SEND_BATCH):
            tx.send_batch()
        return sizes.sent // SEND_BATCH * SEND_BATCH

    with opened(impl, IDLE) as tx, closing(plain_socket(IDLE)):
        return timed(batches if batched else single)


def flood(impl: Implementation, sizes: Sizes, *, batched: bool) -> FloodRun:
    """(f), (f2) another process sends ``sizes.flood`` frames at full speed while
    this one receives with recv, or recv_batch; the kernel counts what it drops."""
    context = multiprocessing.get_context("fork")
    done, report = context.Pipe(duplex=False)
    with opened(impl, TRAFFIC) as rx:
        before = rx.dropped()
        sender = context.Process(target=flood_sender, args=(TRAFFIC, sizes.flood, report))
        sender.start()
        report.close()
        try:
            received = receive_flood(rx, batched, sender, done)
            sent: int = done.recv()
        finally:
            sender.join(WAIT)
            done.close()
        return FloodRun(sent, received, rx.dropped() - before)


def flood_sender(channel: str, count: int, report: Connection) -> None:
    """The sender process: ``count`` frames as fast as the kernel takes them."""
    with closing(plain_socket(channel)) as sock:
        send_plain(sock, count)
    report.send(count)


def receive_flood(rx: Endpoint, batched: bool, sender: BaseProcess, done: Connection) -> int:
    """Frames received until the sender has reported and none is left."""

    def receive() -> int:
        return rx.recv_batch(QUIET) if batched else int(rx.recv(QUIET) is not None)

    deadline = time.monotonic() + FLOOD_DEADLINE
    received = 0
    while True:
        got = receive()
        if got:
            received += got
        elif sender_done(sender, done, deadline):
            break
    # The sender reported after its last frame was queued or dropped: drain the rest.
    while got := receive():
        received += got
    return received


def sender_done(sender: BaseProcess, done: Connection, deadline: float) -> bool:
    """Whether the sender has reported; raises if it died or ran out of time."""
    if done.poll():
        return True
    if not sender.is_alive():
        raise BenchError(f"the sender process died (exit status {sender.exitcode})")
    if time.monotonic() > deadline:
        raise BenchError(f"the sender did not finish within {FLOOD_DEADLINE} s")
    return False


# ---------------------------------------------------------------- the cases, and the Rust floor

Run = TypeVar("Run")


@dataclass(frozen=True)
class Case(Generic[Run]):
    key: str
    title: str
    run: Callable[[Implementation, Sizes], Run]  # one timed run of one implementation
    cell: Callable[[Sequence[Run], str], Cell]  # all its runs, and a note, as a cell
    floor: tuple[str, str] | None = None  # criterion (group, function) in benches/raw.rs
    # The same, receiving through io_uring; None where the case receives nothing.
    floor_io_uring: tuple[str, str] | None = None
    loop: str = ""  # a batch case: what implementations without batch calls loop over

    def note(self, impl: Implementation) -> str:
        return f"{self.loop} loop" if self.loop and not impl.batched else ""

    def floor_key(self, io_uring: bool) -> tuple[str, str] | None:
        """The floor that receives as a bus with (or without) io_uring does."""
        return self.floor_io_uring if io_uring and self.floor_io_uring else self.floor


CASES: tuple[Case[Any], ...] = (
    Case(
        "a",
        "recv(0.0) on an empty bus, calls/s",
        recv_empty,
        Rate.of,
        ("single", "recv(0.0) on an empty bus"),
        ("single", "recv(0.0) on an empty bus, io_uring"),
    ),
    Case(
        "b",
        "send+recv, frames/s",
        send_recv,
        Rate.of,
        ("single", "send+recv"),
        ("single", "send+recv, io_uring"),
    ),
    Case(
        "b2",
        f"send_batch+recv_batch of {SEND_BATCH}, frames/s",
        send_recv_batches,
        Rate.of,
        ("batch", "send_batch+recv_batch"),
        ("batch", "send_batch+recv_batch, io_uring"),
        loop="send/recv",
    ),
    Case(
        "c",
        f"receive a full queue with recv({WAIT}), frames/s",
        partial(drain, batched=False),
        Rate.of,
        ("receive a full queue", "recv"),
        ("receive a full queue", "recv, io_uring"),
    ),
    Case(
        "d",
        "receive a full queue with recv_batch, frames/s",
        partial(drain, batched=True),
        Rate.of,
        ("receive a full queue", "recv_batch"),
        ("receive a full queue", "recv_batch, io_uring"),
        loop="recv",
    ),
    Case("e", "send, frames/s", partial(send_only, batched=False), Rate.of, ("single", "send")),
    Case(
        "e2",
        f"send_batch of {SEND_BATCH}, frames/s",
        partial(send_only, batched=True),
        Rate.of,
        ("batch", "send_batch"),
        loop="send",
    ),
    Case(
        "f",
        "flood from another process, recv: received + dropped = sent",
        partial(flood, batched=False),
        Flood.of,
    ),
    Case(
        "f2",
        "flood from another process, recv_batch: received + dropped = sent",
        partial(flood, batched=True),
        Flood.of,
        loop="recv",
    ),
)


@dataclass(frozen=True)
class Floor:
    """Frames (or calls) per second of each criterion benchmark found."""

    rates: dict[tuple[str, str], float]
    note: str  # where it comes from, or why it is missing or stale
    io_uring: bool  # its receiving benchmarks are those through io_uring

    def key(self, case: Case[Any]) -> tuple[str, str] | None:
        return case.floor_key(self.io_uring)

    def rate(self, case: Case[Any]) -> float | None:
        key = self.key(case)
        return None if key is None else self.rates.get(key)

    @property
    def receives(self) -> str:
        return "through io_uring" if self.io_uring else "directly with recvmmsg"


def criterion_directory() -> Path:
    """Where ``cargo bench`` leaves criterion's results: $CARGO_TARGET_DIR, else
    ``target`` in this source tree."""
    if "CARGO_TARGET_DIR" in os.environ:
        return Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return Path(__file__).resolve().parents[1] / "target" / "criterion"


def read_floor(directory: Path, io_uring: bool) -> Floor:
    """Criterion's median estimates of the benchmarks the cases name, those
    that receive through io_uring or those that receive directly; the
    directory names come from benchmark.json."""
    wanted = {case.floor_key(io_uring) for case in CASES}
    rates: dict[tuple[str, str], float] = {}
    oldest = float("inf")
    for path in directory.glob("**/new/benchmark.json"):
        bench = json.loads(path.read_text())
        key = (bench["group_id"], bench["function_id"])
        if key not in wanted:
            continue
        estimates = path.with_name("estimates.json")
        median_ns = json.loads(estimates.read_text())["median"]["point_estimate"]
        elements = (bench.get("throughput") or {}).get("Elements", 1)
        rates[key] = elements * 1e9 / median_ns
        oldest = min(oldest, estimates.stat().st_mtime)
    return Floor(rates, floor_note(directory, rates, oldest), io_uring)


def native_io_uring() -> bool | None:
    """Whether a native bus receives through io_uring here; None without the
    native backend."""
    try:
        bus = ferrocan.Bus(IDLE, backend="native")
    except Exception:  # no native backend, or no vcan: the cases say so
        return None
    try:
        return bool(bus._socket.io_uring)
    finally:
        bus.shutdown()


def floor_note(directory: Path, rates: dict[tuple[str, str], float], oldest: float) -> str:
    if not rates:
        return (
            f"no Rust floor: no criterion results in {directory}; run `cargo bench --bench raw` "
            "first (on the host: cargo runs the bench through tools/vcan-run)"
        )
    built = native_build_time()
    if built is not None and oldest < built:
        return (
            "the Rust floor is older than the native build: rerun `cargo bench --bench raw`; "
            "and it comes from another boot, so its ratios are rougher than the others"
        )
    return (
        f"the Rust floor is criterion's result of {iso_time(oldest)} (tools/bench: the same guest)"
    )


def native_build_time() -> float | None:
    try:
        import ferrocan._native as native
    except ImportError:
        return None
    return Path(native.__file__).stat().st_mtime


# ---------------------------------------------------------------- running


Results = dict[str, dict[str, Cell]]


def run_cases(impls: Sequence[Implementation], sizes: Sizes, repeat: int) -> Results:
    return {case.key: run_case(case, impls, sizes, repeat) for case in CASES}


def run_case(
    case: Case[Any], impls: Sequence[Implementation], sizes: Sizes, repeat: int
) -> dict[str, Cell]:
    """``repeat`` rounds of one run per implementation, interleaved so that a
    change in the cost of a syscall hits every implementation alike."""
    runs: dict[str, list[Any]] = {impl.name: [] for impl in impls}
    failed: dict[str, Cell] = {}
    start = time.monotonic()
    for round_ in range(repeat):
        for impl in rotated(impls, round_):
            if impl.name in failed:
                continue
            try:
                runs[impl.name].append(case.run(impl, sizes))
            except Exception as error:  # any failure makes an n/a cell, not a crash
                failed[impl.name] = Missing(describe(error))
    cells = {
        impl.name: failed.get(impl.name) or case.cell(runs[impl.name], case.note(impl))
        for impl in impls
    }
    texts = "; ".join(f"{name} {cell_text(cell)}" for name, cell in cells.items())
    print(f"({case.key}) {texts} [{time.monotonic() - start:.1f} s]", file=sys.stderr, flush=True)
    return cells


def rotated(impls: Sequence[Implementation], shift: int) -> list[Implementation]:
    """Each round starts with the next implementation: none always runs first."""
    shift %= len(impls)
    return [*impls[shift:], *impls[:shift]]


def describe(error: Exception) -> str:
    if isinstance(error, AttributeError) and error.name:
        return f"no {error.name}"
    return f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------- output


def si(value: float) -> str:
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def times(factor: float) -> str:
    return f"{factor:.0f}x" if factor >= 100 else f"{factor:.3g}x"


def ratio(cell: Cell, base: Cell | None) -> float | None:
    """The median of the ratios round by round: a round runs every
    implementation back to back, so a swing in the cost of a syscall cancels out."""
    if isinstance(cell, Missing) or base is None or isinstance(base, Missing):
        return None
    ratios = [mine / theirs for mine, theirs in zip(cell.samples, base.samples) if theirs]
    return statistics.median(ratios) if ratios else None


def cell_text(
    cell: Cell, base: Cell | None = None, floor: float | None = None, bare: Cell | None = None
) -> str:
    if isinstance(cell, Missing):
        return f"n/a ({cell.reason})"
    if isinstance(cell, Rate):
        text = f"{si(cell.per_s)}/s"
    else:
        run = cell.median
        check = "ok" if cell.balanced else "MISMATCH"
        text = f"{run.received} + {run.dropped} = {run.sent} {check}"
    vs_base = ratio(cell, base)
    if vs_base is not None:
        text += f" {times(vs_base)}"
    if floor is not None:
        text += f", {times(cell.value / floor)} floor"
    if (vs_bare := ratio(cell, bare)) is not None and isinstance(cell, Rate):
        text += f", {times(vs_bare)} {BARE}"
    return f"{text} ({cell.note})" if cell.note else text


def floor_text(case: Case[Any], floor: Floor) -> str:
    if floor.key(case) is None:
        return "-"
    rate = floor.rate(case)
    return "n/a (no criterion result)" if rate is None else f"{si(rate)}/s"


def table(impls: Sequence[Implementation], results: Results, floor: Floor) -> str:
    names = [impl.name for impl in impls]
    lines = [
        "| case | rust floor | " + " | ".join(names) + " |",
        "|---" * (len(names) + 2) + "|",
    ]
    for case in CASES:
        row = results[case.key]
        base = row.get(BASELINE)
        cells = [
            cell_text(
                row[name],
                None if name == BASELINE else base,
                floor.rate(case) if name == "native" else None,
                row.get(BARE) if name == "native" else None,
            )
            for name in names
        ]
        lines.append(
            f"| ({case.key}) {case.title} | {floor_text(case, floor)} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def environment(impls: Sequence[Implementation], repeat: int, sizes: Sizes) -> dict[str, Any]:
    try:
        import can

        python_can: str | None = can.__version__
    except ImportError:
        python_can = None
    built = native_build_time()
    return {
        "date": iso_time(time.time()),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "ferrocan": ferrocan.__version__,
        "ferrocan_default_backend": ferrocan.backend,
        "ferrocan_native_built": None if built is None else iso_time(built),
        "implementations": [impl.name for impl in impls],
        "python_can": python_can,
        "repeat": repeat,
        "sizes": asdict(sizes),
        "send_batch": SEND_BATCH,
        "recv_batch_max": RECV_MAX,
    }


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def summary(env: dict[str, Any], floor: Floor) -> str:
    start, end = env["costs_us"]["start"], env["costs_us"]["end"]
    return "\n".join(
        [
            f"{env['date']}: kernel {env['kernel']}, {env['cpus']} CPU, {env['python']}, "
            f"ferrocan {env['ferrocan']} (native built {env['ferrocan_native_built']}), "
            f"python-can {env['python_can']}",
            f"repeat {env['repeat']}, sizes {env['sizes']}",
            f"in this kernel a syscall costs {start['syscall_us']:.2g} us at the start, "
            f"{end['syscall_us']:.2g} us at the end; a clock read {start['clock_read_us']:.2g} "
            f"and {end['clock_read_us']:.2g} us",
            *load_warning(start["syscall_us"], end["syscall_us"]),
            *method_lines(env),
            f"note: {floor.note}",
            f"the Rust floor receives {floor.receives}, as the native backend does here",
            "cells: rate, then its ratio to python-can (median of per-round ratios); native "
            "also its ratio to the Rust floor and (per round) to the bare socket loop; (f): "
            "received + dropped = sent, in the median run",
        ]
    )


def empty_poll_vs_method(results: Results, costs: dict[str, dict[str, float]]) -> float | None:
    """Native's recv(0.0) on an empty bus, in calls of a method that does
    almost nothing (the mean of its cost at the start and the end)."""
    cell = results["a"].get("native")
    if not isinstance(cell, Rate):
        return None
    method_us = (costs["start"]["method_us"] + costs["end"]["method_us"]) / 2
    return 1e6 / cell.per_s / method_us


def method_lines(env: dict[str, Any]) -> list[str]:
    start, end = env["costs_us"]["start"], env["costs_us"]["end"]
    if "method_us" not in start:
        return []
    lines = [
        f"a call of native fileno(), which does almost nothing, costs {start['method_us']:.2g} "
        f"us at the start and {end['method_us']:.2g} us at the end"
    ]
    if env.get("empty_poll_vs_method") is not None:
        lines.append(
            f"native recv(0.0) on an empty bus costs {env['empty_poll_vs_method']:.2f}x that"
        )
    return lines


def load_warning(start_us: float, end_us: float) -> list[str]:
    """A warning when a syscall cost much more at one end of the run than the other."""
    if max(start_us, end_us) < 1.5 * min(start_us, end_us):
        return []
    return [
        "warning: the cost of a syscall changed during the run, so rates of different cases "
        "do not compare; ratios within a case do (they are paired round by round). Under "
        "UML, `taskset -c 0 tools/vcan-run ...` keeps it steady."
    ]


def cell_json(
    cell: Cell, base: Cell | None, floor: float | None, bare: Cell | None
) -> dict[str, Any]:
    if isinstance(cell, Missing):
        return {"na": cell.reason}
    data = asdict(cell)
    data["vs_python_can"] = ratio(cell, base)
    data["vs_floor"] = None if floor is None else cell.value / floor
    data["vs_socket"] = ratio(cell, bare)
    if isinstance(cell, Flood):
        data["balanced"] = cell.balanced
    return data


def report(env: dict[str, Any], floor: Floor, results: Results) -> dict[str, Any]:
    cases = {}
    for case in CASES:
        row = results[case.key]
        rate = floor.rate(case)
        key = floor.key(case)
        cases[case.key] = {
            "title": case.title,
            "floor_benchmark": None if key is None else "/".join(key),
            "floor_per_s": rate,
            "results": {
                name: cell_json(
                    cell,
                    row.get(BASELINE),
                    rate if name == "native" else None,
                    row.get(BARE) if name == "native" else None,
                )
                for name, cell in row.items()
            },
        }
    floor_json = {"/".join(key): rate for key, rate in floor.rates.items()}
    return {
        **env,
        "floor_note": floor.note,
        "floor_receives": floor.receives,
        "floor_per_s": floor_json,
        "cases": cases,
    }


def load_pyplot() -> ModuleType:
    """matplotlib's pyplot, or a ValueError saying how to install it."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise ValueError("--png needs matplotlib; install it: pip install matplotlib") from None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def write_png(
    pyplot: ModuleType, path: Path, impls: Sequence[Implementation], results: Results, floor: Floor
) -> None:
    """One bar per implementation (and the Rust floor) and timed case: the
    microseconds each call or frame took, on a log scale."""
    cases = [case for case in CASES if case.cell == Rate.of]
    names = ["rust floor", *(impl.name for impl in impls)]
    times = {name: [microseconds(case, name, results, floor) for case in cases] for name in names}
    columns = [name for name in names if any(math.isfinite(value) for value in times[name])]
    figure, axes = pyplot.subplots(figsize=(12, 5.5))
    axes.set_yscale("log")
    width = 0.8 / max(len(columns), 1)
    for index, name in enumerate(columns):
        values = times[name]
        bars = axes.bar([x + index * width for x in range(len(cases))], values, width, label=name)
        labels = [f"{value:.3g}" if math.isfinite(value) else "" for value in values]
        axes.bar_label(bars, labels=labels, fontsize=6)
    axes.set_xticks([x + width * (len(columns) - 1) / 2 for x in range(len(cases))])
    axes.set_xticklabels([f"({case.key}) {case.title.split(',')[0]}" for case in cases], fontsize=7)
    axes.tick_params(axis="x", labelrotation=12)
    axes.set_ylabel("microseconds per call or frame (log scale; lower is better)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def microseconds(case: Case[Any], name: str, results: Results, floor: Floor) -> float:
    """What one call or frame of ``case`` took, in us; NaN where not measured."""
    rate = floor.rate(case) if name == "rust floor" else None
    cell = results[case.key].get(name)
    if isinstance(cell, Rate):
        rate = cell.per_s
    return 1e6 / rate if rate else float("nan")


# ---------------------------------------------------------------- command line


def implementation_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = [impl.name for impl in IMPLEMENTATIONS]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {','.join(known)}; got {text!r}")
    return names


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repeat", type=positive, help="runs per cell, the median shown (default 5; --quick: 3)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer frames: a smoke run, < 30 s")
    parser.add_argument(
        "--only",
        type=implementation_list,
        default=[impl.name for impl in IMPLEMENTATIONS],
        help="comma-separated implementations (default: all: native,ctypes,python-can,socket,"
        "socket+time)",
    )
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    parser.add_argument("--png", type=Path, help="write a bar chart of times (needs matplotlib)")


def prepare(args: argparse.Namespace) -> ModuleType | None:
    """Completes ``args`` and checks, before anything runs, what the run
    needs; returns matplotlib's pyplot for --png. Raises ValueError."""
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if BASELINE in args.only and importlib.util.find_spec("can") is None:
        others = ",".join(name for name in args.only if name != BASELINE) or "native"
        raise ValueError(
            f"{BASELINE} is not installed: pip install 'ferrocan[python-can]', "
            f"or leave it out: --only {others}"
        )
    return load_pyplot() if args.png else None


def run(args: argparse.Namespace, pyplot: ModuleType | None) -> int:
    """Runs the benchmark that ``args`` (completed by ``prepare``) describes."""
    sizes = QUICK if args.quick else FULL
    impls = [impl for impl in IMPLEMENTATIONS if impl.name in args.only]
    io_uring = native_io_uring() if "native" in args.only else None
    # Without a native bus to ask, the floor receives as the native default would.
    floor = read_floor(criterion_directory(), io_uring is not False)
    env = environment(impls, args.repeat, sizes)
    native = "native" in args.only
    start = probe_costs(native)
    results = run_cases(impls, sizes, args.repeat)
    env["costs_us"] = {"start": start, "end": probe_costs(native)}
    if native:
        env["empty_poll_vs_method"] = empty_poll_vs_method(results, env["costs_us"])
    print(summary(env, floor), table(impls, results, floor), sep="\n\n")
    if args.json:
        args.json.write_text(json.dumps(report(env, floor, results), indent=2) + "\n")
    if pyplot is not None:
        write_png(pyplot, args.png, impls, results, floor)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        pyplot = prepare(args)
    except ValueError as error:
        parser.error(str(error))
    return run(args, pyplot)


if __name__ == "__main__":
    raise SystemExit(main())
