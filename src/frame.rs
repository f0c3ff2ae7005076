//! CAN frames in the kernel's own layout, validated on the way in.
//!
//! A classic or CAN FD [`Frame`] wraps `struct canfd_frame`, which the kernel
//! shares between the two kinds: a classic frame is its first [`CAN_MTU`]
//! bytes. A CAN XL frame wraps a boxed `struct canxl_frame`, of which the
//! kernel reads and writes the header and `len` data bytes. Building a frame
//! from [`FrameSpec`] applies python-can's rules (the texts are specified in
//! `docs/errors.md`); decoding one from the kernel never fails.

use std::fmt;

use socketcan::frame::{
    CANFD_BRS, CANFD_ESI, CANFD_FDF, CANFD_MAX_DLEN, CAN_EFF_FLAG, CAN_EFF_MASK, CAN_ERR_FLAG, CAN_MAX_DLEN,
    CAN_RTR_FLAG, CAN_SFF_MASK,
};
use socketcan::CanFdFrame;

/// Size of `struct can_frame`: what a classic frame occupies on the socket.
pub const CAN_MTU: usize = 16;
/// Size of `struct canfd_frame`.
pub const CANFD_MTU: usize = 72;
/// Size of `struct canxl_frame`: the most a CAN XL frame occupies on the socket.
pub const CANXL_MTU: usize = CANXL_HDR_SIZE + CANXL_MAX_DLEN;
/// The least MTU of a CAN XL interface: the header and 64 bytes.
pub const CANXL_MIN_MTU: usize = CANXL_HDR_SIZE + 64;
/// The bytes of `struct canxl_frame` before its data.
pub const CANXL_HDR_SIZE: usize = 12;
/// The least data a CAN XL frame carries.
const CANXL_MIN_DLEN: usize = 1;
/// The most data a CAN XL frame carries.
pub const CANXL_MAX_DLEN: usize = 2048;
/// `canxl_frame.flags`: set in every CAN XL frame. Byte 4 holds it, where a
/// classic or FD frame's length (at most 64) never sets it.
pub const CANXL_XLF: u8 = 0x80;
/// `canxl_frame.flags`: simple extended content.
pub const CANXL_SEC: u8 = 0x01;
/// The priority ID's bits in `canxl_frame.prio`.
pub const CANXL_PRIO_MASK: u32 = 0x7FF;
/// Where the VCID sits in `canxl_frame.prio`.
pub const CANXL_VCID_OFFSET: u32 = 16;

/// `struct canfd_frame` with its last reserved byte named: in the classic
/// `struct can_frame` that byte is `len8_dlc`, which libc's `canfd_frame`
/// keeps private. One layout serves both kinds, as in the kernel.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug)]
pub struct RawFrame {
    /// The identifier with the `CAN_*_FLAG` bits.
    pub can_id: u32,
    /// The payload length in bytes.
    pub len: u8,
    /// `CANFD_*` flags (BRS, ESI, and FDF for an FD frame).
    pub flags: u8,
    res0: u8,
    /// A classic frame's DLC of 9 to 15, where `len` is 8.
    pub len8_dlc: u8,
    /// The payload; bytes past `len` are zero.
    pub data: [u8; CANFD_MAX_DLEN],
}

const _: () = assert!(std::mem::size_of::<RawFrame>() == std::mem::size_of::<libc::canfd_frame>());
const _: () = assert!(std::mem::size_of::<RawFrame>() == CANFD_MTU);

impl RawFrame {
    /// All zeroes: the kernel's "nothing set".
    pub const ZERO: Self =
        Self { can_id: 0, len: 0, flags: 0, res0: 0, len8_dlc: 0, data: [0; CANFD_MAX_DLEN] };
}

/// `struct canxl_frame`.
#[repr(C, align(8))]
#[derive(Clone, Debug)]
pub struct RawXlFrame {
    /// The priority ID, with the VCID in bits 16..23.
    pub prio: u32,
    /// `CANXL_*` flags; [`CANXL_XLF`] is always set.
    pub flags: u8,
    /// The SDU type.
    pub sdt: u8,
    /// The payload length in bytes, 1 to 2048.
    pub len: u16,
    /// The acceptance field.
    pub af: u32,
    /// The payload; bytes past `len` are not sent.
    pub data: [u8; CANXL_MAX_DLEN],
}

const _: () = assert!(std::mem::offset_of!(RawXlFrame, data) == CANXL_HDR_SIZE);
const _: () = assert!(std::mem::size_of::<libc::canxl_frame>() == CANXL_MTU);

impl RawXlFrame {
    /// A zeroed frame on the heap, where it stays: the receive buffer hands
    /// out its boxes instead of copying 2 KiB per frame.
    pub fn boxed() -> Box<Self> {
        Box::new(Self { prio: 0, flags: 0, sdt: 0, len: 0, af: 0, data: [0; CANXL_MAX_DLEN] })
    }
}

