"""Runs tests against an installed ferrocan wheel, not python/ferrocan.

    python tools/lib/wheel_tests.py BACKEND [PYTEST ARGS...]

Shared by tools/test-pythons (each CPython) and tools/test-pypy (PyPy), run
in UML (tools/vcan-run) with the venv's python, from the repository's root.
The ferrocan the tests import is the one imported here, before pytest puts
the repository on sys.path. BACKEND is the one the installed wheel must run
on: native, or ctypes for the pure wheel, which must have no
ferrocan._native at all. Then pytest runs the arguments, with the tests this
interpreter cannot run deselected, each for a reason the summary counts:
on ctypes those needing the extension (WithoutNative), on PyPy also those
that measure CPython's own machinery (OnPyPy). After the tests, every module
of the package must import on this interpreter, those the tests do not reach
too (the command line, the recorder, asyncio).
"""

from __future__ import annotations

import collections
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from typing import Any, ClassVar

import ferrocan
import pytest

#: How a test module that cannot import without ferrocan._native starts a line.
NATIVE_IMPORTS = ("from ferrocan._native import", "import ferrocan._native")


class Deselect:
    """A pytest plugin that deselects the tests :meth:`reason` gives a
    reason for, and counts them by reason at the end of the summary."""

    #: How the summary introduces each reason's count.
    heading = "deselected"

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()

    #: Tests -> why they cannot run here. A key is a node id, whole (one
    #: case) or without its parameters (every case).
    TESTS: ClassVar[dict[str, str]] = {}

    def reason(self, item: Any) -> str | None:
        """Why ``item`` cannot run here, or None if it can."""
        return self.TESTS.get(item.nodeid) or self.TESTS.get(item.nodeid.partition("[")[0])

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        kept, dropped = [], []
        for item in items:
            reason = self.reason(item)
            (kept if reason is None else dropped).append(item)
            if reason is not None:
                self.counts[reason] += 1
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for reason, count in self.counts.items():
            terminalreporter.write_line(f"{self.heading}: {count} on {reason}")


class WithoutNative(Deselect):
    """On the pure wheel, deselects the tests that need ferrocan._native.
    (ferrocan.link is native only; the fixtures that make interfaces use
    ip(8) there instead, tests/iplink.py.)"""

    heading = "deselected, needing ferrocan._native"
    #: Parameter values that select the native side of a test: a backend,
    #: or the Rust implementation of the text formats.
    NATIVE_PARAMETERS = frozenset({"native", "native-direct"})
    #: Tests (node ids without parameters) that use the native module
    #: whatever their parameters, and why.
    TESTS: ClassVar[dict[str, str]] = {
        "tests/test_interop.py::test_ferrocan_to_candump": (
            "candump, synced through a native bus (tests/peers.py)"
        ),
        "tests/test_bus_arguments.py::test_bus_with_only_a_channel_uses_the_default_backend": (
            "the native backend as the default"
        ),
        "tests/test_bus_arguments.py::"
        "test_an_unknown_forced_backend_fails_the_bus_that_needs_it_not_the_import": (
            "the native backend as the default"
        ),
        **dict.fromkeys(
            [
                "tests/test_fallback.py::"
                "test_the_native_backend_reads_directly_where_io_uring_is_forbidden",
                "tests/test_fallback.py::test_without_the_filter_the_same_bus_uses_io_uring",
                "tests/test_fallback.py::test_the_fallback_from_io_uring_is_logged",
                "tests/test_benchmark_script.py::test_the_profile_loop_runs_each_operation",
            ],
            "the native backend's io_uring (tests/test_fallback.py, benches/profile_loop.py)",
        ),
        **dict.fromkeys(
            [
                "tests/test_cli.py::test_link_show_agrees_with_ip",
                "tests/test_cli.py::test_link_add_up_show_del",
                "tests/test_cli.py::test_link_needs_cap_net_admin",
                "tests/test_logging.py::test_interface_changes_are_logged",
            ],
            "ferrocan.link and `ferrocan link` (tests/test_cli.py, tests/test_logging.py)",
        ),
        **dict.fromkeys(
            [
                "tests/test_text_formats.py::test_agree_on_any_text",
                "tests/test_text_formats.py::test_agree_on_frame_texts",
                "tests/test_text_formats.py::test_agree_on_log_lines",
                "tests/test_text_formats.py::test_format_frame_agrees",
                "tests/test_text_formats.py::test_parsed_text_survives_formatting",
                "tests/test_text_formats.py::test_every_character_is_quoted_alike",
                "tests/test_text_formats.py::test_every_separator_splits_alike",
            ],
            "the Rust text formats, compared with the Python ones (tests/test_text_formats.py)",
        ),
        "tests/test_typing.py::test_native_stub_matches_the_built_module": (
            "the native module's stub (tests/test_typing.py)"
        ),
        "tests/test_privilege.py::test_the_socket_tests_pass_as_nobody": (
            "the socket tests as nobody, a pytest run of its own on every backend"
        ),
        **dict.fromkeys(
            [
                "tests/test_cli.py::test_bad_input_is_one_line_and_a_status[link show nope0]",
                "tests/test_cli.py::"
                "test_bad_input_is_one_line_and_a_status[link set vcan0 bitrate 500000]",
                *(
                    f"tests/test_docs.py::test_page_code_runs[{page}]"
                    for page in ("cli.md", "index.md", "interfaces.md", "real-device.md")
                ),
                "tests/test_docs.py::test_page_code_runs[README.md]",
                "tests/test_docs.py::test_page_code_runs[python-can.md]",
            ],
            "pages and commands that use ferrocan.link or show the native backend's output "
            "(tests/test_docs.py, tests/test_cli.py)",
        ),
    }

    def __init__(self) -> None:
        super().__init__()
        self.modules: set[str] = set()

    def pytest_ignore_collect(self, collection_path: Path, config: Any) -> bool | None:
        """Leaves out the test modules that import ferrocan._native at the
        top, which would fail to import; the summary names them."""
        if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
            return None
        lines = collection_path.read_text().splitlines()
        if not any(line.startswith(NATIVE_IMPORTS) for line in lines):
            return None
        if _asked_for(config, collection_path):  # else pytest only passes it by
            self.modules.add(str(collection_path.relative_to(config.rootpath)))
        return True

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        super().pytest_terminal_summary(terminalreporter)
        if self.modules:
            terminalreporter.write_line(
                f"{self.heading}: {len(self.modules)} modules not collected, importing it "
                f"at the top: {', '.join(sorted(self.modules))}"
            )

    def reason(self, item: Any) -> str | None:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and self.NATIVE_PARAMETERS.intersection(
            value for value in callspec.params.values() if isinstance(value, str)
        ):
            return "the native backends and text formats (parameters native, native-direct)"
        if item.nodeid.startswith("tests/test_link.py::"):
            return "ferrocan.link, which is native only (tests/test_link.py)"
        return super().reason(item)


