"""ferrocan.Message, both implementations (the Rust class and the pure-Python
one): python-can's semantics, with the validation and texts of
docs/errors.md. Every test runs once per implementation."""

from __future__ import annotations

import array
import copy
import pickle
import warnings
import weakref
from collections.abc import Iterator
from typing import Any

import can
import ferrocan
import pytest
from ferrocan._message import Message as PureMessage
from ferrocan._message import check_fields
from ferrocan._native import Message as NativeMessage

#: The implementation under test; the autouse fixture below sets it, so each
#: test reads as if it used ferrocan.Message and runs once for each class.
Message: Any = None


@pytest.fixture(autouse=True, params=[NativeMessage, PureMessage], ids=["native", "pure"])
def implementation(request: pytest.FixtureRequest) -> Iterator[None]:
    global Message
    Message = request.param
    yield
    Message = None


# -- construction


def test_defaults_are_python_cans() -> None:
    msg = Message()
    assert msg.timestamp == 0.0
    assert msg.arbitration_id == 0
    assert msg.is_extended_id is True
    assert msg.is_remote_frame is False
    assert msg.is_error_frame is False
    assert msg.channel is None
    assert msg.dlc == 0
    assert msg.data == bytearray()
    assert msg.is_fd is False
    assert msg.is_rx is True
    assert msg.bitrate_switch is False
    assert msg.error_state_indicator is False


def test_positional_order_is_python_cans() -> None:
    msg = Message(1.5, 0x123, False, False, False, "vcan0", 2, b"\x01\x02", True, False, True, True)
    assert msg.timestamp == 1.5
    assert msg.arbitration_id == 0x123
    assert msg.is_extended_id is False
    assert msg.channel == "vcan0"
    assert msg.dlc == 2
    assert msg.data == bytearray(b"\x01\x02")
    assert (msg.is_fd, msg.is_rx, msg.bitrate_switch, msg.error_state_indicator) == (
        True,
        False,
        True,
        True,
    )


@pytest.mark.parametrize("check", [True, False])
def test_check_is_accepted_and_validation_always_runs(check: bool) -> None:
    assert Message(data=b"\x01", check=check).dlc == 1
    with pytest.raises(ValueError):
        Message(arbitration_id=0x800, is_extended_id=False, check=check)


def test_given_bytearray_is_kept_like_python_can() -> None:
    data = bytearray(b"\x01\x02")
    assert Message(data=data).data is data


@pytest.mark.parametrize(
    "data",
    [
        b"\x01\x02\x03",
        [1, 2, 3],
        (1, 2, 3),
        range(1, 4),
        memoryview(b"\x01\x02\x03"),
        array.array("B", [1, 2, 3]),
    ],
    ids=["bytes", "list", "tuple", "range", "memoryview", "array"],
)
def test_data_becomes_a_new_bytearray(data: Any) -> None:
    msg = Message(data=data)
    assert type(msg.data) is bytearray
    assert msg.data == bytearray(b"\x01\x02\x03")
    assert msg.data is not data
    assert msg.dlc == 3


def test_data_from_a_generator() -> None:
    assert Message(data=(i for i in (4, 5))).data == bytearray(b"\x04\x05")


def test_bool_items_are_ints() -> None:
    assert Message(data=[True, False]).data == bytearray(b"\x01\x00")


def test_none_data_is_empty() -> None:
    assert Message(data=None).data == bytearray()


def test_dlc_defaults_to_the_data_length_and_zero_for_remote_frames() -> None:
    assert Message(data=b"abcd").dlc == 4
    assert Message(is_remote_frame=True).dlc == 0
    assert Message(is_remote_frame=True, dlc=5).dlc == 5


def test_classic_dlc_9_to_15_with_8_bytes() -> None:
    for dlc in range(9, 16):
        assert Message(data=bytes(8), dlc=dlc).dlc == dlc


def test_fd_frames_up_to_64_bytes() -> None:
    msg = Message(data=bytes(64), is_fd=True, bitrate_switch=True, error_state_indicator=True)
    assert msg.dlc == 64


def test_numbers_are_normalized() -> None:
    msg = Message(timestamp=3, arbitration_id=True, is_extended_id=False)
    assert type(msg.timestamp) is float and msg.timestamp == 3.0
    assert type(msg.arbitration_id) is int and msg.arbitration_id == 1


def test_int_channel() -> None:
    assert Message(channel=3).channel == 3


