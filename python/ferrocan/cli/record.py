"""record and replay: CAN traffic to a candump log file, and back

``ferrocan record FILE`` writes candump -L lines (``(1795505855.998830) vcan0
123#DEADBEEF``) until Ctrl-C, -n COUNT frames or -T TIMEOUT_MS without a
frame; ``ferrocan replay FILE`` sends them again, at their original pace.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from itertools import groupby
from typing import TYPE_CHECKING, TextIO

from ferrocan.bus import Bus
from ferrocan.candump_log import LogEntry, read_log, write_log
from ferrocan.cli._args import add_command, count
from ferrocan.cli._receive import (
    ANY,
    INTERFACES_HELP,
    Receiver,
    Source,
    add_stop_options,
    stop_after,
)

if TYPE_CHECKING:
    from ferrocan.cli._args import Commands

RECORD = """record CAN traffic to a candump log file

Writes each frame received as a candump -L line, until Ctrl-C, -n COUNT
frames or -T TIMEOUT_MS without a frame. FILE - is stdout.

examples:
  ferrocan record traffic.log
  ferrocan record traffic.log -i vcan0 -i vcan1,#FFFFFFFF -n 1000
"""

REPLAY = """send the frames of a candump log file again

Sends each frame on the interface the log names (-I: all on IFACE), at the
pace the timestamps tell, relative to the first frame (-x: as fast as
possible). Lines that do not start with '(' are skipped, as canplayer does.

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
        help=f"{INTERFACES_HELP} (default: {ANY}; repeat -i for several)",
    )
    add_stop_options(recorder)
    player = add_command(commands, "replay", REPLAY, replay)
    player.add_argument("file", metavar="FILE", help="the candump log file to send")
    player.add_argument("-I", dest="interface", metavar="IFACE", help="send every frame on IFACE")
    player.add_argument("-x", dest="fast", action="store_true", help="as fast as possible")
    player.add_argument("-l", dest="loops", type=count, default=1, help="send the log LOOPS times")


def record(args: argparse.Namespace) -> int:
    sources = [Source.parse(text) for text in args.interfaces or [ANY]]
    with Receiver(sources, args.prog) as receiver, _output(args.file) as out:
        for batch in receiver.batches(*stop_after(args)):
            write_log(out, map(LogEntry.of, batch))
            out.flush()
    return 0


@contextmanager
def _output(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdout
        return
    with open(path, "w") as file:
        yield file


def replay(args: argparse.Namespace) -> int:
    with open(args.file) as file:
        entries = list(read_log(file))
    if args.interface:
        entries = [entry._replace(channel=args.interface) for entry in entries]
    with ExitStack() as stack:
        buses = {
            channel: stack.enter_context(Bus(channel, fd=fd))
            for channel, fd in _fd_by_channel(entries).items()
        }
        for _ in range(args.loops):
            (_send_fast if args.fast else _send_timed)(entries, buses)
    return 0


def _fd_by_channel(entries: Sequence[LogEntry]) -> dict[str, bool]:
    """The interfaces the log names, and whether each is sent CAN FD frames."""
    fd: dict[str, bool] = {}
    for entry in entries:
        fd[entry.channel] = fd.get(entry.channel, False) or entry.message.is_fd
    return fd


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
