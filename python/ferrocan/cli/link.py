"""list, show, create and configure CAN interfaces, as ip link does

Changes need CAP_NET_ADMIN (root); listing and showing do not.

examples:
  ferrocan link list
  ferrocan link show can0 -s
  ferrocan link add vcan2 type vcan
  ferrocan link add vxcan0 type vxcan peer vxcan1
  ferrocan link set can0 bitrate 500000 sample-point 0.875 restart-ms 100
  ferrocan link set can0 bitrate 500000 dbitrate 2000000 fd on
  ferrocan link set vcan0 mtu 2060       (CAN XL; 72 CAN FD, 16 classic CAN)
  ferrocan link up can0
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ferrocan import link
from ferrocan.cli._args import Run, add_command

if TYPE_CHECKING:
    from ferrocan.cli._args import Commands

#: ``set``'s settings: the name on the command line, the keyword of
#: ``link.set`` and how to read the value.
SETTINGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "bitrate": ("bitrate", int),
    "sample-point": ("sample_point", float),
    "dbitrate": ("data_bitrate", int),
    "fd": ("fd", lambda text: {"on": True, "off": False}[text]),
    "restart-ms": ("restart_ms", int),
    "txqueuelen": ("txqueuelen", int),
    "mtu": ("mtu", int),
}


def register(commands: Commands) -> None:
    parser = add_command(commands, "link", __doc__)
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    add_command(actions, "list", "list every CAN interface", list_links)
    show = _named(actions, "show", "show an interface's settings and state", show_link)
    show.add_argument("-s", dest="statistics", action="store_true", help="with packet counters")
    add = _named(actions, "add", "create a virtual CAN interface", add_link)
    add.add_argument(
        "words", nargs="+", metavar="type vcan|vxcan [peer PEER]", help="its type (a vxcan's peer)"
    )
    _named(actions, "del", "delete an interface", lambda args: _act(link.delete, args))
    _named(actions, "up", "bring an interface up", lambda args: _act(link.up, args))
    _named(actions, "down", "take an interface down", lambda args: _act(link.down, args))
    _named(
        actions,
        "restart",
        "restart a controller after bus-off",
        lambda args: _act(link.restart, args),
    )
    settings = _named(actions, "set", "change an interface's settings", set_link)
    settings.add_argument(
        "words", nargs="+", metavar="SETTING VALUE", help=f"settings, among: {' '.join(SETTINGS)}"
    )


def _named(commands: Commands, name: str, doc: str, run: Run) -> argparse.ArgumentParser:
    parser = add_command(commands, name, doc, run)
    parser.add_argument("interface", metavar="IFACE", help="the interface, such as can0")
    return parser


def _act(action: Callable[[str], None], args: argparse.Namespace) -> int:
    action(args.interface)
    return 0


def list_links(args: argparse.Namespace) -> int:
    for info in link.list():
        print(_headline(info))
    return 0


def show_link(args: argparse.Namespace) -> int:
    info = link.show(args.interface)
    print("\n".join(describe(info, statistics=args.statistics)))
    return 0


def add_link(args: argparse.Namespace) -> int:
    words = _pairs(args.words, ("type", "peer"))
    kind, peer = words.get("type"), words.get("peer")
    if kind not in ("vcan", "vxcan"):
        raise ValueError(f"give the type: 'type vcan' or 'type vxcan peer PEER', got {kind!r}")
    if kind == "vcan":
        if peer is not None:
            raise ValueError("only a vxcan has a peer")
        link.add_vcan(args.interface)
    elif peer is None:
        raise ValueError("a vxcan needs its peer: 'type vxcan peer PEER'")
    else:
        link.add_vxcan(args.interface, peer)
    return 0


def set_link(args: argparse.Namespace) -> int:
    changes = {
        SETTINGS[name][0]: _value(name, text)
        for name, text in _pairs(args.words, tuple(SETTINGS)).items()
    }
    link.set(args.interface, **changes)
    return 0


def _pairs(words: list[str], names: tuple[str, ...]) -> dict[str, str]:
    """``NAME VALUE`` pairs, as ip takes them."""
    if len(words) % 2:
        raise ValueError(f"'{words[-1]}' needs a value")
    pairs = dict(zip(words[::2], words[1::2]))
    unknown = [name for name in pairs if name not in names]
    if unknown:
        raise ValueError(f"unknown setting '{unknown[0]}'; use {', '.join(names)}")
    return pairs


def _value(name: str, text: str) -> Any:
    try:
        return SETTINGS[name][1](text)
    except (ValueError, KeyError):
        expected = "on or off" if name == "fd" else "a number"
        raise ValueError(f"{name} {text}: expected {expected}") from None


def describe(info: link.LinkInfo, *, statistics: bool) -> list[str]:
    """``ip -details [-statistics] link show``'s account of an interface, with
    ``xl on`` after ``fd on`` where it carries CAN XL frames."""
    lines = [
        f"{info.index}: {_headline(info)} qlen {info.txqueuelen}",
        f"    link/can {info.kind} fd {'on' if info.fd else 'off'}{' xl on' if info.xl else ''}",
        *_can_details(info),
    ]
    if statistics:
        lines += _counters(info.statistics)
    return lines


def _headline(info: link.LinkInfo) -> str:
    return f"{info.name}: {info.kind} state {'UP' if info.up else 'DOWN'} mtu {info.mtu}"


def _can_details(info: link.LinkInfo) -> list[str]:
    """A real controller's modes, state and bit timing, in ``ip -details``'
    words (virtual interfaces have none)."""
    lines = []
    if info.state is not None:
        modes = "" if info.ctrlmode is None else ",".join(info.ctrlmode.names)
        berr = (
            ""
            if info.berr_counter is None
            else " (berr-counter tx {} rx {})".format(*info.berr_counter)
        )
        restart = "" if info.restart_ms is None else f" restart-ms {info.restart_ms}"
        lines.append(f"    can{f' <{modes}>' if modes else ''} state {info.state}{berr}{restart}")
    lines += _timing(info.bit_timing, "")
    lines += _timing(info.data_bit_timing, "d")
    if info.clock is not None:
        lines.append(f"          clock {info.clock}")
    return lines


def _timing(timing: link.BitTiming | None, d: str) -> list[str]:
    """ip's two lines of a bit timing; ``d`` prefixes the data phase's words."""
    if timing is None:
        return []
    t = timing
    return [
        f"          {d}bitrate {t.bitrate} {d}sample-point {t.sample_point:.3f}",
        f"          {d}tq {t.tq} {d}prop-seg {t.prop_seg} {d}phase-seg1 {t.phase_seg1}"
        f" {d}phase-seg2 {t.phase_seg2} {d}sjw {t.sjw} {d}brp {t.brp}",
    ]


def _counters(stats: link.LinkStatistics) -> list[str]:
    header = f"{'bytes':>12} {'packets':>10} {'errors':>8} {'dropped':>8}"
    rx = (stats.rx_bytes, stats.rx_packets, stats.rx_errors, stats.rx_dropped)
    tx = (stats.tx_bytes, stats.tx_packets, stats.tx_errors, stats.tx_dropped)
    return [
        f"    RX:{header}",
        "       {:>12} {:>10} {:>8} {:>8}".format(*rx),
        f"    TX:{header}",
        "       {:>12} {:>10} {:>8} {:>8}".format(*tx),
    ]
