"""Error frames: decoding (linux/can/error.h), their text, the bus state they
imply, and their delivery by the kernel on vcan, once per backend.

The expected values are written out from error.h rather than taken from
ferrocan's enums, so a wrong constant fails here."""

from __future__ import annotations

import copy
import dataclasses
import errno
import pickle
from enum import IntFlag
from typing import Any

import can
import pytest
from can.interfaces.socketcan.utils import error_code_to_str as python_can_error_code_to_str
from ferrocan import BusState, ErrorFrame, Message, error_class_to_str, error_code_to_str
from ferrocan.error_frame import (
    ControllerStatus,
    ErrorClass,
    ProtocolLocation,
    ProtocolViolation,
    WireStatus,
    next_state,
)

from .support import BusFactory

# error.h's error classes (can_id bits)
CAN_ERR_TX_TIMEOUT = 0x001
CAN_ERR_LOSTARB = 0x002
CAN_ERR_CRTL = 0x004
CAN_ERR_PROT = 0x008
CAN_ERR_TRX = 0x010
CAN_ERR_ACK = 0x020
CAN_ERR_BUSOFF = 0x040
CAN_ERR_BUSERROR = 0x080
CAN_ERR_RESTARTED = 0x100
CAN_ERR_CNT = 0x200

#: Every field that holds a class's details: None when the class is absent.
DETAILS = (
    "lost_arbitration_bit",
    "controller",
    "protocol",
    "protocol_location",
    "transceiver_canh",
    "transceiver_canl",
    "tx_error_counter",
    "rx_error_counter",
)


def error_message(classes: int, data: bytes = bytes(8), *, extended: bool = False) -> Message:
    return Message(is_error_frame=True, arbitration_id=classes, is_extended_id=extended, data=data)


def decode(classes: int, data: bytes = bytes(8)) -> ErrorFrame:
    return ErrorFrame.decode(error_message(classes, data))


def with_byte(index: int, value: int) -> bytes:
    data = bytearray(8)
    data[index] = value
    return bytes(data)


# ---------------------------------------------------------------- decoding

CLASS_PROPERTIES = [
    (CAN_ERR_TX_TIMEOUT, "tx_timeout"),
    (CAN_ERR_ACK, "no_ack"),
    (CAN_ERR_BUSOFF, "bus_off"),
    (CAN_ERR_BUSERROR, "bus_error"),
    (CAN_ERR_RESTARTED, "restarted"),
]


@pytest.mark.parametrize(
    ("classes", "prop"), CLASS_PROPERTIES, ids=[p for _, p in CLASS_PROPERTIES]
)
def test_classes_without_data(classes: int, prop: str) -> None:
    # All data bytes set: a class without details must not read any of them.
    frame = decode(classes, b"\xff" * 8)
    assert frame.error_class == classes
    assert [p for _, p in CLASS_PROPERTIES if getattr(frame, p)] == [prop]
    assert {name: getattr(frame, name) for name in DETAILS} == dict.fromkeys(DETAILS)


@pytest.mark.parametrize("bit", [0, 1, 17, 255])
def test_lost_arbitration_bit(bit: int) -> None:
    frame = decode(CAN_ERR_LOSTARB, with_byte(0, bit))
    assert frame.error_class == ErrorClass.LOST_ARBITRATION
    assert frame.lost_arbitration_bit == bit  # 0 is CAN_ERR_LOSTARB_UNSPEC


CONTROLLER_FLAGS = [
    (0x01, ControllerStatus.RX_OVERFLOW),
    (0x02, ControllerStatus.TX_OVERFLOW),
    (0x04, ControllerStatus.RX_WARNING),
    (0x08, ControllerStatus.TX_WARNING),
    (0x10, ControllerStatus.RX_PASSIVE),
    (0x20, ControllerStatus.TX_PASSIVE),
    (0x40, ControllerStatus.ACTIVE),
]


@pytest.mark.parametrize(
    ("value", "flag"), CONTROLLER_FLAGS, ids=lambda v: v.name if isinstance(v, IntFlag) else hex(v)
)
def test_controller_flags(value: int, flag: ControllerStatus) -> None:
    frame = decode(CAN_ERR_CRTL, with_byte(1, value))
    assert frame.error_class == ErrorClass.CONTROLLER
    assert frame.controller is flag


def test_controller_flags_combine_and_zero_is_unspecified() -> None:
    assert decode(CAN_ERR_CRTL, with_byte(1, 0x24)).controller == (
        ControllerStatus.RX_WARNING | ControllerStatus.TX_PASSIVE
    )
    assert decode(CAN_ERR_CRTL).controller == ControllerStatus(0)


PROTOCOL_FLAGS = [
    (0x01, ProtocolViolation.BIT),
    (0x02, ProtocolViolation.FORM),
    (0x04, ProtocolViolation.STUFF),
    (0x08, ProtocolViolation.BIT0),
    (0x10, ProtocolViolation.BIT1),
    (0x20, ProtocolViolation.OVERLOAD),
    (0x40, ProtocolViolation.ACTIVE),
    (0x80, ProtocolViolation.TX),
]


@pytest.mark.parametrize(
    ("value", "flag"), PROTOCOL_FLAGS, ids=lambda v: v.name if isinstance(v, IntFlag) else hex(v)
)
def test_protocol_violation_types(value: int, flag: ProtocolViolation) -> None:
    frame = decode(CAN_ERR_PROT, with_byte(2, value))
    assert frame.protocol is flag
    assert frame.protocol_location is ProtocolLocation.UNSPEC


PROTOCOL_LOCATIONS = [
    (0x00, "UNSPEC"),
    (0x03, "SOF"),
    (0x02, "ID28_21"),
    (0x06, "ID20_18"),
    (0x04, "SRTR"),
    (0x05, "IDE"),
    (0x07, "ID17_13"),
    (0x0F, "ID12_05"),
    (0x0E, "ID04_00"),
    (0x0C, "RTR"),
    (0x0D, "RES1"),
    (0x09, "RES0"),
    (0x0B, "DLC"),
    (0x0A, "DATA"),
    (0x08, "CRC_SEQ"),
    (0x18, "CRC_DEL"),
    (0x19, "ACK"),
    (0x1B, "ACK_DEL"),
    (0x1A, "EOF"),
    (0x12, "INTERM"),
]


@pytest.mark.parametrize(
    ("value", "name"), PROTOCOL_LOCATIONS, ids=[n for _, n in PROTOCOL_LOCATIONS]
)
def test_protocol_locations(value: int, name: str) -> None:
    """Every CAN_ERR_PROT_LOC_* of error.h, by its C name."""
    frame = decode(CAN_ERR_PROT, with_byte(3, value))
    assert frame.protocol_location is ProtocolLocation[name]
    assert frame.protocol == ProtocolViolation(0)


def test_every_location_is_tested() -> None:
    assert {name for _, name in PROTOCOL_LOCATIONS} == set(ProtocolLocation.__members__)


TRANSCEIVER = [
    ("CAN_ERR_TRX_UNSPEC", 0x00, WireStatus.UNSPEC, WireStatus.UNSPEC),
    ("CAN_ERR_TRX_CANH_NO_WIRE", 0x04, WireStatus.NO_WIRE, WireStatus.UNSPEC),
    ("CAN_ERR_TRX_CANH_SHORT_TO_BAT", 0x05, WireStatus.SHORT_TO_BAT, WireStatus.UNSPEC),
    ("CAN_ERR_TRX_CANH_SHORT_TO_VCC", 0x06, WireStatus.SHORT_TO_VCC, WireStatus.UNSPEC),
    ("CAN_ERR_TRX_CANH_SHORT_TO_GND", 0x07, WireStatus.SHORT_TO_GND, WireStatus.UNSPEC),
    ("CAN_ERR_TRX_CANL_NO_WIRE", 0x40, WireStatus.UNSPEC, WireStatus.NO_WIRE),
    ("CAN_ERR_TRX_CANL_SHORT_TO_BAT", 0x50, WireStatus.UNSPEC, WireStatus.SHORT_TO_BAT),
    ("CAN_ERR_TRX_CANL_SHORT_TO_VCC", 0x60, WireStatus.UNSPEC, WireStatus.SHORT_TO_VCC),
    ("CAN_ERR_TRX_CANL_SHORT_TO_GND", 0x70, WireStatus.UNSPEC, WireStatus.SHORT_TO_GND),
    ("CAN_ERR_TRX_CANL_SHORT_TO_CANH", 0x80, WireStatus.UNSPEC, WireStatus.SHORT_TO_CANH),
    ("both wires", 0x47, WireStatus.SHORT_TO_GND, WireStatus.NO_WIRE),
]


