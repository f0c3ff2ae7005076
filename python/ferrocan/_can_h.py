"""The constants of linux/can.h (and can/error.h's mask) that both Python
implementations use: frame flags, ID masks, payload lengths and MTUs, for
classic CAN, CAN FD and CAN XL."""

# can_id's top three bits.
CAN_EFF_FLAG = 0x80000000
CAN_RTR_FLAG = 0x40000000
CAN_ERR_FLAG = 0x20000000

CAN_SFF_MASK = 0x7FF
CAN_EFF_MASK = 0x1FFFFFFF
CAN_ERR_MASK = 0x1FFFFFFF

#: In a filter's can_id: match the frames the filter does not describe.
CAN_INV_FILTER = 0x20000000

# canfd_frame.flags.
CANFD_BRS = 0x01
CANFD_ESI = 0x02
#: Set by the kernel in every CAN FD frame it delivers.
CANFD_FDF = 0x04

# canxl_frame: prio holds the priority ID and, above it, the VCID.
CANXL_PRIO_MASK = 0x7FF
CANXL_VCID_OFFSET = 16
CANXL_VCID_MASK = 0xFF0000
# canxl_frame.flags.
CANXL_XLF = 0x80
CANXL_SEC = 0x01

CAN_MAX_DLEN = 8
CANFD_MAX_DLEN = 64
CANXL_HDR_SIZE = 12
CAN_MTU = 16
CANFD_MTU = 72
CANXL_MTU = 2060
#: The least MTU of a CAN XL interface: the header and 64 bytes.
CANXL_MIN_MTU = 76
