"""Typing: the hand-written stub of the native module agrees with the built
module (mypy's stubtest), and the examples pass ``mypy --strict``.

Both run mypy as a subprocess, on the package installed in this interpreter
(``tools/setup`` builds it into .venv); they need no CAN interface.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: mypy reads a large part of typeshed on a cold cache: allow for it.
TIMEOUT = 600


def run_mypy(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy is missing: install the lint extra (pip install -e '.[lint]')")
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_native_stub_matches_the_built_module() -> None:
    try:
        import ferrocan._native  # noqa: F401
    except ImportError:
        pytest.fail("the native module is not built: run tools/setup")
    done = run_mypy("mypy.stubtest", "ferrocan._native")
    assert done.returncode == 0, (
        "python/ferrocan/_native.pyi disagrees with the built module:\n" + done.stdout + done.stderr
    )


def test_examples_pass_mypy_strict() -> None:
    examples = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "examples").glob("*.py"))
    assert examples, "no examples found"
    done = run_mypy("mypy", "--strict", *examples)
    assert done.returncode == 0, "mypy --strict examples/:\n" + done.stdout + done.stderr
