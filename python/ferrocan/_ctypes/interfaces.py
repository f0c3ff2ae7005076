"""Interface names and indexes, cached, for a socket bound to every interface.

Such a socket learns where each frame came from as an interface index, and
sends each frame to an address naming the index. Interfaces come and go, so
a cache answers only for what it has seen: a name missing from it is asked of
the kernel again, and an address the kernel refuses is forgotten.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import TypeVar

from ferrocan import _errors as errors
from ferrocan._ctypes import libc

__all__ = ["ADDRESS_SIZE", "Interfaces", "name_of"]

#: ``struct sockaddr_can``: family, index, and the address union (unused by CAN_RAW).
_ADDRESS = struct.Struct("=Hxxi16x")
ADDRESS_SIZE = _ADDRESS.size
#: Past this many entries a cache starts again empty, so that interfaces long
#: gone do not accumulate.
_MAX_ENTRIES = 64

_K = TypeVar("_K")
_V = TypeVar("_V")


def name_of(index: int) -> bytes | None:
    """The name of interface ``index``, asked of the kernel; None if no
    interface has it (any more). A buffer per call: threads may ask at once."""
    return libc.if_indextoname(index, ctypes.create_string_buffer(libc.IFNAMSIZ))


class Interfaces:
    """The names of interface indexes, and ``sockaddr_can`` for interface names."""

    __slots__ = ("_addresses", "_names")

    def __init__(self) -> None:
        self._names: dict[int, str] = {}
        self._addresses: dict[str, bytes] = {}

    def name(self, index: int) -> str | None:
        """The name of interface ``index``; None if it has gone already."""
        name = self._names.get(index)
        if name is None:
            found = name_of(index)
            if found is None:
                return None
            name = _remember(self._names, index, os.fsdecode(found))
        return name

    def address(self, name: str) -> bytes:
        """The address of interface ``name``; raises ``CanOperationError``
        (ENODEV) if there is no such interface."""
        address = self._addresses.get(name)
        if address is None:
            address = _remember(self._addresses, name, _ADDRESS.pack(libc.AF_CAN, _index(name)))
        return address

    def forget(self, name: str) -> None:
        """Drop the address of ``name``: the kernel no longer knows its index."""
        self._addresses.pop(name, None)


def _index(name: str) -> int:
    encoded = os.fsencode(name)
    if b"\0" in encoded:  # C would read only up to it: a name no interface has
        raise errors.transmit_failed(name, errno.ENODEV)
    index = libc.if_nametoindex(encoded)
    if not index:
        raise errors.transmit_failed(name, ctypes.get_errno())
    return index


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    if len(cache) >= _MAX_ENTRIES:
        cache.clear()
    cache[key] = value
    return value
