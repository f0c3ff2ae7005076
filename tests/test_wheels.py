"""The wheels and the sdist tools/build-wheels puts in dist/ (tools/test builds
them on the host first; this module only reads them, because inside User-Mode
Linux building is slow), on the Python that runs this module: .venv's in the
main suite, each other CPython from 3.9 up in tools/test-pythons.

* the abi3 wheels, cp310-abi3, one for each of x86_64, aarch64 and armv7l,
  install the Rust core and run on the native backend on CPython 3.10 and
  later; on 3.9 pip refuses them (PyO3's abi3-py310: the 3.10 limited API
  has vectorcall, README.md "Wheels"). Each is manylinux2014: its extension
  is an ELF file for its machine that needs no glibc symbol newer than 2.17
  (read here with the ELF reader below, whatever the host's binutils read).
  Only this machine's wheel can be installed here; tests/arm (tools/arm-run)
  installs the ARM ones on their machines;
* the py3-none-any wheel is the same package without compiled code, with the
  same metadata, and runs on the ctypes backend;
* given both, pip picks the native wheel on CPython 3.10 and later, and the
  pure one on 3.9;
* every wheel and the sdist carry the license texts, LICENSE-MIT and
  LICENSE-APACHE; the sdist holds what building needs and nothing else
  (tests/test_sdist.py builds and installs it, on the host).

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
import struct
import subprocess
import sys
import tarfile
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
RUST_BUILD_FILES = ("Cargo.toml", "Cargo.lock", "build.rs", "pyproject.toml")
#: The license texts pyproject.toml's license-files names, in every artifact.
LICENSE_FILES = ("LICENSE-MIT", "LICENSE-APACHE")
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


class Machine(NamedTuple):
    """What a native wheel's extension must be, by the ELF header."""

    rust_target: str
    elf_class: int  # 32 or 64 bits
    e_machine: int
    #: The bits of e_flags that must be set.
    e_flags: int = 0


EM_X86_64, EM_AARCH64, EM_ARM = 62, 183, 40
#: ARM EABI version 5 (the EABI mask is 0xFF000000) with hard-float calls.
EF_ARM_EABI_VER5, EF_ARM_ABI_FLOAT_HARD = 0x05000000, 0x00000400
#: The machines tools/build-wheels builds for, by their name in wheel tags
#: (uname -m's).
MACHINES = {
    "x86_64": Machine("x86_64-unknown-linux-gnu", 64, EM_X86_64),
    "aarch64": Machine("aarch64-unknown-linux-gnu", 64, EM_AARCH64),
    "armv7l": Machine(
        "armv7-unknown-linux-gnueabihf", 32, EM_ARM, EF_ARM_EABI_VER5 | EF_ARM_ABI_FLOAT_HARD
    ),
}
#: The newest glibc a manylinux2014 extension may need.
GLIBC_FLOOR = (2, 17)


class Wheels(NamedTuple):
    version: str
    #: This machine's native wheel, the one the install tests use.
    native: Path
    pure: Path
    #: Every native wheel, by machine (MACHINES' keys).
    natives: dict[str, Path]
    sdist: Path

    def every_wheel(self) -> dict[str, Path]:
        return {**self.natives, "pure": self.pure}


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


def newer_rust_sources(*built_from_them: Path) -> list[str]:
    """Files the extension is compiled from, changed after the oldest of
    ``built_from_them`` was built (by modification time: a compiled wheel
    cannot be compared)."""
    built = min(path.stat().st_mtime for path in built_from_them)
    sources = [*(ROOT / "src").rglob("*.rs"), *(ROOT / name for name in RUST_BUILD_FILES)]
    return sorted(
        str(path.relative_to(ROOT))
        for path in sources
        if path.is_file() and path.stat().st_mtime > built
    )


def listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def machine_of(wheel: Path) -> str:
    """The machine of a native wheel, from the last platform tag of its name:
    ...-manylinux2014_armv7l.manylinux_2_17_armv7l.whl -> armv7l."""
    platform_tag = wheel.name[: -len(".whl")].split("-")[-1].split(".")[-1]
    found = re.fullmatch(r"(?:manylinux|linux)[0-9_]*?_((?:x86_64|aarch64|armv7l))", platform_tag)
    return found.group(1) if found else platform_tag


