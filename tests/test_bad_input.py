"""Bad input: every case raises its documented exception type (docs/errors.md)
with a message that names the problem, and the process, and the bus it was
given to, go on working. Every message docs/errors.md specifies is a row here,
but for the few that need what a test on vcan cannot have (ELSEWHERE says
which test checks them); test_every_documented_error_is_a_row holds the two
together.

The cases live in one table, TABLE. A row runs once per backend where it
opens a bus, once per Message implementation (the Rust class and the
pure-Python one) where it builds a message, and once per implementation of
the text formats (Rust and pure Python) where it parses cansend or candump
text. A row's text is the whole message (a ``str``) or a pattern searched in
it (an ``re.Pattern``).
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
import resource
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import can
import ferrocan
import pytest
from ferrocan import (
    CanInitializationError,
    CanInterfaceNotImplementedError,
    CanOperationError,
    _candump_log,
    _cansend,
    candump_log,
    cansend,
    link,
)
from ferrocan._message import Message as PureMessage
from ferrocan._native import Message as NativeMessage
from ferrocan._native import parse_frame as native_parse_frame
from ferrocan._native import parse_log_line as native_parse_line

from .support import BACKENDS, BusFactory, has_vcan, limit_queue, open_buses

#: vcans the rows make: one left down, one deleted under a bus, and one
#: whose transmit queue is always full.
DOWN = "vcandown"
GONE = "vcangone"
FULL = "vcanfull"
#: The program the kernel runs to load a module it needs.
MODPROBE = "/proc/sys/kernel/modprobe"


class ExitStatus(Exception):
    """A ``python -m ferrocan`` run that failed: its status and stderr."""


@dataclass
class Context:
    """What a row's call is given: the implementation under test."""

    # Any: the rows pass these wrong arguments on purpose.
    Message: Any = None
    bus: Any = None
    parse_frame: Any = None
    #: Buses the row opened and left open, on vcan0: they must still work after.
    open_buses: list[ferrocan.Bus] = field(default_factory=list)
    cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def closed_bus(self) -> ferrocan.Bus:
        """A bus on vcan0 that has been shut down."""
        assert self.bus is not None
        bus: ferrocan.Bus = self.bus()
        bus.shutdown()
        self.open_buses.remove(bus)
        return bus

    def down(self) -> str:
        """A CAN interface that exists but is down."""
        self._vcan(DOWN)  # left down
        return DOWN

    def deleted(self) -> ferrocan.Bus:
        """A bus whose interface was deleted after it opened."""
        self._vcan(GONE)
        link.up(GONE)
        bus = self.bus(GONE)
        link.delete(GONE)
        return bus

    def full_queue(self) -> str:
        """A vcan whose transmit queue takes no frame (a token-bucket qdisc
        with no room), so that the kernel answers ENOBUFS."""
        self._vcan(FULL)
        limit_queue(FULL)
        link.up(FULL)
        return FULL

    def _vcan(self, name: str) -> None:
        _delete_if_there(name)
        link.add_vcan(name)
        self.cleanup.callback(_delete_if_there, name)


def _delete_if_there(name: str) -> None:
    with contextlib.suppress(CanInitializationError):
        link.delete(name)


@contextlib.contextmanager
def without_module(module: str) -> Iterator[None]:
    """The kernel without ``module`` (can_raw or can_bcm), as on a system
    that lacks it: unloaded, and not loaded on demand while the block runs."""
    gc.collect()  # buses nobody holds close, so the module can go
    subprocess.run(["rmmod", module], check=True, capture_output=True, text=True)
    with open(MODPROBE) as f:
        modprobe = f.read()
    try:
        with open(MODPROBE, "w") as f:
            f.write("/bin/false\n")
        yield
    finally:
        with open(MODPROBE, "w") as f:
            f.write(modprobe)
        subprocess.run(["modprobe", module], check=True)


@contextlib.contextmanager
def out_of_descriptors() -> Iterator[None]:
    """Every descriptor this process may have is open (RLIMIT_NOFILE
    lowered to what it has), as in a process that leaks them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 8, hard))
    taken = []
    try:
        with contextlib.suppress(OSError):
            while True:
                taken.append(os.open("/dev/null", os.O_RDONLY))
        yield
    finally:
        for fd in taken:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def down_twice(c: Context) -> object:
    """A receive on a down interface, after the one the kernel fails itself."""
    bus = c.bus(c.down())
    with contextlib.suppress(CanOperationError):
        bus.recv(0)
    return bus.recv(0.3)


def send_then_receive_down(c: Context) -> object:
    bus = c.bus(c.down())
    with contextlib.suppress(CanOperationError):
        bus.send(c.Message(arbitration_id=1))
    return bus.recv(0.3)


def open_out_of_descriptors(c: Context) -> object:
    with out_of_descriptors():
        return c.bus()


def deprecated(make: Callable[[], object]) -> object:
    """``make()``, which passes a python-can 1.x spelling on purpose."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return make()


def modify_stopped(c: Context) -> object:
    task = c.bus().send_periodic(c.Message(arbitration_id=1), 0.1)
    task.stop()
    return task.modify_data(c.Message(arbitration_id=1))


def start_closed(c: Context) -> object:
    task = c.bus().send_periodic(c.Message(arbitration_id=1), 0.1)
    task.close()
    return task.start()


def open_without_can_raw(c: Context) -> object:
    with without_module("can_raw"):
        return c.bus()


def send_periodic_without_can_bcm(c: Context) -> object:
    bus = c.bus()
    with without_module("can_bcm"):
        return bus.send_periodic(c.Message(arbitration_id=1), 1.0)


def cli(*argv: str) -> None:
    """Runs ``python -m ferrocan ARGV`` and raises ExitStatus if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "ferrocan", *argv], capture_output=True, text=True, timeout=30
    )
    if done.returncode != 0:
        raise ExitStatus(f"exit status {done.returncode}: {done.stderr}")


# What a row involves: each names an axis it runs over.
MESSAGE = ("message",)  # both Message implementations
BUS = ("backend",)  # every backend
BUS_MESSAGE = ("backend", "message")
TEXT = ("text",)  # both implementations of the text formats
ONCE = ()


class Row(NamedTuple):
    id: str
    call: Callable[[Context], object]
    error: type[BaseException]
    text: str | re.Pattern[str]
    axes: tuple[str, ...]


def message(id: str, kwargs: dict[str, Any], error: type[BaseException], text: str) -> Row:
    """A row that builds a Message from ``kwargs``."""
    return Row(id, lambda c: c.Message(**kwargs), error, text, MESSAGE)


def filters(id: str, value: object, error: type[BaseException], text: str) -> list[Row]:
    """Two rows: the filters given when opening a bus, then to set_filters()."""
    return [
        Row(f"open-{id}", lambda c: c.bus(can_filters=value), error, text, BUS),
        Row(f"set_filters-{id}", lambda c: c.bus().set_filters(value), error, text, BUS),
    ]


def frame(id: str, text: str, problem: str) -> Row:
    """A malformed cansend frame."""
    return Row(
        f"parse_frame-{id}",
        lambda c: c.parse_frame(text),
        ValueError,
        f"malformed CAN frame {text!r}: {problem}",
        TEXT,
    )


def log_line(id: str, line: str, problem: str) -> Row:
    """A malformed candump log line."""
    return Row(
        f"parse_line-{id}", lambda c: candump_log.parse_line(line), ValueError, problem, TEXT
    )


def legacy(c: Context, *args: Any, **kwargs: Any) -> object:
    """A Message built with the deprecated extended_id= keyword."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return c.Message(*args, **kwargs)


