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

What the docs show a block printing, it prints. The rule: a ```text block
that follows a block that runs, with nothing but blank lines between them,
is that block's expected output, and must equal what the block writes to
stdout (its stderr is not compared), line for line. Any other ```text block
is not output of a block that runs here, and is not compared: write prose
between a block and a ```text block that is not its output. A comment
such as ``# 50`` after a call is not checked; a ```text block is.

Some of what a block prints changes from run to run. NORMALISE, below, is
the one place that says what: each rule is a pattern, the placeholder that
replaces what it matches, and why, and it applies to the expected and the
printed text alike before they are compared:

* ``Timestamp: 1795511838.557086`` in a Message's str: the kernel's
  receive time.
* ``2: vcan0: ...`` at the start of ``ferrocan link show``: the index the
  kernel gave the interface when it was created.
* ``mtu 2060`` reads ``mtu 72``, and ``fd on xl on`` reads ``fd on``: Linux
  7 gives every new vcan CAN XL's MTU, earlier kernels CAN FD's; both carry
  CAN FD, and the docs show 72.
* Blanks at the end of a line: editors strip them from Markdown.

The rules stay few and narrow, since each is a difference the test cannot
see; an example whose output depends on more (earlier traffic, the order
of events between threads) is written so that it does not, for instance on
an interface it creates itself. A mismatch fails with a diff that names
the Markdown file and line of both blocks.
"""

from __future__ import annotations

import difflib
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
    end: int  # the closing fence's line, 1-based

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def parse(page: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of ``page``, with the marker right before each, and
    what is wrong with the page's markup (unclosed fences, stray markers)."""
    return parse_text(page.read_text(), str(page.relative_to(ROOT)))


def parse_text(text: str, path: str) -> tuple[list[Block], list[str]]:
    """:func:`parse` of a page's ``text``; ``path`` names it in messages."""
    lines = text.splitlines()
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
                end=end + 1,
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


def expected_outputs(text: str, blocks: list[Block]) -> list[tuple[Block, Block]]:
    """Each block that runs, paired with the ```text block that shows its
    output: the next block, with only blank lines before it (see above)."""
    lines = text.splitlines()
    return [
        (block, following)
        for block, following in zip(blocks, blocks[1:])
        if runnable(block)
        and following.language == "text"
        # the lines after the block's closing fence, up to the text's opening one
        and not any(line.strip() for line in lines[block.end : following.line - 2])
    ]


@dataclass(frozen=True)
class Rule:
    """A part of the output that changes from run to run (see above)."""

    pattern: re.Pattern[str]
    placeholder: str
    reason: str
    #: Two texts the rule makes equal, and one that must stay different from
    #: them: the test of the rule itself.
    same: tuple[str, str]
    different: str


#: Applied in order, to the expected and the printed output alike.
NORMALISE = [
    Rule(
        re.compile(r"(?<=^Timestamp: )\d+\.\d{6}(?= )", re.MULTILINE),
        "<receive time>",
        "a Message's str starts with the kernel's receive time",
        same=("Timestamp: 1795511838.557086    ID: 123", "Timestamp: 1795511901.000001    ID: 123"),
        different="Timestamp: 1795511838.557086    ID: 124",
    ),
    Rule(
        re.compile(r"^\d+(?=: [a-z]+\d+: )", re.MULTILINE),
        "<index>",
        "`ferrocan link show` starts with the interface's index, which the kernel assigns",
        same=("2: vcan0: vcan state UP", "14: vcan0: vcan state UP"),
        different="2: vcan0: vcan state DOWN",
    ),
    Rule(
        re.compile(r"(?<=\bmtu )2060\b"),
        "72",
        "Linux 7 gives a new vcan CAN XL's MTU, 2060, earlier kernels CAN FD's, 72;"
        " both carry CAN FD, and the docs show 72",
        same=("vcan0: vcan state UP mtu 2060", "vcan0: vcan state UP mtu 72"),
        different="vcan0: vcan state UP mtu 16",
    ),
    Rule(
        re.compile(r"(?<=\bfd on) xl on$", re.MULTILINE),
        "",
        "the same difference in `ferrocan link show`: a vcan at 2060 carries CAN XL",
        same=("    link/can vcan fd on xl on", "    link/can vcan fd on"),
        different="    link/can vcan fd off",
    ),
    Rule(
        re.compile(r"[ \t]+$", re.MULTILINE),
        "",
        "editors strip blanks at the end of a line from Markdown",
        same=("DL:  2    de ad  ", "DL:  2    de ad"),
        different="DL:  2    de ad be",
    ),
]


