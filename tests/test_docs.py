"""The documentation's code runs, as written.

Every ```python block of docs/*.md and README.md runs: a page's blocks run
in order, in one namespace, in a fresh interpreter, on this kernel's vcan0
and vcan1 (start pytest through tools/vcan-run). A traceback names the
Markdown file and line. A block that cannot run here (it needs a real
controller such as can0) says why in the line right before its fence:

    <!-- not run: needs a real controller (can0) -->

Nothing else is skipped: a block in another spelling of Python (```py,
```pycon) fails the test, and so does a marker that marks no block. ```sh
blocks do not run, except those marked ``<!-- run -->`` (ferrocan command
lines), which run in order with the page's Python blocks, in bash, with
.venv/bin first on PATH. A page must leave the network interfaces as it
found them. The examples in examples/ run too, and ``mkdocs build
--strict`` must pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

#: Blocks that cannot run here stay few: each one is a claim nobody checks.
MAX_NOT_RUN = 6
#: A page's blocks together, and one example, must finish within this.
PAGE_TIMEOUT = 120.0

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
NOT_RUN = re.compile(r"^\s*<!--\s*not run:(?P<reason>.*?)-->\s*$")
RUN = re.compile(r"^\s*<!--\s*run\s*-->\s*$")
ANY_MARKER = re.compile(r"^\s*<!--\s*(not run|run)\b")
#: Fence languages that are not run, as they are not code for this machine
#: (or not code at all). Anything else is a mistake, and fails.
NOT_CODE = {"", "text", "console", "sh", "toml", "yaml", "ini", "dbc"}


@dataclass(frozen=True)
class Block:
    """A fenced code block of a page."""

    path: str  # relative to the repository, as tracebacks show it
    line: int  # the first line of code, 1-based
    language: str
    code: str
    not_run: str | None  # the reason, for a block marked not run
    run: bool  # a sh block marked to run

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def parse(page: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of ``page``, with the marker right before each, and
    what is wrong with the page's markup (unclosed fences, stray markers)."""
    lines = page.read_text().splitlines()
    path = str(page.relative_to(ROOT))
    blocks: list[Block] = []
    problems: list[str] = []
    markers: dict[int, str] = {}  # line index -> the marker line
    index = 0
    while index < len(lines):
        line = lines[index]
        if ANY_MARKER.search(line):
            markers[index] = line
        opening = FENCE.match(line)
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        end = index + 1
        while end < len(lines) and not re.match(
            rf"^{indent}{fence[0]}{{{len(fence)},}}\s*$", lines[end]
        ):
            end += 1
        if end == len(lines):
            problems.append(f"{path}:{index + 1}: the fence is never closed")
        code = "\n".join(text[len(indent) :] for text in lines[index + 1 : end]) + "\n"
        before = lines[index - 1] if index > 0 else ""
        not_run = NOT_RUN.match(before)
        blocks.append(
            Block(
                path=path,
                line=index + 2,
                language=opening["info"],
                code=code,
                not_run=None if not_run is None else not_run["reason"].strip(),
                run=RUN.match(before) is not None,
            )
        )
        markers.pop(index - 1, None)
        index = end + 1
    problems += [
        f"{path}:{stray + 1}: {text.strip()} marks no code block" for stray, text in markers.items()
    ]
    return blocks, problems


def runnable(block: Block) -> bool:
    return (block.language == "python" and block.not_run is None) or block.run


PARSED = {page: parse(page) for page in PAGES}
ALL_BLOCKS = [block for blocks, _ in PARSED.values() for block in blocks]


def test_markup_is_sound() -> None:
    problems = [problem for _, page_problems in PARSED.values() for problem in page_problems]
    assert not problems, "\n".join(problems)


def test_every_block_is_python_or_plainly_not_code() -> None:
    odd = [
        f"{block.where}: ```{block.language}"
        for block in ALL_BLOCKS
        if block.language != "python" and block.language not in NOT_CODE
    ]
    assert not odd, "blocks in a language the test neither runs nor knows:\n" + "\n".join(odd)


def test_markers_fit_their_blocks() -> None:
    wrong = [
        f"{block.where}: 'not run' marks a ```{block.language} block, which never runs"
        for block in ALL_BLOCKS
        if block.not_run is not None and block.language != "python"
    ] + [
        f"{block.where}: 'run' marks a ```{block.language} block; only sh blocks take it"
        for block in ALL_BLOCKS
        if block.run and block.language != "sh"
    ]
    assert not wrong, "\n".join(wrong)


def test_blocks_not_run_say_why_and_are_few() -> None:
    not_run = [block for block in ALL_BLOCKS if block.not_run is not None]
    unexplained = [block.where for block in not_run if not block.not_run]
    assert not unexplained, f"'<!-- not run: REASON -->' needs a reason: {unexplained}"
    listing = "\n".join(f"  {block.where}: {block.not_run}" for block in not_run)
    print(f"\n{len(not_run)} blocks not run:\n{listing}")
    assert len(not_run) <= MAX_NOT_RUN, f"too many blocks are not run:\n{listing}"