@functools.cache
def built_wheels() -> Wheels:
    """dist/'s wheels and sdist, once checked to be built from these sources.

    Called in each test's body, not as a fixture, so that missing or stale
    wheels fail the tests with what to run (a fixture's failure is reported
    as an error at setup). Only a success is cached; building here instead
    would be slow inside UML and would race a tools/build-wheels in progress.
    """
    version = cargo_version()
    natives: dict[str, list[Path]] = {}
    for wheel in sorted(DIST.glob(f"ferrocan-{version}-cp310-abi3-*.whl")):
        natives.setdefault(machine_of(wheel), []).append(wheel)
    pure = DIST / f"ferrocan-{version}-py3-none-any.whl"
    sdist = DIST / f"ferrocan-{version}.tar.gz"
    if (
        sorted(natives) != sorted(MACHINES)
        or any(len(found) != 1 for found in natives.values())
        or not pure.is_file()
        or not sdist.is_file()
    ):
        found = sorted(p.name for p in DIST.glob("ferrocan-*")) if DIST.is_dir() else "no dist/"
        pytest.fail(
            f"dist/ must hold ferrocan {version}'s cp310-abi3 wheel for each of "
            f"{', '.join(MACHINES)}, its py3-none-any wheel and its sdist "
            f"(found: {found}): {BUILD_HINT}",
            pytrace=False,
        )
    here = platform.machine()
    if here not in natives:
        pytest.fail(f"no native wheel is built for this machine, {here}", pytrace=False)
    problems = []
    if stale := stale_files(pure):
        problems.append(f"{len(stale)} files of python/ferrocan differ: {listing(stale)}")
    if newer := newer_rust_sources(*(found[0] for found in natives.values()), sdist):
        problems.append(f"changed since the native wheels were built: {listing(newer)}")
    if problems:
        pytest.fail(
            f"dist/ is older than python/ferrocan or src ({'; '.join(problems)}): {BUILD_HINT}",
            pytrace=False,
        )
    by_machine = {name: found[0] for name, found in natives.items()}
    return Wheels(version, by_machine[here], pure, by_machine, sdist)


def read(wheel: Path, version: str, name: str) -> str:
    with zipfile.ZipFile(wheel) as whl:
        return whl.read(f"ferrocan-{version}.dist-info/{name}").decode()


def field(wheel_file: str, name: str) -> list[str]:
    """The values of ``name`` in the text of a WHEEL file."""
    lines = wheel_file.splitlines()
    return [line.split(": ", 1)[1] for line in lines if line.startswith(f"{name}: ")]


def wheel_field(wheel: Path, version: str, name: str) -> list[str]:
    return field(read(wheel, version, "WHEEL"), name)


class Elf(NamedTuple):
    """What an ELF file's header says, and the symbol versions it needs."""

    elf_class: int  # 32 or 64 bits
    e_type: int
    e_machine: int
    e_flags: int
    #: Each symbol version the file needs (from .gnu.version_r) and the
    #: library it needs it from, e.g. ("GLIBC_2.17", "libc.so.6").
    needed: set[tuple[str, str]]


SHT_GNU_VERNEED = 0x6FFFFFFE
ET_EXEC, ET_DYN = 2, 3


def read_elf(data: bytes) -> Elf:
    """Reads the ELF header, the section headers and the version needs
    (SHT_GNU_verneed) of an ELF file of any machine, 32 or 64 bits."""
    assert data[:4] == b"\x7fELF", "not an ELF file"
    elf_class = {1: 32, 2: 64}[data[4]]
    order = {1: "<", 2: ">"}[data[5]]
    if elf_class == 64:
        header, section = "HHIQQQIHHHHHH", "IIQQQQIIQQ"
    else:
        header, section = "HHIIIIIHHHHHH", "IIIIIIIIII"
    (e_type, e_machine, _, _, _, e_shoff, e_flags, _, _, _, e_shentsize, e_shnum, _) = (
        struct.unpack_from(order + header, data, 16)
    )
    # Each section: name, type, flags, addr, offset, size, link, info, addralign, entsize.
    sections = [
        struct.unpack_from(order + section, data, e_shoff + i * e_shentsize) for i in range(e_shnum)
    ]

    def string(table: int, offset: int) -> str:
        start = sections[table][4] + offset
        return data[start : data.index(b"\0", start)].decode()

    needed = set()
    for _, sh_type, _, _, sh_offset, _, sh_link, sh_info, _, _ in sections:
        if sh_type != SHT_GNU_VERNEED:
            continue
        entry = sh_offset
        for _ in range(sh_info):  # Elf_Verneed entries, each with vn_cnt Elf_Vernaux
            _, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from(order + "HHIII", data, entry)
            aux = entry + vn_aux
            for _ in range(vn_cnt):
                _, _, _, vna_name, vna_next = struct.unpack_from(order + "IHHII", data, aux)
                needed.add((string(sh_link, vna_name), string(sh_link, vn_file)))
                aux += vna_next
            entry += vn_next
    return Elf(elf_class, e_type, e_machine, e_flags, needed)


