"""Every error text and argument check of the Python side, in one place.

``docs/errors.md`` is the specification of these texts; the native backend's
own come from the Rust core (``src/error.rs``), and ``tests/test_bad_input.py``
keeps the two backends equal. Everything here raises or returns one of
:mod:`ferrocan.exceptions`' classes, or ``TypeError`` / ``ValueError``.
"""

from __future__ import annotations

import errno
import os
import sys

from ferrocan.exceptions import CanInitializationError, CanOperationError

_NO_SOCKETCAN = (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT)

#: Longest interface name Linux accepts (IFNAMSIZ less the NUL).
MAX_NAME_BYTES = 15


def check_channel(channel: object) -> str:
    """`channel` if it can name an interface, else a clear TypeError or ValueError."""
    if not isinstance(channel, str):
        raise TypeError(
            "channel must be a str naming a CAN interface, such as 'can0', "
            f"got {type(channel).__name__}"
        )
    if "\0" in channel:
        raise ValueError(f"channel {channel!r} contains a NUL byte; interface names cannot")
    size = len(channel.encode())
    if size > MAX_NAME_BYTES:
        raise ValueError(
            f"channel {channel!r} is {size} bytes long; "
            f"Linux interface names are at most {MAX_NAME_BYTES} bytes"
        )
    return channel


def check_flag(name: str, value: object) -> bool:
    """A yes/no keyword: a bool, or 0 or 1 as python-can's truth tests take them."""
    if isinstance(value, int) and value in (0, 1):  # bool is an int
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_timestamping(timestamping: object) -> None:
    if timestamping not in ("software", "hardware") or not isinstance(timestamping, str):
        raise ValueError(f"timestamping must be 'software' or 'hardware', got {timestamping!r}")


def check_batch_size(max_messages: object) -> int:
    """``recv_batch``'s limit: an int of at least 1 (a huge one means no limit)."""
    if isinstance(max_messages, bool) or not isinstance(max_messages, int):
        raise TypeError(f"max_messages must be an int, got {type(max_messages).__name__}")
    if max_messages < 1:
        raise ValueError(f"max_messages must be at least 1, got {max_messages}")
    return min(max_messages, sys.maxsize)


def check_timeout(timeout: object) -> None:
    """Refuse anything but ``None`` or a number of seconds >= 0 (infinity included)."""
    if timeout is None:
        return
    if not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be None or a number of seconds, got {type(timeout).__name__}"
        )
    if not timeout >= 0:  # also true for NaN
        raise ValueError(
            f"timeout must be None or a number of seconds >= 0, got {float(timeout)!r}"
        )


def shut_down(channel: str) -> CanOperationError:
    return CanOperationError(
        f"the bus on '{channel}' is shut down; open a new Bus to use the interface again"
    )


def fd_not_enabled(channel: str) -> CanOperationError:
    return CanOperationError(
        f"cannot send a CAN FD frame on '{channel}': open the bus with fd=True"
    )


def xl_not_enabled(channel: str) -> CanOperationError:
    return CanOperationError(
        f"cannot send a CAN XL frame on '{channel}': open the bus with xl=True"
    )


def xl_mtu(channel: str, mtu: int) -> CanOperationError:
    """The kernel refused a CAN XL frame because ``channel``'s MTU is ``mtu``."""
    return CanOperationError(
        f"cannot send a CAN XL frame on '{channel}': its MTU is {mtu}, and CAN XL needs "
        f"2060 (ip link set {channel} mtu 2060)"
    )


def vcid_not_supported(channel: str, vcid: int) -> CanOperationError:
    return CanOperationError(
        f"cannot send vcid={vcid} on '{channel}': VCIDs need Linux 6.9 or later"
    )


def xl_not_periodic() -> ValueError:
    return ValueError(
        "send_periodic cannot send CAN XL frames: the kernel's CAN_BCM has no CAN XL support"
    )


def transmit_buffer_full(channel: str, timeout: float) -> CanOperationError:
    return CanOperationError(
        f"transmit buffer full on '{channel}': the frame was not taken within {float(timeout)!r} s",
        errno.ENOBUFS,
    )


def transmit_failed(channel: str, code: int) -> CanOperationError:
    return CanOperationError(
        f"failed to transmit on '{channel}': {os.strerror(code)}{_hint(channel, code)}", code
    )


def receive_failed(channel: str, code: int) -> CanOperationError:
    return CanOperationError(
        f"failed to receive on '{channel}': {os.strerror(code)}{_hint(channel, code)}", code
    )


def filters_failed(channel: str, code: int) -> CanOperationError:
    return CanOperationError(
        f"failed to set filters on '{channel}': {os.strerror(code)}{_hint(channel, code)}", code
    )