/// What a caller asks for; [`Frame::new`] checks it.
///
/// `id` and `dlc` are signed and wide so that out-of-range values coming
/// from Python reach validation, and its message, intact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameSpec<'a> {
    /// The identifier, not yet checked against its range.
    pub id: i64,
    /// A 29-bit identifier rather than an 11-bit one.
    pub extended: bool,
    /// A remote transmission request.
    pub remote: bool,
    /// An error frame.
    pub error: bool,
    /// A CAN FD frame.
    pub fd: bool,
    /// CAN FD's bit rate switch.
    pub brs: bool,
    /// CAN FD's error state indicator.
    pub esi: bool,
    /// python-can's `dlc`; `None` takes the data's length.
    pub dlc: Option<i64>,
    /// The payload.
    pub data: &'a [u8],
    /// A CAN XL frame, whose `id` is its 11-bit priority ID.
    pub xl: bool,
    /// CAN XL's SDU type, 0..255.
    pub sdu_type: i64,
    /// CAN XL's 32-bit acceptance field.
    pub acceptance_field: i64,
    /// CAN XL's simple extended content flag.
    pub sec: bool,
    /// CAN XL's virtual CAN network ID, 0..255.
    pub vcid: i64,
}

/// Why a [`FrameSpec`] is not a valid frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Remote and error at once.
    RemoteAndError,
    /// A remote CAN FD frame, which CAN FD does not have.
    RemoteAndFd,
    /// An extended identifier past 29 bits.
    ExtendedIdRange(i64),
    /// A standard identifier past 11 bits.
    StandardIdRange(i64),
    /// More than 8 bytes in a classic frame.
    ClassicTooLong(usize),
    /// More than 64 bytes in a CAN FD frame.
    FdTooLong(usize),
    /// A remote frame with a payload.
    RemoteWithData,
    /// A remote frame's DLC outside 0 to 15.
    RemoteDlcRange(i64),
    /// A classic frame's `dlc` that disagrees with its payload.
    ClassicDlcMismatch {
        /// The DLC given.
        dlc: i64,
        /// The payload's length.
        len: usize,
    },
    /// A CAN FD frame's `dlc` that disagrees with its payload.
    FdDlcMismatch {
        /// The DLC given.
        dlc: i64,
        /// The payload's length.
        len: usize,
    },
    /// Bit rate switch on a classic frame.
    BrsWithoutFd,
    /// Error state indicator on a classic frame.
    EsiWithoutFd,
    /// A remote CAN XL frame.
    XlAndRemote,
    /// A CAN XL error frame.
    XlAndError,
    /// CAN FD and CAN XL at once.
    XlAndFd,
    /// A CAN XL frame with a 29-bit identifier.
    XlExtended,
    /// A CAN XL priority ID past 11 bits.
    XlPriorityRange(i64),
    /// A CAN XL frame without data.
    XlEmpty,
    /// More than 2048 bytes in a CAN XL frame.
    XlTooLong(usize),
    /// An SDU type outside 0..255.
    SduTypeRange(i64),
    /// An acceptance field past 32 bits.
    AcceptanceFieldRange(i64),
    /// A VCID outside 0..255.
    VcidRange(i64),
    /// A CAN XL field, named, set on a frame that is not CAN XL.
    XlFieldWithoutXl(&'static str),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RemoteAndError => f.write_str("is_remote_frame and is_error_frame cannot both be set"),
            Self::RemoteAndFd => {
                f.write_str("is_remote_frame cannot be combined with is_fd: CAN FD has no remote frames")
            }
            Self::ExtendedIdRange(id) => write!(
                f,
                "arbitration_id {} is out of range for an extended (29-bit) ID: \
                 must be in 0x0..0x1fffffff",
                PyHex(*id)
            ),
            Self::StandardIdRange(id) => write!(
                f,
                "arbitration_id {} is out of range for a standard (11-bit) ID: \
                 must be in 0x0..0x7ff; set is_extended_id=True for 29-bit IDs",
                PyHex(*id)
            ),
            Self::ClassicTooLong(n) => write!(
                f,
                "data is {n} bytes, but a classic CAN frame carries at most 8; \
                 set is_fd=True for up to 64"
            ),
            Self::FdTooLong(n) => {
                write!(f, "data is {n} bytes, but a CAN FD frame carries at most 64")
            }
            Self::RemoteWithData => {
                f.write_str("a remote frame carries no data; pass dlc= for the requested length instead")
            }
            Self::RemoteDlcRange(dlc) => {
                write!(f, "dlc {dlc} is out of range for a remote frame: must be in 0..8")
            }
            Self::ClassicDlcMismatch { dlc, len } => write!(
                f,
                "dlc {dlc} contradicts the {len} data bytes: leave dlc=None or set it to {len} \
                 (9..15 are allowed only with 8 data bytes)"
            ),
            Self::FdDlcMismatch { dlc, len } => {
                write!(f, "dlc {dlc} contradicts the {len} data bytes: leave dlc=None or set it to {len}")
            }
            Self::BrsWithoutFd => f.write_str("bitrate_switch requires is_fd=True"),
            Self::EsiWithoutFd => f.write_str("error_state_indicator requires is_fd=True"),
            Self::XlAndRemote => {
                f.write_str("is_remote_frame cannot be combined with is_xl: CAN XL has no remote frames")
            }
            Self::XlAndError => f.write_str(
                "is_error_frame cannot be combined with is_xl: error frames are classic CAN frames",
            ),
            Self::XlAndFd => {
                f.write_str("is_fd cannot be combined with is_xl: a frame is either CAN FD or CAN XL")
            }
            Self::XlExtended => {
                f.write_str("is_extended_id must be False for a CAN XL frame: its priority ID is 11 bits")
            }
            Self::XlPriorityRange(id) => write!(
                f,
                "arbitration_id {} is out of range for a CAN XL priority ID: must be in 0x0..0x7ff",
                PyHex(*id)
            ),
            Self::XlEmpty => f.write_str("data is empty, but a CAN XL frame carries 1 to 2048 bytes"),
            Self::XlTooLong(n) => write!(f, "data is {n} bytes, but a CAN XL frame carries at most 2048"),
            Self::SduTypeRange(v) => write!(f, "sdu_type {v} is out of range: must be in 0..255"),
            Self::AcceptanceFieldRange(v) => {
                write!(f, "acceptance_field {} is out of range: must be in 0x0..0xffffffff", PyHex(*v))
            }
            Self::VcidRange(v) => write!(f, "vcid {v} is out of range: must be in 0..255"),
            Self::XlFieldWithoutXl(name) => write!(f, "{name} requires is_xl=True"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Formats an integer as Python's `format(n, "#x")` does (`-0x1`, not two's complement).
struct PyHex(i64);

impl fmt::Display for PyHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{:#x}", self.0.unsigned_abs())
    }
}

