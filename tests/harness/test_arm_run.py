"""tools/arm-run boots an emulated ARM machine with the checkout shared at
its own path, gives its command vcan0 and vcan1 and the machine's wheel in
a venv, and hands back the command's output and exit status; settings it
cannot use, and a boot that takes too long, are clear errors."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest

from .test_vcan_run import REPO

ARM_RUN = REPO / "tools" / "arm-run"


def arm_run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ARM_RUN), *args],
        env={**os.environ, **(env or {})},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_command_runs_on_the_arm_machine_and_its_status_comes_back() -> None:
    probe = REPO / ".cache" / f"arm-run-probe-{uuid.uuid4().hex}"
    script = (
        "uname -m; echo $ARM_RUN_GUEST $ARM_RUN_MACHINE; pwd; echo to-stderr >&2;"
        " ip -br link show vcan0 | cut -d' ' -f1;"
        ' python -c "import ferrocan; print(ferrocan.backend)";'
        f" echo written > {probe.relative_to(REPO)}; exit 7"
    )
    try:
        result = arm_run("aarch64", "sh", "-c", script)
        assert result.returncode == 7, result.stdout + result.stderr
        assert result.stdout == f"aarch64\n1 aarch64\n{REPO}\nvcan0\nnative\n"
        assert result.stderr.endswith("to-stderr\n")
        assert probe.read_text() == "written\n"
    finally:
        probe.unlink(missing_ok=True)


def test_a_boot_past_the_timeout_is_stopped() -> None:
    start = time.monotonic()
    result = arm_run("aarch64", "sleep", "600", env={"ARM_RUN_TIMEOUT": "3"})
    assert result.returncode == 124
    assert result.stderr.endswith("arm-run: timed out after 3s (ARM_RUN_TIMEOUT)\n")
    assert time.monotonic() - start < 60


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("x86_64", "true"), {}, "unknown machine 'x86_64'; use aarch64 or armv7l"),
        (
            ("aarch64", "true"),
            {"ARM_RUN_TIMEOUT": "soon"},
            "ARM_RUN_TIMEOUT must be a number of seconds, got 'soon'",
        ),
        (("aarch64",), {}, "usage: arm-run MACHINE CMD [ARGS...]"),
    ],
)
def test_bad_settings_are_clear_errors(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = arm_run(*args, env=env, timeout=30)
    assert result.returncode == 2
    assert result.stderr == f"arm-run: {message}\n"
