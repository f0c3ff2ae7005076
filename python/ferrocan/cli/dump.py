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
from typing import TYPE_CHECKING

from ferrocan._sources import FILTERS_HELP
from ferrocan.cli import _receive
from ferrocan.cli._args import add_command

if TYPE_CHECKING:
    from ferrocan.cli._args import Commands


def register(commands: Commands) -> None:
    parser = add_command(commands, "dump", __doc__, run)
    parser.add_argument("interfaces", metavar="IFACE", nargs="+", help=FILTERS_HELP)
    parser.add_argument("-L", dest="log", action="store_true", help="candump's log format")
    _receive.add_receive_options(parser)
    parser.add_argument(
        "-x", dest="extra", action="store_true", help="show direction (RX/TX), BRS (B) and ESI (E)"
    )


def run(args: argparse.Namespace) -> int:
    format = "log" if args.log else "candump-x" if args.extra else "candump"
    return _receive.run(_receive.recorder(args, sys.stdout, args.interfaces, format), args)
