"""``ferrocan.Bus``: python-can's socketcan bus on a ferrocan backend."""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from enum import Enum
from types import TracebackType
from typing import Any

from ferrocan import _backend, _filters
from ferrocan import _errors as errors
from ferrocan._backend import BackendTask
from ferrocan._filters import CanFilter
from ferrocan.error_frame import BusState, StateTracker
from ferrocan.exceptions import CanInterfaceNotImplementedError, CanOperationError
from ferrocan.message import Message
from ferrocan.periodic import (
    PeriodicTask,
    TaskSockets,
    as_messages,
    check_messages,
    check_timing,
)
from ferrocan.statistics import BusStatistics

__all__ = ["Bus", "CanProtocol"]

_log = logging.getLogger(__name__)

#: ``interface=`` values, and the backend each one asks for (None: the default).
_INTERFACES: dict[str | None, str | None] = {
    None: None,
    "socketcan": None,
    "ferrocan": None,
    "socketcan_native": "native",
    "socketcan_ctypes": "ctypes",
}

#: The largest receive buffer the kernel sets, before doubling it.
_HALF_INT_MAX = (2**31 - 1) // 2

#: Keyword arguments python-can passes to every bus, meaningless on SocketCAN
#: (a bitrate is set on the interface, see ``ferrocan.link``): accepted and ignored.
_IGNORED = frozenset(
    {"bitrate", "data_bitrate", "single_handle", "config_context", "ignore_config", "timing"}
)


class CanProtocol(Enum):
    """The CAN protocol a bus speaks, as python-can names it."""

    CAN_20 = "CAN_20"
    CAN_FD = "CAN_FD"
    CAN_FD_NON_ISO = "CAN_FD_NON_ISO"
    CAN_XL = "CAN_XL"


