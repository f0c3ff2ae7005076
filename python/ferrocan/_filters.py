"""python-can's filter dictionaries as the kernel's ``(can_id, can_mask)`` pairs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ferrocan._can_h import CAN_EFF_FLAG

#: The kernel's limit on filters per socket (CAN_RAW_FILTER_MAX).
MAX_FILTERS = 512

CanFilter = Mapping[str, Any]

_ACCEPT_ALL = [(0, 0)]


def parse(
    filters: Iterable[CanFilter] | None,
) -> tuple[list[CanFilter] | None, list[tuple[int, int]]]:
    """Checks python-can filters and converts them for the kernel.

    Returns the filters as a list (``None`` stays ``None``, meaning receive
    everything) and the kernel's ``(can_id, can_mask)`` pairs.

    ``{"can_id": 0x100, "can_mask": 0x7F0, "extended": False}`` matches
    standard IDs 0x100..0x10F only: with ``extended`` given, the frame format
    must match too, as in python-can.
    """
    if filters is None:
        return None, list(_ACCEPT_ALL)
    if isinstance(filters, Mapping) or not isinstance(filters, Iterable):
        raise TypeError(
            "can_filters must be a list of dicts such as "
            f"[{{'can_id': 0x100, 'can_mask': 0x7F0}}], got {type(filters).__name__}"
        )
    kept = list(filters)
    pairs = [_pair(i, f) for i, f in enumerate(kept)]
    if len(pairs) > MAX_FILTERS:
        raise ValueError(
            f"{len(pairs)} filters given, but the kernel takes at most {MAX_FILTERS}; "
            "merge filters with wider masks"
        )
    return kept, pairs


def _pair(index: int, item: object) -> tuple[int, int]:
    if not isinstance(item, Mapping):
        raise TypeError(
            f"filter {index} must be a dict with 'can_id' and 'can_mask', got {type(item).__name__}"
        )
    unknown = set(item) - {"can_id", "can_mask", "extended"}
    if unknown:
        raise ValueError(
            f"filter {index} has unknown keys {sorted(unknown)}; "
            "use 'can_id', 'can_mask' and optionally 'extended'"
        )
    can_id = _field(index, item, "can_id")
    can_mask = _field(index, item, "can_mask")
    if "extended" in item:
        extended = item["extended"]
        if not isinstance(extended, bool):
            raise TypeError(
                f"filter {index}: 'extended' must be a bool, got {type(extended).__name__}"
            )
        can_mask |= CAN_EFF_FLAG
        if extended:
            can_id |= CAN_EFF_FLAG
    return can_id, can_mask


def _field(index: int, item: Mapping[str, Any], key: str) -> int:
    if key not in item:
        raise ValueError(f"filter {index} has no '{key}'; give both 'can_id' and 'can_mask'")
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"filter {index}: '{key}' must be an int, got {type(value).__name__}")
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"filter {index}: '{key}' {value:#x} must be in 0x0..0xffffffff")
    return value
