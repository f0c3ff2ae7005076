"""Follow a controller's error state from its error frames, and restart it
after bus-off, as an application does when restart-ms is 0.

On a real controller, run ``python examples/errors.py can0`` as root: it
watches can0 and restarts it after bus-off. Without an argument it runs on
vcan0, where nothing generates error frames: a second bus sends the frames
a controller would (passive, bus-off, restarted), and "restarting" is
printed instead of done. E.g.: tools/vcan-run .venv/bin/python examples/errors.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import ferrocan
from ferrocan import BusState, ErrorFrame, Message, link
from ferrocan.error_frame import ControllerStatus, ErrorClass

#: What a controller reports on its way to bus-off and back (linux/can/error.h).
SIMULATED = [
    Message(
        is_error_frame=True,
        arbitration_id=ErrorClass.CONTROLLER | ErrorClass.ERROR_COUNTERS,
        data=[0, ControllerStatus.TX_PASSIVE, 0, 0, 0, 0, 135, 0],
    ),
    Message(is_error_frame=True, arbitration_id=ErrorClass.BUS_OFF),
    Message(is_error_frame=True, arbitration_id=ErrorClass.RESTARTED),
]


def watch(bus: ferrocan.Bus, restart: Callable[[], None], frames: int | None = None) -> None:
    """Prints each error frame and the state it leads to; calls ``restart``
    on bus-off. Stops after ``frames`` error frames (None: never)."""
    seen = 0
    for msg in bus:
        if not msg.is_error_frame:
            continue
        print(f"{ErrorFrame.decode(msg)}  ->  {bus.state.name}")
        if bus.state is BusState.BUS_OFF:
            restart()
        seen += 1
        if frames is not None and seen == frames:
            return


def main() -> None:
    if len(sys.argv) > 1:
        interface = sys.argv[1]
        with ferrocan.Bus(interface) as bus:
            watch(bus, lambda: link.restart(interface))
        return

    with ferrocan.Bus("vcan0") as bus, ferrocan.Bus("vcan0") as controller:
        for frame in SIMULATED:
            controller.send(frame)
        watch(bus, lambda: print("restarting (on can0: link.restart('can0'))"), len(SIMULATED))
        if bus.state is not BusState.ACTIVE:
            raise SystemExit(f"expected ACTIVE after the restart, got {bus.state.name}")


if __name__ == "__main__":
    main()