def glibc_versions(elf: Elf) -> list[tuple[int, ...]]:
    """The GLIBC_X.Y symbol versions ``elf`` needs, as tuples of numbers."""
    return sorted(
        {
            tuple(map(int, v[len("GLIBC_") :].split(".")))
            for v, _ in elf.needed
            if re.fullmatch(r"GLIBC_[0-9]+(\.[0-9]+)*", v)
        }
    )


def test_the_elf_reader_reads_this_interpreter() -> None:
    """The reader above on a file whose class, machine and needs are known:
    the interpreter running this test, a glibc program of this machine."""
    elf = read_elf(Path(sys.executable).resolve().read_bytes())
    assert elf.elf_class == struct.calcsize("P") * 8
    assert elf.e_type in (ET_EXEC, ET_DYN)  # PIE or not
    if platform.machine() in MACHINES:
        assert elf.e_machine == MACHINES[platform.machine()].e_machine
    assert glibc_versions(elf), elf.needed
    assert "libc.so.6" in {
        library for version, library in elf.needed if version.startswith("GLIBC_")
    }


def test_every_wheel_has_the_same_metadata() -> None:
    wheels = built_wheels()
    metadata = read(wheels.pure, wheels.version, "METADATA")
    for machine, native in wheels.natives.items():
        assert read(native, wheels.version, "METADATA") == metadata, machine
    assert f"\nVersion: {wheels.version}\n" in metadata


def test_metadata_declares_the_licenses_and_the_project_urls() -> None:
    wheels = built_wheels()
    headers = read(wheels.pure, wheels.version, "METADATA").partition("\n\n")[0]
    assert field(headers, "License-Expression") == ["MIT OR Apache-2.0"]
    assert sorted(field(headers, "License-File")) == sorted(LICENSE_FILES)
    urls = dict(url.split(", ", 1) for url in field(headers, "Project-URL"))
    labels = ["Homepage", "Documentation", "Repository", "Issues", "Changelog"]
    assert sorted(urls) == sorted(labels), urls
    assert all(url.startswith("https://") for url in urls.values()), urls


MACHINE_PARAMS = [pytest.param(name, id=name) for name in MACHINES]


@pytest.mark.parametrize("machine", MACHINE_PARAMS)
def test_wheel_tags(machine: str) -> None:
    wheels = built_wheels()
    native = wheels.natives[machine]
    assert sorted(wheel_field(native, wheels.version, "Tag")) == [
        f"cp310-abi3-manylinux2014_{machine}",
        f"cp310-abi3-manylinux_2_17_{machine}",
    ], "abi3 for CPython 3.10+, glibc 2.17+ (manylinux2014)"
    assert native.name == (
        f"ferrocan-{wheels.version}-cp310-abi3-manylinux2014_{machine}.manylinux_2_17_{machine}.whl"
    )
    assert wheel_field(native, wheels.version, "Root-Is-Purelib") == ["false"]
    assert wheel_field(wheels.pure, wheels.version, "Tag") == ["py3-none-any"]
    assert wheel_field(wheels.pure, wheels.version, "Root-Is-Purelib") == ["true"]


@pytest.mark.parametrize("machine", MACHINE_PARAMS)
def test_the_extension_is_for_its_machine_and_needs_no_glibc_newer_than_manylinux2014s(
    machine: str,
) -> None:
    """Each wheel's extension is a shared object for the machine its tag
    names (armv7l: EABI 5, hard-float), and every glibc symbol version it
    needs is 2.17 or older, manylinux2014's floor."""
    wheels = built_wheels()
    with zipfile.ZipFile(wheels.natives[machine]) as native:
        (name,) = (n for n in native.namelist() if n.endswith(".so"))
        assert name == "ferrocan/_native.abi3.so"
        elf = read_elf(native.read(name))
    want = MACHINES[machine]
    assert (elf.elf_class, elf.e_machine, elf.e_type) == (want.elf_class, want.e_machine, ET_DYN)
    assert elf.e_flags & want.e_flags == want.e_flags, f"e_flags {elf.e_flags:#x}"
    if machine == "armv7l":
        assert elf.e_flags & 0xFF000000 == EF_ARM_EABI_VER5, f"e_flags {elf.e_flags:#x}"
    versions = glibc_versions(elf)
    assert versions, f"no GLIBC_ version needed: {sorted(elf.needed)}"
    assert max(versions) <= GLIBC_FLOOR, versions