/// A CAN, CAN FD or CAN XL frame as the kernel reads and writes it.
#[derive(Clone)]
pub struct Frame {
    body: Body,
    /// The interface to send on, for a socket bound to all of them (0: the
    /// socket's own).
    destination: u32,
}

#[derive(Clone)]
enum Body {
    Can { raw: RawFrame, fd: bool },
    Xl(Box<RawXlFrame>),
}

impl Frame {
    /// Validates `spec` and encodes it, padding FD data to the next length
    /// the kernel accepts.
    pub fn new(spec: &FrameSpec<'_>) -> Result<Self, FrameError> {
        spec.check()?;
        if spec.xl {
            return Ok(Self { body: Body::Xl(xl_frame(spec)), destination: 0 });
        }
        let mut raw = RawFrame::ZERO;
        raw.can_id = can_id(spec);
        raw.data[..spec.data.len()].copy_from_slice(spec.data);
        if spec.fd {
            raw.len = CanFdFrame::next_valid_ext_dlen(spec.data.len()) as u8;
            raw.flags = (CANFD_FDF | fd_flag(spec.brs, CANFD_BRS) | fd_flag(spec.esi, CANFD_ESI)) as u8;
        } else if spec.remote {
            raw.len = spec.dlc.unwrap_or(0) as u8;
        } else {
            raw.len = spec.data.len() as u8;
            if let Some(dlc @ 9..=15) = spec.dlc {
                raw.len8_dlc = dlc as u8;
            }
        }
        Ok(Self { body: Body::Can { raw, fd: spec.fd }, destination: 0 })
    }

    /// Decodes a classic or FD frame the kernel delivered; `None` for a size
    /// that is neither, or for a CAN XL frame (see [`Frame::from_kernel_xl`]).
    pub fn from_kernel(raw: RawFrame, size: usize) -> Option<Self> {
        let fd = match size {
            _ if raw.len & CANXL_XLF != 0 => return None,
            CAN_MTU => false,
            CANFD_MTU => true,
            _ => return None,
        };
        Some(Self { body: Body::Can { raw, fd }, destination: 0 })
    }

    /// Decodes a CAN XL frame the kernel delivered in `size` bytes; `None`
    /// unless it is one, whole.
    pub fn from_kernel_xl(raw: Box<RawXlFrame>, size: usize) -> Option<Self> {
        let len = usize::from(raw.len);
        let whole = raw.flags & CANXL_XLF != 0 && (1..=CANXL_MAX_DLEN).contains(&len);
        (whole && size == CANXL_HDR_SIZE + len).then_some(Self { body: Body::Xl(raw), destination: 0 })
    }

