"""The VM itself, with plain ``ip`` and a ferrocan bus: what the other
modules rely on, and what a user of a real SJA1000 sees."""

from __future__ import annotations

import ferrocan
from ferrocan import Message

from .support import BITRATE, ip, ip_details, wait_for


def test_controllers_configure_and_carry_frames(controllers: tuple[str, str]) -> None:
    can0, can1 = controllers
    info = ip_details(can0)
    can = info["linkinfo"]["info_data"]
    assert info["linkinfo"]["info_kind"] == "can"
    assert info["txqlen"] == 10
    assert can["state"] == "ERROR-ACTIVE"
    assert can["bittiming"]["bitrate"] == BITRATE
    assert can["restart_ms"] == 0
    assert can["clock"] == 8_000_000
    assert can["berr_counter"] == {"tx": 0, "rx": 0}
    before = ip_details(can1)["stats64"]["rx"]["packets"]

    with ferrocan.Bus(can0) as tx, ferrocan.Bus(can1) as rx:
        tx.send(Message(arbitration_id=0x123, is_extended_id=False, data=b"\xde\xad"))
        msg = rx.recv(2.0)
    assert msg is not None and msg.channel == can1
    assert (msg.arbitration_id, bytes(msg.data)) == (0x123, b"\xde\xad")
    assert wait_for(lambda: ip_details(can1)["stats64"]["rx"]["packets"] == before + 1)


def test_bit_timing_can_only_change_while_down(controllers: tuple[str, str]) -> None:
    can0, _ = controllers
    ip("link", "set", can0, "down")
    ip("link", "set", can0, "type", "can", "bitrate", "250000", "restart-ms", "100")
    info = ip_details(can0)["linkinfo"]["info_data"]
    assert info["state"] == "STOPPED"
    assert (info["bittiming"]["bitrate"], info["restart_ms"]) == (250_000, 100)