def changed_id(c: Context) -> object:
    """A message whose ID went out of range after construction."""
    msg = c.Message(arbitration_id=1, is_extended_id=False)
    msg.arbitration_id = 0x800
    return msg


STD = {"is_extended_id": False}
SHUT = "the bus on 'vcan0' is shut down; open a new Bus to use the interface again"
DOWN_HINT = f"Network is down; the interface is down, bring it up with: sudo ip link set {DOWN} up"
GONE_HINT = "No such device; the interface has gone, open a new Bus once it exists again"
NO_SOCKETCAN = "this kernel does not support SocketCAN: Protocol not supported; load it with: "
VIRTUAL = "'vcan0' is a virtual interface (vcan): it has no "
REAL = "; that applies to real controllers such as can0"
ALL = (
    "a bus on every interface (channel='') sends a message only where msg.channel names "
    "the interface, e.g. msg.channel = 'can0'"
)
NO_HASH = "there is no '#' after the ID (expected e.g. 123#DEADBEEF)"
DATA_TYPE = "data must be bytes-like or an iterable of ints in 0..255, got "
CLASSIC_9 = (
    "data is 9 bytes, but a classic CAN frame carries at most 8; set is_fd=True for up to 64"
)
NOT_MESSAGE = "send() expects a ferrocan.Message or a can.Message, got "
TIMEOUT = "timeout must be None or a number of seconds >= 0, got "
PERIOD = "period must be a finite number of seconds > 0, got "
PERIOD_RANGE = (
    "period must be in 1e-06..34560000 seconds (a microsecond to 400 days), what the kernel's "
    "broadcast manager times, got "
)

XL = {"is_xl": True, "data": b"\x01"}
RX_VCID_TYPE = "rx_vcid must be a (vcid, mask) tuple of two ints in 0..255, or None, got "

