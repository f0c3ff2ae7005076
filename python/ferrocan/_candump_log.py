"""candump's log line in pure Python, used when the native module is not
available (``ferrocan.candump_log`` describes the format); src/candump_log.rs
is its Rust twin, with the same rules and error texts."""

from __future__ import annotations

import math

from ferrocan._cansend import parse_frame
from ferrocan._errors import check_channel
from ferrocan.message import Message

__all__ = ["parse_line"]


def parse_line(line: str) -> tuple[float, str, Message]:
    """One log line: its timestamp, its channel, and its message, which carries both."""
    fields = line.split()
    if len(fields) != 3 or not line.startswith("("):
        raise ValueError(
            f"expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got {line.rstrip()!r}"
        )
    stamp, channel, frame = fields
    timestamp = _timestamp(stamp)
    check_channel(channel)
    msg = parse_frame(frame)
    msg.timestamp = timestamp
    msg.channel = channel
    return timestamp, channel, msg


def _timestamp(stamp: str) -> float:
    seconds, dot, fraction = stamp[1:-1].partition(".")
    if not (stamp.endswith(")") and dot and _decimal(seconds) and _decimal(fraction)):
        raise ValueError(f"the timestamp {stamp!r} must be (SECONDS.MICROSECONDS) in digits 0-9")
    value = float(stamp[1:-1])
    if not math.isfinite(value):
        raise ValueError(f"the timestamp {stamp!r} is too large")
    return value


def _decimal(text: str) -> bool:
    return text.isascii() and text.isdigit()
