"""The ARM tier: the wheel pip picks on an aarch64 or armv7l machine, on
Debian's kernel for that machine, under software emulation.

Run it through tools/arm-run, which boots the machine with vcan0 and vcan1
up and installs the wheel from dist/ into the venv the tests run in:

    tools/arm-run aarch64 python -m pytest tests/arm -q -p no:cacheprovider
    tools/arm-run armv7l python -m pytest tests/arm -q -p no:cacheprovider

How it stays out of other runs: ``pytest_ignore_collect`` below leaves its
modules out unless ARM_RUN_GUEST is set (tools/arm-run sets it in the guest)
or the command line names this directory or a file in it. Named elsewhere,
the tests are collected and fail (never skip): "not on an ARM machine".
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from ..collection import named_on_command_line

HERE = Path(__file__).resolve().parent
#: The machines tools/arm-run boots, as ``uname -m`` names them.
MACHINES = ("aarch64", "armv7l")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leaves this directory's modules out of runs that are not for it."""
    if os.environ.get("ARM_RUN_GUEST") or named_on_command_line(config, HERE):
        return None
    return True


@pytest.fixture(scope="session")
def machine() -> str:
    """The ARM machine under test; fails anywhere else."""
    name = platform.machine()
    if name not in MACHINES or os.environ.get("ARM_RUN_MACHINE") != name:
        pytest.fail(
            f"not on a machine tools/arm-run booted ({name}): run tools/arm-run {MACHINES[0]} ..."
        )
    return name
