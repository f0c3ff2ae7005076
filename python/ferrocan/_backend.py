"""What a backend provides, and which backend a Bus gets.

A backend is a class implementing :class:`RawSocket`: one CAN_RAW socket bound
to one interface. ``ferrocan.Bus`` does argument handling once, in Python, and
hands the hot path (``recv``/``send``) straight to the backend.

Backends:

* ``native``: ``ferrocan._native.RawSocket``, the Rust core.
* ``ctypes``: ``ferrocan._ctypes.socket.CtypesSocket``, pure Python over libc.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ferrocan import Message


class RawSocket(Protocol):
    """One CAN_RAW socket bound to one interface.

    Contract shared by both backends (the conformance suite checks it):

    * ``timeout`` is ``None`` (wait forever), ``0.0`` (never block) or a
      positive number of seconds; anything else raises ``ValueError`` or
      ``TypeError`` with the same message in both backends.
    * Blocking waits are interruptible (Ctrl-C within 100 ms) and
      ``shutdown()`` from another thread wakes them at once.
    * After ``shutdown()`` every method but ``shutdown()`` raises
      ``CanOperationError``.
    """

    backend: str
    channel: str

    def recv(self, timeout: float | None) -> Message | None: ...

    def send(self, msg: Message, timeout: float | None) -> None: ...

    def set_filters(self, filters: Sequence[tuple[int, int]]) -> None:
        """Install kernel filters given as ``(can_id, can_mask)`` pairs, flags included."""

    def fileno(self) -> int: ...

    def shutdown(self) -> None: ...
