"""The constants of linux/can.h (and can/error.h's mask) that both Python
implementations use: frame flags, ID masks, payload lengths and MTUs."""

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

CAN_MAX_DLEN = 8
CANFD_MAX_DLEN = 64
CAN_MTU = 16
CANFD_MTU = 72
CANXL_MTU = 2060
