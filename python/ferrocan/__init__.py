"""ferrocan: fast, dependable SocketCAN for Python.

python-can's ``socketcan`` API (``Bus``, ``Message``, ``recv``/``send`` with
timeouts, filters, CAN FD) on a Rust core, with a pure-Python fallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferrocan import interface
from ferrocan._backend import default_backend as _default_backend
from ferrocan.bus import Bus, CanProtocol
from ferrocan.error_frame import BusState, ErrorFrame, error_class_to_str, error_code_to_str
from ferrocan.exceptions import (
    CanError,
    CanInitializationError,
    CanInterfaceNotImplementedError,
    CanOperationError,
    CanTimeoutError,
)
from ferrocan.message import Message
from ferrocan.periodic import PeriodicTask
from ferrocan.recorder import Recorder
from ferrocan.statistics import BusStatistics

__all__ = [
    "Bus",
    "BusState",
    "BusStatistics",
    "CanError",
    "CanInitializationError",
    "CanInterfaceNotImplementedError",
    "CanOperationError",
    "CanProtocol",
    "CanTimeoutError",
    "ErrorFrame",
    "Message",
    "PeriodicTask",
    "Recorder",
    "backend",
    "error_class_to_str",
    "error_code_to_str",
    "interface",
]

if TYPE_CHECKING:
    #: The backend a ``Bus`` gets by default: ``"native"`` or ``"ctypes"``.
    backend: str


def __getattr__(name: str) -> str:
    """``backend``, read when asked for as ``Bus`` reads it, so that a bad
    ``FERROCAN_BACKEND`` fails the ``Bus`` (or ``ferrocan.backend``) that
    needs it, not ``import ferrocan``; and ``__version__``, looked up on
    first use: importlib.metadata is slow to import."""
    if name == "backend":
        return _default_backend()
    if name != "__version__":
        raise AttributeError(f"module 'ferrocan' has no attribute {name!r}")
    from importlib import metadata

    try:
        return metadata.version("ferrocan")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"
