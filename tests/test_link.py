"""ferrocan.link against the kernel's rtnetlink, with vcan and vxcan (real
controllers' bit timing and restarts are in the QEMU tier, tests/realcan)."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import ferrocan
import pytest
from ferrocan import CanInitializationError, CanOperationError, Message, link

from .support import kernel_release

TEMP = "vcantest"
#: ``CAN_RAW_XL_FRAMES`` (linux/can/raw.h).
CAN_RAW_XL_FRAMES = 7


@pytest.fixture
def temp_vcan() -> Iterator[str]:
    link.add_vcan(TEMP)
    try:
        yield TEMP
    finally:
        subprocess.run(["ip", "link", "del", TEMP], capture_output=True)


def ip_details(name: str) -> dict[str, object]:
    out = subprocess.run(
        ["ip", "-details", "-statistics", "-json", "link", "show", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)[0]  # type: ignore[no-any-return]


def test_list_names_every_can_interface_and_nothing_else() -> None:
    names = [info.name for info in link.list()]
    assert "vcan0" in names and "vcan1" in names
    assert "lo" not in names


def test_show_agrees_with_ip(temp_vcan: str) -> None:
    link.up(temp_vcan)
    with ferrocan.Bus(temp_vcan) as tx, ferrocan.Bus(temp_vcan) as rx:
        for i in range(5):
            tx.send(Message(arbitration_id=i, data=b"\x01\x02"))
        assert len(rx.recv_batch(10, 1.0)) == 5
    ours, theirs = link.show(temp_vcan), ip_details(temp_vcan)
    assert (ours.name, ours.index, ours.mtu, ours.txqueuelen) == (
        theirs["ifname"],
        theirs["ifindex"],
        theirs["mtu"],
        theirs["txqlen"],
    )
    assert ours.kind == theirs["linkinfo"]["info_kind"] == "vcan"  # type: ignore[index]
    assert ours.up and "UP" in theirs["flags"]  # type: ignore[operator]
    assert ours.operstate == theirs["operstate"] == "UNKNOWN", "vcan has no carrier"
    assert ours.qdisc == theirs["qdisc"] and ours.carrier
    stats = theirs["stats64"]
    assert ours.statistics.tx_packets == stats["tx"]["packets"] == 5  # type: ignore[index]
    assert ours.statistics.tx_bytes == stats["tx"]["bytes"]  # type: ignore[index]
    assert ours.statistics.rx_packets == stats["rx"]["packets"]  # type: ignore[index]
    assert ours.bitrate is None and ours.state is None, "a vcan has no bit timing"
    assert (ours.bit_timing, ours.data_bit_timing, ours.ctrlmode) == (None, None, None)


def test_add_up_down_and_delete(temp_vcan: str) -> None:
    assert link.show(temp_vcan).up is False
    link.up(temp_vcan)
    assert link.show(temp_vcan).up is True
    link.down(temp_vcan)
    assert link.show(temp_vcan).up is False
    link.delete(temp_vcan)
    assert TEMP not in [info.name for info in link.list()]


def test_set_restores_the_prior_state_around_changes_that_need_down(temp_vcan: str) -> None:
    link.up(temp_vcan)
    link.set(temp_vcan, mtu=16, txqueuelen=123)
    info = link.show(temp_vcan)
    assert (info.mtu, info.fd, info.txqueuelen, info.up) == (16, False, 123, True)
    link.set(temp_vcan, mtu=72)
    assert link.show(temp_vcan).fd


def test_a_vxcan_pair_carries_frames_between_its_ends() -> None:
    link.add_vxcan("vxtest0", "vxtest1")
    try:
        assert link.show("vxtest0").kind == link.show("vxtest1").kind == "vxcan"
        link.up("vxtest0")
        assert not link.show("vxtest0").carrier, "its peer is down: nothing flows yet"
        link.up("vxtest1")
        ends = link.show("vxtest0"), link.show("vxtest1")
        assert all(end.carrier and end.operstate == "UP" for end in ends), ends
        with ferrocan.Bus("vxtest0") as near, ferrocan.Bus("vxtest1") as far:
            near.send(Message(arbitration_id=0x42))
            got = far.recv(2.0)
        assert got is not None and got.arbitration_id == 0x42
    finally:
        link.delete("vxtest0")


def test_up_returns_once_both_ends_of_a_vxcan_carry_frames() -> None:
    """Bringing up the second end gives the first its carrier too, and the
    kernel activates each end's queue asynchronously: a frame sent on the
    first end before that is dropped silently. Repeated, as the window is
    short (on kernel 7.x about one run in five lost the frame)."""
    for attempt in range(25):
        link.add_vxcan("vxtest0", "vxtest1")
        try:
            link.up("vxtest0")
            link.up("vxtest1")
            with ferrocan.Bus("vxtest0") as near, ferrocan.Bus("vxtest1") as far:
                near.send(Message(arbitration_id=0x42))
                far.send(Message(arbitration_id=0x43))
                there, back = far.recv(1.0), near.recv(1.0)
            assert there is not None, f"attempt {attempt}: the first end dropped the frame"
            assert back is not None, f"attempt {attempt}: the second end dropped the frame"
        finally:
            link.delete("vxtest0")


def test_up_with_the_peer_in_another_network_namespace() -> None:
    """The usual vxcan setup for a container: the peer's index means
    nothing here, so up() neither reads nor waits for it."""
    subprocess.run(["ip", "netns", "add", "ferrocantest"], check=True, timeout=10)
    try:
        link.add_vxcan("vxtest0", "vxtest1")
        subprocess.run(["ip", "link", "set", "vxtest1", "netns", "ferrocantest"], check=True)
        inside = ["ip", "netns", "exec", "ferrocantest", "ip", "link", "set", "vxtest1", "up"]
        subprocess.run(inside, check=True, timeout=10)
        link.up("vxtest0")
        assert link.show("vxtest0").operstate == "UP"
    finally:
        subprocess.run(["ip", "link", "del", "vxtest0"], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", "ferrocantest"], capture_output=True, timeout=10)


@pytest.mark.parametrize("mtu", [16, 72])
def test_fd_follows_the_mtu(temp_vcan: str, mtu: int) -> None:
    subprocess.run(["ip", "link", "set", temp_vcan, "mtu", str(mtu)], check=True, timeout=10)
    assert link.show(temp_vcan).fd == (mtu == 72)


def test_an_mtu_of_2060_carries_fd_where_the_kernel_has_it(temp_vcan: str) -> None:
    """Kernels with CAN XL take CANXL_MTU (2060), and the newer ones create
    vcan and vxcan with it; such an interface carries CAN FD frames too.
    Kernels without CAN XL (before 6.2, unless backported) refuse it."""
    done = subprocess.run(
        ["ip", "link", "set", temp_vcan, "mtu", "2060"], capture_output=True, timeout=10
    )
    if done.returncode != 0:
        assert kernel_release() < (6, 2), done.stderr
        return
    assert (link.show(temp_vcan).mtu, link.show(temp_vcan).fd) == (2060, True)
    link.up(temp_vcan)
    with ferrocan.Bus(temp_vcan, fd=True) as tx, ferrocan.Bus(temp_vcan, fd=True) as rx:
        tx.send(Message(arbitration_id=0x1, is_fd=True, data=bytes(range(64))))
        got = rx.recv(1.0)
    assert got is not None and got.is_fd and got.data == bytes(range(64))


def kernel_takes_can_xl_mtus(name: str) -> bool:
    """Whether this kernel's vcan takes CAN XL's MTUs, asked of ``ip``:
    those with CAN XL do (upstream since 6.2; the 6.1 UML kernel here has
    it too), older ones refuse them."""
    done = subprocess.run(["ip", "link", "set", name, "mtu", "2060"], capture_output=True)
    if done.returncode != 0:
        assert kernel_release() < (6, 2), done.stderr
    return done.returncode == 0


def test_set_mtu_switches_between_classic_can_fd_and_can_xl(temp_vcan: str) -> None:
    """Each MTU read back, by us and by ``ip``; the interface stays up. A
    kernel without CAN XL refuses its MTUs clearly."""
    has_xl = kernel_takes_can_xl_mtus(temp_vcan)
    link.set(temp_vcan, mtu=16)
    link.up(temp_vcan)
    if not has_xl:
        with pytest.raises(ValueError, match=f"^{re.escape(MTU_REFUSED.format(2060))}$"):
            link.set(temp_vcan, mtu=2060)
    steps = [(72, True, False), (2060, True, True), (76, True, True), (16, False, False)]
    for mtu, fd, xl in [step for step in steps if has_xl or not step[2]]:
        link.set(temp_vcan, mtu=mtu)
        info = link.show(temp_vcan)
        assert (info.mtu, info.fd, info.xl, info.up) == (mtu, fd, xl, True)
        assert ip_details(temp_vcan)["mtu"] == mtu


def test_an_xl_interface_carries_can_xl_frames(temp_vcan: str) -> None:
    """``xl`` says what the kernel does: a raw socket with CAN_RAW_XL_FRAMES
    sends a CAN XL frame of up to MTU - 12 data bytes on the interface."""
    if not kernel_takes_can_xl_mtus(temp_vcan):
        with pytest.raises(ValueError, match=f"^{re.escape(MTU_REFUSED.format(100))}$"):
            link.set(temp_vcan, mtu=100)
        return
    link.set(temp_vcan, mtu=100)
    link.up(temp_vcan)
    assert link.show(temp_vcan).xl
    with socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW) as raw:
        raw.setsockopt(socket.SOL_CAN_RAW, CAN_RAW_XL_FRAMES, 1)
        raw.bind((temp_vcan,))
        assert raw.send(xl_frame(88)) == 100
        with pytest.raises(OSError, match="Message too long"):
            raw.send(xl_frame(89))


def xl_frame(length: int) -> bytes:
    """A ``struct canxl_frame`` of ``length`` zero data bytes, flags CANXL_XLF."""
    return struct.pack("=IBBHI", 0x123, 0x80, 0, length, 0) + bytes(length)


#: The text of an MTU refused, by ferrocan or the interface's driver.
MTU_REFUSED = (
    "mtu {} is not one the interface takes: a CAN interface takes 16 (classic CAN), "
    "72 (CAN FD) or 76 to 2060 (CAN XL, where the kernel has it), as far as its driver "
    "supports them"
)


@pytest.mark.parametrize("mtu", [20, 71, 73, 75, 2061, 4096])
def test_an_mtu_no_can_interface_takes_is_refused_first(temp_vcan: str, mtu: int) -> None:
    """The error names the MTUs a CAN interface takes, and the interface is
    not taken down and up for it: taking it down would leave ENETDOWN pending
    on every socket bound to it."""
    link.set(temp_vcan, mtu=72)
    link.up(temp_vcan)
    with socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW) as raw:
        raw.bind((temp_vcan,))
        with pytest.raises(ValueError, match=f"^{re.escape(MTU_REFUSED.format(mtu))}$"):
            link.set(temp_vcan, mtu=mtu)
        assert raw.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    assert link.show(temp_vcan).mtu == 72


@pytest.mark.parametrize("mtu", [0, -1, 2**32])
def test_an_mtu_out_of_range_is_refused_before_the_kernel(temp_vcan: str, mtu: int) -> None:
    """Refused in Python, before the native core is asked."""
    text = "mtu must be 16 (classic CAN), 72 (CAN FD) or 76 to 2060 (CAN XL), got"
    with pytest.raises(ValueError, match=f"^{re.escape(text)} {mtu}$"):
        link.set(temp_vcan, mtu=mtu)


def test_the_cli_sets_the_mtu_and_shows_xl(temp_vcan: str) -> None:
    """Two runs of the command (each costs seconds under QEMU's emulation);
    the MTUs refused are those of link.set, tested above."""
    done = cli("link", "set", temp_vcan, "mtu", "2060")
    if not kernel_takes_can_xl_mtus(temp_vcan):
        refused = f"ferrocan link set: {MTU_REFUSED.format(2060)}\n"
        assert (done.returncode, done.stderr) == (2, refused)
        return
    assert (done.returncode, done.stderr) == (0, "")
    shown = cli("link", "show", temp_vcan).stdout.splitlines()
    assert f"{temp_vcan}: vcan state DOWN mtu 2060" in shown[0]
    assert shown[1] == "    link/can vcan fd on xl on"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Runs the installed console script."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("ferrocan")), *args],
        capture_output=True,
        text=True,
        timeout=60,  # the interpreter's start takes seconds under QEMU's emulation
    )


@pytest.mark.parametrize(
    ("settings", "text"),
    [
        ({"bitrate": 500_000}, "'vcantest' is a virtual interface \\(vcan\\): it has no bitrate"),
        ({"restart_ms": 100}, "it has no restart-ms"),
        ({"sample_point": 87.5}, "sample_point must be a fraction between 0 and 1"),
        ({"bitrate": 0}, "bitrate must be in 1..4294967295, got 0"),
        # Settings the kernel only takes together: refused before the
        # interface is looked at (a vcan would have no bit timing anyway).
        (
            {"sample_point": 0.875},
            "^sample_point needs bitrate: the kernel computes the bit timing from the two "
            "together; give them in one call, such as bitrate=500000, sample_point=0.875 "
            "\\(ferrocan link set: bitrate 500000 sample-point 0.875\\)$",
        ),
        ({"data_bitrate": 2_000_000}, "^data_bitrate needs fd=True and bitrate: "),
        ({"data_bitrate": 2_000_000, "bitrate": 500_000}, "^data_bitrate needs fd=True"),
        (
            {"bitrate": 500_000, "fd": True},
            "^fd=True needs bitrate and data_bitrate: the kernel switches CAN FD mode on only "
            "together with both bit timings; give them in one call, such as bitrate=500000, "
            "data_bitrate=2000000, fd=True \\(ferrocan link set: bitrate 500000 dbitrate "
            "2000000 fd on\\)$",
        ),
        ({"fd": True}, "^fd=True needs bitrate and data_bitrate"),
    ],
)
def test_bad_settings_are_refused(temp_vcan: str, settings: dict[str, object], text: str) -> None:
    with pytest.raises(ValueError, match=text):
        link.set(temp_vcan, **settings)  # type: ignore[arg-type]


def test_refused_settings_leave_the_interface_alone(temp_vcan: str) -> None:
    """A refusal comes before any change: the interface is not taken down
    (sample_point without bitrate used to bounce it and change nothing)."""
    link.up(temp_vcan)
    before = ip_details(temp_vcan)
    with pytest.raises(ValueError, match="sample_point needs bitrate"):
        link.set(temp_vcan, sample_point=0.8, txqueuelen=5)
    after = ip_details(temp_vcan)
    assert (after["txqlen"], after["operstate"]) == (before["txqlen"], "UNKNOWN")
    assert after["stats64"] == before["stats64"]


def test_the_cli_refuses_a_sample_point_without_bitrate(temp_vcan: str) -> None:
    ferrocan = Path(sys.executable).with_name("ferrocan")
    done = subprocess.run(
        [str(ferrocan), "link", "set", temp_vcan, "sample-point", "0.875"],
        capture_output=True,
        text=True,
        timeout=60,  # the interpreter's start takes seconds under QEMU's emulation
    )
    assert done.returncode == 2, "a usage error"
    assert done.stderr.startswith("ferrocan link set: sample_point needs bitrate: "), done.stderr
    assert done.stderr.endswith("(ferrocan link set: bitrate 500000 sample-point 0.875)\n")


@pytest.mark.parametrize(
    ("settings", "text"),
    [
        ({"bitrate": "500k"}, "bitrate must be an int or None, got str"),
        ({"fd": 1}, "fd must be a bool"),
        ({"mtu": "2060"}, "^mtu must be an int or None, got str$"),
        ({"mtu": True}, "^mtu must be an int or None, got bool$"),
        ({"mtu": 72.0}, "^mtu must be an int or None, got float$"),
    ],
)
def test_wrong_types_are_refused(temp_vcan: str, settings: dict[str, object], text: str) -> None:
    with pytest.raises(TypeError, match=text):
        link.set(temp_vcan, **settings)  # type: ignore[arg-type]


def test_an_unknown_interface_says_how_to_create_one() -> None:
    with pytest.raises(CanInitializationError, match="CAN interface 'nosuch0' does not exist"):
        link.show("nosuch0")
    with pytest.raises(CanInitializationError):
        link.up("nosuch0")


def test_restart_on_a_virtual_interface_is_a_clear_error(temp_vcan: str) -> None:
    with pytest.raises(
        CanOperationError, match="cannot restart 'vcantest': Operation not supported"
    ):
        link.restart(temp_vcan)


def test_changes_without_privilege_raise_permission_error() -> None:
    """Reading needs no privilege, changes need CAP_NET_ADMIN: a forked child
    (ferrocan already loaded) drops to nobody and tries both."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(read)
        os.setgid(65534)
        os.setuid(65534)
        try:
            report = link.show("vcan0").name
            link.add_vcan("vcannope")
            report += "\nno error"
        except PermissionError as error:
            report += f"\n{type(error).__name__} {error}"
        os.write(write, report.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        lines = pipe.read().splitlines()
    os.waitpid(child, 0)
    assert lines[0] == "vcan0"
    assert lines[1].startswith(
        "PermissionError [Errno 1] changing CAN interfaces needs CAP_NET_ADMIN"
    ), lines
