"""Opening a bus: python-can's arguments, the seed's legacy spellings and the
environment variable that forces a backend, on both backends. Bad input and
its exceptions are in tests/test_bad_input.py."""

from __future__ import annotations

import os
import subprocess
import sys

import can
import ferrocan
import pytest

from .conftest import BusFactory


def test_bus_with_only_a_channel_uses_the_default_backend() -> None:
    with ferrocan.Bus("vcan0") as bus:
        assert bus.backend == ferrocan.backend == "native"


def test_the_seeds_spelling_is_the_same_callable() -> None:
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


def test_an_unknown_forced_backend_is_a_clear_error() -> None:
    env = {**os.environ, "FERROCAN_BACKEND": "rust"}
    out = subprocess.run(
        [sys.executable, "-c", "import ferrocan"], env=env, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "FERROCAN_BACKEND='rust' is not a backend; use 'native' or 'ctypes'" in out.stderr