# -- docs/errors.md: type errors


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        # Parameter order: the first wrong type wins.
        ({"timestamp": "x", "arbitration_id": "y"}, "timestamp must be"),
        ({"arbitration_id": "y", "is_extended_id": 1}, "arbitration_id must be"),
        ({"channel": 1.5, "dlc": "x"}, "channel must be"),
        ({"dlc": "x", "data": 5}, "dlc must be"),
        ({"data": 5, "is_fd": 1}, "data must be"),
        ({"data": [1, "x"], "is_fd": 1}, "data[1] must be"),
        ({"is_rx": 1, "error_state_indicator": 1}, "is_rx must be"),
        # Every type error comes before any value error.
        ({"timestamp": -1.0, "is_fd": 1}, "is_fd must be"),
        ({"data": [300], "is_fd": 1}, "is_fd must be"),
        ({"data": [300, "x"]}, "data[1] must be"),
        ({"arbitration_id": 0x800, "is_extended_id": False, "dlc": "x"}, "dlc must be"),
    ],
)
def test_type_errors_come_first_in_parameter_order(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(TypeError) as info:
        Message(**kwargs)
    assert str(info.value).startswith(text)


# -- docs/errors.md: value errors


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"data": [256], "timestamp": -1.0}, "data[0] is 256"),
        ({"data": [1, 256, -1]}, "data[1] is 256"),
        ({"timestamp": -1.0, "is_remote_frame": True, "is_error_frame": True}, "timestamp"),
        (
            {"is_remote_frame": True, "is_error_frame": True, "is_fd": True},
            "is_remote_frame and is_error_frame",
        ),
        ({"is_remote_frame": True, "is_fd": True, "arbitration_id": -1}, "is_remote_frame cannot"),
        ({"arbitration_id": -1, "data": bytes(9)}, "arbitration_id -0x1"),
        ({"data": bytes(9), "dlc": 3}, "data is 9 bytes"),
        ({"data": bytes(2), "dlc": 3, "bitrate_switch": True}, "dlc 3 contradicts"),
        ({"bitrate_switch": True, "error_state_indicator": True}, "bitrate_switch requires"),
    ],
)
def test_value_errors_come_in_documented_order(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(ValueError) as info:
        Message(**kwargs)
    assert str(info.value).startswith(text)


def test_check_fields_returns_the_normalized_fields() -> None:
    data = bytearray(b"\x01\x02")
    assert check_fields(
        2, 0x10, False, False, False, None, None, data, False, True, False, False
    ) == (
        2.0,
        0x10,
        2,
        data,
    )
    assert check_fields(0, 1, True, True, False, "c", 3, None, False, True, False, False)[2] == 3


def test_check_fields_keeps_a_given_bytearray() -> None:
    data = bytearray(b"\x01")
    result = check_fields(0.0, 1, True, False, False, None, 1, data, False, True, False, False)
    assert result[3] is data


# -- legacy keywords


def test_extended_id_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning) as record:
        msg = Message(arbitration_id=0x7FF, extended_id=False)
    assert msg.is_extended_id is False
    assert len(record) == 1
    assert str(record[0].message) == "extended_id is deprecated; use is_extended_id"
    assert record[0].filename == __file__  # the warning points at the caller


def test_no_warning_without_legacy_keywords() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Message(is_extended_id=False)


# -- attributes


def test_data_assignment_stores_a_bytearray() -> None:
    msg = Message()
    msg.data = b"ab"
    assert type(msg.data) is bytearray and msg.data == bytearray(b"ab")
    msg.data = [3]
    assert msg.data == bytearray(b"\x03")
    data = bytearray(b"x")
    msg.data = data
    assert msg.data is data


def test_data_assignment_is_checked() -> None:
    msg = Message()
    with pytest.raises(TypeError, match=r"^data must be bytes-like .*, got int$"):
        msg.data = 3  # type: ignore[assignment]
    with pytest.raises(ValueError, match=r"^data\[0\] is 256, must be in 0..255$"):
        msg.data = [256]


def test_other_attributes_are_plain_like_python_can() -> None:
    msg = Message()
    msg.arbitration_id = 0x40000000  # not checked until sent
    msg.dlc = 99
    assert (msg.arbitration_id, msg.dlc) == (0x40000000, 99)


def test_slots_and_weakrefs() -> None:
    msg = Message()
    assert not hasattr(msg, "__dict__")
    with pytest.raises(AttributeError):
        msg.extra = 1  # type: ignore[attr-defined]
    assert weakref.ref(msg)() is msg


def test_the_class_is_named_ferrocan_message() -> None:
    assert Message.__module__ == "ferrocan"
    assert Message.__qualname__ == "Message"