class OnPyPy(Deselect):
    """On PyPy, deselects the tests that cannot hold there, for what PyPy
    lacks or does otherwise than CPython, not for what ferrocan does."""

    heading = "deselected on PyPy"
    #: Test (node id without parameters) -> why it cannot hold on PyPy.
    TESTS: ClassVar[dict[str, str]] = {
        **dict.fromkeys(
            [
                "tests/test_bus.py::test_a_remote_frame_with_len8_dlc_arrives_as_its_length",
                "tests/test_interop.py::test_stdlib_socket_fd_to_ferrocan",
                "tests/test_interop.py::test_ferrocan_fd_to_stdlib_socket",
                "tests/test_timestamps.py::test_the_synthetic_layout_is_the_kernel_s",
                "tests/test_periodic.py::test_jitter_is_the_kernels_like_python_cans",
                "tests/test_bus.py::test_frames_through_a_vxcan_tunnel_are_rx",
                "tests/test_cli.py::test_send_can_xl_to_a_peer",
                "tests/test_cli.py::test_gen_can_xl_to_a_peer",
            ],
            "a peer on the socket module's AF_CAN, which PyPy's socket module lacks "
            "(python-can's socketcan interface too)",
        ),
        "tests/test_bus.py::test_an_unreferenced_bus_is_freed_at_once": (
            "freeing at the last reference: PyPy frees in its garbage collector"
        ),
        **dict.fromkeys(
            [
                "tests/test_typing.py::test_examples_pass_mypy_strict",
                "tests/test_docs.py::test_mkdocs_builds_strict",
            ],
            "mypy and mkdocs (the lint and docs extras), which run on .venv's CPython",
        ),
        "tests/test_reliability.py::test_load_keeps_memory_and_descriptors_flat": (
            "a resident-memory bound: PyPy's JIT compiles and its garbage collector grows "
            "its heap during the load, so RSS does not tell a leak there (the ctypes "
            "backend's run on CPython checks it)"
        ),
        "tests/test_syscalls.py::test_an_empty_recv_with_zero_timeout_costs_one_syscall_at_most": (
            "syscall counts of a loop, in which PyPy's runtime makes calls of its own "
            "(gettimeofday)"
        ),
    }


def _asked_for(config: Any, path: Path) -> bool:
    """Whether an argument of this pytest run is ``path`` or a directory it lies in."""
    base = config.invocation_params.dir
    for arg in config.args:
        named = (base / arg.split("::", 1)[0]).resolve()
        if named == path or named in path.parents:
            return True
    return False


def check_installed(backend: str) -> None:
    """That ``import ferrocan`` gave the installed wheel, on ``backend``."""
    modules = [ferrocan]
    if backend == "native":
        modules.append(importlib.import_module("ferrocan._native"))
    else:
        found = importlib.util.find_spec("ferrocan._native")
        assert found is None, f"the pure wheel has no ferrocan._native, but {found.origin} is there"
    for module in modules:
        where = Path(str(module.__file__))
        assert where.is_relative_to(sys.prefix) and "site-packages" in where.parts, (
            f"{module.__name__} is imported from {where}, not from the wheel in {sys.prefix}"
        )
    assert ferrocan.backend == backend, (ferrocan.backend, backend)
    print(
        f"ferrocan {ferrocan.__version__} ({ferrocan.backend}) "
        f"from {Path(str(ferrocan.__file__)).parent} on {sys.implementation.name} {sys.version}"
    )


def main(backend: str, args: list[str]) -> int:
    check_installed(backend)
    # pytest calls the plugin registered last first: what needs the native
    # module is counted as such, before OnPyPy sees what is left.
    plugins: list[Deselect] = []
    if sys.implementation.name == "pypy":
        plugins.append(OnPyPy())
    if backend != "native":
        plugins.append(WithoutNative())
    status = int(pytest.main(args, plugins=plugins))
    for module in pkgutil.walk_packages(ferrocan.__path__, "ferrocan."):
        if not module.name.endswith(".__main__"):  # runs the command line
            importlib.import_module(module.name)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
