"""The ``ferrocan`` command, run as installed (.venv/bin/ferrocan), against
can-utils and ip. Its two parsers, ferrocan.cansend and ferrocan.candump_log,
are tested in test_text_formats.py."""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from ferrocan import Bus, Message
from ferrocan.candump_log import LogEntry, format_line, parse_line, read_log, write_log
from ferrocan.cansend import format_frame, parse_frame
from ferrocan.cli import gen, main

from .peers import SYNC_ID, cansend
from .support import (
    CANXL_MTU,
    REFUSED_XL,
    XlRecord,
    at_xl_mtu,
    has_vcid,
    run,
    send_through_backlog,
    set_mtu,
    unpack_xl,
    xl_peer,
)

FERROCAN = Path(sys.executable).with_name("ferrocan")
TIMEOUT = 20.0  # seconds for any one command


def ferrocan(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Runs the installed console script."""
    if not FERROCAN.exists():
        pytest.fail(f"{FERROCAN} is missing: run maturin develop (see tools/setup)")
    return subprocess.run(
        [str(FERROCAN), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def is_sync(line: str) -> bool:
    """Whether a candump line (any format) shows a sync frame of tests/peers.py."""
    sync = f"{SYNC_ID:03X}"
    return any(token == sync or token.startswith(f"{sync}#") for token in line.split())


class Listener:
    """A process that prints a line per frame (candump, ferrocan dump), proven
    to be listening by a sync frame before any frame under test is sent."""

    def __init__(self, *command: str) -> None:
        self.command = " ".join(command)
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._buffer = b""

    def sync(self, channel: str = "vcan0") -> None:
        with Bus(channel) as bus:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                bus.send(Message(arbitration_id=SYNC_ID, is_extended_id=False))
                if self.readline(0.1) is not None:
                    return
        raise TimeoutError(f"{self.command} did not start listening within 10 s")

    def lines(self, count: int, timeout: float = 5.0) -> list[str]:
        """The next ``count`` lines that are not sync frames."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            line = self.readline(deadline - time.monotonic())
            if line is None:
                raise TimeoutError(f"{self.command} printed {got}, not {count} lines")
            if not is_sync(line):
                got.append(line)
        return got

    def readline(self, timeout: float) -> str | None:
        """A whole line within ``timeout`` seconds, else None (the pipe is read
        unbuffered, so that select tells the truth)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def finish(self, timeout: float = 10.0) -> tuple[int, list[str], str]:
        """Waits for the process to end: its status, the lines it printed
        since (sync frames left out) and its stderr."""
        out, err = self.proc.communicate(timeout=timeout)
        lines = (self._buffer + out).decode().splitlines()
        return self.proc.returncode, [line for line in lines if not is_sync(line)], err.decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


@contextmanager
def listening(*commands: list[str], channel: str = "vcan0") -> Iterator[list[Listener]]:
    """Starts every command at once (they start up in parallel), then syncs each."""
    with ExitStack() as stack:
        listeners = [Listener(*command) for command in commands]
        for listener in listeners:
            stack.callback(listener.close)
        for listener in listeners:
            listener.sync(channel)
        yield listeners


def logged(lines: list[str]) -> list[str]:
    """The frames of candump -L lines."""
    return [line.split()[-1] for line in lines]


def recv_all(bus: Bus, count: int) -> list[Message]:
    msgs = [bus.recv(5.0) for _ in range(count)]
    assert None not in msgs, f"only {msgs.index(None)} of {count} frames came"
    return [msg for msg in msgs if msg is not None]


# ---------------------------------------------------------------- candump's log format


def test_error_frames_are_logged_as_candump_logs_them() -> None:
    """An error frame injected with ferrocan, as candump -L prints it, round-trips."""
    error = Message(arbitration_id=0x40, is_extended_id=False, is_error_frame=True, data=bytes(8))
    with listening(["candump", "-L", "vcan0,#FFFFFFFF"]) as (candump,), Bus("vcan0") as bus:
        bus.send(error)
        (line,) = candump.lines(1)
    assert line.split()[1:] == ["vcan0", "20000040#0000000000000000"]
    entry = parse_line(line)
    assert entry.message.is_error_frame
    assert entry.message.arbitration_id == 0x40
    assert format_line(entry) == line


# ---------------------------------------------------------------- send and dump

CANSEND_FRAMES = [
    "123#DEADBEEF",
    "7FF#R",
    "123#R3",
    "1FFFFFFF#0102030405060708",  # from here on candump indents standard IDs
    "123#11.22.33",
    "321##1" + bytes(range(12)).hex(),
    "321##2",
    "20000040#0000000000000000",  # an error frame
]


@pytest.mark.usefixtures("mtu72")
def test_dump_prints_what_candump_prints() -> None:
    """Default, -x and -L formats against candump's, for the same frames."""
    source = "vcan0,#FFFFFFFF"  # error frames too
    options: list[list[str]] = [[], ["-x"], ["-L"]]
    commands = [["candump", *opts, source] for opts in options]
    commands += [[str(FERROCAN), "dump", *opts, source] for opts in options]
    with listening(*commands) as listeners:
        for frame in CANSEND_FRAMES:
            cansend("vcan0", frame)
        printed = [listener.lines(len(CANSEND_FRAMES)) for listener in listeners]
    candump, candump_x, candump_log, dump, dump_x, dump_log = printed
    assert dump == candump
    assert dump_x == candump_x
    assert [line.split()[1:] for line in dump_log] == [line.split()[1:] for line in candump_log]
    # candump truncates the kernel's nanoseconds to microseconds; a float
    # timestamp can only be rounded.
    for mine, theirs in zip(dump_log, candump_log):
        assert abs(parse_line(mine).timestamp - parse_line(theirs).timestamp) <= 1.5e-6


def test_dump_filters_as_candump_does() -> None:
    sources = ["vcan0,123:7FF,7FE:7FF", "vcan0,123~7FF"]  # both pass the sync frames
    with listening(*[[str(FERROCAN), "dump", "-L", source] for source in sources]) as dumps:
        for frame in ["123#01", "124#02", "00000123#03"]:
            cansend("vcan0", frame)
        only, inverted = (dump.lines(n) for dump, n in zip(dumps, (2, 1)))
    assert [line.split()[2] for line in only] == ["123#01", "00000123#03"]
    assert [line.split()[2] for line in inverted] == ["124#02"]


def test_send_to_candump() -> None:
    frames = {
        "123#DEADBEEF": "123#DEADBEEF",
        "1FFFFFFF#11.22": "1FFFFFFF#1122",
        "123#R3": "123#R3",
        "123##1AABB": "123##5AABB",  # the kernel adds FDF (4) to the flags
    }
    with listening(["candump", "-L", "vcan0"]) as (candump,):
        for frame in frames:
            done = ferrocan("send", "vcan0", frame)
            assert (done.returncode, done.stderr) == (0, "")
        assert logged(candump.lines(len(frames))) == list(frames.values())


def test_send_to_dump_in_can_xl_notation() -> None:
    """ferrocan send's CAN XL frames, as ferrocan dump prints them: the
    compact form with -L, and the screen form, which crops the data at 64
    bytes as can-utils does. A kernel without CAN XL refuses the send."""
    with at_xl_mtu("vcan1") as has_xl:
        if not has_xl:
            done = ferrocan("send", "vcan1", "00123#80:00:00000000#11")
            assert done.returncode == 1 and REFUSED_XL in done.stderr
            return
        vcid = "45" if has_vcid() else "00"
        frames = [f"{vcid}123#81:12:DEADBEEF#00112233", "007FF#80:00:00000000#" + "AB" * 100]
        commands = [[str(FERROCAN), "dump", "vcan1"], [str(FERROCAN), "dump", "-L", "vcan1"]]
        with listening(*commands, channel="vcan1") as (screen, log):
            for frame in frames:
                done = ferrocan("send", "vcan1", frame)
                assert (done.returncode, done.stderr) == (0, "")
            shown, logged_lines = screen.lines(2), log.lines(2)
    assert logged(logged_lines) == frames
    assert shown == [
        f"  vcan1  123 [0004] ({vcid}|81:12:DEADBEEF) 00 11 22 33",
        "  vcan1  7FF [0100] (00|80:00:00000000) " + " ".join(["AB"] * 64) + " ...",
    ]


def test_dump_reports_drops() -> None:
    """A reader stopped while 3000 frames arrive, with the smallest receive
    buffer: candump's DROPCOUNT, and every frame is either printed or
    counted as dropped."""
    sent = 3000
    command = [str(FERROCAN), "dump", "vcan1", "-T", "1500", "-r", "1"]
    with listening(command, channel="vcan1") as (dump,):
        dump.proc.send_signal(signal.SIGSTOP)
        with Bus("vcan1") as bus:
            frame = Message(arbitration_id=0x100, is_extended_id=False, data=b"\x01")
            send_through_backlog(bus, [frame] * sent)
        dump.proc.send_signal(signal.SIGCONT)
        status, lines, stderr = dump.finish()
    assert status == 0
    match = re.search(r"the kernel dropped (\d+) CAN frame\(s\) in all", stderr)
    assert match, stderr
    assert "DROPCOUNT: dropped " in stderr
    assert int(match.group(1)) > 0
    assert len(lines) + int(match.group(1)) == sent


# ---------------------------------------------------------------- CAN XL


@pytest.fixture
def xl() -> Iterator[bool]:
    """Whether the kernel has CAN XL, with vcan1 at CANXL_MTU for the test."""
    with at_xl_mtu("vcan1") as xl:
        yield xl


def receive_xl(peer: socket.socket, count: int) -> list[XlRecord]:
    return [unpack_xl(peer.recv(CANXL_MTU)) for _ in range(count)]


def test_send_can_xl_to_a_peer(xl: bool) -> None:
    """lib.h's example and a full frame reach Python's own CAN XL socket."""
    frames = ["45123#81:00:12345678#11223344.556677", "007FF#00:FF:FFFFFFFF#" + "A5" * 2048]
    if not xl:
        done = ferrocan("send", "vcan1", frames[0])
        assert done.returncode == 1
        assert done.stderr == f"ferrocan send: {REFUSED_XL}{os.uname().release}\n"
        return
    if not has_vcid():  # Linux 6.2 to 6.8, and 6.1 where CAN XL is backported
        done = ferrocan("send", "vcan1", frames[0])
        assert done.returncode == 1
        assert done.stderr == (
            "ferrocan send: cannot send vcid=69 on 'vcan1': VCIDs need Linux 6.9 or later\n"
        )
        frames[0] = "00123#81:00:12345678#11223344.556677"
    with xl_peer("vcan1") as peer:
        for frame in frames:
            done = ferrocan("send", "vcan1", frame)
            assert (done.returncode, done.stderr) == (0, "")
        got = receive_xl(peer, 2)
    vcid = 0x45 if has_vcid() else 0
    assert got == [
        XlRecord(0x123, vcid, 0x81, 0x00, 0x12345678, bytes.fromhex("11223344556677")),
        XlRecord(0x7FF, 0, 0x80, 0xFF, 0xFFFFFFFF, b"\xa5" * 2048),
    ]


def test_send_can_xl_needs_the_xl_mtu(xl: bool) -> None:
    set_mtu("vcan1", 72)  # the fixture restores it
    done = ferrocan("send", "vcan1", "00123#80:00:00000000#11")
    assert done.returncode == 1
    if not xl:
        assert done.stderr == f"ferrocan send: {REFUSED_XL}{os.uname().release}\n"
        return
    assert done.stderr == (
        "ferrocan send: cannot send a CAN XL frame on 'vcan1': its MTU is 72, and CAN XL needs "
        "2060 (ip link set vcan1 mtu 2060)\n"
    )


def test_gen_can_xl_to_a_peer(xl: bool) -> None:
    """Fixed and incrementing fields, as cangen -X has them, then random ones."""
    fixed = ["-I", "123", "-L", "i", "-D", "i", "-F", "81", "-S", "03", "-A", "i"]
    if not xl:
        done = ferrocan("gen", "vcan1", "-X", "-n", "1")
        assert done.returncode == 1
        assert done.stderr == f"ferrocan gen: {REFUSED_XL}{os.uname().release}\n"
        return
    vcid = ["-V", "45"] if has_vcid() else []
    with xl_peer("vcan1") as peer:
        done = ferrocan("gen", "vcan1", "-X", "-g", "0", "-n", "5", *fixed, *vcid)
        assert done.returncode == 0, done.stderr
        got = receive_xl(peer, 5)
        # Few enough for the peer's default receive buffer, read once gen ended.
        done = ferrocan("gen", "vcan1", "-X", "-g", "0", "-n", "40")
        assert done.returncode == 0, done.stderr
        randoms = receive_xl(peer, 40)
    counter = [n.to_bytes(8, "little")[: n + 1] for n in range(5)]
    header = (0x123, 0x45 if vcid else 0, 0x81, 0x03)
    assert got == [XlRecord(*header, n, counter[n]) for n in range(5)]
    assert {record.flags for record in randoms} == {0x80, 0x81}
    assert {record.vcid for record in randoms} == {0}
    assert all(1 <= len(record.data) <= 2048 for record in randoms)
    assert len({len(record.data) for record in randoms}) > 30


# ---------------------------------------------------------------- gen


def test_gen_to_candump() -> None:
    # -r: gen -g 0 outruns candump on one CPU; its default receive buffer
    # holds ~250 frames, and the kernel would drop the rest.
    with listening(["candump", "-r", str(1 << 20), "-L", "vcan0"]) as (candump,):
        done = ferrocan("gen", "vcan0", "-g", "0", "-n", "300", "-I", "123", "-L", "4", "-D", "i")
        assert done.returncode == 0, done.stderr
        lines = logged(candump.lines(300))
    assert lines == [f"123#{n.to_bytes(4, 'little').hex().upper()}" for n in range(300)]
    assert done.stdout.startswith("sent 300 frames in ")


def test_gen_keeps_the_gap() -> None:
    with Bus("vcan1", fd=True) as bus:
        done = ferrocan("gen", "vcan1", "-g", "30", "-n", "4", "-e", "-b", "-L", "64")
        assert done.returncode == 0, done.stderr
        msgs = recv_all(bus, 4)
    assert all(m.is_fd and m.bitrate_switch and m.is_extended_id for m in msgs)
    assert all(len(m.data) == 64 for m in msgs)
    # On schedule: 3 gaps of 30 ms. A late first frame makes the next gap
    # shorter, so the span may shrink by up to one gap; without gaps it is ~0.
    assert 0.055 < msgs[-1].timestamp - msgs[0].timestamp < 0.5


def test_ctrl_c_exits_130_quietly() -> None:
    """gen without -n runs until Ctrl-C, then says what it sent."""
    with Bus("vcan1") as bus:
        proc = subprocess.Popen(
            [str(FERROCAN), "gen", "vcan1", "-g", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert bus.recv(10.0) is not None, "gen sent nothing"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
        finally:
            proc.kill()
    assert (proc.returncode, err) == (130, b"")
    assert re.fullmatch(rb"sent \d+ frames in [\d.]+ s \(\d+ frames/s\)\n", out), out


# ---------------------------------------------------------------- record and replay

RECORDED = ["123#DEADBEEF", "1FFFFFFF#0102", "321##1AABBCC"]
GAP = 0.3


def record(log: Path) -> list[LogEntry]:
    """Records RECORDED, sent GAP apart, with ferrocan record; stops it with Ctrl-C."""
    proc = subprocess.Popen(
        [str(FERROCAN), "record", str(log), "-i", "vcan0"], stderr=subprocess.PIPE
    )
    try:
        wait_for(log, f"{SYNC_ID:03X}#", send_sync=True)
        for frame in RECORDED:
            cansend("vcan0", frame)
            time.sleep(GAP)
        wait_for(log, "321##")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert (proc.returncode, err) == (
        130,
        b"ferrocan record: each socket's receive buffer is 8 MiB\n",
    )
    with log.open() as file:
        return [entry for entry in read_log(file) if entry.message.arbitration_id != SYNC_ID]


def wait_for(log: Path, text: str, send_sync: bool = False) -> None:
    with Bus("vcan0") as bus:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if send_sync:
                bus.send(Message(arbitration_id=SYNC_ID, is_extended_id=False))
            time.sleep(0.1)
            if log.exists() and text in log.read_text():
                return
    raise TimeoutError(f"{text!r} did not appear in {log}")


@pytest.mark.usefixtures("mtu72")
def test_record_then_replay(tmp_path: Path) -> None:
    entries = record(tmp_path / "recorded.log")
    expected = [format_frame(parse_frame(frame)) for frame in RECORDED]
    assert [format_frame(entry.message) for entry in entries] == expected
    log = tmp_path / "frames.log"
    with log.open("w") as file:
        write_log(file, entries)

    with listening(["candump", "-L", "vcan0"]) as (candump,), Bus("vcan0", fd=True) as bus:
        done = ferrocan("replay", str(log))
        assert (done.returncode, done.stderr) == (0, "")
        assert logged(candump.lines(3)) == expected
        replayed = recv_all(bus, 3)
    for before, after in zip(zip(entries, entries[1:]), zip(replayed, replayed[1:])):
        recorded_gap = before[1].timestamp - before[0].timestamp
        assert abs((after[1].timestamp - after[0].timestamp) - recorded_gap) < 0.1

    with Bus("vcan1", fd=True) as bus:
        done = ferrocan("replay", str(log), "-x", "-I", "vcan1", "-l", "2")
        assert (done.returncode, done.stderr) == (0, "")
        fast = recv_all(bus, 6)
    assert [format_frame(msg) for msg in fast] == expected * 2
    assert fast[-1].timestamp - fast[0].timestamp < GAP


# ---------------------------------------------------------------- link


def test_link_show_agrees_with_ip() -> None:
    with Bus("vcan0") as bus:
        for n in range(3):
            bus.send(Message(arbitration_id=0x100 + n, is_extended_id=False, data=b"\x01\x02"))
    (ip,) = json.loads(
        subprocess.run(
            ["ip", "-j", "-details", "-statistics", "link", "show", "vcan0"],
            capture_output=True,
            check=True,
            timeout=10,
        ).stdout
    )
    done = ferrocan("link", "show", "vcan0", "-s")
    assert done.returncode == 0, done.stderr
    shown = done.stdout.splitlines()
    state = "UP" if "UP" in ip["flags"] else "DOWN"
    assert (
        shown[0]
        == f"{ip['ifindex']}: vcan0: vcan state {state} mtu {ip['mtu']} qlen {ip['txqlen']}"
    )
    counters = {shown[i].split()[0]: shown[i + 1].split() for i in range(len(shown) - 1)}
    for direction in ("rx", "tx"):
        stats = ip["stats64"][direction]
        expected = [stats["bytes"], stats["packets"], stats["errors"], stats["dropped"]]
        assert [int(n) for n in counters[f"{direction.upper()}:"]] == expected


def test_link_add_up_show_del() -> None:
    name = "vcancli"
    try:
        for action in (["add", name, "type", "vcan"], ["up", name]):
            done = ferrocan("link", *action)
            assert (done.returncode, done.stderr) == (0, ""), action
        shown = ferrocan("link", "show", name).stdout
        # A new vcan's MTU is the kernel's choice: 72, or 2060 on kernels
        # with CAN XL; both carry CAN FD.
        mtu = json.loads(run("ip", "-j", "link", "show", name))[0]["mtu"]
        assert f"{name}: vcan state UP mtu {mtu} " in shown
        assert "link/can vcan fd on" in shown
        assert f"{name}: vcan state UP" in ferrocan("link", "list").stdout
        assert ferrocan("link", "del", name).returncode == 0
        gone = subprocess.run(["ip", "link", "show", name], capture_output=True, timeout=10)
        assert gone.returncode != 0
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=10)


NO_NET_ADMIN = ["setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin"]


def test_link_needs_cap_net_admin() -> None:
    done = subprocess.run(
        [*NO_NET_ADMIN, str(FERROCAN), "link", "add", "vcannope", "type", "vcan"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("ferrocan link add: ")
    assert "CAP_NET_ADMIN" in done.stderr
    assert done.stderr.count("\n") == 1


# ---------------------------------------------------------------- python -m


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ferrocan", "--version"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.stdout.startswith("ferrocan ")


# ---------------------------------------------------------------- bad input


def run_main(*argv: str) -> tuple[int, str, str]:
    """``main`` in this process: its status, stdout and stderr."""
    with pytest.MonkeyPatch.context() as patch:
        out, err = io.StringIO(), io.StringIO()
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


BAD_INPUT = [
    (["nope"], 2, "ferrocan: argument COMMAND: invalid choice: 'nope'"),
    (["send", "vcan0"], 2, "ferrocan send: the following arguments are required: FRAME"),
    (["send", "vcan0", "12G#00"], 2, "ferrocan send: malformed CAN frame '12G#00': the ID"),
    (["send", "nope0", "123#00"], 1, "ferrocan send: CAN interface 'nope0' does not exist"),
    (["send", "vcan0", "1" * 20], 2, "ferrocan send: malformed CAN frame"),
    (["send", "vcan0", "45123#82:00:00000000#11"], 2, "ferrocan send: malformed CAN frame '45"),
    (["send", "vcan0", "45123#80:00:00000000#"], 2, "ferrocan send: malformed CAN frame '45"),
    (["dump", "vcan0,123-7FF"], 2, "ferrocan dump: malformed filter '123-7FF' in 'vcan0,123-7FF'"),
    (["dump", "vcan0,#XYZ"], 2, "ferrocan dump: malformed filter '#XYZ'"),
    (["dump", "nope0"], 1, "ferrocan dump: CAN interface 'nope0' does not exist"),
    (["dump", ",123:7FF"], 2, "ferrocan dump: ',123:7FF' names no interface"),
    (["dump", "vcan0", "-n", "0"], 2, "ferrocan dump: argument -n: must be at least 1, got 0"),
    (["dump", "vcan0", "-T", "x"], 2, "ferrocan dump: argument -T: must be a whole number"),
    (["gen", "vcan0", "-I", "800"], 2, "ferrocan gen: -I 800: the ID is out of range 0..7FF"),
    (["gen", "vcan0", "-I", "-1"], 2, "ferrocan gen: -I -1: must be r, i or a hexadecimal"),
    (["gen", "vcan0", "-L", "9"], 2, "ferrocan gen: -L 9: the data length must be r, i or one"),
    (["gen", "vcan0", "-f", "-L", "13"], 2, "ferrocan gen: -L 13: the data length must"),
    (["gen", "vcan0", "-D", "XYZ"], 2, "ferrocan gen: -D XYZ: the data must be r, i or hex"),
    (["gen", "vcan0", "-D", "00" * 9], 2, f"ferrocan gen: -D {'00' * 9}: 9 bytes, but a frame"),
    (["gen", "vcan0", "-X", "-e"], 2, "ferrocan gen: -X and -e cannot be combined: a CAN XL"),
    (["gen", "vcan0", "-X", "-b"], 2, "ferrocan gen: -X and -b cannot be combined: a frame is"),
    (["gen", "vcan0", "-S", "01"], 2, "ferrocan gen: -S 01: sets a CAN XL field, so it needs -X"),
    (["gen", "vcan0", "-X", "-F", "82"], 2, "ferrocan gen: -F 82: CAN XL flags other than XLF"),
    (["gen", "vcan0", "-X", "-A", "100000000"], 2, "ferrocan gen: -A 100000000: out of range"),
    (["gen", "vcan0", "-X", "-V", "x"], 2, "ferrocan gen: -V x: must be r, i or a hexadecimal"),
    (["gen", "vcan0", "-X", "-L", "0"], 2, "ferrocan gen: -L 0: the data length must be r, i or"),
    (["gen", "vcan0", "-g", "-1"], 2, "ferrocan gen: argument -g: must be a number of milli"),
    (["gen", "nope0", "-n", "1"], 1, "ferrocan gen: CAN interface 'nope0' does not exist"),
    (["record", "/nope/x.log", "-i", "vcan0"], 1, "ferrocan record: /nope/x.log: No such file"),
    (["record", "-", "-i", "nope0"], 1, "ferrocan record: CAN interface 'nope0' does not exist"),
    (["replay", "/nonexistent.log"], 1, "ferrocan replay: /nonexistent.log: No such file"),
    (["link", "bogus"], 2, "ferrocan link: argument ACTION: invalid choice: 'bogus'"),
    (["link", "show", "nope0"], 1, "ferrocan link show: CAN interface 'nope0' does not exist"),
    (["link", "set", "vcan0", "bitrate"], 2, "ferrocan link set: 'bitrate' needs a value"),
    (["link", "set", "vcan0", "speed", "1"], 2, "ferrocan link set: unknown setting 'speed'"),
    (["link", "set", "vcan0", "fd", "yes"], 2, "ferrocan link set: fd yes: expected on or off"),
    (["link", "set", "vcan0", "bitrate", "500000"], 2, "ferrocan link set: 'vcan0' is a virtual"),
    (["link", "add", "vcanx", "type", "can"], 2, "ferrocan link add: give the type"),
    (["link", "add", "vcanx", "type", "vxcan"], 2, "ferrocan link add: a vxcan needs its peer"),
]


@pytest.mark.parametrize(
    ("argv", "status", "message"), BAD_INPUT, ids=[" ".join(a) for a, _, _ in BAD_INPUT]
)
def test_bad_input_is_one_line_and_a_status(argv: list[str], status: int, message: str) -> None:
    got, out, err = run_main(*argv)
    assert (got, out) == (status, "")
    assert err.startswith(message), err
    assert err.count("\n") == 1, err


def test_a_malformed_log_names_its_line(tmp_path: Path) -> None:
    log = tmp_path / "bad.log"
    log.write_text("(1.0) vcan0 123#00\n(2.0) vcan0 123#0\n")
    assert run_main("replay", str(log)) == (
        2,
        "",
        "ferrocan replay: line 2: malformed CAN frame '123#0': the data '0' has an odd number "
        "of hex digits (2 per byte)\n",
    )


@pytest.mark.parametrize(
    ("args", "status"), [(["send", "vcan0", "12G#00"], 2), (["dump", "nope0"], 1)]
)
def test_the_script_reports_errors_without_a_traceback(args: list[str], status: int) -> None:
    done = ferrocan(*args)
    assert done.returncode == status
    assert done.stderr.startswith(f"ferrocan {args[0]}: ")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_every_command_has_help() -> None:
    for command in ("send", "dump", "gen", "record", "replay", "link"):
        status, out, _ = run_main(command, "--help")
        assert status == 0
        assert out.startswith(f"usage: ferrocan {command}")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_gen_draws_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a second, twice a second at most; erased before the summary."""
    clock = [100.0]
    terminal, out = Terminal(), io.StringIO()
    monkeypatch.setattr(gen.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", out)
    tally = gen.Tally()
    for now, sent in ((100.5, 10), (101.25, 10), (101.5, 10), (102.0, 10)):
        clock[0] = now
        tally.add(sent)
    tally.finish()
    assert terminal.getvalue() == (
        "\r20 frames in 1.25 s (16 frames/s)\x1b[K\r40 frames in 2.00 s (20 frames/s)\x1b[K\r\x1b[K"
    )
    assert out.getvalue() == "sent 40 frames in 2.00 s (20 frames/s)\n"
