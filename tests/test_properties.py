"""Properties over generated input (hypothesis): any valid message survives a
trip through the kernel unchanged, on every backend; any input at all gives a
Message or ValueError/TypeError, never another exception, in both Message
implementations."""

from __future__ import annotations

from typing import Any

import pytest
from ferrocan._message import Message as PureMessage
from ferrocan._native import Message as NativeMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import BusFactory

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


_pairs: dict[int, tuple[Any, Any]] = {}


def bus_pair(make_bus: BusFactory) -> tuple[Any, Any]:
    """One sender and one receiver per test run (hypothesis calls the test
    many times with the same fixture)."""
    key = id(make_bus)
    if key not in _pairs:
        _pairs.clear()
        _pairs[key] = (make_bus("vcan1", fd=True), make_bus("vcan1", fd=True))
    return _pairs[key]
