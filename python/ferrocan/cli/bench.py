"""ferrocan bench: the benchmark of benches/RESULTS.md (ferrocan.bench)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ferrocan import bench
from ferrocan.cli._args import add_command

if TYPE_CHECKING:
    from ferrocan.cli._args import Commands


def register(commands: Commands) -> None:
    doc = "compare ferrocan with python-can and a plain socket, on vcan\n\n" + (bench.__doc__ or "")
    bench.add_arguments(add_command(commands, "bench", doc, run))


def run(args: argparse.Namespace) -> int:
    return bench.run(args, bench.prepare(args))
