"""asyncio on ferrocan.Bus (recv_async, aiter, send_async), once per backend,
with real vcan traffic: waits happen on the event loop (a ticker keeps
ticking meanwhile), timeouts hold, cancellation and shutdown leave nothing
registered, and several buses share one loop."""

from __future__ import annotations

import asyncio
import errno
import subprocess
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import ferrocan
import pytest
from ferrocan import CanOperationError, Message, aio

from .support import BusFactory

T = TypeVar("T")

#: The longest any test's event loop may run.
LIMIT = 10.0
#: How late a wait may end (User-Mode Linux timers are coarse).
SLACK = 0.15


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Runs ``coro`` in a fresh event loop, for at most ``LIMIT`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, LIMIT))


def frame(can_id: int, data: bytes = b"") -> Message:
    return Message(arbitration_id=can_id, is_extended_id=False, data=data)


class Ticker:
    """Counts event loop turns every ``period`` seconds: proof that the loop
    kept running while a coroutine waited."""

    def __init__(self, period: float = 0.01) -> None:
        self.ticks = 0
        self._period = period
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._period)
            self.ticks += 1

    def stop(self) -> int:
        self._task.cancel()
        return self.ticks


def nothing_watched(bus: ferrocan.Bus) -> bool:
    """Whether the running loop watches no descriptor for ``bus``
    (``remove_reader`` is True only if there was a reader to remove)."""
    return not asyncio.get_running_loop().remove_reader(bus.fileno()) and not aio._WAITING


# --- receiving ---------------------------------------------------------------------------


def test_recv_async_returns_a_frame_sent_later(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()

    async def main() -> tuple[Message | None, float, int]:
        ticker = Ticker()
        asyncio.get_running_loop().call_later(0.2, tx.send, frame(0x123, b"\x01\x02"))
        start = time.monotonic()
        msg = await rx.recv_async()
        return msg, time.monotonic() - start, ticker.stop()

    msg, waited, ticks = run(main())
    assert msg is not None and (msg.arbitration_id, bytes(msg.data)) == (0x123, b"\x01\x02")
    assert 0.2 <= waited < 0.2 + SLACK
    assert ticks >= 5, "the loop was blocked while recv_async waited"


def test_recv_async_takes_a_waiting_frame_at_once(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()
    tx.send(frame(1))
    tx.send(frame(2))
    time.sleep(0.05)

    async def main() -> list[Message | None]:
        return [await rx.recv_async(0.0), await rx.recv_async(0.0), await rx.recv_async(0.0)]

    assert [m.arbitration_id if m else None for m in run(main())] == [1, 2, None]


@pytest.mark.parametrize("timeout", [0.0, 0.2])
def test_recv_async_times_out_with_none_on_time(make_bus: BusFactory, timeout: float) -> None:
    rx = make_bus()

    async def main() -> tuple[Message | None, float, bool]:
        start = time.monotonic()
        msg = await rx.recv_async(timeout)
        return msg, time.monotonic() - start, nothing_watched(rx)

    msg, waited, clean = run(main())
    assert msg is None
    assert timeout <= waited < timeout + SLACK
    assert clean


def test_recv_async_checks_its_timeout(make_bus: BusFactory) -> None:
    rx = make_bus()
    with pytest.raises(TypeError, match=r"^timeout must be None or a number of seconds, got str$"):
        run(rx.recv_async("1"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^timeout must be None .* >= 0, got -1\.0$"):
        run(rx.recv_async(-1))


def test_aiter_yields_frames_in_order(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()

    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        for i in range(50):
            loop.call_later(0.001 * i, tx.send, frame(i))
        got = []
        async for msg in rx.aiter():
            got.append(msg.arbitration_id)
            if len(got) == 50:
                break
        return got

    assert run(main()) == list(range(50))


def test_aiter_ends_when_the_bus_is_shut_down(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()

    async def main() -> tuple[list[int], float]:
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, tx.send, frame(7))
        loop.call_later(0.2, rx.shutdown)
        start = time.monotonic()
        got = [msg.arbitration_id async for msg in rx.aiter()]
        return got, time.monotonic() - start

    got, waited = run(main())
    assert got == [7]
    assert waited < 0.2 + aio.SLICE + SLACK
    assert not aio._WAITING


def test_shutdown_ends_a_pending_recv_async_with_the_usual_error(make_bus: BusFactory) -> None:
    rx = make_bus()

    async def main() -> None:
        asyncio.get_running_loop().call_later(0.1, rx.shutdown)
        await rx.recv_async()

    start = time.monotonic()
    with pytest.raises(CanOperationError, match="is shut down"):
        run(main())
    assert time.monotonic() - start < 0.1 + aio.SLICE + SLACK
    assert not aio._WAITING


# --- cancellation ------------------------------------------------------------------------


def test_a_cancelled_recv_async_leaves_the_bus_usable(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()

    async def main() -> tuple[bool, Message | None]:
        pending = asyncio.create_task(rx.recv_async())
        await asyncio.sleep(0.05)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        clean = nothing_watched(rx)
        tx.send(frame(0x55))
        return clean, await rx.recv_async(1.0)

    clean, msg = run(main())
    assert clean, "a reader stayed registered after cancellation"
    assert msg is not None and msg.arbitration_id == 0x55
    tx.send(frame(0x56))
    later = rx.recv(1.0)
    assert later is not None and later.arbitration_id == 0x56


def test_wait_for_around_recv_async_cancels_cleanly(make_bus: BusFactory) -> None:
    tx, rx = make_bus(), make_bus()

    async def main() -> tuple[bool, Message | None]:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(rx.recv_async(), 0.05)
        clean = nothing_watched(rx)
        tx.send(frame(0x57))
        return clean, await rx.recv_async(1.0)

    clean, msg = run(main())
    assert clean
    assert msg is not None and msg.arbitration_id == 0x57


# --- several buses, several receivers ----------------------------------------------------


def test_several_buses_receive_concurrently_in_one_loop(make_bus: BusFactory) -> None:
    tx0, tx1 = make_bus("vcan0"), make_bus("vcan1")
    rx0, rx1, also0 = make_bus("vcan0"), make_bus("vcan1"), make_bus("vcan0")

    async def collect(bus: ferrocan.Bus, n: int) -> list[tuple[str, int]]:
        got: list[tuple[str, int]] = []
        while len(got) < n and (msg := await bus.recv_async(2.0)) is not None:
            got.append((str(msg.channel), msg.arbitration_id))
        return got

    async def main() -> list[list[tuple[str, int]]]:
        loop = asyncio.get_running_loop()
        for i in range(10):
            loop.call_later(0.01 * i, tx0.send, frame(i))
            loop.call_later(0.01 * i, tx1.send, frame(0x100 + i))
        return list(await asyncio.gather(collect(rx0, 10), collect(rx1, 10), collect(also0, 10)))

    on0, on1, also = run(main())
    assert on0 == also == [("vcan0", i) for i in range(10)]
    assert on1 == [("vcan1", 0x100 + i) for i in range(10)]


def test_two_coroutines_share_one_bus(make_bus: BusFactory) -> None:
    """One reader watches the descriptor for both; each frame goes to one of them."""
    tx, rx = make_bus(), make_bus()

    async def main() -> tuple[list[int], bool]:
        first = asyncio.create_task(rx.recv_async(2.0))
        second = asyncio.create_task(rx.recv_async(2.0))
        await asyncio.sleep(0.05)
        tx.send(frame(1))
        await asyncio.sleep(0.05)
        tx.send(frame(2))
        got = [m.arbitration_id for m in await asyncio.gather(first, second) if m is not None]
        return got, nothing_watched(rx)

    got, clean = run(main())
    assert sorted(got) == [1, 2]
    assert clean


# --- sending -----------------------------------------------------------------------------


def test_send_async_sends(make_bus: BusFactory) -> None:
    tx, rx = make_bus(fd=True), make_bus(fd=True)
    msg = Message(arbitration_id=0x1234567, is_fd=True, bitrate_switch=True, data=range(12))
    run(tx.send_async(msg, timeout=1.0))
    got = rx.recv(1.0)
    assert got is not None
    assert got.equals(msg, timestamp_delta=None, check_channel=False, check_direction=False)


def test_send_async_waits_for_room_in_a_full_queue(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    """155 frames/s with room for ten (slow enough that even PyPy's first
    sends outpace it): most sends meet a full queue and wait on the loop,
    which keeps running; nothing is lost."""
    channel = slow_vcan(rate="20kbit", burst="160", limit="160")
    tx, rx = make_bus(channel), make_bus(channel)

    async def main() -> int:
        ticker = Ticker(0.005)
        for i in range(60):
            await tx.send_async(frame(i), timeout=1.0)
        return ticker.stop()

    start = time.monotonic()
    ticks = run(main())
    assert time.monotonic() - start > 0.05, "the queue never made send_async wait"
    assert ticks >= 5, "the loop was blocked while send_async waited"
    # Each frame within a second; then no extra one within 0.1 s, some 15
    # frame times at this rate (a fixed second of silence cost a second).
    got = []
    while len(got) < 60 and (msg := rx.recv(1.0)) is not None:
        got.append(msg.arbitration_id)
    if (extra := rx.recv(0.1)) is not None:
        got.append(extra.arbitration_id)
    assert got == list(range(60))
    stats = subprocess.run(
        ["tc", "-s", "qdisc", "show", "dev", channel], capture_output=True, text=True, check=True
    ).stdout
    assert "dropped 0," not in stats, f"the queue never filled:\n{stats}"


@pytest.mark.parametrize("timeout", [0.0, 0.2])
def test_send_async_gives_up_with_the_usual_error(
    make_bus: BusFactory, slow_vcan: Callable[..., str], timeout: float
) -> None:
    bus = make_bus(slow_vcan(limit="1"))
    ticks: list[int] = []

    async def main() -> None:
        ticker = Ticker()
        try:
            await bus.send_async(frame(1), timeout=timeout)
        finally:
            ticks.append(ticker.stop())

    start = time.monotonic()
    with pytest.raises(CanOperationError) as raised:
        run(main())
    waited = time.monotonic() - start
    assert ticks[0] >= timeout / 0.01 / 2, "the loop was blocked while send_async waited"
    assert raised.value.error_code == errno.ENOBUFS
    assert str(raised.value) == (
        f"transmit buffer full on 'vcanq': the frame was not taken within {timeout!r} s "
        "[Error Code 105]"
    )
    assert timeout <= waited < timeout + SLACK


def test_send_async_raises_other_errors_at_once(make_bus: BusFactory) -> None:
    bus = make_bus()
    with pytest.raises(CanOperationError, match=r"open the bus with fd=True$"):
        run(bus.send_async(Message(is_fd=True, data=range(12))))
    with pytest.raises(TypeError, match=r"^timeout must be None or a number of seconds, got str$"):
        run(bus.send_async(frame(1), timeout="1"))  # type: ignore[arg-type]
    bus.shutdown()
    with pytest.raises(CanOperationError, match="is shut down"):
        run(bus.send_async(frame(1)))


def test_a_cancelled_send_async_leaves_the_bus_usable(
    make_bus: BusFactory, slow_vcan: Callable[..., str]
) -> None:
    channel = slow_vcan(limit="1")
    bus = make_bus(channel)

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(bus.send_async(frame(1)), 0.1)

    run(main())
    with pytest.raises(CanOperationError, match=r"within 0\.0 s"):
        bus.send(frame(2), timeout=0.0)  # still open, and the queue still full
