"""The test harness itself: tools/vcan-run's choice of kernel, its fallback
and its CPU pinning, tested against the UML kernels it boots.

These tests boot User-Mode Linux, so they run on the host, never inside
tools/vcan-run (tools/test runs them first):

    .venv/bin/python -m pytest tests/harness

pytest's ``testpaths`` is ``tests``, so the plain ``tools/vcan-run .venv/bin/python
-m pytest`` reaches this directory too; ``pytest_ignore_collect`` below leaves
it out unless the command line names this directory or a file in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..collection import named_on_command_line

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leaves this directory's modules out of runs that do not name it."""
    return None if named_on_command_line(config, HERE) else True
