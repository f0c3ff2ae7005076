"""Recording a flooded bus: ferrocan.Recorder, ``ferrocan record`` and
``ferrocan dump`` on both backends, checked frame by frame against what was
sent, through python-can's LogReader (an independent reader of both
formats) and through ``ferrocan replay``."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import can
import pytest
from ferrocan import Bus, Message, Recorder
from ferrocan.candump_log import read_log
from ferrocan.cansend import format_frame
from ferrocan.exceptions import CanInitializationError, CanInterfaceNotImplementedError

from .support import (
    REFUSED_XL,
    at_xl_mtu,
    frame_fields,
    has_vcid,
    roomy_backlog,
    xl_frame_fields,
)

ROOT = Path(__file__).resolve().parent.parent
FERROCAN = Path(sys.executable).with_name("ferrocan")
#: Frames per flood: more than the default receive buffer holds (a few
#: hundred), fewer than the Recorder's 8 MiB one does, so a recorder that
#: stalls loses frames and one that keeps up loses none.
FLOOD = 5000
#: Each format, and the file suffix that chooses it.
FORMATS = ["log", "asc", "blf"]


@pytest.fixture(autouse=True)
def room_for_floods() -> Iterator[None]:
    """These floods test the recorder, not the input backlog, which two
    flooding threads on one CPU can overflow: it gets room for them."""
    with roomy_backlog(4 * FLOOD):
        yield


@pytest.fixture(params=["native", "ctypes"])
def backend(request: pytest.FixtureRequest) -> str:
    """The Recorder of each backend (ctypes: on a Python thread)."""
    return str(request.param)


def flood_messages(count: int, channel: str = "vcan0", first: int = 0) -> list[Message]:
    """Every kind of frame a log must keep: standard, extended, remote, CAN
    FD with and without BRS/ESI, with data that numbers the frame from ``first``."""
    messages = []
    for n in range(first, first + count):
        data = n.to_bytes(4, "big")
        kind = n % 5
        if kind == 0:
            msg = Message(arbitration_id=n % 0x800, is_extended_id=False, data=data)
        elif kind == 1:
            msg = Message(arbitration_id=0x1000000 + n, data=data + b"\x00\x11\x22\x33")
        elif kind == 2:
            msg = Message(
                arbitration_id=n % 0x800, is_extended_id=False, is_remote_frame=True, dlc=3
            )
        elif kind == 3:
            msg = Message(arbitration_id=0x123, is_extended_id=False, is_fd=True, data=data * 3)
        else:
            msg = Message(
                arbitration_id=0x1ABCDEF,
                is_fd=True,
                bitrate_switch=True,
                error_state_indicator=True,
                data=data * 16,
            )
        msg.channel = channel
        messages.append(msg)
    return messages


def read_back(path: Path) -> list[can.Message]:
    """The file's frames as python-can reads them."""
    with can.LogReader(path) as reader:
        return list(reader)


def flood(channel: str, messages: Sequence[Message]) -> None:
    with Bus(channel, fd=True) as bus:
        assert bus.send_batch(messages, timeout=30) == len(messages)


