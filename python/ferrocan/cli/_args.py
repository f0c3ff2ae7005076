"""Helpers shared by the subcommands: registration and argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

Run = Callable[[argparse.Namespace], int]


def add_command(
    commands: Commands, name: str, doc: str | None, run: Run | None = None
) -> argparse.ArgumentParser:
    """A subcommand whose help is ``doc`` (its first line in ``ferrocan --help``),
    which ``run`` carries out (none: its own subcommands do)."""
    text = doc or ""
    parser = commands.add_parser(
        name,
        help=text.split("\n", 1)[0],
        description=text,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if run is not None:
        parser.set_defaults(run=run, prog=parser.prog)
    return parser


def interface(text: str) -> str:
    """One interface to send on: a name, not the empty name of every interface."""
    if not text:
        raise argparse.ArgumentTypeError("must name one interface, such as vcan0")
    return text


def count(text: str) -> int:
    """A number of frames, loops or milliseconds: a whole number, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def milliseconds(text: str) -> float:
    """A duration in milliseconds (decimals allowed, at least 0), as seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of milliseconds, got {text!r}"
        ) from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of milliseconds >= 0, got {text}")
    return value / 1000
