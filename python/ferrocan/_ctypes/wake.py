"""A descriptor that ``shutdown()`` makes readable, to wake threads blocked in ``poll()``."""

from __future__ import annotations

import os
import sys


class Waker:
    """Becomes readable, for good, at the first :meth:`wake`.

    An eventfd where ``os.eventfd`` exists (Python >= 3.10), else a pipe.
    Both are non-inheritable.
    """

    def __init__(self) -> None:
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
        os.close(self._read_fd)
        if self._write_fd != self._read_fd:
            os.close(self._write_fd)