    /// Decodes the `size` bytes the kernel wrote into `slot`, which has room
    /// for any kind of frame. A CAN XL frame takes the box along, uncopied,
    /// and leaves a new one in its place.
    pub fn take_from_slot(slot: &mut Box<RawXlFrame>, size: usize) -> Option<Self> {
        if slot.flags & CANXL_XLF != 0 {
            return Self::from_kernel_xl(std::mem::replace(slot, RawXlFrame::boxed()), size);
        }
        let mut raw = RawFrame::ZERO;
        // SAFETY: both are plain old data, and CANFD_MTU bytes fit in each.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&**slot as *const RawXlFrame).cast::<u8>(),
                (&mut raw as *mut RawFrame).cast::<u8>(),
                CANFD_MTU,
            );
        }
        Self::from_kernel(raw, size)
    }

    /// The frame, to be sent on interface `ifindex` by a socket bound to all.
    pub fn to_interface(self, ifindex: u32) -> Self {
        Self { destination: ifindex, ..self }
    }

    /// The interface to send on; 0 for the socket's own.
    pub fn destination(&self) -> u32 {
        self.destination
    }

    /// The kernel's `can_id`: the identifier with its EFF/RTR/ERR flag bits;
    /// a CAN XL frame's priority ID, which is what the kernel filters on.
    pub fn can_id(&self) -> u32 {
        match &self.body {
            Body::Can { raw, .. } => raw.can_id,
            Body::Xl(xl) => xl.prio & CANXL_PRIO_MASK,
        }
    }

    /// The identifier without flag bits. Error frames keep every error-class bit.
    pub fn id(&self) -> u32 {
        let can_id = self.can_id();
        let mask = if can_id & (CAN_EFF_FLAG | CAN_ERR_FLAG) != 0 { CAN_EFF_MASK } else { CAN_SFF_MASK };
        can_id & mask
    }

    /// Whether the identifier is 29-bit.
    pub fn is_extended(&self) -> bool {
        self.can_id() & CAN_EFF_FLAG != 0
    }

    /// Whether this is a remote transmission request.
    pub fn is_remote(&self) -> bool {
        self.can_id() & CAN_RTR_FLAG != 0
    }

    /// Whether this is an error frame.
    pub fn is_error(&self) -> bool {
        self.can_id() & CAN_ERR_FLAG != 0
    }

    /// Whether this is a CAN FD frame.
    pub fn is_fd(&self) -> bool {
        matches!(self.body, Body::Can { fd: true, .. })
    }

    /// Whether this is a CAN XL frame.
    pub fn is_xl(&self) -> bool {
        matches!(self.body, Body::Xl(_))
    }

    /// CAN FD's bit rate switch (false for other frames).
    pub fn brs(&self) -> bool {
        self.fd_flags() & CANFD_BRS as u8 != 0
    }

    /// CAN FD's error state indicator (false for other frames).
    pub fn esi(&self) -> bool {
        self.fd_flags() & CANFD_ESI as u8 != 0
    }

    fn fd_flags(&self) -> u8 {
        match &self.body {
            Body::Can { raw, fd: true } => raw.flags,
            _ => 0,
        }
    }

    /// The CAN XL header: SDU type, acceptance field, SEC flag and VCID
    /// (`None` for other frames).
    pub fn xl_header(&self) -> Option<XlHeader> {
        let Body::Xl(xl) = &self.body else { return None };
        Some(XlHeader {
            sdu_type: xl.sdt,
            acceptance_field: xl.af,
            sec: xl.flags & CANXL_SEC != 0,
            vcid: (xl.prio >> CANXL_VCID_OFFSET) as u8,
        })
    }

    /// python-can's `dlc`: the payload length, the requested length of a
    /// remote frame, or a classic data frame's len8_dlc (9..15) when it has one.
    pub fn dlc(&self) -> u16 {
        let raw = match &self.body {
            Body::Xl(xl) => return xl.len,
            Body::Can { raw, .. } => raw,
        };
        let classic_data = !self.is_fd() && !self.is_remote();
        if classic_data && raw.len as usize == CAN_MAX_DLEN && (9..=15).contains(&raw.len8_dlc) {
            raw.len8_dlc.into()
        } else {
            raw.len.into()
        }
    }

    /// The payload (empty for remote frames).
    pub fn data(&self) -> &[u8] {
        match &self.body {
            Body::Xl(xl) => &xl.data[..usize::from(xl.len)],
            Body::Can { raw, .. } if raw.can_id & CAN_RTR_FLAG != 0 => &[],
            Body::Can { raw, fd } => {
                let max = if *fd { CANFD_MAX_DLEN } else { CAN_MAX_DLEN };
                &raw.data[..(raw.len as usize).min(max)]
            }
        }
    }

    /// The bytes to hand to the kernel: a whole `can_frame` or `canfd_frame`,
    /// or a `canxl_frame`'s header and data.
    pub fn as_bytes(&self) -> &[u8] {
        let (start, size) = match &self.body {
            Body::Can { raw, fd } => ((raw as *const RawFrame).cast(), if *fd { CANFD_MTU } else { CAN_MTU }),
            Body::Xl(xl) => ((&**xl as *const RawXlFrame).cast(), CANXL_HDR_SIZE + usize::from(xl.len)),
        };
        // SAFETY: both structs are plain old data without padding before
        // `size`, which never exceeds their size.
        unsafe { std::slice::from_raw_parts(start, size) }
    }
}

