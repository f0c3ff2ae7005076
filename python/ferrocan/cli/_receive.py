"""Receiving as candump does, for ``dump`` and ``record``: interfaces with
candump's filters, several at once, counting what the kernel drops."""

from __future__ import annotations

import argparse
import select
import string
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from ferrocan._can_h import CAN_INV_FILTER
from ferrocan.bus import Bus
from ferrocan.cansend import CAN_EFF_FLAG, CAN_ERR_FLAG
from ferrocan.cli._args import count
from ferrocan.message import Message

#: candump's name for every CAN interface at once.
ANY = "any"
#: Frames taken from a bus per call.
BATCH = 256

_HEX_DIGITS = frozenset(string.hexdigits)

INTERFACES_HELP = f"""\
an interface, '{ANY}' for every CAN interface, each optionally followed by
candump's comma-separated filters: ID:MASK passes frames whose ID & MASK ==
ID & MASK, ID~MASK those whose ID & MASK != ID & MASK (8-digit IDs are
extended), #ERRMASK passes error frames of the classes in ERRMASK (none by
default). Example: vcan0,123:7FF,400~700,#FFFFFFFF"""


def add_stop_options(parser: argparse.ArgumentParser) -> None:
    """-n and -T, which end a receiving command as they end candump."""
    parser.add_argument("-n", dest="count", type=count, help="stop after COUNT frames")
    parser.add_argument(
        "-T",
        dest="timeout",
        type=count,
        metavar="TIMEOUT_MS",
        help="stop after TIMEOUT_MS ms without a frame",
    )


def stop_after(args: argparse.Namespace) -> tuple[int | None, float | None]:
    """The frames, and the idle seconds, after which to stop (None: never)."""
    return args.count, None if args.timeout is None else args.timeout / 1000


@dataclass(frozen=True)
class Source:
    """An interface argument as candump takes it: ``NAME[,FILTER]...``."""

    name: str
    filters: tuple[tuple[int, int], ...] = ()
    error_mask: int = 0

    @classmethod
    def parse(cls, text: str) -> Source:
        name, *specs = text.split(",")
        if not name:
            raise ValueError(f"{text!r} names no interface: give one, or '{ANY}' for all")
        filters = [_filter(text, spec) for spec in specs if not spec.startswith("#")]
        error_mask = 0
        for spec in specs:
            if spec.startswith("#"):
                error_mask |= _hex(text, spec[1:], spec)
        return cls(name, tuple(filters), error_mask)

    def open(self) -> Bus:
        kernel_filters = [{"can_id": can_id, "can_mask": mask} for can_id, mask in self.filters]
        return Bus(
            "" if self.name == ANY else self.name,
            fd=True,
            can_filters=kernel_filters or None,
            ignore_rx_error_frames=not self.error_mask,
        )

    def passes(self, msg: Message) -> bool:
        """Whether ``msg`` passes the error mask (the kernel applied the rest)."""
        return not msg.is_error_frame or bool(msg.arbitration_id & self.error_mask)


def _filter(text: str, spec: str) -> tuple[int, int]:
    for separator, inverted in ((":", 0), ("~", CAN_INV_FILTER)):
        can_id, found, mask = spec.partition(separator)
        if found:
            extended = CAN_EFF_FLAG if len(can_id) == 8 else 0
            value = _hex(text, can_id, spec) | extended | inverted
            return value, _hex(text, mask, spec) & ~CAN_ERR_FLAG
    raise ValueError(
        f"malformed filter {spec!r} in {text!r}: expected ID:MASK, ID~MASK or #ERRMASK"
    )


def _hex(text: str, digits: str, spec: str) -> int:
    if not 0 < len(digits) <= 8 or not _HEX_DIGITS.issuperset(digits):
        raise ValueError(
            f"malformed filter {spec!r} in {text!r}: {digits!r} is not 1 to 8 hex digits"
        )
    return int(digits, 16)


class _Input:
    """One source's bus, and the drops reported so far."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.bus = source.open()
        self.dropped = 0

    def fileno(self) -> int:
        return self.bus.fileno()

    def receive(self, limit: int) -> list[Message]:
        batch = self.bus.recv_batch(limit, 0.0)
        self._count_drops()
        return [msg for msg in batch if self.source.passes(msg)]

    def _count_drops(self) -> None:
        total = self.bus.statistics().dropped
        if total > self.dropped:
            new = total - self.dropped
            print(
                f"DROPCOUNT: dropped {new} CAN frame{'s' if new > 1 else ''} "
                f"on '{self.source.name}' socket (total drops {total})",
                file=sys.stderr,
                flush=True,
            )
            self.dropped = total


class Receiver:
    """Receives from several sources at once, as candump does.

    Reports to stderr the frames the kernel drops when a socket's receive
    buffer is full, as they happen and, if any were, once more at the end.
    """

    def __init__(self, sources: Sequence[Source], prog: str) -> None:
        self._prog = prog
        self._inputs: list[_Input] = []
        try:
            for source in sources:
                self._inputs.append(_Input(source))
        except BaseException:
            self.close()
            raise

    def batches(self, count: int | None, idle: float | None) -> Iterator[list[Message]]:
        """Frames as they come, until ``count`` came or none came for ``idle`` seconds."""
        remaining = count
        while True:
            ready: list[_Input] = select.select(self._inputs, [], [], idle)[0]
            if not ready:
                return
            for source in ready:
                batch = source.receive(BATCH if remaining is None else min(BATCH, remaining))
                yield batch
                if remaining is not None:
                    remaining -= len(batch)
                    if remaining == 0:
                        return

    def close(self) -> None:
        for source in self._inputs:
            source.bus.shutdown()
        dropped = sum(source.dropped for source in self._inputs)
        if dropped:
            print(
                f"{self._prog}: the kernel dropped {dropped} CAN frame(s) in all", file=sys.stderr
            )

    def __enter__(self) -> Receiver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