def normalise(text: str) -> str:
    for rule in NORMALISE:
        text = rule.pattern.sub(rule.placeholder, text)
    return text


def mismatch(block: Block, expected: Block, printed: str) -> str | None:
    """A diff of what ``block`` printed against its ``expected`` output,
    both normalised; None when they agree."""
    want, got = normalise(expected.code), normalise(printed)
    if want == got:
        return None
    return "".join(
        difflib.unified_diff(
            want.splitlines(keepends=True),
            got.splitlines(keepends=True),
            f"{expected.where} (what the docs show)",
            f"{block.where} (what the block printed)",
        )
    )


PARSED = {page: parse(page) for page in PAGES}
ALL_BLOCKS = [block for blocks, _ in PARSED.values() for block in blocks]
PAIRS = {page: expected_outputs(page.read_text(), blocks) for page, (blocks, _) in PARSED.items()}
ALL_PAIRS = [pair for pairs in PAIRS.values() for pair in pairs]


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


def test_the_docs_have_output_that_is_compared() -> None:
    """Guards the pairing: a change that paired no block with its output
    would compare nothing and pass."""
    listing = "\n".join(f"  {block.where} -> {text.where}" for block, text in ALL_PAIRS)
    print(f"\n{len(ALL_PAIRS)} outputs compared:\n{listing}")
    pages = {block.path for block, _ in ALL_PAIRS}
    assert len(pages) >= len(PAGES) // 2, f"expected output on only {sorted(pages)}"


def test_the_comparison_fails_on_a_difference() -> None:
    page = (
        "Text.\n\n```python\nprint(msg)\n```\n\n```text\n"
        "Timestamp: 1795511838.557086    ID:      123    S Rx\n```\n\n"
        "Not output:\n\n```text\nanything\n```\n"
    )
    blocks, problems = parse_text(page, "docs/page.md")
    assert not problems
    [(block, expected)] = expected_outputs(page, blocks)
    assert (block.where, expected.where) == ("docs/page.md:4", "docs/page.md:8")
    right = "Timestamp: 1795512000.000001    ID:      123    S Rx\n"
    assert mismatch(block, expected, right) is None
    diff = mismatch(block, expected, right.replace("Rx", "Tx"))
    assert diff is not None
    assert "docs/page.md:8 (what the docs show)" in diff
    assert "docs/page.md:4 (what the block printed)" in diff
    assert "-Timestamp: <receive time>    ID:      123    S Rx" in diff
    assert "+Timestamp: <receive time>    ID:      123    S Tx" in diff
    assert mismatch(block, expected, "") is not None


@pytest.mark.parametrize("rule", NORMALISE, ids=lambda rule: rule.placeholder or "blanks")
def test_each_normalisation_is_narrow(rule: Rule) -> None:
    """A rule makes its two examples equal, leaves the third different, and
    keeps the rest of a line."""
    first, second = rule.same
    assert first != second and normalise(first) == normalise(second), rule.reason
    assert normalise(rule.different) != normalise(first), rule.reason
    assert len(normalise(first)) >= len(first) // 2, rule.reason


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


def run_blocks(blocks: list[Block], workdir: Path) -> str:
    """Runs ``blocks`` and returns what they wrote to stdout."""
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
    return done.stdout


def outputs_of(stdout: str, blocks: list[Block]) -> dict[str, str]:
    """What each block printed, by its ``where``, cut at the line that the
    runner prints before each block."""
    printed: dict[str, list[str]] = {}
    pending = [block.where for block in blocks]
    current: list[str] = []  # before the first block: the runner prints nothing
    for line in stdout.splitlines(keepends=True):
        if pending and line.rstrip("\n") == f"--- {pending[0]}":
            current = printed[pending.pop(0)] = []
        else:
            current.append(line)
    return {where: "".join(lines) for where, lines in printed.items()}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_code_runs(page: Path, vcan: None, tmp_path: Path) -> None:
    blocks = [block for block in PARSED[page][0] if runnable(block)]
    if not blocks:
        return  # a page without code that runs here; the check above counts them
    before = interfaces()
    printed = outputs_of(run_blocks(blocks, tmp_path), blocks)
    assert interfaces() == before, f"{page.name} left the interfaces changed"
    wrong = [
        mismatch(block, expected, printed[block.where])
        if block.where in printed
        else f"{block.where}: the runner's line before the block is missing from its output"
        for block, expected in PAIRS[page]
    ]
    differences = [text for text in wrong if text is not None]
    if differences:
        pytest.fail(
            "what the docs show differs from what the code prints:\n" + "\n".join(differences),
            pytrace=False,
        )


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
