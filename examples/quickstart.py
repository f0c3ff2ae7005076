"""Send frames on vcan0 from one bus and print what a second bus receives,
in candump's format. Run it with: tools/quickstart"""

from __future__ import annotations

import ferrocan
from ferrocan import Message

FRAMES = [
    Message(arbitration_id=0x123, is_extended_id=False, data=b"\xde\xad\xbe\xef"),
    Message(arbitration_id=0x1FFFFFFF, data=[1, 2, 3, 4, 5, 6, 7, 8]),
    Message(arbitration_id=0x7FF, is_extended_id=False, is_remote_frame=True, dlc=4),
    Message(arbitration_id=0xC0FFEE, is_fd=True, bitrate_switch=True, data=bytes(range(12))),
]


def candump_line(msg: Message) -> str:
    """One line as `candump vcan0` prints it."""
    can_id = f"{msg.arbitration_id:08X}" if msg.is_extended_id else f"{msg.arbitration_id:03X}"
    if msg.is_remote_frame:
        return f"  {msg.channel}  {can_id}   [{msg.dlc}]  remote request"
    size = f"[{msg.dlc:02d}]" if msg.is_fd else f"[{msg.dlc}]"
    return f"  {msg.channel}  {can_id}  {size:>4}  {msg.data.hex(' ').upper()}"


def main() -> None:
    with ferrocan.Bus("vcan0", fd=True) as sender, ferrocan.Bus("vcan0", fd=True) as receiver:
        print(f"sending {len(FRAMES)} frames on vcan0 with the {sender.backend} backend")
        for msg in FRAMES:
            sender.send(msg)
        for _ in FRAMES:
            received = receiver.recv(timeout=1.0)
            if received is None:
                raise SystemExit("a frame did not arrive")
            print(candump_line(received))


if __name__ == "__main__":
    main()
