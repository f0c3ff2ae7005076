"""benches/compare.py, the Python side of tools/bench: it starts, and its
argument errors say what to do. Its timings are not asserted anywhere: CI's
smoke run (tools/bench --quick) only shows that every case runs. And
benches/profile_loop.py, what tools/profile samples: each operation runs on
vcan."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benches" / "compare.py"


def load_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    monkeypatch.delitem(sys.modules, "compare", raising=False)
    return importlib.import_module("compare")


def test_the_script_runs_and_describes_its_options() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout
    assert "tools/bench" in done.stdout


def test_without_python_can_it_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    compare = load_script(monkeypatch)
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> object:
        return None if name == "can" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(SystemExit) as exited:
        compare.main(["--quick"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: python-can is not installed: pip install 'ferrocan[python-can]', "
        "or leave it out: --only native,ctypes,socket,socket+time\n"
    )


def test_an_unknown_implementation_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        load_script(monkeypatch).main(["--only", "nope"])
    assert exited.value.code == 2
    assert "argument --only: choose from" in capsys.readouterr().err


PROFILE_LOOP = SCRIPT.parent / "profile_loop.py"


@pytest.mark.parametrize("operation", ["poll", "recv", "round-trip", "send", "send-batch"])
def test_the_profile_loop_runs_each_operation(operation: str) -> None:
    done = subprocess.run(
        [sys.executable, str(PROFILE_LOOP), operation, "400"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{operation}: "), done.stdout
    assert done.stdout.rstrip().endswith("us per operation or frame (400)"), done.stdout


def test_the_profile_loop_names_the_operations_it_knows() -> None:
    done = subprocess.run(
        [sys.executable, str(PROFILE_LOOP), "nope"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "unknown operation 'nope': poll, recv, round-trip, send, send-batch" in done.stderr