TABLE: list[Row] = [
    # -- Message: CAN XL
    message("xl-type", {"is_xl": 1}, TypeError, "is_xl must be a bool, got int"),
    message("sdu_type-type", {"sdu_type": 1.0}, TypeError, "sdu_type must be an int, got float"),
    message(
        "acceptance_field-type",
        {**XL, "acceptance_field": "1"},
        TypeError,
        "acceptance_field must be an int, got str",
    ),
    message(
        "simple_extended_content-type",
        {"simple_extended_content": 0},
        TypeError,
        "simple_extended_content must be a bool, got int",
    ),
    message("vcid-type", {**XL, "vcid": None}, TypeError, "vcid must be an int, got NoneType"),
    message(
        "xl-remote",
        {**XL, "is_remote_frame": True},
        ValueError,
        "is_remote_frame cannot be combined with is_xl: CAN XL has no remote frames",
    ),
    message(
        "xl-error",
        {**XL, "is_error_frame": True},
        ValueError,
        "is_error_frame cannot be combined with is_xl: error frames are classic CAN frames",
    ),
    message(
        "xl-fd",
        {**XL, "is_fd": True},
        ValueError,
        "is_fd cannot be combined with is_xl: a frame is either CAN FD or CAN XL",
    ),
    message(
        "xl-extended",
        {**XL, "is_extended_id": True},
        ValueError,
        "is_extended_id must be False for a CAN XL frame: its priority ID is 11 bits",
    ),
    message(
        "xl-id-range",
        {**XL, "arbitration_id": 0x800},
        ValueError,
        "arbitration_id 0x800 is out of range for a CAN XL priority ID: must be in 0x0..0x7ff",
    ),
    message(
        "xl-empty",
        {"is_xl": True},
        ValueError,
        "data is empty, but a CAN XL frame carries 1 to 2048 bytes",
    ),
    message(
        "xl-too-long",
        {"is_xl": True, "data": bytes(2049)},
        ValueError,
        "data is 2049 bytes, but a CAN XL frame carries at most 2048",
    ),
    message(
        "xl-dlc",
        {"is_xl": True, "data": bytes(4), "dlc": 5},
        ValueError,
        "dlc 5 contradicts the 4 data bytes: leave dlc=None or set it to 4",
    ),
    message(
        "sdu_type-range",
        {**XL, "sdu_type": 256},
        ValueError,
        "sdu_type 256 is out of range: must be in 0..255",
    ),
    message(
        "acceptance_field-range",
        {**XL, "acceptance_field": -1},
        ValueError,
        "acceptance_field -0x1 is out of range: must be in 0x0..0xffffffff",
    ),
    message(
        "vcid-range", {**XL, "vcid": 256}, ValueError, "vcid 256 is out of range: must be in 0..255"
    ),
    message("sdu_type-not-xl", {"sdu_type": 1}, ValueError, "sdu_type requires is_xl=True"),
    message(
        "acceptance_field-not-xl",
        {"acceptance_field": 1},
        ValueError,
        "acceptance_field requires is_xl=True",
    ),
    message(
        "simple_extended_content-not-xl",
        {"simple_extended_content": True},
        ValueError,
        "simple_extended_content requires is_xl=True",
    ),
    message("vcid-not-xl", {"vcid": 1}, ValueError, "vcid requires is_xl=True"),
    # -- Message: IDs
    message(
        "id-negative",
        {"arbitration_id": -1},
        ValueError,
        "arbitration_id -0x1 is out of range for an extended (29-bit) ID: "
        "must be in 0x0..0x1fffffff",
    ),
    message(
        "id-2**29",
        {"arbitration_id": 2**29},
        ValueError,
        "arbitration_id 0x20000000 is out of range for an extended (29-bit) ID: "
        "must be in 0x0..0x1fffffff",
    ),
    message(
        "id-2**64",
        {"arbitration_id": 2**64},
        ValueError,
        "arbitration_id 0x10000000000000000 is out of range for an extended (29-bit) ID: "
        "must be in 0x0..0x1fffffff",
    ),
    message(
        "id-standard-0x800",
        {"arbitration_id": 0x800, **STD},
        ValueError,
        "arbitration_id 0x800 is out of range for a standard (11-bit) ID: "
        "must be in 0x0..0x7ff; set is_extended_id=True for 29-bit IDs",
    ),
    message(
        "id-standard-negative",
        {"arbitration_id": -1, **STD},
        ValueError,
        "arbitration_id -0x1 is out of range for a standard (11-bit) ID: "
        "must be in 0x0..0x7ff; set is_extended_id=True for 29-bit IDs",
    ),
    # -- Message: data
    message("data-9-bytes-classic", {"data": bytes(9)}, ValueError, CLASSIC_9),
    message(
        "data-65-bytes-fd",
        {"data": bytes(65), "is_fd": True},
        ValueError,
        "data is 65 bytes, but a CAN FD frame carries at most 64",
    ),
    message("data-str", {"data": "abc"}, TypeError, DATA_TYPE + "str"),
    message("data-float", {"data": 1.5}, TypeError, DATA_TYPE + "float"),
    message("data-int", {"data": 5}, TypeError, DATA_TYPE + "int"),
    message("data-object", {"data": object()}, TypeError, DATA_TYPE + "object"),
    message(
        "data-item-256", {"data": [1, 2, 256]}, ValueError, "data[2] is 256, must be in 0..255"
    ),
    message("data-item-minus-1", {"data": [-1]}, ValueError, "data[0] is -1, must be in 0..255"),
    message(
        "data-item-2**64",
        {"data": [2**64]},
        ValueError,
        "data[0] is 18446744073709551616, must be in 0..255",
    ),
    message(
        "data-item-str", {"data": [1, "2"]}, TypeError, "data[1] must be an int in 0..255, got str"
    ),
    message(
        "data-item-float", {"data": [1.0]}, TypeError, "data[0] must be an int in 0..255, got float"
    ),
    message(
        "data-item-none",
        {"data": [None]},
        TypeError,
        "data[0] must be an int in 0..255, got NoneType",
    ),
    # -- Message: flags and fields that contradict each other
    message(
        "dlc-contradicts-data",
        {"data": bytes(4), "dlc": 5},
        ValueError,
        "dlc 5 contradicts the 4 data bytes: leave dlc=None or set it to 4 "
        "(9..15 are allowed only with 8 data bytes)",
    ),
    message(
        "dlc-9-with-7-bytes",
        {"data": bytes(7), "dlc": 9},
        ValueError,
        "dlc 9 contradicts the 7 data bytes: leave dlc=None or set it to 7 "
        "(9..15 are allowed only with 8 data bytes)",
    ),
    message(
        "dlc-16-with-8-bytes",
        {"data": bytes(8), "dlc": 16},
        ValueError,
        "dlc 16 contradicts the 8 data bytes: leave dlc=None or set it to 8 "
        "(9..15 are allowed only with 8 data bytes)",
    ),
    message(
        "dlc-contradicts-fd-data",
        {"data": bytes(10), "dlc": 12, "is_fd": True},
        ValueError,
        "dlc 12 contradicts the 10 data bytes: leave dlc=None or set it to 10",
    ),
    message(
        "dlc-9-on-fd",
        {"data": bytes(8), "dlc": 9, "is_fd": True},
        ValueError,
        "dlc 9 contradicts the 8 data bytes: leave dlc=None or set it to 8",
    ),
    message(
        "dlc-2**64",
        {"dlc": 2**64},
        ValueError,
        "dlc 18446744073709551616 contradicts the 0 data bytes: leave dlc=None or set it to 0 "
        "(9..15 are allowed only with 8 data bytes)",
    ),
    message(
        "remote-dlc-9",
        {"is_remote_frame": True, "dlc": 9},
        ValueError,
        "dlc 9 is out of range for a remote frame: must be in 0..8",
    ),
    message(
        "remote-dlc-negative",
        {"is_remote_frame": True, "dlc": -1},
        ValueError,
        "dlc -1 is out of range for a remote frame: must be in 0..8",
    ),
    message(
        "remote-with-data",
        {"data": b"\x01", "is_remote_frame": True},
        ValueError,
        "a remote frame carries no data; pass dlc= for the requested length instead",
    ),
    message(
        "remote-with-fd",
        {"is_remote_frame": True, "is_fd": True},
        ValueError,
        "is_remote_frame cannot be combined with is_fd: CAN FD has no remote frames",
    ),
    message(
        "remote-and-error",
        {"is_remote_frame": True, "is_error_frame": True},
        ValueError,
        "is_remote_frame and is_error_frame cannot both be set",
    ),
    message(
        "brs-without-fd", {"bitrate_switch": True}, ValueError, "bitrate_switch requires is_fd=True"
    ),
    message(
        "esi-without-fd",
        {"error_state_indicator": True},
        ValueError,
        "error_state_indicator requires is_fd=True",
    ),
    message(
        "timestamp-nan",
        {"timestamp": math.nan},
        ValueError,
        "timestamp must be a finite number of seconds >= 0, got nan",
    ),
    message(
        "timestamp-inf",
        {"timestamp": math.inf},
        ValueError,
        "timestamp must be a finite number of seconds >= 0, got inf",
    ),
    message(
        "timestamp-10**400",
        {"timestamp": 10**400},
        ValueError,
        "timestamp must be a finite number of seconds >= 0, got inf",
    ),
    message(
        "timestamp-negative",
        {"timestamp": -1},
        ValueError,
        "timestamp must be a finite number of seconds >= 0, got -1.0",
    ),
    message(
        "timestamp-negative-float",
        {"timestamp": -0.5},
        ValueError,
        "timestamp must be a finite number of seconds >= 0, got -0.5",
    ),
    # -- Message: a wrong type for each keyword
    message(
        "type-timestamp-str",
        {"timestamp": "1"},
        TypeError,
        "timestamp must be a number of seconds, got str",
    ),
    message(
        "type-timestamp-none",
        {"timestamp": None},
        TypeError,
        "timestamp must be a number of seconds, got NoneType",
    ),
    message(
        "type-arbitration_id-float",
        {"arbitration_id": 1.0},
        TypeError,
        "arbitration_id must be an int, got float",
    ),
    message(
        "type-arbitration_id-none",
        {"arbitration_id": None},
        TypeError,
        "arbitration_id must be an int, got NoneType",
    ),
    message(
        "type-is_extended_id",
        {"is_extended_id": 1},
        TypeError,
        "is_extended_id must be a bool, got int",
    ),
    message(
        "type-is_remote_frame",
        {"is_remote_frame": None},
        TypeError,
        "is_remote_frame must be a bool, got NoneType",
    ),
    message(
        "type-is_error_frame",
        {"is_error_frame": "yes"},
        TypeError,
        "is_error_frame must be a bool, got str",
    ),
    message(
        "type-channel-float",
        {"channel": 1.5},
        TypeError,
        "channel must be a str, an int or None, got float",
    ),
    message(
        "type-channel-bytes",
        {"channel": b"vcan0"},
        TypeError,
        "channel must be a str, an int or None, got bytes",
    ),
    message("type-dlc-float", {"dlc": 1.0}, TypeError, "dlc must be an int or None, got float"),
    message("type-dlc-str", {"dlc": "8"}, TypeError, "dlc must be an int or None, got str"),
    message("type-is_fd", {"is_fd": 0}, TypeError, "is_fd must be a bool, got int"),
    message("type-is_rx", {"is_rx": None}, TypeError, "is_rx must be a bool, got NoneType"),
    message(
        "type-bitrate_switch",
        {"bitrate_switch": 1},
        TypeError,
        "bitrate_switch must be a bool, got int",
    ),
    message(
        "type-error_state_indicator",
        {"error_state_indicator": "x"},
        TypeError,
        "error_state_indicator must be a bool, got str",
    ),
    Row(
        "type-extended_id",
        lambda c: legacy(c, extended_id=1),
        TypeError,
        "is_extended_id must be a bool, got int",
        MESSAGE,
    ),
    # -- Message: unknown and doubled keywords
    message(
        "unknown-keyword",
        {"arbitration_id": 1, "is_extended": True},
        TypeError,
        "Message() got an unexpected keyword argument 'is_extended'",
    ),
    Row(
        "extended_id-and-is_extended_id",
        lambda c: legacy(c, is_extended_id=True, extended_id=True),
        TypeError,
        "pass is_extended_id or extended_id, not both",
        MESSAGE,
    ),
    Row(
        "extended_id-and-positional-is_extended_id",
        lambda c: legacy(c, 0.0, 1, False, extended_id=False),
        TypeError,
        "pass is_extended_id or extended_id, not both",
        MESSAGE,
    ),
    # -- opening a bus
    Row(
        "channel-int",
        lambda c: c.bus(0),
        TypeError,
        "channel must be a str naming a CAN interface, such as 'can0', got int",
        BUS,
    ),
    Row(
        "channel-none",
        lambda c: c.bus(None),
        TypeError,
        "channel must be a str naming a CAN interface, such as 'can0', got NoneType",
        BUS,
    ),
    Row(
        "channel-bytes",
        lambda c: c.bus(b"vcan0"),
        TypeError,
        "channel must be a str naming a CAN interface, such as 'can0', got bytes",
        BUS,
    ),
    Row(
        "channel-16-bytes",
        lambda c: c.bus("v" * 16),
        ValueError,
        f"channel {'v' * 16!r} is 16 bytes long; Linux interface names are at most 15 bytes",
        BUS,
    ),
    Row(
        "channel-nul",
        lambda c: c.bus("vcan0\0"),
        ValueError,
        "channel 'vcan0\\x00' contains a NUL byte; interface names cannot",
        BUS,
    ),
    Row(
        "channel-missing",
        lambda c: c.bus("vcan9"),
        CanInitializationError,
        "CAN interface 'vcan9' does not exist; create a virtual one with: "
        "sudo ip link add dev vcan9 type vcan && sudo ip link set vcan9 up [Error Code 19]",
        BUS,
    ),
    Row(
        "channel-down-send",
        lambda c: c.bus(c.down()).send(c.Message(arbitration_id=1)),
        CanOperationError,
        f"failed to transmit on '{DOWN}': Network is down; the interface is down, "
        f"bring it up with: sudo ip link set {DOWN} up [Error Code 100]",
        BUS_MESSAGE,
    ),
    Row(
        "channel-not-can",
        lambda c: c.bus("lo"),
        CanInitializationError,
        "interface 'lo' is not a CAN interface [Error Code 19]",
        BUS,
    ),
    Row(
        # channel='' is allowed: a bus on every interface. Sending needs msg.channel.
        "channel-empty-send-without-msg-channel",
        lambda c: c.bus("").send(c.Message(arbitration_id=1)),
        ValueError,
        ALL,
        BUS_MESSAGE,
    ),
    Row(
        "channel-empty-send-with-empty-msg-channel",
        lambda c: c.bus("").send(c.Message(arbitration_id=1, channel="")),
        ValueError,
        ALL,
        BUS_MESSAGE,
    ),
    Row(
        "keyword-fd-str",
        lambda c: c.bus(fd="yes"),
        TypeError,
        "fd must be True or False, got 'yes'",
        BUS,
    ),
    Row(
        "keyword-receive_own_messages-2",
        lambda c: c.bus(receive_own_messages=2),
        TypeError,
        "receive_own_messages must be True or False, got 2",
        BUS,
    ),
    Row(
        "keyword-local_loopback-None",
        lambda c: c.bus(local_loopback=None),
        TypeError,
        "local_loopback must be True or False, got None",
        BUS,
    ),
    Row(
        "keyword-ignore_rx_error_frames-float",
        lambda c: c.bus(ignore_rx_error_frames=1.0),
        TypeError,
        "ignore_rx_error_frames must be True or False, got 1.0",
        BUS,
    ),
    Row(
        "keyword-io_uring-str",
        lambda c: c.bus(io_uring="no"),
        TypeError,
        "io_uring must be True or False, got 'no'",
        BUS,
    ),
    Row(
        "channel-empty-send_periodic",
        lambda c: c.bus("").send_periodic(c.Message(arbitration_id=1), 0.1),
        ValueError,
        ALL,
        BUS_MESSAGE,
    ),
    Row(
        "keyword-misspelled",
        lambda c: c.bus(recieve_own_messages=True),
        TypeError,
        "Bus() got an unexpected keyword argument 'recieve_own_messages'",
        BUS,
    ),
    Row(
        "interface-other",
        lambda c: c.bus(interface="pcan"),
        CanInterfaceNotImplementedError,
        "interface 'pcan' is not supported by ferrocan; use 'socketcan' (or None)",
        BUS,
    ),
    Row(
        "xl-flag", lambda c: c.bus(xl="yes"), TypeError, "xl must be True or False, got 'yes'", BUS
    ),
    Row(
        "tx_vcid-type",
        lambda c: c.bus(xl=True, tx_vcid=True),
        TypeError,
        "tx_vcid must be an int in 0..255 or None, got bool",
        BUS,
    ),
    Row(
        "tx_vcid-range",
        lambda c: c.bus(xl=True, tx_vcid=256),
        ValueError,
        "tx_vcid 256 is out of range: must be in 0..255 or None",
        BUS,
    ),
    Row(
        "rx_vcid-type",
        lambda c: c.bus(xl=True, rx_vcid=[5, 1]),
        TypeError,
        RX_VCID_TYPE + "[5, 1]",
        BUS,
    ),
    Row(
        "rx_vcid-range",
        lambda c: c.bus(xl=True, rx_vcid=(5, 256)),
        ValueError,
        "rx_vcid (5, 256) is out of range: its vcid and mask must be in 0..255",
        BUS,
    ),
    Row(
        "tx_vcid-without-xl",
        lambda c: c.bus(tx_vcid=5),
        ValueError,
        "tx_vcid requires xl=True",
        BUS,
    ),
    Row(
        "rx_vcid-without-xl",
        lambda c: c.bus(rx_vcid=(5, 0xFF)),
        ValueError,
        "rx_vcid requires xl=True",
        BUS,
    ),
    Row(
        "io_uring-on-ctypes",
        lambda c: ferrocan.Bus("vcan0", backend="ctypes", io_uring=True),
        ValueError,
        "the ctypes backend reads with one syscall per call; io_uring=True needs the native "
        "backend",
        ONCE,
    ),
    Row(
        "interface-and-bustype",
        lambda c: deprecated(lambda: c.bus(interface="socketcan", bustype="virtual")),
        TypeError,
        "pass interface or bustype, not both",
        BUS,
    ),
    Row(
        "legacy-interface-contradicts-backend",
        lambda c: deprecated(
            lambda: ferrocan.Bus("vcan0", interface="socketcan_native", backend="ctypes")
        ),
        ValueError,
        "interface='socketcan_native' contradicts backend='ctypes'",
        ONCE,
    ),
    Row(
        "backend-unknown",
        lambda c: ferrocan.Bus("vcan0", backend="rust"),
        CanInterfaceNotImplementedError,
        "backend 'rust' does not exist; use 'native' or 'ctypes'",
        ONCE,
    ),
    Row(
        "open-out-of-descriptors",
        open_out_of_descriptors,
        CanInitializationError,
        "cannot open CAN interface 'vcan0': Too many open files [Error Code 24]",
        BUS,
    ),
    Row(
        "open-without-can-raw",
        open_without_can_raw,
        CanInitializationError,
        NO_SOCKETCAN + "sudo modprobe can-raw [Error Code 93]",
        BUS,
    ),
    Row(
        "send_periodic-without-can-bcm",
        send_periodic_without_can_bcm,
        CanInitializationError,
        NO_SOCKETCAN + "sudo modprobe can-bcm [Error Code 93]",
        BUS_MESSAGE,
    ),
    Row(
        "timestamping-unknown",
        lambda c: c.bus(timestamping="kernel"),
        ValueError,
        "timestamping must be 'software' or 'hardware', got 'kernel'",
        BUS,
    ),
    Row(
        "timestamping-hardware-on-vcan",
        lambda c: c.bus(timestamping="hardware"),
        CanInitializationError,
        "'vcan0' has no hardware timestamps (its driver reports no "
        "SOF_TIMESTAMPING_RX_HARDWARE); use timestamping='software'",
        BUS,
    ),
    Row(
        "receive_buffer_size-str",
        lambda c: c.bus(receive_buffer_size="1M"),
        TypeError,
        "receive_buffer_size must be an int (bytes), got str",
        BUS,
    ),
    Row(
        "receive_buffer_size-0",
        lambda c: c.bus(receive_buffer_size=0),
        ValueError,
        "receive_buffer_size must be at least 1 byte, got 0",
        BUS,
    ),
    Row(
        "channel-empty-send-to-missing-interface",
        lambda c: c.bus("").send(c.Message(arbitration_id=1, channel="vcan9")),
        CanOperationError,
        "failed to transmit on 'vcan9': No such device; the interface has gone, "
        "open a new Bus once it exists again [Error Code 19]",
        BUS_MESSAGE,
    ),
    # -- an interface that is down, or deleted under the bus
    Row(
        "recv-on-down-interface",
        lambda c: c.bus(c.down()).recv(0.3),
        CanOperationError,
        f"failed to receive on '{DOWN}': {DOWN_HINT} [Error Code 100]",
        BUS,
    ),
    Row(
        # The kernel reports a down interface once; the bus keeps reporting it.
        "recv-on-down-interface-again",
        down_twice,
        CanOperationError,
        f"failed to receive on '{DOWN}': {DOWN_HINT} [Error Code 100]",
        BUS,
    ),
    Row(
        "recv-on-down-interface-after-send",
        send_then_receive_down,
        CanOperationError,
        f"failed to receive on '{DOWN}': {DOWN_HINT} [Error Code 100]",
        BUS_MESSAGE,
    ),
    Row(
        "recv_batch-on-down-interface",
        lambda c: c.bus(c.down()).recv_batch(8, 0.3),
        CanOperationError,
        f"failed to receive on '{DOWN}': {DOWN_HINT} [Error Code 100]",
        BUS,
    ),
    Row(
        "set_filters-interface-deleted",
        lambda c: c.deleted().set_filters(None),
        CanOperationError,
        f"failed to set filters on '{GONE}': {GONE_HINT} [Error Code 19]",
        BUS,
    ),
    Row(
        "recv-interface-deleted",
        lambda c: c.deleted().recv(0.3),
        CanOperationError,
        f"failed to receive on '{GONE}': {GONE_HINT} [Error Code 19]",
        BUS,
    ),
    Row(
        "send-interface-deleted",
        lambda c: c.deleted().send(c.Message(arbitration_id=1)),
        CanOperationError,
        f"failed to transmit on '{GONE}': {GONE_HINT} [Error Code 19]",
        BUS_MESSAGE,
    ),
    Row(
        "send-queue-full",
        lambda c: c.bus(c.full_queue()).send(c.Message(arbitration_id=1), 0.05),
        CanOperationError,
        f"transmit buffer full on '{FULL}': the frame was not taken within 0.05 s [Error Code 105]",
        BUS_MESSAGE,
    ),
    # -- filters, when opening a bus and in set_filters()
    *filters(
        "filters-a-dict",
        {"can_id": 1, "can_mask": 1},
        TypeError,
        "can_filters must be a list of dicts such as [{'can_id': 0x100, 'can_mask': 0x7F0}], "
        "got dict",
    ),
    *filters(
        "filter-without-mask",
        [{"can_id": 1}],
        ValueError,
        "filter 0 has no 'can_mask'; give both 'can_id' and 'can_mask'",
    ),
    *filters(
        "filter-id-str",
        [{"can_id": "1", "can_mask": 1}],
        TypeError,
        "filter 0: 'can_id' must be an int, got str",
    ),
    *filters(
        "filter-id-negative",
        [{"can_id": -1, "can_mask": 1}],
        ValueError,
        "filter 0: 'can_id' -0x1 must be in 0x0..0xffffffff",
    ),
    *filters(
        "filter-extended-int",
        [{"can_id": 1, "can_mask": 1, "extended": 1}],
        TypeError,
        "filter 0: 'extended' must be a bool, got int",
    ),
    *filters(
        "filter-unknown-key",
        [{"can_id": 1, "can_mask": 1, "ext": True}],
        ValueError,
        "filter 0 has unknown keys ['ext']; use 'can_id', 'can_mask' and optionally 'extended'",
    ),
    *filters(
        "filter-a-tuple",
        [(1, 1)],
        TypeError,
        "filter 0 must be a dict with 'can_id' and 'can_mask', got tuple",
    ),
    *filters(
        "filters-513",
        [{"can_id": i, "can_mask": 0x7FF} for i in range(513)],
        ValueError,
        "513 filters given, but the kernel takes at most 512; merge filters with wider masks",
    ),
    # -- using a bus after shutdown()
    Row("recv-after-shutdown", lambda c: c.closed_bus().recv(0), CanOperationError, SHUT, BUS),
    Row(
        "send-after-shutdown",
        lambda c: c.closed_bus().send(c.Message(arbitration_id=1)),
        CanOperationError,
        SHUT,
        BUS_MESSAGE,
    ),
    Row(
        "set_filters-after-shutdown",
        lambda c: c.closed_bus().set_filters(None),
        CanOperationError,
        SHUT,
        BUS,
    ),
    Row("fileno-after-shutdown", lambda c: c.closed_bus().fileno(), CanOperationError, SHUT, BUS),
    Row(
        "send_periodic-after-shutdown",
        lambda c: c.closed_bus().send_periodic(c.Message(arbitration_id=1), 0.1),
        CanOperationError,
        SHUT,
        BUS_MESSAGE,
    ),
    # -- send of what is not a message, and messages a bus cannot send
    Row("send-none", lambda c: c.bus().send(None), TypeError, NOT_MESSAGE + "NoneType", BUS),
    Row("send-int", lambda c: c.bus().send(5), TypeError, NOT_MESSAGE + "int", BUS),
    Row("send-bytes", lambda c: c.bus().send(b"\x01"), TypeError, NOT_MESSAGE + "bytes", BUS),
    Row("send-cansend-text", lambda c: c.bus().send("123#00"), TypeError, NOT_MESSAGE + "str", BUS),
    Row(
        "send-dict",
        lambda c: c.bus().send({"arbitration_id": 1}),
        TypeError,
        NOT_MESSAGE + "dict",
        BUS,
    ),
    Row(
        "send-changed-after-construction",
        lambda c: c.bus().send(changed_id(c)),
        ValueError,
        "arbitration_id 0x800 is out of range for a standard (11-bit) ID: "
        "must be in 0x0..0x7ff; set is_extended_id=True for 29-bit IDs",
        BUS_MESSAGE,
    ),
    Row(
        "send-python-can-message-9-bytes",
        lambda c: c.bus().send(can.Message(data=bytes(9))),
        ValueError,
        CLASSIC_9,
        BUS,
    ),
    Row(
        "send-fd-on-classic-bus",
        lambda c: c.bus().send(c.Message(arbitration_id=1, is_fd=True)),
        CanOperationError,
        "cannot send a CAN FD frame on 'vcan0': open the bus with fd=True",
        BUS_MESSAGE,
    ),
    Row(
        "send-xl-on-bus-without-xl",
        lambda c: c.bus(fd=True).send(c.Message(**XL)),
        CanOperationError,
        "cannot send a CAN XL frame on 'vcan0': open the bus with xl=True",
        BUS_MESSAGE,
    ),
    Row(
        "send_periodic-xl",
        lambda c: c.bus().send_periodic(c.Message(**XL), 0.1),
        ValueError,
        "send_periodic cannot send CAN XL frames: the kernel's CAN_BCM has no CAN XL support",
        BUS_MESSAGE,
    ),
    # -- timeouts
    Row("recv-timeout-negative", lambda c: c.bus().recv(-1), ValueError, TIMEOUT + "-1.0", BUS),
    Row(
        "recv-timeout-negative-float",
        lambda c: c.bus().recv(-0.5),
        ValueError,
        TIMEOUT + "-0.5",
        BUS,
    ),
    Row("recv-timeout-nan", lambda c: c.bus().recv(math.nan), ValueError, TIMEOUT + "nan", BUS),
    Row(
        "recv-timeout-str",
        lambda c: c.bus().recv("1"),
        TypeError,
        "timeout must be None or a number of seconds, got str",
        BUS,
    ),
    Row(
        "recv-timeout-decimal-zero",  # equal to 0, and still not a float or an int
        lambda c: c.bus().recv(Decimal(0)),
        TypeError,
        "timeout must be None or a number of seconds, got Decimal",
        BUS,
    ),
    Row(
        "send-timeout-negative",
        lambda c: c.bus().send(c.Message(arbitration_id=1), -1),
        ValueError,
        TIMEOUT + "-1.0",
        BUS_MESSAGE,
    ),
    Row(
        "send-timeout-nan",
        lambda c: c.bus().send(c.Message(arbitration_id=1), math.nan),
        ValueError,
        TIMEOUT + "nan",
        BUS_MESSAGE,
    ),
    Row(
        "send-timeout-str",
        lambda c: c.bus().send(c.Message(arbitration_id=1), "1"),
        TypeError,
        "timeout must be None or a number of seconds, got str",
        BUS_MESSAGE,
    ),
    # -- send_periodic
    *[
        Row(
            f"send_periodic-period-{name}",
            lambda c, period=period: c.bus().send_periodic(c.Message(arbitration_id=1), period),
            error,
            text,
            BUS_MESSAGE,
        )
        for name, period, error, text in [
            ("0", 0, ValueError, PERIOD + "0"),
            ("negative", -1.0, ValueError, PERIOD + "-1.0"),
            ("nan", math.nan, ValueError, PERIOD + "nan"),
            ("inf", math.inf, ValueError, PERIOD + "inf"),
            ("str", "1", TypeError, "period must be a number of seconds, got str"),
            ("none", None, TypeError, "period must be a number of seconds, got NoneType"),
        ]
    ],
    Row(
        "send_periodic-duration-negative",
        lambda c: c.bus().send_periodic(c.Message(arbitration_id=1), 0.1, duration=-1),
        ValueError,
        "duration must be a finite number of seconds > 0, got -1",
        BUS_MESSAGE,
    ),
    Row(
        "send_periodic-period-below-a-microsecond",
        lambda c: c.bus().send_periodic(c.Message(arbitration_id=1), 1e-7),
        ValueError,
        PERIOD_RANGE + "1e-07",
        BUS_MESSAGE,
    ),
    Row(
        "send_periodic-period-above-400-days",
        lambda c: c.bus().send_periodic(c.Message(arbitration_id=1), 1e9),
        ValueError,
        PERIOD_RANGE + "1000000000.0",
        BUS_MESSAGE,
    ),
    Row(
        "send_periodic-too-many-frames",
        lambda c: c.bus().send_periodic(c.Message(arbitration_id=1), 1e-6, 1e4),
        ValueError,
        "duration / period asks for 10000000000 frames, but the kernel counts at most "
        "4294967295; use duration=None to send until stopped",
        BUS_MESSAGE,
    ),
    Row(
        "send_periodic-257-messages",
        lambda c: c.bus().send_periodic([c.Message(arbitration_id=1)] * 257, 0.1),
        ValueError,
        "a periodic task sends at most 256 messages in turn, got 257",
        BUS_MESSAGE,
    ),
    Row(
        "send_periodic-two-ids",
        lambda c: c.bus().send_periodic(
            [c.Message(arbitration_id=1), c.Message(arbitration_id=2)], 0.1
        ),
        ValueError,
        "all messages of a periodic task need the same arbitration_id and is_extended_id, "
        "got 0x1 and 0x2",
        BUS_MESSAGE,
    ),
    Row(
        "send_periodic-fd-and-classic",
        lambda c: c.bus(fd=True).send_periodic(
            [c.Message(arbitration_id=1, is_fd=True), c.Message(arbitration_id=1)], 0.1
        ),
        ValueError,
        "the messages of a periodic task must be all CAN FD or all classic",
        BUS_MESSAGE,
    ),
    Row(
        "modify_data-another-id",
        lambda c: (
            c.bus()
            .send_periodic(c.Message(arbitration_id=1), 0.1)
            .modify_data(c.Message(arbitration_id=2))
        ),
        ValueError,
        "modify_data() must keep the arbitration_id 0x1 (extended), got 0x2 (extended); "
        "start a new task to send another kind of frame",
        BUS_MESSAGE,
    ),
    Row(
        "modify_data-another-count",
        lambda c: (
            c.bus()
            .send_periodic(c.Message(arbitration_id=1), 0.1)
            .modify_data([c.Message(arbitration_id=1)] * 2)
        ),
        ValueError,
        "modify_data() must keep the number of messages (1), got 2; "
        "start a new task for a different cycle",
        BUS_MESSAGE,
    ),
    Row(
        "modify_data-stopped",
        modify_stopped,
        CanOperationError,
        "modify_data() on a stopped periodic task; call start() to send again first",
        BUS_MESSAGE,
    ),
    Row(
        "start-closed-task",
        start_closed,
        CanOperationError,
        "start() on a closed periodic task; call send_periodic() for a new one",
        BUS_MESSAGE,
    ),
    Row(
        "send_periodic-no-messages",
        lambda c: c.bus().send_periodic([], 0.1),
        ValueError,
        "a periodic task needs at least one message",
        BUS,
    ),
    Row(
        "send_periodic-not-a-message",
        lambda c: c.bus().send_periodic("123#00", 0.1),
        TypeError,
        "a periodic task sends ferrocan.Message or can.Message objects, got str",
        BUS,
    ),
    # -- recv_batch's limit (any int of at least 1: a huge one means no limit)
    Row(
        "recv_batch-max-negative",
        lambda c: c.bus().recv_batch(-1),
        ValueError,
        "max_messages must be at least 1, got -1",
        BUS,
    ),
    Row(
        "recv_batch-max-0",
        lambda c: c.bus().recv_batch(0),
        ValueError,
        "max_messages must be at least 1, got 0",
        BUS,
    ),
    Row(
        "recv_batch-max-float",
        lambda c: c.bus().recv_batch(8.0),
        TypeError,
        "max_messages must be an int, got float",
        BUS,
    ),
    Row(
        "recv_batch-max-bool",
        lambda c: c.bus().recv_batch(True),
        TypeError,
        "max_messages must be an int, got bool",
        BUS,
    ),
    Row(
        "format_frame-not-a-message",
        lambda c: cansend.format_frame("123#00"),
        TypeError,
        "format_frame() expects a ferrocan.Message or a can.Message, got str",
        ONCE,
    ),
    # -- interfaces (ferrocan.link; the tests run with CAP_NET_ADMIN)
    Row(
        "link-missing-interface",
        lambda c: link.show("vcan9"),
        CanInitializationError,
        "CAN interface 'vcan9' does not exist; create a virtual one with: "
        "sudo ip link add dev vcan9 type vcan && sudo ip link set vcan9 up [Error Code 19]",
        ONCE,
    ),
    Row(
        "link-bitrate-on-vcan",
        lambda c: link.set("vcan0", bitrate=500_000),
        ValueError,
        VIRTUAL + "bitrate" + REAL,
        ONCE,
    ),
    Row(
        "link-fd-off-on-vcan",
        lambda c: link.set("vcan0", fd=False),
        ValueError,
        VIRTUAL + "CAN FD mode (its MTU decides: 72 carries CAN FD frames, 16 classic ones "
        "only)" + REAL,
        ONCE,
    ),
    Row(
        "link-sample_point-without-bitrate",
        lambda c: link.set("vcan0", sample_point=0.875),
        ValueError,
        "sample_point needs bitrate: the kernel computes the bit timing from the two together; "
        "give them in one call, such as bitrate=500000, sample_point=0.875 "
        "(ferrocan link set: bitrate 500000 sample-point 0.875)",
        ONCE,
    ),
    Row(
        "link-mtu-50",
        lambda c: link.set("vcan0", mtu=50),
        ValueError,
        "mtu 50 is not one the interface takes: a CAN interface takes 16 (classic CAN), "
        "72 (CAN FD) or 76 to 2060 (CAN XL, where the kernel has it), as far as its driver "
        "supports them",
        ONCE,
    ),
    Row(
        "link-mtu-0",
        lambda c: link.set("vcan0", mtu=0),
        ValueError,
        "mtu must be 16 (classic CAN), 72 (CAN FD) or 76 to 2060 (CAN XL), got 0",
        ONCE,
    ),
    Row(
        "link-txqueuelen-negative",
        lambda c: link.set("vcan0", txqueuelen=-1),
        ValueError,
        "txqueuelen must be in 0..4294967295, got -1",
        ONCE,
    ),
    Row(
        "link-bitrate-str",
        lambda c: link.set("vcan0", bitrate="500k"),
        TypeError,
        "bitrate must be an int or None, got str",
        ONCE,
    ),
    Row(
        "link-restart-vcan",
        lambda c: link.restart("vcan0"),
        CanOperationError,
        "cannot restart 'vcan0': Operation not supported; this kind of interface does not "
        "support it [Error Code 95]",
        ONCE,
    ),
    # -- cansend's frame syntax
    frame("no-hash", "BAD", NO_HASH),
    frame("empty", "", NO_HASH),
    frame("data-not-hex", "123#G0", "the data 'G0' is not hexadecimal"),
    frame(
        "standard-id-0x800",
        "800#00",
        "the standard (11-bit) ID '800' is out of range: must be 000..7FF",
    ),
    frame(
        "9-bytes",
        "123#112233445566778899",
        "the data is 9 bytes, but a classic CAN frame carries at most 8 (use ## for CAN FD)",
    ),
    frame("fd-flags-not-hex", "123##X", "the CAN FD flags 'X' are not a hex digit"),
    frame("remote-length-9", "123#R9", "the remote frame's length 'R9' must be R or R0..R8"),
    frame("remote-error-frame", "20000000#R", "an error frame cannot be a remote frame"),
    # -- candump's log lines
    log_line(
        "garbage", "garbage", "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got 'garbage'"
    ),
    log_line("empty", "", "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got ''"),
    log_line(
        "no-frame",
        "(1.000000) vcan0",
        "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got '(1.000000) vcan0'",
    ),
    log_line(
        "timestamp-not-digits",
        "(x) vcan0 123#00",
        "the timestamp '(x)' must be (SECONDS.MICROSECONDS) in digits 0-9",
    ),
    log_line("bad-frame", "(1.000000) vcan0 BAD", f"malformed CAN frame 'BAD': {NO_HASH}"),
    Row(
        "parse_line-numbered",
        lambda c: candump_log.parse_line("(1.000000) vcan0 BAD", 7),
        ValueError,
        f"line 7: malformed CAN frame 'BAD': {NO_HASH}",
        TEXT,
    ),
    Row(
        "read_log-names-the-line",
        lambda c: list(
            candump_log.read_log(
                ["# comment\n", "(1.000000) vcan0 123#00\n", "(2.000000) vcan0 BAD\n"]
            )
        ),
        ValueError,
        f"line 3: malformed CAN frame 'BAD': {NO_HASH}",
        TEXT,
    ),
    # -- the command line: exit status 2 for bad input, 1 for a CAN error
    Row(
        "cli-send-malformed-frame",
        lambda c: cli("send", "vcan0", "BAD"),
        ExitStatus,
        f"exit status 2: ferrocan send: malformed CAN frame 'BAD': {NO_HASH}\n",
        ONCE,
    ),
    Row(
        "cli-send-missing-interface",
        lambda c: cli("send", "vcan9", "123#00"),
        ExitStatus,
        "exit status 1: ferrocan send: CAN interface 'vcan9' does not exist; create a virtual "
        "one with: sudo ip link add dev vcan9 type vcan && sudo ip link set vcan9 up "
        "[Error Code 19]\n",
        ONCE,
    ),
    Row(
        "cli-link-fd-off-on-vcan",
        lambda c: cli("link", "set", "vcan0", "fd", "off"),
        ExitStatus,
        "exit status 2: ferrocan link set: " + VIRTUAL + "CAN FD mode (its MTU decides: 72 "
        "carries CAN FD frames, 16 classic ones only)" + REAL + "\n",
        ONCE,
    ),
    Row(
        "cli-link-restart-vcan",
        lambda c: cli("link", "restart", "vcan0"),
        ExitStatus,
        "exit status 1: ferrocan link restart: cannot restart 'vcan0': Operation not "
        "supported; this kind of interface does not support it [Error Code 95]\n",
        ONCE,
    ),
    Row(
        "cli-send-empty-interface",
        lambda c: cli("send", "", "123#00"),
        ExitStatus,
        re.compile(r"exit status 2: .*argument IFACE: must name one interface, such as vcan0\n$"),
        ONCE,
    ),
]

