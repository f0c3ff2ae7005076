"""ferrocan as a python-can interface (``can.Bus(interface='ferrocan')``), once
per backend, with real vcan traffic: python-can's back-to-back test pattern,
Notifier, Logger/LogReader, cantools, periodic sending and error translation."""

from __future__ import annotations

import asyncio
import errno
import inspect
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import can
import cantools
import ferrocan
import pytest
from ferrocan.pythoncan import FerrocanBus, FerrocanCyclicTask

from .support import bus_arguments

DBC = Path(__file__).parent / "data" / "engine.dbc"
#: python-can's major and minor version: tools/test-python-can runs these
#: tests on every minor the extras allow.
PYTHON_CAN = tuple(int(part) for part in can.__version__.split(".")[:2])
#: How long to wait for frames that must come.
TIMEOUT = 2.0

CanBusFactory = Callable[..., can.BusABC]


@pytest.fixture
def make_can_bus(backend: str) -> Iterator[CanBusFactory]:
    """Opens ``can.Bus(interface='ferrocan')`` on the backend under test,
    with the arguments python-can passes to every bus; shuts them down after."""
    buses: list[can.BusABC] = []
    options = bus_arguments(backend)

    def make(channel: str = "vcan0", **kwargs: Any) -> can.BusABC:
        bus = can.Bus(
            channel=channel,
            interface="ferrocan",
            bitrate=500_000,
            single_handle=True,
            **options,
            **kwargs,
        )
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.shutdown()


@pytest.fixture
def pair(make_can_bus: CanBusFactory) -> tuple[can.BusABC, can.BusABC]:
    """Two CAN FD buses on vcan0, as in python-can's back2back_test."""
    return make_can_bus(fd=True), make_can_bus(fd=True)


def assert_same_frame(received: can.Message | None, sent: can.Message) -> None:
    """python-can's back2back_test check."""
    assert received is not None, "no message was received"
    assert isinstance(received, can.Message)
    assert received.arbitration_id == sent.arbitration_id
    assert received.is_extended_id == sent.is_extended_id
    assert received.is_remote_frame == sent.is_remote_frame
    assert received.is_error_frame == sent.is_error_frame
    assert received.is_fd == sent.is_fd
    assert received.bitrate_switch == sent.bitrate_switch
    assert received.dlc == sent.dlc
    if not sent.is_remote_frame:
        assert received.data == sent.data


