"""The exceptions ferrocan raises, with python-can's names and hierarchy.

Both backends raise these classes; the native module imports them from here,
so there is exactly one definition of each.
"""

from __future__ import annotations

__all__ = [
    "CanError",
    "CanInitializationError",
    "CanInterfaceNotImplementedError",
    "CanOperationError",
    "CanTimeoutError",
]


class CanError(Exception):
    """Base class for every CAN error, as in python-can.

    ``error_code`` carries the errno (or other code) behind the error, when
    there is one, and is appended to the message as ``[Error Code N]``.
    """

    def __init__(self, message: str = "", error_code: int | None = None) -> None:
        self.error_code = error_code
        super().__init__(message if error_code is None else f"{message} [Error Code {error_code}]")


class CanInterfaceNotImplementedError(CanError, NotImplementedError):
    """The requested interface or backend is not available here."""


class CanInitializationError(CanError):
    """A bus could not be opened: missing interface, bad channel, permissions."""


class CanOperationError(CanError):
    """An operation on an open bus failed: send, receive, filters, shutdown bus."""


class CanTimeoutError(CanError, TimeoutError):
    """An operation did not complete within its timeout."""
