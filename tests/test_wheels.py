"""The two wheels tools/build-wheels puts in dist/ (tools/test builds them on
the host first; this module only reads them, because inside User-Mode Linux
building is slow), on the Python that runs this module: .venv's in the main
suite, each other CPython from 3.9 up in tools/test-pythons.

* the abi3 wheel, cp310-abi3, installs the Rust core and runs on the native
  backend on CPython 3.10 and later; on 3.9 pip refuses it (PyO3's
  abi3-py310: the 3.10 limited API has vectorcall, README.md "Wheels");
* the py3-none-any wheel is the same package without compiled code, with the
  same metadata, and runs on the ctypes backend;
* given both, pip picks the native wheel on CPython 3.10 and later, and the
  pure one on 3.9.

Each install goes into a fresh venv made without pip (in-process, from the
real interpreter, not a pyenv shim); the test's own pip installs into it with
``--python``, offline. Every venv then sends a frame on vcan0 and receives it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
SOURCE = ROOT / "python" / "ferrocan"
TIMEOUT = 120.0  # seconds per subprocess; pip takes a few inside UML
BUILD_HINT = "run tools/build-wheels (tools/test does it before pytest)"
#: What the extension is compiled from, besides src/**/*.rs.
RUST_BUILD_FILES = ("Cargo.toml", "Cargo.lock", "pyproject.toml")
PIP_INSTALL = ("--isolated", "install", "--no-index", "--no-compile", "--disable-pip-version-check")
#: The native wheel is built for the limited API of CPython 3.10 and later
#: (PyO3's abi3-py310, tag cp310-abi3); 3.9, which requires-python still
#: allows, gets the pure wheel and the ctypes backend.
NATIVE_FITS = sys.version_info >= (3, 10)
PYTHON = "CPython {}.{}".format(*sys.version_info[:2])

# Runs inside each venv: what got installed, and a vcan0 round trip on the
# default backend. Prints one JSON object.
PROBE = """
import json
from importlib import metadata

import ferrocan

dist = metadata.distribution("ferrocan")
with ferrocan.Bus("vcan0") as rx, ferrocan.Bus("vcan0") as tx:
    tx.send(ferrocan.Message(arbitration_id=0x1A5, is_extended_id=False, data=b"\\x01\\x02\\x03"))
    msg = rx.recv(5.0)
    print(json.dumps({
        "backend": ferrocan.backend,
        "bus_backend": rx.backend,
        "module": ferrocan.__file__,
        "version": ferrocan.__version__,
        "wheel": dist.read_text("WHEEL"),
        "files": sorted(str(f) for f in dist.files or ()),
        "received": None if msg is None else [msg.arbitration_id, bytes(msg.data).hex()],
    }))
"""


class Wheels(NamedTuple):
    version: str
    native: Path
    pure: Path


def cargo_version() -> str:
    """The package version: Cargo.toml's [package] version, as maturin uses it."""
    text = (ROOT / "Cargo.toml").read_text()
    found = re.search(r'^\[package\]$(?:\n(?!\[).*)*?\nversion\s*=\s*"([^"]+)"', text, re.M)
    assert found, "no [package] version in Cargo.toml"
    return found.group(1)


def stale_files(pure: Path) -> list[str]:
    """Package files that differ between python/ferrocan and the pure wheel."""
    source = {
        f"ferrocan/{p.relative_to(SOURCE).as_posix()}": p.read_bytes()
        for p in SOURCE.rglob("*")
        if p.is_file() and p.suffix in (".py", ".pyi", ".typed")
    }
    with zipfile.ZipFile(pure) as whl:
        built = {n: whl.read(n) for n in whl.namelist() if n.startswith("ferrocan/")}
    return sorted(n for n in source.keys() | built.keys() if source.get(n) != built.get(n))


def newer_rust_sources(native: Path) -> list[str]:
    """Files the extension is compiled from, changed after the native wheel
    was built (by modification time: a compiled wheel cannot be compared)."""
    built = native.stat().st_mtime
    sources = [*(ROOT / "src").rglob("*.rs"), *(ROOT / name for name in RUST_BUILD_FILES)]
    return sorted(
        str(path.relative_to(ROOT))
        for path in sources
        if path.is_file() and path.stat().st_mtime > built
    )


def listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


