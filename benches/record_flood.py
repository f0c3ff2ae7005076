"""How much of a CAN flood each logging receiver records, and the CPU it takes.

Compares, one at a time on vcan0, each with its own default receive buffer
(the kernel's for candump; ferrocan's may be larger: see its -r option):

- ``candump -L vcan0 > FILE`` (can-utils, C);
- ``ferrocan record FILE -i vcan0``;
- ``ferrocan dump -L vcan0 > FILE``;
- ``candump -r 8388608 -L`` and ``ferrocan record -r 212992``: each with the
  other's receive buffer.

For each receiver and run, cangen floods vcan0 (``cangen vcan0 -g 0 -n N -I i
-L 8 -D i -p 10``: no gap, incrementing IDs and data, polling on ENOBUFS), and
the script counts the flood's frames in the log, and the receiver's CPU time
(user + system, from ``os.wait4``). That time includes the receiver's
start-up, which for ferrocan is the Python interpreter's and its imports: the
table shows in parentheses the part used before the flood. Frames the kernel
drops because a receiver reads too slowly are missing from its log; what the
receiver said about them on stderr is shown under the table.

Run it in a QEMU VM, as root with vcan0 up, through tools/can-run::

    CAN_RUN_TIMEOUT=900 tools/can-run .venv/bin/python benches/record_flood.py --runs 3

Options: ``--frames N`` (default 20000), ``--only candump,record,dump``,
``--runs R``, ``--json PATH`` for the raw results.

Why QEMU: under User-Mode Linux (tools/vcan-run) a system call costs about 50
times more, relative to Python code, than on a real kernel, which favours a
receiver that makes few system calls per frame whatever its other costs: a
comparison of receivers there says little about real machines. QEMU runs
Debian's real kernel, so the ratio of kernel to user work is close to real.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

IFACE = "vcan0"
#: ferrocan's default receive buffer (ferrocan.recorder.DEFAULT_RECEIVE_BUFFER),
#: which candump-r asks for too; record-r asks for the kernel's usual default
#: (net.core.rmem_default), so that each tool is also seen with the other's.
BIG_BUFFER = 8 * 1024 * 1024
KERNEL_DEFAULT_BUFFER = 212992
RCVLIST = Path("/proc/net/can/rcvlist_all")
TX_PACKETS = Path(f"/sys/class/net/{IFACE}/statistics/tx_packets")
#: struct can_frame: ID, length, padding, data.
CAN_FRAME = struct.Struct("=IB3x8s")
#: The sync frame has an extended ID: cangen -I i sends every standard ID,
#: 0x7FF included, so a standard ID could not tell the two apart.
SYNC_ID = 0x1BADCAFE
SYNC_DATA = b"SYNC"
SYNC_LINE = re.compile(rb"^\(\d+\.\d+\) vcan0 1BADCAFE#53594E43$", re.MULTILINE)
#: A flood frame as candump -L writes it: a standard ID and 8 data bytes.
FLOOD_LINE = re.compile(rb"^\(\d+\.\d+\) vcan0 [0-9A-F]{3}#[0-9A-F]{16}$", re.MULTILINE)
DROP_WORDS = ("DROPCOUNT", "dropped")
#: ferrocan's (and candump -d's) report of the frames the kernel dropped.
DROPCOUNT = re.compile(r"^DROPCOUNT: dropped (\d+) CAN frame", re.MULTILINE)
CLOCK_TICK = 1 / os.sysconf("SC_CLK_TCK")

READY_TIMEOUT = 30.0  # for the receiver to open its socket and settle
SETTLED = 0.5  # seconds without CPU use after which a started receiver is waiting
FLOOD_TIMEOUT = 300.0  # for cangen
IDLE = 2.0  # seconds without output or CPU use after which a receiver is done
IDLE_TIMEOUT = 120.0
EXIT_TIMEOUT = 30.0  # for the receiver to exit after SIGINT
KILL_TIMEOUT = 5.0
POLL = 0.05


class BenchError(Exception):
    """Something that stops the benchmark, with a message for a person."""


@dataclass(frozen=True)
class Receiver:
    """A logging receiver: its command, and whether it logs to stdout."""

    name: str
    argv: tuple[str, ...]
    to_stdout: bool

    def command(self, log: Path) -> list[str]:
        return [str(log) if arg == "{log}" else arg for arg in self.argv]


@dataclass
class RunResult:
    """One run of one receiver: what it logged and what it cost."""

    receiver: str
    run: int
    frames: int  # the flood's size (--frames)
    sent: int  # frames vcan0 counted sent during the flood
    flood_seconds: float  # how long cangen took
    logged: int  # flood frames in the log
    synced: bool  # the sync frame, sent before the flood, is the log's first line
    cpu_user: float
    cpu_system: float
    cpu_startup: float  # CPU seconds used before the flood (from /proc, in clock ticks)
    exit_status: int
    killed: bool  # did not exit within EXIT_TIMEOUT of SIGINT
    went_idle: bool  # stopped writing and using CPU within IDLE_TIMEOUT of the flood's end
    drops: str  # what the receiver said about drops on stderr, first 200 characters
    reported_drops: int  # the sum of its DROPCOUNT lines

    @property
    def cpu(self) -> float:
        return self.cpu_user + self.cpu_system


def receivers(ferrocan: Path) -> dict[str, Receiver]:
    exe = str(ferrocan)
    return {
        "candump": Receiver("candump", ("candump", "-L", IFACE), to_stdout=True),
        "candump-r": Receiver(
            "candump-r", ("candump", "-r", str(BIG_BUFFER), "-L", IFACE), to_stdout=True
        ),
        "record": Receiver("record", (exe, "record", "{log}", "-i", IFACE), to_stdout=False),
        "record-r": Receiver(
            "record-r",
            (exe, "record", "{log}", "-i", IFACE, "-r", str(KERNEL_DEFAULT_BUFFER)),
            to_stdout=False,
        ),
        "dump": Receiver("dump", (exe, "dump", "-L", IFACE), to_stdout=True),
    }


# ------------------------------------------------------------ kernel state


def raw_filters(iface: str) -> int:
    """How many CAN_RAW filters are registered on ``iface`` (all receive lists).

    Socket addresses in this file may be hashed or zeroed (kptr_restrict), so
    filters are counted rather than told apart.
    """
    count = 0
    for line in RCVLIST.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 7 and fields[0] == iface and fields[-1] == "raw":
            count += 1
    return count


def proc_state(pid: int) -> tuple[str, int]:
    """A process's state letter and CPU time so far, in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], int(fields[11]) + int(fields[12])


