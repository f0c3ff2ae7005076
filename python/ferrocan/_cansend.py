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
    CANXL_HDR_SIZE,
    CANXL_MTU,
    CANXL_PRIO_MASK,
    CANXL_SEC,
    CANXL_XLF,
)
from ferrocan._message import checked_fields
from ferrocan.message import Message

__all__ = ["format_frame", "parse_frame"]


_HEX_DIGITS = frozenset(string.hexdigits)
_CANXL_MAX_DLEN = CANXL_MTU - CANXL_HDR_SIZE
_KINDS = {
    CAN_MAX_DLEN: ("a classic CAN frame", " (use ## for CAN FD)"),
    CANFD_MAX_DLEN: ("a CAN FD frame", ""),
    _CANXL_MAX_DLEN: ("a CAN XL frame", ""),
}


def parse_frame(text: str) -> Message:
    """The frame that ``cansend IFACE TEXT`` would send."""
    ident, delimiter, rest = text.partition("#")
    if not delimiter:
        raise _malformed(text, "there is no '#' after the ID (expected e.g. 123#DEADBEEF)")
    if len(ident) == 5:
        return _xl(text, ident, rest)
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
    fields, _ = checked_fields(msg, "format_frame()")
    data = msg.data.hex().upper()
    is_xl, sdu_type, acceptance_field, sec, vcid = fields[12:]
    if is_xl:
        flags = CANXL_XLF | (CANXL_SEC if sec else 0)
        header = f"{flags:02X}:{sdu_type:02X}:{acceptance_field:08X}"
        return f"{vcid:02X}{msg.arbitration_id:03X}#{header}#{data}"
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
            text,
            f"the ID {ident!r} must have 3 hex digits (standard), 8 (extended) "
            "or 5 (CAN XL: VCID and priority)",
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


def _xl(text: str, ident: str, rest: str) -> Message:
    """``VVPPP#FF:SS:AAAAAAAA#DATA``, split at the ID's '#': a CAN XL frame."""
    if not _HEX_DIGITS.issuperset(ident):
        raise _malformed(text, f"the ID {ident!r} is not hexadecimal")
    vcid, prio = ident[:2], ident[2:]
    if int(prio, 16) > CANXL_PRIO_MASK:
        raise _malformed(text, f"the CAN XL priority ID {prio!r} is out of range: must be 000..7FF")
    header, delimiter, data = rest.partition("#")
    if not delimiter:
        raise _malformed(
            text,
            "there is no '#' after the CAN XL header (expected e.g. 45123#81:00:12345678#11223344)",
        )
    fields = header.split(":")
    if [len(field) for field in fields] != [2, 2, 8]:
        raise _malformed(
            text,
            f"the CAN XL header {header!r} must be FLAGS:SDT:AF in 2, 2 and 8 hex digits "
            "(e.g. 80:00:12345678)",
        )
    for name, field in zip(("flags byte", "SDU type", "acceptance field"), fields):
        if not _HEX_DIGITS.issuperset(field):
            raise _malformed(text, f"the CAN XL {name} {field!r} is not hexadecimal")
    flags, sdt, af = (int(field, 16) for field in fields)
    if flags & ~(CANXL_XLF | CANXL_SEC):
        raise _malformed(
            text,
            f"the CAN XL flags {fields[0]!r} set bits other than XLF (80) and SEC (01), "
            "which ferrocan cannot represent (RRS, 02, included)",
        )
    payload = _parse_data(text, data, _CANXL_MAX_DLEN)
    if not payload:
        raise _malformed(text, "the data is empty, but a CAN XL frame carries 1 to 2048 bytes")
    return Message(
        arbitration_id=int(prio, 16),
        is_xl=True,
        sdu_type=sdt,
        acceptance_field=af,
        simple_extended_content=bool(flags & CANXL_SEC),
        vcid=int(vcid, 16),
        data=payload,
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
        kind, hint = _KINDS[limit]
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
