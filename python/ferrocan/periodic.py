"""Kernel-timed periodic sending: ``Bus.send_periodic`` returns a
:class:`PeriodicTask`, python-can's ``CyclicSendTask`` API.

The kernel's broadcast manager (CAN_BCM) keeps the time: no Python or Rust
thread wakes up per frame. Each task has a CAN_BCM socket of its own, so
several tasks may share an arbitration ID.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ferrocan.exceptions import CanOperationError

__all__ = ["PeriodicTask"]

#: The broadcast manager sends at most this many different frames in turn.
MAX_MESSAGES = 256
#: The largest frame count the kernel takes (a u32).
MAX_COUNT = 2**32 - 1


class BcmTask(Protocol):
    """What a backend provides for one task (``_native.BcmTask``,
    ``_ctypes.bcm.BcmTask``)."""

    def setup(self, messages: Sequence[Any], period: float, count: int | None, start: bool) -> None:
        """Hand the frames over; ``start`` (re)starts the timer, else the
        frames are replaced in place and the phase is kept. ``count`` is the
        number of frames to send in all, ``None`` for no end."""

    def delete(self) -> None: ...

    def close(self) -> None: ...


class PeriodicTask:
    """Messages sent by the kernel every ``period`` seconds, in turn.

    With ``duration``, exactly ``round(duration / period)`` frames go out
    (at least one), the first at once.
    """

    def __init__(
        self,
        bcm: BcmTask,
        messages: Sequence[Any],
        period: float,
        duration: float | None,
        on_stop: Callable[[PeriodicTask], None] | None = None,
    ) -> None:
        self.messages = tuple(messages)
        self.period = period
        self.duration = duration
        self.arbitration_id: int = self.messages[0].arbitration_id
        self._bcm = bcm
        self._count = frame_count(period, duration)
        self._on_stop = on_stop
        self._running = False

    def start(self) -> None:
        """Starts sending (again, from the first message)."""
        self._bcm.setup(self.messages, self.period, self._count, True)
        self._running = True

    def stop(self) -> None:
        """Stops sending (and, as in python-can, leaves the bus's list of
        tasks). ``start()`` sends again."""
        self._bcm.delete()
        self._running = False
        if self._on_stop is not None:
            self._on_stop(self)

    def modify_data(self, messages: Any) -> None:
        """Replaces the messages' content without disturbing the timing: the
        next frame is sent when it would have been.

        The new messages keep the task's arbitration ID and number.
        """
        new = as_messages(messages)
        if not self._running:
            raise CanOperationError(
                "modify_data() on a stopped periodic task; call start() to send again first"
            )
        if len(new) != len(self.messages):
            raise ValueError(
                f"modify_data() must keep the number of messages ({len(self.messages)}), "
                f"got {len(new)}; start a new task for a different cycle"
            )
        check_messages(new, expected_id=self.arbitration_id)
        self._bcm.setup(new, self.period, self._count, False)
        self.messages = tuple(new)

    def close(self) -> None:
        """Stops the task for good and frees its socket."""
        self._running = False
        self._bcm.close()

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


def check_messages(messages: Sequence[Any], expected_id: int | None = None) -> None:
    """One arbitration ID (and ID kind) and one frame kind for all messages."""
    first = messages[0]
    key = (first.arbitration_id, first.is_extended_id)
    if expected_id is not None and first.arbitration_id != expected_id:
        raise ValueError(
            f"modify_data() must keep the arbitration_id {expected_id:#x}, "
            f"got {first.arbitration_id:#x}"
        )
    for msg in messages[1:]:
        if (msg.arbitration_id, msg.is_extended_id) != key:
            raise ValueError(
                "all messages of a periodic task need the same arbitration_id and "
                f"is_extended_id, got {first.arbitration_id:#x} and {msg.arbitration_id:#x}"
            )
        if msg.is_fd != first.is_fd:
            raise ValueError("the messages of a periodic task must be all CAN FD or all classic")


def check_timing(period: object, duration: object) -> None:
    for name, value, optional in (("period", period, False), ("duration", duration, True)):
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
