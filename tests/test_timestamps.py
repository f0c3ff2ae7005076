"""The ctypes backend's timestamp parsing (``RxBuffer.timestamp``) on
ancillary data built here as the kernel lays it out.

With ``timestamping='hardware'`` the socket gets SCM_TIMESTAMPING (struct
scm_timestamping: three timespecs, the third the device's raw clock) rather
than SCM_TIMESTAMPNS. vcan has no hardware clock and refuses that mode, so the
bytes are synthetic; one test checks their layout against a cmsg this kernel
writes (SO_TIMESTAMPING with software receive stamps, which vcan does give).
The Rust parser has the same tests in ``src/rx_buffer.rs``.
"""

from __future__ import annotations

import select
import socket
import struct
import time

from ferrocan._ctypes import libc
from ferrocan._ctypes.rx_buffer import RxBuffer

TIMESPEC = struct.Struct("@ll")
CMSG_HEADER = struct.Struct("@Nii")  # cmsg_len, cmsg_level, cmsg_type
SOF_TIMESTAMPING_RX_SOFTWARE = 1 << 3
SOF_TIMESTAMPING_SOFTWARE = 1 << 4


def cmsg(level: int, kind: int, payload: bytes) -> bytes:
    """One cmsg as the kernel writes it: header, payload, padding to CMSG_SPACE."""
    header = CMSG_HEADER.pack(socket.CMSG_LEN(len(payload)), level, kind)
    data = header.ljust(socket.CMSG_LEN(0), b"\0") + payload
    return data.ljust(socket.CMSG_SPACE(len(payload)), b"\0")


def timestamping(software: tuple[int, int], hardware: tuple[int, int]) -> bytes:
    """struct scm_timestamping: software, legacy (zero), raw hardware."""
    return TIMESPEC.pack(*software) + TIMESPEC.pack(0, 0) + TIMESPEC.pack(*hardware)


def stamp_of(control: bytes) -> float:
    """``timestamp()`` of buffers whose last recvmsg left ``control``."""
    buffers = RxBuffer()
    assert len(control) <= len(buffers._control), "the control buffer is too small"
    buffers._control[: len(control)] = control
    buffers._msghdr.msg_controllen = len(control)
    return buffers.timestamp()


def test_software_stamp_from_scm_timestampns() -> None:
    control = cmsg(libc.SOL_SOCKET, libc.SCM_TIMESTAMPNS, TIMESPEC.pack(1_795_510_729, 732_943_000))
    assert stamp_of(control) == 1_795_510_729.732943


def test_hardware_stamp_is_the_raw_third_timespec_of_scm_timestamping() -> None:
    payload = timestamping(software=(1_795_510_729, 1), hardware=(4_242, 500_000_000))
    assert stamp_of(cmsg(libc.SOL_SOCKET, libc.SCM_TIMESTAMPING, payload)) == 4_242.5


def test_no_ancillary_data_is_no_stamp() -> None:
    assert stamp_of(b"") == 0.0


def test_the_synthetic_layout_is_the_kernel_s() -> None:
    """SO_TIMESTAMPING with software receive stamps, on vcan0: the kernel's
    SCM_TIMESTAMPING cmsg has the header and size built above, its first
    timespec is now, and ``timestamp()`` reads the third (zero: no hardware
    clock) as it would the device's."""
    with socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW) as receiver:
        receiver.bind(("vcan0",))
        receiver.setsockopt(
            socket.SOL_SOCKET,
            libc.SO_TIMESTAMPING,
            SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE,
        )
        with socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW) as sender:
            sender.bind(("vcan0",))
            before = time.time()
            sender.send(struct.pack("=IB3x8s", 0x123, 2, b"\x01\x02"))
        readable, _, _ = select.select([receiver], [], [], 2.0)
        assert readable, "the frame did not arrive"
        buffers = RxBuffer()
        assert buffers.recvmsg(receiver.fileno()) == 16
        control = bytes(buffers._control[: buffers._msghdr.msg_controllen])

    length, level, kind = CMSG_HEADER.unpack_from(control)
    assert (level, kind) == (libc.SOL_SOCKET, libc.SCM_TIMESTAMPING)
    assert length == socket.CMSG_LEN(3 * TIMESPEC.size)
    assert len(control) == socket.CMSG_SPACE(3 * TIMESPEC.size)
    software = TIMESPEC.unpack_from(control, socket.CMSG_LEN(0))
    assert before - 1 <= software[0] + software[1] * 1e-9 <= time.time() + 1
    assert control == cmsg(libc.SOL_SOCKET, libc.SCM_TIMESTAMPING, timestamping(software, (0, 0)))
    assert buffers.timestamp() == 0.0