/// The fields a CAN XL frame has beyond identifier and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XlHeader {
    /// The SDU type.
    pub sdu_type: u8,
    /// The acceptance field.
    pub acceptance_field: u32,
    /// The simple extended content flag.
    pub sec: bool,
    /// The virtual CAN network ID.
    pub vcid: u8,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("id", &format_args!("{:#x}", self.id()))
            .field("extended", &self.is_extended())
            .field("remote", &self.is_remote())
            .field("error", &self.is_error())
            .field("fd", &self.is_fd())
            .field("xl", &self.xl_header())
            .field("dlc", &self.dlc())
            .field("data", &self.data())
            .finish()
    }
}

/// `canxl_frame.flags` for a frame with or without simple extended content:
/// XLF, and SEC where set.
pub fn canxl_flags(sec: bool) -> u8 {
    CANXL_XLF | if sec { CANXL_SEC } else { 0 }
}

/// A checked CAN XL spec, encoded.
fn xl_frame(spec: &FrameSpec<'_>) -> Box<RawXlFrame> {
    let mut xl = RawXlFrame::boxed();
    xl.prio = spec.id as u32 | (spec.vcid as u32) << CANXL_VCID_OFFSET;
    xl.flags = canxl_flags(spec.sec);
    xl.sdt = spec.sdu_type as u8;
    xl.len = spec.data.len() as u16;
    xl.af = spec.acceptance_field as u32;
    xl.data[..spec.data.len()].copy_from_slice(spec.data);
    xl
}

fn fd_flag(on: bool, flag: libc::c_int) -> libc::c_int {
    if on {
        flag
    } else {
        0
    }
}

fn can_id(spec: &FrameSpec<'_>) -> u32 {
    let mut id = spec.id as u32;
    if spec.extended {
        id |= CAN_EFF_FLAG;
    }
    if spec.remote {
        id |= CAN_RTR_FLAG;
    }
    if spec.error {
        id |= CAN_ERR_FLAG;
    }
    id
}

/// The DLC code of a CAN FD payload length (9..15 for 12..64 bytes),
/// rounding up to the next length the code can say.
pub fn dlc_of_fd_len(len: usize) -> u8 {
    match len {
        0..=8 => len as u8,
        9..=12 => 9,
        13..=16 => 10,
        17..=20 => 11,
        21..=24 => 12,
        25..=32 => 13,
        33..=48 => 14,
        _ => 15,
    }
}

impl FrameSpec<'_> {
    /// python-can's `Message._check`, in its order, without the timestamp.
    pub fn check(&self) -> Result<(), FrameError> {
        check(self)
    }
}

fn check(spec: &FrameSpec<'_>) -> Result<(), FrameError> {
    if spec.remote && spec.error {
        return Err(FrameError::RemoteAndError);
    }
    if spec.remote && spec.fd {
        return Err(FrameError::RemoteAndFd);
    }
    if spec.xl {
        check_xl_kind(spec)?;
    }
    check_id(spec)?;
    check_len(spec)?;
    check_dlc(spec)?;
    if !spec.fd && spec.brs {
        return Err(FrameError::BrsWithoutFd);
    }
    if !spec.fd && spec.esi {
        return Err(FrameError::EsiWithoutFd);
    }
    check_xl_header(spec)
}

fn check_xl_kind(spec: &FrameSpec<'_>) -> Result<(), FrameError> {
    match spec {
        FrameSpec { remote: true, .. } => Err(FrameError::XlAndRemote),
        FrameSpec { error: true, .. } => Err(FrameError::XlAndError),
        FrameSpec { fd: true, .. } => Err(FrameError::XlAndFd),
        FrameSpec { extended: true, .. } => Err(FrameError::XlExtended),
        _ => Ok(()),
    }
}

/// The CAN XL header fields' ranges, then that only CAN XL frames set them.
fn check_xl_header(spec: &FrameSpec<'_>) -> Result<(), FrameError> {
    if !(0..=0xFF).contains(&spec.sdu_type) {
        return Err(FrameError::SduTypeRange(spec.sdu_type));
    }
    if !(0..=0xFFFF_FFFF).contains(&spec.acceptance_field) {
        return Err(FrameError::AcceptanceFieldRange(spec.acceptance_field));
    }
    if !(0..=0xFF).contains(&spec.vcid) {
        return Err(FrameError::VcidRange(spec.vcid));
    }
    let set = [
        ("sdu_type", spec.sdu_type != 0),
        ("acceptance_field", spec.acceptance_field != 0),
        ("simple_extended_content", spec.sec),
        ("vcid", spec.vcid != 0),
    ];
    match set.iter().find(|(_, set)| *set) {
        Some((name, _)) if !spec.xl => Err(FrameError::XlFieldWithoutXl(name)),
        _ => Ok(()),
    }
}

