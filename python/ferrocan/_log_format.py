"""Received frames written as a log, in pure Python, for the recorder of the
ctypes backend: candump's screen and log formats, and Vector's ASC and BLF.
src/log_format/ is its Rust twin and writes the same bytes."""

from __future__ import annotations

import datetime
import struct
import time
from collections.abc import Sequence

from ferrocan._can_h import CANFD_MAX_DLEN, CANXL_SEC, CANXL_XLF
from ferrocan.cansend import CAN_ERR_FLAG, format_frame
from ferrocan.message import Message

#: The formats, by their names in ``ferrocan.Recorder``.
FORMATS = ("log", "asc", "blf", "candump", "candump-x")
#: Those that write CAN XL frames: Vector's ASC and BLF, as written here, cannot.
XL_FORMATS = ("log", "candump", "candump-x")

_FD_DLC = {**{n: n for n in range(9)}, 12: 9, 16: 10, 20: 11, 24: 12, 32: 13, 48: 14, 64: 15}


class LogFormat:
    """One format's writer, with the state its lines depend on (see src/log_format/)."""

    def __init__(self, format: str, names: Sequence[str]) -> None:
        self._format = format
        self._width = max((len(name) for name in names), default=0)
        self._indent = False
        self._start: float | None = None
        self._channels: dict[str, int] = {}
        self._blf = _Blf()

    def header(self, now: float) -> bytes:
        if self._format == "blf":
            return self._blf.file_header()
        if self._format != "asc":
            return b""
        date = _asc_date(now)
        return f"date {date}\nbase hex  timestamps absolute\ninternal events logged\n".encode()

    def frame(self, msg: Message) -> bytes:
        channel = str(msg.channel)
        self._width = max(self._width, len(channel))
        if self._format == "log":
            seconds = int(msg.timestamp)
            micros = int((msg.timestamp - seconds) * 1e6)
            stamp = f"({seconds:010d}.{micros:06d})"
            return f"{stamp} {channel:>{self._width}} {format_frame(msg)}\n".encode()
        if self._format == "asc":
            return self._asc(msg, channel).encode()
        if self._format == "blf":
            return self._blf.frame(msg, self._number(channel)[0])
        return self._candump(msg, channel).encode()

    def seal(self, data: bytes) -> bytes:
        """``data`` made whole for writing: BLF's objects in a log container."""
        return self._blf.container(data) if self._format == "blf" and data else data

    def footer(self) -> bytes:
        return b"End TriggerBlock\n" if self._format == "asc" else b""

    def final_header(self) -> bytes | None:
        """BLF's final file header, to write over the first bytes at the end."""
        return self._blf.file_header() if self._format == "blf" else None

    def _number(self, channel: str) -> tuple[int, bool]:
        """The channel's number for ASC and BLF, and whether it is new."""
        new = channel not in self._channels
        if new:
            self._channels[channel] = len(self._channels) + 1
        return self._channels[channel], new

    def _candump(self, msg: Message, channel: str) -> str:
        self._indent |= msg.is_extended_id and not msg.is_error_frame
        extra = f"  {_direction(msg)}" if self._format == "candump-x" else ""
        if msg.is_error_frame:
            ident = f"{CAN_ERR_FLAG | msg.arbitration_id:08X}  "
        elif msg.is_extended_id:
            ident = f"{msg.arbitration_id:08X}  "
        else:
            ident = f"{'     ' if self._indent else ''}{msg.arbitration_id:03X}  "
        data = "".join(f" {byte:02X}" for byte in msg.data)
        if getattr(msg, "is_xl", False):
            text = f"{ident[:-1]}[{len(msg.data):04d}] {_xl_screen(msg)}"
        elif msg.is_fd:
            text = f"{ident}[{len(msg.data):02d}] {data}"
        elif msg.is_remote_frame:
            text = f"{ident} [{msg.dlc}]  remote request"
        else:
            text = f"{ident} [{len(msg.data)}] {data}"
            if msg.is_error_frame:
                text += "ERRORFRAME".rjust(3 * (8 - len(msg.data)) + 13)
        return f"  {channel:>{self._width}}{extra}  {text}\n"

    def _asc(self, msg: Message, channel: str) -> str:
        lines = ""
        if self._start is None:
            self._start = msg.timestamp
            lines += f"Begin Triggerblock {_asc_date(msg.timestamp)}\n"
            lines += "   0.000000 Start of measurement\n"
        number, new = self._number(channel)
        if new:
            lines += f"// channel {number}: {channel}\n"
        elapsed = max(0.0, msg.timestamp - self._start)
        seconds = int(elapsed)
        lines += f"{seconds:>4}.{int((elapsed - seconds) * 1e6):06d} "
        if msg.is_error_frame:
            return lines + f"{number}  ErrorFrame\n"
        direction = "Rx" if msg.is_rx else "Tx"
        ident = f"{msg.arbitration_id:X}{'x' if msg.is_extended_id else ''}"
        data = "".join(f" {byte:02X}" for byte in msg.data)
        if msg.is_fd:
            brs, esi = int(msg.bitrate_switch), int(msg.error_state_indicator)
            flags = 1 << 12 | brs << 13 | esi << 14
            zeros = " ".join(f"{0:>8}" for _ in range(5))
            return lines + (
                f"CANFD {number:>3} {direction:<4} {ident:>8}  {'':>32} {brs} {esi} "
                f"{_FD_DLC[len(msg.data)]:x} {len(msg.data):>2}{data} {0:>8} {0:>4} "
                f"{flags:>8X} {zeros}\n"
            )
        kind = "r" if msg.is_remote_frame else "d"
        return lines + f"{number}  {ident:<15} {direction:<4} {kind} {msg.dlc:x}{data}\n"


