"""generate CAN frames, as cangen does

Sends a frame every GAP_MS milliseconds (default 200; 0: as fast as the
kernel takes them, many per syscall) until Ctrl-C or -n COUNT frames, then
prints how many it sent and how fast. Each field is random (r, the default),
incrementing (i) or fixed (a value):
  -I  the ID, in hex (an 11-bit ID; 29 bits with -e; with -X the priority ID)
  -L  the data length in bytes: 0..8, with -f 0..8, 12, 16, 20, 24, 32, 48, 64,
      with -X 1..2048 (default: the length of fixed -D data, else r)
  -D  the data, in hex: fixed data is cut or zero-padded to the length;
      incrementing data is a little-endian counter, at least 1 byte long
CAN XL frames (-X; Linux 6.2 or later, an interface whose MTU is 2060) have
these too, each in hex, as cangen has them:
  -F  the flags: 80 (XLF, implied) and 01 (SEC); r and i vary SEC
  -S  the SDU type, 00..FF
  -A  the acceptance field, 00000000..FFFFFFFF
  -V  the VCID, 00..FF (default 0: readers without VCID filters, which the
      kernel gives only frames of VCID 0, see every frame; others need 6.9)

examples:
  ferrocan gen vcan0 -g 10 -I 42A -L 1 -D i
  ferrocan gen vcan0 -g 0 -n 100000 -e -f -b
  ferrocan gen vcan0 -X -L 2048 -S 03 -A i
"""

from __future__ import annotations

import argparse
import itertools
import random
import string
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ferrocan.bus import Bus
from ferrocan.cansend import (
    CAN_EFF_MASK,
    CAN_MAX_DLEN,
    CAN_SFF_MASK,
    CANFD_MAX_DLEN,
    CANXL_MAX_DLEN,
    CANXL_SEC,
    CANXL_XLF,
)
from ferrocan.cli._args import add_command, count, interface, milliseconds
from ferrocan.message import Message

if TYPE_CHECKING:
    from ferrocan.cli._args import Commands

RANDOM = "r"
INCREMENT = "i"
CLASSIC_LENGTHS = tuple(range(CAN_MAX_DLEN + 1))
FD_LENGTHS = (*CLASSIC_LENGTHS, 12, 16, 20, 24, 32, 48, CANFD_MAX_DLEN)
XL_LENGTHS = tuple(range(1, CANXL_MAX_DLEN + 1))
#: Each kind of frame's lengths, as -L's error names them.
ALLOWED_LENGTHS = {
    CLASSIC_LENGTHS: "0..8",
    FD_LENGTHS: "0..8, 12, 16, 20, 24, 32, 48, 64",
    XL_LENGTHS: "1..2048",
}
#: Frames per send_batch when the gap is 0.
BATCH = 256
#: The progress line starts after this many seconds and is redrawn this often.
PROGRESS_AFTER = 1.0
PROGRESS_EVERY = 0.5

_HEX_DIGITS = frozenset(string.hexdigits)


def register(commands: Commands) -> None:
    parser = add_command(commands, "gen", __doc__, run)
    parser.add_argument(
        "interface", metavar="IFACE", type=interface, help="the CAN interface, such as vcan0"
    )
    parser.add_argument(
        "-g",
        dest="gap",
        type=milliseconds,
        default=0.2,
        metavar="GAP_MS",
        help="gap between frames",
    )
    parser.add_argument("-n", dest="count", type=count, help="stop after COUNT frames")
    parser.add_argument("-I", dest="id", default=RANDOM, metavar="ID|r|i", help="the ID mode")
    parser.add_argument("-L", dest="length", metavar="LEN|r|i", help="the data length mode")
    parser.add_argument("-D", dest="data", default=RANDOM, metavar="HEX|r|i", help="the data mode")
    parser.add_argument("-e", dest="extended", action="store_true", help="extended (29-bit) IDs")
    parser.add_argument("-f", dest="fd", action="store_true", help="CAN FD frames")
    parser.add_argument("-b", dest="brs", action="store_true", help="CAN FD with bit rate switch")
    parser.add_argument("-X", dest="xl", action="store_true", help="CAN XL frames")
    for option, dest, help in (
        ("-F", "xl_flags", "the CAN XL flags mode"),
        ("-S", "sdu_type", "the CAN XL SDU type mode"),
        ("-A", "acceptance_field", "the CAN XL acceptance field mode"),
        ("-V", "vcid", "the CAN XL VCID mode"),
    ):
        parser.add_argument(option, dest=dest, metavar="HEX|r|i", help=f"{help} (needs -X)")


