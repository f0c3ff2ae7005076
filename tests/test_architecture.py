"""The package's layers (docs/architecture.md), checked on its source: every
import of a ferrocan module, at the top or inside a function, goes to the same
layer or one below, and no imports form a cycle but through the documented
lazy import of an optional part."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "ferrocan"

#: Bottom up. A module may import from its own layer and the ones below.
LAYERS = [
    # Definitions that need nothing of ferrocan.
    {"exceptions", "_can_h", "_message_text", "statistics"},
    # The shared error texts and checks, and what error frames mean.
    {"_errors", "_filters", "error_frame"},
    # Message, both implementations, and the text formats of frames and logs.
    {"_native", "_message", "message", "_cansend", "cansend", "_candump_log", "candump_log"},
    {"_log_format", "_sources"},
    # The backends; `_native` is the other one, compiled.
    {"_ctypes", "_backend"},
    # What users open: buses, their tasks, interfaces, recordings.
    {"periodic", "bus", "aio", "interface", "link", "recorder", "_thread_recording"},
    # The package's front, python-can's plugin, and the command line.
    {"ferrocan", "__main__", "pythoncan", "cli"},
]

#: The imports that would close a cycle, made inside a function on purpose:
#: an optional part, loaded only by those who use it.
LAZY = {
    ("bus", "aio"): "asyncio slows every import, and most users never need it",
}


def layer_of(module: str) -> int:
    top = module.split(".")[0]
    for number, layer in enumerate(LAYERS):
        if module in layer or top in layer:
            return number
    raise AssertionError(f"ferrocan.{module} is in no layer of LAYERS: add it where it belongs")


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts) or "ferrocan", path


def exists(module: str) -> bool:
    path = PACKAGE.joinpath(*module.split("."))
    return (
        any(path.with_suffix(suffix).is_file() for suffix in (".py", ".pyi"))
        or (path / "__init__.py").is_file()
    )


def imports(path: Path) -> Iterator[tuple[str, str]]:
    """Each ferrocan module ``path`` imports, and where: ``"top"`` (at import
    time), ``"function"`` (when called) or ``"typing"`` (for type checkers only)."""
    tree = ast.parse(path.read_text())
    where: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            where.update((id(inner), "typing") for inner in ast.walk(node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            where.update((id(inner), "function") for inner in ast.walk(node) if inner is not node)
    for node in ast.walk(tree):
        kind = where.get(id(node), "top")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ferrocan."):
                    yield alias.name.removeprefix("ferrocan."), kind
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ferrocan"):
            base = (node.module or "").removeprefix("ferrocan").lstrip(".")
            for alias in node.names:
                name = f"{base}.{alias.name}".lstrip(".")
                yield (name if exists(name) else base or "ferrocan"), kind


def test_every_import_goes_down_or_sideways() -> None:
    upward = [
        f"ferrocan.{module} imports ferrocan.{imported}"
        for module, path in modules()
        for imported, _ in imports(path)
        if layer_of(imported) > layer_of(module)
    ]
    assert upward == []


def test_no_imports_form_a_cycle() -> None:
    graph = {
        module: {
            imported
            for imported, kind in imports(path)
            if kind != "typing" and (module, imported) not in LAZY
        }
        for module, path in modules()
    }

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for imported in sorted(graph.get(path[-1], ())):
            if imported == start:
                return [*path, start]
            if imported not in path:
                found = cycle_from(start, [*path, imported])
                if found:
                    return found
        return None

    cycles = [cycle for module in graph if (cycle := cycle_from(module, [module]))]
    assert cycles == []


def test_the_lazy_imports_are_made_inside_functions() -> None:
    kinds = {
        (module, imported, kind) for module, path in modules() for imported, kind in imports(path)
    }
    for module, imported in LAZY:
        assert (module, imported, "function") in kinds
        assert (module, imported, "top") not in kinds
