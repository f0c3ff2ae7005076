"""The pure-Python ``Message``, used when the native module is not available.

It keeps python-can's ``can.Message`` names and semantics, with two
differences: construction always validates (python-can only does with
``check=True``), with the exception types and texts that ``docs/errors.md``
specifies, and a message may be a CAN XL frame (``is_xl=True`` and four more
keyword-only fields, which python-can does not have). The checks live
in :func:`check_fields` so that the ctypes backend can apply them again at send
time, to whatever a message's attributes have become since.

Its presentation (``str``, ``repr``, ``equals``) is :mod:`ferrocan._message_text`'s,
shared with the native ``Message``.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Iterable
from copy import deepcopy
from typing import Any, TypeVar, Union

from ferrocan._message_text import XL_FIELDS, equals, format_repr, format_str, xl_fields

__all__ = [
    "CanData",
    "Channel",
    "Message",
    "check_fields",
    "checked_fields",
]

#: What ``data`` accepts: a bytes-like object or an iterable of ints in 0..255.
CanData = Union[bytes, bytearray, memoryview, Iterable[int]]
#: What ``channel`` accepts.
Channel = Union[str, int]

_M = TypeVar("_M", bound="Message")

_FD_MAX_LEN = 64
_XL_MAX_LEN = 2048
_CLASSIC_MAX_LEN = 8
_EXTENDED_ID_MAX = 0x1FFFFFFF
_STANDARD_ID_MAX = 0x7FF
_BYTE_MAX = 0xFF
_ACCEPTANCE_FIELD_MAX = 0xFFFFFFFF


class _DefaultTrue:
    """The default of ``is_extended_id``: ``True``, but distinguishable from an
    explicit ``True`` so that passing both it and the legacy ``extended_id``
    can be refused."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "True"


_EXTENDED_DEFAULT: Any = _DefaultTrue()


_attributes = operator.attrgetter(
    "timestamp",
    "arbitration_id",
    "is_extended_id",
    "is_remote_frame",
    "is_error_frame",
    "channel",
    "dlc",
    "data",
    "is_fd",
    "is_rx",
    "bitrate_switch",
    "error_state_indicator",
)


_xl_attributes = operator.attrgetter(*XL_FIELDS)


def checked_fields(
    msg: Any, caller: str
) -> tuple[tuple[Any, ...], tuple[float, int, int, bytearray]]:
    """The attributes of any message (of either implementation, or a
    ``can.Message``) as they are now, python-can's twelve then the five of
    ``_message_text.XL_FIELDS``, and :func:`check_fields` of them; ``caller`` names the
    function in the error for an object that is none."""
    try:
        fields = _attributes(msg)
    except AttributeError:
        raise TypeError(
            f"{caller} expects a ferrocan.Message or a can.Message, got {type(msg).__name__}"
        ) from None
    try:
        fields += _xl_attributes(msg)
    except AttributeError:  # a can.Message: not CAN XL
        fields += xl_fields(msg)
    return fields, check_fields(*fields)


