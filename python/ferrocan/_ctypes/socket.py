"""``CtypesSocket``: a CAN_RAW socket driven through libc with ctypes.

Every call on the socket is non-blocking (``MSG_DONTWAIT``); waiting is done
in ``select.poll`` on the socket and a :class:`~ferrocan._ctypes.waker.Waker`,
so that Ctrl-C (PEP 475) and ``shutdown()`` from another thread both end a
wait at once.

A socket on ``channel=''`` is bound to every CAN interface: each message
received names the interface it came in on, and each message sent goes to
the interface its ``channel`` names.

A socket opened with ``xl=True`` sends and receives CAN XL frames besides
classic and CAN FD ones; its receive buffers hold CANXL_MTU bytes.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import itertools
import os
import select
import struct
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Callable, cast

from ferrocan import _errors as errors
from ferrocan._can_h import CAN_ERR_MASK, CANFD_MTU, CANXL_MIN_MTU, CANXL_MTU, CANXL_XLF
from ferrocan._ctypes import ethtool, frame, libc
from ferrocan._ctypes.interfaces import ADDRESS_SIZE, Interfaces, name_of
from ferrocan._ctypes.rx_buffer import RxBuffer
from ferrocan._ctypes.waker import Waker

if TYPE_CHECKING:
    from ferrocan.message import Message

__all__ = ["CtypesSocket"]

#: Errnos that mean "the kernel cannot take the frame yet": retry.
_QUEUE_FULL = (errno.ENOBUFS, errno.EAGAIN, errno.EINTR)
#: Errnos of sendto() to an interface index the kernel no longer knows.
_GONE = (errno.ENXIO, errno.ENODEV)
#: poll() counts in milliseconds and rounds up; shorter pauses use sleep().
_POLL_RESOLUTION = 1e-3
_POLL_MAX_MS = float(2**31 - 1)
#: Pauses between attempts while the transmit queue is full (ENOBUFS, which
#: poll() does not report): short first, since a frame leaves a busy 1 Mbit/s
#: bus every ~100 us, then doubling.
_BACKOFF_FIRST = 50e-6
_BACKOFF_MAX = 5e-3

_INT = struct.Struct("=i")
#: The ioctl that reads an interface's flags, its struct ifreq (name, flags,
#: padding to 40 bytes), and the flag of an interface that is up.
_SIOCGIFFLAGS = 0x8913
_IFREQ_FLAGS = "=16sh22x"
_IFF_UP = 0x1
_INT_MAX = 2**31 - 1
#: The types of timeout recv(0.0)'s quick look takes, checked before the
#: value is compared (whose __eq__ may be anyone's); anything else, False or
#: Decimal(0) too, goes through the checks, which refuse what is not a number.
_NUMBERS = (float, int)
_HARDWARE_TIMESTAMPS = ethtool.SOF_TIMESTAMPING_RX_HARDWARE | ethtool.SOF_TIMESTAMPING_RAW_HARDWARE
#: struct can_raw_vcid_options: flags, tx_vcid, rx_vcid, rx_vcid_mask.
_VCID_OPTIONS = struct.Struct("=BBBB")
#: The ioctl that reads an interface's MTU, and its struct ifreq.
_SIOCGIFMTU = 0x8921
_IFREQ_MTU = "=16si20x"
#: The offset in a frame of the byte where CAN XL sets XLF (see frame.py).
_FLAGS_OFFSET = frame.FLAGS_OFFSET


class CtypesSocket:
    """One CAN_RAW socket bound to ``channel`` (``''``: every CAN
    interface); see ``ferrocan._backend.BackendSocket``.

    ``receive_buffer_size`` asks for a receive buffer of that many bytes
    (beyond ``net.core.rmem_max`` only with CAP_NET_ADMIN); ``timestamping``
    is ``'software'`` (the kernel's receive time) or ``'hardware'`` (the
    device's raw clock, for devices that stamp frames). ``message_class`` is
    the class received messages are built with (its ``_unchecked``
    classmethod); it defaults to ``ferrocan.Message``.

    ``xl`` enables CAN XL (and CAN FD) frames. Where the kernel has VCID
    options (Linux 6.9+), each frame is sent with its message's VCID, or
    with ``tx_vcid`` if that is given, and the frames received are those
    whose VCID matches ``rx_vcid``, a ``(vcid, mask)`` pair (default: all).
    """

    backend = "ctypes"
    io_uring = False

    def __init__(
        self,
        channel: str,
        *,
        fd: bool = False,
        xl: bool = False,
        tx_vcid: int | None = None,
        rx_vcid: tuple[int, int] | None = None,
        receive_own_messages: bool = False,
        local_loopback: bool = True,
        error_frames: bool = True,
        io_uring: bool = False,
        receive_buffer_size: int | None = None,
        timestamping: str = "software",
        filters: Sequence[tuple[int, int]] | None = None,
        on_error_frame: Callable[[Message], None] | None = None,
        message_class: type[Message] | None = None,
    ) -> None:
        if io_uring:
            raise ValueError(
                "the ctypes backend reads with one syscall per call; "
                "io_uring=True needs the native backend"
            )
        errors.check_receive_buffer_size(receive_buffer_size)
        if message_class is None:
            from ferrocan.message import Message as default_class

            message_class = default_class
        self.channel = channel
        self._on_error_frame = on_error_frame
        self._fd_frames = fd or xl
        self._xl_frames = xl
        self._make: Callable[..., Message] = message_class._unchecked
        self._decode = frame.decode_any if xl else frame.decode
        self._frame_size = CANXL_MTU if xl else CANFD_MTU
        # Names and addresses of the interfaces, on every interface only.
        self._interfaces = Interfaces() if channel == "" else None
        hardware = timestamping == "hardware"
        options = _socket_options(
            fd or xl, receive_own_messages, local_loopback, error_frames, hardware
        )
        if filters is not None:
            options.append((libc.SOL_CAN_RAW, libc.CAN_RAW_FILTER, _pack_filters(filters)))
        xl_options = (tx_vcid, rx_vcid) if xl else None
        self._sock, self._ifindex, self._vcid_options = _open(
            channel, options, receive_buffer_size, hardware, xl_options
        )
        try:
            self._receive_buffer_size = _receive_buffer_size(self._sock)
            self._waker = Waker()
        except OSError as error:  # out of descriptors, say: errno is set
            libc.close(self._sock)
            raise errors.open_failed(channel, cast(int, error.errno)) from error
        # Closes both descriptors exactly once: at shutdown, or when collected.
        self._release = weakref.finalize(self, _close, self._sock, self._waker)
        # recv(0.0)'s look at the socket: registered once, as python-can's
        # select() builds its sets on every call.
        self._readable = select.poll()
        self._readable.register(self._sock, select.POLLIN)
        self._closed = False
        # Set once the interface was deleted: the kernel says so only once,
        # then the unbound socket would wait in silence.
        self._gone = False
        # Set while the interface is known to be down. The kernel reports that
        # to a receiving socket only once; after that each receive looks
        # again, so that it keeps failing until the interface is back up.
        self._down = False
        # One entry per call using the descriptors right now. A list, not a
        # counter under a lock: append() and pop() are atomic, and before
        # Python 3.13 every lock acquire reads the clock, which is a syscall
        # where there is no vDSO (User-Mode Linux). shutdown() explains why
        # this is race-free.
        self._busy: list[None] = []
        self._shutdown_lock = threading.RLock()  # reentrant: signal handlers may shut down
        # Receive buffers not in use. Usually one; a thread that finds none
        # (another thread is receiving) makes more.
        self._idle_buffers = [RxBuffer(self._frame_size)]
        # statistics(). Updated without a lock, like _busy: exact as long as
        # no two threads finish a frame on this socket at the same instant.
        self._received = 0
        self._sent = 0
        self._dropped = 0

    def __repr__(self) -> str:
        state = "shut down" if self._closed else f"fd {self._sock}"
        return f"<CtypesSocket on {self.channel!r}, {state}>"

    def recv(self, timeout: float | None = None) -> Message | None:
        """The next frame, or ``None`` once ``timeout`` seconds have passed.

        ``recv(0.0)`` on an empty socket makes one ``poll()`` that does not
        wait, and no ``recvmsg()``: a call through ctypes costs several
        times what the syscall does, so an empty poll looks before it reads.
        """
        if type(timeout) in _NUMBERS and timeout == 0 and self._nothing_queued():
            return None
        errors.check_timeout(timeout)
        self._enter()
        try:
            msg = self._receive(timeout)
        finally:
            self._leave()
        if msg is not None:
            self._observe(msg)
        return msg

    def recv_batch(self, max_messages: int = 256, timeout: float | None = None) -> list[Message]:
        """Every frame already queued, up to ``max_messages``; when there is
        none, waits like :meth:`recv` (an empty list on timeout)."""
        errors.check_timeout(timeout)
        self._enter()
        try:
            batch = []
            msg = self._receive(timeout)
            while msg is not None:
                batch.append(msg)
                if len(batch) >= max_messages:
                    break
                msg = self._receive_now()
        finally:
            self._leave()
        for msg in batch:
            self._observe(msg)
        return batch

    def _observe(self, msg: Message) -> None:
        if msg.is_error_frame and self._on_error_frame is not None:
            self._on_error_frame(msg)

    def send(self, msg: Any, timeout: float | None = None) -> None:
        """Hand ``msg`` to the kernel, retrying while its queue is full.

        ``timeout=None`` retries until the frame is taken; otherwise a queue
        still full after ``timeout`` seconds is a ``CanOperationError``.
        """
        errors.check_timeout(timeout)
        self._send_frames([self._encode(msg)], timeout)

    def send_batch(self, messages: Iterable[Any], timeout: float | None = None) -> int:
        """Send ``messages`` in order, as :meth:`send` does; returns how many
        the kernel took: all, unless ``timeout`` passed first (none at all in
        time is a ``CanOperationError``). All are checked before any is sent."""
        errors.check_timeout(timeout)
        return self._send_frames([self._encode(msg) for msg in messages], timeout)

    def set_filters(self, filters: Sequence[tuple[int, int]]) -> None:
        """Install ``(can_id, can_mask)`` pairs (u32 each); none at all receives nothing."""
        packed = _pack_filters(filters)
        self._enter()
        try:
            # The kernel unbinds a socket whose interface was deleted, and
            # then takes filters that can never apply.
            if self._gone or (self._interfaces is None and name_of(self._ifindex) is None):
                self._gone = True
                raise errors.filters_failed(self.channel, errno.ENODEV)
            if libc.setsockopt(
                self._sock, libc.SOL_CAN_RAW, libc.CAN_RAW_FILTER, packed, len(packed)
            ):
                raise errors.filters_failed(self.channel, ctypes.get_errno())
        finally:
            self._leave()

    def fileno(self) -> int:
        self._check_open()
        return self._sock

    @property
    def receive_buffer_size(self) -> int:
        """The receive buffer's size in bytes as the kernel reports it
        (SO_RCVBUF): twice what was asked, the rest being its bookkeeping."""
        self._check_open()
        return self._receive_buffer_size

    def statistics(self) -> tuple[int, int, int]:
        """``(received, sent, dropped)`` since the socket was opened, where
        ``dropped`` counts the frames the kernel discarded for want of room
        in the receive buffer. Still answers after shutdown()."""
        if self._try_enter():
            try:
                self._count_drops()
            finally:
                self._leave()
        return self._received, self._sent, self._dropped

    def shutdown(self) -> None:
        """Close the socket; wakes any thread blocked in recv()/send() at once.

        The descriptors are closed by the last call still using them, as it
        leaves, so that none is closed (and maybe reused) under a syscall.
        Calls enter by marking themselves busy and only then checking
        ``_closed``; shutdown sets ``_closed`` and only then checks for busy
        calls. So either a call sees ``_closed`` and backs out, or shutdown
        sees the call and leaves the closing to it. The waker is written
        (and the drop count read) before ``_closed`` is set, while nothing
        can close the descriptors yet.
        """
        with self._shutdown_lock:
            if self._closed:
                return
            self._count_drops()
            self._waker.wake()
            self._closed = True
            if not self._busy:
                self._release()

    # -- lifecycle

    def _check_open(self) -> None:
        if self._closed:
            raise errors.shut_down(self.channel)

    def _try_enter(self) -> bool:
        """Mark the descriptors in use; False (and not marked) if shut down."""
        self._busy.append(None)
        if self._closed:
            self._leave()
            return False
        return True

    def _enter(self) -> None:
        if not self._try_enter():
            raise errors.shut_down(self.channel)

    def _leave(self) -> None:
        self._busy.pop()
        if self._closed and not self._busy:
            self._release()  # runs _close() once, however many callers race here

    def _wait(self, events: int, remaining: float | None) -> None:
        """Wait for ``events`` on the socket (errors always count), a shutdown,
        or ``remaining`` seconds; raise if shut down."""
        poller = select.poll()  # one per wait: a poll object is not thread-safe
        poller.register(self._sock, events)
        poller.register(self._waker.fileno(), select.POLLIN)
        poller.poll(None if remaining is None else min(remaining * 1000, _POLL_MAX_MS))
        self._check_open()

    def _nothing_queued(self) -> bool:
        """Whether ``poll()`` finds nothing to read or report, without waiting.

        False whenever the full read must decide: shut down, the interface
        down or deleted, or another thread polling at this instant (a poll
        object refuses a second caller). Not marked busy: a shutdown racing
        it closes the descriptor, which poll() reports (POLLNVAL), or lets
        it answer as a call made just before the shutdown would.
        """
        if self._closed or self._gone or self._down:
            return False
        try:
            return not self._readable.poll(0)
        except RuntimeError:
            return False

    def _count_drops(self) -> None:
        """Read the kernel's count of frames dropped on this socket."""
        info = (ctypes.c_uint32 * 16)()  # SK_MEMINFO_VARS, with room to grow
        size = ctypes.c_uint32(ctypes.sizeof(info))
        address, size_address = ctypes.addressof(info), ctypes.addressof(size)
        if libc.getsockopt(self._sock, libc.SOL_SOCKET, libc.SO_MEMINFO, address, size_address):
            return  # a kernel without SO_MEMINFO (< 3.9) cannot tell
        self._dropped = max(self._dropped, info[libc.SK_MEMINFO_DROPS])

    # -- receiving

    def _receive(self, timeout: float | None) -> Message | None:
        if self._gone:
            raise errors.receive_failed(self.channel, errno.ENODEV)
        msg = self._receive_now()
        if msg is None and timeout != 0:
            msg = self._receive_until(None if timeout is None else time.monotonic() + timeout)
        return msg

    def _receive_now(self) -> Message | None:
        """One non-blocking ``recvmsg()``: the frame, or None if none is queued."""
        if self._down and not self._interface_up():
            raise errors.receive_failed(self.channel, self._unless_gone(errno.ENETDOWN))
        try:
            return self._read_one()
        except _Down:
            # The report of a down interface that is up again: it is
            # consumed, so this read finds what is queued.
            return self._read_one()

    def _read_one(self) -> Message | None:
        try:
            buffers = self._idle_buffers.pop()
        except IndexError:
            buffers = RxBuffer(self._frame_size)
        try:
            size = buffers.recvmsg(self._sock)
            if size < 0:
                code = ctypes.get_errno()
                if code in (errno.EAGAIN, errno.EINTR):
                    return None
                if code == errno.ENETDOWN and self._interface_up():
                    raise _Down
                raise errors.receive_failed(self.channel, self._unless_gone(code))
            self._received += 1
            return self._decode(
                self._make,
                buffers.frame,
                size,
                buffers.timestamp(),
                buffers.is_rx(),
                self._arrived_on(buffers),
            )
        finally:
            self._idle_buffers.append(buffers)

    def _arrived_on(self, buffers: RxBuffer) -> str | None:
        """The interface the frame in ``buffers`` came in on; None if gone since."""
        if self._interfaces is None:
            return self.channel
        return self._interfaces.name(buffers.interface_index())

    def _receive_until(self, deadline: float | None) -> Message | None:
        while True:
            remaining = _remaining(deadline)
            if remaining == 0.0:
                return None
            self._wait(select.POLLIN, remaining)
            msg = self._receive_now()
            if msg is not None:
                return msg

    # -- sending

    def _encode(self, msg: Any) -> tuple[bytes, str]:
        """The frame for ``msg``, and the interface it goes to."""
        data = frame.encode(msg)
        channel = self._destination(msg)
        if data[_FLAGS_OFFSET] & CANXL_XLF:
            self._check_xl(data, channel)
        elif len(data) == CANFD_MTU and not self._fd_frames:
            raise errors.fd_not_enabled(channel)
        return data, channel

    def _check_xl(self, data: bytes, channel: str) -> None:
        """Refuse the CAN XL frame ``data`` where this socket cannot send it."""
        if not self._xl_frames:
            raise errors.xl_not_enabled(channel)
        if not self._vcid_options:
            vcid = frame.vcid_of(data)
            if vcid:
                raise errors.vcid_not_supported(channel, vcid)

    def _destination(self, msg: Any) -> str:
        """This socket's interface; on every interface, the one ``msg.channel``
        names, looked up now, so that an unknown one fails before any is sent."""
        if self._interfaces is None:
            return self.channel
        channel = msg.channel
        if not isinstance(channel, str) or not channel:
            raise errors.no_interface_to_send()
        self._interfaces.address(channel)
        return channel

    def _send_frames(self, frames: list[tuple[bytes, str]], timeout: float | None) -> int:
        """Send ``(frame, interface)`` pairs in order; how many the kernel
        took before ``timeout`` passed. None taken in time is an error."""
        self._enter()
        try:
            if self._gone:
                raise errors.transmit_failed(self.channel, errno.ENODEV)
            deadline = None  # set at the first full queue
            for sent, (data, channel) in enumerate(frames):
                full = self._send_now(data, channel)
                if not full:
                    continue
                if timeout is None:
                    self._send_until(data, channel, full, None)
                    continue
                if deadline is None:
                    deadline = time.monotonic() + timeout
                if not self._send_until(data, channel, full, deadline):
                    if sent:
                        return sent
                    raise errors.transmit_buffer_full(channel, timeout)
            return len(frames)
        finally:
            self._leave()

    def _send_now(self, data: bytes, channel: str) -> int:
        """Offer the frame once: 0 if taken, else the errno of a full queue."""
        code = self._offer(data, channel)
        if code == errno.ENETDOWN and self._interface_up():
            code = self._offer(data, channel)  # the report of a down interface that is up again
        if code in _GONE and self._interfaces is not None:
            # The interface's index is stale: it went, and may be back under
            # another. Looked up again, an interface gone for good raises.
            self._interfaces.forget(channel)
            code = self._offer(data, channel)
        if not code:
            self._sent += 1
            return 0
        if code in _QUEUE_FULL:
            return code
        if code == errno.EINVAL and data[_FLAGS_OFFSET] & CANXL_XLF:
            mtu = _interface_mtu(self._sock, channel)
            # Where the MTU is not CAN XL's, or too small for this frame.
            if mtu is not None and not (CANXL_MIN_MTU <= mtu <= CANXL_MTU and len(data) <= mtu):
                raise errors.xl_mtu(channel, mtu)
        raise errors.transmit_failed(channel, self._unless_gone(code))

    def _unless_gone(self, code: int) -> int:
        """``code``, or ENODEV if it means that the bound interface was
        deleted; the socket then remembers that."""
        if self._interfaces is None and _interface_gone(self.channel, self._ifindex, code):
            self._gone = True
            return errno.ENODEV
        if code == errno.ENETDOWN and self._interfaces is None:
            self._down = True
        return code

    def _interface_up(self) -> bool:
        """Whether the socket's interface is up, as the kernel reports it now;
        one on every interface counts as up. Clears ``_down`` if so."""
        up = self._interfaces is not None or _is_up(self._sock, self._ifindex)
        if up:
            self._down = False
        return up

    def _offer(self, data: bytes, channel: str) -> int:
        """One non-blocking send: 0 if taken, else its errno."""
        if self._interfaces is None:
            result = libc.send(self._sock, data, len(data), libc.MSG_DONTWAIT)
        else:
            address = self._interfaces.address(channel)
            result = libc.sendto(
                self._sock, data, len(data), libc.MSG_DONTWAIT, address, ADDRESS_SIZE
            )
        return 0 if result >= 0 else ctypes.get_errno()

    def _send_until(self, data: bytes, channel: str, full: int, deadline: float | None) -> bool:
        """Retry until the frame is taken (True) or the deadline passes (False).

        ``full`` is the errno of the last attempt: EAGAIN (socket buffer full)
        is waited for with poll(); ENOBUFS (interface queue full) with pauses.
        """
        pause = _BACKOFF_FIRST
        while full:
            remaining = _remaining(deadline)
            if remaining == 0.0:
                return False
            if full == errno.EAGAIN:
                self._wait(select.POLLOUT, remaining)
            else:
                self._pause(pause if remaining is None else min(pause, remaining))
                pause = min(2 * pause, _BACKOFF_MAX)
            full = self._send_now(data, channel)
        return True

    def _pause(self, seconds: float) -> None:
        if seconds >= _POLL_RESOLUTION:
            self._wait(0, seconds)
        else:
            # Too short for poll(), so not woken by shutdown(): it is noticed
            # after the pause, under a millisecond later.
            time.sleep(seconds)
            self._check_open()


def _remaining(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (0.0 once passed); ``None`` for no deadline."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _socket_options(
    fd: bool, receive_own_messages: bool, local_loopback: bool, error_frames: bool, hardware: bool
) -> list[tuple[int, int, bytes]]:
    """``(level, option, packed value)`` for each setsockopt(), python-can's
    choices; ``hardware`` asks for the device's raw receive stamps instead of
    the kernel's."""
    options = [
        (libc.SOL_CAN_RAW, libc.CAN_RAW_LOOPBACK, int(local_loopback)),
        (libc.SOL_CAN_RAW, libc.CAN_RAW_RECV_OWN_MSGS, int(receive_own_messages)),
        (libc.SOL_SOCKET, libc.SO_TIMESTAMPING, _HARDWARE_TIMESTAMPS)
        if hardware
        else (libc.SOL_SOCKET, libc.SO_TIMESTAMPNS, 1),
    ]
    if fd:
        options.append((libc.SOL_CAN_RAW, libc.CAN_RAW_FD_FRAMES, 1))
    if error_frames:
        options.append((libc.SOL_CAN_RAW, libc.CAN_RAW_ERR_FILTER, CAN_ERR_MASK))
    return [(level, option, _INT.pack(value)) for level, option, value in options]


def _pack_filters(filters: Sequence[tuple[int, int]]) -> bytes:
    """``(can_id, can_mask)`` pairs as the kernel's array of struct can_filter."""
    return struct.pack(f"={2 * len(filters)}I", *itertools.chain.from_iterable(filters))


def _open(
    channel: str,
    options: list[tuple[int, int, bytes]],
    receive_buffer_size: int | None,
    hardware: bool,
    xl: tuple[int | None, tuple[int, int] | None] | None,
) -> tuple[int, int, bool]:
    """A CAN_RAW socket with ``options`` and the receive buffer set, bound to
    ``channel``; with ``hardware``, only if the device stamps received frames;
    with ``xl``, ``(tx_vcid, rx_vcid)``, a CAN XL socket (see :func:`_enable_xl`).
    Returns the socket, the index of the interface it is bound to, and
    whether the socket has VCID options.

    Every option is set before the socket is bound: from binding on, the
    kernel queues frames as the options then in force let them in."""
    sock = libc.socket(libc.AF_CAN, libc.SOCK_RAW | libc.SOCK_CLOEXEC, libc.CAN_RAW)
    if sock < 0:
        raise errors.open_failed(channel, ctypes.get_errno())
    try:
        for level, option, packed in options:
            if libc.setsockopt(sock, level, option, packed, len(packed)):
                raise errors.open_failed(channel, ctypes.get_errno())
        vcid_options = xl is not None and _enable_xl(sock, channel, *xl)
        if receive_buffer_size is not None:
            _set_receive_buffer(sock, channel, receive_buffer_size)
        index = _bind(sock, channel)
        if hardware and not ethtool.has_rx_hardware(sock, channel):
            raise errors.no_hardware_timestamps(channel)
    except BaseException:
        libc.close(sock)
        raise
    return sock, index, vcid_options


def _enable_xl(
    sock: int, channel: str, tx_vcid: int | None, rx_vcid: tuple[int, int] | None
) -> bool:
    """Set CAN_RAW_XL_FRAMES (CAN FD frames are already on) and, where the
    kernel has them, the VCID options: each frame keeps its own VCID unless
    ``tx_vcid`` stamps one on all, and those matching ``rx_vcid`` (default:
    every VCID) are received. Returns whether the kernel has VCID options."""
    if _set_int(sock, libc.SOL_CAN_RAW, libc.CAN_RAW_XL_FRAMES, 1):
        code = ctypes.get_errno()
        if code == errno.ENOPROTOOPT:
            raise errors.xl_not_supported()
        raise errors.open_failed(channel, code)
    flags = libc.CAN_RAW_XL_VCID_TX_PASS | libc.CAN_RAW_XL_VCID_RX_FILTER
    if tx_vcid is not None:
        flags |= libc.CAN_RAW_XL_VCID_TX_SET
    packed = _VCID_OPTIONS.pack(flags, tx_vcid or 0, *(rx_vcid or (0, 0)))
    if not libc.setsockopt(sock, libc.SOL_CAN_RAW, libc.CAN_RAW_XL_VCID_OPTS, packed, len(packed)):
        return True
    code = ctypes.get_errno()
    if code != errno.ENOPROTOOPT:
        raise errors.open_failed(channel, code)
    if tx_vcid is not None or rx_vcid is not None:
        raise errors.vcids_not_supported()
    return False


def _set_int(sock: int, level: int, option: int, value: int) -> int:
    """setsockopt() of an int: 0, or -1 with errno set."""
    packed = _INT.pack(value)
    return libc.setsockopt(sock, level, option, packed, len(packed))


def _set_receive_buffer(sock: int, channel: str, size: int) -> None:
    """SO_RCVBUFFORCE where permitted (CAP_NET_ADMIN), else SO_RCVBUF, which
    the kernel caps at net.core.rmem_max. Either caps at INT_MAX / 2."""
    value = min(size, _INT_MAX)
    if not _set_int(sock, libc.SOL_SOCKET, libc.SO_RCVBUFFORCE, value):
        return
    code = ctypes.get_errno()
    if code == errno.EPERM:
        if not _set_int(sock, libc.SOL_SOCKET, libc.SO_RCVBUF, value):
            return
        code = ctypes.get_errno()
    raise errors.open_failed(channel, code)


def _receive_buffer_size(sock: int) -> int:
    """SO_RCVBUF; raises OSError if it cannot be read."""
    value = ctypes.c_int()
    size = ctypes.c_uint32(ctypes.sizeof(value))
    if libc.getsockopt(
        sock, libc.SOL_SOCKET, libc.SO_RCVBUF, ctypes.addressof(value), ctypes.addressof(size)
    ):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return value.value


def _bind(sock: int, channel: str) -> int:
    """Bind to ``channel``'s index, or to every interface (index 0) for
    ``''``; returns the index."""
    index = _interface_index(channel) if channel else 0
    address = libc.SockaddrCan(can_family=libc.AF_CAN, can_ifindex=index)
    if libc.bind(sock, ctypes.addressof(address), ctypes.sizeof(address)) == 0:
        return index
    code = ctypes.get_errno()
    if code != errno.ENODEV:
        raise errors.open_failed(channel, code)
    # The index exists, so the interface is not CAN, unless it just vanished.
    _interface_index(channel)
    raise errors.not_can_interface(channel)


def _interface_index(channel: str) -> int:
    index = libc.if_nametoindex(os.fsencode(channel))
    if index:
        return index
    code = ctypes.get_errno()
    if code == errno.ENODEV:
        raise errors.no_such_interface(channel)
    raise errors.open_failed(channel, code)


def _interface_gone(channel: str, index: int, code: int) -> bool:
    """Whether a syscall failing with ``code`` on a socket bound to
    ``channel`` (interface ``index``) means that the interface was deleted."""
    if code in _GONE:
        return True
    if code != errno.ENETDOWN:
        return False
    # Deletion takes the interface down first: if its index names nothing
    # now (or another interface), it went.
    return name_of(index) != os.fsencode(channel)


def _is_up(sock: int, index: int) -> bool:
    """Whether interface ``index`` is up (IFF_UP), asked through the socket
    ``sock``; True where that cannot be told."""
    name = name_of(index)
    if name is None:
        return True
    try:
        reply = fcntl.ioctl(sock, _SIOCGIFFLAGS, struct.pack(_IFREQ_FLAGS, name, 0))
    except OSError:
        return True
    return bool(struct.unpack(_IFREQ_FLAGS, reply)[1] & _IFF_UP)


def _interface_mtu(sock: int, channel: str) -> int | None:
    """``channel``'s MTU, asked through the socket ``sock``; None if that fails."""
    try:
        reply = fcntl.ioctl(sock, _SIOCGIFMTU, struct.pack(_IFREQ_MTU, os.fsencode(channel), 0))
    except OSError:
        return None
    mtu: int = struct.unpack(_IFREQ_MTU, reply)[1]
    return mtu


class _Down(Exception):
    """A receive found the kernel's report of a down interface that is up again."""


def _close(sock: int, waker: Waker) -> None:
    libc.close(sock)
    waker.close()