class Bus:
    """A CAN bus on a SocketCAN interface, with python-can's API.

    ``Bus('can0')`` opens a CAN_RAW socket on ``can0``; ``recv``, ``send``,
    filters, iteration and the context manager behave as in python-can's
    ``socketcan`` interface.

    :param channel: the interface name, such as ``'can0'`` or ``'vcan0'``;
        ``''`` (the default, as in python-can) receives from every CAN
        interface (each message's ``channel`` says which) and sends each
        message on the interface its ``channel`` names.
    :param interface: ``None``, ``'socketcan'``, or the legacy
        ``'socketcan_native'``/``'socketcan_ctypes'`` (deprecated: use
        ``backend=``).
    :param backend: ``'native'`` (Rust) or ``'ctypes'`` (pure Python); by
        default the best available, or ``FERROCAN_BACKEND``.
    :param receive_own_messages: receive the frames this bus sends.
    :param local_loopback: let other sockets on this host see what this bus sends.
    :param fd: send and receive CAN FD frames.
    :param xl: send and receive CAN XL frames, as well as classic and CAN FD
        ones (Linux 6.2 or later; sending needs an interface MTU of 2060).
        ``bus.protocol`` is then ``CAN_XL``, as python-can names it.
    :param tx_vcid: on an ``xl`` bus, the VCID (0..255) stamped on every
        frame sent; by default each frame carries its message's ``vcid``.
        Needs Linux 6.9 or later (CAN_RAW_XL_VCID_OPTS).
    :param rx_vcid: on an ``xl`` bus, a ``(vcid, mask)`` pair: only CAN XL
        frames whose VCID matches ``vcid`` in the bits of ``mask`` are
        received; by default ``(0, 0)``, every VCID. Needs Linux 6.9 or later.
    :param can_filters: python-can filter dicts, applied in the kernel.
    :param ignore_rx_error_frames: do not receive error frames.
    :param receive_buffer_size: the socket's receive buffer in bytes; the
        default holds a few hundred frames. Past ``net.core.rmem_max`` it
        needs CAP_NET_ADMIN (SO_RCVBUFFORCE): without it the buffer is capped
        at rmem_max (SO_RCVBUF) with a ``RuntimeWarning`` that says how to
        raise the limit. ``bus.receive_buffer_size`` tells the size in effect.
    :param timestamping: ``'software'`` (the kernel's receive time, epoch
        seconds) or ``'hardware'`` (the controller's raw clock, where the
        driver has one; an error where it has not).
    :param io_uring: receive through io_uring, so that ``recv(0.0)`` on an
        empty bus costs no syscall: the native backend's default where the
        kernel allows io_uring (Linux 6.0+) and the machine is 64-bit (the
        armv7l build has no io_uring), else it reads with a syscall per
        poll, as the ctypes backend always does. ``channel_info`` says which.
    """

    def __init__(
        self,
        channel: str = "",
        interface: str | None = None,
        *,
        backend: str | None = None,
        receive_own_messages: bool = False,
        local_loopback: bool = True,
        fd: bool = False,
        xl: bool = False,
        can_filters: Iterable[CanFilter] | None = None,
        ignore_rx_error_frames: bool = False,
        io_uring: bool | None = None,
        receive_buffer_size: int | None = None,
        timestamping: str = "software",
        tx_vcid: int | None = None,
        rx_vcid: tuple[int, int] | None = None,
        **kwargs: Any,
    ) -> None:
        interface = _legacy_bustype(interface, kwargs)
        _reject_unknown(kwargs)
        self.channel = errors.check_channel(channel)
        self.backend = _choose_backend(interface, backend)
        errors.check_timestamping(timestamping)
        self.xl = errors.check_flag("xl", xl)
        errors.check_vcids(self.xl, tx_vcid, rx_vcid)
        self._filters, filter_pairs = _filters.parse(can_filters)
        io_uring_asked = io_uring is not None
        if io_uring is None:
            io_uring = self.backend == "native"
        self._errors = StateTracker()
        self._socket = _backend.socket_class(self.backend)(
            self.channel,
            fd=errors.check_flag("fd", fd),
            xl=self.xl,
            tx_vcid=tx_vcid,
            rx_vcid=rx_vcid,
            receive_own_messages=errors.check_flag("receive_own_messages", receive_own_messages),
            local_loopback=errors.check_flag("local_loopback", local_loopback),
            error_frames=not errors.check_flag("ignore_rx_error_frames", ignore_rx_error_frames),
            io_uring=errors.check_flag("io_uring", io_uring),
            receive_buffer_size=receive_buffer_size,
            timestamping=timestamping,
            filters=filter_pairs,
            on_error_frame=self._errors,
        )
        self._bind_per_frame_calls()
        granted = self._socket.receive_buffer_size
        _warn_if_capped(receive_buffer_size, granted)
        self._shut_down = False
        # The drop count last logged: a growing one is a warning.
        self._reported_drops = 0
        # python-can's list: the tasks stop_all_periodic_tasks() stops.
        self._periodic_tasks: list[PeriodicTask] = []
        # The tasks holding a CAN_BCM socket, closed at shutdown.
        self._task_sockets = TaskSockets()
        self.protocol = _protocol(fd, self.xl)
        reception = ", io_uring" if self._socket.io_uring else ""
        self.channel_info = (
            f"socketcan channel '{self.channel}' (ferrocan {self.backend} backend{reception})"
        )
        _log.debug(
            "opened %s: fd=%s, xl=%s, filters=%s, receive buffer %d bytes, %s timestamps",
            self.channel_info,
            fd,
            self.xl,
            self._filters,
            granted,
            timestamping,
        )
        if io_uring and not self._socket.io_uring:
            _log.log(
                logging.INFO if io_uring_asked else logging.DEBUG,
                "no io_uring for %r (it needs Linux 6.0 and a 64-bit build of ferrocan, "
                "not armv7l's, and may be disabled by "
                "kernel.io_uring_disabled or a seccomp filter): an empty recv(0.0) "
                "makes one syscall",
                self.channel,
            )

    def recv(self, timeout: float | None = None) -> Message | None:
        """Returns the next message, or ``None`` when ``timeout`` passes.

        ``None`` waits until a frame arrives, ``0.0`` never blocks (one
        syscall at most), a positive number waits at most that many seconds.
        """
        return self._socket.recv(timeout)

    def send(self, msg: Message, timeout: float | None = None) -> None:
        """Sends ``msg``; with a timeout, waits at most that long for room in
        the kernel's transmit queue, then raises ``CanOperationError``."""
        self._socket.send(msg, timeout)

    def recv_batch(self, max_messages: int = 256, timeout: float | None = None) -> list[Message]:
        """Returns every message already available, up to ``max_messages``;
        when none is, waits like ``recv`` (an empty list on timeout)."""
        return self._socket.recv_batch(errors.check_batch_size(max_messages), timeout)

    def send_batch(self, messages: Iterable[Message], timeout: float | None = None) -> int:
        """Sends ``messages`` in order with as few syscalls as possible and
        returns how many the kernel took: all of them, unless ``timeout``
        passed first. Raises ``CanOperationError`` if it took none in time."""
        return self._socket.send_batch(messages, timeout)

    async def recv_async(self, timeout: float | None = None) -> Message | None:
        """``recv`` for asyncio: waits on the running loop, not in a thread."""
        from ferrocan import aio  # asyncio only for those who use it: it slows import

        return await aio.recv(self, timeout)

    def aiter(self) -> AsyncIterator[Message]:
        """``async for msg in bus.aiter()``: messages until the bus is shut down."""
        from ferrocan import aio

        return aio.aiter(self)

    async def send_async(self, msg: Message, timeout: float | None = None) -> None:
        """``send`` for asyncio: a full transmit queue is waited for on the loop."""
        from ferrocan import aio

        await aio.send(self, msg, timeout)

    def send_periodic(
        self,
        msgs: Message | Sequence[Message],
        period: float,
        duration: float | None = None,
        store_task: bool = True,
        autostart: bool = True,
    ) -> PeriodicTask:
        """Sends ``msgs`` every ``period`` seconds, one after the other, timed
        by the kernel (CAN_BCM); for ``duration`` seconds, or until stopped."""
        messages = as_messages(msgs)
        check_timing(period, duration)
        check_messages(messages)
        if messages[0].is_fd and self.protocol is CanProtocol.CAN_20:
            raise errors.fd_not_enabled(self.channel)
        self._check_open()
        opener = functools.partial(self._open_bcm, self.channel or _destination(messages[0]))
        on_stop = self._forget if store_task else None
        task = PeriodicTask(opener, self._task_sockets, messages, period, duration, on_stop)
        if autostart:
            task.start()
        if store_task:
            self._periodic_tasks.append(task)
        return task

    def stop_all_periodic_tasks(self, remove_tasks: bool = True) -> None:
        """Stops every task this bus started and kept (``store_task=True``)."""
        tasks = list(self._periodic_tasks)
        for task in tasks:
            task.stop()
        self._periodic_tasks = [] if remove_tasks else tasks

    def _open_bcm(self, channel: str) -> BackendTask:
        """A CAN_BCM socket for a task that starts; an error once shut down."""
        self._check_open()
        return _backend.bcm_class(self.backend)(channel)

    def _check_open(self) -> None:
        if self._shut_down:
            self._socket.fileno()  # raises the shut-down error

    def _forget(self, task: PeriodicTask) -> None:
        if task in self._periodic_tasks:
            self._periodic_tasks.remove(task)

    @property
    def state(self) -> BusState:
        """ACTIVE, PASSIVE or BUS_OFF, as the error frames received so far
        tell (a bus with ``ignore_rx_error_frames=True`` stays ACTIVE)."""
        return self._errors.state

    def statistics(self) -> BusStatistics:
        """Frames received, sent, and dropped by the kernel for want of room.

        A drop count grown since the bus last looked is logged as a warning
        (logger ``ferrocan.bus``); so is one found at ``shutdown()``."""
        statistics = BusStatistics(*self._socket.statistics())
        if statistics.dropped > self._reported_drops:
            _log.warning(
                "the kernel dropped %d frame(s) on %r for want of room in the receive buffer "
                "(%d in all): read faster, or open the bus with a larger receive_buffer_size",
                statistics.dropped - self._reported_drops,
                self.channel,
                statistics.dropped,
            )
            self._reported_drops = statistics.dropped
        return statistics

    def set_filters(self, filters: Iterable[CanFilter] | None = None) -> None:
        """Filters received frames in the kernel; ``None`` receives all.

        Each filter is python-can's ``{"can_id": ..., "can_mask": ...,
        "extended": bool}``; a frame passes when it matches any filter.
        """
        kept, pairs = _filters.parse(filters)
        self._socket.set_filters(pairs)
        self._filters = kept

    @property
    def receive_buffer_size(self) -> int:
        """The socket's receive buffer in bytes, as the kernel reports it."""
        return self._socket.receive_buffer_size

    @property
    def filters(self) -> Sequence[CanFilter] | None:
        """The filters last set, as given."""
        return self._filters

    @filters.setter
    def filters(self, filters: Iterable[CanFilter] | None) -> None:
        self.set_filters(filters)

    def fileno(self) -> int:
        """The socket's file descriptor, for ``select`` and event loops."""
        return self._socket.fileno()

    def shutdown(self) -> None:
        """Closes the bus, waking any thread blocked in it. Idempotent."""
        if not self._shut_down:
            with contextlib.suppress(CanOperationError):
                received, sent, dropped = self.statistics()
                _log.debug(
                    "shutting down %r: %d received, %d sent, %d dropped",
                    self.channel,
                    received,
                    sent,
                    dropped,
                )
        self._shut_down = True
        self._task_sockets.close_all()
        self._periodic_tasks.clear()
        self._socket.shutdown()

    def __iter__(self) -> Iterator[Message]:
        """Yields messages as they arrive, until the bus is shut down."""
        while True:
            try:
                msg = self._socket.recv(None)
            except CanOperationError:
                if self._shut_down:
                    return
                raise
            if msg is not None:
                yield msg

    def _bind_per_frame_calls(self) -> None:
        """``recv``, ``send`` and ``send_batch`` become the backend's own
        methods on this instance, which take the same arguments: a Python
        method in between would cost a call per frame. A subclass that
        overrides one keeps its override."""
        for name in ("recv", "send", "send_batch"):
            if getattr(type(self), name) is getattr(Bus, name):
                setattr(self, name, getattr(self._socket, name))

    def __enter__(self) -> Bus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = ", shut down" if self._shut_down else ""
        return f"ferrocan.Bus({self.channel!r}, backend={self.backend!r}{state})"


