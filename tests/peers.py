"""can-utils as an independent peer: candump reading, cansend writing."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from types import TracebackType

from ferrocan import Bus, Message

SYNC_ID = 0x7FE


class Candump:
    """`candump -L` on an interface, started and proven to be listening.

    Listening is proven with sync frames (ID 0x7FE) sent until candump prints
    one, so no frame under test is sent before candump has bound its socket.
    """

    def __init__(self, channel: str, *args: str) -> None:
        self.channel = channel
        self._proc = subprocess.Popen(
            ["candump", "-L", *args, channel], stdout=subprocess.PIPE, text=True, bufsize=1
        )
        # A thread reads lines as they come: select() on the pipe, then
        # readline() on its buffer, would miss a second line that arrived
        # with the first.
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.strip())

    def __enter__(self) -> Candump:
        with Bus(self.channel, backend="native", fd=True) as bus:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                bus.send(Message(arbitration_id=SYNC_ID, is_extended_id=False))
                if self._readline(0.1) is not None:
                    return self
        self.close()
        raise TimeoutError("candump did not start listening within 10 s")

    def lines(self, count: int, timeout: float = 5.0) -> list[str]:
        """The next `count` frames candump prints, as `ID#DATA` (sync frames skipped)."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            line = self._readline(max(0.0, deadline - time.monotonic()))
            if line is None:
                raise TimeoutError(f"candump printed {got} but not {count} frames")
            frame = line.split()[-1]
            if not frame.startswith(f"{SYNC_ID:03X}#"):
                got.append(frame)
        return got

    def _readline(self, timeout: float) -> str | None:
        try:
            return self._lines.get(timeout=timeout) or None
        except queue.Empty:
            return None

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(5)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def cansend(channel: str, frame: str) -> None:
    subprocess.run(["cansend", channel, frame], check=True, timeout=10)
