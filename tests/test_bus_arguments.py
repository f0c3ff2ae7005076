"""Opening a bus: python-can's arguments, python-can 1.x's legacy spellings and the
environment variable that forces a backend, on both backends. Bad input and
its exceptions are in tests/test_bad_input.py."""

from __future__ import annotations

import os
import subprocess
import sys

import can
import ferrocan
import pytest

from .support import BusFactory


def test_bus_with_only_a_channel_uses_the_default_backend() -> None:
    with ferrocan.Bus("vcan0") as bus:
        assert bus.backend == ferrocan.backend == "native"


def test_python_can_1x_spelling_interface_bus_is_the_same_callable() -> None:
    assert ferrocan.interface.Bus is ferrocan.Bus


def test_bustype_is_a_deprecated_alias_of_interface() -> None:
    with pytest.deprecated_call(match="bustype= is deprecated; use interface="):
        bus = ferrocan.interface.Bus("vcan0", bustype="socketcan")
    bus.shutdown()


@pytest.mark.parametrize(
    ("interface", "backend"), [("socketcan_native", "native"), ("socketcan_ctypes", "ctypes")]
)
def test_legacy_interface_names_pick_their_backend(interface: str, backend: str) -> None:
    with pytest.deprecated_call(match=f"backend='{backend}'"):
        bus = ferrocan.Bus("vcan0", interface=interface)
    assert bus.backend == backend
    assert f"{backend} backend" in bus.channel_info
    bus.shutdown()


@pytest.mark.parametrize("interface", [None, "socketcan", "ferrocan"])
def test_current_interface_names_are_accepted(interface: str | None) -> None:
    ferrocan.Bus("vcan0", interface=interface).shutdown()


def test_python_can_keywords_without_meaning_here_are_ignored(make_bus: BusFactory) -> None:
    make_bus(bitrate=500_000, single_handle=True, data_bitrate=2_000_000)


def test_the_kernels_filter_limit_is_reachable(make_bus: BusFactory) -> None:
    bus = make_bus(can_filters=[{"can_id": i, "can_mask": 0x7FF} for i in range(512)])
    assert len(bus.filters or []) == 512


def test_python_can_messages_can_be_sent(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    tx.send(can.Message(arbitration_id=0x42, is_extended_id=False, data=[1, 2]))
    got = rx.recv(2.0)
    assert got is not None and (got.arbitration_id, got.data) == (0x42, bytearray([1, 2]))


@pytest.mark.parametrize("forced", ["ctypes", "native"])
def test_ferrocan_backend_environment_variable_forces_the_default(forced: str) -> None:
    code = "import ferrocan; b = ferrocan.Bus('vcan0'); print(ferrocan.backend, b.backend)"
    env = {**os.environ, "FERROCAN_BACKEND": forced}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [forced, forced]


UNKNOWN_BACKEND = """
import ferrocan
for make in (lambda: ferrocan.backend, lambda: ferrocan.Bus("vcan0")):
    try:
        make()
    except ferrocan.CanInterfaceNotImplementedError as error:
        print(error)
    else:
        raise AssertionError("an unknown FERROCAN_BACKEND must not go unnoticed")
for backend in ("native", "ctypes"):
    with ferrocan.Bus("vcan0", backend=backend) as bus:
        print(bus.backend)
"""


def test_an_unknown_forced_backend_fails_the_bus_that_needs_it_not_the_import() -> None:
    """A bad FERROCAN_BACKEND must not break `import ferrocan` (nor a bus
    that names its backend), but any use of the default says what is wrong."""
    env = {**os.environ, "FERROCAN_BACKEND": "rust"}
    out = subprocess.run(
        [sys.executable, "-c", UNKNOWN_BACKEND],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    message = (
        "FERROCAN_BACKEND='rust' is not a backend; use 'native' or 'ctypes', "
        "or unset it for the best available"
    )
    assert out.stdout.splitlines() == [message, message, "native", "ctypes"]


@pytest.mark.parametrize(("forced", "other"), [("ctypes", "native"), ("native", "ctypes")])
def test_backend_and_interface_take_precedence_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, forced: str, other: str
) -> None:
    monkeypatch.setenv("FERROCAN_BACKEND", forced)
    assert ferrocan.backend == forced
    with ferrocan.Bus("vcan0") as bus:
        assert bus.backend == forced
    with ferrocan.Bus("vcan0", backend=other) as bus:
        assert bus.backend == other and f"ferrocan {other} backend" in bus.channel_info
    with pytest.deprecated_call():
        bus = ferrocan.Bus("vcan0", interface=f"socketcan_{other}")
    with bus:
        assert bus.backend == other and f"ferrocan {other} backend" in bus.channel_info
