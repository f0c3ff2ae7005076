"""Kernel-timed periodic sending: ``Bus.send_periodic`` returns a
:class:`PeriodicTask`, python-can's ``CyclicSendTask`` API.

The kernel's broadcast manager (CAN_BCM) keeps the time: no Python or Rust
thread wakes up per frame. Each running task has a CAN_BCM socket of its
own, so several tasks may share an arbitration ID; a task frees it when it
stops or its duration is over.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ferrocan._backend import BackendTask
from ferrocan._errors import xl_not_periodic
from ferrocan.exceptions import CanOperationError

_log = logging.getLogger(__name__)

__all__ = ["PeriodicTask"]

#: The broadcast manager sends at most this many different frames in turn.
MAX_MESSAGES = 256
#: The largest frame count the kernel takes (a u32).
MAX_COUNT = 2**32 - 1
#: The periods the kernel times, in seconds: it counts microseconds (a
#: shorter period would be 0, a single frame), up to BCM_TIMER_SEC_MAX.
MIN_PERIOD = 1e-6
MAX_PERIOD = 400 * 24 * 60 * 60


class TaskSockets:
    """The tasks of one bus that hold a CAN_BCM socket.

    A task opens a socket on ``start()`` and frees it on ``stop()``; one
    whose duration is over frees it the next time a task of the bus starts;
    ``close_all()`` (the bus's shutdown) closes the rest.
    """

    def __init__(self) -> None:
        # Taken by every start, stop and free: a start frees the sockets of
        # other tasks, which their own threads may be stopping meanwhile.
        self.lock = threading.RLock()
        self._holders: set[PeriodicTask] = set()

    def open(self, task: PeriodicTask, opener: Callable[[], BackendTask]) -> BackendTask:
        """A new socket for ``task``, once finished tasks have freed theirs."""
        with self.lock:
            for holder in list(self._holders):
                holder.free_if_over()
            bcm = opener()
            self._holders.add(task)
            return bcm

    def freed(self, task: PeriodicTask) -> None:
        with self.lock:
            self._holders.discard(task)

    def close_all(self) -> None:
        """Stops the tasks (the bus's shutdown: a later start() raises its error)."""
        with self.lock:
            for task in list(self._holders):
                task.stop()


class PeriodicTask:
    """Messages sent by the kernel every ``period`` seconds, in turn.

    With ``duration``, exactly ``round(duration / period)`` frames go out
    (at least one), the first at once.
    """

    def __init__(
        self,
        open_bcm: Callable[[], BackendTask],
        sockets: TaskSockets,
        messages: Sequence[Any],
        period: float,
        duration: float | None,
        on_stop: Callable[[PeriodicTask], None] | None = None,
    ) -> None:
        self.messages = tuple(messages)
        self.period = period
        self.duration = duration
        self.arbitration_id: int = self.messages[0].arbitration_id
        self._open_bcm = open_bcm
        self._sockets = sockets
        self._count = frame_count(period, duration)
        self._on_stop = on_stop
        # The task's socket, from start() until it stops or its duration is over.
        self._bcm: BackendTask | None = None
        # Started, and neither stopped nor closed (a finished duration counts).
        self._running = False
        self._closed = False

    def start(self) -> None:
        """Starts sending (again, from the first message)."""
        if self._closed:
            raise CanOperationError(
                "start() on a closed periodic task; call send_periodic() for a new one"
            )
        with self._sockets.lock:
            self._free()  # a restart starts afresh, on a new socket
            self._bcm = self._sockets.open(self, self._open_bcm)
            try:
                self._bcm.setup(self.messages, self.period, self._count, True)
            except BaseException:
                self._free()
                raise
            self._running = True
        _log.debug(
            "periodic task id=%#x started: %d message(s) every %s s",
            self.arbitration_id,
            len(self.messages),
            self.period,
        )

    def stop(self) -> None:
        """Stops sending and frees the task's socket (and, as in python-can,
        leaves the bus's list of tasks). ``start()`` sends again."""
        with self._sockets.lock:
            self._running = False
            self._free()
        _log.debug("periodic task id=%#x stopped", self.arbitration_id)
        if self._on_stop is not None:
            self._on_stop(self)

    def modify_data(self, messages: Any) -> None:
        """Replaces the messages' content without disturbing the timing: the
        next frame is sent when it would have been.

        The new messages keep the task's arbitration ID, ID kind (standard
        or extended), frame kind (classic or CAN FD) and number.
        """
        new = as_messages(messages)
        with self._sockets.lock:
            if not self._running:
                raise CanOperationError(
                    "modify_data() on a stopped periodic task; call start() to send again first"
                )
            if len(new) != len(self.messages):
                raise ValueError(
                    f"modify_data() must keep the number of messages ({len(self.messages)}), "
                    f"got {len(new)}; start a new task for a different cycle"
                )
            check_messages(new, like=self.messages[0])
            if self._bcm is not None:  # else the duration is over: start() sends the new ones
                self._bcm.setup(new, self.period, self._count, False)
            self.messages = tuple(new)

    def close(self) -> None:
        """Stops the task for good and frees its socket."""
        with self._sockets.lock:
            self._closed = True
            self._running = False
            self._free()

    def free_if_over(self) -> None:
        """Frees the socket of a task whose duration is over: the kernel
        reported the last frame, or sent the only one at start()."""
        bcm = self._bcm
        if bcm is not None and self._count is not None and (self._count == 1 or bcm.expired()):
            self._free()

    def _free(self) -> None:
        bcm, self._bcm = self._bcm, None
        if bcm is None:
            return
        self._sockets.freed(self)
        try:
            bcm.delete()  # closing alone leaves the task to a child that inherited the socket
        finally:
            bcm.close()

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return (
            f"<PeriodicTask id={self.arbitration_id:#x} period={self.period} "
            f"messages={len(self.messages)} {state}>"
        )


def frame_count(period: float, duration: float | None) -> int | None:
    """How many frames ``duration`` means (at least one); ``None`` for no end."""
    if duration is None:
        return None
    count = max(1, round(duration / period))
    if count > MAX_COUNT:
        raise ValueError(
            f"duration / period asks for {count} frames, but the kernel counts at most "
            f"{MAX_COUNT}; use duration=None to send until stopped"
        )
    return count


def as_messages(messages: Any) -> list[Any]:
    """One message or a sequence of them, as a non-empty list."""
    listed = list(messages) if isinstance(messages, Sequence) else [messages]
    if not listed:
        raise ValueError("a periodic task needs at least one message")
    for msg in listed:
        if not hasattr(msg, "arbitration_id"):
            raise TypeError(
                "a periodic task sends ferrocan.Message or can.Message objects, "
                f"got {type(msg).__name__}"
            )
    if len(listed) > MAX_MESSAGES:
        raise ValueError(
            f"a periodic task sends at most {MAX_MESSAGES} messages in turn, got {len(listed)}"
        )
    return listed


def check_messages(messages: Sequence[Any], like: Any = None) -> None:
    """One arbitration ID (and ID kind) and one frame kind for all messages,
    and, for modify_data(), those of ``like``: the kernel knows a task by them.
    No CAN XL frames, which CAN_BCM cannot send."""
    if any(getattr(msg, "is_xl", False) for msg in messages):
        raise xl_not_periodic()
    first = messages[0]
    if like is not None and _key(first) != _key(like):
        raise ValueError(
            f"modify_data() must keep the arbitration_id {_describe(like)}, "
            f"got {_describe(first)}; start a new task to send another kind of frame"
        )
    for msg in messages[1:]:
        if (msg.arbitration_id, msg.is_extended_id) != _key(first)[:2]:
            raise ValueError(
                "all messages of a periodic task need the same arbitration_id and "
                f"is_extended_id, got {first.arbitration_id:#x} and {msg.arbitration_id:#x}"
            )
        if msg.is_fd != first.is_fd:
            raise ValueError("the messages of a periodic task must be all CAN FD or all classic")


def _key(msg: Any) -> tuple[int, bool, bool]:
    return (msg.arbitration_id, bool(msg.is_extended_id), bool(msg.is_fd))


def _describe(msg: Any) -> str:
    """``0x105 (extended, CAN FD)``."""
    kind = "extended" if msg.is_extended_id else "standard"
    return f"{msg.arbitration_id:#x} ({kind}{', CAN FD' if msg.is_fd else ''})"


def check_timing(period: object, duration: object) -> None:
    for name, value, optional in (("period", period, False), ("duration", duration, True)):
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    if not MIN_PERIOD <= period <= MAX_PERIOD:  # type: ignore[operator]  # a number, above
        raise ValueError(
            f"period must be in {MIN_PERIOD}..{MAX_PERIOD} seconds (a microsecond to 400 days), "
            f"what the kernel's broadcast manager times, got {period!r}"
        )
