"""Interface management, the ``ip link`` work, over rtnetlink.

    from ferrocan import link
    link.add_vcan("vcan0"); link.up("vcan0")
    link.set("can0", bitrate=500_000, restart_ms=100)   # down and up again as needed
    link.show("can0").state                             # 'ERROR-ACTIVE'
    link.restart("can0")                                # manual bus-off recovery

Changes need CAP_NET_ADMIN (``PermissionError`` otherwise); reading does
not. This module needs the native backend.
"""

from __future__ import annotations

import builtins
import logging
import math
from dataclasses import dataclass
from typing import Any

from ferrocan._can_h import CANFD_MTU
from ferrocan._errors import check_channel
from ferrocan.exceptions import CanInterfaceNotImplementedError

_log = logging.getLogger(__name__)

__all__ = [
    "BitTiming",
    "ControlModes",
    "LinkInfo",
    "LinkStatistics",
    "add_vcan",
    "add_vxcan",
    "delete",
    "down",
    "list",
    "restart",
    "set",
    "show",
    "up",
]


@dataclass(frozen=True)
class LinkStatistics:
    """An interface's packet counters, as ``ip -statistics`` shows them."""

    rx_packets: int
    tx_packets: int
    rx_bytes: int
    tx_bytes: int
    rx_errors: int
    tx_errors: int
    rx_dropped: int
    tx_dropped: int


@dataclass(frozen=True)
class BitTiming:
    """A controller's bit timing, as the kernel computed it from the bitrate
    (``ip -details``' ``bitrate ... sample-point ...`` and ``tq ... brp ...``
    lines): ``tq`` in nanoseconds, the segments and ``sjw`` in time quanta,
    ``brp`` the prescaler, ``sample_point`` a fraction (0.875 is 87.5 %)."""

    bitrate: int
    sample_point: float
    tq: int
    prop_seg: int
    phase_seg1: int
    phase_seg2: int
    sjw: int
    brp: int


#: ``CAN_CTRLMODE_*`` (linux/can/netlink.h): the bit, the field of
#: :class:`ControlModes` and the word ``ip -details`` shows, in ip's order.
_CTRLMODES = (
    (0x001, "loopback", "LOOPBACK"),
    (0x002, "listen_only", "LISTEN-ONLY"),
    (0x004, "triple_sampling", "TRIPLE-SAMPLING"),
    (0x008, "one_shot", "ONE-SHOT"),
    (0x010, "berr_reporting", "BERR-REPORTING"),
    (0x020, "fd", "FD"),
    (0x080, "fd_non_iso", "FD-NON-ISO"),
    (0x040, "presume_ack", "PRESUME-ACK"),
    (0x100, "cc_len8_dlc", "CC-LEN8-DLC"),
    (0x200, "tdc_auto", "TDC-AUTO"),
    (0x400, "tdc_manual", "TDC-MANUAL"),
)


@dataclass(frozen=True)
class ControlModes:
    """A controller's modes (``IFLA_CAN_CTRLMODE``), which ``ip -details``
    shows as ``can <LISTEN-ONLY,FD> state ...``. ``fd`` is the controller's
    CAN FD mode; :attr:`LinkInfo.fd` is whether the interface carries CAN FD
    frames (its MTU), which a vcan can without any controller."""

    loopback: bool
    listen_only: bool
    triple_sampling: bool
    one_shot: bool
    berr_reporting: bool
    fd: bool
    fd_non_iso: bool
    presume_ack: bool
    cc_len8_dlc: bool
    tdc_auto: bool
    tdc_manual: bool

    @classmethod
    def from_flags(cls, flags: int) -> ControlModes:
        """The modes a ``CAN_CTRLMODE_*`` bit mask holds."""
        return cls(**{field: bool(flags & bit) for bit, field, _ in _CTRLMODES})

    @property
    def names(self) -> tuple[str, ...]:
        """The modes that are on, in ``ip``'s words: ``("LOOPBACK", "FD")``."""
        return tuple(word for _, field, word in _CTRLMODES if getattr(self, field))


