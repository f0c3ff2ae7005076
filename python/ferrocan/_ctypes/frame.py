"""Messages to and from the kernel's ``struct can_frame``, ``struct
canfd_frame`` and ``struct canxl_frame``.

The first two share one layout (``<linux/can.h>``)::

    u32 can_id   ID and the EFF/RTR/ERR flags, in host byte order
    u8  len      payload length
    u8  flags    CAN FD only: BRS, ESI, FDF
    u8  __res0
    u8  len8_dlc classic only: the DLC (9..15) of an 8-byte frame
    u8  data[8] or data[64]

and the kernel tells them apart by size alone: 16 bytes classic, 72 bytes FD.
A CAN XL frame is a header and exactly its data (13 to 2060 bytes)::

    u32 prio     the 11-bit priority ID, and the VCID in bits 16..23
    u8  flags    XLF (always set), SEC
    u8  sdt      SDU type
    u16 len      payload length, 1..2048
    u32 af       acceptance field
    u8  data[len]

whose size may be a classic or FD frame's: its XLF flag, where the others
have their length (at most 64), tells it apart.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, TypeVar

from ferrocan._can_h import (
    CAN_EFF_FLAG,
    CAN_EFF_MASK,
    CAN_ERR_FLAG,
    CAN_RTR_FLAG,
    CAN_SFF_MASK,
    CANFD_BRS,
    CANFD_ESI,
    CANFD_FDF,
    CANFD_MTU,
    CANXL_HDR_SIZE,
    CANXL_PRIO_MASK,
    CANXL_SEC,
    CANXL_VCID_MASK,
    CANXL_VCID_OFFSET,
    CANXL_XLF,
)
from ferrocan._message import checked_fields

_HEADER = struct.Struct("=IBBxB")
# "8s"/"64s" pad the data with zeros up to the frame's full size.
_CLASSIC = struct.Struct("=IBxxB8s")
_FD = struct.Struct("=IBBxx64s")
_XL_HEADER = struct.Struct("=IBBHI")
#: The offset of the flags byte, where CAN XL has XLF and the others their length.
FLAGS_OFFSET = 4


def _taking_bytearrays(pack: Callable[..., bytes]) -> Callable[..., bytes]:
    """``pack`` itself where struct's "s" takes any bytes-like object
    (CPython); else ``pack`` given the data, its last field, as bytes: PyPy's
    struct takes bytes only, and the data comes as a bytearray."""
    try:
        pack(0, 0, 0, bytearray())
    except TypeError:
        return lambda can_id, length, flags, data: pack(can_id, length, flags, bytes(data))
    return pack


_pack_classic = _taking_bytearrays(_CLASSIC.pack)
_pack_fd = _taking_bytearrays(_FD.pack)

_FD_LENGTHS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)
#: The length a CAN FD frame must have to carry n bytes: the next DLC step.
_FD_PADDED = tuple(min(n for n in _FD_LENGTHS if n >= size) for size in range(65))

_M = TypeVar("_M")


def encode(msg: Any) -> bytes:
    """The kernel frame for ``msg``: CAN_MTU or CANFD_MTU bytes, or a CAN
    XL frame's header and data.

    ``msg`` is anything with python-can's ``Message`` attributes (a
    ``ferrocan.Message`` of either implementation, a ``can.Message``); they
    are validated as they are now, since they may have changed since the
    message was built.
    """
    fields, (_, arbitration_id, dlc, data) = checked_fields(msg, "send()")
    _, _, extended, remote, error, _, _, _, is_fd, _, brs, esi, is_xl, sdt, af, sec, vcid = fields
    if is_xl:
        return _encode_xl(arbitration_id, data, sdt, af, sec, vcid)
    can_id = arbitration_id
    if extended:
        can_id |= CAN_EFF_FLAG
    if remote:
        can_id |= CAN_RTR_FLAG
    if error:
        can_id |= CAN_ERR_FLAG
    if is_fd:
        flags = CANFD_FDF | (CANFD_BRS if brs else 0) | (CANFD_ESI if esi else 0)
        return _pack_fd(can_id, _FD_PADDED[len(data)], flags, data)
    if remote:
        return _CLASSIC.pack(can_id, dlc, 0, b"")
    return _pack_classic(can_id, len(data), dlc if dlc > len(data) else 0, data)


def _encode_xl(
    priority: int,
    data: bytearray,
    sdu_type: int,
    acceptance_field: int,
    simple_extended_content: bool,
    vcid: int,
) -> bytes:
    flags = CANXL_XLF | (CANXL_SEC if simple_extended_content else 0)
    prio = priority | vcid << CANXL_VCID_OFFSET
    return _XL_HEADER.pack(prio, flags, sdu_type, len(data), acceptance_field) + data


def vcid_of(xl_frame: bytes) -> int:
    """The VCID in an encoded CAN XL frame."""
    prio: int = _XL_HEADER.unpack_from(xl_frame)[0]
    return (prio & CANXL_VCID_MASK) >> CANXL_VCID_OFFSET


def decode_any(
    make: Callable[..., _M],
    frame: bytearray,
    size: int,
    timestamp: float,
    is_rx: bool,
    channel: str | None,
) -> _M:
    """:func:`decode` for a socket that also receives CAN XL frames."""
    if frame[FLAGS_OFFSET] & CANXL_XLF:
        return _decode_xl(make, frame, timestamp, is_rx, channel)
    return decode(make, frame, size, timestamp, is_rx, channel)


def _decode_xl(
    make: Callable[..., _M],
    frame: bytearray,
    timestamp: float,
    is_rx: bool,
    channel: str | None,
) -> _M:
    prio, flags, sdu_type, length, acceptance_field = _XL_HEADER.unpack_from(frame)
    return make(
        timestamp,
        prio & CANXL_PRIO_MASK,
        False,
        False,
        False,
        channel,
        length,
        frame[CANXL_HDR_SIZE : CANXL_HDR_SIZE + length],
        False,
        is_rx,
        False,
        False,
        is_xl=True,
        sdu_type=sdu_type,
        acceptance_field=acceptance_field,
        simple_extended_content=bool(flags & CANXL_SEC),
        vcid=(prio & CANXL_VCID_MASK) >> CANXL_VCID_OFFSET,
    )


def decode(
    make: Callable[..., _M],
    frame: bytearray,
    size: int,
    timestamp: float,
    is_rx: bool,
    channel: str | None,
) -> _M:
    """The message in the first ``size`` bytes of ``frame``, built by ``make``.

    ``make`` is a Message class's ``_unchecked``: what the kernel delivers
    needs no validation.
    """
    can_id, length, flags, len8_dlc = _HEADER.unpack_from(frame)
    is_fd = size == CANFD_MTU
    remote = bool(can_id & CAN_RTR_FLAG)
    dlc = length
    if is_fd:
        brs = bool(flags & CANFD_BRS)
        esi = bool(flags & CANFD_ESI)
    else:
        brs = esi = False
        if not remote and length == 8 and 9 <= len8_dlc <= 15:
            dlc = len8_dlc
    # Error frames carry their class bits above the standard ID range.
    mask = CAN_EFF_MASK if can_id & (CAN_EFF_FLAG | CAN_ERR_FLAG) else CAN_SFF_MASK
    return make(
        timestamp,
        can_id & mask,
        bool(can_id & CAN_EFF_FLAG),
        remote,
        bool(can_id & CAN_ERR_FLAG),
        channel,
        dlc,
        bytearray() if remote else frame[8 : 8 + length],
        is_fd,
        is_rx,
        brs,
        esi,
    )
