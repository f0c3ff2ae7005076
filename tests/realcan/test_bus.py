"""ferrocan buses on real controllers, on both backends: frames on the wire,
the driver's transmit queue, and error frames from the controller."""

from __future__ import annotations

import errno
import threading
import time

import ferrocan
import pytest
from ferrocan import BusState, CanOperationError, ErrorFrame, Message, link
from ferrocan.error_frame import ControllerStatus, ErrorClass

from ..support import BusFactory
from .support import frozen_tx, ip_details, wait_for

#: Bursts sent to overrun can1's receive FIFO before giving up (one does, mostly).
BURSTS = 10

FRAMES = [
    Message(arbitration_id=0x123, is_extended_id=False, data=b"\xde\xad\xbe\xef"),
    Message(arbitration_id=0x1FFFFFFF, is_extended_id=True, data=bytes(range(8))),
    # dlc 0: QEMU 7.2 stores a remote frame's DLC worth of data bytes in the
    # receive FIFO but releases only its header, and every later frame on
    # that controller then arrives one frame late, until the VM reboots.
    Message(arbitration_id=0x7FF, is_extended_id=False, is_remote_frame=True, dlc=0),
    Message(arbitration_id=0x0, is_extended_id=False, data=b""),
]


def test_frames_cross_from_can0_to_can1(controllers: tuple[str, str], make_bus: BusFactory) -> None:
    can0, can1 = controllers
    tx, rx = make_bus(can0), make_bus(can1)
    for sent in FRAMES:
        tx.send(sent, timeout=1.0)
        got = rx.recv(2.0)
        assert got is not None, f"{sent} did not reach {can1}"
        assert got.channel == can1 and got.is_rx and not got.is_error_frame
        assert (got.arbitration_id, got.is_extended_id, got.is_remote_frame, got.dlc) == (
            sent.arbitration_id,
            sent.is_extended_id,
            sent.is_remote_frame,
            sent.dlc,
        )
        assert bytes(got.data) == bytes(sent.data)


@pytest.mark.parametrize("queue_length", [10, 3])
def test_a_timed_send_meets_the_full_transmit_queue(
    controllers: tuple[str, str], make_bus: BusFactory, queue_length: int
) -> None:
    """One frame waits in the controller, ``txqueuelen`` more in the qdisc,
    then the kernel answers ENOBUFS: send(timeout) waits that long and says
    so. When the controller completes, the queue drains and nothing is lost."""
    can0, _ = controllers
    if queue_length != 10:
        link.set(can0, txqueuelen=queue_length)
    tx = make_bus(can0)
    sent_before = link.show(can0).statistics.tx_packets
    taken = 0
    with frozen_tx(can0):
        with pytest.raises(CanOperationError) as full:
            for taken in range(queue_length + 20):
                start = time.monotonic()
                tx.send(Message(arbitration_id=0x200, data=[taken]), timeout=0.2)
        waited = time.monotonic() - start
    assert full.value.error_code == errno.ENOBUFS
    assert str(full.value) == (
        f"transmit buffer full on '{can0}': the frame was not taken within 0.2 s [Error Code 105]"
    )
    assert 0.2 <= waited < 2.0
    # The controller's frame, the qdisc's, and one the qdisc holds out.
    assert queue_length <= taken <= queue_length + 2
    assert wait_for(lambda: link.show(can0).statistics.tx_packets - sent_before == taken)
    tx.send(Message(arbitration_id=0x201), timeout=0.2)


def test_an_untimed_send_waits_for_the_controller(
    controllers: tuple[str, str], make_bus: BusFactory
) -> None:
    can0, _ = controllers
    tx = make_bus(can0)
    finished = threading.Event()
    errors: list[BaseException] = []

    def send_past_a_full_queue() -> None:
        try:
            for i in range(20):
                tx.send(Message(arbitration_id=0x300, data=[i]))
        except BaseException as error:
            errors.append(error)
        finished.set()

    with frozen_tx(can0):
        sender = threading.Thread(target=send_past_a_full_queue)
        sender.start()
        assert not finished.wait(0.5), "20 sends went through a queue of 10 that never drained"
    try:
        assert finished.wait(5.0), "send() still blocked 5 s after the queue drained"
    finally:
        tx.shutdown()  # ends a send still blocked
        sender.join(5.0)
    assert errors == []


def test_a_receive_overrun_arrives_as_an_error_frame(
    controllers: tuple[str, str], make_bus: BusFactory
) -> None:
    """The emulation has no bus timing: a burst from can0 overruns can1's
    receive FIFO, and the SJA1000 driver reports it in an error frame, which
    the bus under test receives. The burst comes from the native backend
    whichever backend receives: one syscall per frame (ctypes) sends too
    slowly to overrun the FIFO reliably."""
    can0, can1 = controllers
    rx = make_bus(can1)
    errors_before = ip_details(can1)["stats64"]["rx"]["errors"]
    error_frames: list[Message] = []
    with ferrocan.Bus(can0, backend="native") as tx:
        for _ in range(BURSTS):
            tx.send_batch([Message(arbitration_id=0x400, data=bytes(8))] * 200, timeout=2.0)
            error_frames += [msg for msg in rx.recv_batch(1024, 0.5) if msg.is_error_frame]
            if error_frames:
                break
    assert error_frames, f"{BURSTS} bursts of 200 frames never overran can1"
    frame = ErrorFrame.decode(error_frames[0])
    assert ErrorClass.CONTROLLER in frame.error_class
    assert frame.controller is not None and ControllerStatus.RX_OVERFLOW in frame.controller
    assert error_frames[0].channel == can1
    assert rx.state is BusState.ACTIVE, "an overrun is no change of state"
    assert ip_details(can1)["stats64"]["rx"]["errors"] > errors_before
