"""ferrocan.link on real controllers: bit timing, restart-ms, controller
state, restarts and statistics, checked against ``ip``."""

from __future__ import annotations

import errno

import pytest
from ferrocan import CanOperationError, Message, link

from ..conftest import BusFactory
from .conftest import ip_details, wait_for


def test_set_and_show_bit_timing_and_restart_ms(controllers: tuple[str, str]) -> None:
    can0, _ = controllers
    link.down(can0)
    link.set(can0, bitrate=500_000, restart_ms=100)
    stopped = link.show(can0)
    assert (stopped.up, stopped.state) == (False, "STOPPED")
    link.up(can0)
    info = link.show(can0)
    assert info.kind == "can" and info.up
    assert info.bitrate == 500_000
    assert info.restart_ms == 100
    assert info.state == "ERROR-ACTIVE"
    assert info.sample_point == 0.875, "the kernel's default for 500 kbit/s"
    assert info.clock == 8_000_000, "the SJA1000's clock on a Kvaser PCI card"
    assert info.berr_counter == (0, 0)
    assert (info.mtu, info.fd, info.txqueuelen) == (16, False, 10)
    theirs = ip_details(can0)["linkinfo"]["info_data"]
    assert theirs["bittiming"]["bitrate"] == info.bitrate
    assert theirs["restart_ms"] == info.restart_ms
    assert theirs["state"] == info.state


def test_set_on_a_running_controller_takes_it_down_and_up(controllers: tuple[str, str]) -> None:
    """The kernel refuses bit timing and restart-ms changes while the
    interface is up (EBUSY); link.set takes it down and brings it back."""
    can0, _ = controllers
    link.set(can0, bitrate=250_000, sample_point=0.75)
    info = link.show(can0)
    assert (info.up, info.bitrate, info.sample_point) == (True, 250_000, 0.75)
    link.set(can0, restart_ms=50)
    info = link.show(can0)
    assert (info.up, info.restart_ms, info.state) == (True, 50, "ERROR-ACTIVE")


def test_restart_outside_bus_off_is_refused_clearly(controllers: tuple[str, str]) -> None:
    """QEMU's SJA1000 never leaves ERROR-ACTIVE (it emulates no error
    counters, so bus-off cannot be provoked): what can be tested is the
    kernel's refusal. With restart-ms 0 a manual restart needs bus-off
    (EBUSY); with restart-ms set the kernel restarts by itself (EINVAL)."""
    can0, _ = controllers
    with pytest.raises(CanOperationError) as refused:
        link.restart(can0)
    assert refused.value.error_code == errno.EBUSY
    assert "can0" in str(refused.value) and "bus-off" in str(refused.value)

    link.down(can0)
    link.set(can0, restart_ms=100)
    link.up(can0)
    with pytest.raises(CanOperationError) as refused:
        link.restart(can0)
    assert refused.value.error_code == errno.EINVAL
    assert "can0" in str(refused.value)
    assert link.show(can0).state == "ERROR-ACTIVE"


def test_statistics_count_the_frames_sent(
    controllers: tuple[str, str], make_bus: BusFactory
) -> None:
    can0, can1 = controllers
    tx, rx = make_bus(can0), make_bus(can1)
    sent0, received1 = link.show(can0).statistics, link.show(can1).statistics
    count = 10
    for i in range(count):
        # One at a time: a burst would overrun can1's receive FIFO (see conftest).
        tx.send(Message(arbitration_id=0x100 + i, is_extended_id=False, data=bytes(8)))
        assert rx.recv(2.0) is not None, f"frame {i} did not reach {can1}"

    def counted() -> bool:
        now0, now1 = link.show(can0).statistics, link.show(can1).statistics
        return (
            now0.tx_packets - sent0.tx_packets == count
            and now0.tx_bytes - sent0.tx_bytes == 8 * count
            and now1.rx_packets - received1.rx_packets == count
            and now1.rx_bytes - received1.rx_bytes == 8 * count
        )

    assert wait_for(counted), (link.show(can0).statistics, link.show(can1).statistics)
    stats = ip_details(can0)["stats64"]["tx"]
    assert stats["packets"] == link.show(can0).statistics.tx_packets
