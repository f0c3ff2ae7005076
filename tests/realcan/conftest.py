"""The real-controller tier: two SJA1000 CAN controllers (QEMU's Kvaser PCI
emulation), can0 and can1, on one CAN bus, driven by Debian's kernel drivers.

Run it through tools/can-run, which boots that VM (about 20 s without KVM):

    tools/can-run .venv/bin/python -m pytest tests/realcan -q -p no:cacheprovider

How it stays out of the vcan run: pytest's ``testpaths`` is ``tests``, so
the plain ``tools/vcan-run .venv/bin/python -m pytest`` reaches this directory
too; ``pytest_ignore_collect`` below leaves its modules out unless
CAN_RUN_GUEST is set (tools/can-run sets it inside the VM) or the command
line names this directory or a file in it. Named outside the VM, the tests
are collected and fail (never skip): "can0 is missing: run ... tools/can-run".

What QEMU 7.2's SJA1000 emulation does (hw/net/can/can_sja1000.c), and so
what this tier can test:
  - real: bit timing (bitrate, sample point, the 8 MHz clock), restart-ms,
    the controller state (STOPPED when down, ERROR-ACTIVE when up), the
    driver's transmit flow control (one frame in the controller, txqueuelen
    10 in the qdisc, ENOBUFS past that), per-interface statistics, and the
    kernel's refusal of a manual restart outside bus-off (EBUSY; EINVAL with
    restart-ms set).
  - not emulated: bus timing (frames take no time on the wire), ACK (a frame
    sent with can1 down completes at once), bit errors, error counters (the
    TXERR/RXERR registers read 0, so berr-counter stays 0/0), error-warning,
    error-passive and bus-off. bus-off, and so a successful restart, cannot
    be provoked.
  - an emulation artefact that produces real error frames: with no bus
    timing, a burst from can0 overruns can1's 64-byte receive FIFO, and the
    driver reports CAN_ERR_CRTL_RX_OVERFLOW. Tests that need every frame
    pace their sends (one frame, then wait for it on can1).
  - a full transmit queue: a frame stays in a real controller until it is
    acknowledged; here transmission completes at once, so ``frozen_tx``
    masks can0's PCI interrupt (INTx Disable): its transmit-complete
    interrupt never arrives, the driver keeps its queue stopped, and the
    qdisc fills, as on a bus where nobody acknowledges.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ferrocan._backend import native_available

from ..collection import named_on_command_line
from .support import BITRATE, bring_up, ip, set_intx_disabled

HERE = Path(__file__).resolve().parent
CONTROLLERS = ("can0", "can1")
#: The backends under test: the Rust core and the pure-Python one.
BACKENDS = ["native", "ctypes"]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leaves this directory's modules out of runs that are not for it."""
    if os.environ.get("CAN_RUN_GUEST") or named_on_command_line(config, HERE):
        return None
    return True


#: ``ip link set ... type can`` words that switch off every mode the
#: SJA1000 has (a test that sets one leaves it for the next otherwise).
MODES_OFF = [
    word
    for mode in (
        "loopback",
        "listen-only",
        "triple-sampling",
        "one-shot",
        "berr-reporting",
        "presume-ack",
        "cc-len8-dlc",
    )
    for word in (mode, "off")
]


@pytest.fixture
def controllers() -> Iterator[tuple[str, str]]:
    """can0 and can1 at 500 kbit/s, restart-ms 0, no control modes,
    txqueuelen 10, up, with fresh queues; both down again after the test."""
    missing = [name for name in CONTROLLERS if not Path(f"/sys/class/net/{name}").exists()]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        pytest.fail(
            f"{' and '.join(missing)} {verb} missing: run this tier through tools/can-run "
            "(tools/can-run .venv/bin/python -m pytest tests/realcan -p no:cacheprovider)"
        )
    for name in CONTROLLERS:
        set_intx_disabled(name, False)
        ip("link", "set", name, "down")
        ip("link", "set", name, "txqueuelen", "10")
        ip(
            "link",
            "set",
            name,
            "type",
            "can",
            "bitrate",
            str(BITRATE),
            "restart-ms",
            "0",
            *MODES_OFF,
        )
        bring_up(name)
    yield CONTROLLERS
    for name in CONTROLLERS:
        set_intx_disabled(name, False)
        ip("link", "set", name, "down")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each bus test runs on both backends."""
    if request.param == "native" and not native_available():
        pytest.fail("the native module is not built: run tools/setup")
    return str(request.param)