def test_the_docs_have_code_that_runs() -> None:
    """Guards the parser: a change that found no blocks would pass everything."""
    pages = {block.path for block in ALL_BLOCKS if runnable(block)}
    assert len(pages) >= len(PAGES) // 2, f"runnable code on only {sorted(pages)}"


def interfaces() -> list[str]:
    return sorted(os.listdir("/sys/class/net"))


@pytest.fixture
def vcan() -> None:
    if not os.path.exists("/sys/class/net/vcan0"):
        pytest.fail("vcan0 is missing: run the tests through tools/vcan-run (see README.md)")


#: Runs one page's blocks: ``runner.py BLOCKS.json``, in order, one namespace.
RUNNER = """\
import json, os, subprocess, sys

namespace = {"__name__": "__main__"}
env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
for block in json.load(open(sys.argv[1])):
    print(f"--- {block['path']}:{block['line']}", flush=True)
    if block["language"] == "python":
        source = "\\n" * (block["line"] - 1) + block["code"]
        exec(compile(source, block["path"], "exec"), namespace)
    else:
        subprocess.run(["bash", "-euo", "pipefail", "-c", block["code"]], env=env, check=True)
    sys.stdout.flush()
"""


def run_blocks(blocks: list[Block], workdir: Path) -> None:
    (workdir / "blocks.json").write_text(json.dumps([asdict(block) for block in blocks]))
    (workdir / "runner.py").write_text(RUNNER)
    try:
        done = subprocess.run(
            [sys.executable, "runner.py", "blocks.json"],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=PAGE_TIMEOUT,
        )
    except subprocess.TimeoutExpired as timeout:
        output = timeout.stdout or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        raise AssertionError(f"the page ran past {PAGE_TIMEOUT} s:\n{output}") from None
    assert done.returncode == 0, f"a block failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_code_runs(page: Path, vcan: None, tmp_path: Path) -> None:
    blocks = [block for block in PARSED[page][0] if runnable(block)]
    if not blocks:
        return  # README.md's blocks need a real can0; the check above counts them
    before = interfaces()
    run_blocks(blocks, tmp_path)
    assert interfaces() == before, f"{page.name} left the interfaces changed"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(example: Path, vcan: None, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
    )
    assert done.returncode == 0, f"{example.name} failed:\n{done.stdout}\n{done.stderr}"


def test_mkdocs_builds_strict(tmp_path: Path) -> None:
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        pytest.fail("mkdocs is missing: install the docs extra (pip install -e '.[docs]')")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    assert (tmp_path / "index.html").exists()


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r"([\w-]+\.md)\s*$", config, re.MULTILINE))
    pages = {page.name for page in DOCS.glob("*.md")}
    assert listed == pages, f"in mkdocs.yml's nav but missing: {listed - pages}; " + (
        f"not in the nav: {pages - listed}"
    )


#: The modules docs/api.md presents as public, each with its ``__all__``.
#: (ferrocan.bus, .message, .periodic, .exceptions and .interface hold what
#: ``ferrocan`` re-exports; ferrocan.cli is the command, documented in cli.md.)
PUBLIC_MODULES = [
    "ferrocan",
    "ferrocan.aio",
    "ferrocan.candump_log",
    "ferrocan.cansend",
    "ferrocan.error_frame",
    "ferrocan.link",
    "ferrocan.pythoncan",
]


def test_api_reference_names_every_public_name() -> None:
    """Each public module, and every name in its ``__all__``, appears in
    docs/api.md, in inline code or a heading (``ferrocan.link`` or ``link``;
    ``ErrorClass`` or ``ferrocan.error_frame.ErrorClass``). Run in a fresh
    interpreter so that the native module is what an install imports."""
    probe = (
        "import importlib, json, sys\n"
        "print(json.dumps({m: importlib.import_module(m).__all__ for m in sys.argv[1:]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *PUBLIC_MODULES],
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
        check=True,
    )
    exported: dict[str, list[str]] = json.loads(done.stdout)
    text = (DOCS / "api.md").read_text()
    spans = re.findall(r"`([^`\n]+)`", text) + re.findall(r"^#+ (.*)$", text, re.MULTILINE)
    dotted = {name for span in spans for name in re.findall(r"[\w.]+", span)}
    words = {word for name in dotted for word in name.split(".")}
    missing = [
        module
        for module in PUBLIC_MODULES
        if not any(name == module or name.startswith(f"{module}.") for name in dotted)
    ] + [
        f"{module}.{name}"
        for module, names in exported.items()
        for name in names
        if name not in words
    ]
    assert not missing, "docs/api.md does not mention: " + ", ".join(missing)