def run(args: argparse.Namespace) -> int:
    frames = Frames.from_args(args)
    tally = Tally()
    with Bus(args.interface, fd=frames.fd, xl=frames.xl is not None) as bus:
        try:
            numbers = range(args.count) if args.count else itertools.count()
            if args.gap:
                _send_paced(bus, frames, numbers, args.gap, tally)
            else:
                _send_batched(bus, frames, args.count, tally)
        finally:
            tally.finish()
    return 0


def _send_paced(bus: Bus, frames: Frames, numbers: Iterable[int], gap: float, tally: Tally) -> None:
    """One frame every ``gap`` seconds, on a schedule that does not drift.

    The schedule starts once the first frame is sent, not when the command
    started: opening the bus and the first send may take longer than a gap
    (on PyPy, whose first calls through ctypes are slow), which would
    otherwise send the next frames without their gaps."""
    start = 0.0
    for number in numbers:
        if number:
            time.sleep(max(0.0, start + number * gap - time.monotonic()))
        bus.send(frames.frame(number))
        if not number:
            start = time.monotonic()
        tally.add(1)


def _send_batched(bus: Bus, frames: Frames, total: int | None, tally: Tally) -> None:
    """As fast as the kernel takes frames, ``BATCH`` per send_batch."""
    for first in itertools.count(0, BATCH):
        size = BATCH if total is None else min(BATCH, total - first)
        if size <= 0:
            return
        tally.add(bus.send_batch([frames.frame(n) for n in range(first, first + size)]))


@dataclass(frozen=True)
class XlFields:
    """The CAN XL header of the ``n``-th frame, for every ``n``."""

    sec: Callable[[int], int]
    sdu_type: Callable[[int], int]
    acceptance_field: Callable[[int], int]
    vcid: Callable[[int], int]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> XlFields:
        for option, conflict in (("-e", args.extended), ("-f", args.fd), ("-b", args.brs)):
            if conflict:
                raise ValueError(f"-X and {option} cannot be combined: {_XL_CONFLICTS[option]}")
        return cls(
            sec=_xl_flags(args.xl_flags or RANDOM),
            sdu_type=_values(args.sdu_type or RANDOM, "-S", 0xFF),
            acceptance_field=_values(args.acceptance_field or RANDOM, "-A", 0xFFFFFFFF),
            vcid=_values(args.vcid or "0", "-V", 0xFF),
        )

    def frame(self, n: int, priority: int, data: bytes) -> Message:
        return Message(
            arbitration_id=priority,
            data=data,
            is_xl=True,
            simple_extended_content=bool(self.sec(n)),
            sdu_type=self.sdu_type(n),
            acceptance_field=self.acceptance_field(n),
            vcid=self.vcid(n),
        )


_XL_CONFLICTS = {
    "-e": "a CAN XL priority ID is 11 bits",
    "-f": "a frame is either CAN FD or CAN XL",
    "-b": "a frame is either CAN FD or CAN XL",
}


@dataclass(frozen=True)
class Frames:
    """The frame to send as the ``n``-th, for every ``n``."""

    can_id: Callable[[int], int]
    length: Callable[[int], int]
    data: Callable[[int, int], bytes]
    extended: bool
    fd: bool
    brs: bool
    xl: XlFields | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Frames:
        xl = XlFields.from_args(args) if args.xl else None
        _check_xl_options(args)
        fd = args.fd or args.brs
        lengths = XL_LENGTHS if xl else FD_LENGTHS if fd else CLASSIC_LENGTHS
        fixed = None if args.data in (RANDOM, INCREMENT) else _hex_data(args.data, lengths[-1])
        length = args.length or (RANDOM if fixed is None else str(len(fixed)))
        return cls(
            can_id=_ids(args.id, args.extended),
            length=_lengths(length, lengths),
            data=_data(args.data, fixed),
            extended=args.extended,
            fd=fd,
            brs=args.brs,
            xl=xl,
        )

    def frame(self, n: int) -> Message:
        if self.xl is not None:
            return self.xl.frame(n, self.can_id(n), self.data(n, self.length(n)))
        return Message(
            arbitration_id=self.can_id(n),
            is_extended_id=self.extended,
            is_fd=self.fd,
            bitrate_switch=self.brs,
            data=self.data(n, self.length(n)),
        )


