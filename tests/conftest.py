"""Fixtures shared by the suite. Every test that touches a socket runs on a
real kernel with vcan0 and vcan1 up: start pytest through tools/vcan-run."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ferrocan
import pytest
from ferrocan import link
from ferrocan._backend import native_available

#: The backends under test; "native-direct" is the native backend without
#: io_uring (one recvmmsg per empty poll, as ctypes reads).
BACKENDS = ["native", "native-direct", "ctypes"]
#: Frames sent before waiting for the input backlog (which holds
#: net.core.netdev_max_backlog, 1000) to empty.
BACKLOG_CHUNK = 500


def _has_vcan() -> bool:
    try:
        with open("/sys/class/net/vcan0/type") as f:
            return f.read().strip() == "280"  # ARPHRD_CAN
    except OSError:
        return False


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each behavioural test runs once per backend, on a real kernel."""
    if not _has_vcan():
        pytest.fail("vcan0 is missing: run the tests through tools/vcan-run (see README.md)")
    if request.param.startswith("native") and not native_available():
        pytest.fail("the native module is not built: run tools/setup")
    return str(request.param)


BusFactory = Callable[..., ferrocan.Bus]


def bus_arguments(backend: str) -> dict[str, Any]:
    """The Bus keywords that select ``backend``, one of BACKENDS."""
    name, _, mode = backend.partition("-")
    return {"backend": name, "io_uring": False} if mode == "direct" else {"backend": name}


@pytest.fixture
def make_bus(backend: str) -> Iterator[BusFactory]:
    """Opens buses on the backend under test and shuts them all down after."""
    buses: list[ferrocan.Bus] = []

    def make(channel: str = "vcan0", **kwargs: Any) -> ferrocan.Bus:
        bus = ferrocan.Bus(channel, **bus_arguments(backend), **kwargs)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.shutdown()


def kernel_release() -> tuple[int, int]:
    """The running kernel's major and minor version."""
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int(minor)


def run(*command: str, timeout: float = 10.0) -> str:
    """Runs a can-utils (or other) command and returns its stdout."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    return done.stdout


@pytest.fixture
def vxcan_pair() -> Iterator[tuple[str, str]]:
    """A vxcan tunnel: what one end sends, the other receives as from a peer."""
    near, far = "vxcanA", "vxcanB"
    link.add_vxcan(near, far)
    try:
        for name in (near, far):
            link.up(name)  # returns once frames flow; `ip link set up` does not wait
        yield near, far
    finally:
        link.delete(near)


@pytest.fixture
def mtu72() -> Iterator[None]:
    """vcan0 and vcan1 at MTU 72 (CANFD_MTU) during the test, then as they
    were. Debian 12's cansend (can-utils 2020.11) sends CAN FD only where the
    MTU is exactly 72, and newer kernels create vcans at 2060 (CANXL_MTU)."""
    before = {name: link.show(name).mtu for name in ("vcan0", "vcan1")}
    for name in before:
        set_mtu(name, 72)
    yield
    for name, mtu in before.items():
        set_mtu(name, mtu)


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


@pytest.fixture
def slow_vcan() -> Iterator[Callable[..., str]]:
    """A vcan whose transmit queue fills up, as a real controller's does
    (see limit_queue). Returns a function that sets it up."""
    name = "vcanq"

    def make(rate: str = "8kbit", burst: str = "1600", limit: str = "1") -> str:
        run("ip", "link", "add", "dev", name, "type", "vcan")
        run("ip", "link", "set", name, "up")
        limit_queue(name, rate, burst, limit)
        return name

    yield make
    subprocess.run(["ip", "link", "del", name], capture_output=True)


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
