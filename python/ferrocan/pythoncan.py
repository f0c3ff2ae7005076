"""ferrocan as a python-can interface: ``can.Bus(interface='ferrocan', channel='vcan0')``.

:class:`FerrocanBus` is a ``can.BusABC`` on a :class:`ferrocan.Bus`. It returns
``can.Message`` objects, raises python-can's exceptions, and sends periodic
messages through the kernel's broadcast manager. Registered with python-can
by the ``can.interface`` entry point ``ferrocan``; needs ``pip install
ferrocan[python-can]``.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import can
from can.broadcastmanager import (
    CyclicSendTaskABC,
    LimitedDurationCyclicSendTaskABC,
    ModifiableCyclicTaskABC,
    RestartableCyclicTaskABC,
)
from can.typechecking import AutoDetectedConfig, CanFilters

from ferrocan import bus as _bus
from ferrocan import exceptions
from ferrocan.error_frame import BusState
from ferrocan.periodic import PeriodicTask

__all__ = ["FerrocanBus", "FerrocanCyclicTask"]

_SYS_NET = "/sys/class/net"
#: ``/sys/class/net/*/type`` of a CAN interface (ARPHRD_CAN).
_ARPHRD_CAN = "280"

_EXCEPTIONS: dict[type[exceptions.CanError], type[can.CanError]] = {
    exceptions.CanInterfaceNotImplementedError: can.CanInterfaceNotImplementedError,
    exceptions.CanInitializationError: can.CanInitializationError,
    exceptions.CanOperationError: can.CanOperationError,
    exceptions.CanTimeoutError: can.CanTimeoutError,
    exceptions.CanError: can.CanError,
}

#: python-can calls ``_send_periodic_internal`` with its arguments by
#: position, in an order that changed: ``autostart`` came in 4.5. The
#: plugin knows these orders, and refuses a python-can with another one.
_PERIODIC = inspect.signature(can.BusABC._send_periodic_internal)
_PERIODIC_ORDER = tuple(_PERIODIC.parameters)[1:]  # after self
if _PERIODIC_ORDER not in (
    ("msgs", "period", "duration", "modifier_callback"),  # 4.3, 4.4
    ("msgs", "period", "duration", "autostart", "modifier_callback"),  # 4.5 on
):
    raise ImportError(
        f"ferrocan's python-can plugin does not know python-can {can.__version__}: its "
        f"BusABC._send_periodic_internal takes ({', '.join(_PERIODIC_ORDER)})"
    )

_STATES = {
    BusState.ACTIVE: can.BusState.ACTIVE,
    BusState.PASSIVE: can.BusState.PASSIVE,
    BusState.ERROR: can.BusState.ERROR,
}


def translate(error: exceptions.CanError) -> can.CanError:
    """python-can's exception for a ferrocan one: same class name, message and
    ``error_code``."""
    text = str(error)
    suffix = f" [Error Code {error.error_code}]"
    if error.error_code is not None and text.endswith(suffix):
        text = text[: -len(suffix)]
    kind = next(cls for cls in type(error).__mro__ if cls in _EXCEPTIONS)
    return _EXCEPTIONS[kind](text, error.error_code)


class _Translated:
    """``with _TRANSLATED:`` raises python-can's exceptions for ferrocan's."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc_value, exceptions.CanError):
            raise translate(exc_value) from exc_value


_TRANSLATED = _Translated()

_new_message = can.Message.__new__


def to_can_message(msg: Any) -> can.Message:
    """A ``can.Message`` with the fields of a ferrocan message, unchecked
    (the backend has validated them)."""
    out = _new_message(can.Message)
    out.timestamp = msg.timestamp
    out.arbitration_id = msg.arbitration_id
    out.is_extended_id = msg.is_extended_id
    out.is_remote_frame = msg.is_remote_frame
    out.is_error_frame = msg.is_error_frame
    out.channel = msg.channel
    out.dlc = msg.dlc
    out.data = msg.data
    out.is_fd = msg.is_fd
    out.is_rx = msg.is_rx
    out.bitrate_switch = msg.bitrate_switch
    out.error_state_indicator = msg.error_state_indicator
    return out


