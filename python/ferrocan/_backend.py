"""What a backend provides, and which backend a Bus gets.

A backend is a class implementing :class:`BackendSocket`: one CAN_RAW socket bound
to one interface. ``ferrocan.Bus`` does argument handling once, in Python, and
hands the hot path (``recv``/``send``) straight to the backend.

Backends:

* ``native``: ``ferrocan._native.NativeSocket``, the Rust core.
* ``ctypes``: ``ferrocan._ctypes.socket.CtypesSocket``, pure Python over libc.

The default is the best one available; ``FERROCAN_BACKEND=native|ctypes`` in
the environment overrides it. It is read when a Bus needs it (or
``ferrocan.backend`` is asked for), so a bad value fails there, not at import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ferrocan.exceptions import CanInterfaceNotImplementedError

if TYPE_CHECKING:
    from ferrocan.message import Message

BACKENDS = ("native", "ctypes")


class BackendSocket(Protocol):
    """One CAN_RAW socket bound to one interface.

    Contract shared by both backends (the conformance suite checks it):

    * ``timeout`` is ``None`` (wait forever), ``0.0`` (never block) or a
      positive number of seconds; anything else raises ``ValueError`` or
      ``TypeError`` with the same message in both backends.
    * Blocking waits are interruptible (Ctrl-C within 100 ms) and
      ``shutdown()`` from another thread wakes them at once.
    * After ``shutdown()`` every method but ``shutdown()`` raises
      ``CanOperationError``.
    * ``on_error_frame``, given to the constructor, is called with every
      error frame ``recv`` and ``recv_batch`` return, before they return it.
    """

    @property
    def backend(self) -> str: ...

    @property
    def channel(self) -> str: ...

    @property
    def io_uring(self) -> bool:
        """Whether frames come in through io_uring (no syscall per empty poll)."""

    @property
    def receive_buffer_size(self) -> int:
        """The receive buffer in effect, in bytes, as the kernel reports it."""

    def recv(self, timeout: float | None = None) -> Message | None: ...

    def recv_batch(
        self, max_messages: int = 256, timeout: float | None = None
    ) -> list[Message]: ...

    def send(self, msg: object, timeout: float | None = None) -> None: ...

    def send_batch(self, messages: Iterable[object], timeout: float | None = None) -> int: ...

    def set_filters(self, filters: Sequence[tuple[int, int]]) -> None:
        """Install kernel filters given as ``(can_id, can_mask)`` pairs, flags included."""

    def fileno(self) -> int: ...

    def statistics(self) -> tuple[int, int, int]:
        """``(received, sent, dropped)``; dropped by the kernel for want of room."""

    def shutdown(self) -> None: ...


class BackendTask(Protocol):
    """What a backend provides for one task (``_native.BcmTask``,
    ``_ctypes.bcm.BcmTask``): one CAN_BCM socket."""

    def setup(self, messages: Sequence[Any], period: float, count: int | None, start: bool) -> None:
        """Hand the frames over; ``start`` (re)starts the timer, else the
        frames are replaced in place and the phase is kept. ``count`` is the
        number of frames to send in all, ``None`` for no end."""

    def delete(self) -> None: ...

    def expired(self) -> bool:
        """Whether the kernel reported that the last of ``count`` frames
        went out (it reports nothing for a count of 1)."""

    def close(self) -> None: ...


class BackendSocketFactory(Protocol):
    def __call__(
        self,
        channel: str,
        *,
        fd: bool = ...,
        xl: bool = ...,
        tx_vcid: int | None = ...,
        rx_vcid: tuple[int, int] | None = ...,
        receive_own_messages: bool = ...,
        local_loopback: bool = ...,
        error_frames: bool = ...,
        io_uring: bool = ...,
        receive_buffer_size: int | None = ...,
        timestamping: str = ...,
        filters: Sequence[tuple[int, int]] | None = ...,
        on_error_frame: Callable[[Message], None] | None = ...,
    ) -> BackendSocket: ...


def native_available() -> bool:
    try:
        import ferrocan._native  # noqa: F401
    except ImportError:
        return False
    return True


def default_backend() -> str:
    """The backend a Bus gets when it does not ask for one."""
    forced = os.environ.get("FERROCAN_BACKEND", "").strip().lower()
    if forced and forced not in BACKENDS:
        raise CanInterfaceNotImplementedError(
            f"FERROCAN_BACKEND={forced!r} is not a backend; use 'native' or 'ctypes', "
            "or unset it for the best available"
        )
    return forced or ("native" if native_available() else "ctypes")


def bcm_class(backend: str) -> Callable[[str], BackendTask]:
    """The periodic-task class of ``backend`` (see ``ferrocan.periodic``)."""
    if backend == "native":
        from ferrocan._native import BcmTask as Native

        return Native
    from ferrocan._ctypes.bcm import BcmTask as Ctypes

    return Ctypes


def socket_class(backend: str) -> BackendSocketFactory:
    """The socket class of ``backend``, or a clear error."""
    if backend == "native":
        try:
            from ferrocan._native import NativeSocket as Native
        except ImportError as error:
            raise CanInterfaceNotImplementedError(
                "the native backend is not installed (no ferrocan._native for this platform); "
                "install a binary wheel of ferrocan or use backend='ctypes'"
            ) from error
        return Native
    if backend == "ctypes":
        from ferrocan._ctypes.socket import CtypesSocket

        return CtypesSocket
    raise CanInterfaceNotImplementedError(
        f"backend {backend!r} does not exist; use 'native' or 'ctypes'"
    )
