"""cansend's frame syntax in pure Python, used when the native module is not
available (``ferrocan.cansend`` describes it); src/cansend.rs is its Rust twin,
with the same rules and error texts."""

from __future__ import annotations

import string

from ferrocan._can_h import (
    CAN_EFF_FLAG,
    CAN_EFF_MASK,
    CAN_ERR_FLAG,
    CAN_MAX_DLEN,
    CAN_RTR_FLAG,
    CAN_SFF_MASK,
    CANFD_BRS,
    CANFD_ESI,
    CANFD_FDF,
    CANFD_MAX_DLEN,
)
from ferrocan._message import checked_fields
from ferrocan.message import Message

__all__ = ["format_frame", "parse_frame"]


_HEX_DIGITS = frozenset(string.hexdigits)


def parse_frame(text: str) -> Message:
    """The frame that ``cansend IFACE TEXT`` would send."""
    ident, delimiter, rest = text.partition("#")
    if not delimiter:
        raise _malformed(text, "there is no '#' after the ID (expected e.g. 123#DEADBEEF)")
    can_id, extended, error = _parse_id(text, ident)
    if rest[:1] in ("R", "r"):
        if error:
            raise _malformed(text, "an error frame cannot be a remote frame")
        return _remote(text, can_id, extended, rest[1:])
    if rest[:1] == "#":
        if error:
            raise _malformed(text, "an error frame cannot be a CAN FD frame")
        return _fd(text, can_id, extended, rest[1:])
    data = _parse_data(text, rest, CAN_MAX_DLEN)
    return Message(arbitration_id=can_id, is_extended_id=extended, is_error_frame=error, data=data)


def format_frame(msg: Message) -> str:
    """``msg`` in cansend syntax, exactly as ``candump -L`` prints it."""
    checked_fields(msg, "format_frame()")
    data = msg.data.hex().upper()
    if msg.is_error_frame:
        return f"{CAN_ERR_FLAG | msg.arbitration_id:08X}#{data}"
    ident = f"{msg.arbitration_id:08X}" if msg.is_extended_id else f"{msg.arbitration_id:03X}"
    if msg.is_remote_frame:
        return f"{ident}#R{msg.dlc or ''}"
    if msg.is_fd:
        return f"{ident}##{_fd_flags(msg):X}{data}"
    return f"{ident}#{data}"


def _fd_flags(msg: Message) -> int:
    """The ``canfd_frame.flags`` of an FD message, as the kernel delivers it."""
    brs = CANFD_BRS if msg.bitrate_switch else 0
    esi = CANFD_ESI if msg.error_state_indicator else 0
    return CANFD_FDF | brs | esi


def _malformed(text: str, problem: str) -> ValueError:
    return ValueError(f"malformed CAN frame {text!r}: {problem}")


def _parse_id(text: str, ident: str) -> tuple[int, bool, bool]:
    """(arbitration ID, extended, error frame)."""
    if len(ident) not in (3, 8):
        raise _malformed(
            text, f"the ID {ident!r} must have 3 hex digits (standard) or 8 (extended)"
        )
    if not _HEX_DIGITS.issuperset(ident):
        raise _malformed(text, f"the ID {ident!r} is not hexadecimal")
    value = int(ident, 16)
    if len(ident) == 3:
        if value > CAN_SFF_MASK:
            raise _malformed(
                text, f"the standard (11-bit) ID {ident!r} is out of range: must be 000..7FF"
            )
        return value, False, False
    if value & CAN_ERR_FLAG and not value & (CAN_EFF_FLAG | CAN_RTR_FLAG):
        # Linux's error classes fit in 11 bits; Message takes wider ones as extended.
        classes = value & CAN_EFF_MASK
        return classes, classes > CAN_SFF_MASK, True
    if value > CAN_EFF_MASK:
        raise _malformed(
            text,
            f"the extended (29-bit) ID {ident!r} is out of range: must be 00000000..1FFFFFFF "
            "(2xxxxxxx is an error frame)",
        )
    return value, True, False


def _remote(text: str, can_id: int, extended: bool, length: str) -> Message:
    if length and (len(length) != 1 or length not in "012345678"):
        raise _malformed(text, f"the remote frame's length 'R{length}' must be R or R0..R8")
    return Message(
        arbitration_id=can_id,
        is_extended_id=extended,
        is_remote_frame=True,
        dlc=int(length or "0"),
    )


def _fd(text: str, can_id: int, extended: bool, rest: str) -> Message:
    flags = rest[:1]
    if not flags:
        raise _malformed(text, "the CAN FD flags digit is missing after '##'")
    if flags not in _HEX_DIGITS:
        raise _malformed(text, f"the CAN FD flags {flags!r} are not a hex digit")
    value = int(flags, 16)
    return Message(
        arbitration_id=can_id,
        is_extended_id=extended,
        is_fd=True,
        bitrate_switch=bool(value & CANFD_BRS),
        error_state_indicator=bool(value & CANFD_ESI),
        data=_parse_data(text, rest[1:], CANFD_MAX_DLEN),
    )


def _parse_data(text: str, data: str, limit: int) -> bytes:
    """Hex digit pairs, each optionally preceded and followed by one dot."""
    digits = data.replace(".", "")
    if not _HEX_DIGITS.issuperset(digits):
        raise _malformed(text, f"the data {data!r} is not hexadecimal")
    if len(digits) % 2:
        raise _malformed(text, f"the data {data!r} has an odd number of hex digits (2 per byte)")
    if not _dots_between_bytes(data):
        raise _malformed(text, f"the data {data!r} has a misplaced '.': dots separate bytes")
    if len(digits) > 2 * limit:
        kind = "a CAN FD frame" if limit == CANFD_MAX_DLEN else "a classic CAN frame"
        hint = "" if limit == CANFD_MAX_DLEN else " (use ## for CAN FD)"
        raise _malformed(
            text, f"the data is {len(digits) // 2} bytes, but {kind} carries at most {limit}{hint}"
        )
    return bytes.fromhex(digits)


def _dots_between_bytes(data: str) -> bool:
    """Whether every dot stands at a byte boundary, and no two are adjacent."""
    position = 0  # hex digits seen so far
    previous = ""
    for char in data:
        if char == "." and (position % 2 or previous == "."):
            return False
        position += char != "."
        previous = char
    return True
