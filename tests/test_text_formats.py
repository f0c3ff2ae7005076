"""can-utils' text formats: cansend's frame syntax (ferrocan.cansend) and
candump's log line (ferrocan.candump_log).

Both are implemented twice, in Rust (src/cansend.rs, src/candump_log.rs,
through ferrocan._native) and in pure Python (ferrocan._cansend,
ferrocan._candump_log). Every test runs on both, and hypothesis checks that
they agree exactly on any text. No CAN interface is needed.
"""

from __future__ import annotations

import io
import sys
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from ferrocan import Message, _candump_log, _cansend, candump_log
from ferrocan._backend import native_available
from ferrocan.candump_log import LogEntry, format_line, read_log, write_log
from hypothesis import given, settings
from hypothesis import strategies as st

from .support import frame_fields, xl_frame_fields


class Formats(NamedTuple):
    """One implementation of both formats."""

    parse_frame: Callable[[str], Message]
    format_frame: Callable[[Message], str]
    parse_line: Callable[[str], tuple[float, str, Message]]


PYTHON = Formats(_cansend.parse_frame, _cansend.format_frame, _candump_log.parse_line)


def native() -> Formats:
    if not native_available():
        pytest.fail("the native module is not built: run tools/setup")
    from ferrocan import _native

    return Formats(_native.parse_frame, _native.format_frame, _native.parse_log_line)


@pytest.fixture(scope="module", params=["native", "python"])
def formats(request: pytest.FixtureRequest) -> Formats:
    return native() if request.param == "native" else PYTHON


