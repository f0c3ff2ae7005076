"""Helpers the tests share: which backends run, opening buses on them, the
kernel's version, external commands, and the kernel's input backlog. The
fixtures built on them are in conftest.py."""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import ferrocan
from ferrocan._backend import native_available

if native_available():
    from ferrocan import link
else:  # the pure wheel: the same calls through ip(8)
    from . import iplink as link  # type: ignore[no-redef]

#: The backends under test; "native-direct" is the native backend without
#: io_uring (one recvmmsg per empty poll, as ctypes reads).
BACKENDS = ["native", "native-direct", "ctypes"]
#: Frames sent before waiting for the input backlog (which holds
#: net.core.netdev_max_backlog, 1000) to empty.
BACKLOG_CHUNK = 500


def has_vcan() -> bool:
    try:
        with open("/sys/class/net/vcan0/type") as f:
            return f.read().strip() == "280"  # ARPHRD_CAN
    except OSError:
        return False


BusFactory = Callable[..., ferrocan.Bus]


def bus_arguments(backend: str) -> dict[str, Any]:
    """The Bus keywords that select ``backend``, one of BACKENDS."""
    name, _, mode = backend.partition("-")
    return {"backend": name, "io_uring": False} if mode == "direct" else {"backend": name}


@contextmanager
def open_buses(backend: str) -> Iterator[tuple[BusFactory, list[ferrocan.Bus]]]:
    """A function that opens buses on ``backend`` (one of BACKENDS), and the
    list of those it opened; all are shut down at the end. The function's
    own keywords win over the backend's (``io_uring=`` on native-direct)."""
    buses: list[ferrocan.Bus] = []

    def make(channel: Any = "vcan0", **kwargs: Any) -> ferrocan.Bus:
        bus = ferrocan.Bus(channel, **{**bus_arguments(backend), **kwargs})
        buses.append(bus)
        return bus

    try:
        yield make, buses
    finally:
        for bus in buses:
            bus.shutdown()


#: The machines (``uname -m``) whose native build has io_uring: those the
#: io-uring crate has kernel bindings for (build.rs).
IO_URING_MACHINES = frozenset({"x86_64", "aarch64", "riscv64", "loongarch64", "ppc64", "ppc64le"})


def kernel_release() -> tuple[int, int]:
    """The running kernel's major and minor version."""
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int(minor)


def run(*command: str, timeout: float = 10.0) -> str:
    """Runs a can-utils (or other) command and returns its stdout."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    return done.stdout


def set_mtu(name: str, mtu: int) -> None:
    """Sets an interface's MTU, which the kernel changes only while it is down.
    Through ferrocan.link.set (netlink, in-process: a few ms, where each ip(8)
    process costs a tenth of a second in UML), or ip(8) on the pure wheel."""
    if link.show(name).mtu != mtu:
        if native_available():
            link.set(name, mtu=mtu)  # takes it down and back up
        else:
            run("ip", "link", "set", name, "down")
            run("ip", "link", "set", name, "mtu", str(mtu))
        link.up(name)


def limit_queue(name: str, rate: str = "8kbit", burst: str = "1600", limit: str = "1") -> None:
    """Gives interface ``name`` the transmit queue of a real controller: a
    token-bucket qdisc takes ``rate`` and queues at most ``limit`` bytes;
    past that the kernel answers ENOBUFS (the default takes no frame)."""
    tbf = ("tbf", "rate", rate, "burst", burst, "limit", limit)
    run("tc", "qdisc", "add", "dev", name, "root", *tbf)


NETDEV_MAX_BACKLOG = "/proc/sys/net/core/netdev_max_backlog"


@contextmanager
def roomy_backlog(frames: int) -> Iterator[None]:
    """vcan hands every frame through the kernel's per-CPU input backlog
    (net.core.netdev_max_backlog, 1000), which drops frames before any socket
    sees them (counting them only in the interface's rx_dropped) when senders
    outrun the softirq that empties it. Gives it room for ``frames``."""
    with open(NETDEV_MAX_BACKLOG) as f:
        before = f.read()
    with open(NETDEV_MAX_BACKLOG, "w") as f:
        f.write(str(max(frames, int(before))))
    try:
        yield
    finally:
        with open(NETDEV_MAX_BACKLOG, "w") as f:
            f.write(before)


def send_through_backlog(sender: ferrocan.Bus, frames: list[ferrocan.Message]) -> None:
    """Sends ``frames`` in chunks the input backlog holds, each left to empty
    first: every frame then reaches the receiving sockets, or is dropped and
    counted there, and none is lost before them."""
    for start in range(0, len(frames), BACKLOG_CHUNK):
        chunk = frames[start : start + BACKLOG_CHUNK]
        assert sender.send_batch(chunk) == len(chunk)
        wait_for_backlog()


def wait_for_backlog(timeout: float = 5.0) -> None:
    """Returns once every frame sent so far has left the input backlog, that
    is, reached the sockets (or been dropped there). The softirq that empties
    it may run later than the send, as ksoftirqd, and then concurrently with a
    reader: a test about what a full socket buffer does waits for it first."""
    deadline = time.monotonic() + timeout
    while backlog_length() > 0:
        assert time.monotonic() < deadline, f"the input backlog is not empty after {timeout} s"
        time.sleep(0.001)


def backlog_length() -> int:
    """Frames in every CPU's input backlog (/proc/net/softnet_stat's
    twelfth column, on Linux 5.10 and later)."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[11], 16) for line in f)


