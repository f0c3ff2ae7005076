"""python-can 1.x's spelling: ``ferrocan.interface.Bus(channel, bustype=...)``."""

from ferrocan.bus import Bus

__all__ = ["Bus"]
