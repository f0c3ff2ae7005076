"""candump's log format (``candump -L`` and ``-l``, read by canplayer), both ways.

    (1795505855.998830) vcan0 123#DEADBEEF

A line holds the receive time (epoch seconds, with microseconds), the
interface and the frame in cansend syntax (``ferrocan.cansend``): error frames
as ``20000040#...`` (8 digits with CAN_ERR_FLAG), CAN FD frames with their
flags digit (``123##5...``: BRS and FDF, which the kernel sets on every FD
frame it delivers), CAN XL frames with their header (``45123#81:00:12345678#...``).

    for entry in read_log(open("candump.log")):  # LogEntry(timestamp, channel, message)
        ...
    write_log(sys.stdout, entries)

Malformed lines raise ``ValueError`` naming the line and the problem. The
Rust implementation parses lines where the native module is installed,
otherwise the pure-Python one (``ferrocan._candump_log``); both behave
identically.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple, TextIO

from ferrocan.cansend import format_frame
from ferrocan.message import Message

try:
    from ferrocan._native import parse_log_line as _parse_line
except ImportError:
    from ferrocan._candump_log import parse_line as _parse_line

__all__ = ["LogEntry", "format_line", "parse_line", "read_log", "write_log"]


class LogEntry(NamedTuple):
    """One frame of a log; ``message`` carries the timestamp and channel too."""

    timestamp: float
    channel: str
    message: Message

    @classmethod
    def of(cls, msg: Message) -> LogEntry:
        """A received message's entry: its receive time and interface."""
        if not isinstance(msg.channel, str) or not msg.channel:
            raise ValueError(
                f"a log line names its interface, but the message's channel is {msg.channel!r}; "
                "give it one (msg.channel = 'can0') or use LogEntry(timestamp, channel, msg)"
            )
        return cls(msg.timestamp, msg.channel, msg)


def parse_line(line: str, number: int | None = None) -> LogEntry:
    """One log line (``number`` is named in errors)."""
    try:
        return LogEntry._make(_parse_line(line))
    except ValueError as error:
        if number is None:
            raise
        raise ValueError(f"line {number}: {error}") from None


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