def _check_xl_options(args: argparse.Namespace) -> None:
    """-F, -S, -A and -V set CAN XL fields: without -X they are a mistake."""
    given = (("-F", args.xl_flags), ("-S", args.sdu_type), ("-A", args.acceptance_field))
    for option, value in (*given, ("-V", args.vcid)):
        if value is not None and not args.xl:
            raise ValueError(f"{option} {value}: sets a CAN XL field, so it needs -X")


def _ids(mode: str, extended: bool) -> Callable[[int], int]:
    limit = CAN_EFF_MASK if extended else CAN_SFF_MASK
    hint = "" if extended else "; add -e for an extended (29-bit) ID"
    return _values(mode, "-I", limit, f"the ID is out of range 0..{limit:X}{hint}")


def _values(mode: str, option: str, limit: int, problem: str = "") -> Callable[[int], int]:
    """Random, incrementing (wrapping after ``limit``) or fixed values in 0..limit."""
    if mode == RANDOM:
        return lambda _: random.randint(0, limit)
    if mode == INCREMENT:
        return lambda n: n % (limit + 1)
    value = _hex_value(mode, option)
    if value > limit:
        raise ValueError(f"{option} {mode}: {problem or f'out of range 0..{limit:X}'}")
    return lambda _: value


def _xl_flags(mode: str) -> Callable[[int], int]:
    """Whether SEC is set: random, alternating (i) or fixed, as cangen's -F."""
    if mode in (RANDOM, INCREMENT):
        return _values(mode, "-F", 1)
    value = _hex_value(mode, "-F")
    if value & ~(CANXL_XLF | CANXL_SEC):
        raise ValueError(
            f"-F {mode}: CAN XL flags other than XLF (80) and SEC (01) cannot be sent "
            "(RRS, 02, included)"
        )
    return lambda _: value & CANXL_SEC


def _lengths(mode: str, lengths: tuple[int, ...]) -> Callable[[int], int]:
    if mode == RANDOM:
        return lambda _: random.choice(lengths)
    if mode == INCREMENT:
        return lambda n: lengths[n % len(lengths)]
    if not mode.isdigit() or int(mode) not in lengths:
        allowed = ALLOWED_LENGTHS[lengths]
        raise ValueError(f"-L {mode}: the data length must be r, i or one of {allowed}")
    value = int(mode)
    return lambda _: value


def _data(mode: str, fixed: bytes | None) -> Callable[[int, int], bytes]:
    if fixed is not None:
        return lambda _, length: fixed[:length].ljust(length, b"\0")
    if mode == RANDOM:
        return lambda _, length: random.randbytes(length)
    return lambda n, length: (
        (n % 2**64).to_bytes(8, "little")[: max(length, 1)].ljust(length, b"\0")
    )


def _hex_data(text: str, limit: int) -> bytes:
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"-D {text}: the data must be r, i or hex digits, 2 per byte") from None
    if len(data) > limit:
        raise ValueError(f"-D {text}: {len(data)} bytes, but a frame carries at most {limit}")
    return data


def _hex_value(text: str, option: str) -> int:
    if not text or not _HEX_DIGITS.issuperset(text):
        raise ValueError(f"{option} {text}: must be r, i or a hexadecimal value")
    return int(text, 16)


class Tally:
    """Frames sent so far: a progress line on a terminal, a summary at the end."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.sent = 0
        self._progress = sys.stderr.isatty()
        self._shown = 0.0  # when the progress line was last drawn

    def add(self, sent: int) -> None:
        self.sent += sent
        now = time.monotonic()
        if not self._progress or now - self.start < PROGRESS_AFTER:
            return
        if now - self._shown >= PROGRESS_EVERY:
            sys.stderr.write(f"\r{self._rate(now)}\x1b[K")
            sys.stderr.flush()
            self._shown = now

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
        print(f"sent {self._rate(time.monotonic())}", flush=True)

    def _rate(self, now: float) -> str:
        elapsed = now - self.start
        rate = self.sent / elapsed if elapsed else 0.0
        return f"{self.sent} frames in {elapsed:.2f} s ({rate:.0f} frames/s)"
