"""How a message presents itself: python-can's ``str(msg)``, ``repr(msg)``
and ``Message.equals``, written once for both ``Message`` implementations
(the native one calls these functions). Each takes any object with
python-can's message attributes; one without the CAN XL attributes (a
python-can ``can.Message``) reads as a message that is not CAN XL.
"""

from __future__ import annotations

from typing import Any

__all__ = ["XL_FIELDS", "equals", "format_repr", "format_str", "xl_fields"]

#: The CAN XL fields of a ferrocan message, which python-can's has not.
XL_FIELDS = ("is_xl", "sdu_type", "acceptance_field", "simple_extended_content", "vcid")
#: Their values on a message that is not CAN XL.
_XL_DEFAULTS = (False, 0, 0, False, 0)


def xl_fields(msg: Any) -> tuple[Any, ...]:
    """``msg``'s CAN XL fields, in ``XL_FIELDS`` order; the defaults where it has none."""
    return tuple(getattr(msg, name, default) for name, default in zip(XL_FIELDS, _XL_DEFAULTS))


def format_str(msg: Any) -> str:
    """python-can's ``str(msg)``: one aligned line, as ``can.Printer`` shows it."""
    field_strings = [f"Timestamp: {msg.timestamp:>15.6f}"]
    if msg.is_extended_id:
        arbitration_id_string = f"{msg.arbitration_id:08x}"
    else:
        arbitration_id_string = f"{msg.arbitration_id:03x}"
    field_strings.append(f"ID: {arbitration_id_string:>8}")
    is_xl, sdu_type, acceptance_field, simple_extended_content, vcid = xl_fields(msg)
    flags = [
        "X" if msg.is_extended_id else "S",
        "Rx" if msg.is_rx else "Tx",
        "E" if msg.is_error_frame else " ",
        "R" if msg.is_remote_frame else " ",
    ]
    if is_xl:
        # Where a CAN FD frame shows F, BS and EI: XL and SEC, as wide.
        flags.append(f"XL {'SEC' if simple_extended_content else '   '} ")
    else:
        flags += [
            "F" if msg.is_fd else " ",
            "BS" if msg.bitrate_switch else "  ",
            "EI" if msg.error_state_indicator else "  ",
        ]
    field_strings.append(" ".join(flags))
    field_strings.append(f"DL: {msg.dlc:2d}")
    data = msg.data
    data_string = data[: min(msg.dlc, len(data))].hex(" ")
    field_strings.append(data_string.ljust(24, " ") if data_string else " " * 24)
    if data.isalnum():
        field_strings.append(f"'{data.decode('utf-8', 'replace')}'")
    if is_xl:
        field_strings.append(f"SDT: {sdu_type:#04x} AF: {acceptance_field:#010x} VCID: {vcid:#04x}")
    if msg.channel is not None:
        field_strings.append(f"Channel: {msg.channel}")
    return "    ".join(field_strings).strip()


def format_repr(msg: Any) -> str:
    """python-can's ``repr(msg)``, naming ``ferrocan.Message``."""
    args = [
        f"timestamp={msg.timestamp}",
        f"arbitration_id={msg.arbitration_id:#x}",
        f"is_extended_id={msg.is_extended_id}",
    ]
    if not msg.is_rx:
        args.append("is_rx=False")
    if msg.is_remote_frame:
        args.append(f"is_remote_frame={msg.is_remote_frame}")
    if msg.is_error_frame:
        args.append(f"is_error_frame={msg.is_error_frame}")
    if msg.channel is not None:
        args.append(f"channel={msg.channel!r}")
    data = [f"{byte:#02x}" for byte in msg.data]
    args += [f"dlc={msg.dlc}", f"data=[{', '.join(data)}]"]
    if msg.is_fd:
        args.append("is_fd=True")
        args.append(f"bitrate_switch={msg.bitrate_switch}")
        args.append(f"error_state_indicator={msg.error_state_indicator}")
    is_xl, sdu_type, acceptance_field, simple_extended_content, vcid = xl_fields(msg)
    if is_xl:
        args.append("is_xl=True")
        args.append(f"sdu_type={sdu_type}")
        args.append(f"acceptance_field={acceptance_field:#x}")
        args.append(f"simple_extended_content={simple_extended_content}")
        args.append(f"vcid={vcid}")
    return f"ferrocan.Message({', '.join(args)})"


def equals(
    msg: Any,
    other: Any,
    timestamp_delta: float | None = 1.0e-6,
    check_channel: bool = True,
    check_direction: bool = True,
) -> bool:
    """python-can's ``Message.equals``; see :meth:`Message.equals`."""
    return msg is other or (
        (timestamp_delta is None or abs(msg.timestamp - other.timestamp) <= timestamp_delta)
        and (msg.is_rx == other.is_rx or not check_direction)
        and msg.arbitration_id == other.arbitration_id
        and msg.is_extended_id == other.is_extended_id
        and msg.dlc == other.dlc
        and msg.data == other.data
        and msg.is_remote_frame == other.is_remote_frame
        and msg.is_error_frame == other.is_error_frame
        and (msg.channel == other.channel or not check_channel)
        and msg.is_fd == other.is_fd
        and msg.bitrate_switch == other.bitrate_switch
        and msg.error_state_indicator == other.error_state_indicator
        and xl_fields(msg) == xl_fields(other)
    )
