"""The Rust backend (``ferrocan._native``), written by hand to match src/python/.

``python -m mypy.stubtest ferrocan._native`` checks this file against the
built module (tests/test_typing.py runs it). PyO3 classes take their
arguments in ``__new__``, so the stubs declare ``__new__``, not ``__init__``.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypedDict, final

from typing_extensions import Self, disjoint_base

__all__ = [
    "BcmTask",
    "Message",
    "NativeSocket",
    "Recording",
    "__version__",
    "format_frame",
    "link_add_vcan",
    "link_add_vxcan",
    "link_delete",
    "link_down",
    "link_list",
    "link_restart",
    "link_set",
    "link_show",
    "link_up",
    "parse_frame",
    "parse_log_line",
]

__version__: str

_Data = bytes | bytearray | memoryview | Sequence[int]

@disjoint_base
class Message:
    """A CAN message with python-can's attributes; always validated."""

    timestamp: float
    arbitration_id: int
    is_extended_id: bool
    is_remote_frame: bool
    is_error_frame: bool
    channel: str | int | None
    dlc: int
    is_fd: bool
    is_rx: bool
    bitrate_switch: bool
    error_state_indicator: bool
    is_xl: bool
    sdu_type: int
    acceptance_field: int
    simple_extended_content: bool
    vcid: int

    def __new__(
        cls,
        timestamp: float = 0.0,
        arbitration_id: int = 0,
        is_extended_id: bool = True,
        is_remote_frame: bool = False,
        is_error_frame: bool = False,
        channel: str | int | None = None,
        dlc: int | None = None,
        data: _Data | None = None,
        is_fd: bool = False,
        is_rx: bool = True,
        bitrate_switch: bool = False,
        error_state_indicator: bool = False,
        check: bool = False,
        *,
        is_xl: bool = False,
        sdu_type: int = 0,
        acceptance_field: int = 0,
        simple_extended_content: bool = False,
        vcid: int = 0,
        extended_id: bool = ...,  # deprecated spelling of is_extended_id
    ) -> Self: ...
    @classmethod
    def _unchecked(
        cls,
        timestamp: float,
        arbitration_id: int,
        is_extended_id: bool,
        is_remote_frame: bool,
        is_error_frame: bool,
        channel: str | int | None,
        dlc: int,
        data: bytearray,
        is_fd: bool,
        is_rx: bool,
        bitrate_switch: bool,
        error_state_indicator: bool,
        *,
        is_xl: bool = False,
        sdu_type: int = 0,
        acceptance_field: int = 0,
        simple_extended_content: bool = False,
        vcid: int = 0,
    ) -> Self: ...
    @property
    def data(self) -> bytearray: ...
    @data.setter
    def data(self, value: _Data | None) -> None: ...
    def equals(
        self,
        other: Any,
        timestamp_delta: float | None = ...,  # 1e-6 s
        check_channel: bool = True,
        check_direction: bool = True,
    ) -> bool: ...
    def __len__(self) -> int: ...
    def __bool__(self) -> bool: ...
    def __bytes__(self) -> bytes: ...
    def __format__(self, format_spec: str) -> str: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any) -> Self: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __setstate__(self, state: dict[str, Any]) -> None: ...

@final
class BcmTask:
    """One kernel-timed periodic task (CAN_BCM) on its own socket."""

    def __new__(cls, channel: str) -> Self: ...
    def setup(
        self, messages: Sequence[Any], period: float, count: int | None, start: bool
    ) -> None: ...
    def delete(self) -> None: ...
    def expired(self) -> bool: ...
    def close(self) -> None: ...

@final
class Recording:
    """A recording on a thread of the Rust core (see ferrocan.recorder)."""

    def __new__(
        cls,
        fd: int,
        sources: Sequence[tuple[str, list[tuple[int, int]], int]],
        *,
        format: str,
        count: int | None = None,
        idle: float | None = None,
        receive_buffer_size: int | None = None,
        report_drops: bool = False,
    ) -> Self: ...
    def stop(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    @property
    def written(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def receive_buffer_sizes(self) -> list[int]: ...

@final
class NativeSocket:
    """One CAN_RAW socket bound to one interface (the native backend)."""

    def __new__(
        cls,
        channel: str,
        *,
        fd: bool = False,
        xl: bool = False,
        tx_vcid: int | None = None,
        rx_vcid: tuple[int, int] | None = None,
        receive_own_messages: bool = False,
        local_loopback: bool = True,
        error_frames: bool = True,
        io_uring: bool = True,
        receive_buffer_size: int | None = None,
        timestamping: str | None = None,
        filters: Sequence[tuple[int, int]] | None = None,
        on_error_frame: Callable[[Message], None] | None = None,
    ) -> Self: ...
    @property
    def backend(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def io_uring(self) -> bool: ...
    @property
    def receive_buffer_size(self) -> int: ...
    def recv(self, timeout: float | None = None) -> Message | None: ...
    def recv_batch(
        self, max_messages: int = 256, timeout: float | None = None
    ) -> list[Message]: ...
    def send(self, msg: object, timeout: float | None = None) -> None: ...
    def send_batch(self, messages: object, timeout: float | None = None) -> int: ...
    def set_filters(self, filters: Sequence[tuple[int, int]]) -> None: ...
    def fileno(self) -> int: ...
    def statistics(self) -> tuple[int, int, int]: ...
    def shutdown(self) -> None: ...

# Interface management (rtnetlink) for ferrocan.link, which checks the
# arguments and turns these dicts into LinkInfo dataclasses.

class _LinkStatistics(TypedDict):
    rx_packets: int
    tx_packets: int
    rx_bytes: int
    tx_bytes: int
    rx_errors: int
    tx_errors: int
    rx_dropped: int
    tx_dropped: int

class _BitTiming(TypedDict):
    bitrate: int
    sample_point: int  # tenths of a percent
    tq: int
    prop_seg: int
    phase_seg1: int
    phase_seg2: int
    sjw: int
    brp: int

class _LinkFields(TypedDict):
    name: str
    index: int
    kind: str
    up: bool
    operstate: str
    qdisc: str
    carrier: bool
    mtu: int
    txqueuelen: int
    bitrate: int | None
    sample_point: int | None  # tenths of a percent: 875 is 87.5 %
    data_bitrate: int | None
    state: str | None
    restart_ms: int | None
    clock: int | None
    berr_counter: tuple[int, int] | None
    statistics: _LinkStatistics
    bit_timing: _BitTiming | None
    data_bit_timing: _BitTiming | None
    ctrlmode: int | None  # CAN_CTRLMODE_* flags

def link_list() -> list[_LinkFields]: ...
def link_show(name: str) -> _LinkFields: ...
def link_add_vcan(name: str) -> None: ...
def link_add_vxcan(name: str, peer: str) -> None: ...
def link_delete(name: str) -> None: ...
def link_up(name: str) -> None: ...
def link_down(name: str) -> None: ...
def link_restart(name: str) -> None: ...
def link_set(
    name: str,
    bitrate: int | None,
    sample_point: int | None,  # tenths of a percent
    data_bitrate: int | None,
    fd: bool | None,
    restart_ms: int | None,
    txqueuelen: int | None,
    mtu: int | None,
) -> None: ...

# can-utils' text formats (src/cansend.rs, src/candump_log.rs) for
# ferrocan.cansend and ferrocan.candump_log; errors are ValueError.

def parse_frame(text: str) -> Message: ...
def format_frame(msg: Message) -> str: ...
def parse_log_line(line: str) -> tuple[float, str, Message]: ...