fn check_id(spec: &FrameSpec<'_>) -> Result<(), FrameError> {
    match (spec.extended, spec.id) {
        (_, id) if spec.xl && !(0..=CANXL_PRIO_MASK as i64).contains(&id) => {
            Err(FrameError::XlPriorityRange(id))
        }
        (true, id) if !(0..=CAN_EFF_MASK as i64).contains(&id) => Err(FrameError::ExtendedIdRange(id)),
        (false, id) if !(0..=CAN_SFF_MASK as i64).contains(&id) => Err(FrameError::StandardIdRange(id)),
        _ => Ok(()),
    }
}

fn check_len(spec: &FrameSpec<'_>) -> Result<(), FrameError> {
    let len = spec.data.len();
    if spec.xl {
        match len {
            0 => Err(FrameError::XlEmpty),
            CANXL_MIN_DLEN..=CANXL_MAX_DLEN => Ok(()),
            _ => Err(FrameError::XlTooLong(len)),
        }
    } else if spec.remote && len > 0 {
        Err(FrameError::RemoteWithData)
    } else if spec.fd && len > CANFD_MAX_DLEN {
        Err(FrameError::FdTooLong(len))
    } else if !spec.fd && len > CAN_MAX_DLEN {
        Err(FrameError::ClassicTooLong(len))
    } else {
        Ok(())
    }
}