def open_sync_socket() -> socket.socket:
    """A CAN_RAW socket on IFACE that sends and receives nothing: with no
    filters it registers none, so it does not show in RCVLIST."""
    sock = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
    try:
        sock.setsockopt(socket.SOL_CAN_RAW, socket.CAN_RAW_FILTER, b"")
        sock.bind((IFACE,))
    except BaseException:
        sock.close()
        raise
    return sock


def send_sync(sock: socket.socket) -> None:
    sock.send(CAN_FRAME.pack(SYNC_ID | socket.CAN_EFF_FLAG, len(SYNC_DATA), SYNC_DATA))


# ------------------------------------------------------------ one run


def wait_ready(proc: subprocess.Popen[bytes], filters_before: int, stderr: Path) -> float:
    """Waits until ``proc`` receives from IFACE and has settled; the CPU
    seconds it used until then.

    A receiver's output cannot tell when it is ready: candump's stdout, a
    file, is flushed only when its buffer fills or at exit. So readiness is
    read from the kernel: once the receiver's socket has registered its
    filter on IFACE (a new entry in RCVLIST), every frame sent after is
    queued to that socket, however late the receiver reads it. Then the
    script waits until the receiver has used no CPU for SETTLED seconds, so
    that its start-up (Python's imports, for ferrocan) is done before the
    flood, as it would be for a logger started ahead of the traffic.
    """
    deadline = time.monotonic() + READY_TIMEOUT
    while raw_filters(IFACE) <= filters_before:
        state, _ = proc_state(proc.pid)
        if state in "ZX":
            said = read_text(stderr, None)[-400:]
            raise BenchError(f"{proc.args!r} exited at start; its stderr ends: {said}")
        if time.monotonic() > deadline:
            raise BenchError(f"{proc.args!r} opened no socket on {IFACE} in {READY_TIMEOUT} s")
        time.sleep(POLL)
    if not wait_idle(proc.pid, None, SETTLED, deadline):
        raise BenchError(f"{proc.args!r} was still busy {READY_TIMEOUT} s after its start")
    return proc_state(proc.pid)[1] * CLOCK_TICK


