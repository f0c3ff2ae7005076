"""A descriptor that ``shutdown()`` makes readable, to wake threads blocked in ``poll()``."""

from __future__ import annotations

import os
import sys
import weakref


class Waker:
    """Becomes readable, for good, at the first :meth:`wake`.

    An eventfd where ``os.eventfd`` exists (Python >= 3.10), else a pipe.
    Both are non-inheritable. A forked child gets new descriptors at once:
    the inherited ones share their file with the parent's, so a wake-up in
    the child would end (and shut down) the parent's waits.
    """

    def __init__(self) -> None:
        self._open()
        _wakers.add(self)

    def _open(self) -> None:
        if sys.version_info >= (3, 10):
            self._read_fd = self._write_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        else:
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._write_fd, False)

    def fileno(self) -> int:
        """The descriptor to poll for ``POLLIN``."""
        return self._read_fd

    def wake(self) -> None:
        # Eight bytes: an eventfd takes a native uint64; a pipe takes anything.
        os.write(self._write_fd, (1).to_bytes(8, sys.byteorder))

    def close(self) -> None:
        _wakers.discard(self)
        self._close()

    def _close(self) -> None:
        os.close(self._read_fd)
        if self._write_fd != self._read_fd:
            os.close(self._write_fd)

    def _renew(self) -> None:
        self._close()
        self._open()


_wakers: weakref.WeakSet[Waker] = weakref.WeakSet()


def _renew_all() -> None:
    for waker in list(_wakers):
        waker._renew()


os.register_at_fork(after_in_child=_renew_all)
