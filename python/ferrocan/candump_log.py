"""candump's log format (``candump -L`` and ``-l``, read by canplayer), both ways.

    (1795505855.998830) vcan0 123#DEADBEEF

A line holds the receive time (epoch seconds, with microseconds), the
interface and the frame in cansend syntax (``ferrocan.cansend``): error frames
as ``20000040#...`` (8 digits with CAN_ERR_FLAG), CAN FD frames with their
flags digit (``123##5...``: BRS and FDF, which the kernel sets on every FD
frame it delivers).

    for entry in read_log(open("candump.log")):  # LogEntry(timestamp, channel, message)
        ...
    write_log(sys.stdout, entries)

Malformed lines raise ``ValueError`` naming the line and the problem.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import NamedTuple, TextIO

from ferrocan.bus import check_channel
from ferrocan.cansend import format_frame, parse_frame
from ferrocan.message import Message

__all__ = ["LogEntry", "format_line", "parse_line", "read_log", "write_log"]


class LogEntry(NamedTuple):
    """One frame of a log; ``message`` carries the timestamp and channel too."""

    timestamp: float
    channel: str
    message: Message

    @classmethod
    def of(cls, msg: Message) -> LogEntry:
        """A received message's entry: its receive time and interface."""
        return cls(msg.timestamp, str(msg.channel), msg)


def parse_line(line: str, number: int | None = None) -> LogEntry:
    """One log line (``number`` is named in errors)."""
    where = "" if number is None else f"line {number}: "
    fields = line.split()
    if len(fields) != 3 or not line.startswith("("):
        raise ValueError(
            f"{where}expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got {line.rstrip()!r}"
        )
    stamp, channel, frame = fields
    try:
        timestamp = _timestamp(stamp)
        check_channel(channel)
        msg = parse_frame(frame)
    except ValueError as error:
        raise ValueError(f"{where}{error}") from None
    msg.timestamp = timestamp
    msg.channel = channel
    return LogEntry(timestamp, channel, msg)


def format_line(entry: LogEntry, width: int = 0) -> str:
    """The entry's line (without a newline); ``width`` right-aligns the
    interface name, as candump does across several interfaces."""
    return f"({entry.timestamp:017.6f}) {entry.channel:>{width}} {format_frame(entry.message)}"


def read_log(lines: Iterable[str]) -> Iterator[LogEntry]:
    """The entries of a log, in order. As canplayer does, lines that do not
    start with '(' (comments, blank lines, candump's DROPCOUNT notes) are skipped."""
    for number, line in enumerate(lines, 1):
        if line.startswith("("):
            yield parse_line(line, number)


def write_log(file: TextIO, entries: Iterable[LogEntry]) -> int:
    """Writes ``entries`` as log lines and returns how many."""
    count = 0
    for entry in entries:
        file.write(format_line(entry) + "\n")
        count += 1
    return count


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