def test_unchecked_builds_without_validation() -> None:
    data = bytearray(b"\x01\x02")
    msg = Message._unchecked(
        1.0, 0x7FFFFFFF, False, True, True, "vcan0", 9, data, True, False, True, False
    )
    assert type(msg) is Message
    assert msg.data is data
    assert (msg.timestamp, msg.arbitration_id, msg.dlc, msg.channel) == (
        1.0,
        0x7FFFFFFF,
        9,
        "vcan0",
    )
    assert (msg.is_extended_id, msg.is_remote_frame, msg.is_error_frame) == (False, True, True)
    assert (msg.is_fd, msg.is_rx, msg.bitrate_switch, msg.error_state_indicator) == (
        True,
        False,
        True,
        False,
    )


# -- dunders


def test_len_bool_bytes() -> None:
    assert len(Message(data=b"abc")) == 3
    assert len(Message(is_remote_frame=True, dlc=4)) == 4
    assert bool(Message()) is True
    assert bytes(Message(data=[1, 2])) == b"\x01\x02"


def test_format() -> None:
    msg = Message(data=b"\x01")
    assert f"{msg}" == str(msg)
    assert format(msg, "") == str(msg)
    with pytest.raises(ValueError, match=r"^non-empty format_specs are not supported$"):
        format(msg, "x")


def test_equality_is_identity_and_messages_hash() -> None:
    a, b = Message(data=b"\x01"), Message(data=b"\x01")
    assert a == a
    assert a != b
    assert len({a, b}) == 2


# -- equals


def _msg(**kwargs: Any) -> Any:
    fields: dict[str, Any] = {
        "timestamp": 1.0,
        "arbitration_id": 0x10,
        "data": b"\x01",
        "channel": "c",
    }
    fields.update(kwargs)
    return Message(**fields)


def test_equals_by_value() -> None:
    assert _msg().equals(_msg())
    msg = _msg()
    assert msg.equals(msg)


@pytest.mark.parametrize(
    "change",
    [
        {"arbitration_id": 0x11},
        {"is_extended_id": False},
        {"data": b"\x02"},
        {"data": b"\x01\x00"},
        {"is_remote_frame": True, "data": None, "dlc": 1},
        {"is_error_frame": True},
        {"is_fd": True},
        {"is_fd": True, "bitrate_switch": True},
        {"is_fd": True, "error_state_indicator": True},
        {"data": bytes(8), "dlc": 9},
    ],
)
def test_equals_detects_differences(change: dict[str, Any]) -> None:
    assert not _msg().equals(_msg(**change))


def test_equals_timestamp_delta() -> None:
    assert _msg().equals(_msg(timestamp=1.0 + 1e-7))
    assert not _msg().equals(_msg(timestamp=1.0 + 1e-5))
    assert _msg().equals(_msg(timestamp=1.5), timestamp_delta=0.5)
    assert _msg().equals(_msg(timestamp=100.0), timestamp_delta=None)


def test_equals_channel_and_direction_checks() -> None:
    assert not _msg().equals(_msg(channel="d"))
    assert _msg().equals(_msg(channel="d"), check_channel=False)
    assert not _msg().equals(_msg(is_rx=False))
    assert _msg().equals(_msg(is_rx=False), check_direction=False)


# -- copies and pickles


def _all_fields(msg: Any) -> tuple[Any, ...]:
    return (
        msg.timestamp,
        msg.arbitration_id,
        msg.is_extended_id,
        msg.is_remote_frame,
        msg.is_error_frame,
        msg.channel,
        msg.dlc,
        msg.data,
        msg.is_fd,
        msg.is_rx,
        msg.bitrate_switch,
        msg.error_state_indicator,
    )


