"""Whether an interface stamps received frames in hardware: ethtool's
``ETHTOOL_GET_TS_INFO``, asked with the ``SIOCETHTOOL`` ioctl on any socket.

The request is a ``struct ifreq`` (``<net/if.h>``) naming the interface,
whose ``ifr_data`` points at a ``struct ethtool_ts_info``
(``<linux/ethtool.h>``) that the kernel fills in.
"""

from __future__ import annotations

import ctypes
import os

from ferrocan._ctypes import libc

__all__ = ["SOF_TIMESTAMPING_RAW_HARDWARE", "SOF_TIMESTAMPING_RX_HARDWARE", "has_rx_hardware"]

SIOCETHTOOL = 0x8946
ETHTOOL_GET_TS_INFO = 0x41
# <linux/net_tstamp.h>
SOF_TIMESTAMPING_RX_HARDWARE = 1 << 2
SOF_TIMESTAMPING_RAW_HARDWARE = 1 << 6


class EthtoolTsInfo(ctypes.Structure):
    """``struct ethtool_ts_info``."""

    _fields_ = (
        ("cmd", ctypes.c_uint32),
        ("so_timestamping", ctypes.c_uint32),
        ("phc_index", ctypes.c_int32),
        ("tx_types", ctypes.c_uint32),
        ("tx_reserved", ctypes.c_uint32 * 3),
        ("rx_filters", ctypes.c_uint32),
        ("rx_reserved", ctypes.c_uint32 * 3),
    )


class IfReq(ctypes.Structure):
    """``struct ifreq`` using ``ifr_data``; ``_rest`` covers the rest of the
    union (``struct ifmap``, its largest member, is 24 bytes on 64-bit), since
    the kernel copies in the whole ``struct ifreq``."""

    _fields_ = (
        ("ifr_name", ctypes.c_char * libc.IFNAMSIZ),
        ("ifr_data", ctypes.c_void_p),
        ("_rest", ctypes.c_char * (24 - ctypes.sizeof(ctypes.c_void_p))),
    )


def has_rx_hardware(sock: int, channel: str) -> bool:
    """Whether ``channel``'s driver reports SOF_TIMESTAMPING_RX_HARDWARE;
    False too if it cannot be asked (no such interface, no ethtool support)."""
    info = EthtoolTsInfo(cmd=ETHTOOL_GET_TS_INFO)
    request = IfReq(ifr_name=os.fsencode(channel), ifr_data=ctypes.addressof(info))
    if libc.ioctl(sock, SIOCETHTOOL, ctypes.addressof(request)):
        return False
    return bool(info.so_timestamping & SOF_TIMESTAMPING_RX_HARDWARE)
