"""send one CAN frame, written as cansend writes it

FRAME is ID#DATA for a classic frame (3 hex digits: standard ID, 8: extended),
ID#R or ID#R3 for a remote frame (requesting 0 or 3 bytes), ID##F DATA for a
CAN FD frame whose flags digit F is canfd_frame.flags (1: bit rate switch,
2: error state indicator), or VVPPP#FF:SS:AAAAAAAA#DATA for a CAN XL frame:
its VCID VV and priority ID PPP, its flags FF (80: XLF, which is implied;
01: SEC), its SDU type SS and its acceptance field AAAAAAAA. DATA is up to 8
bytes (64 for CAN FD, 1 to 2048 for CAN XL) in hex, the bytes optionally
separated by dots. A CAN XL frame needs Linux 6.2 or later and an interface
whose MTU is 2060 (ip link set IFACE mtu 2060).

examples:
  ferrocan send vcan0 123#DEADBEEF
  ferrocan send vcan0 1F334455#11.22.33.44
  ferrocan send vcan0 123#R3
  ferrocan send vcan0 123##1AABBCCDDEEFF0011
  ferrocan send vcan0 45123#81:00:12345678#11223344.556677
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ferrocan.bus import Bus
from ferrocan.cansend import parse_frame
from ferrocan.cli._args import add_command, interface

if TYPE_CHECKING:
    from ferrocan.cli._args import Commands


def register(commands: Commands) -> None:
    parser = add_command(commands, "send", __doc__, run)
    parser.add_argument(
        "interface", metavar="IFACE", type=interface, help="the CAN interface, such as vcan0"
    )
    parser.add_argument("frame", metavar="FRAME", help="the frame, such as 123#DEADBEEF")


def run(args: argparse.Namespace) -> int:
    msg = parse_frame(args.frame)
    with Bus(args.interface, fd=msg.is_fd, xl=msg.is_xl) as bus:
        bus.send(msg)
    return 0
