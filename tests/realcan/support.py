"""Helpers the real-controller tests share: ``ip``, waiting, and freezing a
controller's transmissions (see conftest.py for what the emulation does)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

BITRATE = 500_000
#: PCI command register: its offset in config space and the INTx Disable bit.
PCI_COMMAND = 4
PCI_COMMAND_INTX_DISABLE = 0x400


def ip(*args: str) -> str:
    """Runs ``ip ARGS`` and returns its stdout; fails the test on an error."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        pytest.fail(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def ip_details(name: str) -> dict[str, Any]:
    """``ip -details -statistics -json link show NAME``, parsed."""
    shown = ip("-details", "-statistics", "-json", "link", "show", name)
    info: dict[str, Any] = json.loads(shown)[0]
    return info


def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Polls ``condition`` until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _operstate(name: str) -> str:
    return Path(f"/sys/class/net/{name}/operstate").read_text().strip()


def bring_up(name: str) -> None:
    """``ip link set NAME up``, then waits until the kernel carries frames on
    it: it activates the queue asynchronously and drops frames until then."""
    ip("link", "set", name, "up")
    if not wait_for(lambda: _operstate(name) == "up"):
        pytest.fail(f"{name} is not operational 2 s after 'ip link set up': {_operstate(name)}")


def set_intx_disabled(name: str, disabled: bool) -> None:
    """Masks or unmasks the PCI interrupt of the controller behind ``name``."""
    with open(f"/sys/class/net/{name}/device/config", "r+b", buffering=0) as config:
        config.seek(PCI_COMMAND)
        command = int.from_bytes(config.read(2), "little")
        if disabled:
            command |= PCI_COMMAND_INTX_DISABLE
        else:
            command &= ~PCI_COMMAND_INTX_DISABLE
        config.seek(PCI_COMMAND)
        config.write(command.to_bytes(2, "little"))


@contextlib.contextmanager
def frozen_tx(name: str) -> Iterator[None]:
    """While inside, ``name``'s transmit-complete interrupt never arrives:
    the frame in the controller stays there and the queue behind it fills.
    On leaving, the interrupt is unmasked and the queue drains."""
    set_intx_disabled(name, True)
    try:
        yield
    finally:
        set_intx_disabled(name, False)
