"""CAN XL throughput: ferrocan's backends against a bare socket loop, in one run.

    raw=$(cargo bench --bench raw --no-run 2>&1 | sed -n 's/.*Executable .*(\\(.*\\))$/\\1/p')
    tools/can-run bash -c "$raw --bench xl && .venv/bin/python benches/xl.py --json benches/xl.json"

Needs a kernel with CAN XL (CAN_RAW_XL_FRAMES: mainline 6.2+, and Debian
12's 6.1 kernels here, which tools/can-run boots by default;
``CAN_RUN_KERNEL=newest`` boots the newest, after ``tools/setup
--qemu-newest``). The script creates a vcan interface of
its own at CAN XL's MTU (2060), the one ``benches/raw.rs`` uses, and deletes
it at the end.

Frames per second of ``send_batch`` (``SEND_BATCH`` frames a call, while a
socket listens) and of ``recv_batch`` (draining ``queued`` frames that a plain
socket queued beforehand, untimed), for CAN XL payloads of 64, 512 and
2048 bytes. Implementations: ferrocan ``native`` and ``ctypes`` on
``Bus(..., xl=True)``, and ``socket``: Python's socket module, packing each
``struct canxl_frame`` with ``struct`` (header + payload) on the way out and
unpacking the header and slicing the payload out on the way in, one syscall
per frame. python-can has no CAN XL, so ``socket`` is the Python yardstick.
The Rust floor is criterion's group "xl" of ``benches/raw.rs``, read from
``target/criterion``: run it in the same guest first (the command above).

Rounds as in compare.py: each round runs every implementation once, back to
back, and a ratio is the median of the per-round ratios. ``copy_us`` is what
one ``bytearray(payload)`` costs in this guest, per size: the price of the
one copy ferrocan makes between the kernel's buffer and the Message's data.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import struct
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import compare
import ferrocan
from compare import BenchError, grow_receive_buffer, per_call, receive_count, si, timed, times
from ferrocan import link

CHANNEL = "vcanxl"  # benches/raw.rs's XL_CHANNEL
SIZES = (64, 512, 2048)
SEND_BATCH = compare.SEND_BATCH
RECV_MAX = compare.RECV_MAX
WAIT = compare.WAIT
PRIORITY = 0x123
SOL_CAN_RAW = 101
CAN_RAW_FD_FRAMES = 5
CAN_RAW_XL_FRAMES = 7
CANXL_XLF = 0x80
CANXL_MTU = 2060
CANXL_HEADER = struct.Struct("=IBBHI")  # prio, flags, sdt, len, af
IMPLEMENTATIONS = ("native", "ctypes", "socket")
BARE = "socket"


class Endpoint(Protocol):
    def send_batch(self) -> None:
        """Sends SEND_BATCH frames (a send loop where there is no batch call)."""

    def recv_batch(self) -> int:
        """Frames one recv_batch(RECV_MAX, WAIT) returned (one recv for the socket)."""

    def close(self) -> None: ...


class FerrocanEndpoint:
    def __init__(self, backend: str, size: int) -> None:
        self._bus = ferrocan.Bus(CHANNEL, backend=backend, xl=True)
        message = ferrocan.Message(arbitration_id=PRIORITY, data=payload(size), is_xl=True)
        self._batch = [message] * SEND_BATCH

    def send_batch(self) -> None:
        taken = self._bus.send_batch(self._batch)
        if taken != SEND_BATCH:
            raise BenchError(f"send_batch took {taken} of {SEND_BATCH} frames")

    def recv_batch(self) -> int:
        return len(self._bus.recv_batch(RECV_MAX, WAIT))

    def close(self) -> None:
        self._bus.shutdown()


class SocketEndpoint:
    """What a user of the socket module writes: struct.pack per frame sent,
    struct.unpack and a slice per frame received."""

    def __init__(self, size: int) -> None:
        self._socket = xl_socket()
        self._socket.settimeout(WAIT)
        self._data = payload(size)

    def send_batch(self) -> None:
        send, data = self._socket.send, self._data
        for _ in range(SEND_BATCH):
            send(CANXL_HEADER.pack(PRIORITY, CANXL_XLF, 0, len(data), 0) + data)

    def recv_batch(self) -> int:
        try:
            frame = self._socket.recv(CANXL_MTU)
        except TimeoutError:
            return 0
        _prio, flags, _sdt, length, _af = CANXL_HEADER.unpack_from(frame)
        if not flags & CANXL_XLF or len(frame[CANXL_HEADER.size :]) != length:
            raise BenchError(f"not a whole CAN XL frame: {len(frame)} bytes")
        return 1

    def close(self) -> None:
        self._socket.close()


def payload(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def xl_socket() -> socket.socket:
    sock = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
    sock.setsockopt(SOL_CAN_RAW, CAN_RAW_FD_FRAMES, 1)
    sock.setsockopt(SOL_CAN_RAW, CAN_RAW_XL_FRAMES, 1)
    sock.bind((CHANNEL,))
    return sock


def open_endpoint(name: str, size: int) -> Endpoint:
    if name == BARE:
        return SocketEndpoint(size)
    return FerrocanEndpoint(name, size)


@contextmanager
def opened(name: str, size: int, *, roomy: bool = False) -> Iterator[Endpoint]:
    """An endpoint; with ``roomy``, whose sockets hold the whole queue."""
    before = compare.socket_fds()
    endpoint = open_endpoint(name, size)
    try:
        if roomy:
            for fd in compare.socket_fds() - before:
                grow_receive_buffer(fd)
        yield endpoint
    finally:
        endpoint.close()


# ---------------------------------------------------------------- cases


def send_batches(name: str, size: int, frames: int) -> float:
    """Frames/s sent SEND_BATCH at a time while a plain socket listens."""

    def loop() -> int:
        for _ in range(frames // SEND_BATCH):
            tx.send_batch()
        return frames // SEND_BATCH * SEND_BATCH

    with opened(name, size) as tx, closing(xl_socket()):
        return timed(loop)


def recv_batches(name: str, size: int, frames: int) -> float:
    """Frames/s received from a queue of ``frames`` that a plain socket filled."""
    frame = CANXL_HEADER.pack(PRIORITY, CANXL_XLF, 0, size, 0) + payload(size)
    with opened(name, size, roomy=True) as rx, closing(xl_socket()) as filler:
        for _ in range(frames):
            filler.send(frame)
        return timed(lambda: receive_count(frames, rx.recv_batch))


CASES: dict[str, Callable[[str, int, int], float]] = {
    "send_batch": send_batches,
    "recv_batch": recv_batches,
}


# ---------------------------------------------------------------- running


@dataclass(frozen=True)
class Cell:
    runs: list[float]  # frames/s, one per round
    vs_socket: float | None  # median of per-round ratios to the bare loop

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def run_cell(case: str, size: int, frames: int, repeat: int) -> dict[str, Cell]:
    runs: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    for round_ in range(repeat):
        shift = round_ % len(IMPLEMENTATIONS)  # none always runs first
        for name in (*IMPLEMENTATIONS[shift:], *IMPLEMENTATIONS[:shift]):
            runs[name].append(CASES[case](name, size, frames))
    bare = runs[BARE]
    cells = {
        name: Cell(rates, statistics.median(r / b for r, b in zip(rates, bare)))
        for name, rates in runs.items()
    }
    texts = "; ".join(f"{name} {si(cell.median)}/s" for name, cell in cells.items())
    print(f"{case} {size} B: {texts}", file=sys.stderr, flush=True)
    return cells


def read_floor(directory: Path) -> dict[str, float]:
    """Frames/s of criterion's group "xl", keyed by its function names."""
    rates = {}
    for path in directory.glob("**/new/benchmark.json"):
        bench = json.loads(path.read_text())
        if bench["group_id"] != "xl":
            continue
        median_ns = json.loads(path.with_name("estimates.json").read_text())["median"]
        elements = (bench.get("throughput") or {}).get("Elements", 1)
        rates[bench["function_id"]] = elements * 1e9 / median_ns["point_estimate"]
    return rates