def _warn_if_capped(requested: int | None, granted: int) -> None:
    """A warning if the kernel granted less than ``requested`` (doubled, for
    its bookkeeping, and at most INT_MAX / 2 before that): both backends fall
    back from SO_RCVBUFFORCE to SO_RCVBUF, capped at rmem_max, without
    CAP_NET_ADMIN."""
    if requested is None or granted >= 2 * min(requested, _HALF_INT_MAX):
        return
    warnings.warn(
        f"receive_buffer_size={requested} exceeds net.core.rmem_max ({granted // 2} bytes) "
        "and this process lacks CAP_NET_ADMIN, so the buffer is capped: "
        f"bus.receive_buffer_size is {granted} (the kernel doubles what it grants); "
        f"raise the limit with `sysctl -w net.core.rmem_max={requested}`, "
        "or run with CAP_NET_ADMIN",
        RuntimeWarning,
        stacklevel=3,
    )


def _destination(msg: Message) -> str:
    """Where a bus on every interface sends ``msg``: the interface it names."""
    if not isinstance(msg.channel, str) or not msg.channel:
        raise errors.no_interface_to_send()
    return msg.channel


def _protocol(fd: bool, xl: bool) -> CanProtocol:
    """python-can's name for what the bus sends: an xl bus sends CAN FD too."""
    if xl:
        return CanProtocol.CAN_XL
    return CanProtocol.CAN_FD if fd else CanProtocol.CAN_20


