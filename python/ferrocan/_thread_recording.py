"""The recorder of the ctypes backend: the native ``Recording`` (src/recorder.rs)
in pure Python, on a thread, with the same interface and behaviour."""

from __future__ import annotations

import os
import select
import sys
import threading
import time
import warnings
from collections.abc import Sequence

from ferrocan._log_format import XL_FORMATS, LogFormat
from ferrocan._sources import ANY
from ferrocan.bus import Bus
from ferrocan.exceptions import CanInitializationError
from ferrocan.message import Message

#: Frames taken from one bus before the next gets its turn.
BATCH = 256
#: Buffered output that triggers a write even while frames keep coming.
FLUSH_AT = 64 * 1024
#: The longest buffered frames wait for a write while frames keep coming.
FLUSH_INTERVAL = 1.0


class _Input:
    """One source's bus, and the drops counted so far."""

    def __init__(
        self, source: tuple[str, list[tuple[int, int]], int], rcvbuf: int | None, xl: bool
    ) -> None:
        self.name, filters, self.error_mask = source
        with warnings.catch_warnings():  # a capped buffer: the Recorder says so, once
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                self.bus = self._open(filters, rcvbuf, xl)
            except CanInitializationError:
                if not xl:
                    raise
                self.bus = self._open(filters, rcvbuf, False)  # a kernel without CAN XL
        self.dropped = 0

    def _open(self, filters: list[tuple[int, int]], rcvbuf: int | None, xl: bool) -> Bus:
        return Bus(
            "" if self.name == ANY else self.name,
            backend="ctypes",
            fd=True,
            xl=xl,
            can_filters=[{"can_id": i, "can_mask": m} for i, m in filters] or None,
            ignore_rx_error_frames=not self.error_mask,
            receive_buffer_size=rcvbuf,
        )

    def fileno(self) -> int:
        return self.bus.fileno()

    def passes(self, msg: Message) -> bool:
        return not msg.is_error_frame or bool(msg.arbitration_id & self.error_mask)


class ThreadRecording:
    """See ``ferrocan._native.Recording``."""

    def __init__(
        self,
        fd: int,
        sources: Sequence[tuple[str, list[tuple[int, int]], int]],
        *,
        format: str,
        count: int | None = None,
        idle: float | None = None,
        receive_buffer_size: int | None = None,
        report_drops: bool = False,
    ) -> None:
        self._inputs: list[_Input] = []
        # As candump does: CAN XL frames too, where kernel and format can.
        xl = format in XL_FORMATS
        try:
            for source in sources:
                self._inputs.append(_Input(source, receive_buffer_size, xl))
        except BaseException:
            self._close()
            raise
        self.receive_buffer_sizes = [i.bus.receive_buffer_size for i in self._inputs]
        self._fd = os.dup(fd)
        self._format = LogFormat(format, [source[0] for source in sources])
        self._count, self._idle, self._report = count, idle, report_drops
        self.written = self.dropped = 0
        self._error: BaseException | None = None
        self._stop = threading.Event()
        # Set once the file is whole and the descriptors closed. wait() waits
        # for it rather than joining the thread: where a signal handler
        # raises in a join (Ctrl-C, the command line's SIGTERM), the
        # threading module of PyPy and of older CPythons marks the thread
        # stopped although it still runs, so the next join returned at once
        # and the process ended before the file was finished.
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ferrocan-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        if not self._done.wait(timeout):
            return False
        error, self._error = self._error, None
        if error is not None:
            raise error
        return True

    def _run(self) -> None:
        try:
            self._record()
        except BaseException as error:  # handed to wait()
            self._error = error
        finally:
            try:
                self._close()
                os.close(self._fd)
            finally:
                self._done.set()

    def _record(self) -> None:
        self._write(self._format.header(time.time()), 0)
        pending: list[bytes] = []
        size = taken = 0
        last_frame = last_write = time.monotonic()
        while not self._stop.is_set() and taken != self._count:
            ready = select.select(self._inputs, [], [], 0.05)[0]
            for source in ready:
                taken = self.written + len(pending)
                if taken == self._count:
                    break
                want = BATCH if self._count is None else min(BATCH, self._count - taken)
                for msg in source.bus.recv_batch(max(want, 1), 0.0):
                    if source.passes(msg):
                        pending.append(self._format.frame(msg))
                        size += len(pending[-1])
                self._count_drops(source)
            if ready:
                last_frame = time.monotonic()
            elif self._idle is not None and time.monotonic() - last_frame >= self._idle:
                break
            taken = self.written + len(pending)
            now = time.monotonic()
            if pending and (not ready or size >= FLUSH_AT or now - last_write >= FLUSH_INTERVAL):
                self._write(self._format.seal(b"".join(pending)), len(pending))
                pending, size, last_write = [], 0, now
        if pending:
            self._write(self._format.seal(b"".join(pending)), len(pending))
        self._write(self._format.footer(), 0)
        header = self._format.final_header()
        if header is not None:
            os.pwrite(self._fd, header, 0)

    def _write(self, data: bytes, frames: int) -> None:
        """Writes ``data``, which holds ``frames``, whole or not at all."""
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError as error:
            _cut(self._fd, written)
            raise OSError(
                error.errno,
                f"{error.strerror}; the recording stopped, and {frames} frame"
                f"{'' if frames == 1 else 's'} received before could not be written",
            ) from None
        self.written += frames

    def _count_drops(self, source: _Input) -> None:
        total = source.bus.statistics().dropped
        if total <= source.dropped:
            return
        new, source.dropped = total - source.dropped, total
        self.dropped += new
        if self._report:
            print(
                f"DROPCOUNT: dropped {new} CAN frame{'s' if new > 1 else ''} "
                f"on '{source.name}' socket (total drops {total})",
                file=sys.stderr,
                flush=True,
            )

    def _close(self) -> None:
        for source in self._inputs:
            source.bus.shutdown()


def _cut(fd: int, written: int) -> None:
    """After a failed write, removes its partial line from a regular file."""
    try:
        if written and os.path.isfile(f"/proc/self/fd/{fd}"):
            end = os.lseek(fd, 0, os.SEEK_CUR)
            os.ftruncate(fd, end - written)
            os.lseek(fd, end - written, os.SEEK_SET)
    except OSError:
        pass