def wait_idle(pid: int, log: Path | None, quiet: float, deadline: float) -> bool:
    """Waits until ``pid`` has used no CPU, and ``log`` (if given) not grown,
    for ``quiet`` seconds; False if that did not happen by ``deadline``."""

    def sample() -> tuple[int, int]:
        size = log.stat().st_size if log is not None and log.exists() else 0
        return proc_state(pid)[1], size

    last = sample()
    changed = time.monotonic()
    while True:
        time.sleep(POLL * 2)
        now = time.monotonic()
        current = sample()
        if current != last:
            last, changed = current, now
        elif now - changed >= quiet:
            return True
        if now > deadline:
            return False


def reap(proc: subprocess.Popen[bytes], timeout: float) -> resource.struct_rusage | None:
    """Waits up to ``timeout`` seconds for ``proc`` to exit; its resource
    usage, or None if it is still running. Uses os.wait4, not Popen.wait,
    which would reap it without its rusage."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage
        if time.monotonic() > deadline:
            return None
        time.sleep(POLL)


def signal_child(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Sends ``signum`` to ``proc`` unless it has been reaped. Not with
    Popen.send_signal or Popen.kill, which reap an exited child first (by
    Popen.poll), losing its rusage; a child not yet reaped keeps its pid."""
    if proc.returncode is None:
        os.kill(proc.pid, signum)


def stop(proc: subprocess.Popen[bytes]) -> tuple[resource.struct_rusage, bool]:
    """Ends ``proc`` with SIGINT (SIGKILL if it lingers); its rusage, and
    whether it had to be killed."""
    signal_child(proc, signal.SIGINT)
    usage = reap(proc, EXIT_TIMEOUT)
    if usage is not None:
        return usage, False
    signal_child(proc, signal.SIGKILL)
    usage = reap(proc, KILL_TIMEOUT)
    if usage is None:
        raise BenchError(f"{proc.args!r} survived SIGKILL for {KILL_TIMEOUT} s")
    return usage, True


def flood(frames: int) -> tuple[int, float]:
    """Runs cangen to completion; the frames vcan0 counted sent meanwhile,
    and the seconds cangen took."""
    before = int(TX_PACKETS.read_text())
    start = time.monotonic()
    argv = ["cangen", IFACE, "-g", "0", "-n", str(frames), "-I", "i", "-L", "8", "-D", "i"]
    try:
        done = subprocess.run(
            [*argv, "-p", "10"], capture_output=True, timeout=FLOOD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"cangen did not finish in {FLOOD_TIMEOUT} s") from None
    if done.returncode != 0:
        raise BenchError(f"cangen failed ({done.returncode}): {done.stderr[:400]!r}")
    return int(TX_PACKETS.read_text()) - before, time.monotonic() - start


def run_once(receiver: Receiver, run: int, frames: int, sync: socket.socket) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="record_flood.") as tmp:
        log, out, err = Path(tmp, "flood.log"), Path(tmp, "stdout"), Path(tmp, "stderr")
        filters_before = raw_filters(IFACE)
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            proc = subprocess.Popen(
                receiver.command(log), stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
            )
        if receiver.to_stdout:
            log = out
        try:
            startup = wait_ready(proc, filters_before, err)
            send_sync(sync)
            sent, seconds = flood(frames)
            went_idle = wait_idle(proc.pid, log, IDLE, time.monotonic() + IDLE_TIMEOUT)
            usage, killed = stop(proc)
        finally:
            if proc.returncode is None:  # an error, or Ctrl-C
                signal_child(proc, signal.SIGKILL)
                reap(proc, KILL_TIMEOUT)
        text = log.read_bytes() if log.exists() else b""
        first = SYNC_LINE.match(text)
        return RunResult(
            receiver=receiver.name,
            run=run,
            frames=frames,
            sent=sent,
            flood_seconds=seconds,
            logged=len(FLOOD_LINE.findall(text)),
            synced=first is not None,
            cpu_user=usage.ru_utime,
            cpu_system=usage.ru_stime,
            cpu_startup=startup,
            exit_status=proc.returncode,
            killed=killed,
            went_idle=went_idle,
            drops=drop_report(err),
            reported_drops=sum(map(int, DROPCOUNT.findall(read_text(err, None)))),
        )


def read_text(path: Path, limit: int | None) -> str:
    return path.read_bytes()[:limit].decode(errors="replace")


