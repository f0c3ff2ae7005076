"""Opening a bus: python-can's arguments, the seed's legacy spellings, and a
clear exception for every bad input, on both backends."""

from __future__ import annotations

import errno
import math
import os
import subprocess
import sys

import can
import ferrocan
import pytest
from ferrocan import (
    CanInitializationError,
    CanInterfaceNotImplementedError,
    CanOperationError,
    Message,
)

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


def test_other_interfaces_are_not_implemented() -> None:
    with pytest.raises(CanInterfaceNotImplementedError, match="'pcan' is not supported"):
        ferrocan.Bus("vcan0", interface="pcan")


def test_python_can_keywords_without_meaning_here_are_ignored(make_bus: BusFactory) -> None:
    make_bus(bitrate=500_000, single_handle=True, data_bitrate=2_000_000)


def test_misspelled_keywords_are_refused(make_bus: BusFactory) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'recieve_own_messages'"):
        make_bus(recieve_own_messages=True)


@pytest.mark.parametrize(
    ("channel", "error", "text"),
    [
        (0, TypeError, "channel must be a str naming a CAN interface, such as 'can0', got int"),
        (None, TypeError, "got NoneType"),
        (b"vcan0", TypeError, "got bytes"),
        ("vcan0\0", ValueError, "contains a NUL byte"),
        ("v" * 16, ValueError, "is 16 bytes long; Linux interface names are at most 15 bytes"),
    ],
)
def test_bad_channels(make_bus: BusFactory, channel: object, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        make_bus(channel)


def test_missing_interface_says_how_to_create_one(make_bus: BusFactory) -> None:
    with pytest.raises(CanInitializationError) as raised:
        make_bus("vcan9")
    assert raised.value.error_code == errno.ENODEV
    assert str(raised.value) == (
        "CAN interface 'vcan9' does not exist; create a virtual one with: "
        "sudo ip link add dev vcan9 type vcan && sudo ip link set vcan9 up [Error Code 19]"
    )


def test_a_non_can_interface_is_named(make_bus: BusFactory) -> None:
    with pytest.raises(CanInitializationError, match="interface 'lo' is not a CAN interface"):
        make_bus("lo")


@pytest.mark.parametrize(
    ("filters", "error", "text"),
    [
        ({"can_id": 1, "can_mask": 1}, TypeError, "must be a list of dicts"),
        ([{"can_id": 1}], ValueError, "filter 0 has no 'can_mask'"),
        ([{"can_id": "1", "can_mask": 1}], TypeError, "'can_id' must be an int, got str"),
        ([{"can_id": -1, "can_mask": 1}], ValueError, "'can_id' -0x1 must be in 0x0..0xffffffff"),
        ([{"can_id": 1, "can_mask": 1, "extended": 1}], TypeError, "'extended' must be a bool"),
        ([{"can_id": 1, "can_mask": 1, "ext": True}], ValueError, "unknown keys \\['ext'\\]"),
        ([(1, 1)], TypeError, "filter 0 must be a dict"),
        ([{"can_id": i, "can_mask": 0x7FF} for i in range(513)], ValueError, "at most 512"),
    ],
)
def test_bad_filters(make_bus: BusFactory, filters: object, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        make_bus(can_filters=filters)
    bus = make_bus()
    with pytest.raises(error, match=text):
        bus.set_filters(filters)  # type: ignore[arg-type]


def test_the_kernels_filter_limit_is_reachable(make_bus: BusFactory) -> None:
    bus = make_bus(can_filters=[{"can_id": i, "can_mask": 0x7FF} for i in range(512)])
    assert len(bus.filters or []) == 512


@pytest.mark.parametrize(
    ("timeout", "error", "text"),
    [
        (-1, ValueError, "timeout must be None or a number of seconds >= 0, got -1.0"),
        (-0.5, ValueError, "got -0.5"),
        (math.nan, ValueError, "got nan"),
        ("1", TypeError, "timeout must be None or a number of seconds, got str"),
    ],
)
def test_bad_timeouts(make_bus: BusFactory, timeout: object, error: type, text: str) -> None:
    bus = make_bus()
    with pytest.raises(error, match=text):
        bus.recv(timeout)  # type: ignore[arg-type]
    with pytest.raises(error, match=text):
        bus.send(Message(arbitration_id=1), timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("junk", [None, 5, b"\x01", "123#00", {"arbitration_id": 1}])
def test_send_of_a_non_message(make_bus: BusFactory, junk: object) -> None:
    bus = make_bus()
    with pytest.raises(TypeError, match=r"send\(\) expects a ferrocan\.Message or a can\.Message"):
        bus.send(junk)  # type: ignore[arg-type]


def test_send_revalidates_a_message_changed_after_construction(make_bus: BusFactory) -> None:
    bus = make_bus()
    msg = Message(arbitration_id=1, is_extended_id=False)
    msg.arbitration_id = 0x800
    with pytest.raises(ValueError, match="arbitration_id 0x800 is out of range"):
        bus.send(msg)


def test_python_can_messages_can_be_sent(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    tx.send(can.Message(arbitration_id=0x42, is_extended_id=False, data=[1, 2]))
    got = rx.recv(2.0)
    assert got is not None and (got.arbitration_id, got.data) == (0x42, bytearray([1, 2]))
    with pytest.raises(ValueError, match="data is 9 bytes"):
        tx.send(can.Message(data=bytes(9)))


def test_a_bus_on_a_down_interface_fails_on_send(make_bus: BusFactory) -> None:
    subprocess.run(["ip", "link", "add", "vcandown", "type", "vcan"], check=True)
    try:
        bus = make_bus("vcandown")
        with pytest.raises(CanOperationError) as raised:
            bus.send(Message(arbitration_id=1))
        assert raised.value.error_code == errno.ENETDOWN
        assert "bring it up with: sudo ip link set vcandown up" in str(raised.value)
    finally:
        subprocess.run(["ip", "link", "del", "vcandown"], check=True)


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
