"""Helpers the tests share: which backends run, opening buses on them, the
kernel's version, external commands, and the kernel's input backlog. The
fixtures built on them are in conftest.py."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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
    Through ip, not link.set: restoring 2060 is outside what link.set takes."""
    if link.show(name).mtu != mtu:
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
