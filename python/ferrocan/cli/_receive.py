"""Receiving as candump does, for ``dump`` and ``record``: a Recorder on
interfaces with candump's filters, until Ctrl-C, -n COUNT or -T TIMEOUT_MS,
counting what the kernel drops."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TextIO

from ferrocan.cli._args import count
from ferrocan.recorder import DEFAULT_RECEIVE_BUFFER, Recorder


def add_receive_options(parser: argparse.ArgumentParser) -> None:
    """-n and -T, which end a receiving command as they end candump, and
    -r, candump's receive buffer size."""
    parser.add_argument("-n", dest="count", type=count, help="stop after COUNT frames")
    parser.add_argument(
        "-T",
        dest="timeout",
        type=count,
        metavar="TIMEOUT_MS",
        help="stop after TIMEOUT_MS ms without a frame",
    )
    parser.add_argument(
        "-r",
        dest="rcvbuf",
        type=count,
        metavar="SIZE",
        default=DEFAULT_RECEIVE_BUFFER,
        help=f"each socket's receive buffer in bytes (default: {DEFAULT_RECEIVE_BUFFER}; "
        "more than net.core.rmem_max needs CAP_NET_ADMIN)",
    )


def recorder(
    args: argparse.Namespace, file: str | TextIO, channels: list[str], format: str | None
) -> Recorder:
    """A Recorder with -n, -T and -r, which prints candump's DROPCOUNT lines."""
    return Recorder(
        file,
        channels,
        format=format,
        count=args.count,
        idle_timeout=None if args.timeout is None else args.timeout / 1000,
        receive_buffer_size=args.rcvbuf,
        report_drops=True,
    )


class _Terminated(Exception):
    """SIGTERM or SIGHUP: end the recording as candump does, completely."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def run(recorder: Recorder, args: argparse.Namespace) -> int:
    """Records until the recorder ends by itself, Ctrl-C (status 130), or
    SIGTERM or SIGHUP (status 0, as a service manager expects); each writes
    the whole file. Reports the receive buffer once and, if the kernel
    dropped frames, their total."""
    handlers = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with recorder:
            _report_buffer(recorder, args.prog, args.rcvbuf)
            recorder.wait()
    except _Terminated:
        pass
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        if recorder.frames_dropped:
            print(
                f"{args.prog}: the kernel dropped {recorder.frames_dropped} CAN frame(s) in all",
                file=sys.stderr,
            )
    return 0


def _report_buffer(recorder: Recorder, prog: str, asked: int) -> None:
    granted = recorder.receive_buffer_size // 2  # the kernel reports twice what it grants
    note = f"each socket's receive buffer is {_size(granted)}"
    if granted < asked:
        note += (
            f", not {_size(asked)}: net.core.rmem_max caps it without CAP_NET_ADMIN "
            "(run as root, or raise rmem_max)"
        )
    print(f"{prog}: {note}", file=sys.stderr)


def _size(size: int) -> str:
    return f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size / 2**10:g} KiB"