@functools.cache
def built_wheels() -> Wheels:
    """dist/'s two wheels, once checked to be built from these sources.

    Called in each test's body, not as a fixture, so that missing or stale
    wheels fail the tests with what to run (a fixture's failure is reported
    as an error at setup). Only a success is cached; building here instead
    would be slow inside UML and would race a tools/build-wheels in progress.
    """
    version = cargo_version()
    native = sorted(DIST.glob(f"ferrocan-{version}-cp310-abi3-*.whl"))
    pure = DIST / f"ferrocan-{version}-py3-none-any.whl"
    if len(native) != 1 or not pure.is_file():
        found = sorted(p.name for p in DIST.glob("*.whl")) if DIST.is_dir() else "no dist/"
        pytest.fail(
            f"dist/ must hold ferrocan {version}'s cp310-abi3 wheel and py3-none-any wheel "
            f"(found: {found}): {BUILD_HINT}",
            pytrace=False,
        )
    problems = []
    if stale := stale_files(pure):
        problems.append(f"{len(stale)} files of python/ferrocan differ: {listing(stale)}")
    if newer := newer_rust_sources(native[0]):
        problems.append(f"changed since the native wheel was built: {listing(newer)}")
    if problems:
        pytest.fail(
            f"dist/ is older than python/ferrocan or src ({'; '.join(problems)}): {BUILD_HINT}",
            pytrace=False,
        )
    return Wheels(version, native[0], pure)


def read(wheel: Path, version: str, name: str) -> str:
    with zipfile.ZipFile(wheel) as whl:
        return whl.read(f"ferrocan-{version}.dist-info/{name}").decode()


def field(wheel_file: str, name: str) -> list[str]:
    """The values of ``name`` in the text of a WHEEL file."""
    lines = wheel_file.splitlines()
    return [line.split(": ", 1)[1] for line in lines if line.startswith(f"{name}: ")]


def wheel_field(wheel: Path, version: str, name: str) -> list[str]:
    return field(read(wheel, version, "WHEEL"), name)


def test_pure_wheel_has_the_native_wheels_metadata() -> None:
    wheels = built_wheels()
    metadata = read(wheels.pure, wheels.version, "METADATA")
    assert metadata == read(wheels.native, wheels.version, "METADATA")
    assert f"\nVersion: {wheels.version}\n" in metadata


def test_wheel_tags() -> None:
    wheels = built_wheels()
    native_tags = wheel_field(wheels.native, wheels.version, "Tag")
    arch = platform.machine()
    assert sorted(native_tags) == [
        f"cp310-abi3-manylinux2014_{arch}",
        f"cp310-abi3-manylinux_2_17_{arch}",
    ], "abi3 for CPython 3.10+, glibc 2.17+ (manylinux2014)"
    assert wheel_field(wheels.native, wheels.version, "Root-Is-Purelib") == ["false"]
    assert wheel_field(wheels.pure, wheels.version, "Tag") == ["py3-none-any"]
    assert wheel_field(wheels.pure, wheels.version, "Root-Is-Purelib") == ["true"]


def test_the_extension_needs_no_glibc_newer_than_manylinux2014s(tmp_path: Path) -> None:
    wheels = built_wheels()
    with zipfile.ZipFile(wheels.native) as native:
        name = next(n for n in native.namelist() if n.endswith(".so"))
        library = Path(native.extract(name, tmp_path))
    symbols = subprocess.run(
        ["objdump", "-T", str(library)], capture_output=True, text=True, check=True
    ).stdout
    versions = {tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_([0-9.]+)", symbols)}
    assert versions and max(versions) <= (2, 17), sorted(versions)


def test_pure_wheel_is_the_native_one_without_compiled_code() -> None:
    wheels = built_wheels()
    with zipfile.ZipFile(wheels.native) as native, zipfile.ZipFile(wheels.pure) as pure:
        native_names, pure_names = set(native.namelist()), set(pure.namelist())
    compiled = {n for n in native_names if n.startswith("ferrocan/_native.") and n.endswith(".so")}
    assert len(compiled) == 1
    sbom = {n for n in native_names if "/sboms/" in n}  # describes the Rust crates in the .so
    assert pure_names == native_names - compiled - sbom
    assert "ferrocan/_native.pyi" in pure_names
    assert not [n for n in pure_names if n.endswith((".so", ".pyd", ".dylib"))]


def test_pure_wheel_record_matches_its_contents() -> None:
    wheels = built_wheels()
    record_name = f"ferrocan-{wheels.version}.dist-info/RECORD"
    with zipfile.ZipFile(wheels.pure) as whl:
        rows = [line.split(",") for line in whl.read(record_name).decode().splitlines()]
        assert sorted(row[0] for row in rows) == sorted(whl.namelist())
        for name, digest, size in rows:
            if name == record_name:
                assert (digest, size) == ("", "")
                continue
            data = whl.read(name)
            b64 = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, size) == (f"sha256={b64}", str(len(data))), name