def check_fields(
    timestamp: object,
    arbitration_id: object,
    is_extended_id: object,
    is_remote_frame: object,
    is_error_frame: object,
    channel: object,
    dlc: object,
    data: object,
    is_fd: object,
    is_rx: object,
    bitrate_switch: object,
    error_state_indicator: object,
    is_xl: object = False,
    sdu_type: object = 0,
    acceptance_field: object = 0,
    simple_extended_content: object = False,
    vcid: object = 0,
) -> tuple[float, int, int, bytearray]:
    """Validate a message's fields as ``docs/errors.md`` specifies.

    Every type is checked, in parameter order, before any value, so the first
    ``TypeError`` wins over any ``ValueError``. Returns the normalized
    ``(timestamp, arbitration_id, dlc, data)``: a float, two ints (``dlc``
    resolved from the data when ``None``) and a bytearray (``data`` itself when
    it already is one).
    """
    if not isinstance(timestamp, (int, float)):
        raise TypeError(f"timestamp must be a number of seconds, got {type(timestamp).__name__}")
    if not isinstance(arbitration_id, int):
        raise TypeError(f"arbitration_id must be an int, got {type(arbitration_id).__name__}")
    _check_bool("is_extended_id", is_extended_id)
    _check_bool("is_remote_frame", is_remote_frame)
    _check_bool("is_error_frame", is_error_frame)
    if channel is not None and not isinstance(channel, (str, int)):
        raise TypeError(f"channel must be a str, an int or None, got {type(channel).__name__}")
    if dlc is not None and not isinstance(dlc, int):
        raise TypeError(f"dlc must be an int or None, got {type(dlc).__name__}")
    payload, range_error = _coerce_data(data)
    _check_bool("is_fd", is_fd)
    _check_bool("is_rx", is_rx)
    _check_bool("bitrate_switch", bitrate_switch)
    _check_bool("error_state_indicator", error_state_indicator)
    # One test for the usual types (ints exactly, bools false) before the full checks.
    if not (
        is_xl is simple_extended_content is False
        and sdu_type.__class__ is acceptance_field.__class__ is vcid.__class__ is int
    ):
        _check_xl_types(is_xl, sdu_type, acceptance_field, simple_extended_content, vcid)

    if range_error is not None:
        raise ValueError(range_error)
    seconds = _check_timestamp(timestamp)
    _check_kind(is_remote_frame, is_error_frame, is_fd)
    given_dlc = None if dlc is None else int(dlc)
    if is_xl:
        _check_xl_kind(is_remote_frame, is_error_frame, is_fd, is_extended_id)
        length = _check_xl_frame(int(arbitration_id), given_dlc, len(payload))
    else:
        _check_id(int(arbitration_id), is_extended_id)
        _check_length(len(payload), is_remote_frame, is_fd)
        length = _check_dlc(given_dlc, len(payload), is_remote_frame, is_fd)
    if not is_fd:
        if bitrate_switch:
            raise ValueError("bitrate_switch requires is_fd=True")
        if error_state_indicator:
            raise ValueError("error_state_indicator requires is_fd=True")
    if sdu_type or acceptance_field or simple_extended_content or vcid:
        _check_xl_fields(is_xl, sdu_type, acceptance_field, simple_extended_content, vcid)
    return seconds, int(arbitration_id), length, payload


def _check_bool(name: str, value: object) -> None:
    # bool cannot be subclassed, so an identity test is exact (and fast).
    if value.__class__ is not bool:
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")


def _check_xl_types(
    is_xl: object,
    sdu_type: object,
    acceptance_field: object,
    simple_extended_content: object,
    vcid: object,
) -> None:
    _check_bool("is_xl", is_xl)
    _check_int("sdu_type", sdu_type)
    _check_int("acceptance_field", acceptance_field)
    _check_bool("simple_extended_content", simple_extended_content)
    _check_int("vcid", vcid)


def _check_int(name: str, value: object) -> None:
    # bool is an int, and taken as one, as python-can takes it for dlc.
    if not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")


def _coerce_data(data: object) -> tuple[bytearray, str | None]:
    """Turn ``data`` into a bytearray, raising ``TypeError`` for a wrong type.

    An item out of range is a ``ValueError``, which must only be raised once
    every field's type has been checked, so its text is returned instead (with
    an empty bytearray).
    """
    if data is None:
        return bytearray(), None
    if isinstance(data, bytearray):
        return data, None
    if isinstance(data, (bytes, memoryview)):
        return bytearray(data), None
    if not isinstance(data, str):  # a str iterates over str, never ints
        try:
            with memoryview(data) as view:  # type: ignore[arg-type]
                return bytearray(view), None
        except TypeError:  # not bytes-like: try it as an iterable of ints
            pass
        try:
            items = iter(data)  # type: ignore[call-overload]
        except TypeError:
            pass
        else:
            return _bytes_from_items(list(items))
    raise TypeError(
        f"data must be bytes-like or an iterable of ints in 0..255, got {type(data).__name__}"
    )


def _bytes_from_items(items: list[Any]) -> tuple[bytearray, str | None]:
    """Build the bytes, or find the first offending item when that fails."""
    try:
        return bytearray(items), None
    except (TypeError, ValueError):
        pass
    range_error = None
    for i, item in enumerate(items):
        try:
            value = item.__index__()
        except (AttributeError, TypeError):
            raise TypeError(
                f"data[{i}] must be an int in 0..255, got {type(item).__name__}"
            ) from None
        if range_error is None and not 0 <= value <= 255:
            range_error = f"data[{i}] is {value}, must be in 0..255"
    return bytearray(), range_error


def _check_timestamp(timestamp: float) -> float:
    try:
        seconds = float(timestamp)
    except OverflowError:  # an int beyond float's range
        seconds = math.inf if timestamp > 0 else -math.inf
    if not 0.0 <= seconds < math.inf:  # also false for NaN
        raise ValueError(f"timestamp must be a finite number of seconds >= 0, got {seconds!r}")
    return seconds


