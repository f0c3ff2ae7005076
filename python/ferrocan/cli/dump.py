"""print the frames on CAN interfaces, as candump does

Prints each frame as candump does (-L: candump's log format), until Ctrl-C,
-n COUNT frames or -T TIMEOUT_MS without a frame. Frames the kernel drops
because this program reads too slowly are reported on stderr (DROPCOUNT).

examples:
  ferrocan dump vcan0
  ferrocan dump -L vcan0,123:7FF vcan1
  ferrocan dump any,#FFFFFFFF -n 10
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ferrocan.candump_log import LogEntry, format_line
from ferrocan.cansend import CAN_ERR_FLAG
from ferrocan.cli._args import add_command
from ferrocan.cli._receive import (
    INTERFACES_HELP,
    Receiver,
    Source,
    add_stop_options,
    stop_after,
)
from ferrocan.message import Message

if TYPE_CHECKING:
    from ferrocan.cli._args import Commands


def register(commands: Commands) -> None:
    parser = add_command(commands, "dump", __doc__, run)
    parser.add_argument("interfaces", metavar="IFACE", nargs="+", help=INTERFACES_HELP)
    parser.add_argument("-L", dest="log", action="store_true", help="candump's log format")
    add_stop_options(parser)
    parser.add_argument(
        "-x", dest="extra", action="store_true", help="show direction (RX/TX), BRS (B) and ESI (E)"
    )


def run(args: argparse.Namespace) -> int:
    sources = [Source.parse(text) for text in args.interfaces]
    printer = Printer([source.name for source in sources], log=args.log, extra=args.extra)
    with Receiver(sources, args.prog) as receiver:
        for batch in receiver.batches(*stop_after(args)):
            sys.stdout.write("".join(printer.line(msg) for msg in batch))
            sys.stdout.flush()
    return 0


class Printer:
    """candump's output, which depends on what came before: interface names
    are right-aligned to the longest so far, and standard IDs are indented
    once an extended one has been seen."""

    def __init__(self, names: Sequence[str], *, log: bool, extra: bool) -> None:
        self._width = max(len(name) for name in names)
        self._indent = False
        self._log = log
        self._extra = extra

    def line(self, msg: Message) -> str:
        channel = str(msg.channel)
        self._width = max(self._width, len(channel))
        if self._log:
            return format_line(LogEntry.of(msg), self._width) + "\n"
        self._indent |= msg.is_extended_id and not msg.is_error_frame
        extra = f"  {_direction(msg)}" if self._extra else ""
        return f"  {channel:>{self._width}}{extra}  {long_frame(msg, self._indent)}\n"


def long_frame(msg: Message, indent: bool) -> str:
    """candump's default rendering of a frame, after the interface name."""
    if msg.is_error_frame:
        ident = f"{CAN_ERR_FLAG | msg.arbitration_id:08X}  "
    elif msg.is_extended_id:
        ident = f"{msg.arbitration_id:08X}  "
    else:
        ident = f"{'     ' if indent else ''}{msg.arbitration_id:03X}  "
    data = "".join(f" {byte:02X}" for byte in msg.data)
    if msg.is_fd:
        return f"{ident}[{len(msg.data):02d}] {data}"
    if msg.is_remote_frame:
        return f"{ident} [{msg.dlc}]  remote request"
    text = f"{ident} [{len(msg.data)}] {data}"
    if msg.is_error_frame:
        text += "ERRORFRAME".rjust(3 * (8 - len(msg.data)) + 13)
    return text


def _direction(msg: Message) -> str:
    """candump -x: RX or TX (sent from this host), then B (BRS) and E (ESI) or '-'."""
    brs = "B" if msg.bitrate_switch else "-"
    esi = "E" if msg.error_state_indicator else "-"
    return f"{'RX' if msg.is_rx else 'TX'} {brs} {esi}"
