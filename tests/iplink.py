"""What the tests use of ``ferrocan.link``, done with ip(8) and sysfs instead,
for where ``ferrocan.link`` is missing: the pure wheel has no native module,
so on it (CPython 3.9, PyPy) the fixtures that make, change and delete
interfaces use this. tests/support.py picks one or the other as ``link``.
Only the tests' needs: add, up, down, delete, and show's mtu, up and
rx_dropped. Errors are ``CanInitializationError``, as ``ferrocan.link``'s."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ferrocan import CanInitializationError

#: How long up() waits for the kernel to activate an interface.
ACTIVATION_TIMEOUT = 5.0
SYSFS = Path("/sys/class/net")
IFF_UP = 0x1


@dataclass(frozen=True)
class Statistics:
    rx_dropped: int


@dataclass(frozen=True)
class Info:
    mtu: int
    up: bool
    statistics: Statistics


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if done.returncode:
        raise CanInitializationError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _read(name: str, attribute: str) -> str:
    try:
        return (SYSFS / name / attribute).read_text().strip()
    except OSError as error:
        raise CanInitializationError(f"cannot read {attribute} of {name!r}: {error}") from None


def add_vcan(name: str) -> None:
    _ip("link", "add", "dev", name, "type", "vcan")


def add_vxcan(name: str, peer: str) -> None:
    _ip("link", "add", "dev", name, "type", "vxcan", "peer", "name", peer)


def delete(name: str) -> None:
    _ip("link", "del", "dev", name)


def down(name: str) -> None:
    _ip("link", "set", "dev", name, "down")


def _activated(name: str) -> bool:
    """Whether the kernel carries frames on ``name``, as ferrocan.link.up
    decides it: one whose carrier came up is active once its operstate is
    up (the kernel handles the carrier event asynchronously); one whose
    carrier never changed (vcan) or that has none is as active as it gets."""
    if not int(_read(name, "flags"), 16) & IFF_UP or _read(name, "carrier") != "1":
        return True
    return _read(name, "carrier_up_count") == "0" or _read(name, "operstate") == "up"


def up(name: str) -> None:
    """Brings ``name`` up and returns once the kernel carries frames on it."""
    _ip("link", "set", "dev", name, "up")
    deadline = time.monotonic() + ACTIVATION_TIMEOUT
    while not _activated(name):
        if time.monotonic() > deadline:
            raise CanInitializationError(f"{name!r} was not activated in {ACTIVATION_TIMEOUT} s")
        time.sleep(0.001)


def show(name: str) -> Info:
    return Info(
        mtu=int(_read(name, "mtu")),
        up=bool(int(_read(name, "flags"), 16) & IFF_UP),
        statistics=Statistics(rx_dropped=int(_read(name, "statistics/rx_dropped"))),
    )
