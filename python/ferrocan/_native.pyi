"""The Rust backend (``ferrocan._native``), written by hand to match src/python/."""

from collections.abc import Sequence
from typing import Any

from typing_extensions import Self

__version__: str

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

    def __init__(
        self,
        timestamp: float = 0.0,
        arbitration_id: int = 0,
        is_extended_id: bool = True,
        is_remote_frame: bool = False,
        is_error_frame: bool = False,
        channel: str | int | None = None,
        dlc: int | None = None,
        data: bytes | bytearray | memoryview | Sequence[int] | None = None,
        is_fd: bool = False,
        is_rx: bool = True,
        bitrate_switch: bool = False,
        error_state_indicator: bool = False,
        check: bool = False,
        **legacy: Any,
    ) -> None: ...
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
    ) -> Self: ...
    @property
    def data(self) -> bytearray: ...
    @data.setter
    def data(self, value: bytes | bytearray | memoryview | Sequence[int] | None) -> None: ...
    def equals(
        self,
        other: Any,
        timestamp_delta: float | None = 1e-6,
        check_channel: bool = True,
        check_direction: bool = True,
    ) -> bool: ...
    def __len__(self) -> int: ...
    def __bool__(self) -> bool: ...
    def __bytes__(self) -> bytes: ...
    def __format__(self, format_spec: str) -> str: ...
    def __copy__(self) -> Self: ...
    def __deepcopy__(self, memo: Any) -> Self: ...
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]: ...

class BcmTask:
    """One kernel-timed periodic task (CAN_BCM) on its own socket."""

    def __init__(self, channel: str) -> None: ...
    def setup(
        self, messages: Sequence[Any], period: float, count: int | None, start: bool
    ) -> None: ...
    def delete(self) -> None: ...
    def close(self) -> None: ...

class RawSocket:
    """One CAN_RAW socket bound to one interface (the native backend)."""

    def __init__(
        self,
        channel: str,
        *,
        fd: bool = False,
        receive_own_messages: bool = False,
        local_loopback: bool = True,
        error_frames: bool = True,
        io_uring: bool = True,
        receive_buffer_size: int | None = None,
        timestamping: str | None = None,
    ) -> None: ...
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
