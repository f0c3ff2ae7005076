"""What ferrocan publishes, checked as an index and a user would: on the host,
never inside tools/vcan-run (User-Mode Linux has no network, and building
there is slow), with dist/ as tools/build-wheels leaves it:

    tools/build-wheels >/dev/null && .venv/bin/python -m pytest tests/test_sdist.py

* the sdist builds and installs from scratch: pip, in a fresh venv, builds
  it with maturin from PyPI and the crates of Cargo.lock (crates.io, or
  cargo's download cache), and the installed package imports its Rust core;
* ``twine check --strict`` passes on every wheel and the sdist (twine is in
  the ``lint`` extra).

pyproject.toml's addopts leave this module out of the suite's runs (pytest
with no paths); it runs where named. tests/test_wheels.py checks the same
artifacts' contents, everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_wheels import LICENSE_FILES, built_wheels, make_venv

#: Building the Rust core in release mode (fat LTO) from nothing takes a few
#: minutes; pip fetches maturin and cargo the crates first.
BUILD_TIMEOUT = 1200.0

# Runs in the venv: where ferrocan and its Rust core come from, and which
# license texts the installed distribution carries.
PROBE = """
import json
from importlib import metadata

import ferrocan
import ferrocan._native

dist = metadata.distribution("ferrocan")
print(json.dumps({
    "backend": ferrocan.backend,
    "native": ferrocan._native.__file__,
    "version": dist.version,
    "licenses": sorted(f.name for f in dist.files or () if f.parent.name == "licenses"),
}))
"""


def user_environment() -> dict[str, str]:
    """This environment without what would steer the build elsewhere: the
    venv it runs in, cargo's target directory, the backend choice."""
    drop = ("VIRTUAL_ENV", "CARGO_TARGET_DIR", "FERROCAN_BACKEND", "PYTHONPATH", "PIP_NO_INDEX")
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_sdist_builds_and_installs_from_scratch(tmp_path: Path) -> None:
    wheels = built_wheels()
    python = make_venv(tmp_path / "venv")
    started = time.monotonic()
    pip = (sys.executable, "-m", "pip", "--python", str(python), "--isolated")
    done = subprocess.run(
        [*pip, "install", "--no-cache-dir", "--disable-pip-version-check", str(wheels.sdist)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        env=user_environment(),
    )
    took = time.monotonic() - started
    assert done.returncode == 0, (
        f"pip install {wheels.sdist.name} failed:\n{done.stdout}{done.stderr}"
    )
    print(f"pip built and installed {wheels.sdist.name} in {took:.0f} s")
    probe = subprocess.run(
        [str(python), "-I", "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_environment(),
    )
    assert probe.returncode == 0, probe.stdout + probe.stderr
    result = json.loads(probe.stdout)
    assert result["backend"] == "native"
    assert Path(result["native"]).is_relative_to(tmp_path / "venv"), result["native"]
    assert result["version"] == wheels.version
    assert result["licenses"] == sorted(LICENSE_FILES)


def test_twine_check_strict_passes_on_every_artifact() -> None:
    if importlib.util.find_spec("twine") is None:
        pytest.fail(
            "twine is missing: it is in the lint extra (tools/setup installs it into .venv)",
            pytrace=False,
        )
    wheels = built_wheels()
    artifacts = sorted([*wheels.every_wheel().values(), wheels.sdist])
    done = subprocess.run(
        [sys.executable, "-m", "twine", "--no-color", "check", "--strict", *map(str, artifacts)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "1000"},  # one line a file
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for artifact in artifacts:
        assert f"Checking {artifact}: PASSED" in output, output
