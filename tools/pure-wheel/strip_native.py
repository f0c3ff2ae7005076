"""Derive ferrocan's pure wheel from the native wheel maturin built.

    python tools/pure-wheel/strip_native.py dist/ferrocan-VERSION-cp310-abi3-PLATFORM.whl

writes dist/ferrocan-VERSION-py3-none-any.whl next to it: the same files
minus the compiled code (the ``_native`` extension, any vendored ``*.libs/``)
and minus the SBOM of the Rust crates linked into it (the license texts in
``.dist-info/licenses/`` stay); ``WHEEL`` says
``Root-Is-Purelib: true`` and ``Tag: py3-none-any``; ``RECORD`` is rewritten
with the hashes of what is left (PEP 427). ``METADATA`` is copied byte for
byte, so name, version (Cargo.toml's), requires-python, extras, summary and
readme cannot drift from the native wheel's: pyproject.toml and Cargo.toml
stay the only sources of truth. Standard library only.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import sys
import zipfile
from pathlib import Path

PURE_TAG = "py3-none-any"
# Compiled code and what only describes it: extension modules, libraries
# auditwheel vendors into NAME.libs/, and the SBOM of the Rust dependencies.
DROPPED = re.compile(r"(\.(so|pyd|dylib|dll)(\.[0-9.]+)?$)|(^[^/]+\.libs/)|(\.dist-info/sboms/)")


def pure_wheel_name(native: Path) -> str:
    """ferrocan-0.1.0-cp310-abi3-manylinux_2_17_x86_64.whl -> ferrocan-0.1.0-py3-none-any.whl"""
    parts = native.name[: -len(".whl")].split("-")
    if len(parts) != 5:  # name-version-python-abi-platform; no build tag expected
        raise SystemExit(f"strip_native: unexpected wheel file name {native.name}")
    return f"{parts[0]}-{parts[1]}-{PURE_TAG}.whl"


def pure_wheel_file(wheel_text: str) -> str:
    """The WHEEL file of the pure wheel: same headers, pure root, one py3-none-any tag."""
    lines = []
    for line in wheel_text.splitlines():
        key = line.partition(":")[0]
        if key == "Root-Is-Purelib":
            line = "Root-Is-Purelib: true"
        elif key == "Generator":
            line = f"{line} + ferrocan tools/pure-wheel/strip_native.py"
        elif key == "Tag":
            continue
        lines.append(line)
    return "\n".join([*lines, f"Tag: {PURE_TAG}", ""])


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def strip(native: Path) -> Path:
    """Write the pure wheel next to ``native`` and return its path."""
    out = native.with_name(pure_wheel_name(native))
    partial = out.with_suffix(".partial")
    records: list[str] = []
    with zipfile.ZipFile(native) as src, zipfile.ZipFile(partial, "w") as dst:
        dist_info = next(n.split("/")[0] for n in src.namelist() if ".dist-info/" in n)
        for info in src.infolist():
            name = info.filename
            if DROPPED.search(name) or name == f"{dist_info}/RECORD":
                continue
            data = src.read(info)
            if name == f"{dist_info}/WHEEL":
                data = pure_wheel_file(data.decode()).encode()
            dst.writestr(copy.copy(info), data)
            records.append(record_line(name, data))
        record = src.getinfo(f"{dist_info}/RECORD")
        records.append(f"{record.filename},,")
        dst.writestr(copy.copy(record), "".join(f"{line}\n" for line in records))
    partial.replace(out)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].endswith(".whl"):
        print(__doc__, file=sys.stderr)
        return 2
    print(strip(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
