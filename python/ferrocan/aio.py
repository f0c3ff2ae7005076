"""asyncio for :class:`ferrocan.Bus`: ``recv_async``, ``aiter`` and ``send_async``.

No thread: receiving waits on the running loop for ``bus.fileno()`` to become
readable (``add_reader``), then takes the frame with ``recv(0.0)``. A
readable descriptor may yield nothing when another reader took the frame
first, so receiving loops until it has a frame or the timeout passes. Waits
are sliced, so a bus shut down meanwhile is noticed within ``SLICE`` seconds.

A full transmit queue (ENOBUFS) cannot be waited for on a descriptor, so
``send`` retries after short pauses that grow, as the blocking ``send`` does.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ferrocan._errors import check_timeout, transmit_buffer_full
from ferrocan.exceptions import CanOperationError

if TYPE_CHECKING:
    from ferrocan.bus import Bus
    from ferrocan.message import Message

__all__ = ["aiter", "recv", "send"]

#: Longest single wait for a readable descriptor, and so the longest a
#: pending receive takes to notice that the bus was shut down.
SLICE = 0.1
#: Pauses between attempts while the transmit queue is full: the loop's
#: timer resolution (1 ms) first, then doubling.
PAUSE_FIRST = 1e-3
PAUSE_MAX = 8e-3

_Waiters = set["asyncio.Future[None]"]
#: The futures waiting for a descriptor to become readable, by loop and
#: descriptor: the loop watches a descriptor while anyone waits for it (one
#: reader per descriptor, however many coroutines receive from the bus).
_WAITING: dict[tuple[asyncio.AbstractEventLoop, int], _Waiters] = {}


async def recv(bus: Bus, timeout: float | None = None) -> Message | None:
    """The next message, or ``None`` once ``timeout`` seconds have passed
    (``None`` waits for ever, ``0.0`` only takes what is already there)."""
    check_timeout(timeout)
    msg = bus.recv(0.0)
    if msg is not None or timeout == 0:
        return msg
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        remaining = SLICE if deadline is None else min(deadline - loop.time(), SLICE)
        if remaining <= 0:
            return None
        await _readable(loop, bus.fileno(), remaining)
        msg = bus.recv(0.0)
        if msg is not None:
            return msg


async def aiter(bus: Bus) -> AsyncIterator[Message]:
    """Yields messages as they arrive, until the bus is shut down."""
    while True:
        try:
            msg = await recv(bus)
        except CanOperationError:
            if bus._shut_down:
                return
            raise
        if msg is not None:
            yield msg


async def send(bus: Bus, msg: Any, timeout: float | None = None) -> None:
    """Sends ``msg``; while the transmit queue is full, retries until
    ``timeout`` passes (``None``: until the kernel takes it), then raises
    ``CanOperationError`` (ENOBUFS), as ``Bus.send`` does."""
    check_timeout(timeout)
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    pause = PAUSE_FIRST
    while not _offer(bus, msg):
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            raise transmit_buffer_full(bus.channel or msg.channel, timeout or 0.0)
        await asyncio.sleep(pause if remaining is None else min(pause, remaining))
        pause = min(2 * pause, PAUSE_MAX)


def _offer(bus: Bus, msg: Any) -> bool:
    """One attempt that never blocks: True if the kernel took ``msg``,
    False if its transmit queue is full."""
    try:
        bus.send(msg, 0.0)
    except CanOperationError as error:
        if error.error_code == errno.ENOBUFS:
            return False
        raise
    return True


async def _readable(loop: asyncio.AbstractEventLoop, fd: int, timeout: float) -> None:
    """Returns once ``fd`` is readable or ``timeout`` seconds have passed;
    the loop stops watching ``fd`` once nobody waits, even when cancelled."""
    key = (loop, fd)
    waiters = _WAITING.get(key)
    if waiters is None:
        waiters = _WAITING[key] = set()
        loop.add_reader(fd, _wake_all, waiters)
    waiter: asyncio.Future[None] = loop.create_future()
    waiters.add(waiter)
    timer = loop.call_later(timeout, _wake, waiter)
    try:
        await waiter
    finally:
        timer.cancel()
        waiters.discard(waiter)
        if not waiters:
            del _WAITING[key]
            loop.remove_reader(fd)


def _wake_all(waiters: _Waiters) -> None:
    for waiter in waiters:
        _wake(waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
