"""The buffers of a ``recvmsg()`` call, and the ancillary data the kernel puts in them."""

from __future__ import annotations

import ctypes
import struct

from ferrocan._ctypes import libc
from ferrocan._ctypes.frame import CANFD_MTU

# With SO_TIMESTAMPNS on, every frame comes with one SCM_TIMESTAMPNS cmsg:
# a cmsghdr (size_t cmsg_len; int cmsg_level, cmsg_type) and a struct
# timespec, which <sys/socket.h> aligns to sizeof(size_t), as "@" does.
_TIMESTAMP_CMSG = struct.Struct("@Niill")  # ..., tv_sec, tv_nsec
_CONTROL_SIZE = _TIMESTAMP_CMSG.size


class RecvBuffers:
    """A frame buffer, a control buffer and the msghdr pointing at them.

    Made once and reused, so that a receive allocates nothing but the message.
    ``frame`` holds the last frame received.
    """

    __slots__ = ("_address", "_control", "_msghdr", "_pinned", "frame")

    def __init__(self) -> None:
        self.frame = bytearray(CANFD_MTU)
        self._control = bytearray(_CONTROL_SIZE)
        # ctypes views pin the bytearrays (they cannot be resized while
        # exported) and give their addresses.
        frame_view = (ctypes.c_char * len(self.frame)).from_buffer(self.frame)
        control_view = (ctypes.c_char * len(self._control)).from_buffer(self._control)
        iov = libc.IoVec(ctypes.addressof(frame_view), len(self.frame))
        self._msghdr = libc.MsgHdr(
            msg_iov=ctypes.addressof(iov),
            msg_iovlen=1,
            msg_control=ctypes.addressof(control_view),
        )
        self._address = ctypes.addressof(self._msghdr)
        self._pinned = (frame_view, control_view, iov)  # what _msghdr points into

    def recvmsg(self, sock: int) -> int:
        """One non-blocking ``recvmsg()``: the frame's size, or -1 with errno set."""
        self._msghdr.msg_controllen = _CONTROL_SIZE  # the kernel sets it to what it used
        return libc.recvmsg(sock, self._address, libc.MSG_DONTWAIT)

    def timestamp(self) -> float:
        """When the kernel received the last frame, in seconds since the epoch."""
        cmsg: tuple[int, int, int, int, int] = _TIMESTAMP_CMSG.unpack_from(self._control)
        return cmsg[3] + cmsg[4] * 1e-9  # tv_sec, tv_nsec

    def is_rx(self) -> bool:
        """Whether the last frame came from the bus rather than this host
        (the kernel marks local ones with MSG_DONTROUTE), as python-can says."""
        return not self._msghdr.msg_flags & libc.MSG_DONTROUTE
