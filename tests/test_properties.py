"""Properties over generated input (hypothesis): any valid message survives a
trip through the kernel unchanged, on every backend, CAN XL ones included;
any input at all gives a Message or ValueError/TypeError, never another
exception, in both Message implementations, which agree; a CAN XL message
builds exactly when its fields are valid."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import ferrocan
import pytest
from ferrocan import CanInitializationError
from ferrocan._message import Message as PureMessage
from ferrocan._native import Message as NativeMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import REFUSED_XL, BusFactory, at_xl_mtu, has_vcid, xl_frame_fields

FD_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]


@st.composite
def valid_messages(draw: st.DrawFn) -> dict[str, Any]:
    """Fields of a message the kernel hands back exactly as sent."""
    extended = draw(st.booleans())
    fields: dict[str, Any] = {
        "arbitration_id": draw(st.integers(0, 0x1FFFFFFF if extended else 0x7FF)),
        "is_extended_id": extended,
    }
    kind = draw(st.sampled_from(["data", "remote", "fd"]))
    if kind == "remote":
        fields.update(is_remote_frame=True, dlc=draw(st.integers(0, 8)))
    elif kind == "fd":
        size = draw(st.sampled_from(FD_LENGTHS))
        fields.update(
            is_fd=True,
            data=draw(st.binary(min_size=size, max_size=size)),
            bitrate_switch=draw(st.booleans()),
            error_state_indicator=draw(st.booleans()),
        )
    else:
        data = draw(st.binary(max_size=8))
        fields["data"] = data
        if len(data) == 8 and draw(st.booleans()):
            fields["dlc"] = draw(st.integers(9, 15))
    return fields


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.binary(max_size=70),
    st.lists(st.integers(-300, 300), max_size=70),
    st.lists(st.floats(), max_size=3),
)
KEYWORDS = [
    "timestamp",
    "arbitration_id",
    "is_extended_id",
    "is_remote_frame",
    "is_error_frame",
    "channel",
    "dlc",
    "data",
    "is_fd",
    "is_rx",
    "bitrate_switch",
    "error_state_indicator",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=valid_messages())
def test_a_valid_message_arrives_equal(make_bus: BusFactory, fields: dict[str, Any]) -> None:
    tx, rx = bus_pair(make_bus)
    sent = NativeMessage(**fields)
    tx.send(sent)
    got = rx.recv(2.0)
    assert got is not None
    assert got.equals(sent, timestamp_delta=None, check_channel=False, check_direction=False), (
        sent,
        got,
    )


@pytest.mark.parametrize("implementation", [NativeMessage, PureMessage], ids=["native", "pure"])
@settings(max_examples=400, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(KEYWORDS), ANYTHING, max_size=6))
def test_any_input_is_a_message_or_a_value_or_type_error(
    implementation: type, fields: dict[str, Any]
) -> None:
    try:
        implementation(**fields)
    except (ValueError, TypeError) as error:
        assert str(error), "every error names its problem"


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(KEYWORDS), ANYTHING, max_size=6))
def test_both_implementations_agree_on_every_input(fields: dict[str, Any]) -> None:
    outcomes = [outcome(cls, fields) for cls in (NativeMessage, PureMessage)]
    assert outcomes[0] == outcomes[1], fields


def outcome(cls: type, fields: dict[str, Any]) -> tuple[str, str]:
    try:
        msg = cls(**fields)
    except (ValueError, TypeError) as error:
        return type(error).__name__, str(error)
    return "ok", repr(msg)


_pairs: dict[tuple[object, ...], tuple[Any, Any]] = {}


def bus_pair(make_bus: BusFactory, **kwargs: Any) -> tuple[Any, Any]:
    """One sender and one receiver per test run (hypothesis calls the test
    many times with the same fixture), opened with ``kwargs`` (fd=True if
    none)."""
    kwargs = kwargs or {"fd": True}
    key = (id(make_bus), *kwargs)
    if key not in _pairs:
        _pairs.clear()
        _pairs[key] = (make_bus("vcan1", **kwargs), make_bus("vcan1", **kwargs))
    return _pairs[key]


#: Arguments of any type and size, for the Bus calls that take a number.
NUMBERS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.binary(max_size=3),
)
FRAME = NativeMessage(arbitration_id=0x5A, is_extended_id=False, data=b"\x01")

#: Each call with one argument in the balance, on a bus (the other arguments
#: valid). A frame waits on the bus before each, so that no valid timeout
#: waits; periodic tasks are stopped at once.
CALLS: dict[str, Any] = {
    "recv-timeout": lambda bus, x: bus.recv(x),
    "recv_batch-max_messages": lambda bus, x: bus.recv_batch(x, 0.0),
    "recv_batch-timeout": lambda bus, x: bus.recv_batch(8, x),
    "send-timeout": lambda bus, x: bus.send(FRAME, x),
    "send_batch-timeout": lambda bus, x: bus.send_batch([FRAME], x),
    "send_periodic-period": lambda bus, x: bus.send_periodic(FRAME, x).stop(),
    "send_periodic-duration": lambda bus, x: bus.send_periodic(FRAME, 0.5, x).stop(),
    "set_filters-can_id": lambda bus, x: bus.set_filters([{"can_id": x, "can_mask": 0}]),
    "set_filters-can_mask": lambda bus, x: bus.set_filters([{"can_id": 0, "can_mask": x}]),
}


@pytest.mark.parametrize("call", CALLS)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=NUMBERS)
def test_both_backends_answer_every_argument_alike(
    backend_buses: dict[str, Any], call: str, value: Any
) -> None:
    outcomes = {name: call_outcome(bus, CALLS[call], value) for name, bus in backend_buses.items()}
    assert len(set(outcomes.values())) == 1, (value, outcomes)


def call_outcome(bus: Any, call: Any, value: Any) -> tuple[str, str]:
    """What ``call(bus, value)`` did: the type of its result, or the
    exception's type and text. The bus receives its own frame first."""
    bus.send(FRAME)
    try:
        result = call(bus, value)
    except Exception as error:  # any difference is the finding
        return type(error).__name__, str(error)
    finally:
        bus.set_filters(None)
        while bus.recv(0.0) is not None:
            pass
    return "ok", type(result).__name__