#: Sample messages as constructor arguments, built per implementation.
SAMPLES: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    ((1.25, 0x1ABCDEF, True), {"channel": "vcan0", "data": b"\x00\xff", "is_rx": False}),
    (
        (),
        {
            "arbitration_id": 0x7FF,
            "is_extended_id": False,
            "is_remote_frame": True,
            "dlc": 8,
            "channel": 1,
        },
    ),
    ((), {"arbitration_id": 0x20, "is_error_frame": True, "data": bytes(8)}),
    ((), {"data": bytes(8), "dlc": 15, "is_extended_id": False}),
    (
        (),
        {
            "data": bytes(range(48)),
            "is_fd": True,
            "bitrate_switch": True,
            "error_state_indicator": True,
        },
    ),
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_copy_shares_data_like_python_can(sample: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    msg = Message(*sample[0], **sample[1])
    duplicate = copy.copy(msg)
    assert duplicate is not msg
    assert type(duplicate) is Message
    assert _all_fields(duplicate) == _all_fields(msg)
    assert duplicate.data is msg.data


@pytest.mark.parametrize("sample", SAMPLES)
def test_deepcopy_copies_data(sample: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    msg = Message(*sample[0], **sample[1])
    duplicate = copy.deepcopy(msg)
    assert type(duplicate) is Message
    assert _all_fields(duplicate) == _all_fields(msg)
    assert duplicate.data is not msg.data


@pytest.fixture
def public_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pickles refer to ``ferrocan.Message``: make that the class under test."""
    monkeypatch.setattr(ferrocan, "Message", Message)


@pytest.mark.usefixtures("public_message")
@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(sample: tuple[tuple[Any, ...], dict[str, Any]], protocol: int) -> None:
    msg = Message(*sample[0], **sample[1])
    loaded = pickle.loads(pickle.dumps(msg, protocol))
    assert type(loaded) is Message
    assert _all_fields(loaded) == _all_fields(msg)
    assert type(loaded.data) is bytearray


def test_reduce_is_the_cross_implementation_tuple() -> None:
    msg = Message(1.5, 0x123, False, channel="vcan0", data=bytearray(b"\x01\x02"), is_rx=False)
    assert msg.__reduce__() == (
        Message,
        (1.5, 0x123, False, False, False, "vcan0", 2, b"\x01\x02", False, False, False, False),
    )
    assert type(msg.__reduce__()[1][7]) is bytes


# -- str and repr against python-can

CASES: list[dict[str, Any]] = [
    {},
    {
        "timestamp": 1234.5678901,
        "arbitration_id": 0x123,
        "is_extended_id": False,
        "data": [1, 2, 3],
    },
    {"arbitration_id": 0x1FFFFFFF, "data": b"\xde\xad\xbe\xef", "channel": "vcan0"},
    {"arbitration_id": 0x10, "data": b"abc", "is_rx": False, "channel": 0},
    {"arbitration_id": 0x10, "data": b"a b"},
    {"arbitration_id": 0x7FF, "is_extended_id": False, "is_remote_frame": True, "dlc": 8},
    {"arbitration_id": 0x4, "is_error_frame": True, "data": bytes(8)},
    {"data": bytes(8), "dlc": 12},
    {"data": bytes(range(20)), "is_fd": True, "bitrate_switch": True},
    {"data": b"\x0f" * 64, "is_fd": True, "error_state_indicator": True, "channel": "can1"},
    {"data": b"\xff\x00", "channel": "vcan\u00e9"},
]


@pytest.mark.parametrize("fields", CASES)
def test_str_matches_python_can(fields: dict[str, Any]) -> None:
    assert str(Message(**fields)) == str(can.Message(**fields))


@pytest.mark.parametrize("fields", CASES)
def test_repr_matches_python_can_but_names_ferrocan(fields: dict[str, Any]) -> None:
    theirs = repr(can.Message(**fields))
    assert theirs.startswith("can.Message(")
    assert repr(Message(**fields)) == "ferrocan." + theirs.removeprefix("can.")


@pytest.mark.parametrize("fields", CASES)
def test_equals_accepts_a_python_can_message(fields: dict[str, Any]) -> None:
    ours, theirs = Message(**fields), can.Message(**fields)
    assert ours.equals(theirs)
    assert theirs.equals(ours)
    assert not ours.equals(can.Message(**{**fields, "timestamp": 99.0}))


def test_defaults_match_python_can() -> None:
    assert _all_fields(Message()) == _all_fields(can.Message())


@pytest.mark.usefixtures("public_message")
def test_a_pickle_from_one_implementation_loads_in_the_other(tmp_path: Any) -> None:
    """Native pickles load where only the pure class exists, and back."""
    msg = Message(1.5, 0x123, False, channel="vcan0", data=b"\x01\x02", is_fd=True)
    blob = tmp_path / "msg.pickle"
    blob.write_bytes(pickle.dumps(msg))
    other = "pure" if type(msg) is NativeMessage else "native"
    code = (
        "import pickle, sys, ferrocan;"
        f"m = pickle.loads(open({str(blob)!r}, 'rb').read());"
        "print(ferrocan.backend, type(m) is ferrocan.Message,"
        " m.arbitration_id, m.data.hex(), m.is_fd, m.channel)"
    )
    out = run_python(code, without_native=other == "pure")
    backend = "ctypes" if other == "pure" else "native"
    assert out.split() == [backend, "True", "291", "0102", "True", "vcan0"]


def run_python(code: str, *, without_native: bool) -> str:
    """Runs `code` in a fresh interpreter, optionally where `ferrocan._native`
    cannot be imported (a meta-path finder refuses it)."""
    import subprocess
    import sys

    block = (
        "import sys\n"
        "class NoNative:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'ferrocan._native': raise ImportError('blocked for the test')\n"
        "sys.meta_path.insert(0, NoNative())\n"
    )
    source = (block if without_native else "") + code
    done = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout
