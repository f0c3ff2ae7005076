//! Vector's Binary Logging Format (`.blf`), written as python-can's
//! BLFWriter writes it, without compression: a 144-byte file header, then
//! log containers of objects (CAN_MESSAGE, CAN_FD_MESSAGE, CAN_ERROR_EXT),
//! each with a header that times it in nanoseconds from the file's start.
//!
//! Every object is a multiple of 4 bytes long, so nothing needs padding.
//! The file header carries counts and the start and stop times; it is
//! written with zeroes first and rewritten when the recording ends
//! ([`Blf::file_header`]), which is why BLF needs a file it can seek in.

use std::time::Duration;

use crate::frame::{dlc_of_fd_len, Frame};

/// The file header's size, padding included.
pub const FILE_HEADER_SIZE: usize = 144;
/// Uncompressed log containers hold at most this many bytes of objects.
pub const MAX_CONTAINER: usize = 128 * 1024;

const OBJECT_BASE: usize = 16;
const OBJECT_HEADER: usize = OBJECT_BASE + 16;
const CONTAINER_HEADER: usize = OBJECT_BASE + 16;
/// A CAN FD message: its header and its body.
const LARGEST_OBJECT: usize = OBJECT_HEADER + 84;

const CAN_MESSAGE: u32 = 1;
const LOG_CONTAINER: u32 = 10;
const CAN_ERROR_EXT: u32 = 73;
const CAN_FD_MESSAGE: u32 = 100;

/// Object timestamps count nanoseconds.
const TIME_ONE_NANS: u32 = 2;
const CAN_MSG_EXT: u32 = 0x8000_0000;
const REMOTE: u8 = 0x80;
const DIRECTION_TX: u8 = 0x1;
const EDL: u8 = 0x1;
const BRS: u8 = 0x2;
const ESI: u8 = 0x4;

/// The state of a BLF file being written.
#[derive(Debug, Default)]
pub struct Blf {
    /// The first frame's time, truncated to the header's milliseconds.
    start: Option<Duration>,
    stop: Duration,
    objects: u32,
    /// Bytes of the file so far, as if every open container were sealed.
    size: u64,
    /// Where in the caller's buffer the open container's header starts.
    container: Option<usize>,
}

impl Blf {
    /// The file header before anything is known: counts and times zero.
    pub fn header(&mut self, out: &mut Vec<u8>) {
        self.size = FILE_HEADER_SIZE as u64;
        out.extend_from_slice(&self.file_header());
    }

    /// Appends the object for a frame on `channel` (numbered from 1).
    pub fn frame(
        &mut self,
        out: &mut Vec<u8>,
        frame: &Frame,
        local: bool,
        timestamp: Duration,
        channel: u16,
    ) {
        let start = *self.start.get_or_insert(Duration::from_millis(timestamp.as_millis() as u64));
        self.stop = self.stop.max(timestamp);
        if self.container.is_none_or(|at| out.len() - at > MAX_CONTAINER - LARGEST_OBJECT) {
            self.open_container(out);
        }
        let nanos = timestamp.saturating_sub(start).as_nanos() as u64;
        push_object(out, frame, local, channel, nanos);
        self.objects += 1;
    }

    /// Closes the open container, writing its size into its header; call
    /// before writing the buffer out.
    pub fn seal(&mut self, out: &mut [u8]) {
        let Some(at) = self.container.take() else { return };
        let total = out.len() - at;
        let payload = (total - CONTAINER_HEADER) as u32;
        out[at + 8..at + 12].copy_from_slice(&(total as u32).to_le_bytes());
        out[at + 24..at + 28].copy_from_slice(&payload.to_le_bytes());
        self.size += total as u64;
    }

    /// The file header with the final counts and times, for offset 0.
    pub fn file_header(&self) -> [u8; FILE_HEADER_SIZE] {
        let mut header = [0; FILE_HEADER_SIZE];
        header[..4].copy_from_slice(b"LOGG");
        header[4..8].copy_from_slice(&(FILE_HEADER_SIZE as u32).to_le_bytes());
        // Application 5 (as python-can writes) 0.0.0, binary log 2.6.8.1.
        header[8..16].copy_from_slice(&[5, 0, 0, 0, 2, 6, 8, 1]);
        header[16..24].copy_from_slice(&self.size.to_le_bytes());
        header[24..32].copy_from_slice(&self.size.to_le_bytes()); // uncompressed: the same
        header[32..36].copy_from_slice(&self.objects.to_le_bytes());
        if let Some(start) = self.start {
            header[40..56].copy_from_slice(&system_time(start));
            header[56..72].copy_from_slice(&system_time(self.stop));
        }
        header
    }