@pytest.fixture(scope="module")
def backend_buses() -> Any:
    """A bus per backend on vcan1, receiving what it sends itself."""
    buses = {
        name: ferrocan.Bus("vcan1", backend=name, receive_own_messages=True)
        for name in ("native", "ctypes")
    }
    yield buses
    for bus in buses.values():
        bus.shutdown()


# -- CAN XL


@st.composite
def valid_xl_messages(draw: st.DrawFn) -> dict[str, Any]:
    """Fields of any valid CAN XL message; VCIDs where the kernel has them.
    The data is random at its head and patterned after, so that 2048 bytes
    cost little to draw."""
    length = draw(st.integers(1, 2048))
    head = draw(st.binary(max_size=min(length, 16)))
    step = draw(st.integers(0, 255))
    tail = bytes((step * i + length) & 0xFF for i in range(length - len(head)))
    return {
        "is_xl": True,
        "arbitration_id": draw(st.integers(0, 0x7FF)),
        "data": head + tail,
        "sdu_type": draw(st.integers(0, 255)),
        "acceptance_field": draw(st.integers(0, 2**32 - 1)),
        "simple_extended_content": draw(st.booleans()),
        "vcid": draw(st.integers(0, 255)) if has_vcid() else 0,
    }


@pytest.fixture(scope="module")
def xl_vcan1() -> Iterator[bool]:
    """vcan1 at CAN XL's MTU for the module; whether the kernel has CAN XL."""
    with at_xl_mtu("vcan1") as xl:
        yield xl


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=valid_xl_messages())
def test_a_valid_xl_message_arrives_equal(
    make_bus: BusFactory, xl_vcan1: bool, fields: dict[str, Any]
) -> None:
    """Where the kernel has no CAN XL, an xl bus is refused instead."""
    if not xl_vcan1:
        with pytest.raises(CanInitializationError, match="^" + REFUSED_XL + os.uname().release):
            make_bus("vcan1", xl=True)
        return
    tx, rx = bus_pair(make_bus, xl=True)
    sent = NativeMessage(**fields)
    tx.send(sent)
    got = rx.recv(2.0)
    assert got is not None
    assert xl_frame_fields(got) == xl_frame_fields(sent)


XL_EDGES: dict[str, Any] = {
    "arbitration_id": st.integers(-2, 0x801),
    "is_extended_id": st.booleans(),
    "data": st.sampled_from([0, 1, 2, 8, 9, 64, 65, 2047, 2048, 2049]).map(bytes),
    "dlc": st.one_of(st.none(), st.integers(-1, 2050)),
    "sdu_type": st.integers(-1, 256),
    "acceptance_field": st.sampled_from([-1, 0, 1, 2**31, 2**32 - 1, 2**32]),
    "simple_extended_content": st.booleans(),
    "vcid": st.integers(-1, 256),
    "is_fd": st.booleans(),
    "is_remote_frame": st.booleans(),
    "is_error_frame": st.booleans(),
    "bitrate_switch": st.booleans(),
    "error_state_indicator": st.booleans(),
}


def valid_xl(fields: dict[str, Any]) -> bool:
    """Whether a CAN XL message's fields are valid, as the contract states."""
    length = len(fields.get("data", b""))
    flags = ("is_extended_id", "is_fd", "is_remote_frame", "is_error_frame")
    return (
        0 <= fields.get("arbitration_id", 0) <= 0x7FF
        and not any(fields.get(flag) for flag in (*flags, "bitrate_switch"))
        and not fields.get("error_state_indicator")
        and 1 <= length <= 2048
        and fields.get("dlc") in (None, length)
        and 0 <= fields.get("sdu_type", 0) <= 255
        and 0 <= fields.get("acceptance_field", 0) <= 2**32 - 1
        and 0 <= fields.get("vcid", 0) <= 255
    )


@pytest.mark.parametrize("implementation", [NativeMessage, PureMessage], ids=["native", "pure"])
@settings(max_examples=300, deadline=None)
@given(fields=st.fixed_dictionaries({}, optional=XL_EDGES))
def test_an_xl_message_builds_exactly_when_its_fields_are_valid(
    implementation: type, fields: dict[str, Any]
) -> None:
    try:
        msg = implementation(is_xl=True, **fields)
    except ValueError as error:
        assert not valid_xl(fields), f"refused a valid message: {error}"
        return
    assert valid_xl(fields), f"built an invalid message: {msg!r}"
    for name, value in fields.items():
        expected = len(fields["data"]) if name == "dlc" and value is None else value
        assert getattr(msg, name) == expected, name


XL_KEYWORDS = [
    *KEYWORDS,
    "is_xl",
    "sdu_type",
    "acceptance_field",
    "simple_extended_content",
    "vcid",
]


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(XL_KEYWORDS), ANYTHING, max_size=6))
def test_both_implementations_agree_on_every_input_with_xl_fields(fields: dict[str, Any]) -> None:
    outcomes = [outcome(cls, fields) for cls in (NativeMessage, PureMessage)]
    assert outcomes[0] == outcomes[1], fields
