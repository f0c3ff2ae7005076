"""ferrocan: can-utils' everyday tools, and ip link's CAN work, on ferrocan.

Run 'ferrocan COMMAND --help' for a command's options. Errors are one line
on stderr ('ferrocan COMMAND: what went wrong'). Exit status: 0 done, 1 a CAN
or OS error (such as a missing interface or privilege), 2 bad input (usage,
a malformed frame or log line), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

#: The exit status of a command interrupted with Ctrl-C (128 + SIGINT).
INTERRUPTED = 130

try:
    from ferrocan import __version__
    from ferrocan.cli import dump, gen, link, record, send
    from ferrocan.exceptions import CanError
except KeyboardInterrupt:  # Ctrl-C while the commands load: no traceback
    raise SystemExit(INTERRUPTED) from None

#: The exit status of a command whose output pipe was closed (128 + SIGPIPE).
BROKEN_PIPE = 141


class ArgumentParser(argparse.ArgumentParser):
    """Reports usage errors in one line: ``ferrocan send: <problem>``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="ferrocan",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ferrocan {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for module in (send, dump, gen, record, link):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default: ``sys.argv[1:]``) and returns
    the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version or a usage error, already reported
        return int(done.code or 0)
    except KeyboardInterrupt:
        return INTERRUPTED
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()
        return BROKEN_PIPE
    except ValueError as error:
        return _fail(args.prog, error, 2)
    except (CanError, OSError) as error:
        return _fail(args.prog, error, 1)


def _fail(prog: str, error: Exception, status: int) -> int:
    print(f"{prog}: {_describe(error)}", file=sys.stderr)
    return status


def _describe(error: Exception) -> str:
    """What went wrong, for a person: an OSError without Python's
    ``[Errno N]``, naming its file if it has one."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    return str(error)


def _discard_stdout() -> None:
    """Points stdout at /dev/null, so that the flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