def copy_costs(calls: int) -> dict[int, float]:
    """Microseconds per bytearray(payload): one copy of that many bytes,
    with its allocation."""
    return {size: per_call(partial(bytearray, payload(size)), calls, loops=15) for size in SIZES}


@contextmanager
def xl_interface() -> Iterator[None]:
    """CHANNEL, a vcan at CAN XL's MTU, for the run."""
    if CHANNEL not in {info.name for info in link.list()}:
        link.add_vcan(CHANNEL)
    try:
        link.set(CHANNEL, mtu=CANXL_MTU)
        link.up(CHANNEL)
        yield
    finally:
        link.delete(CHANNEL)


def environment(args: argparse.Namespace) -> dict[str, Any]:
    built = compare.native_build_time()
    return {
        "date": compare.iso_time(time.time()),
        "kernel": os.uname().release,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "ferrocan_native_built": built and compare.iso_time(built),
        "repeat": args.repeat,
        "queued": args.queued,
        "sent": args.sent,
        "send_batch": SEND_BATCH,
    }


def table(results: dict[str, dict[int, dict[str, Cell]]], floor: dict[str, float]) -> str:
    lines = [
        "| case | Rust floor | native | ctypes | socket | native/floor |",
        "|---|---|---|---|---|---|",
    ]
    for case, by_size in results.items():
        for size, cells in by_size.items():
            rust = floor.get(f"{case}, {size} B")
            native = cells["native"].median
            lines.append(
                f"| {case} {size} B | {f'{si(rust)}/s' if rust else 'n/a'} | "
                + " | ".join(cell_text(name, cells[name]) for name in IMPLEMENTATIONS)
                + f" | {times(native / rust) if rust else 'n/a'} |"
            )
    return "\n".join(lines)


def cell_text(name: str, cell: Cell) -> str:
    text = f"{si(cell.median)}/s"
    if name != BARE and cell.vs_socket is not None:
        text += f" ({times(cell.vs_socket)})"
    return text


def run(args: argparse.Namespace) -> int:
    env = environment(args)
    env["costs_us"] = {"start": compare.probe_costs(native=False)}
    frames = {"send_batch": args.sent, "recv_batch": args.queued}
    with xl_interface():
        results = {
            case: {size: run_cell(case, size, frames[case], args.repeat) for size in SIZES}
            for case in CASES
        }
    env["costs_us"]["end"] = compare.probe_costs(native=False)
    env["copy_us"] = copy_costs(2000)
    floor = read_floor(compare.criterion_directory())
    print(json.dumps(env, indent=1), table(results, floor), sep="\n\n")
    if args.json:
        report = {
            "environment": env,
            "floor_per_s": floor,
            "results": {
                case: {size: {n: asdict(c) for n, c in cells.items()} for size, cells in by.items()}
                for case, by in results.items()
            },
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=compare.positive, default=7, help="rounds (default 7)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds, few frames")
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    args = parser.parse_args(argv)
    args.queued, args.sent = (200, 400) if args.quick else (1000, 2000)
    if args.quick:
        args.repeat = 2
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
