"""record and replay: CAN traffic to a log file, and back

``ferrocan record FILE`` writes candump -L lines (``(1795505855.998830) vcan0
123#DEADBEEF``) or Vector ASC until Ctrl-C, -n COUNT frames or -T TIMEOUT_MS
without a frame; ``ferrocan replay FILE`` sends them again, at their
original pace.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ferrocan._sources import ANY, FILTERS_HELP
from ferrocan.bus import Bus
from ferrocan.candump_log import LogEntry, read_log
from ferrocan.cli import _receive
from ferrocan.cli._args import add_command, count
from ferrocan.message import Message

if TYPE_CHECKING:
    import can

    from ferrocan.cli._args import Commands

RECORD = """record CAN traffic to a log file

Writes each frame received, until Ctrl-C, -n COUNT frames or -T TIMEOUT_MS
without a frame: as a candump -L line to FILE.log (or FILE - : stdout), in
Vector's ASC or BLF format to FILE.asc or FILE.blf (-f chooses otherwise). A thread of the
Rust core receives, formats and writes in batches, so a saturated bus is
recorded whole; frames the kernel still drops are reported (DROPCOUNT).

examples:
  ferrocan record traffic.log
  ferrocan record traffic.asc -i vcan0 -i vcan1,#FFFFFFFF -n 1000
"""

REPLAY = """send the frames of a log file again

Sends each frame of a candump log (.log), Vector ASC (.asc) or BLF (.blf)
file on the interface the log names (-I: all on IFACE; BLF names none), at
the pace the timestamps tell, relative to the first frame (-x: as fast as
possible). In candump logs, lines that do not start with '(' are skipped,
as canplayer does. ASC and BLF are read with python-can.

examples:
  ferrocan replay traffic.log
  ferrocan replay traffic.log -I vcan1 -x -l 10
"""


def register(commands: Commands) -> None:
    recorder = add_command(commands, "record", RECORD, record)
    recorder.add_argument("file", metavar="FILE", help="the log file to write (- for stdout)")
    recorder.add_argument(
        "-i",
        dest="interfaces",
        action="append",
        metavar="IFACE",
        help=f"{FILTERS_HELP} (default: {ANY}; repeat -i for several)",
    )
    recorder.add_argument(
        "-f",
        dest="format",
        choices=("log", "asc", "blf"),
        help="the file's format (default: by its suffix, .log, .asc or .blf; log for -)",
    )
    _receive.add_receive_options(recorder)
    player = add_command(commands, "replay", REPLAY, replay)
    player.add_argument("file", metavar="FILE", help="the log file to send (.log or .asc)")
    player.add_argument("-I", dest="interface", metavar="IFACE", help="send every frame on IFACE")
    player.add_argument("-x", dest="fast", action="store_true", help="as fast as possible")
    player.add_argument("-l", dest="loops", type=count, default=1, help="send the log LOOPS times")


def record(args: argparse.Namespace) -> int:
    file = sys.stdout if args.file == "-" else args.file
    recorder = _receive.recorder(args, file, args.interfaces or [ANY], args.format)
    return _receive.run(recorder, args)


def replay(args: argparse.Namespace) -> int:
    entries = _read(args.file, args.interface)
    if args.interface:
        entries = [entry._replace(channel=args.interface) for entry in entries]
    with ExitStack() as stack:
        buses = {
            channel: stack.enter_context(Bus(channel, fd=kinds.fd, xl=kinds.xl))
            for channel, kinds in _kinds_by_channel(entries).items()
        }
        for _ in range(args.loops):
            (_send_fast if args.fast else _send_timed)(entries, buses)
    return 0


def _read(path: str, interface: str | None) -> list[LogEntry]:
    suffix = Path(path).suffix.lower()
    if suffix not in (".asc", ".blf"):
        with open(path) as file:
            return list(read_log(file))
    try:
        from can.io.asc import ASCReader
        from can.io.blf import BLFReader
    except ImportError:
        raise ValueError(
            f"replaying {path} needs python-can, which reads ASC and BLF: pip install python-can"
        ) from None
    if suffix == ".blf":
        return _vector_entries(path, BLFReader(path), {}, interface)
    with open(path) as file:
        names = dict(_CHANNEL_COMMENT.findall(file.read()))
    return _vector_entries(path, ASCReader(path), names, interface)


def _vector_entries(
    path: str, reader: Iterable[can.Message], names: dict[str, str], interface: str | None
) -> list[LogEntry]:
    """The frames of a Vector file, read with python-can. Its channel numbers
    become the interfaces that ferrocan's ASC comments (``// channel 1:
    vcan0``) name, or -I's; BLF keeps numbers only."""
    entries = []
    for msg in reader:
        number = str(msg.channel + 1) if isinstance(msg.channel, int) else "1"
        channel = interface or names.get(number)
        if channel is None:
            raise ValueError(
                f"{path} does not say which interface its channel {number} is: "
                "give one with -I IFACE"
            )
        entries.append(LogEntry(msg.timestamp, channel, _message(msg, channel)))
    return entries


#: How ferrocan's ASC files name an interface: ``// channel 1: vcan0``.
_CHANNEL_COMMENT = re.compile(r"^// channel (\d+): (\S+)$", re.MULTILINE)


def _message(msg: can.Message, channel: str) -> Message:
    return Message(
        timestamp=msg.timestamp,
        arbitration_id=msg.arbitration_id,
        is_extended_id=msg.is_extended_id,
        is_remote_frame=msg.is_remote_frame,
        is_error_frame=msg.is_error_frame,
        channel=channel,
        dlc=msg.dlc,
        data=msg.data,
        is_fd=msg.is_fd,
        bitrate_switch=msg.bitrate_switch,
        error_state_indicator=msg.error_state_indicator,
    )


class _Kinds(NamedTuple):
    """Whether an interface is sent CAN FD frames, and CAN XL frames."""

    fd: bool = False
    xl: bool = False


def _kinds_by_channel(entries: Sequence[LogEntry]) -> dict[str, _Kinds]:
    """The interfaces the log names, and the kinds of frame each is sent."""
    kinds: dict[str, _Kinds] = {}
    for entry in entries:
        seen = kinds.get(entry.channel, _Kinds())
        msg = entry.message
        kinds[entry.channel] = _Kinds(seen.fd or msg.is_fd, seen.xl or msg.is_xl)
    return kinds


def _send_timed(entries: Sequence[LogEntry], buses: dict[str, Bus]) -> None:
    """Each frame when it is due: as long after the start as after the first frame."""
    start = time.monotonic()
    for entry in entries:
        delay = start + entry.timestamp - entries[0].timestamp - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        buses[entry.channel].send(entry.message)


def _send_fast(entries: Sequence[LogEntry], buses: dict[str, Bus]) -> None:
    """Runs of frames for one interface, each with one send_batch."""
    for channel, run in groupby(entries, key=lambda entry: entry.channel):
        buses[channel].send_batch([entry.message for entry in run])