@dataclass(frozen=True)
class LinkInfo:
    """A CAN interface as ``ip -details -statistics link show`` describes it.

    Real controllers have a ``bitrate``, ``sample_point`` (0.875 is 87.5 %),
    ``state``, ``restart_ms``, ``clock`` (Hz), ``berr_counter`` (tx, rx),
    the whole ``bit_timing`` (a :class:`BitTiming`) and ``ctrlmode`` (a
    :class:`ControlModes`); CAN FD controllers in FD mode also a
    ``data_bitrate`` and ``data_bit_timing``. On virtual interfaces (vcan,
    vxcan) these are ``None``. ``operstate`` is
    ``ip``'s: ``UP``, ``DOWN``, ``UNKNOWN`` (vcan has no carrier),
    ``LOWERLAYERDOWN`` (a vxcan whose peer is down). ``xl`` is whether the
    interface carries CAN XL frames: its MTU is in CAN XL's range, 76 to
    2060 (2060 carries the longest, of 2048 data bytes; newer kernels create
    vcan and vxcan with it).
    """

    name: str
    index: int
    kind: str
    up: bool
    operstate: str
    qdisc: str
    carrier: bool
    mtu: int
    xl: bool
    txqueuelen: int
    bitrate: int | None
    sample_point: float | None
    data_bitrate: int | None
    state: str | None
    restart_ms: int | None
    clock: int | None
    berr_counter: tuple[int, int] | None
    statistics: LinkStatistics
    bit_timing: BitTiming | None
    data_bit_timing: BitTiming | None
    ctrlmode: ControlModes | None

    @property
    def fd(self) -> bool:
        """Whether the interface carries CAN FD frames: its MTU is 72, or one
        that carries CAN XL (:attr:`xl`), which carries CAN FD too; a
        controller's CAN FD mode is ``ctrlmode.fd``."""
        return self.mtu == CANFD_MTU or self.xl


def list() -> builtins.list[LinkInfo]:
    """Every CAN interface, in index order."""
    return [_info(fields) for fields in _native().link_list()]


def show(name: str) -> LinkInfo:
    """Interface ``name``, with its statistics and CAN details."""
    return _info(_native().link_show(_checked(name)))


def add_vcan(name: str) -> None:
    """Creates virtual CAN interface ``name`` (down; see :func:`up`)."""
    _native().link_add_vcan(_checked(name))
    _log.info("created vcan interface %r", name)


def add_vxcan(name: str, peer: str) -> None:
    """Creates the vxcan tunnel ``name`` ⇄ ``peer``: what one end sends,
    the other receives, as from another host."""
    _native().link_add_vxcan(_checked(name), _checked(peer))
    _log.info("created vxcan tunnel %r <-> %r", name, peer)


def delete(name: str) -> None:
    _native().link_delete(_checked(name))
    _log.info("deleted interface %r", name)


def up(name: str) -> None:
    """Brings ``name`` up; returns once the kernel carries frames on it
    (it activates an interface asynchronously and drops frames until then)."""
    _native().link_up(_checked(name))
    _log.info("brought %r up", name)


def down(name: str) -> None:
    _native().link_down(_checked(name))
    _log.info("brought %r down", name)


def restart(name: str) -> None:
    """Restarts a controller in bus-off by hand (with restart-ms 0)."""
    _native().link_restart(_checked(name))
    _log.info("restarted %r", name)