def wait_written(recorder: Recorder, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while recorder.frames_written + recorder.frames_dropped < count:
        assert time.monotonic() < deadline, (recorder.frames_written, recorder.frames_dropped)
        time.sleep(0.05)


@pytest.mark.usefixtures("mtu72")
@pytest.mark.parametrize("format", FORMATS)
def test_a_flood_is_recorded_whole_and_python_can_reads_it_back(
    backend: str, format: str, tmp_path: Path
) -> None:
    path = tmp_path / f"flood.{format}"
    sent = flood_messages(FLOOD)
    with Recorder(path, "vcan0", backend=backend) as recorder:
        flood("vcan0", sent)
        wait_written(recorder, FLOOD)
    assert (recorder.frames_written, recorder.frames_dropped) == (FLOOD, 0)
    logged = read_back(path)
    assert [frame_fields(msg) for msg in logged] == [frame_fields(msg) for msg in sent]
    assert {msg.channel for msg in logged} == {"vcan0" if format == "log" else 0}
    stamps = [msg.timestamp for msg in logged]
    assert stamps == sorted(stamps)


@pytest.mark.usefixtures("mtu72")
@pytest.mark.parametrize("format", FORMATS)
def test_any_records_two_flooded_interfaces_in_order(
    backend: str, format: str, tmp_path: Path
) -> None:
    path = tmp_path / f"two.{format}"
    sent = {
        name: flood_messages(FLOOD // 2, name, n * FLOOD)
        for n, name in enumerate(["vcan0", "vcan1"])
    }
    with Recorder(path, "any", backend=backend) as recorder:
        with ThreadPoolExecutor(2) as senders:
            for sending in [senders.submit(flood, *item) for item in sent.items()]:
                sending.result(60)
        wait_written(recorder, FLOOD)
    assert (recorder.frames_written, recorder.frames_dropped) == (FLOOD, 0)
    names = channel_names(path) if format == "asc" else {}
    logged: dict[object, list[tuple[object, ...]]] = {}
    for msg in read_back(path):
        logged.setdefault(names.get(msg.channel, msg.channel), []).append(frame_fields(msg))
    expected = {name: [frame_fields(msg) for msg in messages] for name, messages in sent.items()}
    if format == "blf":  # BLF numbers channels and does not name them
        assert sorted(logged.values()) == sorted(expected.values())
    else:
        assert logged == expected


def channel_names(asc: Path) -> dict[int, str]:
    """python-can's channel numbers in a ferrocan ASC file, and their interfaces."""
    names = {}
    for line in asc.read_text().splitlines():
        if line.startswith("// channel "):
            number, name = line.removeprefix("// channel ").split(": ")
            names[int(number) - 1] = name
    return names


@pytest.mark.usefixtures("mtu72")
@pytest.mark.parametrize("format", FORMATS)
def test_replay_sends_a_recorded_flood_again_frame_by_frame(format: str, tmp_path: Path) -> None:
    path = tmp_path / f"flood.{format}"
    sent = flood_messages(FLOOD)
    with Recorder(path, "vcan0") as recorder:
        flood("vcan0", sent)
        wait_written(recorder, FLOOD)
    with Recorder(tmp_path / "again.log", "vcan1") as again:
        done = subprocess.run(
            [str(FERROCAN), "replay", str(path), "-x", "-I", "vcan1"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, "")
        wait_written(again, FLOOD)
    with (tmp_path / "again.log").open() as file:
        replayed = [entry.message for entry in read_log(file)]
    assert [frame_fields(msg) for msg in replayed] == [frame_fields(msg) for msg in sent]


def error_frame(classes: int, data: bytes) -> Message:
    return Message(arbitration_id=classes, is_extended_id=False, is_error_frame=True, data=data)


def test_error_frames_of_the_classes_asked_for_are_recorded(backend: str, tmp_path: Path) -> None:
    """python-can's reader knows only bus errors (class 0x080), and not their
    details; ferrocan's own reader, checked against candump elsewhere, has them all."""
    path = tmp_path / "errors.log"
    bus_error = error_frame(0x080, bytes([0, 0, 0x08, 0, 0, 0, 0, 0]))
    controller = error_frame(0x004, bytes([0, 8, 0, 0, 0, 0, 0, 0]))
    data = Message(arbitration_id=0x123, is_extended_id=False, data=b"\x01")
    with Recorder(path, "vcan0,#080", backend=backend) as recorder:
        flood("vcan0", [controller, bus_error, data])
        wait_written(recorder, 2)
    with path.open() as file:
        assert [frame_fields(entry.message) for entry in read_log(file)] == [
            frame_fields(bus_error),
            frame_fields(data),
        ]
    error, logged = read_back(path)
    assert error.is_error_frame
    assert frame_fields(logged) == frame_fields(data)


# ---------------------------------------------------------------- ending


@contextmanager
def recording_process(*args: str, backend: str | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``ferrocan ARGS...``, on ``backend`` if given, else the default one."""
    env = None if backend is None else {**os.environ, "FERROCAN_BACKEND": backend}
    proc = subprocess.Popen(
        [str(FERROCAN), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


def first_line(proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    """The first line a recording command prints on stderr, the receive
    buffer's size, which it prints once it records."""
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], timeout)
    assert ready, f"no line on stderr within {timeout} s"
    return proc.stderr.readline().decode().rstrip("\n")


def endless_flood(channel: str, stop: threading.Event) -> None:
    """Frames as fast as the kernel takes them, until ``stop``."""
    batch = flood_messages(500, channel)
    with Bus(channel, fd=True) as bus:
        while not stop.is_set():
            bus.send_batch(batch, timeout=1)


@contextmanager
def flooding(channel: str) -> Iterator[None]:
    stop = threading.Event()
    sender = threading.Thread(target=endless_flood, args=(channel, stop))
    sender.start()
    try:
        yield
    finally:
        stop.set()
        sender.join(30)


def wait_for_size(path: Path, size: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.stat().st_size < size:
        assert time.monotonic() < deadline, f"{path} did not reach {size} bytes"
        time.sleep(0.05)


@pytest.mark.usefixtures("mtu72")
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("recorder_backend", ["native", "ctypes"])
def test_a_signal_in_a_flood_leaves_a_whole_file(
    sig: signal.Signals, status: int, format: str, recorder_backend: str, tmp_path: Path
) -> None:
    """The signal's handler raises in the main thread's wait for the
    recording; the recording must still end whole (on ctypes, the thread
    that writes it must be waited for to the end)."""
    path = tmp_path / f"stopped.{format}"
    command = ("record", str(path), "-i", "vcan0")
    with flooding("vcan0"), recording_process(*command, backend=recorder_backend) as proc:
        first_line(proc)
        wait_for_size(path, 20_000)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    logged = read_back(path)
    assert len(logged) > 100
    text = path.read_text(errors="replace")
    assert format == "blf" or text.endswith("\n")
    if format == "asc":
        assert text.endswith("End TriggerBlock\n")
    elif format == "blf":
        assert can.BLFReader(path).object_count == len(logged)
    else:
        assert len(logged) == text.count("\n")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a disk that fills for real, after several writes."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.filterwarnings("ignore:the kernel dropped")  # the flood outlasts the recording
def test_a_full_disk_stops_the_recording_with_a_clear_error(backend: str, small_disk: Path) -> None:
    path = small_disk / "full.log"
    recorder = Recorder(path, "vcan0", backend=backend).start()
    with flooding("vcan0"), pytest.raises(OSError) as raised:
        deadline = time.monotonic() + 60
        while not recorder.wait(0.1):
            assert time.monotonic() < deadline
    error = raised.value
    assert error.errno == 28
    assert error.filename == str(path)
    unwritten = re.search(
        r"No space left on device; the recording stopped, and (\d+) frames? received before "
        r"could not be written",
        str(error),
    )
    assert unwritten and int(unwritten[1]) >= 1, str(error)
    text = path.read_text()
    assert text.endswith("\n")
    assert len(text) > 500_000
    assert recorder.frames_written == text.count("\n") == len(read_back(path))
    assert not recorder.running
    recorder.stop()  # the error was raised once; stop() after it is quiet


def test_the_command_line_says_the_disk_is_full(small_disk: Path) -> None:
    path = small_disk / "full.log"
    with flooding("vcan0"), recording_process("record", str(path), "-i", "vcan0") as proc:
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = err.decode().splitlines()
    assert lines[-1].startswith(f"ferrocan record: {path}: No space left on device; ")
    assert path.read_text().endswith("\n")


def test_a_read_only_path_is_a_clear_error(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mount)], check=True)
    try:
        with pytest.raises(OSError, match="Read-only file system"):
            Recorder(mount / "x.log", "vcan0").start()
        done = subprocess.run(
            [str(FERROCAN), "record", str(mount / "x.asc"), "-i", "vcan0"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    assert (done.returncode, done.stderr) == (
        1,
        f"ferrocan record: {mount / 'x.asc'}: Read-only file system\n",
    )


# ---------------------------------------------------------------- the API


def test_count_and_idle_timeout_end_the_recording(backend: str, tmp_path: Path) -> None:
    with Recorder(tmp_path / "n.log", "vcan0", count=3, backend=backend) as recorder:
        flood("vcan0", flood_messages(10))
        assert recorder.wait(10)
    assert recorder.frames_written == 3
    started = time.monotonic()
    with Recorder(tmp_path / "idle.log", "vcan0", idle_timeout=0.3, backend=backend) as idle:
        assert idle.wait(10)
    assert 0.25 < time.monotonic() - started < 5
    assert idle.frames_written == 0


def test_a_filtered_recording_started_during_traffic_holds_only_matching_frames(
    backend: str, tmp_path: Path
) -> None:
    with Bus("vcan0") as tx:
        task = tx.send_periodic(Message(arbitration_id=1), 0.001)
        for n in range(10):
            path = tmp_path / f"filtered{n}.log"
            with Recorder(path, "vcan0,123:7FF", backend=backend) as recorder:
                time.sleep(0.01)
                tx.send(Message(arbitration_id=0x123, is_extended_id=False))
                wait_written(recorder, 1, timeout=5)
            assert [m.arbitration_id for m in read_back(path)] == [0x123]
        task.stop()


def test_stop_returns_promptly_on_a_quiet_bus(backend: str, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "quiet.asc", "vcan0", backend=backend).start()
    assert not recorder.wait(0.2)
    started = time.monotonic()
    recorder.stop()
    assert time.monotonic() - started < 2
    assert (tmp_path / "quiet.asc").read_text().endswith("End TriggerBlock\n")


def test_a_quiet_bus_frame_reaches_the_file_at_once(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "live.log"
    with Recorder(path, "vcan0", backend=backend):
        flood("vcan0", flood_messages(1))
        wait_for_size(path, 10, timeout=5)


def xl_messages(vcid: int) -> list[Message]:
    """A CAN XL frame with every header field set, a 100-byte one that the
    screen format crops, and a classic frame."""
    header = {"sdu_type": 0x12, "acceptance_field": 0xDEADBEEF, "vcid": vcid}
    return [
        Message(is_xl=True, arbitration_id=0x123, data=bytes(range(7)), **header),
        Message(is_xl=True, arbitration_id=0x7FF, simple_extended_content=True, data=bytes(100)),
        Message(arbitration_id=0x321, is_extended_id=False, data=b"\x01"),
    ]


@pytest.mark.parametrize("format", ["log", "candump", "asc"])
def test_can_xl_frames_are_recorded_where_the_format_holds_them(
    backend: str, format: str, tmp_path: Path
) -> None:
    """candump's formats keep CAN XL frames, as candump prints them (the
    screen form crops the data at 64 bytes, as can-utils does); ASC, which
    has no CAN XL, keeps the classic frame alone."""
    path = tmp_path / "xl.out"
    with at_xl_mtu("vcan1") as has_xl:
        sent = xl_messages(0x45 if has_vcid() else 0)
        with Recorder(path, "vcan1", format=format, backend=backend) as recorder:
            if has_xl:
                with Bus("vcan1", xl=True) as bus:
                    bus.send_batch(sent)
            else:
                with Bus("vcan1") as bus:
                    bus.send(sent[2])
            wait_written(recorder, 3 if has_xl and format != "asc" else 1, timeout=10)
    text = path.read_text()
    recorded = sent if has_xl else sent[2:]
    if format == "asc":
        frames = [line.split() for line in text.splitlines() if re.search(r" [RT]x ", line)]
        assert [line[2] for line in frames] == ["321"], text
    elif format == "log":
        got = [entry.message for entry in read_log(text.splitlines())]
        assert [xl_frame_fields(m) for m in got] == [xl_frame_fields(m) for m in recorded]
    else:
        vcid = f"{sent[0].vcid:02X}"
        lines = [
            f"  vcan1  123 [0007] ({vcid}|80:12:DEADBEEF) 00 01 02 03 04 05 06",
            "  vcan1  7FF [0100] (00|81:00:00000000) " + " ".join(["00"] * 64) + " ...",
            "  vcan1  321   [1]  01",
        ]
        assert text.splitlines() == lines[-len(recorded) :]


def test_replay_sends_can_xl_frames_again(tmp_path: Path) -> None:
    """A candump log with CAN XL frames replays onto a bus it opens with
    xl=True; a kernel without CAN XL refuses it clearly."""
    path = tmp_path / "xl.log"
    sent = xl_messages(0x45 if has_vcid() else 0)
    path.write_text("".join(f"(1.000000) vcan1 {format_frame(msg)}\n" for msg in sent))
    with at_xl_mtu("vcan1") as has_xl, Bus("vcan1", xl=has_xl) as bus:
        done = subprocess.run(
            [str(FERROCAN), "replay", "-x", str(path)], capture_output=True, text=True, timeout=60
        )
        if not has_xl:
            assert done.returncode == 1 and REFUSED_XL in done.stderr
            return
        assert (done.returncode, done.stderr) == (0, "")
        got = [bus.recv(2.0) for _ in sent]
    assert [xl_frame_fields(m) for m in got] == [xl_frame_fields(m) for m in sent]


def test_drops_are_counted_and_warned_about(backend: str, tmp_path: Path) -> None:
    """A receive buffer of one byte (the kernel's minimum) overflows at once."""
    recorder = Recorder(tmp_path / "drops.log", "vcan0", receive_buffer_size=1, backend=backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with recorder:
            flood("vcan0", flood_messages(FLOOD))
            wait_written(recorder, FLOOD)
    assert recorder.frames_dropped > 0
    assert recorder.frames_written + recorder.frames_dropped == FLOOD
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == [
        f"the kernel dropped {recorder.frames_dropped} CAN frame(s) while recording to "
        f"{str(tmp_path / 'drops.log')!r}: the receive buffer overflowed; give a larger "
        "receive_buffer_size (more than net.core.rmem_max needs CAP_NET_ADMIN)"
    ]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (("x.txt",), {}, ValueError, "cannot tell the format of 'x.txt' from its suffix"),
        ((1,), {"format": "blf"}, ValueError, "BLF needs a file that ferrocan opens"),
        (("x.log",), {"format": "csv"}, ValueError, "format must be one of 'log', 'asc'"),
        (("x.log", []), {}, ValueError, "channels names no interface"),
        (("x.log", "vcan0,12:"), {}, ValueError, "malformed filter '12:'"),
        (("x.log", [0]), {}, TypeError, "an interface must be a str"),
        (("x.log",), {"count": 0}, ValueError, "count must be at least 1, got 0"),
        (("x.log",), {"count": 1.5}, TypeError, "count must be None or an int, got float"),
        (("x.log",), {"idle_timeout": 0}, ValueError, "idle_timeout must be None or a number"),
        (("x.log",), {"idle_timeout": "1"}, TypeError, "idle_timeout must be None or a number"),
        (
            ("x.log",),
            {"backend": "native-direct"},
            CanInterfaceNotImplementedError,
            "backend 'native-direct' does not exist; use 'native' or 'ctypes'",
        ),
    ],
)
def test_bad_arguments_are_clear_errors(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
        Recorder(*args, **kwargs)  # type: ignore[arg-type]


def test_a_missing_interface_fails_start(backend: str, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "x.log", ["vcan0", "nope0"], backend=backend)
    with pytest.raises(CanInitializationError, match="'nope0' does not exist"):
        recorder.start()
    assert not recorder.running


def test_a_recorder_records_once(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "x.log", "vcan0")
    with pytest.raises(RuntimeError, match="has not started"):
        recorder.wait(0)
    with recorder:
        pass
    with pytest.raises(RuntimeError, match="records once"):
        recorder.start()


def test_the_receive_buffer_is_enlarged_and_said_once(tmp_path: Path) -> None:
    with recorder_output("record", str(tmp_path / "x.log"), "-i", "vcan0") as err:
        pass
    assert err == ["ferrocan record: each socket's receive buffer is 8 MiB"]


def test_unprivileged_recording_says_the_buffer_is_capped(tmp_path: Path) -> None:
    """As nobody: rmem_max caps the buffer, the tool says so, and records."""
    script = (
        "import json, subprocess\n"
        f"command = [{str(FERROCAN)!r}, 'record', '/tmp/x.log', '-i', 'vcan0', '-n', '3']\n"
        "proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)\n"
        "first = proc.stderr.readline()  # the receive buffer: it records\n"
        "for n in range(3): subprocess.run(['cansend', 'vcan0', f'12{n}#00'], check=True)\n"
        "_, err = proc.communicate(timeout=30)\n"
        "lines = open('/tmp/x.log').read().count('vcan0')\n"
        "print(json.dumps([proc.returncode, first + err, lines]))\n"
    )
    done = subprocess.run(
        [str(ROOT / "tools" / "unprivileged"), sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    status, err, lines = json.loads(done.stdout)
    assert (status, lines) == (0, 3), done.stdout
    assert "receive buffer is " in err and ", not 8 MiB: net.core.rmem_max caps it" in err


@contextmanager
def recorder_output(*args: str) -> Iterator[list[str]]:
    """Runs a recording command, ends it with SIGTERM, and gives its stderr lines."""
    with recording_process(*args) as proc:
        lines = [first_line(proc)]
        yield lines
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    lines += err.decode().splitlines()
