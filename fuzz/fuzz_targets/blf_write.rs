//! Arbitrary frames, as the kernel could deliver them, on up to four
//! interfaces, written as BLF with containers sealed at arbitrary points:
//! writing never panics, and the file reads back (sizes, counts, container
//! headers) as exactly the objects of those frames, in order.

#![no_main]

use std::time::Duration;

use ferrocan::frame::{Frame, RawFrame, CANFD_MTU, CAN_MTU};
use ferrocan::log_format::blf::read::{objects, Object};
use ferrocan::log_format::{Format, LogFormat, BLF_HEADER_SIZE};
use ferrocan::Received;
use libfuzzer_sys::fuzz_target;

/// Per frame: size (even: classic), time step in µs (2), interface,
/// direction, whether to write out after it; then the kernel's bytes.
const RECORD: usize = 6 + CANFD_MTU;
const NAMES: [&str; 4] = ["vcan0", "vcan1", "can0", "any"];

fuzz_target!(|bytes: &[u8]| {
    let mut format = LogFormat::new(Format::Blf, &[]);
    let mut file = Vec::new();
    let mut buffer = Vec::new();
    format.header(&mut buffer, std::time::SystemTime::UNIX_EPOCH);
    let mut time = Duration::new(1_796_305_227, 0);
    let mut expected = Vec::new();
    let mut numbers: Vec<&str> = Vec::new();
    for record in bytes.chunks_exact(RECORD) {
        let size = if record[0] % 2 == 0 { CAN_MTU } else { CANFD_MTU };
        // SAFETY: RawFrame is CANFD_MTU bytes of plain old data, any bit pattern valid.
        let raw: RawFrame =
            unsafe { std::mem::transmute::<[u8; CANFD_MTU], RawFrame>(record[6..].try_into().unwrap()) };
        let Some(frame) = Frame::from_kernel(raw, size) else { continue };
        time += Duration::from_micros(u16::from_le_bytes([record[1], record[2]]).into());
        let channel = NAMES[usize::from(record[3] % 4)];
        let received = Received {
            frame: frame.clone(),
            timestamp: time,
            local: record[4] % 2 == 1,
            own: false,
            ifindex: 1,
        };
        format.frame(&mut buffer, &received, channel);
        if !numbers.contains(&channel) {
            numbers.push(channel);
        }
        let number = numbers.iter().position(|&n| n == channel).unwrap() + 1;
        expected.push((frame, received.local, number as u16));
        if record[5] % 2 == 1 {
            format.seal(&mut buffer);
            file.append(&mut buffer);
        }
    }
    format.seal(&mut buffer);
    file.append(&mut buffer);
    file[..BLF_HEADER_SIZE].copy_from_slice(&format.final_header().expect("BLF has one"));
    let found = objects(&file).unwrap_or_else(|e| panic!("unreadable: {e}"));
    assert_eq!(found.len(), expected.len());
    for (object, (frame, local, number)) in found.iter().zip(&expected) {
        check(object, frame, *local, *number);
    }
});

fn check(object: &Object, frame: &Frame, local: bool, number: u16) {
    assert_eq!(object.channel, number);
    assert_eq!(object.id & 0x1FFF_FFFF, frame.id());
    assert_eq!(object.id & 0x8000_0000 != 0, frame.is_extended());
    let data = frame.data();
    if frame.is_error() {
        assert_eq!(object.kind, 73);
        assert_eq!(object.data[..data.len().min(8)], data[..data.len().min(8)]);
        return;
    }
    assert_eq!(object.flags & 0x80 != 0, frame.is_remote());
    assert_eq!(object.flags & 0x1 != 0, local);
    if frame.is_fd() {
        assert_eq!(object.kind, 100);
        assert_eq!(object.data, data);
        assert_eq!(object.fd_flags, 1 | u8::from(frame.brs()) << 1 | u8::from(frame.esi()) << 2);
    } else {
        assert_eq!(object.kind, 1);
        assert_eq!(u16::from(object.dlc), frame.dlc());
        assert_eq!(object.data[..data.len()], *data);
    }
}
