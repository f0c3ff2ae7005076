"""tools/vcan-run chooses a UML kernel that boots on this host, falls back
from Debian stable's to the newest when the stable one cannot boot (as on
CPUs with AMX), remembers what it probed, and pins UML to one host CPU."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VCAN_RUN = REPO / "tools" / "vcan-run"
PROBES = REPO / ".cache" / "uml" / "probes"
NEWEST = REPO / ".cache" / "uml" / "newest" / "usr" / "bin" / "linux.uml"

#: What Debian 12's UML prints on a host with AMX before it panics.
PANIC = """\
userspace - ptrace set fp regs failed, errno = 14
Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b
"""


def vcan_run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VCAN_RUN), *command],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def bootable() -> list[str]:
    result = vcan_run("--kernels")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def version_of(binary: Path | str) -> str:
    return subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def panicking_stable(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A stable kernel that panics at boot as Debian 12's does on AMX hosts:
    a linux.uml first on PATH, with its module directory, that counts its
    boots. Yields the environment that puts it first, and the boot count file.
    The probe results it leaves in .cache/uml/probes are removed after."""
    boots = tmp_path / "boots"
    binary = tmp_path / "bin" / "linux.uml"
    binary.parent.mkdir()
    binary.write_text(
        "#!/bin/sh\n"
        'case "$1" in --version) echo 6.1.176; exit 0 ;; --help) exit 0 ;; esac\n'
        f"echo boot >>{boots}\n"
        f"printf '%s' '{PANIC}'\n"
        "exit 134\n"
    )
    binary.chmod(0o755)
    (tmp_path / "lib" / "uml" / "modules" / "6.1.176" / "kernel").mkdir(parents=True)
    before = set(PROBES.glob("*")) if PROBES.exists() else set()
    yield {"PATH": f"{binary.parent}:{os.environ['PATH']}"}, boots
    for probe in set(PROBES.glob("*")) - before:
        probe.unlink()


def test_the_newest_kernel_boots_here() -> None:
    assert NEWEST.exists(), "the newest UML kernel is missing: run tools/setup"
    assert "newest" in bootable()


@pytest.mark.parametrize("kernel", ["stable", "newest"])
def test_each_kernel_that_boots_runs_the_command_with_vcan(kernel: str) -> None:
    if kernel not in bootable():
        pytest.fail(f"the {kernel} kernel does not boot on this host: see tools/vcan-run --kernels")
    result = vcan_run(
        "sh", "-c", "uname -r; cat /sys/class/net/vcan0/operstate", env={"VCAN_RUN_KERNEL": kernel}
    )
    assert result.returncode == 0, result.stderr
    release, operstate = result.stdout.split()
    binary = NEWEST if kernel == "newest" else "linux.uml"
    assert release == version_of(binary)
    assert operstate in ("up", "unknown")
    assert result.stderr == ""


def test_falls_back_to_the_newest_when_stable_panics(
    panicking_stable: tuple[dict[str, str], Path],
) -> None:
    env, boots = panicking_stable
    result = vcan_run("uname", "-r", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == version_of(NEWEST)
    assert result.stderr == (
        f"vcan-run: using the newest kernel, UML {version_of(NEWEST)}; the stable kernel: "
        "UML 6.1.176 does not boot on this host: userspace - ptrace set fp regs failed, "
        "errno = 14\n"
    )
    assert boots.read_text().count("boot") >= 1


def test_the_probe_is_remembered(panicking_stable: tuple[dict[str, str], Path]) -> None:
    env, boots = panicking_stable
    assert vcan_run("true", env=env).returncode == 0
    probed = boots.read_text()
    second = vcan_run("true", env=env)
    assert second.returncode == 0, second.stderr
    assert "using the newest kernel" in second.stderr
    assert boots.read_text() == probed, "the stable kernel was booted again"


def test_kernels_lists_only_what_boots(panicking_stable: tuple[dict[str, str], Path]) -> None:
    env, _ = panicking_stable
    result = vcan_run("--kernels", env=env)
    assert result.returncode == 0
    assert result.stdout == "newest\n"
    assert result.stderr == (
        "vcan-run: stable kernel: UML 6.1.176 does not boot on this host: "
        "userspace - ptrace set fp regs failed, errno = 14\n"
    )


def test_a_forced_kernel_that_cannot_boot_is_a_clear_error(
    panicking_stable: tuple[dict[str, str], Path],
) -> None:
    env, _ = panicking_stable
    result = vcan_run("true", env={**env, "VCAN_RUN_KERNEL": "stable"})
    assert result.returncode == 2
    assert result.stderr == (
        "vcan-run: VCAN_RUN_KERNEL=stable: UML 6.1.176 does not boot on this host: "
        "userspace - ptrace set fp regs failed, errno = 14\n"
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("VCAN_RUN_KERNEL", "oldest", "VCAN_RUN_KERNEL must be auto, host, stable or newest"),
        ("VCAN_RUN_CPU", "first", "VCAN_RUN_CPU must be a CPU number or 'all'"),
    ],
)
def test_bad_settings_are_clear_errors(variable: str, value: str, message: str) -> None:
    result = vcan_run("true", env={variable: value})
    assert result.returncode == 2
    assert result.stderr == f"vcan-run: {message}, got '{value}'\n"


def uml_cpus_while_running(env: dict[str, str]) -> set[str]:
    """The CPU lists that the UML processes of a running vcan-run may use."""
    run = subprocess.Popen(
        [str(VCAN_RUN), "sleep", "4"], env={**os.environ, **env}, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cpus = uml_cpu_lists(run.pid)
            if cpus:
                return cpus
            time.sleep(0.2)
        pytest.fail("no UML process appeared")
    finally:
        run.wait(timeout=60)


def uml_cpu_lists(pid: int) -> set[str]:
    """The CPU lists of the UML processes that vcan-run `pid` started."""
    found = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            if command[0].endswith(b"linux.uml") and f"umid=vcanrun-{pid}".encode() in command:
                found.add(cpus_allowed(proc / "status"))
        except OSError:
            continue  # gone meanwhile
    return found


def cpus_allowed(status: Path) -> str:
    match = re.search(r"Cpus_allowed_list:\s*(\S+)", status.read_text())
    assert match is not None
    return match.group(1)


def allowed_cpus() -> str:
    return cpus_allowed(Path("/proc/self/status"))


def test_uml_runs_on_the_first_allowed_cpu_by_default() -> None:
    first = re.split("[-,]", allowed_cpus())[0]
    assert uml_cpus_while_running({}) == {first}


def test_vcan_run_cpu_chooses_the_cpu() -> None:
    last = str(max(os.sched_getaffinity(0)))
    assert uml_cpus_while_running({"VCAN_RUN_CPU": last}) == {last}


def test_vcan_run_cpu_all_leaves_uml_unpinned() -> None:
    assert uml_cpus_while_running({"VCAN_RUN_CPU": "all"}) == {allowed_cpus()}