MESSAGES: dict[str, Any] = {"native": NativeMessage, "pure": PureMessage}
TEXTS = ["native", "pure"]


def cases() -> Iterator[Any]:
    """The table's rows, each once per variant of the axes it runs over."""
    for row in TABLE:
        variants: list[tuple[str | None, str | None]] = [(None, None)]
        if "backend" in row.axes:
            variants = [(backend, None) for backend in BACKENDS]
        if "message" in row.axes or "text" in row.axes:
            variants = [(backend, impl) for backend, _ in variants for impl in MESSAGES]
        for backend, impl in variants:
            names = [name for name in (backend, impl) if name]
            yield pytest.param(row, backend, impl, id="-".join([row.id, *names]))


@contextlib.contextmanager
def bus_factory(backend: str, opened: list[ferrocan.Bus]) -> Iterator[BusFactory]:
    """support.open_buses, noting in ``opened`` the buses opened on vcan0."""
    if not has_vcan():
        pytest.fail("vcan0 is missing: run the tests through tools/vcan-run (see README.md)")
    with open_buses(backend) as (open_bus, _):

        def make(channel: Any = "vcan0", **kwargs: Any) -> ferrocan.Bus:
            bus = open_bus(channel, **kwargs)
            if channel == "vcan0":
                opened.append(bus)
            return bus

        yield make