@pytest.fixture(params=["native", "python"])
def public(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """ferrocan.candump_log's functions, on each implementation."""
    chosen = native() if request.param == "native" else PYTHON
    monkeypatch.setattr(candump_log, "_parse_line", chosen.parse_line)
    monkeypatch.setattr(candump_log, "format_frame", chosen.format_frame)


def everything(msg: Message) -> tuple[object, ...]:
    """Every attribute, exactly (equals() allows a timestamp difference)."""
    return (type(msg), msg.timestamp, msg.channel, msg.is_rx, *xl_frame_fields(msg))


# ---------------------------------------------------------------- cansend's syntax

VALID = [
    # text, (id, extended, remote, error, fd, brs, esi, dlc, data)
    ("123#DEADBEEF", (0x123, False, False, False, False, False, False, 4, "deadbeef")),
    ("1FFFFFFF#0102", (0x1FFFFFFF, True, False, False, False, False, False, 2, "0102")),
    ("00000123#", (0x123, True, False, False, False, False, False, 0, "")),
    ("7ff#aa.bb.cc", (0x7FF, False, False, False, False, False, False, 3, "aabbcc")),
    ("123#.11.22.", (0x123, False, False, False, False, False, False, 2, "1122")),
    ("123#R", (0x123, False, True, False, False, False, False, 0, "")),
    ("123#r8", (0x123, False, True, False, False, False, False, 8, "")),
    ("00ABCDEF#R3", (0xABCDEF, True, True, False, False, False, False, 3, "")),
    ("123##1AABB", (0x123, False, False, False, True, True, False, 2, "aabb")),
    ("123##3", (0x123, False, False, False, True, True, True, 0, "")),
    ("123##5" + "00" * 64, (0x123, False, False, False, True, True, False, 64, "00" * 64)),
    ("20000040#0000000000000000", (0x40, False, False, True, False, False, False, 8, "00" * 8)),
    ("3FFFFFFF#", (0x1FFFFFFF, True, False, True, False, False, False, 0, "")),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[text for text, _ in VALID])
def test_parse_frame(formats: Formats, text: str, expected: tuple[object, ...]) -> None:
    msg = formats.parse_frame(text)
    assert frame_fields(msg) == expected
    assert (msg.timestamp, msg.channel, msg.is_rx) == (0.0, None, True), "as Message() has them"


MALFORMED = [
    ("", "there is no '#' after the ID"),
    ("123DEADBEEF", "there is no '#' after the ID"),
    ("12G#00", "the ID '12G' is not hexadecimal"),
    ("12#00", "the ID '12' must have 3 hex digits (standard), 8 (extended) or 5 (CAN XL: "),
    ("1234#00", "the ID '1234' must have 3 hex digits"),
    ("800#00", "the standard (11-bit) ID '800' is out of range: must be 000..7FF"),
    ("9FFFFFFF#00", "the extended (29-bit) ID '9FFFFFFF' is out of range"),
    ("123#0", "the data '0' has an odd number of hex digits"),
    ("123#DEADBEEZ", "the data 'DEADBEEZ' is not hexadecimal"),
    ("123#11..22", "the data '11..22' has a misplaced '.'"),
    ("123#1.122", "the data '1.122' has a misplaced '.'"),
    ("123#001122334455667788", "the data is 9 bytes, but a classic CAN frame carries at most 8"),
    ("123##1" + "00" * 65, "the data is 65 bytes, but a CAN FD frame carries at most 64"),
    ("123##", "the CAN FD flags digit is missing after '##'"),
    ("123##G00", "the CAN FD flags 'G' are not a hex digit"),
    ("123#R9", "the remote frame's length 'R9' must be R or R0..R8"),
    ("123#R11", "the remote frame's length 'R11' must be R or R0..R8"),
    ("20000040#R", "an error frame cannot be a remote frame"),
    ("20000040##1", "an error frame cannot be a CAN FD frame"),
    ("123#DE AD", "the data 'DE AD' is not hexadecimal"),
    ("1\x003#00", "the ID '1\\x003' is not hexadecimal"),
]

# ---- CAN XL: lib.h's example, and each part malformed

XL_EXAMPLE = "45123#81:00:12345678#11223344.556677"


def test_parse_can_xl_as_lib_h_documents(formats: Formats) -> None:
    """VCID 0x45, priority 0x123, flags 0x81 (XLF and SEC), SDT 0x00, AF 0x12345678, 7 bytes."""
    msg = formats.parse_frame(XL_EXAMPLE)
    fields = (0x123, False, False, False, False, False, False, 7, "11223344556677")
    assert xl_frame_fields(msg) == (*fields, True, 0x00, 0x12345678, True, 0x45)
    assert (msg.timestamp, msg.channel, msg.is_rx) == (0.0, None, True)


XL_VALID = [
    # text, (priority, dlc, data, sdu_type, acceptance_field, sec, vcid)
    ("00000#00:00:00000000#00", (0, 1, "00", 0, 0, False, 0)),
    ("007ff#01:ff:ffffffff#aa.bb", (0x7FF, 2, "aabb", 0xFF, 0xFFFFFFFF, True, 0)),
    ("FF001#80:0A:00000001#.11.", (1, 1, "11", 0x0A, 1, False, 0xFF)),
    ("12345#80:00:00000000#" + "AB" * 2048, (0x345, 2048, "ab" * 2048, 0, 0, False, 0x12)),
]


@pytest.mark.parametrize(("text", "expected"), XL_VALID, ids=[text[:30] for text, _ in XL_VALID])
def test_parse_can_xl(formats: Formats, text: str, expected: tuple[object, ...]) -> None:
    """XLF is implied: flags 00 and 01 are read as 80 and 81."""
    prio, dlc, data, sdt, af, sec, vcid = expected
    fields = (prio, False, False, False, False, False, False, dlc, data)
    assert xl_frame_fields(formats.parse_frame(text)) == (*fields, True, sdt, af, sec, vcid)


XL_MALFORMED = [
    ("4512G#80:00:00000000#11", "the ID '4512G' is not hexadecimal"),
    ("45800#80:00:00000000#11", "the CAN XL priority ID '800' is out of range: must be 000..7FF"),
    ("45123#80:00:00000000", "there is no '#' after the CAN XL header (expected e.g. 45123#81:"),
    ("45123#", "there is no '#' after the CAN XL header"),
    ("45123#1122", "there is no '#' after the CAN XL header"),
    ("45123#8000:00000000#11", "the CAN XL header '8000:00000000' must be FLAGS:SDT:AF in 2, 2"),
    ("45123#80.00:00000000#11", "the CAN XL header '80.00:00000000' must be FLAGS:SDT:AF"),
    ("45123#80:00:0000000#11", "the CAN XL header '80:00:0000000' must be FLAGS:SDT:AF"),
    ("45123#80:00:00000000:00#11", "the CAN XL header '80:00:00000000:00' must be FLAGS:SDT:AF"),
    ("45123#80:é:00000000#11", "the CAN XL header '80:é:00000000' must be FLAGS:SDT:AF"),
    ("45123#8G:00:00000000#11", "the CAN XL flags byte '8G' is not hexadecimal"),
    ("45123#80:0x:00000000#11", "the CAN XL SDU type '0x' is not hexadecimal"),
    ("45123#80:00:0000000Z#11", "the CAN XL acceptance field '0000000Z' is not hexadecimal"),
    (
        "45123#82:00:00000000#11",
        "the CAN XL flags '82' set bits other than XLF (80) and SEC (01), which ferrocan "
        "cannot represent (RRS, 02, included)",
    ),
    ("45123#C0:00:00000000#11", "the CAN XL flags 'C0' set bits other than XLF (80) and SEC"),
    ("45123#80:00:00000000#", "the data is empty, but a CAN XL frame carries 1 to 2048 bytes"),
    ("45123#80:00:00000000#.", "the data is empty, but a CAN XL frame carries 1 to 2048 bytes"),
    ("45123#80:00:00000000#112", "the data '112' has an odd number of hex digits (2 per byte)"),
    ("45123#80:00:00000000#11#22", "the data '11#22' is not hexadecimal"),
    ("45123#80:00:00000000#11..22", "the data '11..22' has a misplaced '.'"),
    (
        "45123#80:00:00000000#" + "00" * 2049,
        "the data is 2049 bytes, but a CAN XL frame carries at most 2048",
    ),
]
MALFORMED += XL_MALFORMED


@pytest.mark.parametrize(("text", "problem"), MALFORMED, ids=[text[:40] for text, _ in MALFORMED])
def test_parse_frame_names_the_problem(formats: Formats, text: str, problem: str) -> None:
    with pytest.raises(ValueError) as error:
        formats.parse_frame(text)
    assert str(error.value).startswith(f"malformed CAN frame {text!r}: {problem}")


FORMATTED = [
    (Message(arbitration_id=0x123, is_extended_id=False, data=b"\xde\xad"), "123#DEAD"),
    (Message(arbitration_id=0x123, data=b""), "00000123#"),
    (Message(arbitration_id=0x7FF, is_extended_id=False, is_remote_frame=True), "7FF#R"),
    (Message(arbitration_id=0x7FF, is_extended_id=False, is_remote_frame=True, dlc=3), "7FF#R3"),
    (Message(arbitration_id=0x1, is_extended_id=False, is_fd=True, data=b"\x01"), "001##401"),
    (
        Message(arbitration_id=0x1, is_fd=True, bitrate_switch=True, error_state_indicator=True),
        "00000001##7",
    ),
    (
        Message(arbitration_id=0x40, is_extended_id=False, is_error_frame=True, data=bytes(8)),
        "20000040#0000000000000000",
    ),
    (
        Message(
            arbitration_id=0x123,
            data=bytes.fromhex("11223344556677"),
            is_xl=True,
            acceptance_field=0x12345678,
            simple_extended_content=True,
            vcid=0x45,
        ),
        "45123#81:00:12345678#11223344556677",  # lib.h's example; candump -L has no dots
    ),
    (
        Message(arbitration_id=0x7FF, data=b"\x01", is_xl=True, sdu_type=0x0A),
        "007FF#80:0A:00000000#01",
    ),
]


@pytest.mark.parametrize(("msg", "text"), FORMATTED, ids=[text for _, text in FORMATTED])
def test_format_frame(formats: Formats, msg: Message, text: str) -> None:
    """As candump -L prints frames: FD flags with FDF (4), as the kernel
    delivers them; CAN XL flags with XLF (80), as lib.c prints them."""
    assert formats.format_frame(msg) == text


def test_format_frame_refuses_what_is_no_message(formats: Formats) -> None:
    expected = "format_frame() expects a ferrocan.Message or a can.Message, got int"
    with pytest.raises(TypeError) as raised:
        formats.format_frame(5)  # type: ignore[arg-type]
    assert str(raised.value) == expected


def test_format_frame_checks_a_message_changed_after_construction(formats: Formats) -> None:
    msg = Message(arbitration_id=0x123, is_extended_id=False)
    msg.arbitration_id = -1
    with pytest.raises(ValueError, match=r"arbitration_id -0x1 is out of range"):
        formats.format_frame(msg)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    """Any frame cansend's syntax can carry."""
    kind = draw(st.sampled_from(["data", "remote", "fd", "error", "xl"]))
    if kind == "xl":
        return Message(
            arbitration_id=draw(st.integers(0, 0x7FF)),
            data=draw(st.binary(min_size=1, max_size=draw(st.sampled_from([8, 64, 2048])))),
            is_xl=True,
            sdu_type=draw(st.integers(0, 0xFF)),
            acceptance_field=draw(st.integers(0, 0xFFFFFFFF)),
            simple_extended_content=draw(st.booleans()),
            vcid=draw(st.integers(0, 0xFF)),
        )
    extended = draw(st.booleans()) and kind != "error"
    can_id = draw(st.integers(0, 0x1FFFFFFF if extended else 0x7FF))
    if kind == "remote":
        dlc = draw(st.integers(0, 8))
        return Message(
            arbitration_id=can_id, is_extended_id=extended, is_remote_frame=True, dlc=dlc
        )
    return Message(
        arbitration_id=can_id,
        is_extended_id=extended,
        is_error_frame=kind == "error",
        is_fd=kind == "fd",
        bitrate_switch=kind == "fd" and draw(st.booleans()),
        error_state_indicator=kind == "fd" and draw(st.booleans()),
        data=draw(st.binary(max_size=64 if kind == "fd" else 8)),
    )


@given(messages())
def test_frames_survive_a_round_trip(formats: Formats, msg: Message) -> None:
    text = formats.format_frame(msg)
    assert xl_frame_fields(formats.parse_frame(text)) == xl_frame_fields(msg)
    assert formats.format_frame(formats.parse_frame(text)) == text


# ---------------------------------------------------------------- candump's log line


def test_parse_line(public: None) -> None:
    entry = candump_log.parse_line("(1795505855.998830) vcan0 123##5AABB\n")
    assert (entry.timestamp, entry.channel) == (1795505855.998830, "vcan0")
    assert frame_fields(entry.message) == (0x123, False, False, False, True, True, False, 2, "aabb")
    assert (entry.message.timestamp, entry.message.channel) == (entry.timestamp, "vcan0")


def test_parse_a_can_xl_line(public: None) -> None:
    entry = candump_log.parse_line("(1795505855.998830) vcan0 45123#81:00:12345678#112233\n")
    assert (entry.timestamp, entry.channel) == (1795505855.998830, "vcan0")
    fields = (0x123, False, False, False, False, False, False, 3, "112233")
    assert xl_frame_fields(entry.message) == (*fields, True, 0, 0x12345678, True, 0x45)


def test_format_line_pads_as_candump(public: None) -> None:
    msg = Message(arbitration_id=0x123, is_extended_id=False, data=b"\x01")
    assert format_line(LogEntry(0.5, "vcan0", msg)) == "(0000000000.500000) vcan0 123#01"
    assert format_line(LogEntry(1.0, "can0", msg), width=5) == "(0000000001.000000)  can0 123#01"


def test_a_log_entry_of_a_message_names_its_interface() -> None:
    msg = Message(arbitration_id=0x123, is_extended_id=False, timestamp=2.5, channel="vcan1")
    assert LogEntry.of(msg) == (2.5, "vcan1", msg)
    msg.channel = None
    with pytest.raises(ValueError, match=r"the message's channel is None; give it one"):
        LogEntry.of(msg)


BAD_LINES = [
    ("vcan0 123#00", "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME', got 'vcan0 123#00'"),
    ("(1.5) vcan0", "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME'"),
    ("(1.5) vcan0 123#00 R", "expected '(SECONDS.MICROSECONDS) INTERFACE FRAME'"),
    ("(1,5) vcan0 123#00", "the timestamp '(1,5)' must be (SECONDS.MICROSECONDS)"),
    ("(-1.5) vcan0 123#00", "the timestamp '(-1.5)' must be (SECONDS.MICROSECONDS)"),
    ("(1.5 vcan0 123#00", "the timestamp '(1.5' must be (SECONDS.MICROSECONDS)"),
    (f"({'9' * 400}.0) vcan0 123#00", "is too large"),
    ("(1.5) averyveryverylongname 123#00", "Linux interface names are at most 15 bytes"),
    ("(1.5) a\0b 123#00", "channel 'a\\x00b' contains a NUL byte"),
    ("(1.5) vcan0 12G#00", "malformed CAN frame '12G#00': the ID '12G' is not hexadecimal"),
    ("(1.5) vcan0 45123#82:00:00000000#11", "the CAN XL flags '82' set bits other than XLF"),
]


@pytest.mark.parametrize(("line", "problem"), BAD_LINES)
def test_parse_line_names_the_line_and_problem(public: None, line: str, problem: str) -> None:
    with pytest.raises(ValueError) as error:
        candump_log.parse_line(line, 7)
    assert str(error.value).startswith("line 7: ")
    assert problem in str(error.value)


def test_read_log_skips_what_canplayer_skips_and_numbers_lines(public: None) -> None:
    log = "# a comment\n\n(1.000001) vcan0 123#01\nDROPCOUNT: dropped 1 CAN frame\n(2.5) x 7\n"
    entries = read_log(io.StringIO(log))
    assert candump_log.format_frame(next(entries).message) == "123#01"
    with pytest.raises(ValueError, match=r"^line 5: malformed CAN frame '7'"):
        next(entries)


def test_logs_survive_a_round_trip(public: None) -> None:
    lines = [
        "(1795505855.998830) vcan0 123#DEADBEEF",
        "(1795505855.998831) vcan1 1FFFFFFF#R3",
        "(1795505856.000000) vcan0 123##7" + "11" * 12,
        "(1795505856.100000) vcan0 20000004#0004000000000000",
        "(1795505856.200000) vcan1 45123#81:00:12345678#112233",
        "(1795505856.300000) vcan1 007FF#80:FF:FFFFFFFF#" + "5A" * 2048,
    ]
    out = io.StringIO()
    assert write_log(out, read_log(lines)) == 6
    assert out.getvalue() == "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------- the implementations agree


def outcome(parse: Callable[[str], Any], text: str) -> tuple[object, ...]:
    """What parsing gives: every attribute of the message(s), or the error."""
    try:
        result = parse(text)
    except ValueError as error:
        return ("ValueError", str(error))
    if isinstance(result, tuple):
        timestamp, channel, msg = result
        return ("line", timestamp, channel, everything(msg))
    return ("frame", everything(result))


def agree(text: str) -> None:
    rust = native()
    assert outcome(rust.parse_frame, text) == outcome(PYTHON.parse_frame, text)
    assert outcome(rust.parse_line, text) == outcome(PYTHON.parse_line, text)


#: Python and Rust escape the same characters in reprs, except those that one
#: Unicode version assigns and the other does not (Python 3.11 has Unicode 14,
#: Rust 1.95 has 17): hypothesis leaves out what Python thinks unassigned.
CHARACTERS = st.characters(exclude_categories=("Cs", "Cn"))
HEX = "0123456789abcdefABCDEF"
SPACES = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u3000"

ids = st.one_of(
    st.text(HEX, min_size=3, max_size=3),
    st.text(HEX, min_size=8, max_size=8),
    st.text(HEX, min_size=5, max_size=5),
    st.text(HEX, max_size=9),
    st.sampled_from(["7FF", "800", "1FFFFFFF", "20000040", "3FFFFFFF", "60000000", "A0000000"]),
    st.sampled_from(["007FF", "FF800", "45123"]),
)
xl_headers = st.one_of(
    st.tuples(
        st.text(HEX, min_size=2, max_size=2),
        st.text(HEX, min_size=2, max_size=2),
        st.text(HEX, min_size=8, max_size=8),
    ).map(":".join),
    st.sampled_from(["80:00:00000000", "81:FF:FFFFFFFF", "01:00:00000000", "82:00:00000000"]),
    st.lists(st.sampled_from(["0", "8", "1", ":", "#", "G", "é", "."]), max_size=16).map("".join),
)
data_pieces = st.one_of(
    st.text(HEX, min_size=2, max_size=2),
    st.sampled_from(["", ".", "..", "0", "R", "#", " ", "G", "é", "\x00"]),
)
data = st.one_of(
    st.lists(data_pieces, max_size=20).map("".join),
    st.text(HEX + ".", max_size=140),
    st.text(CHARACTERS, max_size=8),
)


@st.composite
def frame_texts(draw: st.DrawFn) -> str:
    """Text shaped like cansend's syntax, often valid, often nearly so."""
    ident = draw(ids)
    kind = draw(st.sampled_from(["#", "#", "#R", "#r", "##", "", "###", "#XL#", "#XL#"]))
    length = draw(st.sampled_from(["", "0", "8", "9", "88", "é"])) if kind.endswith("R") else ""
    flags = draw(st.sampled_from(["", "0", "1", "5", "f", "G", "."])) if kind == "##" else ""
    if kind == "#XL#":
        kind = "#" + draw(xl_headers) + draw(st.sampled_from(["#", "#", ""]))
    return ident + kind + length + flags + draw(data)


stamps = st.one_of(
    st.from_regex(r"\([0-9]{1,12}\.[0-9]{1,9}\)", fullmatch=True),
    st.sampled_from(["(1.5", "(.5)", "(1.)", "(1,5)", "(-1.5)", "()", "(", "(1e5.0)"]),
    st.just(f"({'9' * 400}.0)"),
    st.text(CHARACTERS, max_size=10).map(lambda text: "(" + text),
)
channels = st.one_of(
    st.sampled_from(["vcan0", "can0", "a" * 15, "a" * 16, "é" * 7, "é" * 8, "a\0b", "any"]),
    st.text(CHARACTERS, min_size=1, max_size=20),
)
spaces = st.text(SPACES, min_size=1, max_size=3)


@st.composite
def log_lines(draw: st.DrawFn) -> str:
    """Text shaped like a line of candump's log."""
    parts = [draw(stamps), draw(channels), draw(frame_texts())]
    parts += draw(st.lists(st.text(CHARACTERS, min_size=1, max_size=5), max_size=1))
    separators = [draw(spaces) for _ in parts]
    return draw(st.sampled_from(["", " "])) + "".join(
        part + separator for part, separator in zip(parts, separators)
    )


#: The differential tests are cheap: let them look further than the default 100.
AGREE = settings(max_examples=1000)


@AGREE
@given(st.text(CHARACTERS))
def test_agree_on_any_text(text: str) -> None:
    agree(text)


@AGREE
@given(frame_texts())
def test_agree_on_frame_texts(text: str) -> None:
    agree(text)


@AGREE
@given(log_lines())
def test_agree_on_log_lines(line: str) -> None:
    agree(line)


@given(messages())
def test_format_frame_agrees(msg: Message) -> None:
    assert native().format_frame(msg) == PYTHON.format_frame(msg)


@given(frame_texts())
def test_parsed_text_survives_formatting(text: str) -> None:
    for formats in (native(), PYTHON):
        try:
            msg = formats.parse_frame(text)
        except ValueError:
            continue
        again = formats.parse_frame(formats.format_frame(msg))
        assert everything(again) == everything(msg)


def every_character() -> Iterator[str]:
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) not in ("Cs", "Cn"):
            yield char


def test_every_character_is_quoted_alike() -> None:
    """Python's repr() of every assigned character, in an error text."""
    chars = "".join(every_character())
    for start in range(0, len(chars), 1000):
        agree(f"123#{chars[start : start + 1000]}")


def test_every_separator_splits_alike() -> None:
    """str.split()'s whitespace; Python has none above U+3000."""
    assert not [c for c in every_character() if c.isspace() and c > "\u3000"]
    for char in every_character():
        if char <= "\u3000":
            agree(f"(1.5){char}vcan0{char}123#00")
