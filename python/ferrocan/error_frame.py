"""SocketCAN error frames decoded, and the bus state they imply.

A SocketCAN bus (unless opened with ``ignore_rx_error_frames=True``) receives
the controller's errors as messages with ``is_error_frame=True``: the error
classes in ``arbitration_id`` and the details in 8 data bytes, as
``linux/can/error.h`` lays them out. :meth:`ErrorFrame.decode` reads one;
:func:`next_state` follows the controller's error state from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum, IntEnum, IntFlag
from typing import Protocol, TypeVar

from ferrocan._can_h import CAN_ERR_MASK
from ferrocan._errors import error_code_to_str

__all__ = [
    "BusState",
    "ControllerStatus",
    "ErrorClass",
    "ErrorFrame",
    "ProtocolLocation",
    "ProtocolViolation",
    "WireStatus",
    "error_class_to_str",
    "error_code_to_str",
    "next_state",
]


#: ISO 11898-1: a node whose TX or RX error counter reaches this is error-passive.
CAN_ERROR_PASSIVE_THRESHOLD = 128


class ErrorClass(IntFlag):
    """The error classes of an error frame: its ``arbitration_id`` bits."""

    TX_TIMEOUT = 0x001  # CAN_ERR_TX_TIMEOUT
    LOST_ARBITRATION = 0x002  # CAN_ERR_LOSTARB, data[0]
    CONTROLLER = 0x004  # CAN_ERR_CRTL, data[1]
    PROTOCOL = 0x008  # CAN_ERR_PROT, data[2] and data[3]
    TRANSCEIVER = 0x010  # CAN_ERR_TRX, data[4]
    NO_ACK = 0x020  # CAN_ERR_ACK
    BUS_OFF = 0x040  # CAN_ERR_BUSOFF
    BUS_ERROR = 0x080  # CAN_ERR_BUSERROR
    RESTARTED = 0x100  # CAN_ERR_RESTARTED
    ERROR_COUNTERS = 0x200  # CAN_ERR_CNT (Linux 6.0), data[6] and data[7]


class ControllerStatus(IntFlag):
    """data[1] of a CAN_ERR_CRTL frame (CAN_ERR_CRTL_*); 0 is unspecified."""

    RX_OVERFLOW = 0x01
    TX_OVERFLOW = 0x02
    RX_WARNING = 0x04
    TX_WARNING = 0x08
    RX_PASSIVE = 0x10
    TX_PASSIVE = 0x20
    ACTIVE = 0x40


class ProtocolViolation(IntFlag):
    """data[2] of a CAN_ERR_PROT frame (CAN_ERR_PROT_*); 0 is unspecified."""

    BIT = 0x01
    FORM = 0x02
    STUFF = 0x04
    BIT0 = 0x08
    BIT1 = 0x10
    OVERLOAD = 0x20
    ACTIVE = 0x40
    TX = 0x80


class _OpenIntEnum(IntEnum):
    """An IntEnum that keeps values it does not name, as ``UNKNOWN_0x..``:
    decoding what a driver sends must not fail on a code newer than us."""

    @classmethod
    def _missing_(cls, value: object) -> _OpenIntEnum | None:
        if not isinstance(value, int):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value:#04x}"
        member._value_ = value
        return member

    def __reduce_ex__(self, protocol: object) -> tuple[type[_OpenIntEnum], tuple[int]]:
        # By value: some CPythons (Debian 12's 3.11.2) pickle an enum member
        # by name, and the class has no attribute UNKNOWN_0x...
        return type(self), (self._value_,)


class ProtocolLocation(_OpenIntEnum):
    """data[3] of a CAN_ERR_PROT frame: where in the frame the violation was
    (CAN_ERR_PROT_LOC_*)."""

    UNSPEC = 0x00
    SOF = 0x03
    ID28_21 = 0x02
    ID20_18 = 0x06
    SRTR = 0x04
    IDE = 0x05
    ID17_13 = 0x07
    ID12_05 = 0x0F
    ID04_00 = 0x0E
    RTR = 0x0C
    RES1 = 0x0D
    RES0 = 0x09
    DLC = 0x0B
    DATA = 0x0A
    CRC_SEQ = 0x08
    CRC_DEL = 0x18
    ACK = 0x19
    ACK_DEL = 0x1B
    EOF = 0x1A
    INTERM = 0x12


class WireStatus(_OpenIntEnum):
    """The state of one transceiver wire: a nibble of data[4] in a CAN_ERR_TRX
    frame (CAN_ERR_TRX_CANH_* in the low nibble, CAN_ERR_TRX_CANL_* in the
    high one). ``SHORT_TO_CANH`` exists only for CANL."""

    UNSPEC = 0x0
    NO_WIRE = 0x4
    SHORT_TO_BAT = 0x5
    SHORT_TO_VCC = 0x6
    SHORT_TO_GND = 0x7
    SHORT_TO_CANH = 0x8


class BusState(Enum):
    """The error state of a CAN controller, with python-can's names and values.

    ``BUS_OFF`` is another name for ``ERROR``: the controller has left the bus.
    """

    ACTIVE = 1
    PASSIVE = 2
    ERROR = 3
    BUS_OFF = 3


class _ErrorMessage(Protocol):
    """What decoding reads: a ferrocan or a python-can ``Message``."""

    @property
    def is_error_frame(self) -> bool: ...
    @property
    def arbitration_id(self) -> int: ...
    @property
    def data(self) -> bytes | bytearray | None: ...


@dataclass(frozen=True)
class ErrorFrame:
    """An error frame, decoded as ``linux/can/error.h`` specifies.

    Each class's details are ``None`` when the frame lacks that class, so
    ``frame.controller is not None`` tests for CAN_ERR_CRTL; within a class,
    a zero value (``ControllerStatus(0)``, ``ProtocolLocation.UNSPEC``,
    ``lost_arbitration_bit == 0``) means the driver did not specify it.
    ``error_class`` and ``data`` are the frame's raw class bits and bytes.
    """

    # Explicit rather than slots=True, which needs Python 3.10.
    __slots__ = (
        "controller",
        "data",
        "error_class",
        "lost_arbitration_bit",
        "protocol",
        "protocol_location",
        "rx_error_counter",
        "transceiver_canh",
        "transceiver_canl",
        "tx_error_counter",
    )

    error_class: ErrorClass
    data: bytes
    #: The bit in the bitstream where arbitration was lost; 0 if unspecified.
    lost_arbitration_bit: int | None
    controller: ControllerStatus | None
    protocol: ProtocolViolation | None
    protocol_location: ProtocolLocation | None
    transceiver_canh: WireStatus | None
    transceiver_canl: WireStatus | None
    tx_error_counter: int | None
    rx_error_counter: int | None

    @classmethod
    def decode(cls, msg: _ErrorMessage) -> ErrorFrame:
        """Decodes an error-frame message (ferrocan's or python-can's).

        Raises ``ValueError`` for any other message. Data bytes beyond the
        message's data read as 0 ("unspecified"), as the kernel sends them.
        """
        if not msg.is_error_frame:
            raise ValueError(
                "ErrorFrame.decode() needs an error frame (is_error_frame=True), "
                f"got a message with arbitration_id {msg.arbitration_id:#x}"
            )
        classes = ErrorClass(msg.arbitration_id)
        raw = bytes(msg.data or b"")
        data = raw.ljust(8, b"\0")

        def has(flag: ErrorClass) -> bool:
            return flag in classes

        return cls(
            error_class=classes,
            data=raw,
            lost_arbitration_bit=data[0] if has(ErrorClass.LOST_ARBITRATION) else None,
            controller=ControllerStatus(data[1]) if has(ErrorClass.CONTROLLER) else None,
            protocol=ProtocolViolation(data[2]) if has(ErrorClass.PROTOCOL) else None,
            protocol_location=ProtocolLocation(data[3]) if has(ErrorClass.PROTOCOL) else None,
            transceiver_canh=WireStatus(data[4] & 0x0F) if has(ErrorClass.TRANSCEIVER) else None,
            transceiver_canl=WireStatus(data[4] >> 4) if has(ErrorClass.TRANSCEIVER) else None,
            tx_error_counter=data[6] if has(ErrorClass.ERROR_COUNTERS) else None,
            rx_error_counter=data[7] if has(ErrorClass.ERROR_COUNTERS) else None,
        )

    @property
    def tx_timeout(self) -> bool:
        """CAN_ERR_TX_TIMEOUT: the driver gave up transmitting a frame."""
        return ErrorClass.TX_TIMEOUT in self.error_class

    @property
    def no_ack(self) -> bool:
        """CAN_ERR_ACK: a transmitted frame was not acknowledged by any node."""
        return ErrorClass.NO_ACK in self.error_class

    @property
    def bus_off(self) -> bool:
        """CAN_ERR_BUSOFF: the controller has left the bus."""
        return ErrorClass.BUS_OFF in self.error_class

    @property
    def bus_error(self) -> bool:
        """CAN_ERR_BUSERROR: an error on the bus (reported per error: may flood)."""
        return ErrorClass.BUS_ERROR in self.error_class

    @property
    def restarted(self) -> bool:
        """CAN_ERR_RESTARTED: the controller was restarted after bus-off."""
        return ErrorClass.RESTARTED in self.error_class

    def __str__(self) -> str:
        """One line, e.g. ``controller: RX warning, TX passive; error counters tx=130 rx=0``."""
        parts = [self._describe(flag) for flag in ErrorClass if flag in self.error_class]
        unknown = self.error_class & ~_KNOWN_CLASSES
        if unknown:
            parts.append(f"unknown error class {unknown:#x}")
        return "; ".join(parts) or "no error class"

    def __reduce__(self) -> tuple[type[ErrorFrame], tuple[object, ...]]:
        # Frozen fields in explicit slots defeat the default pickle and copy,
        # which restore state by assignment.
        return type(self), tuple(getattr(self, field.name) for field in fields(self))

    def _describe(self, flag: ErrorClass) -> str:
        if flag is ErrorClass.LOST_ARBITRATION:
            bit = self.lost_arbitration_bit
            return f"lost arbitration at bit {bit}" if bit else "lost arbitration"
        if flag is ErrorClass.CONTROLLER:
            status = self.controller or ControllerStatus(0)
            return f"controller: {_flag_text(status, _CONTROLLER_TEXT)}"
        if flag is ErrorClass.PROTOCOL:
            return self._describe_protocol()
        if flag is ErrorClass.TRANSCEIVER:
            return self._describe_transceiver()
        if flag is ErrorClass.ERROR_COUNTERS:
            return f"error counters tx={self.tx_error_counter} rx={self.rx_error_counter}"
        return _CLASS_TEXT[flag]

    def _describe_transceiver(self) -> str:
        wires = [
            f"{name} {_WIRE_TEXT.get(status, f'status {status:#x}')}"
            for name, status in (("CANH", self.transceiver_canh), ("CANL", self.transceiver_canl))
            if status
        ]
        return f"transceiver: {', '.join(wires) or 'unspecified'}"

    def _describe_protocol(self) -> str:
        types = _flag_text(self.protocol or ProtocolViolation(0), _PROTOCOL_TEXT)
        location = self.protocol_location
        if not location:
            return f"protocol violation: {types}"
        where = _LOCATION_TEXT.get(location, f"location {location:#04x}")
        return f"protocol violation ({where}): {types}"


def error_class_to_str(code: int) -> str:
    """Names the SocketCAN error classes in ``code`` (an error frame's
    ``arbitration_id``) in the shape of :func:`error_code_to_str`: ``"NAME
    (code): description"``, e.g. ``"CAN_ERR_CRTL|CAN_ERR_BUSOFF (0x44):
    controller problems, bus off"``.

    Bits no class uses yet are named ``UNKNOWN``. Raises ``ValueError`` for a
    code outside CAN_ERR_MASK (0..0x1fffffff).
    """
    if not 0 <= code <= CAN_ERR_MASK:
        raise ValueError(
            f"error code {code:#x} is not a set of error classes: must be in 0x0..{CAN_ERR_MASK:#x}"
        )
    known = [flag for flag in ErrorClass if flag & code]
    names = [_CLASS_NAME[flag] for flag in known]
    texts = [_CLASS_DESCRIPTION[flag] for flag in known]
    unknown = code & ~_KNOWN_CLASSES
    if unknown:
        names.append("UNKNOWN")
        texts.append(f"unknown error class {unknown:#x}")
    if not names:
        return f"NONE ({code:#x}): no error class"
    return f"{'|'.join(names)} ({code:#x}): {', '.join(texts)}"


def next_state(state: BusState, frame: ErrorFrame) -> BusState:
    """The controller's error state after ``frame``, given the state before.

    The first rule that applies decides:

    1. CAN_ERR_BUSOFF: ``BUS_OFF``.
    2. A controller state in data[1] of CAN_ERR_CRTL, which the kernel
       (``can_change_state``) sends for the state the controller has *reached*:
       ``RX_PASSIVE``/``TX_PASSIVE`` give ``PASSIVE``; ``ACTIVE`` (recovered)
       or ``RX_WARNING``/``TX_WARNING`` give ``ACTIVE``. Warning is still
       error-active in ISO 11898-1, and a warning reached from passive means
       the counters fell below 128. Overflow flags alone are no state.
    3. CAN_ERR_RESTARTED: ``ACTIVE`` (a restart leaves bus-off for error-active).
    4. CAN_ERR_CNT with the TX/RX error counters, except in bus-off: either
       counter at 128 or more gives ``PASSIVE``, both below give ``ACTIVE``
       (ISO 11898-1). In bus-off the counters say nothing: controllers reset
       or freeze them there, and only a restart or a reported state change
       leaves bus-off. The counters are bytes, so they never show bus-off
       (256); the kernel reports it with CAN_ERR_BUSOFF.
    5. Otherwise (lost arbitration, protocol and bus errors, no ACK, ...)
       ``state`` is kept: those change the counters, not the state.
    """
    if frame.bus_off:
        return BusState.BUS_OFF
    reported = _reported_state(frame.controller or ControllerStatus(0))
    if reported is not None:
        return reported
    if frame.restarted:
        return BusState.ACTIVE
    if frame.tx_error_counter is not None and state is not BusState.BUS_OFF:
        counter = max(frame.tx_error_counter, frame.rx_error_counter or 0)
        return BusState.PASSIVE if counter >= CAN_ERROR_PASSIVE_THRESHOLD else BusState.ACTIVE
    return state


def _reported_state(status: ControllerStatus) -> BusState | None:
    if status & (ControllerStatus.RX_PASSIVE | ControllerStatus.TX_PASSIVE):
        return BusState.PASSIVE
    active = ControllerStatus.ACTIVE | ControllerStatus.RX_WARNING | ControllerStatus.TX_WARNING
    if status & active:
        return BusState.ACTIVE
    return None


_Flag = TypeVar("_Flag", bound=IntFlag)


def _flag_text(value: _Flag, texts: Mapping[_Flag, str]) -> str:
    """The texts of the bits set in ``value``, then any bits without one."""
    parts = [text for bit, text in texts.items() if value & bit]
    unknown = value & ~sum(texts)
    if unknown:
        parts.append(f"unknown {unknown:#04x}")
    return ", ".join(parts) or "unspecified"


_KNOWN_CLASSES = sum(ErrorClass)

#: The C name and the error.h comment of each class.
_CLASS_NAME = {
    ErrorClass.TX_TIMEOUT: "CAN_ERR_TX_TIMEOUT",
    ErrorClass.LOST_ARBITRATION: "CAN_ERR_LOSTARB",
    ErrorClass.CONTROLLER: "CAN_ERR_CRTL",
    ErrorClass.PROTOCOL: "CAN_ERR_PROT",
    ErrorClass.TRANSCEIVER: "CAN_ERR_TRX",
    ErrorClass.NO_ACK: "CAN_ERR_ACK",
    ErrorClass.BUS_OFF: "CAN_ERR_BUSOFF",
    ErrorClass.BUS_ERROR: "CAN_ERR_BUSERROR",
    ErrorClass.RESTARTED: "CAN_ERR_RESTARTED",
    ErrorClass.ERROR_COUNTERS: "CAN_ERR_CNT",
}
_CLASS_DESCRIPTION = {
    ErrorClass.TX_TIMEOUT: "TX timeout (by netdevice driver)",
    ErrorClass.LOST_ARBITRATION: "lost arbitration",
    ErrorClass.CONTROLLER: "controller problems",
    ErrorClass.PROTOCOL: "protocol violations",
    ErrorClass.TRANSCEIVER: "transceiver status",
    ErrorClass.NO_ACK: "received no ACK on transmission",
    ErrorClass.BUS_OFF: "bus off",
    ErrorClass.BUS_ERROR: "bus error",
    ErrorClass.RESTARTED: "controller restarted",
    ErrorClass.ERROR_COUNTERS: "TX/RX error counters",
}

#: ``str(ErrorFrame)`` for the classes that carry no data.
_CLASS_TEXT = {
    ErrorClass.TX_TIMEOUT: "TX timeout",
    ErrorClass.NO_ACK: "no ACK",
    ErrorClass.BUS_OFF: "bus-off",
    ErrorClass.BUS_ERROR: "bus error",
    ErrorClass.RESTARTED: "restarted",
}
_CONTROLLER_TEXT = {
    ControllerStatus.RX_OVERFLOW: "RX overflow",
    ControllerStatus.TX_OVERFLOW: "TX overflow",
    ControllerStatus.RX_WARNING: "RX warning",
    ControllerStatus.TX_WARNING: "TX warning",
    ControllerStatus.RX_PASSIVE: "RX passive",
    ControllerStatus.TX_PASSIVE: "TX passive",
    ControllerStatus.ACTIVE: "back to error-active",
}
_PROTOCOL_TEXT = {
    ProtocolViolation.BIT: "bit error",
    ProtocolViolation.FORM: "form error",
    ProtocolViolation.STUFF: "stuff error",
    ProtocolViolation.BIT0: "cannot send dominant bit",
    ProtocolViolation.BIT1: "cannot send recessive bit",
    ProtocolViolation.OVERLOAD: "bus overload",
    ProtocolViolation.ACTIVE: "active error announcement",
    ProtocolViolation.TX: "on transmission",
}
_LOCATION_TEXT = {
    ProtocolLocation.SOF: "start of frame",
    ProtocolLocation.ID28_21: "ID bits 28-21 (SFF: 10-3)",
    ProtocolLocation.ID20_18: "ID bits 20-18 (SFF: 2-0)",
    ProtocolLocation.SRTR: "substitute RTR (SFF: RTR)",
    ProtocolLocation.IDE: "identifier extension",
    ProtocolLocation.ID17_13: "ID bits 17-13",
    ProtocolLocation.ID12_05: "ID bits 12-5",
    ProtocolLocation.ID04_00: "ID bits 4-0",
    ProtocolLocation.RTR: "RTR",
    ProtocolLocation.RES1: "reserved bit 1",
    ProtocolLocation.RES0: "reserved bit 0",
    ProtocolLocation.DLC: "data length code",
    ProtocolLocation.DATA: "data section",
    ProtocolLocation.CRC_SEQ: "CRC sequence",
    ProtocolLocation.CRC_DEL: "CRC delimiter",
    ProtocolLocation.ACK: "ACK slot",
    ProtocolLocation.ACK_DEL: "ACK delimiter",
    ProtocolLocation.EOF: "end of frame",
    ProtocolLocation.INTERM: "intermission",
}
_WIRE_TEXT = {
    WireStatus.NO_WIRE: "no wire",
    WireStatus.SHORT_TO_BAT: "short to battery",
    WireStatus.SHORT_TO_VCC: "short to VCC",
    WireStatus.SHORT_TO_GND: "short to ground",
    WireStatus.SHORT_TO_CANH: "short to CANH",
}


class StateTracker:
    """The controller state that the error frames received so far report:
    the backend calls it with each error frame it hands out. It holds no
    reference to the bus, so a bus is freed as soon as it is unreferenced."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = BusState.ACTIVE

    def __call__(self, error_frame: _ErrorMessage) -> None:
        self.state = next_state(self.state, ErrorFrame.decode(error_frame))