def still_works(context: Context) -> None:
    """The cheap check after each row: a good message builds; every bus the
    row left open on vcan0, and a fresh one, still sends to a fresh bus.

    The receiving bus takes only the check's own frame: a periodic task that a
    row leaves running may send between the check's send and its recv."""
    cls = context.Message or ferrocan.Message
    msg = cls(arbitration_id=0x123, is_extended_id=False, data=b"\x01\x02")
    assert msg.dlc == 2
    if context.parse_frame is not None:
        assert context.parse_frame("123#0102").data == bytearray(b"\x01\x02")
    if context.bus is not None:
        rx = context.bus(can_filters=[{"can_id": 0x123, "can_mask": 0x7FF, "extended": False}])
        context.open_buses.remove(rx)
        for tx in [*context.open_buses, context.bus()]:
            tx.send(msg, 1.0)
            got = rx.recv(2.0)
            assert got is not None and (got.arbitration_id, got.data) == (0x123, msg.data)


@pytest.mark.parametrize(("row", "backend", "impl"), list(cases()))
def test_bad_input(
    row: Row, backend: str | None, impl: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = Context()
    with context.cleanup:
        if impl is not None:
            context.Message = MESSAGES[impl]
            if "text" in row.axes:
                native = impl == "native"
                context.parse_frame = native_parse_frame if native else _cansend.parse_frame
                parse = native_parse_line if native else _candump_log.parse_line
                monkeypatch.setattr(candump_log, "_parse_line", parse)
        if backend is not None:
            context.bus = context.cleanup.enter_context(bus_factory(backend, context.open_buses))

        with pytest.raises(Exception) as raised:
            row.call(context)

        error = raised.value
        assert type(error) is row.error, f"{type(error).__name__}: {error}"
        if isinstance(row.text, str):
            assert str(error) == row.text
        else:
            assert row.text.search(str(error)), str(error)
        assert "Traceback" not in str(error)
        still_works(context)


ERRORS_MD = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
#: The documented messages no row can raise on vcan as root, by a fragment of
#: each, and the test file that checks them instead.
ELSEWHERE = {
    "needs CAP_NET_ADMIN (run as root": "tests/unprivileged_checks.py",  # as nobody
    "process lacks CAP_NET_ADMIN, so the buffer is capped": "tests/unprivileged_checks.py",
    ", or run with CAP_NET_ADMIN": "tests/unprivileged_checks.py",
    "a manual restart needs a controller in bus-off": "tests/realcan/test_link.py",
    "the native backend is not installed": "tests/test_fallback.py",  # a pure install
    # The kernel decides these; tests/test_xl.py asks it which it has.
    "CAN XL needs Linux 6.2 or later": "tests/support.py",  # REFUSED_XL, used by test_xl.py
    "need Linux 6.9 or later (CAN_RAW_XL_VCID_OPTS)": "tests/test_xl.py",
    "VCIDs need Linux 6.9 or later": "tests/test_xl.py",
    "and CAN XL needs 2060": "tests/test_xl.py",
}
#: The recorder's section: tests/test_recorder.py checks it on both backends.
RECORDING = "## Recording"


def documented_messages() -> list[str]:
    """The message templates docs/errors.md specifies: the code spans of
    each table's last column and of its lists, but for the recorder's."""
    text = ERRORS_MD.read_text().split(RECORDING)[0]
    messages = []
    for line in text.splitlines():
        if line.startswith("|"):
            line = line.rstrip("|").rsplit("|", 1)[-1]
        elif not re.match(r"\s*(\d+\.|-) ", line):
            continue
        spans = re.findall(r"``\s?(.+?)\s?``|`([^`]+)`", line)
        messages += [double or single for double, single in spans if " " in double + single]
    return messages


def template(message: str) -> re.Pattern[str]:
    """A pattern for a documented message: ``{name}`` and ``...`` stand for any text."""
    parts = re.split(r"(\{[^}]*\}|\.\.\.)", message)
    return re.compile("".join(".+" if p[:1] == "{" or p == "..." else re.escape(p) for p in parts))


def test_every_documented_error_is_a_row() -> None:
    messages = documented_messages()
    assert len(messages) > 50, "the parser found too few messages in docs/errors.md"
    texts = [row.text for row in TABLE if isinstance(row.text, str)]
    root = ERRORS_MD.parent.parent
    missing = []
    for message in messages:
        fragment, elsewhere = next(
            ((fragment, f) for fragment, f in ELSEWHERE.items() if fragment in message), ("", None)
        )
        if elsewhere is not None:
            assert fragment in (root / elsewhere).read_text(), (message, elsewhere)
        elif not any(template(message).search(text) for text in texts):
            missing.append(message)
    assert not missing, "docs/errors.md messages that no row raises:\n" + "\n".join(missing)


def test_every_row_is_documented() -> None:
    templates = [template(message) for message in documented_messages()]
    undocumented = [
        f"{row.id}: {row.text}"
        for row in TABLE
        if isinstance(row.text, str) and not any(t.search(row.text) for t in templates)
    ]
    assert not undocumented, "rows docs/errors.md does not specify:\n" + "\n".join(undocumented)


def test_the_table_has_no_duplicate_ids() -> None:
    ids = [row.id for row in TABLE]
    assert len(ids) == len(set(ids))


def test_the_process_still_works_after_the_table(make_bus: BusFactory) -> None:
    """Runs after every row (pytest keeps the file's order), on every backend:
    a round trip, a periodic task and the command line."""
    tx, rx = make_bus(), make_bus()
    tx.send(ferrocan.Message(arbitration_id=0x7FF, is_extended_id=False, data=b"ok"))
    got = rx.recv(2.0)
    assert got is not None and got.data == bytearray(b"ok")
    task = tx.send_periodic(ferrocan.Message(arbitration_id=0x10, is_extended_id=False), 0.01)
    assert rx.recv(2.0) is not None
    task.stop()
    cli("send", "vcan0", "123#00")
