"""The interfaces a recording takes, as candump names them:
``NAME[,FILTER]...``, where NAME may be ``any`` for every CAN interface."""

from __future__ import annotations

import string
from dataclasses import dataclass

from ferrocan._can_h import CAN_INV_FILTER
from ferrocan.cansend import CAN_EFF_FLAG, CAN_ERR_FLAG

#: candump's name for every CAN interface at once.
ANY = "any"

_HEX_DIGITS = frozenset(string.hexdigits)

FILTERS_HELP = f"""\
an interface, '{ANY}' for every CAN interface, each optionally followed by
candump's comma-separated filters: ID:MASK passes frames whose ID & MASK ==
ID & MASK, ID~MASK those whose ID & MASK != ID & MASK (8-digit IDs are
extended), #ERRMASK passes error frames of the classes in ERRMASK (none by
default). Example: vcan0,123:7FF,400~700,#FFFFFFFF"""


@dataclass(frozen=True)
class Source:
    """An interface argument as candump takes it: ``NAME[,FILTER]...``."""

    name: str
    filters: tuple[tuple[int, int], ...] = ()
    error_mask: int = 0

    @classmethod
    def parse(cls, text: str) -> Source:
        if not isinstance(text, str):
            raise TypeError(
                f"an interface must be a str such as 'vcan0' or 'vcan0,123:7FF', "
                f"got {type(text).__name__}"
            )
        name, *specs = text.split(",")
        if not name:
            raise ValueError(f"{text!r} names no interface: give one, or '{ANY}' for all")
        filters = [_filter(text, spec) for spec in specs if not spec.startswith("#")]
        error_mask = 0
        for spec in specs:
            if spec.startswith("#"):
                error_mask |= _hex(text, spec[1:], spec)
        return cls(name, tuple(filters), error_mask)

    def as_tuple(self) -> tuple[str, list[tuple[int, int]], int]:
        """``(name, filters, error_mask)``, as the native recorder takes it."""
        return self.name, list(self.filters), self.error_mask


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