@pytest.mark.parametrize(
    ("name", "value", "canh", "canl"), TRANSCEIVER, ids=[t[0] for t in TRANSCEIVER]
)
def test_transceiver_status(name: str, value: int, canh: WireStatus, canl: WireStatus) -> None:
    frame = decode(CAN_ERR_TRX, with_byte(4, value))
    assert (frame.transceiver_canh, frame.transceiver_canl) == (canh, canl)


@pytest.mark.parametrize(("tx", "rx"), [(0, 0), (130, 7), (255, 128)])
def test_error_counters(tx: int, rx: int) -> None:
    frame = decode(CAN_ERR_CNT, bytes([0, 0, 0, 0, 0, 0xAA, tx, rx]))
    assert (frame.tx_error_counter, frame.rx_error_counter) == (tx, rx)


CONTROLLER_AND_COUNTERS = ("controller", "tx_error_counter", "rx_error_counter")


def test_details_are_read_only_for_their_classes() -> None:
    frame = decode(CAN_ERR_CRTL | CAN_ERR_CNT, bytes([9, 0x20, 0x04, 0x08, 0x44, 0, 130, 3]))
    assert frame.error_class == ErrorClass.CONTROLLER | ErrorClass.ERROR_COUNTERS
    assert frame.controller is ControllerStatus.TX_PASSIVE
    assert (frame.tx_error_counter, frame.rx_error_counter) == (130, 3)
    absent = [name for name in DETAILS if name not in CONTROLLER_AND_COUNTERS]
    assert {name: getattr(frame, name) for name in absent} == dict.fromkeys(absent)


def test_raw_class_bits_and_data_are_kept() -> None:
    data = bytes([1, 2, 3, 4, 5, 6, 7, 8])
    frame = decode(0x3FF | 0x400, data)
    assert frame.error_class == 0x7FF
    assert frame.data == data
    assert isinstance(frame.data, bytes)


def test_values_error_h_does_not_name_are_kept() -> None:
    frame = decode(CAN_ERR_PROT | CAN_ERR_TRX, bytes([0, 0, 0, 0x01, 0x31, 0, 0, 0]))
    assert frame.protocol_location == 0x01
    assert frame.protocol_location.name == "UNKNOWN_0x01"
    assert (frame.transceiver_canh, frame.transceiver_canl) == (0x1, 0x3)


def test_short_data_reads_as_unspecified() -> None:
    frame = decode(CAN_ERR_CRTL | CAN_ERR_PROT | CAN_ERR_CNT, b"\x00\x10")
    assert frame.controller is ControllerStatus.RX_PASSIVE
    assert frame.protocol == ProtocolViolation(0)
    assert frame.protocol_location is ProtocolLocation.UNSPEC
    assert (frame.tx_error_counter, frame.rx_error_counter) == (0, 0)
    assert frame.data == b"\x00\x10"


def test_decode_reads_python_can_messages() -> None:
    msg = can.Message(
        is_error_frame=True, arbitration_id=CAN_ERR_CRTL | CAN_ERR_CNT, data=with_byte(1, 0x08)
    )
    frame = ErrorFrame.decode(msg)
    assert frame.controller is ControllerStatus.TX_WARNING
    assert frame == decode(CAN_ERR_CRTL | CAN_ERR_CNT, with_byte(1, 0x08))


@pytest.mark.parametrize("msg", [Message(arbitration_id=0x123), can.Message(arbitration_id=0x4)])
def test_decode_rejects_other_messages(msg: Any) -> None:
    with pytest.raises(ValueError, match=r"needs an error frame \(is_error_frame=True\)"):
        ErrorFrame.decode(msg)


def test_error_frame_is_frozen_slotted_and_picklable() -> None:
    frame = decode(CAN_ERR_CRTL | CAN_ERR_PROT, bytes([0, 0x24, 0x84, 0x01, 0, 0, 0, 0]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.controller = None  # type: ignore[misc]
    assert not hasattr(frame, "__dict__")
    for twin in (copy.copy(frame), copy.deepcopy(frame), pickle.loads(pickle.dumps(frame))):
        assert twin == frame
        assert twin.protocol_location == 0x01


# ------------------------------------------------------------------- text

TEXTS = [
    (
        CAN_ERR_CRTL | CAN_ERR_CNT,
        bytes([0, 0x24, 0, 0, 0, 0, 130, 0]),
        "controller: RX warning, TX passive; error counters tx=130 rx=0",
    ),
    (CAN_ERR_TX_TIMEOUT, bytes(8), "TX timeout"),
    (CAN_ERR_LOSTARB, with_byte(0, 12), "lost arbitration at bit 12"),
    (CAN_ERR_LOSTARB, bytes(8), "lost arbitration"),
    (CAN_ERR_CRTL, bytes(8), "controller: unspecified"),
    (CAN_ERR_CRTL, with_byte(1, 0x40), "controller: back to error-active"),
    (CAN_ERR_CRTL, with_byte(1, 0x83), "controller: RX overflow, TX overflow, unknown 0x80"),
    (
        CAN_ERR_PROT | CAN_ERR_BUSERROR,
        bytes([0, 0, 0x84, 0x08, 0, 0, 0, 0]),
        "protocol violation (CRC sequence): stuff error, on transmission; bus error",
    ),
    (CAN_ERR_PROT, bytes(8), "protocol violation: unspecified"),
    (
        CAN_ERR_PROT,
        bytes([0, 0, 0x02, 0x01, 0, 0, 0, 0]),
        "protocol violation (location 0x01): form error",
    ),
    (CAN_ERR_TRX, with_byte(4, 0x74), "transceiver: CANH no wire, CANL short to ground"),
    (CAN_ERR_TRX, with_byte(4, 0x01), "transceiver: CANH status 0x1"),
    (CAN_ERR_TRX, bytes(8), "transceiver: unspecified"),
    (CAN_ERR_ACK | CAN_ERR_BUSOFF, bytes(8), "no ACK; bus-off"),
    (CAN_ERR_BUSERROR | CAN_ERR_RESTARTED, bytes(8), "bus error; restarted"),
    (CAN_ERR_BUSOFF | 0x400, bytes(8), "bus-off; unknown error class 0x400"),
    (0, bytes(8), "no error class"),
]


@pytest.mark.parametrize(("classes", "data", "text"), TEXTS, ids=[t for _, _, t in TEXTS])
def test_str_is_one_readable_line(classes: int, data: bytes, text: str) -> None:
    assert str(decode(classes, data)) == text


def test_repr_names_the_flags() -> None:
    text = repr(decode(CAN_ERR_CRTL, with_byte(1, 0x24)))
    assert "RX_WARNING" in text and "TX_PASSIVE" in text  # in either order: Python 3.9 reverses it
    assert "error_class=<ErrorClass.CONTROLLER: 4>" in text


ERROR_CODES = [
    (CAN_ERR_BUSOFF, "CAN_ERR_BUSOFF (0x40): bus off"),
    (
        CAN_ERR_CRTL | CAN_ERR_BUSOFF,
        "CAN_ERR_CRTL|CAN_ERR_BUSOFF (0x44): controller problems, bus off",
    ),
    (
        CAN_ERR_TX_TIMEOUT | CAN_ERR_LOSTARB | CAN_ERR_PROT | CAN_ERR_TRX | CAN_ERR_ACK,
        "CAN_ERR_TX_TIMEOUT|CAN_ERR_LOSTARB|CAN_ERR_PROT|CAN_ERR_TRX|CAN_ERR_ACK (0x3b): "
        "TX timeout (by netdevice driver), lost arbitration, protocol violations, "
        "transceiver status, received no ACK on transmission",
    ),
    (
        CAN_ERR_BUSERROR | CAN_ERR_RESTARTED | CAN_ERR_CNT,
        "CAN_ERR_BUSERROR|CAN_ERR_RESTARTED|CAN_ERR_CNT (0x380): "
        "bus error, controller restarted, TX/RX error counters",
    ),
    (
        CAN_ERR_ACK | 0x1000,
        "CAN_ERR_ACK|UNKNOWN (0x1020): received no ACK on transmission, unknown error class 0x1000",
    ),
    (0x1FFFFC00, "UNKNOWN (0x1ffffc00): unknown error class 0x1ffffc00"),
    (0, "NONE (0x0): no error class"),
]


@pytest.mark.parametrize(("code", "text"), ERROR_CODES, ids=[hex(c) for c, _ in ERROR_CODES])
def test_error_class_to_str(code: int, text: str) -> None:
    assert error_class_to_str(code) == text


@pytest.mark.parametrize("code", [errno.ENODEV, errno.ENOBUFS, errno.ENETDOWN, 0, 9999, None])
def test_error_code_to_str_explains_an_errno_as_python_can(code: int | None) -> None:
    """python-can's error_code_to_str takes an errno: ferrocan's of that name
    gives the same text, not an error-class reading of the number."""
    assert error_code_to_str(code) == python_can_error_code_to_str(code)


def test_error_code_to_str_names_the_errno() -> None:
    assert error_code_to_str(errno.ENODEV) == "ENODEV (errno 19): No such device"


@pytest.mark.parametrize("code", [-1, 0x20000000, 0x20000040])
def test_error_class_to_str_rejects_codes_outside_the_mask(code: int) -> None:
    with pytest.raises(ValueError, match=r"must be in 0x0\.\.0x1fffffff"):
        error_class_to_str(code)


# ------------------------------------------------------------------ state


def test_bus_state_has_python_can_s_names_and_values() -> None:
    assert {s.name: s.value for s in BusState} == {s.name: s.value for s in can.BusState}
    assert BusState["BUS_OFF"] is BusState["ERROR"]  # an alias


ACTIVE, PASSIVE, BUS_OFF = BusState.ACTIVE, BusState.PASSIVE, BusState.BUS_OFF


def crtl(status: int, *counters: int) -> tuple[int, bytes]:
    if not counters:
        return CAN_ERR_CRTL, with_byte(1, status)
    return CAN_ERR_CRTL | CAN_ERR_CNT, bytes([0, status, 0, 0, 0, 0, *counters])


def cnt(tx: int, rx: int) -> tuple[int, bytes]:
    return CAN_ERR_CNT, bytes([0, 0, 0, 0, 0, 0, tx, rx])


# (state before, the frame's classes and data, state after)
TRANSITIONS = [
    ("bus-off", ACTIVE, (CAN_ERR_BUSOFF, bytes(8)), BUS_OFF),
    ("bus-off from passive", PASSIVE, (CAN_ERR_BUSOFF, bytes(8)), BUS_OFF),
    (
        "bus-off beats a state flag",
        PASSIVE,
        (CAN_ERR_BUSOFF | CAN_ERR_CRTL, with_byte(1, 0x40)),
        BUS_OFF,
    ),
    ("restarted", BUS_OFF, (CAN_ERR_RESTARTED, bytes(8)), ACTIVE),
    ("tx passive", ACTIVE, crtl(0x20), PASSIVE),
    ("rx passive", ACTIVE, crtl(0x10), PASSIVE),
    ("passive beats warning", ACTIVE, crtl(0x24), PASSIVE),
    ("back to active", PASSIVE, crtl(0x40), ACTIVE),
    ("automatic bus-off recovery", BUS_OFF, crtl(0x40), ACTIVE),
    ("warning keeps active", ACTIVE, crtl(0x08), ACTIVE),
    ("rx warning keeps active", ACTIVE, crtl(0x04), ACTIVE),
    ("warning reached from passive", PASSIVE, crtl(0x08), ACTIVE),
    ("overflow is no state", PASSIVE, crtl(0x01), PASSIVE),
    ("unspecified is no state", PASSIVE, crtl(0x00), PASSIVE),
    ("flag beats counters", ACTIVE, crtl(0x20, 100, 0), PASSIVE),
    ("tx counter 128", ACTIVE, cnt(128, 0), PASSIVE),
    ("rx counter 128", ACTIVE, cnt(0, 128), PASSIVE),
    ("counters below 128", PASSIVE, cnt(127, 127), ACTIVE),
    ("counters in warning", PASSIVE, cnt(100, 0), ACTIVE),
    ("counters do not end bus-off", BUS_OFF, cnt(0, 0), BUS_OFF),
    ("counters at 255 in bus-off", BUS_OFF, cnt(255, 0), BUS_OFF),
    ("overflow falls back to counters", PASSIVE, crtl(0x01, 10, 0), ACTIVE),
    ("bus error keeps passive", PASSIVE, (CAN_ERR_PROT | CAN_ERR_BUSERROR, bytes(8)), PASSIVE),
    ("lost arbitration", ACTIVE, (CAN_ERR_LOSTARB, with_byte(0, 3)), ACTIVE),
    ("no ACK keeps passive", PASSIVE, (CAN_ERR_ACK, bytes(8)), PASSIVE),
    ("TX timeout keeps bus-off", BUS_OFF, (CAN_ERR_TX_TIMEOUT, bytes(8)), BUS_OFF),
    ("transceiver", PASSIVE, (CAN_ERR_TRX, with_byte(4, 0x04)), PASSIVE),
]


@pytest.mark.parametrize(
    ("before", "frame", "after"), [t[1:] for t in TRANSITIONS], ids=[t[0] for t in TRANSITIONS]
)
def test_next_state(before: BusState, frame: tuple[int, bytes], after: BusState) -> None:
    assert next_state(before, decode(*frame)) is after


# ----------------------------------------------------------- on the kernel

INJECTED = [
    error_message(CAN_ERR_CRTL | CAN_ERR_CNT, bytes([0, 0x24, 0, 0, 0, 0, 130, 0])),
    error_message(CAN_ERR_PROT | CAN_ERR_BUSERROR, bytes([0, 0, 0x84, 0x08, 0, 0, 0, 0])),
    error_message(CAN_ERR_BUSOFF),
    error_message(CAN_ERR_RESTARTED),
    error_message(CAN_ERR_LOSTARB | CAN_ERR_TRX, bytes([9, 0, 0, 0, 0x74, 0, 0, 0])),
    error_message(0x3FF, bytes(range(1, 9))),
    error_message(CAN_ERR_ACK | 0x400, extended=True),
]


@pytest.mark.parametrize("sent", INJECTED, ids=lambda m: hex(m.arbitration_id))
def test_injected_error_frames_arrive_decoded(make_bus: BusFactory, sent: Message) -> None:
    receiver = make_bus("vcan0")
    injector = make_bus("vcan0")
    injector.send(sent)
    got = receiver.recv(2.0)
    assert got is not None, "the error frame did not arrive"
    assert got.is_error_frame
    assert got.arbitration_id == sent.arbitration_id
    assert ErrorFrame.decode(got) == ErrorFrame.decode(sent)


def test_ignoring_bus_receives_data_frames_only(make_bus: BusFactory) -> None:
    ignoring = make_bus("vcan0", ignore_rx_error_frames=True)
    control = make_bus("vcan0")
    injector = make_bus("vcan0")
    data = Message(arbitration_id=0x123, is_extended_id=False, data=b"\x01\x02")
    injector.send(error_message(CAN_ERR_BUSOFF))
    injector.send(data)

    first = control.recv(2.0)
    assert first is not None and first.is_error_frame, "the control bus saw no error frame"
    got = ignoring.recv(2.0)  # the error frame, sent first, would come first
    assert got is not None and not got.is_error_frame
    assert got.arbitration_id == 0x123 and got.data == b"\x01\x02"
    assert ignoring.recv(0.1) is None


def test_error_frames_pass_id_filters(make_bus: BusFactory) -> None:
    """CAN_RAW filters select data frames only: the kernel delivers error
    frames by the error mask alone, so a bus filtered to one ID still gets them."""
    filtered = make_bus(
        "vcan0", can_filters=[{"can_id": 0x123, "can_mask": 0x7FF, "extended": False}]
    )
    make_bus("vcan0").send(error_message(CAN_ERR_BUSOFF))
    got = filtered.recv(2.0)
    assert got is not None and got.is_error_frame
    assert ErrorFrame.decode(got).bus_off


# -- bus.state follows the error frames a bus receives

CTRL_TX_PASSIVE = 0x20  # CAN_ERR_CRTL_TX_PASSIVE, data[1]


@pytest.mark.parametrize("reader", ["recv", "recv_batch", "iteration"])
def test_bus_state_follows_received_error_frames(make_bus: BusFactory, reader: str) -> None:
    injector, bus = make_bus(), make_bus()
    assert bus.state is BusState.ACTIVE
    steps = [
        (error_message(CAN_ERR_CRTL, with_byte(1, CTRL_TX_PASSIVE)), BusState.PASSIVE),
        (error_message(CAN_ERR_BUSOFF), BusState.BUS_OFF),
        (error_message(CAN_ERR_RESTARTED), BusState.ACTIVE),
    ]
    for frame, expected in steps:
        injector.send(frame)
        read_one(bus, reader)
        assert bus.state is expected, f"after {ErrorFrame.decode(frame)}"


def test_a_bus_ignoring_error_frames_stays_active(make_bus: BusFactory) -> None:
    injector, bus = make_bus(), make_bus(ignore_rx_error_frames=True)
    injector.send(error_message(CAN_ERR_BUSOFF))
    injector.send(Message(arbitration_id=1))
    got = bus.recv(2.0)
    assert got is not None and not got.is_error_frame
    assert bus.state is BusState.ACTIVE


def read_one(bus: Any, reader: str) -> None:
    if reader == "recv":
        assert bus.recv(2.0) is not None
    elif reader == "recv_batch":
        assert len(bus.recv_batch(1, 2.0)) == 1
    else:
        assert next(iter(bus)) is not None