def _legacy_bustype(interface: str | None, kwargs: dict[str, Any]) -> str | None:
    if "bustype" not in kwargs:
        return interface
    bustype = kwargs.pop("bustype")
    warnings.warn("bustype= is deprecated; use interface=", DeprecationWarning, stacklevel=3)
    if interface is not None and interface != bustype:
        raise TypeError("pass interface or bustype, not both")
    return bustype  # type: ignore[no-any-return]


def _reject_unknown(kwargs: dict[str, Any]) -> None:
    unknown = sorted(set(kwargs) - _IGNORED)
    if unknown:
        raise TypeError(f"Bus() got an unexpected keyword argument '{unknown[0]}'")


def _choose_backend(interface: str | None, backend: str | None) -> str:
    if interface not in _INTERFACES:
        raise CanInterfaceNotImplementedError(
            f"interface {interface!r} is not supported by ferrocan; use 'socketcan' (or None)"
        )
    implied = _INTERFACES[interface]
    if implied is not None:
        warnings.warn(
            f"interface={interface!r} is deprecated; use interface='socketcan', "
            f"backend={implied!r}",
            DeprecationWarning,
            stacklevel=3,
        )
        if backend is not None and backend != implied:
            raise ValueError(f"interface={interface!r} contradicts backend={backend!r}")
    return backend or implied or _backend.default_backend()
