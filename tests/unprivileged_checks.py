"""What needs privilege, tried as nobody: tests/test_privilege.py runs this
file through tools/unprivileged (its name keeps a plain pytest run of tests/,
which is root, from collecting it).

CAN_RAW, CAN_BCM and reading interfaces need none. A receive buffer past
net.core.rmem_max needs CAP_NET_ADMIN: without it the buffer is capped at
rmem_max and a RuntimeWarning says so. Changing interfaces needs
CAP_NET_ADMIN: without it ferrocan.link raises PermissionError and the CLI
exits with status 1, both naming the capability and the refused change.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from typing import Any

import ferrocan
import pytest
from ferrocan import Message, link

from .support import BusFactory

NOBODY = 65534
NEEDS_CAP_NET_ADMIN = (
    "changing CAN interfaces needs CAP_NET_ADMIN (run as root, or grant the capability); "
    "the kernel refused to "
)


@pytest.fixture(autouse=True)
def _as_nobody() -> None:
    if os.geteuid() == 0:
        pytest.fail("these checks expect no privilege: run tests/test_privilege.py instead")


def rmem_max() -> int:
    with open("/proc/sys/net/core/rmem_max") as f:
        return int(f.read())


def test_runs_as_nobody_without_capabilities() -> None:
    assert os.getresuid() == (NOBODY, NOBODY, NOBODY)
    assert os.getresgid() == (NOBODY, NOBODY, NOBODY)
    assert os.getgroups() == []
    with open("/proc/self/status") as f:
        caps = dict(line.split(":\t") for line in f if line.startswith("Cap"))
    assert [int(caps[name], 16) for name in ("CapInh", "CapPrm", "CapEff", "CapAmb")] == [0] * 4


# -- the receive buffer


def test_a_buffer_past_rmem_max_is_capped_with_a_warning(make_bus: BusFactory) -> None:
    limit = rmem_max()
    size = 4 * limit
    with pytest.warns(RuntimeWarning) as caught:
        bus = make_bus(receive_buffer_size=size)
    assert bus.receive_buffer_size == 2 * limit
    assert [str(warning.message) for warning in caught] == [
        f"receive_buffer_size={size} exceeds net.core.rmem_max ({limit} bytes) and this "
        f"process lacks CAP_NET_ADMIN, so the buffer is capped: bus.receive_buffer_size is "
        f"{2 * limit} (the kernel doubles what it grants); raise the limit with "
        f"`sysctl -w net.core.rmem_max={size}`, or run with CAP_NET_ADMIN"
    ]
    assert caught[0].filename.endswith("support.py"), "it points at the call of Bus()"


def test_a_buffer_within_rmem_max_is_granted_without_a_warning(make_bus: BusFactory) -> None:
    limit = rmem_max()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert make_bus(receive_buffer_size=limit).receive_buffer_size == 2 * limit


# -- sockets that need no privilege, beyond the socket tests run alongside


def test_io_uring_needs_no_privilege() -> None:
    with ferrocan.Bus("vcan0", backend="native", receive_own_messages=True) as bus:
        assert bus.channel_info.endswith(", io_uring)")
        bus.send(Message(arbitration_id=0x42, is_extended_id=False, data=b"\x01"))
        got = bus.recv(1.0)
    assert got is not None and got.arbitration_id == 0x42


# -- changing interfaces: ferrocan.link


def still_up(name: str) -> Callable[[], bool]:
    return lambda: link.show(name).up


def gone(name: str) -> Callable[[], bool]:
    return lambda: name not in [info.name for info in link.list()]


CHANGES: list[tuple[str, Callable[[], Any], str, Callable[[], bool]]] = [
    ("add_vcan", lambda: link.add_vcan("vcannope"), "create 'vcannope'", gone("vcannope")),
    (
        "add_vxcan",
        lambda: link.add_vxcan("vxnope0", "vxnope1"),
        "create 'vxnope0'",
        gone("vxnope0"),
    ),
    ("up", lambda: link.up("vcan1"), "bring up 'vcan1'", still_up("vcan1")),
    ("down", lambda: link.down("vcan0"), "bring down 'vcan0'", still_up("vcan0")),
    ("delete", lambda: link.delete("vcan1"), "delete 'vcan1'", still_up("vcan1")),
    (
        "set",
        lambda: link.set("vcan0", txqueuelen=50),
        "configure 'vcan0'",
        lambda: link.show("vcan0").txqueuelen != 50,
    ),
    ("restart", lambda: link.restart("vcan0"), "restart 'vcan0'", still_up("vcan0")),
]


@pytest.mark.parametrize(
    ("change", "refused", "unchanged"),
    [change[1:] for change in CHANGES],
    ids=[change[0] for change in CHANGES],
)
def test_link_changes_raise_permission_error(
    change: Callable[[], Any], refused: str, unchanged: Callable[[], bool]
) -> None:
    with pytest.raises(PermissionError) as raised:
        change()
    assert raised.value.errno == errno.EPERM
    assert raised.value.strerror == NEEDS_CAP_NET_ADMIN + refused
    assert unchanged()


def test_reading_interfaces_needs_no_privilege() -> None:
    assert {"vcan0", "vcan1"} <= {info.name for info in link.list()}
    assert link.show("vcan0").up


# -- changing interfaces: the command line


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ferrocan", "link", *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "refused"),
    [
        ("add vcannope type vcan", "create 'vcannope'"),
        ("up vcan1", "bring up 'vcan1'"),
        ("down vcan0", "bring down 'vcan0'"),
        ("del vcan1", "delete 'vcan1'"),
        ("set vcan0 txqueuelen 50", "configure 'vcan0'"),
        ("restart vcan0", "restart 'vcan0'"),
    ],
)
def test_the_cli_refuses_link_changes_with_status_1(command: str, refused: str) -> None:
    args = command.split()
    done = cli(*args)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"ferrocan link {args[0]}: {NEEDS_CAP_NET_ADMIN}{refused}\n"


def test_the_cli_lists_and_shows_without_privilege() -> None:
    listed, shown = cli("list"), cli("show", "vcan0")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert "vcan0: vcan state UP" in listed.stdout
    assert (shown.returncode, shown.stderr) == (0, "")
    assert ": vcan0: vcan state UP" in shown.stdout
