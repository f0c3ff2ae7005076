"""Where no native module fits (PyPy, musl, odd architectures), ferrocan
falls back to the ctypes backend and the pure-Python Message. Proven here in
an interpreter where importing ferrocan._native is made to fail."""

from __future__ import annotations

import subprocess
import sys

BLOCK_NATIVE = """
import sys
class NoNative:
    def find_spec(self, name, path=None, target=None):
        if name == "ferrocan._native":
            raise ImportError("no native module here (blocked by the test)")
sys.meta_path.insert(0, NoNative())
"""

SCENARIO = """
import ferrocan, ferrocan._message, time
assert ferrocan.backend == "ctypes", ferrocan.backend
assert ferrocan.Message is ferrocan._message.Message
from ferrocan import _cansend, candump_log, cansend
assert cansend.parse_frame is _cansend.parse_frame, cansend.parse_frame
entry = candump_log.parse_line("(1.5) vcan0 123#01")
assert type(entry.message) is ferrocan.Message and cansend.format_frame(entry.message) == "123#01"
with ferrocan.Bus("vcan0") as tx, ferrocan.Bus("vcan0", fd=True) as rx:
    assert tx.backend == rx.backend == "ctypes"
    tx.send(ferrocan.Message(arbitration_id=0x123, is_extended_id=False, data=[1, 2]))
    got = rx.recv(2.0)
    assert got is not None and got.data == bytearray([1, 2]), got
    assert type(got) is ferrocan.Message and got.channel == "vcan0" and not got.is_rx
    start = time.monotonic()
    assert rx.recv(0.1) is None and time.monotonic() - start >= 0.1
try:
    ferrocan.Bus("vcan0", backend="native")
except ferrocan.CanInterfaceNotImplementedError as error:
    assert "native backend is not installed" in str(error), error
else:
    raise AssertionError("asking for the missing native backend must fail")
print("ok")
"""


def test_the_fallback_imports_and_works_with_no_native_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_NATIVE + SCENARIO], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
