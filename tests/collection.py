"""Which test directories a pytest run collects: tests/realcan and
tests/harness need a machine of their own (QEMU, the host), so they are
collected only where the command line names them (or their tier says so)."""

from __future__ import annotations

from pathlib import Path

import pytest


def named_on_command_line(config: pytest.Config, directory: Path) -> bool:
    """Whether an argument of this pytest run is `directory` or lies in it."""
    base = config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::", 1)[0]).resolve()
        if path == directory or directory in path.parents:
            return True
    return False