def _hint(channel: str, code: int) -> str:
    if code == errno.ENETDOWN:
        return f"; the interface is down, bring it up with: sudo ip link set {channel} up"
    if code in (errno.ENODEV, errno.ENXIO, errno.ENOTCONN):
        return "; the interface has gone, open a new Bus once it exists again"
    return ""


def no_such_interface(channel: str) -> CanInitializationError:
    return CanInitializationError(
        f"CAN interface '{channel}' does not exist; create a virtual one with: "
        f"sudo ip link add dev {channel} type vcan && sudo ip link set {channel} up",
        errno.ENODEV,
    )


def not_can_interface(channel: str) -> CanInitializationError:
    return CanInitializationError(f"interface '{channel}' is not a CAN interface", errno.ENODEV)


def open_failed(channel: str, code: int, module: str = "can-raw") -> CanInitializationError:
    """Why ``socket()``, ``setsockopt()``, ``bind()`` or ``connect()`` failed,
    other than a missing interface; ``module`` provides the protocol."""
    if code in _NO_SOCKETCAN:
        return CanInitializationError(
            f"this kernel does not support SocketCAN: {os.strerror(code)}; "
            f"load it with: sudo modprobe {module}",
            code,
        )
    return CanInitializationError(
        f"cannot open CAN interface '{channel}': {os.strerror(code)}", code
    )


def xl_not_supported() -> CanInitializationError:
    return CanInitializationError(
        f"CAN XL needs Linux 6.2 or later (CAN_RAW_XL_FRAMES); this kernel is {os.uname().release}"
    )


def vcids_not_supported() -> CanInitializationError:
    return CanInitializationError(
        "tx_vcid and rx_vcid need Linux 6.9 or later (CAN_RAW_XL_VCID_OPTS); "
        f"this kernel is {os.uname().release}"
    )


def check_vcids(xl: bool, tx_vcid: object, rx_vcid: object) -> None:
    """``tx_vcid``: None or an int (not a bool) in 0..255; ``rx_vcid``: None
    or a ``(vcid, mask)`` tuple of two such ints; either only with ``xl``."""
    if tx_vcid is not None:
        _check_tx_vcid(tx_vcid)
    if rx_vcid is not None:
        _check_rx_vcid(rx_vcid)
    for name, value in (("tx_vcid", tx_vcid), ("rx_vcid", rx_vcid)):
        if value is not None and not xl:
            raise ValueError(f"{name} requires xl=True")


def _check_tx_vcid(tx_vcid: object) -> None:
    if not isinstance(tx_vcid, int) or isinstance(tx_vcid, bool):
        raise TypeError(f"tx_vcid must be an int in 0..255 or None, got {type(tx_vcid).__name__}")
    if not 0 <= tx_vcid <= 255:
        raise ValueError(f"tx_vcid {tx_vcid} is out of range: must be in 0..255 or None")


def _check_rx_vcid(rx_vcid: object) -> None:
    if not (isinstance(rx_vcid, tuple) and len(rx_vcid) == 2 and all(map(_is_int, rx_vcid))):
        raise TypeError(
            f"rx_vcid must be a (vcid, mask) tuple of two ints in 0..255, or None, got {rx_vcid!r}"
        )
    if not all(0 <= value <= 255 for value in rx_vcid):
        raise ValueError(
            f"rx_vcid {rx_vcid!r} is out of range: its vcid and mask must be in 0..255"
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_receive_buffer_size(size: object) -> None:
    """Refuse anything but ``None`` or an int (not a bool) of at least 1 (bytes)."""
    if size is None:
        return
    if not isinstance(size, int) or isinstance(size, bool):
        raise TypeError(f"receive_buffer_size must be an int (bytes), got {type(size).__name__}")
    if size < 1:
        raise ValueError(f"receive_buffer_size must be at least 1 byte, got {size}")


def no_hardware_timestamps(channel: str) -> CanInitializationError:
    return CanInitializationError(
        f"'{channel}' has no hardware timestamps (its driver reports no "
        "SOF_TIMESTAMPING_RX_HARDWARE); use timestamping='software'"
    )


def error_code_to_str(code: int | None) -> str:
    """Explains an ``errno``, as python-can's
    ``can.interfaces.socketcan.utils.error_code_to_str`` does: ``"NAME (errno
    code): description"``, e.g. ``"ENODEV (errno 19): No such device"``;
    ``UNKNOWN`` for a number that is no errno. For the error classes of an
    error frame, see :func:`ferrocan.error_class_to_str`.
    """
    name = errno.errorcode.get(code, "UNKNOWN") if code is not None else "UNKNOWN"
    description = os.strerror(code) if code is not None else "NO DESCRIPTION AVAILABLE"
    return f"{name} (errno {code}): {description}"


def no_interface_to_send() -> ValueError:
    return ValueError(
        "a bus on every interface (channel='') sends a message only where "
        "msg.channel names the interface, e.g. msg.channel = 'can0'"
    )
