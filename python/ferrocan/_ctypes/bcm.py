"""``BcmTask``: a kernel-timed transmit task of the broadcast manager (CAN_BCM).

Each task has a CAN_BCM socket of its own: the kernel keys transmit tasks by
CAN ID per socket, so separate sockets let several tasks share an ID. The
kernel's timer sends the frames; no thread of ours is involved.

A message to the broadcast manager is a ``struct bcm_msg_head``
(``<linux/can/bcm.h>``)::

    u32 opcode, flags, count
    struct bcm_timeval ival1, ival2   {long tv_sec; long tv_usec;} each
    u32 can_id, nframes

padded to 8 bytes (56 on 64-bit), then ``nframes`` frames, all
``struct can_frame`` or, with the CAN_FD_FRAME flag, all ``struct canfd_frame``.
"""

from __future__ import annotations

import ctypes
import errno
import struct
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ferrocan import _errors as errors
from ferrocan._can_h import CANFD_MTU
from ferrocan._ctypes import frame, libc
from ferrocan._ctypes.socket import _interface_index
from ferrocan.exceptions import CanOperationError

if TYPE_CHECKING:
    from ferrocan.message import Message

__all__ = ["BcmTask"]

# Opcodes and flags, <linux/can/bcm.h>.
TX_SETUP = 1
TX_DELETE = 2
TX_EXPIRED = 9
SETTIMER = 0x0001
STARTTIMER = 0x0002
TX_COUNTEVT = 0x0004
CAN_FD_FRAME = 0x0800

_HEAD = struct.Struct("@3I4l2I")
#: The frames after the head are 8-byte aligned.
_HEAD_PADDING = bytes(-_HEAD.size % 8)
_CAN_ID = struct.Struct("=I")
#: What TX_DELETE answers for a task the kernel does not have: ENOTCONN
#: once the interface is gone, since the kernel drops its tasks with it.
_NO_TASK = (errno.ENOENT, errno.EINVAL, errno.ENOTCONN)


class BcmTask:
    """One transmit task on ``channel``; see ``ferrocan.periodic``.

    ``setup``, ``delete`` and ``close`` may be called from any thread.
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._sock = _open(channel)
        self._release = weakref.finalize(self, libc.close, self._sock)
        # Held while the socket is in use, so that close() cannot close it
        # (and the descriptor be reused) under a write().
        self._lock = threading.Lock()
        # The key of the kernel's task, for TX_DELETE: CAN ID and frame kind.
        self._can_id = 0
        self._kind = 0
        self._expired = False

    def __repr__(self) -> str:
        state = f"fd {self._sock}" if self._release.alive else "closed"
        return f"<BcmTask on {self.channel!r}, {state}>"

    def setup(
        self, messages: Sequence[Message], period: float, count: int | None, start: bool
    ) -> None:
        """TX_SETUP: hand ``messages`` to the kernel, one frame per ``period``.

        With ``start``, (re)starts the timer: the first frame goes at once,
        then one per period, ``count`` frames in all (``None``: forever).
        Without it, replaces the frames and keeps the timer and its phase.
        A started ``count`` asks the kernel for TX_EXPIRED after the last
        frame (see ``expired``).
        """
        frames = [frame.encode(msg) for msg in messages]
        kind = _kind(frames)
        (can_id,) = _CAN_ID.unpack_from(frames[0])
        flags, timing = kind, (0, 0, 0, 0, 0)
        if start:
            flags |= SETTIMER | STARTTIMER | (0 if count is None else TX_COUNTEVT)
            timing = _timing(period, count)
        head = _HEAD.pack(TX_SETUP, flags, *timing, can_id, len(frames))
        self._write(head + _HEAD_PADDING + b"".join(frames))
        self._can_id, self._kind = can_id, kind

    def delete(self) -> None:
        """TX_DELETE: stop the task. One the kernel does not have is fine."""
        head = _HEAD.pack(TX_DELETE, self._kind, 0, 0, 0, 0, 0, self._can_id, 0)
        try:
            self._write(head + _HEAD_PADDING)
        except CanOperationError as error:
            if error.error_code not in _NO_TASK:
                raise

    def expired(self) -> bool:
        """Whether the kernel has reported (TX_EXPIRED) since the socket was
        opened that a task with a ``count`` sent its last frame; ``False``
        once closed. Does not wait. The kernel reports no end of a ``count``
        of 1: that frame is sent at once."""
        buffer = ctypes.create_string_buffer(_HEAD.size)
        with self._lock:
            while not self._expired and self._release.alive:
                if libc.recv(self._sock, buffer, _HEAD.size, libc.MSG_DONTWAIT) < 0:
                    code = ctypes.get_errno()
                    if code in (errno.EAGAIN, errno.EWOULDBLOCK):
                        break
                    raise errors.receive_failed(self.channel, code)
                self._expired = _HEAD.unpack_from(buffer)[0] == TX_EXPIRED
            return self._expired and self._release.alive

    def close(self) -> None:
        """Close the socket, which deletes the kernel's task. Idempotent."""
        with self._lock:
            self._release()

    def _write(self, message: bytes) -> None:
        with self._lock:
            if not self._release.alive:
                raise errors.shut_down(self.channel)
            if libc.write(self._sock, message, len(message)) < 0:
                raise errors.transmit_failed(self.channel, ctypes.get_errno())


def _kind(frames: list[bytes]) -> int:
    """CAN_FD_FRAME if ``frames`` are all FD, 0 if all classic; else an error."""
    if not frames:
        raise ValueError("a periodic task needs at least one message")
    if any(len(data) != len(frames[0]) for data in frames):
        raise ValueError("the messages of a periodic task must be all CAN FD or all classic")
    return CAN_FD_FRAME if len(frames[0]) == CANFD_MTU else 0


def _timing(period: float, count: int | None) -> tuple[int, int, int, int, int]:
    """``count, ival1, ival2`` of a started task.

    The kernel sends a frame at once and counts it; ``count`` frames go out
    ``period`` apart (ival1), or, for ``None``, frames forever (ival2).
    """
    if count is None:
        return (0, 0, 0, *_timeval(period))
    return (count, *_timeval(period), 0, 0)


def _timeval(seconds: float) -> tuple[int, int]:
    """``seconds`` as a ``struct bcm_timeval``: whole seconds and microseconds."""
    whole = int(seconds)
    micros = round((seconds - whole) * 1e6)
    if micros == 1_000_000:
        return whole + 1, 0
    return whole, micros


def _open(channel: str) -> int:
    """A CAN_BCM socket connected to ``channel``."""
    index = _interface_index(channel)
    sock = libc.socket(libc.AF_CAN, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, libc.CAN_BCM)
    if sock < 0:
        raise errors.open_failed(channel, ctypes.get_errno(), "can-bcm")
    address = libc.SockaddrCan(can_family=libc.AF_CAN, can_ifindex=index)
    if libc.connect(sock, ctypes.addressof(address), ctypes.sizeof(address)) == 0:
        return sock
    code = ctypes.get_errno()
    libc.close(sock)
    if code != errno.ENODEV:
        raise errors.open_failed(channel, code, "can-bcm")
    # The index exists, so the interface is not CAN, unless it just vanished.
    _interface_index(channel)
    raise errors.not_can_interface(channel)