    fn open_container(&mut self, out: &mut Vec<u8>) {
        self.seal(out);
        let at = out.len();
        out.extend_from_slice(b"LOBJ");
        out.extend_from_slice(&(OBJECT_BASE as u16).to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // header version
        out.extend_from_slice(&0u32.to_le_bytes()); // object size: at seal
        out.extend_from_slice(&LOG_CONTAINER.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // no compression
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&0u32.to_le_bytes()); // uncompressed size: at seal
        out.extend_from_slice(&[0; 4]);
        self.container = Some(at);
    }
}

/// The object for a frame, in python-can's structs: CAN_MSG `<HBBL8s`,
/// CAN_FD_MSG `<HBBLLBBB5x64s`, CAN_ERROR_EXT `<HHLBBBxLLH2x8s`.
fn push_object(out: &mut Vec<u8>, frame: &Frame, local: bool, channel: u16, nanos: u64) {
    let (kind, body) = if frame.is_error() {
        (CAN_ERROR_EXT, 32)
    } else if frame.is_fd() {
        (CAN_FD_MESSAGE, 84)
    } else {
        (CAN_MESSAGE, 16)
    };
    out.extend_from_slice(b"LOBJ");
    out.extend_from_slice(&(OBJECT_HEADER as u16).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // header version
    out.extend_from_slice(&((OBJECT_HEADER + body) as u32).to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&TIME_ONE_NANS.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // client index, object version
    out.extend_from_slice(&nanos.to_le_bytes());

    let id = frame.id() | if frame.is_extended() { CAN_MSG_EXT } else { 0 };
    let flags = if frame.is_remote() { REMOTE } else { 0 } | if local { DIRECTION_TX } else { 0 };
    let data = frame.data();
    out.extend_from_slice(&channel.to_le_bytes());
    match kind {
        CAN_ERROR_EXT => {
            out.extend_from_slice(&[0; 8]); // length, flags, ecc, position
            out.extend_from_slice(&[classic_dlc(frame), 0]);
            out.extend_from_slice(&[0; 4]); // frame length
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&[0; 4]); // extended flags, padding
            push_padded(out, &data[..data.len().min(8)], 8);
        }
        CAN_FD_MESSAGE => {
            let fd_flags = EDL | if frame.brs() { BRS } else { 0 } | if frame.esi() { ESI } else { 0 };
            out.extend_from_slice(&[flags, dlc_of_fd_len(data.len())]);
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&[0; 5]); // frame length, bit count
            out.extend_from_slice(&[fd_flags, data.len() as u8]);
            out.extend_from_slice(&[0; 5]);
            push_padded(out, data, 64);
        }
        _ => {
            out.extend_from_slice(&[flags, classic_dlc(frame)]);
            out.extend_from_slice(&id.to_le_bytes());
            push_padded(out, data, 8);
        }
    }
}

/// `data`, then zeroes up to `width` bytes.
/// A classic or error frame's DLC, which is 0..15: BLF has no CAN XL
/// object, and the recorder's sockets receive no CAN XL frames.
fn classic_dlc(frame: &Frame) -> u8 {
    frame.dlc() as u8
}

fn push_padded(out: &mut Vec<u8>, data: &[u8], width: usize) {
    out.extend_from_slice(data);
    out.resize(out.len() + width - data.len(), 0);
}

/// Windows' SYSTEMTIME, in UTC: year, month, weekday, day, hour, minute,
/// second, milliseconds, each a little-endian u16.
fn system_time(time: Duration) -> [u8; 16] {
    let secs = time.as_secs() as libc::time_t;
    // SAFETY: tm is plain old data; gmtime_r fills it from a live time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::gmtime_r(&secs, &mut tm) };
    let fields = [
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_wday,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        time.subsec_millis() as i32,
    ];
    let mut bytes = [0; 16];
    for (chunk, field) in bytes.chunks_exact_mut(2).zip(fields) {
        chunk.copy_from_slice(&(field as u16).to_le_bytes());
    }
    bytes
}

/// A reader of what [`Blf`] writes, for tests and the fuzz target: it
/// checks every size and count, and gives the objects back.
#[cfg(any(test, fuzzing))]
pub mod read {
    use super::*;

    /// An object of the file, as stored.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Object {
        /// The object type (`CAN_MESSAGE`, `CAN_FD_MESSAGE`, `CAN_ERROR_EXT`).
        pub kind: u32,
        /// Nanoseconds since the first frame's millisecond (the header's start time).
        pub nanos: u64,
        /// The channel number, from 1.
        pub channel: u16,
        /// The identifier with CAN_MSG_EXT for an extended one.
        pub id: u32,
        /// Remote and direction flags (classic and FD frames).
        pub flags: u8,
        /// CAN FD flags (EDL, BRS, ESI).
        pub fd_flags: u8,
        /// The DLC as stored.
        pub dlc: u8,
        /// The payload.
        pub data: Vec<u8>,
    }

    fn u16_at(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([bytes[at], bytes[at + 1]])
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    }

