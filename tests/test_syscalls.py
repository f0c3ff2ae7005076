"""What the per-frame calls cost, counted by strace. recv(0.0) on an empty
bus makes at most one syscall, and one that does not wait: the native
backend with io_uring makes none (it pops the completion ring in memory);
without io_uring it makes one recvmmsg. The ctypes backend makes one poll()
with a zero timeout, because a call through ctypes costs several times the
syscall: its recvmsg runs only when poll() finds something. send makes one
sendto, and send_batch one sendmmsg for 64 frames.

Each count is the difference between a loop of N calls and a loop of none in
the same process, each measured between two marker writes, so whatever the
interpreter or the bus does outside the loop cannot be mistaken for the cost
of recv."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

CALLS = 200

CHILD = """
import os, sys, ferrocan
backend = sys.argv[1]
name, _, mode = backend.partition("-")
options = {"io_uring": False} if mode == "direct" else {}
bus = ferrocan.Bus("vcan0", backend=name, **options)
assert (", io_uring" in bus.channel_info) == (backend == "native"), bus.channel_info
marker = os.open(os.devnull, os.O_WRONLY)
msg = ferrocan.Message(arbitration_id=0x123, is_extended_id=False, data=b"1")
def recv():
    if bus.recv(0.0) is not None:
        raise SystemExit("vcan0 was not quiet")
operation = {
    "recv": recv,
    "send": lambda: bus.send(msg),
    "send_batch": lambda: bus.send_batch([msg] * 64),
}[sys.argv[2]]
for calls in map(int, sys.argv[3:]):
    os.write(marker, b"ferrocan-begin")
    for _ in range(calls):
        operation()
    os.write(marker, b"ferrocan-end")
bus.shutdown()
"""

#: "1234  recvmmsg(3, ..." as strace -f writes it; "<... resumed>" lines
#: continue a call already counted.
SYSCALL = re.compile(r"^\d+\s+([a-z0-9_]+)\(")
#: A poll() whose timeout is 0: it looks and returns at once.
POLL_WITHOUT_WAITING = re.compile(r"^\d+\s+poll\(.*, 0\)\s+= ")
#: Clock reads are syscalls only where the kernel has no vDSO (User-Mode
#: Linux); elsewhere they never enter the kernel. CPython's poll() reads the
#: clock for its deadline, even a zero one.
CLOCK_READ = "clock_gettime"

WAITS = {"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2"}


def syscalls_in_loops(
    backend: str, operation: str, loops: list[int], trace: Path
) -> list[Counter[str]]:
    """The syscalls, by name, that each loop of ``operation`` calls made."""
    command = [sys.executable, "-c", CHILD, backend, operation, *map(str, loops)]
    subprocess.run(
        ["strace", "-f", "-o", str(trace), *command], check=True, timeout=60, capture_output=True
    )
    counts: list[Counter[str]] = []
    inside = False
    for line in trace.read_text().splitlines():
        if '"ferrocan-begin"' in line:
            assert not inside, "two beginnings without an end"
            counts.append(Counter())
            inside = True
        elif '"ferrocan-end"' in line:
            assert inside, "an end without a beginning"
            inside = False
        elif inside and POLL_WITHOUT_WAITING.match(line):
            counts[-1]["poll without waiting"] += 1
        elif inside and (match := SYSCALL.match(line)) and match.group(1) != CLOCK_READ:
            counts[-1][match.group(1)] += 1
    assert len(counts) == len(loops) and not inside, f"the trace of {backend} lacks markers"
    return counts


EXPECTED = {
    "native": {},
    "native-direct": {"recvmmsg": CALLS},
    "ctypes": {"poll without waiting": CALLS},
}


@pytest.mark.parametrize("backend", list(EXPECTED))
def test_an_empty_recv_with_zero_timeout_costs_one_syscall_at_most(
    backend: str, tmp_path: Path
) -> None:
    baseline, loaded = syscalls_in_loops(backend, "recv", [0, CALLS], tmp_path / "trace.txt")
    difference = dict(loaded - baseline)
    assert difference == EXPECTED[backend], (
        f"{CALLS} recv(0.0) calls on the {backend} backend made {difference}"
    )
    assert not WAITS & set(loaded), f"recv(0.0) waited: {loaded}"


@pytest.mark.parametrize("backend", ["native", "native-direct"])
@pytest.mark.parametrize(
    ("operation", "expected"),
    [("send", {"sendto": CALLS}), ("send_batch", {"sendmmsg": CALLS})],
)
def test_a_send_costs_one_syscall_and_a_batch_of_64_one_more(
    backend: str, operation: str, expected: dict[str, int], tmp_path: Path
) -> None:
    baseline, loaded = syscalls_in_loops(backend, operation, [0, CALLS], tmp_path / "trace.txt")
    difference = dict(loaded - baseline)
    assert difference == expected, f"{CALLS} {operation} calls on {backend} made {difference}"
