//! Arbitrary bytes as the kernel delivers them: a `can_frame` (16 bytes) or
//! a `canfd_frame` (72), told apart by size alone; any other size is not a
//! frame. Decoding never panics, never shows the stale rest of the receive
//! buffer, its accessors agree, and a frame that ferrocan.Message can
//! describe encodes back to the same frame.

#![no_main]

use ferrocan::frame::{Frame, FrameSpec, RawFrame, CANFD_MTU, CAN_MTU};
use libc::{CANFD_MAX_DLEN, CAN_EFF_MASK, CAN_ERR_FLAG, CAN_MAX_DLEN, CAN_RTR_FLAG, CAN_SFF_MASK};
use libfuzzer_sys::fuzz_target;

/// The bytes of a kernel-sized frame that are not part of it, from earlier
/// frames in a reused buffer.
const STALE: u8 = 0xA5;

fuzz_target!(|bytes: &[u8]| {
    let Some(frame) = decode(bytes, STALE) else {
        assert!(bytes.len() != CAN_MTU && bytes.len() != CANFD_MTU, "{} bytes", bytes.len());
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

fn decode(bytes: &[u8], stale: u8) -> Option<Frame> {
    let mut buffer = [stale; CANFD_MTU];
    let n = bytes.len().min(CANFD_MTU);
    buffer[..n].copy_from_slice(&bytes[..n]);
    // SAFETY: RawFrame is CANFD_MTU bytes of plain old data, any bit pattern valid.
    let raw: RawFrame = unsafe { std::mem::transmute(buffer) };
    Frame::from_kernel(raw, bytes.len())
}

type Fields = (u32, bool, bool, bool, bool, bool, bool, u8, Vec<u8>);

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
    )
}

fn check_accessors(frame: &Frame) {
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
    };
    let again = Frame::new(&spec).unwrap_or_else(|e| panic!("{frame:?} does not encode: {e}"));
    let again = decode(again.as_bytes(), STALE).expect("a kernel-sized frame");
    let padded = again.data();
    assert!(padded.starts_with(data) && padded[data.len()..].iter().all(|&b| b == 0));
    let mut expected = fields(frame);
    if frame.is_fd() {
        expected.7 = padded.len() as u8;
        expected.8 = padded.to_vec();
    }
    assert_eq!(fields(&again), expected);
}
