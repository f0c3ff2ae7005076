"""``BusStatistics``: what a bus has done, and what the kernel dropped."""

from __future__ import annotations

from typing import NamedTuple


class BusStatistics(NamedTuple):
    """Counters since the bus was opened.

    ``dropped`` counts frames the kernel discarded because this socket's
    receive buffer was full (read faster, use ``recv_batch``, or enlarge the
    buffer). Nothing is dropped in user space: every frame the kernel
    delivered is either ``received`` or still waiting to be.
    """

    received: int
    sent: int
    dropped: int