def receive_n(bus: can.BusABC, n: int, timeout: float = TIMEOUT) -> list[can.Message]:
    """The next ``n`` messages, or fewer once ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    got: list[can.Message] = []
    while len(got) < n and (remaining := deadline - time.monotonic()) > 0:
        msg = bus.recv(remaining)
        if msg is not None:
            got.append(msg)
    return got


# --- python-can's back-to-back pattern ----------------------------------------------------

BACK_TO_BACK = {
    "standard": can.Message(is_extended_id=False, arbitration_id=0x100, data=range(1, 9)),
    "extended": can.Message(arbitration_id=0x123456, data=range(10, 18)),
    "remote": can.Message(is_extended_id=False, arbitration_id=0x200, is_remote_frame=True, dlc=4),
    "dlc_less_than_eight": can.Message(is_extended_id=False, arbitration_id=0x300, data=[4, 5, 6]),
    "fd": can.Message(is_fd=True, arbitration_id=0x56789, data=[0xFF] * 64),
    "fd_with_brs": can.Message(
        is_fd=True, bitrate_switch=True, arbitration_id=0x98765, data=[0xFF] * 48
    ),
}


@pytest.mark.parametrize("kind", BACK_TO_BACK)
def test_back_to_back_frames_arrive_both_ways(
    pair: tuple[can.BusABC, can.BusABC], kind: str
) -> None:
    bus1, bus2 = pair
    msg = BACK_TO_BACK[kind]
    bus1.send(msg)
    assert_same_frame(bus2.recv(TIMEOUT), msg)
    reply = can.Message(
        arbitration_id=msg.arbitration_id + 1,
        is_extended_id=msg.is_extended_id,
        is_remote_frame=msg.is_remote_frame,
        is_fd=msg.is_fd,
        bitrate_switch=msg.bitrate_switch,
        dlc=msg.dlc,
        data=msg.data,
    )
    bus2.send(reply)
    assert_same_frame(bus1.recv(TIMEOUT), reply)


def test_no_message_means_none_on_time(pair: tuple[can.BusABC, can.BusABC]) -> None:
    start = time.monotonic()
    assert pair[0].recv(0.1) is None
    assert 0.1 <= time.monotonic() - start < 0.1 + 0.5


def test_shutdown_twice_is_harmless(pair: tuple[can.BusABC, can.BusABC]) -> None:
    pair[0].shutdown()
    pair[0].shutdown()


def test_timestamps_are_absolute_with_sub_second_resolution(
    pair: tuple[can.BusABC, can.BusABC],
) -> None:
    bus1, bus2 = pair
    bus2.send(can.Message())
    time.sleep(0.25)
    bus2.send(can.Message())
    first, second = receive_n(bus1, 2)
    assert first.timestamp == pytest.approx(time.time(), abs=1.0)
    assert second.timestamp - first.timestamp == pytest.approx(0.25, abs=0.1)
    assert first.timestamp % 1 + second.timestamp % 1 > 0


def test_each_bus_gets_its_own_message_instance(
    pair: tuple[can.BusABC, can.BusABC], make_can_bus: CanBusFactory
) -> None:
    bus1, bus2 = pair
    bus3 = make_can_bus(fd=True, receive_own_messages=True)
    bus3.send(can.Message(is_extended_id=False, arbitration_id=0x300, data=[2, 1, 3]))
    one, two, own = bus1.recv(TIMEOUT), bus2.recv(TIMEOUT), bus3.recv(TIMEOUT)
    assert one is not None and two is not None and own is not None
    assert_same_frame(one, two)
    assert_same_frame(two, own)
    one.data[0] = 4
    assert one.data != two.data
    assert two.data == own.data


def test_fileno_is_a_descriptor(pair: tuple[can.BusABC, can.BusABC]) -> None:
    assert pair[0].fileno() > 0


def test_broadcast_channel(make_can_bus: CanBusFactory) -> None:
    everywhere, regular = make_can_bus(""), make_can_bus("vcan0")
    everywhere.send(can.Message(channel="vcan0"))
    got = regular.recv(TIMEOUT)
    assert got is not None and got.channel == "vcan0"
    regular.send(can.Message())
    got = everywhere.recv(TIMEOUT)
    assert got is not None and got.channel == "vcan0"


# --- the bus's python-can surface --------------------------------------------------------


def test_the_plugin_is_registered_and_describes_itself(make_can_bus: CanBusFactory) -> None:
    bus = make_can_bus(fd=True)
    assert isinstance(bus, FerrocanBus)
    assert bus.channel_info.startswith("socketcan channel 'vcan0' (ferrocan ")
    assert bus.protocol is can.CanProtocol.CAN_FD
    assert make_can_bus().protocol is can.CanProtocol.CAN_20
    configs = can.detect_available_configs("ferrocan")
    assert {"interface": "ferrocan", "channel": "vcan0"} in configs
    assert {"interface": "ferrocan", "channel": "vcan1"} in configs


def test_state_is_python_cans_and_read_only(make_can_bus: CanBusFactory) -> None:
    bus = make_can_bus()
    assert bus.state is can.BusState.ACTIVE
    with pytest.raises(NotImplementedError):
        bus.state = can.BusState.PASSIVE


# error.h: the classes (can_id) and data[1]'s controller status
CAN_ERR_CRTL, CAN_ERR_BUSOFF, CAN_ERR_RESTARTED = 0x004, 0x040, 0x100
CAN_ERR_CRTL_TX_PASSIVE = 0x20


def test_state_follows_received_error_frames(make_can_bus: CanBusFactory) -> None:
    """Error frames injected on vcan0 (as a controller's driver sends them)
    move ``state`` through python-can's values: PASSIVE, ERROR (bus off), and
    ACTIVE again after a restart."""
    injector, bus = make_can_bus(), make_can_bus()
    assert bus.state is can.BusState.ACTIVE
    steps = [
        (CAN_ERR_CRTL, bytes([0, CAN_ERR_CRTL_TX_PASSIVE, 0, 0, 0, 0, 0, 0]), can.BusState.PASSIVE),
        (CAN_ERR_BUSOFF, bytes(8), can.BusState.ERROR),
        (CAN_ERR_RESTARTED, bytes(8), can.BusState.ACTIVE),
    ]
    for classes, data, expected in steps:
        injector.send(can.Message(is_error_frame=True, arbitration_id=classes, data=data))
        received = bus.recv(TIMEOUT)
        assert received is not None, f"error frame {classes:#x} did not arrive"
        assert received.is_error_frame and received.arbitration_id == classes
        assert bus.state is expected, f"after error frame {classes:#x}"


def test_filters_are_applied_in_the_kernel(make_can_bus: CanBusFactory) -> None:
    tx = make_can_bus()
    rx = make_can_bus(can_filters=[{"can_id": 0x100, "can_mask": 0x7F0, "extended": False}])
    for can_id in (0x200, 0x105, 0x10F):
        tx.send(can.Message(arbitration_id=can_id, is_extended_id=False))
    assert [m.arbitration_id for m in receive_n(rx, 3, timeout=0.3)] == [0x105, 0x10F]
    assert rx._recv_internal(0.0) == (None, True)
    rx.set_filters(None)
    tx.send(can.Message(arbitration_id=0x200, is_extended_id=False))
    msg, filtered = rx._recv_internal(TIMEOUT)
    assert msg is not None and msg.arbitration_id == 0x200
    assert filtered is True


def test_a_bus_opened_during_traffic_is_filtered_from_the_start(
    make_can_bus: CanBusFactory,
) -> None:
    task = make_can_bus().send_periodic(can.Message(arbitration_id=1), 0.001)
    for _ in range(20):
        rx = make_can_bus(can_filters=[{"can_id": 0x123, "can_mask": 0x7FF, "extended": False}])
        time.sleep(0.01)
        assert rx._recv_internal(0.0) == (None, True)
        rx.shutdown()
    task.stop()


def test_own_messages_and_loopback_options(make_can_bus: CanBusFactory) -> None:
    quiet = make_can_bus(local_loopback=False)
    echo = make_can_bus(receive_own_messages=True)
    rx = make_can_bus(ignore_rx_error_frames=True)
    quiet.send(can.Message(arbitration_id=1))
    echo.send(can.Message(arbitration_id=2))
    own = echo.recv(TIMEOUT)
    assert own is not None and own.arbitration_id == 2 and not own.is_rx
    assert [m.arbitration_id for m in receive_n(rx, 2, timeout=0.3)] == [2]


def test_a_misspelled_keyword_is_an_error(backend: str) -> None:
    with pytest.raises(TypeError, match="bitrat"):
        can.Bus(channel="vcan0", interface="ferrocan", bitrat=500_000)


def test_can_xl_is_refused_because_python_cans_message_cannot_hold_it(backend: str) -> None:
    with pytest.raises(ValueError, match=r"no CAN XL fields.*ferrocan\.Bus\('vcan0', xl=True\)"):
        can.Bus(channel="vcan0", interface="ferrocan", backend=backend.partition("-")[0], xl=True)


# --- errors ------------------------------------------------------------------------------


def test_a_missing_interface_raises_python_cans_initialization_error(backend: str) -> None:
    name = backend.partition("-")[0]
    with pytest.raises(ferrocan.CanInitializationError) as original:
        ferrocan.Bus("nosuchcan0", backend=name)
    with pytest.raises(can.CanInitializationError) as raised:
        can.Bus(channel="nosuchcan0", interface="ferrocan", backend=name)
    assert not isinstance(raised.value, ferrocan.CanError)
    assert raised.value.error_code == errno.ENODEV
    assert str(raised.value) == str(original.value)
    assert "ip link add dev nosuchcan0 type vcan" in str(raised.value)


def test_operation_errors_keep_message_and_code(make_can_bus: CanBusFactory) -> None:
    bus = make_can_bus()
    with pytest.raises(can.CanOperationError, match=r"open the bus with fd=True$"):
        bus.send(can.Message(is_fd=True, data=range(12)))
    bus.shutdown()
    with pytest.raises(can.CanOperationError, match="is shut down") as raised:
        bus.send(can.Message())
    assert not isinstance(raised.value, ferrocan.CanError)
    with pytest.raises(can.CanOperationError, match="is shut down"):
        bus.recv(0.0)
    with pytest.raises(can.CanOperationError, match="is shut down"):
        bus.fileno()


def test_a_full_queue_raises_python_cans_error_with_enobufs(
    make_can_bus: CanBusFactory, slow_vcan: Callable[..., str]
) -> None:
    bus = make_can_bus(slow_vcan(limit="1"))
    with pytest.raises(can.CanOperationError) as raised:
        bus.send(can.Message(arbitration_id=1), timeout=0.1)
    assert raised.value.error_code == errno.ENOBUFS
    assert str(raised.value) == (
        "transmit buffer full on 'vcanq': the frame was not taken within 0.1 s [Error Code 105]"
    )


# --- Notifier, Logger, cantools ----------------------------------------------------------


def test_notifier_feeds_a_buffered_reader(make_can_bus: CanBusFactory) -> None:
    tx, rx = make_can_bus(), make_can_bus()
    reader = can.BufferedReader()
    notifier = can.Notifier(rx, [reader], timeout=0.1)
    try:
        for i in range(20):
            tx.send(can.Message(arbitration_id=i, data=[i]))
        got = [reader.get_message(TIMEOUT) for _ in range(20)]
    finally:
        notifier.stop()
    assert [m.arbitration_id if m else None for m in got] == list(range(20))
    assert reader.get_message(0.0) is None


def test_an_asyncio_notifier_reads_through_fileno(make_can_bus: CanBusFactory) -> None:
    tx, rx = make_can_bus(), make_can_bus()

    def send_five() -> None:
        for i in range(5):
            tx.send(can.Message(arbitration_id=i))

    async def main() -> list[can.Message]:
        reader = can.AsyncBufferedReader()
        notifier = can.Notifier(rx, [reader], loop=asyncio.get_running_loop())
        try:
            assert notifier._readers == [rx.fileno()]  # no thread: the loop watches the fd
            threading.Timer(0.05, send_five).start()
            return [await asyncio.wait_for(reader.get_message(), TIMEOUT) for _ in range(5)]
        finally:
            notifier.stop()

    got = asyncio.run(main())
    assert [m.arbitration_id for m in got] == list(range(5))


LOGGED = [
    can.Message(arbitration_id=0x123, is_extended_id=False, data=[1, 2, 3]),
    can.Message(arbitration_id=0x1ABCDEF, data=range(8)),
    can.Message(arbitration_id=0x7FF, is_extended_id=False, is_remote_frame=True, dlc=4),
    can.Message(arbitration_id=0x456, is_fd=True, bitrate_switch=True, data=range(20)),
]


def frame_fields(msg: can.Message, with_remote_dlc: bool = True) -> tuple[Any, ...]:
    dlc = msg.dlc if with_remote_dlc or not msg.is_remote_frame else None
    return (
        msg.arbitration_id,
        msg.is_extended_id,
        msg.is_remote_frame,
        msg.is_fd,
        msg.bitrate_switch,
        dlc,
        bytes(msg.data),
    )


def absolute_times(messages: list[can.Message]) -> list[float]:
    return [m.timestamp for m in messages]


def relative_times(messages: list[can.Message]) -> list[float]:
    return [m.timestamp - messages[0].timestamp for m in messages]


@pytest.mark.parametrize("suffix", [".asc", ".blf", ".log"])
def test_logger_files_read_back_as_received(
    make_can_bus: CanBusFactory, tmp_path: Path, suffix: str
) -> None:
    tx, rx = make_can_bus(fd=True), make_can_bus(fd=True)
    path = tmp_path / f"frames{suffix}"
    received = []
    with can.Logger(path) as logger:
        for msg in LOGGED:
            tx.send(msg)
            got = rx.recv(TIMEOUT)
            assert got is not None
            logger(got)
            received.append(got)
    back = list(can.LogReader(path))
    # python-can's canutils format (.log) writes remote frames without their DLC.
    keep_dlc = suffix != ".log"
    assert [frame_fields(m, keep_dlc) for m in back] == [frame_fields(m, keep_dlc) for m in LOGGED]
    # .asc keeps times relative to the first frame, and so, in effect, does .blf
    # before python-can 4.6, which rounded the file's start time to the
    # millisecond; all keep microseconds at least.
    relative = suffix == ".asc" or (suffix == ".blf" and PYTHON_CAN < (4, 6))
    times = relative_times if relative else absolute_times
    assert times(back) == pytest.approx(times(received), abs=2e-6)


def test_cantools_decodes_a_received_frame(make_can_bus: CanBusFactory) -> None:
    db = cantools.database.load_file(DBC)
    assert isinstance(db, cantools.database.can.Database)
    tx, rx = make_can_bus(), make_can_bus()
    signals = {"EngineSpeed": 3000.5, "CoolantTemp": 90}
    frame = db.get_message_by_name("EngineData")
    data = frame.encode(signals)
    tx.send(can.Message(arbitration_id=frame.frame_id, is_extended_id=False, data=data))
    msg = rx.recv(TIMEOUT)
    assert msg is not None
    assert db.decode_message(msg.arbitration_id, bytes(msg.data)) == signals


# --- periodic sending --------------------------------------------------------------------


def test_send_periodic_sends_exactly_duration_over_period_frames(
    make_can_bus: CanBusFactory,
) -> None:
    tx, rx = make_can_bus(), make_can_bus()
    task = tx.send_periodic(can.Message(arbitration_id=0x42, data=[7]), 0.01, duration=0.1)
    assert isinstance(task, can.broadcastmanager.ModifiableCyclicTaskABC)
    assert isinstance(task, can.broadcastmanager.RestartableCyclicTaskABC)
    got = receive_n(rx, 11, timeout=0.5)
    assert [(m.arbitration_id, bytes(m.data)) for m in got] == [(0x42, b"\x07")] * 10


def test_a_periodic_task_modifies_stops_and_restarts(make_can_bus: CanBusFactory) -> None:
    tx, rx = make_can_bus(), make_can_bus()
    task = tx.send_periodic(can.Message(arbitration_id=0x42, data=[1]), 0.01)
    assert isinstance(task, FerrocanCyclicTask)
    assert receive_n(rx, 1)[0].data == b"\x01"
    task.modify_data(can.Message(arbitration_id=0x42, data=[2]))
    assert bytes(receive_n(rx, 5)[-1].data) == b"\x02"
    task.stop()
    assert tx._periodic_tasks == []  # stop() took it off the bus's list
    receive_n(rx, 100, timeout=0.05)  # what was on its way
    assert rx.recv(0.1) is None
    task.start()
    assert len(receive_n(rx, 3)) == 3
    tx.stop_all_periodic_tasks()


def test_autostart_false_waits_for_start(make_can_bus: CanBusFactory) -> None:
    """python-can takes autostart from 4.5 on; before, it refuses the keyword."""
    tx, rx = make_can_bus(), make_can_bus()
    if "autostart" not in inspect.signature(can.BusABC.send_periodic).parameters:
        with pytest.raises(TypeError, match="autostart"):
            tx.send_periodic(can.Message(arbitration_id=0x44), 0.01, autostart=False)
        assert rx.recv(0.1) is None
        return
    task = tx.send_periodic(can.Message(arbitration_id=0x44), 0.01, autostart=False)
    assert isinstance(task, FerrocanCyclicTask)
    assert rx.recv(0.1) is None
    task.start()
    assert len(receive_n(rx, 3)) == 3


def test_a_periodic_task_with_a_modifier_runs_in_a_thread(make_can_bus: CanBusFactory) -> None:
    tx, rx = make_can_bus(), make_can_bus()

    def count_up(msg: can.Message) -> None:
        msg.data[0] += 1

    with pytest.warns(UserWarning, match="falls back to a thread-based cyclic task"):
        task = tx.send_periodic(
            can.Message(arbitration_id=0x43, data=[0]), 0.01, modifier_callback=count_up
        )
    assert isinstance(task, can.broadcastmanager.ThreadBasedCyclicSendTask)
    first, second = receive_n(rx, 2)
    assert second.data[0] == first.data[0] + 1
    tx.shutdown()  # stops the thread
    assert task.thread is not None
    task.thread.join(TIMEOUT)
    assert not task.thread.is_alive()


def test_a_python_can_of_unknown_shape_is_refused_at_import() -> None:
    """python-can passes ``_send_periodic_internal``'s arguments by position,
    in an order that has changed (``autostart`` came in 4.5): the plugin
    refuses a python-can whose order it does not know, rather than guess."""
    code = (
        "import can\n"
        "def _send_periodic_internal(self, msgs, period, modifier_callback=None): ...\n"
        "can.BusABC._send_periodic_internal = _send_periodic_internal\n"
        "import ferrocan.pythoncan\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"ImportError: ferrocan's python-can plugin does not know python-can {can.__version__}: "
        "its BusABC._send_periodic_internal takes (msgs, period, modifier_callback)"
    )