def set(
    name: str,
    *,
    bitrate: int | None = None,
    sample_point: float | None = None,
    data_bitrate: int | None = None,
    fd: bool | None = None,
    restart_ms: int | None = None,
    txqueuelen: int | None = None,
    mtu: int | None = None,
) -> None:
    """Changes settings, in the order the kernel needs: an interface that must
    be down for them is taken down and brought back up after. The CAN
    settings (bit timing, CAN FD, restart-ms) go to the kernel in one request.

    ``ValueError`` for settings the kernel only takes with others:
    ``sample_point`` needs ``bitrate``; CAN FD is ``fd=True`` with both
    ``bitrate`` and ``data_bitrate``. Virtual interfaces have no bit timing
    (``ValueError`` too). ``mtu`` is 16 (classic CAN), 72 (CAN FD) or 76 to
    2060 (CAN XL), as far as the interface's driver takes them: the kernel
    decides, and ``ValueError`` says what it refused."""
    if fd is not None and not isinstance(fd, bool):
        raise TypeError(f"fd must be a bool or None, got {type(fd).__name__}")
    _native().link_set(
        _checked(name),
        _count("bitrate", bitrate),
        _permille(sample_point),
        _count("data_bitrate", data_bitrate),
        fd,
        _count("restart_ms", restart_ms, minimum=0),
        _count("txqueuelen", txqueuelen, minimum=0),
        _mtu(mtu),
    )
    settings = {
        "bitrate": bitrate,
        "sample_point": sample_point,
        "data_bitrate": data_bitrate,
        "fd": fd,
        "restart_ms": restart_ms,
        "txqueuelen": txqueuelen,
        "mtu": mtu,
    }
    changed = ", ".join(f"{key}={value!r}" for key, value in settings.items() if value is not None)
    _log.info("set %r: %s", name, changed)


def _native() -> Any:
    try:
        from ferrocan import _native
    except ImportError as error:
        raise CanInterfaceNotImplementedError(
            "ferrocan.link needs the native module (a binary wheel of ferrocan); "
            "use 'ip link' where it is missing"
        ) from error
    return _native


def _info(fields: dict[str, Any]) -> LinkInfo:
    sample_point = fields.pop("sample_point")
    statistics = LinkStatistics(**fields.pop("statistics"))
    ctrlmode = fields.pop("ctrlmode")
    bit_timing, data_bit_timing = fields.pop("bit_timing"), fields.pop("data_bit_timing")
    return LinkInfo(
        **fields,
        sample_point=None if sample_point is None else sample_point / 1000,
        statistics=statistics,
        bit_timing=_timing(bit_timing),
        data_bit_timing=_timing(data_bit_timing),
        ctrlmode=None if ctrlmode is None else ControlModes.from_flags(ctrlmode),
    )


def _timing(fields: dict[str, int] | None) -> BitTiming | None:
    if fields is None:
        return None
    sample_point = fields.pop("sample_point")
    return BitTiming(**fields, sample_point=sample_point / 1000)


def _checked(name: object) -> str:
    if name == "":
        raise ValueError("an interface name is needed, such as 'can0'; got ''")
    return check_channel(name)


def _count(field: str, value: object, minimum: int = 1) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{field} must be an int or None, got {type(value).__name__}")
    if not minimum <= value <= 0xFFFFFFFF:
        raise ValueError(f"{field} must be in {minimum}..{0xFFFFFFFF}, got {value}")
    return value


def _mtu(mtu: object) -> int | None:
    """Its type and range; which MTUs the interface takes, the kernel decides."""
    if isinstance(mtu, int) and not isinstance(mtu, bool) and not 0 < mtu <= 0xFFFFFFFF:
        raise ValueError(
            f"mtu must be 16 (classic CAN), 72 (CAN FD) or 76 to 2060 (CAN XL), got {mtu}"
        )
    return _count("mtu", mtu)


def _permille(sample_point: object) -> int | None:
    if sample_point is None:
        return None
    if isinstance(sample_point, bool) or not isinstance(sample_point, (int, float)):
        raise TypeError(
            f"sample_point must be a fraction such as 0.875, got {type(sample_point).__name__}"
        )
    if not (math.isfinite(sample_point) and 0 < sample_point < 1):
        raise ValueError(
            f"sample_point must be a fraction between 0 and 1 such as 0.875, got {sample_point!r}"
        )
    return round(sample_point * 1000)