def _check_kind(is_remote_frame: object, is_error_frame: object, is_fd: object) -> None:
    if is_remote_frame and is_error_frame:
        raise ValueError("is_remote_frame and is_error_frame cannot both be set")
    if is_remote_frame and is_fd:
        raise ValueError(
            "is_remote_frame cannot be combined with is_fd: CAN FD has no remote frames"
        )


def _check_xl_kind(
    is_remote_frame: object, is_error_frame: object, is_fd: object, is_extended_id: object
) -> None:
    if is_remote_frame:
        raise ValueError(
            "is_remote_frame cannot be combined with is_xl: CAN XL has no remote frames"
        )
    if is_error_frame:
        raise ValueError(
            "is_error_frame cannot be combined with is_xl: error frames are classic CAN frames"
        )
    if is_fd:
        raise ValueError("is_fd cannot be combined with is_xl: a frame is either CAN FD or CAN XL")
    if is_extended_id:
        raise ValueError(
            "is_extended_id must be False for a CAN XL frame: its priority ID is 11 bits"
        )


def _check_xl_frame(priority: int, dlc: int | None, length: int) -> int:
    """Check a CAN XL frame's priority ID, data and ``dlc``; return its dlc."""
    if not 0 <= priority <= _STANDARD_ID_MAX:
        raise ValueError(
            f"arbitration_id {priority:#x} is out of range for a CAN XL priority ID: "
            "must be in 0x0..0x7ff"
        )
    if not length:
        raise ValueError("data is empty, but a CAN XL frame carries 1 to 2048 bytes")
    if length > _XL_MAX_LEN:
        raise ValueError(f"data is {length} bytes, but a CAN XL frame carries at most 2048")
    if dlc is not None and dlc != length:
        raise ValueError(
            f"dlc {dlc} contradicts the {length} data bytes: leave dlc=None or set it to {length}"
        )
    return length


def _check_xl_fields(
    is_xl: object,
    sdu_type: Any,
    acceptance_field: Any,
    simple_extended_content: object,
    vcid: Any,
) -> None:
    """The ranges of the CAN XL fields, then that they are set on CAN XL frames only."""
    if not 0 <= sdu_type <= _BYTE_MAX:
        raise ValueError(f"sdu_type {int(sdu_type)} is out of range: must be in 0..255")
    if not 0 <= acceptance_field <= _ACCEPTANCE_FIELD_MAX:
        raise ValueError(
            f"acceptance_field {int(acceptance_field):#x} is out of range: "
            "must be in 0x0..0xffffffff"
        )
    if not 0 <= vcid <= _BYTE_MAX:
        raise ValueError(f"vcid {int(vcid)} is out of range: must be in 0..255")
    if is_xl:
        return
    for name, value in zip(
        XL_FIELDS[1:], (sdu_type, acceptance_field, simple_extended_content, vcid)
    ):
        if value:
            raise ValueError(f"{name} requires is_xl=True")


def _check_id(arbitration_id: int, is_extended_id: object) -> None:
    if is_extended_id:
        if not 0 <= arbitration_id <= _EXTENDED_ID_MAX:
            raise ValueError(
                f"arbitration_id {arbitration_id:#x} is out of range for an extended (29-bit) "
                "ID: must be in 0x0..0x1fffffff"
            )
    elif not 0 <= arbitration_id <= _STANDARD_ID_MAX:
        raise ValueError(
            f"arbitration_id {arbitration_id:#x} is out of range for a standard (11-bit) ID: "
            "must be in 0x0..0x7ff; set is_extended_id=True for 29-bit IDs"
        )


def _check_length(length: int, is_remote_frame: object, is_fd: object) -> None:
    if is_remote_frame and length:
        raise ValueError(
            "a remote frame carries no data; pass dlc= for the requested length instead"
        )
    if is_fd:
        if length > _FD_MAX_LEN:
            raise ValueError(f"data is {length} bytes, but a CAN FD frame carries at most 64")
    elif length > _CLASSIC_MAX_LEN:
        raise ValueError(
            f"data is {length} bytes, but a classic CAN frame carries at most 8; "
            "set is_fd=True for up to 64"
        )


