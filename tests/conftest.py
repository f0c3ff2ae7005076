"""Fixtures shared by the suite. Every test that touches a socket runs on a
real kernel with vcan0 and vcan1 up: start pytest through tools/vcan-run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from ferrocan import CanInitializationError
from ferrocan._backend import native_available

from .support import (
    BACKENDS,
    BusFactory,
    has_vcan,
    limit_queue,
    link,
    open_buses,
    set_mtu,
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each behavioural test runs once per backend, on a real kernel."""
    if not has_vcan():
        pytest.fail("vcan0 is missing: run the tests through tools/vcan-run (see README.md)")
    if request.param.startswith("native") and not native_available():
        pytest.fail("the native module is not built: run tools/setup")
    return str(request.param)


@pytest.fixture
def make_bus(backend: str) -> Iterator[BusFactory]:
    """Opens buses on the backend under test and shuts them all down after."""
    with open_buses(backend) as (make, _):
        yield make


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


@pytest.fixture
def slow_vcan() -> Iterator[Callable[..., str]]:
    """A vcan whose transmit queue fills up, as a real controller's does
    (see limit_queue). Returns a function that sets it up."""
    name = "vcanq"

    def make(rate: str = "8kbit", burst: str = "1600", limit: str = "1") -> str:
        link.add_vcan(name)  # netlink, not ip(8): a process costs ~0.1 s in UML
        link.up(name)
        limit_queue(name, rate, burst, limit)
        return name

    yield make
    with contextlib.suppress(CanInitializationError):  # never made, or deleted by the test
        link.delete(name)