def frame_fields(msg: Any) -> tuple[object, ...]:
    """What a frame is, for a ferrocan or python-can message: everything but
    its time, channel and direction (the data as hex, to read in a failure)."""
    return (
        msg.arbitration_id,
        msg.is_extended_id,
        msg.is_remote_frame,
        msg.is_error_frame,
        msg.is_fd,
        msg.bitrate_switch,
        msg.error_state_indicator,
        msg.dlc,
        msg.data.hex(),
    )


#: The kernel's CAN XL constants (linux/can.h, linux/can/raw.h), which
#: Python's socket module does not name.
PF_CAN = 29
SOL_CAN_RAW = 101
CAN_RAW = 1
CAN_RAW_FD_FRAMES = 5
CAN_RAW_XL_FRAMES = 7
CAN_RAW_XL_VCID_OPTS = 8
CAN_RAW_XL_VCID_TX_PASS = 0x02
CAN_RAW_XL_VCID_RX_FILTER = 0x04
CANXL_XLF = 0x80
CANXL_SEC = 0x01
CANXL_HDR = "=IBBHI"  # prio (with the VCID in bits 16..23), flags, sdt, len, af
CANXL_MTU = 2060


def has_xl() -> bool:
    """Whether the kernel has CAN XL: whether a CAN_RAW socket takes
    CAN_RAW_XL_FRAMES (Linux 6.2, and backported to some older stable
    kernels: Debian's 6.1.176 has it)."""
    return _takes_option(CAN_RAW_XL_FRAMES, struct.pack("i", 1))


def has_vcid() -> bool:
    """Whether the kernel has CAN XL's VCID options (CAN_RAW_XL_VCID_OPTS,
    Linux 6.9)."""
    return _takes_option(CAN_RAW_XL_VCID_OPTS, bytes(4))


_LIBC = ctypes.CDLL(None, use_errno=True)


def _takes_option(option: int, value: bytes) -> bool:
    """Asked of libc, not of the socket module, whose AF_CAN PyPy lacks."""
    probe = _LIBC.socket(PF_CAN, socket.SOCK_RAW, CAN_RAW)
    if probe < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    try:
        if _LIBC.setsockopt(probe, SOL_CAN_RAW, option, value, len(value)) == 0:
            return True
        if ctypes.get_errno() == errno.ENOPROTOOPT:
            return False
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    finally:
        _LIBC.close(probe)


def xl_peer(channel: str) -> socket.socket:
    """Python's own CAN_RAW socket reading and writing CAN XL frames: an
    independent peer. Where the kernel has VCID options it passes each
    frame's VCID on send and receives every VCID (without them the kernel
    clears the VCID on send and drops frames whose VCID is not 0)."""
    peer = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
    peer.setsockopt(SOL_CAN_RAW, CAN_RAW_FD_FRAMES, 1)
    peer.setsockopt(SOL_CAN_RAW, CAN_RAW_XL_FRAMES, 1)
    if has_vcid():
        flags = CAN_RAW_XL_VCID_TX_PASS | CAN_RAW_XL_VCID_RX_FILTER
        peer.setsockopt(SOL_CAN_RAW, CAN_RAW_XL_VCID_OPTS, struct.pack("BBBB", flags, 0, 0, 0))
    peer.bind((channel,))
    peer.settimeout(2.0)
    return peer


class XlRecord(NamedTuple):
    """A struct canxl_frame as its fields."""

    prio: int
    vcid: int
    flags: int
    sdt: int
    af: int
    data: bytes


def pack_xl(
    prio: int, data: bytes, *, sdt: int = 0, af: int = 0, sec: bool = False, vcid: int = 0
) -> bytes:
    """A struct canxl_frame as the kernel reads it: the header and the data."""
    flags = CANXL_XLF | (CANXL_SEC if sec else 0)
    return struct.pack(CANXL_HDR, prio | vcid << 16, flags, sdt, len(data), af) + data


def unpack_xl(record: bytes) -> XlRecord:
    """A struct canxl_frame read from a socket; its length must be what the
    header says."""
    prio, flags, sdt, length, af = struct.unpack_from(CANXL_HDR, record)
    assert flags & CANXL_XLF, f"not a CAN XL frame: {record[:16].hex()}"
    assert len(record) == struct.calcsize(CANXL_HDR) + length, (len(record), length)
    return XlRecord(prio & 0x7FF, prio >> 16 & 0xFF, flags, sdt, af, record[12:])


def xl_frame_fields(msg: Any) -> tuple[object, ...]:
    """frame_fields and a message's CAN XL fields (their defaults for a
    message without them, as python-can's)."""
    xl = (
        getattr(msg, "is_xl", False),
        getattr(msg, "sdu_type", 0),
        getattr(msg, "acceptance_field", 0),
        getattr(msg, "simple_extended_content", False),
        getattr(msg, "vcid", 0),
    )
    return (*frame_fields(msg), *xl)


@contextmanager
def at_xl_mtu(name: str) -> Iterator[bool]:
    """Interface ``name`` at CANXL_MTU while the block runs, where the kernel
    has CAN XL (kernels before 6.10 make vcans at 72); yields whether it has."""
    before = link.show(name).mtu
    xl = has_xl()
    if xl:
        set_mtu(name, CANXL_MTU)
    try:
        yield xl
    finally:
        set_mtu(name, before)


#: What Bus(xl=True) raises on a kernel without CAN XL, before the release.
REFUSED_XL = "CAN XL needs Linux 6.2 or later (CAN_RAW_XL_FRAMES); this kernel is "
