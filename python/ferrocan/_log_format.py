"""Received frames as text lines, in pure Python, for the recorder of the
ctypes backend: candump's screen and log formats and Vector's ASC.
src/log_format.rs is its Rust twin and writes the same lines."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ferrocan.cansend import CAN_ERR_FLAG, format_frame
from ferrocan.message import Message

#: The formats, by their names in ``ferrocan.Recorder``.
FORMATS = ("log", "asc", "candump", "candump-x")

_FD_DLC = {**{n: n for n in range(9)}, 12: 9, 16: 10, 20: 11, 24: 12, 32: 13, 48: 14, 64: 15}


class LogFormat:
    """One format's writer, with the state its lines depend on (see log_format.rs)."""

    def __init__(self, format: str, names: Sequence[str]) -> None:
        self._format = format
        self._width = max((len(name) for name in names), default=0)
        self._indent = False
        self._start: float | None = None
        self._channels: dict[str, int] = {}

    def header(self, now: float) -> str:
        if self._format != "asc":
            return ""
        return f"date {_asc_date(now)}\nbase hex  timestamps absolute\ninternal events logged\n"

    def frame(self, msg: Message) -> str:
        channel = str(msg.channel)
        self._width = max(self._width, len(channel))
        if self._format == "log":
            seconds = int(msg.timestamp)
            micros = int((msg.timestamp - seconds) * 1e6)
            stamp = f"({seconds:010d}.{micros:06d})"
            return f"{stamp} {channel:>{self._width}} {format_frame(msg)}\n"
        if self._format == "asc":
            return self._asc(msg, channel)
        return self._candump(msg, channel)

    def footer(self) -> str:
        return "End TriggerBlock\n" if self._format == "asc" else ""

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
        if msg.is_fd:
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
        if channel not in self._channels:
            self._channels[channel] = len(self._channels) + 1
            lines += f"// channel {self._channels[channel]}: {channel}\n"
        number = self._channels[channel]
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
