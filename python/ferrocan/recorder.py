"""Recording CAN traffic to a file, in the background: ``Recorder``.

    with ferrocan.Recorder("traffic.log", ["vcan0", "vcan1,123:7FF"]) as recorder:
        run_the_test()
    print(recorder.frames_written, recorder.frames_dropped)

With the native backend a thread of the Rust core receives (in batches of
up to 256 frames per syscall), formats and writes, without Python, so
recording keeps up with a saturated bus while Python does other work. The
ctypes backend records on a Python thread, in the same formats.

Formats, chosen by the file's suffix or ``format=``:

* ``log`` (``.log``): candump's log format (``candump -L``), which canplayer,
  ``ferrocan replay`` and python-can's ``can.LogReader`` read;
* ``asc`` (``.asc``): Vector's ASCII log, as python-can's ASCWriter writes it;
* ``blf`` (``.blf``): Vector's Binary Logging Format, uncompressed (a file
  only: its header is written last);
* ``candump``, ``candump-x``: candump's screen format (``ferrocan dump``).

Nothing is lost silently: frames the kernel drops for want of room are
counted (``frames_dropped``) and reported by a warning when the recording
stops; a failed write (a full disk) stops the recording and raises
``OSError``, which says how many frames could not be written, and the file
keeps every line written before, whole.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Union, runtime_checkable

from ferrocan import _backend
from ferrocan._errors import check_channel, no_such_interface
from ferrocan._log_format import FORMATS
from ferrocan._sources import ANY, Source
from ferrocan.exceptions import CanError

if TYPE_CHECKING:
    from ferrocan._native import Recording as NativeRecording
    from ferrocan._thread_recording import ThreadRecording

    _Recording = Union[NativeRecording, ThreadRecording]

__all__ = ["DEFAULT_RECEIVE_BUFFER", "Recorder"]

#: The receive buffer a Recorder asks each socket for, in bytes: about ten
#: thousand frames' worth. More than net.core.rmem_max needs CAP_NET_ADMIN;
#: without it the kernel grants up to rmem_max.
DEFAULT_RECEIVE_BUFFER = 8 * 1024 * 1024

_SUFFIXES = {".log": "log", ".asc": "asc", ".blf": "blf"}

FilePath = Union[str, "os.PathLike[str]"]


@runtime_checkable
class _Stream(Protocol):
    """An open file object, written through its descriptor."""

    def fileno(self) -> int: ...

    def flush(self) -> None: ...


class Recorder:
    """Records frames from one or more interfaces to a file, on a thread.

    :param file: the file to write (created or truncated), or an open
        descriptor or stream (such as ``sys.stdout``), written to and never
        closed.
    :param channels: interfaces as candump names them, each optionally with
        candump's filters: ``"vcan0"``, ``"any"`` (every CAN interface),
        ``"vcan0,123:7FF,#FFFFFFFF"``; one or a list. Default: ``"any"``.
    :param format: ``"log"``, ``"asc"``, ``"blf"``, ``"candump"`` or
        ``"candump-x"``; by default the file's suffix decides (``.log``,
        ``.asc``, ``.blf``).
    :param count: stop after this many frames.
    :param idle_timeout: stop after this many seconds without a frame.
    :param receive_buffer_size: each socket's receive buffer in bytes
        (``None``: the system's default).
    :param backend: ``"native"`` or ``"ctypes"``; default: as ``Bus``.
    :param report_drops: also print candump's DROPCOUNT lines on stderr as
        drops happen.
    """

    def __init__(
        self,
        file: FilePath | int | _Stream,
        channels: str | Iterable[str] = ANY,
        *,
        format: str | None = None,
        count: int | None = None,
        idle_timeout: float | None = None,
        receive_buffer_size: int | None = DEFAULT_RECEIVE_BUFFER,
        backend: str | None = None,
        report_drops: bool = False,
    ) -> None:
        self._file = file if isinstance(file, (int, _Stream)) else os.fspath(file)
        self._format = _format_of(self._file, format)
        names = [channels] if isinstance(channels, str) else list(channels)
        if not names:
            raise ValueError(f"channels names no interface: give at least one, or '{ANY}'")
        self._sources = [Source.parse(name) for name in names]
        self._count = _positive("count", count)
        self._idle = _seconds("idle_timeout", idle_timeout)
        self._receive_buffer_size = receive_buffer_size
        self._backend = backend or _backend.default_backend()
        _backend.socket_class(self._backend)  # a clear error for a missing or unknown backend
        self._report_drops = report_drops
        self._recording: _Recording | None = None
        self._started = False
        # Kept when the recording ends, which frees its descriptors at once.
        self._written = self._dropped = 0
        self._buffer_sizes: list[int] = []

    def start(self) -> Recorder:
        """Opens the file and the interfaces and starts recording. A missing
        interface fails before the file is created or truncated."""
        if self._started:
            raise RuntimeError("a Recorder records once; make a new one to record again")
        for source in self._sources:
            _check_exists(source.name)
        with _opened(self._file) as fd:
            self._recording = self._recording_class()(
                fd,
                [source.as_tuple() for source in self._sources],
                format=self._format,
                count=self._count,
                idle=self._idle,
                receive_buffer_size=self._receive_buffer_size,
                report_drops=self._report_drops,
            )
        self._started = True
        self._buffer_sizes = self._recording.receive_buffer_sizes
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Waits up to ``timeout`` seconds (``None``: until it ends) for the
        recording to end by itself (``count``, ``idle_timeout``, or an
        error, which this raises); whether it has."""
        if not self._started:
            raise RuntimeError(
                "the Recorder has not started: call start() or use it in a with block"
            )
        return self._recording is None or self._wait(self._recording, timeout)

    def stop(self) -> None:
        """Writes what was received and ends the recording; raises what
        ended it early, if anything did."""
        if self._recording is not None:
            self._recording.stop()
            self._wait(self._recording, None)

    @property
    def running(self) -> bool:
        return self._recording is not None

    @property
    def format(self) -> str:
        return self._format

    @property
    def frames_written(self) -> int:
        """Frames written to the file so far."""
        return self._recording.written if self._recording else self._written

    @property
    def frames_dropped(self) -> int:
        """Frames the kernel dropped so far because a receive buffer was full."""
        return self._recording.dropped if self._recording else self._dropped

    @property
    def receive_buffer_size(self) -> int:
        """The smallest receive buffer of the recording's sockets, in bytes,
        as the kernel reports it (twice what it granted); 0 before start."""
        return min(self._buffer_sizes, default=0)

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait(self, recording: _Recording, timeout: float | None) -> bool:
        try:
            ended = recording.wait(timeout)
        except (OSError, CanError) as error:
            self._end(recording)
            # The traceback keeps this frame: without the recording, whose
            # descriptors then close now rather than whenever it is collected.
            del recording
            if (
                isinstance(error, OSError)
                and error.filename is None
                and isinstance(self._file, str)
            ):
                error.filename = self._file  # writing failed: the error names the file
            raise
        if ended:
            self._end(recording)
        return ended

    def _end(self, recording: _Recording) -> None:
        """Keeps the counts, lets the recording go, and warns of drops."""
        self._written, self._dropped = recording.written, recording.dropped
        self._recording = None
        if self._dropped and not self._report_drops:
            warnings.warn(
                f"the kernel dropped {self._dropped} CAN frame(s) while recording to "
                f"{self._file!r}: the receive buffer overflowed; give a larger "
                "receive_buffer_size (more than net.core.rmem_max needs CAP_NET_ADMIN)",
                RuntimeWarning,
                stacklevel=4,
            )

    def _recording_class(self) -> type[NativeRecording] | type[ThreadRecording]:
        if self._backend == "native":
            from ferrocan._native import Recording

            return Recording
        from ferrocan._thread_recording import ThreadRecording

        return ThreadRecording


class _opened:
    """The descriptor to record to: the caller's, or a file opened for it."""

    def __init__(self, file: str | int | _Stream) -> None:
        self._file = file
        self._fd = -1

    def __enter__(self) -> int:
        if isinstance(self._file, int):
            return self._file
        if not isinstance(self._file, str):
            self._file.flush()  # the recording writes to its descriptor, after this
            return self._file.fileno()
        self._fd = os.open(self._file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        return self._fd

    def __exit__(self, *exc: object) -> None:
        if self._fd >= 0:
            os.close(self._fd)


def _check_exists(name: str) -> None:
    """Raises unless interface ``name`` exists. Asked of libc, not of the
    socket module, which has no ``if_nametoindex`` on PyPy."""
    if name == ANY:
        return
    from ferrocan._ctypes import libc  # here: `import ferrocan` loads no ctypes backend

    encoded = os.fsencode(name)
    if b"\0" in encoded:  # C would read only up to it
        check_channel(name)  # raises the documented ValueError
    if not libc.if_nametoindex(encoded):
        raise no_such_interface(name)


def _format_of(file: str | int | _Stream, format: str | None) -> str:
    if format is None:
        format = _format_by_suffix(file)
    if format not in FORMATS:
        names = ", ".join(map(repr, FORMATS))
        raise ValueError(f"format must be one of {names}, got {format!r}")
    if format == "blf" and not isinstance(file, str):
        raise ValueError(
            "BLF needs a file that ferrocan opens, to write its header last: "
            "give a path, not a descriptor or stream"
        )
    return format


def _format_by_suffix(file: str | int | _Stream) -> str:
    if not isinstance(file, str):
        return "log"
    suffix = Path(file).suffix.lower()
    if suffix not in _SUFFIXES:
        raise ValueError(
            f"cannot tell the format of {file!r} from its suffix: name it .log (candump's "
            "log), .asc (Vector ASC) or .blf (Vector BLF), or give format='log', 'asc' or 'blf'"
        )
    return _SUFFIXES[suffix]


def _positive(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be None or an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _seconds(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be None or a number of seconds, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be None or a number of seconds > 0, got {value!r}")
    return float(value)