fn check_dlc(spec: &FrameSpec<'_>) -> Result<(), FrameError> {
    let Some(dlc) = spec.dlc else { return Ok(()) };
    let len = spec.data.len();
    if spec.remote {
        if !(0..=CAN_MAX_DLEN as i64).contains(&dlc) {
            return Err(FrameError::RemoteDlcRange(dlc));
        }
    } else if spec.fd || spec.xl {
        if dlc != len as i64 {
            return Err(FrameError::FdDlcMismatch { dlc, len });
        }
    } else if dlc != len as i64 && !(len == CAN_MAX_DLEN && (9..=15).contains(&dlc)) {
        return Err(FrameError::ClassicDlcMismatch { dlc, len });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(data: &[u8]) -> FrameSpec<'_> {
        FrameSpec { id: 0x123, extended: false, data, ..FrameSpec::default() }
    }

    fn decode(frame: &Frame) -> Frame {
        let mut raw = RawFrame::ZERO;
        let bytes = frame.as_bytes();
        // SAFETY: raw is CANFD_MTU bytes and bytes.len() <= CANFD_MTU.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), (&mut raw as *mut RawFrame).cast(), bytes.len());
        }
        Frame::from_kernel(raw, bytes.len()).expect("a kernel-sized frame")
    }

    #[test]
    fn classic_frame_round_trips_through_kernel_layout() {
        let frame = Frame::new(&spec(&[0xDE, 0xAD, 0xBE, 0xEF])).unwrap();
        assert_eq!(frame.as_bytes().len(), CAN_MTU);
        assert_eq!(&frame.as_bytes()[..5], &[0x23, 0x01, 0, 0, 4]);
        let back = decode(&frame);
        assert_eq!((back.id(), back.is_extended(), back.is_fd()), (0x123, false, false));
        assert_eq!(back.data(), &[0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(back.dlc(), 4);
    }

    #[test]
    fn extended_remote_and_error_flags_are_encoded() {
        let ext = Frame::new(&FrameSpec { id: 0x1FFF_FFFF, extended: true, ..spec(&[]) }).unwrap();
        assert_eq!(u32::from_ne_bytes(ext.as_bytes()[..4].try_into().unwrap()), 0x9FFF_FFFF);
        let rtr = Frame::new(&FrameSpec { remote: true, dlc: Some(3), ..spec(&[]) }).unwrap();
        let back = decode(&rtr);
        assert!(back.is_remote());
        assert_eq!((back.dlc(), back.data()), (3, &[][..]));
        let err = Frame::new(&FrameSpec { id: 0x40, error: true, ..spec(&[0; 8]) }).unwrap();
        assert!(decode(&err).is_error());
        assert_eq!(decode(&err).id(), 0x40);
    }

    #[test]
    fn fd_data_is_padded_to_the_next_valid_length_and_keeps_flags() {
        let data = [7u8; 10];
        let fd = Frame::new(&FrameSpec { fd: true, brs: true, esi: true, ..spec(&data) }).unwrap();
        assert_eq!(fd.as_bytes().len(), CANFD_MTU);
        let back = decode(&fd);
        assert_eq!(back.data().len(), 12);
        assert_eq!(&back.data()[..10], &data);
        assert_eq!(&back.data()[10..], &[0, 0]);
        assert!(back.is_fd() && back.brs() && back.esi());
        assert_eq!(fd.as_bytes()[5] as i32, CANFD_FDF | CANFD_BRS | CANFD_ESI);
    }

    #[test]
    fn every_fd_length_pads_to_a_kernel_length() {
        let valid = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];
        for n in 0..=64usize {
            let data = vec![1u8; n];
            let frame = Frame::new(&FrameSpec { fd: true, ..spec(&data) }).unwrap();
            let len = decode(&frame).data().len();
            assert!(valid.contains(&len) && len >= n, "{n} bytes padded to {len}");
        }
    }

    #[test]
    fn classic_len8_dlc_survives() {
        let frame = Frame::new(&FrameSpec { dlc: Some(13), ..spec(&[1; 8]) }).unwrap();
        assert_eq!(frame.as_bytes()[7], 13, "len8_dlc is byte 7 of struct can_frame");
        assert_eq!(decode(&frame).dlc(), 13);
        assert_eq!(decode(&frame).data().len(), 8);
    }

    #[test]
    fn a_remote_frames_dlc_is_its_length_whatever_len8_dlc_says() {
        // A peer may send one (the fuzzer did); Message takes a remote dlc of 0..8 only.
        let raw = RawFrame { can_id: 0x123 | CAN_RTR_FLAG, len: 8, len8_dlc: 13, ..RawFrame::ZERO };
        let frame = Frame::from_kernel(raw, CAN_MTU).unwrap();
        assert_eq!(frame.dlc(), 8);
        assert!(Frame::new(&FrameSpec { remote: true, dlc: Some(8), ..spec(&[]) }).is_ok());
    }

    #[test]
    fn invalid_specs_are_refused_in_python_cans_order() {
        let cases: Vec<(FrameSpec<'_>, FrameError)> = vec![
            (FrameSpec { remote: true, error: true, ..spec(&[]) }, FrameError::RemoteAndError),
            (FrameSpec { remote: true, fd: true, ..spec(&[]) }, FrameError::RemoteAndFd),
            (FrameSpec { id: 0x800, ..spec(&[]) }, FrameError::StandardIdRange(0x800)),
            (FrameSpec { id: -1, ..spec(&[]) }, FrameError::StandardIdRange(-1)),
            (FrameSpec { id: 1 << 29, extended: true, ..spec(&[]) }, FrameError::ExtendedIdRange(1 << 29)),
            (spec(&[0; 9]), FrameError::ClassicTooLong(9)),
            (FrameSpec { fd: true, ..spec(&[0; 65]) }, FrameError::FdTooLong(65)),
            (FrameSpec { remote: true, ..spec(&[1]) }, FrameError::RemoteWithData),
            (FrameSpec { remote: true, dlc: Some(9), ..spec(&[]) }, FrameError::RemoteDlcRange(9)),
            (FrameSpec { dlc: Some(5), ..spec(&[0; 4]) }, FrameError::ClassicDlcMismatch { dlc: 5, len: 4 }),
            (FrameSpec { dlc: Some(9), ..spec(&[0; 7]) }, FrameError::ClassicDlcMismatch { dlc: 9, len: 7 }),
            (
                FrameSpec { fd: true, dlc: Some(12), ..spec(&[0; 10]) },
                FrameError::FdDlcMismatch { dlc: 12, len: 10 },
            ),
            (FrameSpec { brs: true, ..spec(&[]) }, FrameError::BrsWithoutFd),
            (FrameSpec { esi: true, ..spec(&[]) }, FrameError::EsiWithoutFd),
        ];
        for (spec, expected) in cases {
            assert_eq!(Frame::new(&spec).unwrap_err(), expected, "{spec:?}");
        }
    }

    #[test]
    fn error_texts_name_the_field_and_range() {
        assert_eq!(
            FrameError::StandardIdRange(-1).to_string(),
            "arbitration_id -0x1 is out of range for a standard (11-bit) ID: must be in \
             0x0..0x7ff; set is_extended_id=True for 29-bit IDs"
        );
        assert_eq!(
            FrameError::ExtendedIdRange(0x2000_0000).to_string(),
            "arbitration_id 0x20000000 is out of range for an extended (29-bit) ID: must be in \
             0x0..0x1fffffff"
        );
    }

    fn xl_spec(data: &[u8]) -> FrameSpec<'_> {
        FrameSpec { xl: true, ..spec(data) }
    }

    /// What the kernel would deliver of `frame`, through a receive slot
    /// that held an earlier, longer frame.
    fn through_slot(frame: &Frame) -> Frame {
        let mut slot = RawXlFrame::boxed();
        slot.data.fill(0xA5);
        let bytes = frame.as_bytes();
        // SAFETY: the slot has room for CANXL_MTU bytes, and bytes.len() <= CANXL_MTU.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), (&mut *slot as *mut RawXlFrame).cast(), bytes.len())
        };
        Frame::take_from_slot(&mut slot, bytes.len()).expect("a frame")
    }

    #[test]
    fn xl_frame_is_header_and_len_bytes_in_the_kernel_layout() {
        let data = [0x11, 0x22, 0x33];
        let spec = FrameSpec {
            id: 0x123,
            sdu_type: 0x12,
            acceptance_field: 0xDEAD_BEEF,
            sec: true,
            vcid: 0x45,
            ..xl_spec(&data)
        };
        let frame = Frame::new(&spec).unwrap();
        let bytes = frame.as_bytes();
        assert_eq!(bytes.len(), CANXL_HDR_SIZE + 3);
        assert_eq!(u32::from_ne_bytes(bytes[..4].try_into().unwrap()), 0x0045_0123);
        assert_eq!(&bytes[4..6], &[CANXL_XLF | CANXL_SEC, 0x12]);
        assert_eq!(u16::from_ne_bytes(bytes[6..8].try_into().unwrap()), 3);
        assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().unwrap()), 0xDEAD_BEEF);
        let back = through_slot(&frame);
        assert!(back.is_xl() && !back.is_fd() && !back.is_extended());
        assert_eq!((back.id(), back.dlc(), back.data()), (0x123, 3, &data[..]));
        let header = XlHeader { sdu_type: 0x12, acceptance_field: 0xDEAD_BEEF, sec: true, vcid: 0x45 };
        assert_eq!(back.xl_header(), Some(header));
    }

    #[test]
    fn every_xl_length_round_trips_and_classic_and_fd_frames_share_the_slots() {
        for n in [1, 2, 8, 64, 65, 2047, CANXL_MAX_DLEN] {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let back = through_slot(&Frame::new(&xl_spec(&data)).unwrap());
            assert_eq!(back.data(), &data[..], "{n} bytes");
        }
        let classic = through_slot(&Frame::new(&spec(&[1, 2, 3, 4])).unwrap());
        assert!(!classic.is_xl() && !classic.is_fd() && classic.xl_header().is_none());
        assert_eq!(classic.data(), &[1, 2, 3, 4]);
        let fd = through_slot(&Frame::new(&FrameSpec { fd: true, ..spec(&[9; 12]) }).unwrap());
        assert!(fd.is_fd() && !fd.is_xl());
        assert_eq!(fd.data(), &[9; 12]);
    }

    #[test]
    fn xl_frames_whose_size_disagrees_with_len_are_not_frames() {
        let frame = Frame::new(&xl_spec(&[1, 2, 3])).unwrap();
        let mut slot = RawXlFrame::boxed();
        let bytes = frame.as_bytes();
        // SAFETY: as in through_slot.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), (&mut *slot as *mut RawXlFrame).cast(), bytes.len())
        };
        assert!(Frame::take_from_slot(&mut slot.clone(), bytes.len() + 1).is_none());
        slot.len = 0;
        assert!(Frame::take_from_slot(&mut slot, CANXL_HDR_SIZE).is_none());
    }

    #[test]
    fn invalid_xl_specs_are_refused_in_order() {
        let too_long = vec![0; CANXL_MAX_DLEN + 1];
        let cases: Vec<(FrameSpec<'_>, FrameError)> = vec![
            (FrameSpec { remote: true, ..xl_spec(&[]) }, FrameError::XlAndRemote),
            (FrameSpec { error: true, ..xl_spec(&[1]) }, FrameError::XlAndError),
            (FrameSpec { fd: true, ..xl_spec(&[1]) }, FrameError::XlAndFd),
            (FrameSpec { extended: true, ..xl_spec(&[1]) }, FrameError::XlExtended),
            (FrameSpec { id: 0x800, ..xl_spec(&[1]) }, FrameError::XlPriorityRange(0x800)),
            (xl_spec(&[]), FrameError::XlEmpty),
            (xl_spec(&too_long), FrameError::XlTooLong(CANXL_MAX_DLEN + 1)),
            (FrameSpec { dlc: Some(2), ..xl_spec(&[1]) }, FrameError::FdDlcMismatch { dlc: 2, len: 1 }),
            (FrameSpec { brs: true, ..xl_spec(&[1]) }, FrameError::BrsWithoutFd),
            (FrameSpec { sdu_type: 256, ..xl_spec(&[1]) }, FrameError::SduTypeRange(256)),
            (
                FrameSpec { acceptance_field: 1 << 32, ..xl_spec(&[1]) },
                FrameError::AcceptanceFieldRange(1 << 32),
            ),
            (FrameSpec { vcid: -1, ..xl_spec(&[1]) }, FrameError::VcidRange(-1)),
            (FrameSpec { sdu_type: 1, ..spec(&[1]) }, FrameError::XlFieldWithoutXl("sdu_type")),
            (
                FrameSpec { sec: true, vcid: 1, ..spec(&[1]) },
                FrameError::XlFieldWithoutXl("simple_extended_content"),
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(Frame::new(&spec).unwrap_err(), expected, "{spec:?}");
        }
        assert_eq!(
            FrameError::AcceptanceFieldRange(-1).to_string(),
            "acceptance_field -0x1 is out of range: must be in 0x0..0xffffffff"
        );
    }

    #[test]
    fn odd_kernel_sizes_are_not_frames() {
        assert!(Frame::from_kernel(RawFrame::ZERO, 8).is_none());
        assert!(Frame::from_kernel(RawFrame::ZERO, 0).is_none());
    }
}
