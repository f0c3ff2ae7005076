"""cansend's frame syntax (can-utils), both ways.

    parse_frame("123#DEADBEEF")      # standard ID (3 hex digits), 4 data bytes
    parse_frame("1FFFFFFF#11.22")    # extended ID (8 hex digits); dots may separate bytes
    parse_frame("123#R") / ("123#R3")  # remote frame, requesting 0 / 3 bytes
    parse_frame("123##1112233")      # CAN FD: the digit after ## is canfd_frame.flags
                                     # (BRS=1, ESI=2, FDF=4), then the data
    parse_frame("20000040#0000000000000000")  # CAN_ERR_FLAG in 8 digits: an error frame
    parse_frame("45123#81:00:12345678#11223344")  # CAN XL: VCID 45 and priority ID 123,
                                     # canxl_frame.flags (XLF=80, implied; SEC=01), the
                                     # SDU type, the acceptance field, then 1..2048 bytes
    format_frame(msg)                # the reverse, as ``candump -L`` prints a frame

Malformed text raises ``ValueError`` naming the frame, the part and the problem.
The Rust implementation does the work where the native module is installed,
otherwise the pure-Python one (``ferrocan._cansend``); both behave identically.
"""

from __future__ import annotations

from ferrocan._can_h import (
    CAN_EFF_FLAG,
    CAN_EFF_MASK,
    CAN_ERR_FLAG,
    CAN_MAX_DLEN,
    CAN_SFF_MASK,
    CANFD_MAX_DLEN,
    CANXL_HDR_SIZE,
    CANXL_MTU,
    CANXL_SEC,
    CANXL_XLF,
)

#: The most data a CAN XL frame carries.
CANXL_MAX_DLEN = CANXL_MTU - CANXL_HDR_SIZE

try:
    from ferrocan._native import format_frame, parse_frame
except ImportError:
    from ferrocan._cansend import format_frame, parse_frame

__all__ = [
    "CANFD_MAX_DLEN",
    "CANXL_MAX_DLEN",
    "CANXL_SEC",
    "CANXL_XLF",
    "CAN_EFF_FLAG",
    "CAN_EFF_MASK",
    "CAN_ERR_FLAG",
    "CAN_MAX_DLEN",
    "CAN_SFF_MASK",
    "format_frame",
    "parse_frame",
]