@pytest.mark.parametrize("machine", MACHINE_PARAMS)
def test_pure_wheel_is_the_native_one_without_compiled_code(machine: str) -> None:
    wheels = built_wheels()
    with zipfile.ZipFile(wheels.natives[machine]) as native, zipfile.ZipFile(wheels.pure) as pure:
        native_names, pure_names = set(native.namelist()), set(pure.namelist())
    compiled = {n for n in native_names if n.startswith("ferrocan/_native.") and n.endswith(".so")}
    assert len(compiled) == 1
    sbom = {n for n in native_names if "/sboms/" in n}  # describes the Rust crates in the .so
    assert pure_names == native_names - compiled - sbom
    assert "ferrocan/_native.pyi" in pure_names
    assert not [n for n in pure_names if n.endswith((".so", ".pyd", ".dylib"))]


@pytest.mark.parametrize("kind", [*MACHINE_PARAMS, pytest.param("pure", id="pure")])
def test_every_wheel_carries_the_license_texts(kind: str) -> None:
    wheels = built_wheels()
    wheel = wheels.every_wheel()[kind]
    with zipfile.ZipFile(wheel) as whl:
        for name in LICENSE_FILES:
            member = f"ferrocan-{wheels.version}.dist-info/licenses/{name}"
            assert member in whl.namelist(), f"{wheel.name} has no {member}"
            assert whl.read(member) == (ROOT / name).read_bytes(), member


#: The sdist's top level: what building needs (the crate, its build script,
#: the benches its manifest names, the lock file, the package, the build
#: configuration), README.md for the metadata, and the texts it declares
#: (Cargo.toml's include lists them; maturin adds python/ and pyproject.toml).
SDIST_TOP = {
    "Cargo.toml",
    "Cargo.lock",
    "build.rs",
    "src",
    "benches",
    "python",
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "PKG-INFO",
    *LICENSE_FILES,
}


def repository_files(directory: str, suffixes: tuple[str, ...]) -> set[str]:
    """The source files under ``directory`` of this repository, relative to it."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / directory).rglob("*")
        if p.is_file() and p.suffix in suffixes and "__pycache__" not in p.parts
    }


def test_sdist_holds_what_building_needs_and_nothing_else() -> None:
    wheels = built_wheels()
    prefix = f"ferrocan-{wheels.version}/"
    with tarfile.open(wheels.sdist) as sdist:
        members = {m.name: m for m in sdist.getmembers() if m.isfile()}
        names = {n[len(prefix) :] for n in members if n.startswith(prefix)}
        assert len(names) == len(members), sorted(n for n in members if not n.startswith(prefix))
        for name in LICENSE_FILES:
            text = sdist.extractfile(members[prefix + name]) if prefix + name in members else None
            assert text is not None, f"the sdist has no {name}"
            assert text.read() == (ROOT / name).read_bytes(), name
        pkg_info = sdist.extractfile(members[prefix + "PKG-INFO"])
        assert pkg_info is not None
        headers = pkg_info.read().decode().partition("\n\n")[0]
    assert field(headers, "Version") == [wheels.version]
    assert sorted(field(headers, "License-File")) == sorted(LICENSE_FILES)
    needed = {"Cargo.toml", "Cargo.lock", "build.rs", "pyproject.toml", "README.md"}
    needed |= repository_files("src", (".rs",))
    needed |= repository_files("python/ferrocan", (".py", ".pyi", ".typed"))
    assert not needed - names, f"the sdist lacks {listing(sorted(needed - names))}"
    top = {n.split("/")[0] for n in names}
    assert top <= SDIST_TOP, f"not for the sdist: {sorted(top - SDIST_TOP)}"
    junk = [
        n
        for n in names
        if n.endswith((".so", ".pyc", ".whl"))
        or {"__pycache__", "target", ".venv", ".cache", "dist", ".git"} & set(n.split("/"))
    ]
    assert not junk, f"junk in the sdist: {listing(junk)}"


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
