"""The C library calls, structures and constants the ctypes backend needs.

Everything goes through libc with ctypes, never through the ``socket`` module,
so the backend works on interpreters built without ``socket.AF_CAN``. Each
function returns the C result unchanged (``-1``, or ``0`` for
``if_nametoindex`` and ``None`` for ``if_indextoname``, on failure); read the
cause with ``ctypes.get_errno()``.
"""

from __future__ import annotations

import ctypes
from typing import Callable

# <sys/socket.h>, <linux/can.h>, <linux/can/raw.h>
AF_CAN = 29
SOCK_DGRAM = 2
SOCK_RAW = 3
SOCK_CLOEXEC = 0o2000000
CAN_RAW = 1
CAN_BCM = 2
SOL_SOCKET = 1
SOL_CAN_RAW = 101
CAN_RAW_FILTER = 1
CAN_RAW_ERR_FILTER = 2
CAN_RAW_LOOPBACK = 3
CAN_RAW_RECV_OWN_MSGS = 4
CAN_RAW_FD_FRAMES = 5
CAN_RAW_XL_FRAMES = 7
CAN_RAW_XL_VCID_OPTS = 8
# struct can_raw_vcid_options.flags.
CAN_RAW_XL_VCID_TX_SET = 0x01
CAN_RAW_XL_VCID_TX_PASS = 0x02
CAN_RAW_XL_VCID_RX_FILTER = 0x04
SO_RCVBUF = 8
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
SO_TIMESTAMPING = 37
SCM_TIMESTAMPING = SO_TIMESTAMPING
SO_MEMINFO = 55
#: Index of the drop count in SO_MEMINFO's array of u32 (SK_MEMINFO_DROPS).
SK_MEMINFO_DROPS = 8
MSG_DONTROUTE = 0x4
MSG_DONTWAIT = 0x40
#: Longest interface name with its NUL (<net/if.h>).
IFNAMSIZ = 16


class SockaddrCan(ctypes.Structure):
    """``struct sockaddr_can``; the address union is unused by CAN_RAW and CAN_BCM."""

    _fields_ = (
        ("can_family", ctypes.c_ushort),
        ("can_ifindex", ctypes.c_int),
        ("can_addr", ctypes.c_uint64 * 2),
    )


class IoVec(ctypes.Structure):
    """``struct iovec``."""

    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


class MsgHdr(ctypes.Structure):
    """``struct msghdr`` in the kernel's layout (glibc's; musl's only pads differently)."""

    _fields_ = (
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.c_void_p),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    )


_libc = ctypes.CDLL(None, use_errno=True)


def _bind(name: str, restype: type, *argtypes: type) -> ctypes._NamedFuncPointer:
    function = _libc[name]
    function.restype = restype
    function.argtypes = argtypes
    return function


# Pointer arguments are addresses (int) or bytes; the caller keeps them alive.
socket: Callable[[int, int, int], int] = _bind(
    "socket", ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int
)
bind: Callable[[int, int, int], int] = _bind(
    "bind", ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32
)
connect: Callable[[int, int, int], int] = _bind(
    "connect", ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32
)
setsockopt: Callable[[int, int, int, bytes, int], int] = _bind(
    "setsockopt",
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_uint32,
)
getsockopt: Callable[[int, int, int, int, int], int] = _bind(
    "getsockopt",
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_void_p,
)
recvmsg: Callable[[int, int, int], int] = _bind(
    "recvmsg", ctypes.c_ssize_t, ctypes.c_int, ctypes.c_void_p, ctypes.c_int
)
recv: Callable[[int, ctypes.Array[ctypes.c_char], int, int], int] = _bind(
    "recv", ctypes.c_ssize_t, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int
)
send: Callable[[int, bytes, int, int], int] = _bind(
    "send", ctypes.c_ssize_t, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int
)
sendto: Callable[[int, bytes, int, int, bytes, int], int] = _bind(
    "sendto",
    ctypes.c_ssize_t,
    ctypes.c_int,
    ctypes.c_char_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_char_p,
    ctypes.c_uint32,
)
ioctl: Callable[[int, int, int], int] = _bind(
    "ioctl", ctypes.c_int, ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p
)
write: Callable[[int, bytes, int], int] = _bind(
    "write", ctypes.c_ssize_t, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t
)
close: Callable[[int], int] = _bind("close", ctypes.c_int, ctypes.c_int)
if_nametoindex: Callable[[bytes], int] = _bind("if_nametoindex", ctypes.c_uint, ctypes.c_char_p)
#: Writes the name (at most IFNAMSIZ bytes) into the buffer; returns None on failure.
if_indextoname: Callable[[int, ctypes.Array[ctypes.c_char]], bytes | None] = _bind(
    "if_indextoname", ctypes.c_char_p, ctypes.c_uint, ctypes.c_char_p
)
