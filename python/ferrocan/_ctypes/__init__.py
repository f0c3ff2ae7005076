"""The ctypes backend: SocketCAN through libc, for when the native module is absent.

It needs nothing but the standard library, not even ``socket.AF_CAN``.
"""

from __future__ import annotations

from ferrocan._ctypes.socket import CtypesSocket

__all__ = ["CtypesSocket"]