def _xl_screen(msg: Message) -> str:
    """A CAN XL frame's header and at most 64 data bytes, then `` ...`` for
    more, as can-utils' lib.c prints them."""
    flags = CANXL_XLF | (CANXL_SEC if msg.simple_extended_content else 0)
    header = f"({msg.vcid:02X}|{flags:02X}:{msg.sdu_type:02X}:{msg.acceptance_field:08X})"
    data = " ".join(f"{byte:02X}" for byte in msg.data[:CANFD_MAX_DLEN])
    return f"{header} {data}{' ...' if len(msg.data) > CANFD_MAX_DLEN else ''}"


def _direction(msg: Message) -> str:
    """candump -x: RX or TX (sent from this host), then B (BRS) and E (ESI) or '-'."""
    brs = "B" if msg.bitrate_switch else "-"
    esi = "E" if msg.error_state_indicator else "-"
    return f"{'RX' if msg.is_rx else 'TX'} {brs} {esi}"


def _asc_date(timestamp: float) -> str:
    """A local time as ASC headers write it: ``Thu Dec 03 13:31:57.123 2026``."""
    local = time.localtime(timestamp)
    millis = int((timestamp - int(timestamp)) * 1000)
    return time.strftime(f"%a %b %d %H:%M:%S.{millis:03d} %Y", local)


class _Blf:
    """Vector's BLF, uncompressed, as src/log_format/blf.rs writes it."""

    FILE_HEADER = struct.Struct("<4sLBBBBBBBBQQLL8H8H72x")
    OBJECT = struct.Struct("<4sHHLLLHHQ")  # base header and header v1
    CONTAINER = struct.Struct("<4sHHLLH6xL4x")
    CAN_MSG = struct.Struct("<HBBL8s")
    CAN_FD_MSG = struct.Struct("<HBBLLBBB5x64s")
    CAN_ERROR_EXT = struct.Struct("<HHLBBBxLLH2x8s")

    def __init__(self) -> None:
        self._start: float | None = None
        self._stop = 0.0
        self._objects = 0
        self._size = self.FILE_HEADER.size

    def frame(self, msg: Message, channel: int) -> bytes:
        if self._start is None:
            self._start = int(msg.timestamp * 1000) / 1000
        self._stop = max(self._stop, msg.timestamp)
        self._objects += 1
        can_id = msg.arbitration_id | (0x80000000 if msg.is_extended_id else 0)
        flags = (0x80 if msg.is_remote_frame else 0) | (0 if msg.is_rx else 0x1)
        data = bytes(msg.data)
        if msg.is_error_frame:
            kind, body = (
                73,
                self.CAN_ERROR_EXT.pack(channel, 0, 0, 0, 0, msg.dlc, 0, can_id, 0, data),
            )
        elif msg.is_fd:
            fd_flags = (
                0x1 | (0x2 if msg.bitrate_switch else 0) | (0x4 if msg.error_state_indicator else 0)
            )
            dlc = _FD_DLC[len(data)]
            body = self.CAN_FD_MSG.pack(
                channel, flags, dlc, can_id, 0, 0, fd_flags, len(data), data
            )
            kind = 100
        else:
            kind, body = 1, self.CAN_MSG.pack(channel, flags, msg.dlc, can_id, data)
        nanos = max(0, round((msg.timestamp - self._start) * 1e9))
        size = self.OBJECT.size + len(body)
        return self.OBJECT.pack(b"LOBJ", self.OBJECT.size, 1, size, kind, 2, 0, 0, nanos) + body

    def container(self, objects: bytes) -> bytes:
        size = self.CONTAINER.size + len(objects)
        self._size += size
        return self.CONTAINER.pack(b"LOBJ", 16, 1, size, 10, 0, len(objects)) + objects

    def file_header(self) -> bytes:
        times = [0] * 16
        if self._start is not None:
            times = [*_system_time(self._start), *_system_time(self._stop)]
        return self.FILE_HEADER.pack(
            b"LOGG",
            self.FILE_HEADER.size,
            5,
            0,
            0,
            0,
            2,
            6,
            8,
            1,
            self._size,
            self._size,
            self._objects,
            0,
            *times,
        )


def _system_time(timestamp: float) -> tuple[int, ...]:
    """Windows' SYSTEMTIME, in UTC, to the millisecond."""
    t = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    weekday = t.isoweekday() % 7
    return t.year, t.month, weekday, t.day, t.hour, t.minute, t.second, t.microsecond // 1000
