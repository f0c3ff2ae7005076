"""``ferrocan.Message``: the Rust class where the native module is installed,
otherwise the pure-Python one. Both behave identically."""

from __future__ import annotations

try:
    from ferrocan._native import Message
except ImportError:
    from ferrocan._message import Message  # type: ignore[assignment]

__all__ = ["Message"]