    /// The objects of a whole file, after checking its header against them.
    pub fn objects(file: &[u8]) -> Result<Vec<Object>, String> {
        let header = file.get(..FILE_HEADER_SIZE).ok_or("shorter than the file header")?;
        if &header[..4] != b"LOGG" || u32_at(header, 4) as usize != FILE_HEADER_SIZE {
            return Err("bad file header".into());
        }
        let mut objects = Vec::new();
        let mut at = FILE_HEADER_SIZE;
        while at < file.len() {
            let container = file.get(at..at + CONTAINER_HEADER).ok_or("truncated container header")?;
            let size = u32_at(container, 8) as usize;
            let payload = u32_at(container, 24) as usize;
            if &container[..4] != b"LOBJ"
                || u32_at(container, 12) != LOG_CONTAINER
                || size != payload + CONTAINER_HEADER
            {
                return Err(format!("bad container at {at}"));
            }
            let body = file.get(at + CONTAINER_HEADER..at + size).ok_or("truncated container")?;
            objects.extend(container_objects(body)?);
            at += size;
        }
        let counted = u32_at(header, 32) as usize;
        let size = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
        if counted != objects.len() || size != file.len() as u64 {
            return Err(format!("the header says {counted} objects in {size} bytes"));
        }
        Ok(objects)
    }

    fn container_objects(mut body: &[u8]) -> Result<Vec<Object>, String> {
        let mut objects = Vec::new();
        while !body.is_empty() {
            let header = body.get(..OBJECT_HEADER).ok_or("truncated object header")?;
            let size = u32_at(header, 8) as usize;
            let object = body.get(OBJECT_HEADER..size).ok_or("truncated object")?;
            if &header[..4] != b"LOBJ" || u32_at(header, 16) != TIME_ONE_NANS {
                return Err("bad object header".into());
            }
            let kind = u32_at(header, 12);
            let nanos = u64::from_le_bytes(header[24..32].try_into().expect("8 bytes"));
            let channel = u16_at(object, 0);
            objects.push(match (kind, object.len()) {
                (CAN_MESSAGE, 16) => Object {
                    kind,
                    nanos,
                    channel,
                    id: u32_at(object, 4),
                    flags: object[2],
                    fd_flags: 0,
                    dlc: object[3],
                    data: object[8..16].to_vec(),
                },
                (CAN_FD_MESSAGE, 84) => Object {
                    kind,
                    nanos,
                    channel,
                    id: u32_at(object, 4),
                    flags: object[2],
                    fd_flags: object[13],
                    dlc: object[3],
                    data: object[20..20 + object[14] as usize].to_vec(),
                },
                (CAN_ERROR_EXT, 32) => Object {
                    kind,
                    nanos,
                    channel,
                    id: u32_at(object, 16),
                    flags: 0,
                    fd_flags: 0,
                    dlc: object[10],
                    data: object[24..32].to_vec(),
                },
                _ => return Err(format!("object of type {kind} and size {size}")),
            });
            body = &body[size..];
        }
        Ok(objects)
    }
}

#[cfg(test)]
mod tests {
    use super::read::objects;
    use super::*;
    use crate::frame::FrameSpec;

    #[test]
    fn a_file_holds_its_frames_in_containers_its_header_counts() {
        let classic = Frame::new(&FrameSpec { id: 0x123, data: &[1, 2], ..FrameSpec::default() }).unwrap();
        let fd = Frame::new(&FrameSpec {
            id: 0x1ABCDEF,
            extended: true,
            fd: true,
            brs: true,
            data: &[7; 12],
            ..FrameSpec::default()
        })
        .unwrap();
        let error =
            Frame::new(&FrameSpec { id: 0x80, error: true, data: &[0, 0, 8], ..FrameSpec::default() })
                .unwrap();
        let t0 = Duration::new(1_796_305_227, 123_456_789);
        let mut blf = Blf::default();
        let mut file = Vec::new();
        blf.header(&mut file);
        blf.frame(&mut file, &classic, false, t0, 1);
        blf.seal(&mut file);
        blf.frame(&mut file, &fd, true, t0 + Duration::from_micros(5), 2);
        blf.frame(&mut file, &error, false, t0 + Duration::from_secs(1), 1);
        blf.seal(&mut file);
        file[..FILE_HEADER_SIZE].copy_from_slice(&blf.file_header());
        let found = objects(&file).expect("a valid file");
        let summary: Vec<_> =
            found.iter().map(|o| (o.kind, o.nanos, o.channel, o.id, o.flags, o.fd_flags, o.dlc)).collect();
        assert_eq!(
            summary,
            [
                (CAN_MESSAGE, 456_789, 1, 0x123, 0, 0, 2),
                (CAN_FD_MESSAGE, 461_789, 2, 0x1ABCDEF | CAN_MSG_EXT, DIRECTION_TX, EDL | BRS, 9),
                (CAN_ERROR_EXT, 1_000_456_789, 1, 0x80, 0, 0, 3),
            ]
        );
        assert_eq!(found[1].data, [7; 12]);
        // The start: 2026-12-03 (a Thursday) 13:40:27.123 UTC.
        let start: Vec<u16> = file[40..56].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        assert_eq!(start, [2026, 12, 4, 3, 13, 40, 27, 123]);
    }
}
