//! Arbitrary bytes as the kernel delivers them into a receive slot of a CAN
//! XL socket: a `canxl_frame` (CANXL_XLF set in byte 4, 12 + len bytes), or
//! else a `can_frame` (16 bytes) or a `canfd_frame` (72), told apart by size;
//! anything else is not a frame. Decoding never panics, never shows the
//! stale rest of the receive buffer, its accessors agree, and a frame that
//! ferrocan.Message can describe encodes back to the same frame.

#![no_main]

use ferrocan::frame::{
    Frame, FrameSpec, RawXlFrame, XlHeader, CANFD_MTU, CANXL_HDR_SIZE, CANXL_MAX_DLEN, CANXL_MTU, CANXL_XLF,
    CAN_MTU,
};
use libc::{CANFD_MAX_DLEN, CAN_EFF_MASK, CAN_ERR_FLAG, CAN_MAX_DLEN, CAN_RTR_FLAG, CAN_SFF_MASK};
use libfuzzer_sys::fuzz_target;

/// The bytes of a kernel-sized frame that are not part of it, from earlier
/// frames in a reused buffer.
const STALE: u8 = 0xA5;

fuzz_target!(|bytes: &[u8]| {
    let Some(frame) = decode(bytes, STALE) else {
        assert!(!whole_frame(bytes), "{} bytes", bytes.len());
        return;
    };
    assert_eq!(frame.as_bytes(), bytes, "hands back what arrived");
    let clean = decode(bytes, 0).expect("the same size");
    assert_eq!(fields(&frame), fields(&clean), "stale buffer bytes showed");
    check_accessors(&frame);
    if describable(bytes, &frame) {
        check_round_trip(&frame);
    }
});

/// A whole frame of one of the three kinds, by the kernel's rules.
fn whole_frame(bytes: &[u8]) -> bool {
    match bytes.get(4..8) {
        Some(&[flags, _, lo, hi]) if flags & CANXL_XLF != 0 => {
            let len = usize::from(u16::from_ne_bytes([lo, hi]));
            (1..=CANXL_MAX_DLEN).contains(&len) && bytes.len() == CANXL_HDR_SIZE + len
        }
        _ => bytes.len() == CAN_MTU || bytes.len() == CANFD_MTU,
    }
}

fn decode(bytes: &[u8], stale: u8) -> Option<Frame> {
    let mut slot = RawXlFrame::boxed();
    let n = bytes.len().min(CANXL_MTU);
    // SAFETY: the slot is CANXL_MTU bytes or more of plain old data, any bit
    // pattern valid, and n <= CANXL_MTU.
    unsafe {
        let start = (&mut *slot as *mut RawXlFrame).cast::<u8>();
        std::ptr::write_bytes(start, stale, CANXL_MTU);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), start, n);
    }
    Frame::take_from_slot(&mut slot, bytes.len())
}

type Fields = (u32, bool, bool, bool, bool, bool, bool, u16, Vec<u8>, Option<XlHeader>);

fn fields(frame: &Frame) -> Fields {
    (
        frame.id(),
        frame.is_extended(),
        frame.is_remote(),
        frame.is_error(),
        frame.is_fd(),
        frame.brs(),
        frame.esi(),
        frame.dlc(),
        frame.data().to_vec(),
        frame.xl_header(),
    )
}

fn check_accessors(frame: &Frame) {
    if frame.is_xl() {
        assert!(!frame.is_fd() && !frame.is_extended() && !frame.is_remote() && !frame.is_error());
        assert!(frame.id() <= CAN_SFF_MASK);
        assert!((1..=CANXL_MAX_DLEN).contains(&frame.data().len()));
        assert_eq!(usize::from(frame.dlc()), frame.data().len());
        return;
    }
    assert!(frame.xl_header().is_none());
    let max = if frame.is_fd() { CANFD_MAX_DLEN } else { CAN_MAX_DLEN };
    assert!(frame.data().len() <= max);
    assert!(frame.id() <= CAN_EFF_MASK);
    if !frame.is_extended() && !frame.is_error() {
        assert!(frame.id() <= CAN_SFF_MASK);
    }
    if frame.is_remote() {
        assert!(frame.data().is_empty());
    }
    if !frame.is_fd() {
        assert!(!frame.brs() && !frame.esi());
    }
}

/// Within the kernel's contract (`len` at most 8 or 64) and python-can's
/// model: no remote error frames, no remote FD frames, and error classes
/// within Linux's (below 0x800) unless the frame is extended.
fn describable(bytes: &[u8], frame: &Frame) -> bool {
    if frame.is_xl() {
        return true;
    }
    let len = usize::from(bytes[4]);
    let max = if frame.is_fd() { CANFD_MAX_DLEN } else { CAN_MAX_DLEN };
    let can_id = frame.can_id();
    let remote = can_id & CAN_RTR_FLAG != 0;
    let error = can_id & CAN_ERR_FLAG != 0;
    let narrow_classes = frame.is_extended() || frame.id() <= CAN_SFF_MASK;
    len <= max && !(remote && (error || frame.is_fd())) && (!error || narrow_classes)
}

/// Encoding what decoding gave yields the same frame; FD data is padded to
/// the next length the kernel accepts, with zeroes.
fn check_round_trip(frame: &Frame) {
    let data = frame.data();
    let header = frame.xl_header();
    let spec = FrameSpec {
        id: frame.id().into(),
        extended: frame.is_extended(),
        remote: frame.is_remote(),
        error: frame.is_error(),
        fd: frame.is_fd(),
        brs: frame.brs(),
        esi: frame.esi(),
        dlc: Some(frame.dlc().into()),
        data,
        xl: frame.is_xl(),
        sdu_type: header.map_or(0, |h| h.sdu_type.into()),
        acceptance_field: header.map_or(0, |h| h.acceptance_field.into()),
        sec: header.is_some_and(|h| h.sec),
        vcid: header.map_or(0, |h| h.vcid.into()),
    };
    let again = Frame::new(&spec).unwrap_or_else(|e| panic!("{frame:?} does not encode: {e}"));
    let again = decode(again.as_bytes(), STALE).expect("a kernel-sized frame");
    let padded = again.data();
    assert!(padded.starts_with(data) && padded[data.len()..].iter().all(|&b| b == 0));
    let mut expected = fields(frame);
    if frame.is_fd() {
        expected.7 = padded.len() as u16;
        expected.8 = padded.to_vec();
    }
    assert_eq!(fields(&again), expected);
}
