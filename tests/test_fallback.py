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


def python_says(code: str) -> str:
    """What a fresh interpreter running ``code`` prints (it must succeed)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_fallback_imports_and_works_with_no_native_module() -> None:
    assert python_says(BLOCK_NATIVE + SCENARIO) == "ok"


NO_AF_CAN = """
import enum, socket, _socket
for module in (socket, _socket):
    for name in [n for n in vars(module) if n.startswith(("AF_CAN", "PF_CAN", "CAN_", "SOL_CAN"))]:
        delattr(module, name)
    assert not hasattr(module, "AF_CAN") and not hasattr(module, "CAN_RAW"), module
socket.AddressFamily = enum.IntEnum(
    "AddressFamily",
    {k: v for k, v in socket.AddressFamily.__members__.items() if "CAN" not in k},
    module="socket",
)
"""

ROUND_TRIP = """
import ferrocan, time
assert ferrocan.backend == "ctypes", ferrocan.backend
with ferrocan.Bus("vcan0") as tx, ferrocan.Bus("vcan0") as rx:
    assert tx.backend == rx.backend == "ctypes"
    tx.send(ferrocan.Message(arbitration_id=0x123, is_extended_id=False, data=[1, 2]))
    got = rx.recv(2.0)
    assert got is not None and (got.arbitration_id, got.data) == (0x123, bytearray([1, 2])), got
    batch = [ferrocan.Message(arbitration_id=i, data=[i]) for i in range(10)]
    assert tx.send_batch(batch, timeout=2.0) == 10
    got = []
    for _ in range(10):
        got += rx.recv_batch(10 - len(got), timeout=2.0)
        if len(got) == 10:
            break
    assert [(m.arbitration_id, m.data) for m in got] == [(i, bytearray([i])) for i in range(10)]
    task = tx.send_periodic(ferrocan.Message(arbitration_id=0x7, data=[7]), 0.01)
    try:
        got = [rx.recv(2.0) for _ in range(3)]
    finally:
        task.stop()
    assert all(m is not None and (m.arbitration_id, m.data) == (7, bytearray([7])) for m in got)
print("ok")
"""


def test_the_ctypes_backend_needs_no_af_can_in_the_socket_module() -> None:
    """An interpreter built without CAN support has no socket.AF_CAN: with
    every CAN name gone from socket and _socket, the ctypes backend still
    sends and receives, singly, in batches and periodically."""
    assert python_says(BLOCK_NATIVE + NO_AF_CAN + ROUND_TRIP) == "ok"


LEGACY_NATIVE = """
import ferrocan, warnings
warnings.simplefilter("ignore", DeprecationWarning)
try:
    ferrocan.Bus("vcan0", interface="socketcan_native")
except ferrocan.CanInterfaceNotImplementedError as error:
    print(error)
else:
    raise AssertionError("interface='socketcan_native' must fail without the native module")
"""


def test_the_legacy_native_interface_fails_clearly_with_no_native_module() -> None:
    assert python_says(BLOCK_NATIVE + LEGACY_NATIVE) == (
        "the native backend is not installed (no ferrocan._native for this platform); "
        "install a binary wheel of ferrocan or use backend='ctypes'"
    )


#: Installs a seccomp filter under which io_uring_setup fails with ENOSYS, as
#: on a kernel without io_uring or a container that forbids it.
NO_IO_URING = """
import ctypes, errno, os, platform
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}[platform.machine()]
IO_URING_SETUP = 425  # the same number on every architecture
LD_ABS, JEQ, RET = 0x20, 0x15, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
SECCOMP_RET_ERRNO, SECCOMP_RET_ALLOW = 0x00050000, 0x7FFF0000

class SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]

class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

program = [
    (LD_ABS, 0, 0, 4),  # seccomp_data.arch
    (JEQ, 0, 3, AUDIT_ARCH),  # another ABI: allow
    (LD_ABS, 0, 0, 0),  # seccomp_data.nr
    (JEQ, 0, 1, IO_URING_SETUP),
    (RET, 0, 0, SECCOMP_RET_ERRNO | errno.ENOSYS),
    (RET, 0, 0, SECCOMP_RET_ALLOW),
]
instructions = (SockFilter * len(program))(*(SockFilter(*op) for op in program))
fprog = SockFprog(len(program), instructions)
assert libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())
assert libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0, (
    os.strerror(ctypes.get_errno())
)
params = ctypes.create_string_buffer(120)  # struct io_uring_params
assert libc.syscall(IO_URING_SETUP, 4, params) == -1 and ctypes.get_errno() == errno.ENOSYS
"""

NATIVE_ROUND_TRIP = """
import ferrocan, time
with ferrocan.Bus("vcan0") as rx, ferrocan.Bus("vcan0", backend="native") as tx:
    assert rx.backend == "native", rx.backend
    print(rx.channel_info)
    assert rx.recv(0.0) is None
    start = time.monotonic()
    assert rx.recv(0.1) is None and time.monotonic() - start >= 0.1
    tx.send(ferrocan.Message(arbitration_id=0x321, is_extended_id=False, data=[3]))
    got = rx.recv(2.0)
    assert got is not None and (got.arbitration_id, got.data) == (0x321, bytearray([3])), got
    assert tx.send_batch([ferrocan.Message(arbitration_id=i) for i in range(5)], 2.0) == 5
    got = []
    for _ in range(5):
        got += rx.recv_batch(5 - len(got), timeout=2.0)
        if len(got) == 5:
            break
    assert [m.arbitration_id for m in got] == list(range(5)), got
"""


def test_the_native_backend_reads_directly_where_io_uring_is_forbidden() -> None:
    """Where io_uring_setup fails (old kernel, seccomp in a container), a
    native bus with default options opens anyway and reads with recvmmsg."""
    assert (
        python_says(NO_IO_URING + NATIVE_ROUND_TRIP)
        == "socketcan channel 'vcan0' (ferrocan native backend)"
    )


def test_without_the_filter_the_same_bus_uses_io_uring() -> None:
    """The control: on this kernel the bus above would have used io_uring."""
    assert (
        python_says(NATIVE_ROUND_TRIP)
        == "socketcan channel 'vcan0' (ferrocan native backend, io_uring)"
    )


LOG_TO_STDOUT = """
import logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(levelname)s %(message)s")
"""


def test_the_fallback_from_io_uring_is_logged() -> None:
    """At DEBUG when io_uring was the default, at INFO when it was asked for."""
    said = python_says(
        NO_IO_URING
        + LOG_TO_STDOUT
        + "import ferrocan\nferrocan.Bus('vcan0').shutdown()\n"
        + "ferrocan.Bus('vcan0', io_uring=True).shutdown()\n"
    )
    fallbacks = [line for line in said.splitlines() if "no io_uring" in line]
    assert fallbacks == [
        f"{level} no io_uring for 'vcan0' (it needs Linux 6.0 and a 64-bit build of ferrocan, "
        "not armv7l's, and may be disabled by kernel.io_uring_disabled or a seccomp filter): "
        "an empty recv(0.0) makes one syscall"
        for level in ("DEBUG", "INFO")
    ]