def _check_dlc(dlc: int | None, length: int, is_remote_frame: object, is_fd: object) -> int:
    """Check ``dlc`` against the data and return it (``length`` when ``None``)."""
    if dlc is None or dlc == length:
        return length
    if is_remote_frame:
        if not 0 <= dlc <= _CLASSIC_MAX_LEN:
            raise ValueError(f"dlc {dlc} is out of range for a remote frame: must be in 0..8")
    elif is_fd:
        raise ValueError(
            f"dlc {dlc} contradicts the {length} data bytes: leave dlc=None or set it to {length}"
        )
    elif not (length == _CLASSIC_MAX_LEN and 9 <= dlc <= 15):
        raise ValueError(
            f"dlc {dlc} contradicts the {length} data bytes: leave dlc=None or set it to "
            f"{length} (9..15 are allowed only with 8 data bytes)"
        )
    return dlc


class Message:
    """A CAN, CAN FD or CAN XL frame, with python-can's ``can.Message`` interface.

    Messages compare by identity, as in python-can; use :meth:`equals` to
    compare values. Only the documented attributes exist (``__slots__``), and
    assigning them is not checked: the backends check a message again when it
    is sent.
    """

    __slots__ = (
        "__weakref__",
        "_data",
        "acceptance_field",
        "arbitration_id",
        "bitrate_switch",
        "channel",
        "dlc",
        "error_state_indicator",
        "is_error_frame",
        "is_extended_id",
        "is_fd",
        "is_remote_frame",
        "is_rx",
        "is_xl",
        "sdu_type",
        "simple_extended_content",
        "timestamp",
        "vcid",
    )

    timestamp: float
    arbitration_id: int
    is_extended_id: bool
    is_remote_frame: bool
    is_error_frame: bool
    channel: Channel | None
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
    _data: bytearray

    def __init__(
        self,
        timestamp: float = 0.0,
        arbitration_id: int = 0,
        is_extended_id: bool = _EXTENDED_DEFAULT,
        is_remote_frame: bool = False,
        is_error_frame: bool = False,
        channel: Channel | None = None,
        dlc: int | None = None,
        data: CanData | None = None,
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
        **legacy: Any,
    ) -> None:
        """Build and validate a message; ``check`` is accepted for
        compatibility and ignored, since ferrocan always validates.

        A CAN XL frame (``is_xl=True``) has an 11-bit priority ID as its
        ``arbitration_id`` (``is_extended_id`` then defaults to False), 1 to
        2048 data bytes, and the fields ``sdu_type`` (0..255),
        ``acceptance_field`` (32 bits), ``simple_extended_content`` and
        ``vcid`` (the virtual CAN network ID, 0..255)."""
        if legacy:
            is_extended_id = _legacy_extended_id(is_extended_id, legacy)
        elif is_extended_id is _EXTENDED_DEFAULT:
            is_extended_id = is_xl is not True
        self.timestamp, self.arbitration_id, self.dlc, self._data = check_fields(
            timestamp,
            arbitration_id,
            is_extended_id,
            is_remote_frame,
            is_error_frame,
            channel,
            dlc,
            data,
            is_fd,
            is_rx,
            bitrate_switch,
            error_state_indicator,
            is_xl,
            sdu_type,
            acceptance_field,
            simple_extended_content,
            vcid,
        )
        self.is_extended_id = is_extended_id
        self.is_remote_frame = is_remote_frame
        self.is_error_frame = is_error_frame
        self.channel = channel
        self.is_fd = is_fd
        self.is_rx = is_rx
        self.bitrate_switch = bitrate_switch
        self.error_state_indicator = error_state_indicator
        self.is_xl = is_xl
        self.sdu_type = int(sdu_type)
        self.acceptance_field = int(acceptance_field)
        self.simple_extended_content = simple_extended_content
        self.vcid = int(vcid)

    @classmethod
    def _unchecked(
        cls: type[_M],
        timestamp: float,
        arbitration_id: int,
        is_extended_id: bool,
        is_remote_frame: bool,
        is_error_frame: bool,
        channel: Channel | None,
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
    ) -> _M:
        """Build a message without validation, for frames the kernel delivered."""
        msg = object.__new__(cls)
        msg.timestamp = timestamp
        msg.arbitration_id = arbitration_id
        msg.is_extended_id = is_extended_id
        msg.is_remote_frame = is_remote_frame
        msg.is_error_frame = is_error_frame
        msg.channel = channel
        msg.dlc = dlc
        msg._data = data
        msg.is_fd = is_fd
        msg.is_rx = is_rx
        msg.bitrate_switch = bitrate_switch
        msg.error_state_indicator = error_state_indicator
        msg.is_xl = is_xl
        msg.sdu_type = sdu_type
        msg.acceptance_field = acceptance_field
        msg.simple_extended_content = simple_extended_content
        msg.vcid = vcid
        return msg

    @property
    def data(self) -> bytearray:
        """The payload; assigning any bytes-like or iterable of ints stores a bytearray."""
        return self._data

    @data.setter
    def data(self, value: CanData | None) -> None:
        payload, range_error = _coerce_data(value)
        if range_error is not None:
            raise ValueError(range_error)
        self._data = payload

    def __str__(self) -> str:
        return format_str(self)

    def __repr__(self) -> str:
        return format_repr(self)

    def __format__(self, format_spec: str) -> str:
        if format_spec:
            raise ValueError("non-empty format_specs are not supported")
        return self.__str__()

    def __len__(self) -> int:
        # The dlc, not len(data): a remote frame's requested length counts.
        return max(self.dlc, 0)

    def __bool__(self) -> bool:
        return True

    def __bytes__(self) -> bytes:
        return bytes(self._data)

    def __copy__(self: _M) -> _M:
        """A shallow copy: like python-can's, it shares the data bytearray."""
        return self._unchecked(*self._fields(), **self._xl_fields())

    def __deepcopy__(self: _M, memo: dict[int, Any]) -> _M:
        copy = self._unchecked(*self._fields(), **self._xl_fields())
        copy.channel = deepcopy(self.channel, memo)
        copy._data = deepcopy(self._data, memo)
        return copy

    def __reduce__(self) -> tuple[Any, ...]:
        """The native Message's reduction, so that a pickle made by one
        implementation loads in the other (both are ``ferrocan.Message``).

        The constructor's arguments, python-can's twelve; a CAN XL message,
        whose data the constructor would refuse without ``is_xl`` (which
        pickle cannot pass: it is keyword-only), is built with no data and
        gets its data, dlc and CAN XL fields from :meth:`__setstate__`.
        """
        fields = self._fields()
        if not self.is_xl:
            return type(self), (*fields[:6], self.dlc, bytes(self._data), *fields[8:])
        state = {**self._xl_fields(), "dlc": self.dlc, "data": bytes(self._data)}
        return type(self), (*fields[:6], 0, b"", *fields[8:]), state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Apply the state of a CAN XL message's pickle (see :meth:`__reduce__`)."""
        self.is_xl = state["is_xl"]
        self.sdu_type = state["sdu_type"]
        self.acceptance_field = state["acceptance_field"]
        self.simple_extended_content = state["simple_extended_content"]
        self.vcid = state["vcid"]
        self.dlc = state["dlc"]
        self._data = bytearray(state["data"])

    def _fields(self) -> tuple[Any, ...]:
        """Every field, in constructor order."""
        return (
            self.timestamp,
            self.arbitration_id,
            self.is_extended_id,
            self.is_remote_frame,
            self.is_error_frame,
            self.channel,
            self.dlc,
            self._data,
            self.is_fd,
            self.is_rx,
            self.bitrate_switch,
            self.error_state_indicator,
        )

    def _xl_fields(self) -> dict[str, Any]:
        """The CAN XL fields, by name."""
        return dict(zip(XL_FIELDS, xl_fields(self)))

    def equals(
        self,
        other: Any,
        timestamp_delta: float | None = 1.0e-6,
        check_channel: bool = True,
        check_direction: bool = True,
    ) -> bool:
        """Compare by value, as python-can's ``Message.equals``.

        ``timestamp_delta`` is the largest difference in seconds at which two
        timestamps still count as equal (``None``: ignore timestamps);
        ``check_channel`` and ``check_direction`` say whether ``channel`` and
        ``is_rx`` must match. ``other`` may be a ``can.Message``.
        """
        return equals(self, other, timestamp_delta, check_channel, check_direction)


# Pickles refer to the public name, ferrocan.Message, whichever implementation backs it.
Message.__module__ = "ferrocan"


def _legacy_extended_id(is_extended_id: object, legacy: dict[str, Any]) -> Any:
    """``is_extended_id`` from python-can's deprecated ``extended_id``, the
    only legacy keyword; any other is unknown."""
    for name in legacy:
        if name != "extended_id":
            raise TypeError(f"Message() got an unexpected keyword argument '{name}'")
    if is_extended_id is not _EXTENDED_DEFAULT:
        raise TypeError("pass is_extended_id or extended_id, not both")
    # stacklevel 3: past this function and Message.__init__, to the caller.
    warnings.warn("extended_id is deprecated; use is_extended_id", DeprecationWarning, stacklevel=3)
    return legacy["extended_id"]