def make_venv(path: Path) -> Path:
    """A venv without pip, from the real interpreter behind this one; its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    return path / "bin" / "python"


def run_unchecked(*command: str | Path) -> subprocess.CompletedProcess[str]:
    """Runs ``command`` as a user without a Rust toolchain would: no cargo or
    rustc on PATH, so nothing can be compiled on install."""
    env = {k: v for k, v in os.environ.items() if k not in ("FERROCAN_BACKEND", "CARGO_HOME")}
    env["PATH"] = os.pathsep.join(
        d for d in env.get("PATH", "").split(os.pathsep) if not Path(d, "cargo").exists()
    )
    return subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=TIMEOUT, env=env
    )


def run(*command: str | Path) -> str:
    """Runs ``command`` as run_unchecked does; it must succeed. Its stdout."""
    done = run_unchecked(*command)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def pip_install(python: Path, *args: str | Path) -> None:
    """This interpreter's pip installs into the venv of ``python``, offline.

    ``--python`` runs this pip under the venv's interpreter, so it sees only
    that venv (``--prefix`` or ``--target`` would uninstall the dev install of
    ferrocan from .venv). Inside UML it takes 2-4 s; seeding pip into each
    venv instead (ensurepip) takes about 7 s.
    """
    run(sys.executable, "-m", "pip", "--python", python, *PIP_INSTALL, *args)


def probe(python: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run(python, "-I", "-c", PROBE))
    assert Path(result["module"]).is_relative_to(python.parent.parent), result["module"]
    assert result["received"] == [0x1A5, "010203"], "vcan0 round trip failed"
    return result


def installed_files(python: Path) -> list[str]:
    """What the venv of ``python`` has in site-packages, relative to it."""
    (site,) = python.parent.parent.glob("lib/python*/site-packages")
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*"))


#: Each wheel alone, and what comes of installing it on this Python: the
#: backend it runs on, or "refused" where pip must not install it.
ALONE = [
    pytest.param("native", "native", id="native-runs-native")
    if NATIVE_FITS
    else pytest.param("native", "refused", id="native-refused-on-cpython-3.9"),
    pytest.param("pure", "ctypes", id="pure-runs-ctypes"),
]


@pytest.mark.parametrize(("kind", "outcome"), ALONE)
def test_each_wheel_alone_installs_and_runs_on_its_backend_or_is_refused(
    tmp_path: Path, kind: str, outcome: str
) -> None:
    """The native wheel runs on the native backend on CPython 3.10 and later;
    on 3.9, whose tags do not include cp310-abi3, pip says it is not a
    supported wheel, fails and installs nothing (rather than an extension 3.9
    cannot load). The pure wheel runs on the ctypes backend everywhere."""
    wheels = built_wheels()
    wheel = wheels.native if kind == "native" else wheels.pure
    python = make_venv(tmp_path / "venv")
    if outcome == "refused":
        done = run_unchecked(sys.executable, "-m", "pip", "--python", python, *PIP_INSTALL, wheel)
        output = done.stdout + done.stderr
        assert done.returncode != 0, f"pip installed {wheel.name} on {PYTHON}:\n{output}"
        assert f"{wheel.name} is not a supported wheel on this platform" in output, output
        assert not [f for f in installed_files(python) if f.startswith("ferrocan")]
        return
    pip_install(python, wheel)
    result = probe(python)
    assert (result["backend"], result["bus_backend"]) == (outcome, outcome)
    assert result["version"] == wheels.version
    assert field(result["wheel"], "Tag") == wheel_field(wheel, wheels.version, "Tag")


@pytest.mark.parametrize(
    ("kind", "runs_on"),
    [
        pytest.param("native", "native", id="native-on-cpython-3.10+")
        if NATIVE_FITS
        else pytest.param("pure", "ctypes", id="pure-on-cpython-3.9")
    ],
)
def test_pip_given_both_wheels_takes_the_one_this_python_runs(
    tmp_path: Path, kind: str, runs_on: str
) -> None:
    """Given both wheels, pip takes the most specific compatible tag: the abi3
    wheel on Linux x86_64/aarch64 CPython >= 3.10 (this test's platform), the
    pure wheel on CPython 3.9, which cannot use cp310-abi3."""
    wheels = built_wheels()
    wheel = wheels.native if kind == "native" else wheels.pure
    links = tmp_path / "wheels"
    links.mkdir()
    for each in (wheels.native, wheels.pure):
        shutil.copy(each, links)
    python = make_venv(tmp_path / "venv")
    pip_install(python, "--find-links", links, "ferrocan")
    result = probe(python)
    assert (result["backend"], result["bus_backend"]) == (runs_on, runs_on)
    assert field(result["wheel"], "Tag") == wheel_field(wheel, wheels.version, "Tag")
    compiled = [
        f for f in result["files"] if f.startswith("ferrocan/_native.") and f.endswith(".so")
    ]
    assert bool(compiled) is (kind == "native"), result["files"]
