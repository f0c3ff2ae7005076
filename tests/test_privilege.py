"""CAN_RAW and CAN_BCM need no root. The socket tests of SUBSET run
again as nobody (tools/unprivileged: uid 65534, no capabilities), on every
backend, except those marked ``privileged``; with them runs
tests/unprivileged_checks.py, which tries what does need privilege. The
native-direct cases are left out: native-direct opens, binds and sets up its
sockets with native's code, and only reads without io_uring afterwards, on
descriptors already open (what privilege decides is the same as native's).
About 30 s in User-Mode Linux."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBSET = [
    "tests/test_bus.py",
    "tests/test_periodic.py",
    "tests/test_error_frames.py",
    "tests/test_socket_options.py",
]
CHECKS = "tests/unprivileged_checks.py"
#: A line of ``pytest -v``: node id, outcome, progress.
OUTCOME = re.compile(r"^(?P<file>[\w/]+\.py)::(?P<test>.+) (?P<outcome>[A-Z]+) +\[ *\d+%\]$")


def run_as_nobody() -> subprocess.CompletedProcess[str]:
    """pytest as nobody; Hypothesis keeps its examples in the private /tmp,
    as nobody cannot write to .hypothesis."""
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"]
    command += ["-k", "not native-direct"]
    return subprocess.run(
        [str(ROOT / "tools" / "unprivileged"), *command, "-m", "not privileged", *SUBSET, CHECKS],
        cwd=ROOT,
        env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": "/tmp/hypothesis"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_socket_tests_pass_as_nobody() -> None:
    done = run_as_nobody()
    report = f"{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    assert done.returncode == 0, report
    outcomes: dict[str, dict[str, int]] = {}
    for line in done.stdout.splitlines():
        if found := OUTCOME.match(line):
            per_file = outcomes.setdefault(found["file"], {})
            per_file[found["outcome"]] = per_file.get(found["outcome"], 0) + 1
    assert sorted(outcomes) == sorted([*SUBSET, CHECKS]), report
    assert all(list(per_file) == ["PASSED"] for per_file in outcomes.values()), outcomes
    assert sum(per_file["PASSED"] for per_file in outcomes.values()) > 200, outcomes
    assert f"{CHECKS}::test_runs_as_nobody_without_capabilities PASSED" in done.stdout