class FerrocanBus(can.BusABC):
    """python-can's ``socketcan`` bus on ferrocan.

    Takes ``ferrocan.Bus``'s keyword arguments (``backend``, ``fd``,
    ``receive_own_messages``, ``local_loopback``, ``ignore_rx_error_frames``,
    ``receive_buffer_size``, ...) and ignores those python-can passes to
    every bus (``bitrate``, ``single_handle``, ...). ``channel=''``, the
    default as in python-can, receives from every CAN interface. ``xl=True``
    is refused: python-can's ``Message`` has no CAN XL fields.
    """

    def __init__(
        self, channel: str = "", can_filters: CanFilters | None = None, **kwargs: Any
    ) -> None:
        if kwargs.get("xl"):
            raise ValueError(
                "python-can's Message has no CAN XL fields, so its interface cannot carry "
                f"CAN XL frames: use ferrocan.Bus({channel!r}, xl=True) directly"
            )
        with _TRANSLATED:
            # Filtered from the start: python-can's own set_filters below
            # comes after frames may have queued.
            self._bus = _bus.Bus(channel, can_filters=can_filters, **kwargs)
        self.channel = self._bus.channel
        self.channel_info = self._bus.channel_info
        self._can_protocol = can.CanProtocol[self._bus.protocol.name]
        try:
            super().__init__(channel, can_filters=can_filters)
        except BaseException:
            self._bus.shutdown()
            raise

    def recv(self, timeout: float | None = None) -> can.Message | None:
        """The next message, or ``None`` once ``timeout`` passes (filters are
        applied by the kernel, so no message is dropped here)."""
        with _TRANSLATED:
            msg = self._bus.recv(timeout)
        return None if msg is None else to_can_message(msg)

    def _recv_internal(self, timeout: float | None) -> tuple[can.Message | None, bool]:
        return self.recv(timeout), True

    def send(self, msg: can.Message, timeout: float | None = None) -> None:
        """Sends ``msg``: ``timeout=None`` waits until the kernel takes it, a
        number at most that long before ``can.CanOperationError``."""
        with _TRANSLATED:
            self._bus.send(msg, timeout)  # type: ignore[arg-type]

    def _send_periodic_internal(self, *args: Any, **kwargs: Any) -> CyclicSendTaskABC:
        # python-can's arguments, named by its own signature (see _PERIODIC)
        given = _PERIODIC.bind(self, *args, **kwargs)
        given.apply_defaults()
        arguments = given.arguments
        if arguments["modifier_callback"] is None:
            return FerrocanCyclicTask(
                self._bus,
                arguments["msgs"],
                arguments["period"],
                arguments["duration"],
                arguments.get("autostart", True),
            )
        warnings.warn(
            f"{type(self).__name__} falls back to a thread-based cyclic task, "
            "when the `modifier_callback` argument is given.",
            stacklevel=3,
        )
        return super()._send_periodic_internal(*args, **kwargs)

    def _apply_filters(self, filters: CanFilters | None) -> None:
        with _TRANSLATED:
            self._bus.set_filters(filters)

    def fileno(self) -> int:
        """A descriptor that is readable while messages wait (for
        ``can.Notifier`` and event loops)."""
        with _TRANSLATED:
            return self._bus.fileno()

    @property
    def state(self) -> can.BusState:
        """ACTIVE, PASSIVE or ERROR (bus off), as received error frames tell."""
        return _STATES[self._bus.state]

    @state.setter
    def state(self, new_state: can.BusState) -> None:
        raise NotImplementedError("Property is not implemented.")

    def shutdown(self) -> None:
        """Stops the periodic tasks and closes the bus. Idempotent."""
        super().shutdown()
        self._bus.shutdown()

    @staticmethod
    def _detect_available_configs() -> list[AutoDetectedConfig]:
        return [{"interface": "ferrocan", "channel": name} for name in _can_interfaces()]


class FerrocanCyclicTask(
    LimitedDurationCyclicSendTaskABC, ModifiableCyclicTaskABC, RestartableCyclicTaskABC
):
    """A kernel-timed periodic task (ferrocan's :class:`~ferrocan.PeriodicTask`)
    with python-can's ``CyclicSendTask`` API."""

    def __init__(
        self,
        bus: _bus.Bus,
        messages: Sequence[can.Message] | can.Message,
        period: float,
        duration: float | None,
        autostart: bool,
    ) -> None:
        super().__init__(messages, period, duration)
        with _TRANSLATED:
            self._task: PeriodicTask = bus.send_periodic(
                self.messages,  # type: ignore[arg-type]
                period,
                duration,
                store_task=False,
                autostart=autostart,
            )

    def start(self) -> None:
        """Starts sending (again, from the first message)."""
        with _TRANSLATED:
            self._task.start()

    def stop(self) -> None:
        """Stops sending; ``start()`` sends again."""
        with _TRANSLATED:
            self._task.stop()

    def modify_data(self, messages: Sequence[can.Message] | can.Message) -> None:
        """New data for the messages, without disturbing the timing."""
        checked = self._check_and_convert_messages(messages)
        self._check_modified_messages(checked)
        with _TRANSLATED:
            self._task.modify_data(checked)
        self.messages = checked


def _can_interfaces() -> list[str]:
    """The CAN interfaces that exist (up or down), by name."""
    try:
        names = sorted(os.listdir(_SYS_NET))
    except OSError:
        return []
    return [name for name in names if _read(f"{_SYS_NET}/{name}/type") == _ARPHRD_CAN]


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None