def drop_report(stderr: Path) -> str:
    """The receiver's stderr lines about drops, joined, first 200 characters."""
    lines = read_text(stderr, None).splitlines()
    return " | ".join(line for line in lines if any(word in line for word in DROP_WORDS))[:200]


# ------------------------------------------------------------ report


def table(results: Sequence[RunResult], names: Sequence[str], frames: int) -> str:
    rows = [
        "| receiver | frames logged per run | mean % of the flood "
        "| CPU seconds per run (mean; of which before the flood) |",
        "|---|---|---|---|",
    ]
    for name in names:
        mine = [result for result in results if result.receiver == name]
        if not mine:
            continue
        logged = ", ".join(str(result.logged) for result in mine)
        share = 100 * statistics.mean(result.logged for result in mine) / frames
        cpu = statistics.mean(result.cpu for result in mine)
        startup = statistics.mean(result.cpu_startup for result in mine)
        rows.append(f"| {name} | {logged} | {share:.1f} | {cpu:.3f} ({startup:.2f}) |")
    return "\n".join(rows)


def notes(results: Sequence[RunResult]) -> list[str]:
    """What went unexpectedly, and what receivers said about drops."""
    lines = []
    for result in results:
        where = f"{result.receiver} run {result.run}"
        if result.sent != result.frames:
            lines.append(f"- {where}: vcan0 counted {result.sent} frames sent, not {result.frames}")
        if not result.synced:
            lines.append(f"- {where}: the log does not start with the sync frame")
        if not result.went_idle:
            lines.append(f"- {where}: still busy {IDLE_TIMEOUT} s after the flood")
        if result.killed:
            lines.append(f"- {where}: killed, {EXIT_TIMEOUT} s after SIGINT")
        if result.drops:
            lines.append(f"- {where}, stderr: {result.drops}")
        if result.reported_drops:
            total = result.logged + result.reported_drops
            lines.append(
                f"- {where}: logged {result.logged} + reported dropped {result.reported_drops}"
                f" = {total} ({'=' if total == result.frames else '!='} {result.frames})"
            )
    return lines


def check_setup(ferrocan: Path) -> None:
    for tool in ("candump", "cangen"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} not found: install can-utils")
    if not ferrocan.exists():
        raise BenchError(f"{ferrocan} not found: install ferrocan in this Python's environment")
    if not TX_PACKETS.exists() or not RCVLIST.exists():
        raise BenchError(f"no {IFACE} or no {RCVLIST}: run this under tools/can-run")


def receiver_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = set(names) - {"candump", "record", "dump"}
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected names among candump,record,dump: {text!r}")
    return names


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer: {text!r}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="Run under tools/can-run (QEMU); see the module docstring.",
    )
    parser.add_argument("--frames", type=positive, default=20000, help="flood size (20000)")
    parser.add_argument("--runs", type=positive, default=1, help="runs per receiver (1)")
    parser.add_argument(
        "--only",
        type=receiver_names,
        default=["candump", "candump-r", "record", "record-r", "dump"],
        help="receivers to run, comma-separated (default: all five)",
    )
    parser.add_argument("--json", type=Path, help="write the raw results to this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    ferrocan = Path(sys.executable).parent / "ferrocan"
    known = receivers(ferrocan)
    results: list[RunResult] = []
    try:
        check_setup(ferrocan)
        with open_sync_socket() as sync:
            for run in range(1, args.runs + 1):
                for name in args.only:  # interleaved, so that drift affects all alike
                    result = run_once(known[name], run, args.frames, sync)
                    print(
                        f"{name} run {run}: {result.logged}/{args.frames} logged, "
                        f"{result.cpu:.3f} s CPU",
                        file=sys.stderr,
                        flush=True,
                    )
                    results.append(result)
    except BenchError as error:
        print(f"record_flood: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # run_once has killed its receiver; cangen's run() its own
        print("record_flood: interrupted", file=sys.stderr)
        return 130
    pace = statistics.mean(result.flood_seconds for result in results) if results else 0.0
    print(
        f"kernel {os.uname().release}, {os.cpu_count()} CPU(s); "
        f"flood of {args.frames} frames (cangen took {pace:.2f} s, mean)"
    )
    print()
    print(table(results, args.only, args.frames))
    extra = notes(results)
    if extra:
        print()
        print("\n".join(extra))
    if args.json:
        raw = {
            "kernel": os.uname().release,
            "frames": args.frames,
            "results": [asdict(result) for result in results],
        }
        args.json.write_text(json.dumps(raw, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
