"""The buffers of a ``recvmsg()`` call, and the ancillary data the kernel puts in them."""

from __future__ import annotations

import ctypes
import struct

from ferrocan._can_h import CANFD_MTU
from ferrocan._ctypes import libc

# Each frame comes with one cmsg holding its timestamp: a cmsghdr (size_t
# cmsg_len; int cmsg_level, cmsg_type) and, aligned to sizeof(size_t) as "@"
# does, one struct timespec (SCM_TIMESTAMPNS: the kernel's software stamp) or
# three (SCM_TIMESTAMPING, with SO_TIMESTAMPING: the third is the device's
# raw hardware stamp).
_FIRST_CMSG = struct.Struct("@Niill")  # ..., tv_sec, tv_nsec of the first timespec
_TIMESPEC = struct.Struct("@ll")
_CMSG_HEADER_SIZE = _FIRST_CMSG.size - _TIMESPEC.size
_RAW_HARDWARE_OFFSET = _CMSG_HEADER_SIZE + 2 * _TIMESPEC.size
# Room for both (CMSG_SPACE of each), whichever the socket asked for.
_CONTROL_SIZE = _FIRST_CMSG.size + _RAW_HARDWARE_OFFSET + _TIMESPEC.size


class RxBuffer:
    """A frame buffer, an address, a control buffer and the msghdr pointing at them.

    Made once and reused, so that a receive allocates nothing but the message.
    ``frame`` holds the last frame received; it has room for ``size`` bytes:
    CANFD_MTU, or CANXL_MTU on a socket that receives CAN XL frames.
    """

    __slots__ = ("_address", "_control", "_msghdr", "_pinned", "_source", "frame")

    def __init__(self, size: int = CANFD_MTU) -> None:
        self.frame = bytearray(size)
        self._control = bytearray(_CONTROL_SIZE)
        # ctypes views pin the bytearrays (they cannot be resized while
        # exported) and give their addresses.
        frame_view = (ctypes.c_char * len(self.frame)).from_buffer(self.frame)
        control_view = (ctypes.c_char * len(self._control)).from_buffer(self._control)
        iov = libc.IoVec(ctypes.addressof(frame_view), len(self.frame))
        self._source = libc.SockaddrCan()
        self._msghdr = libc.MsgHdr(
            msg_name=ctypes.addressof(self._source),
            msg_iov=ctypes.addressof(iov),
            msg_iovlen=1,
            msg_control=ctypes.addressof(control_view),
        )
        self._address = ctypes.addressof(self._msghdr)
        self._pinned = (frame_view, control_view, iov)  # what _msghdr points into

    def recvmsg(self, sock: int) -> int:
        """One non-blocking ``recvmsg()``: the frame's size, or -1 with errno set."""
        # The kernel sets both lengths to what it used.
        self._msghdr.msg_namelen = ctypes.sizeof(self._source)
        self._msghdr.msg_controllen = _CONTROL_SIZE
        return libc.recvmsg(sock, self._address, libc.MSG_DONTWAIT)

    def timestamp(self) -> float:
        """When the last frame was received, in seconds: the kernel's clock
        (epoch) or the device's, as the socket asked; 0.0 if it has no stamp."""
        if not self._msghdr.msg_controllen:
            return 0.0
        first: tuple[int, int, int, int, int] = _FIRST_CMSG.unpack_from(self._control)
        stamp: tuple[int, int] = first[3:]
        if first[2] == libc.SCM_TIMESTAMPING:  # cmsg_type
            stamp = _TIMESPEC.unpack_from(self._control, _RAW_HARDWARE_OFFSET)
        return stamp[0] + stamp[1] * 1e-9  # tv_sec, tv_nsec

    def interface_index(self) -> int:
        """The index of the interface the last frame came in on."""
        index: int = self._source.can_ifindex
        return index

    def is_rx(self) -> bool:
        """Whether the last frame came from the bus rather than this host
        (the kernel marks local ones with MSG_DONTROUTE), as python-can says."""
        return not self._msghdr.msg_flags & libc.MSG_DONTROUTE
