//! The per-bus receive buffer: one `recvmmsg` reads up to [`SLOTS`] frames,
//! each with its own timestamp, flags and interface.
//!
//! It reads no more than the caller is about to take (one frame for `recv`,
//! the rest of a batch for `recv_batch`), so no frame ever waits in user
//! space where the socket's readiness (`select` on `fileno()`) cannot show it.

use std::fmt;
use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;
use std::time::Duration;

use crate::error::retry_eintr;
use crate::frame::{Frame, RawFrame, RawXlFrame, CANXL_MTU};

/// Frames one `recvmmsg` can read.
pub const SLOTS: usize = 64;

/// Ancillary data room per frame: a timestamp (SO_TIMESTAMPNS: one
/// timespec, or SO_TIMESTAMPING: three) and SO_RXQ_OVFL (a u32), each
/// behind a cmsghdr.
pub(crate) const CONTROL_BYTES: usize = 96;

/// A frame as received, with what the kernel said about it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The frame.
    pub frame: Frame,
    /// Kernel receive time since the Unix epoch (SO_TIMESTAMPNS), or the
    /// controller's raw clock with hardware timestamping.
    pub timestamp: Duration,
    /// The frame was sent from this host (MSG_DONTROUTE).
    pub local: bool,
    /// The frame was sent by this very socket (MSG_CONFIRM).
    pub own: bool,
    /// The interface it arrived on.
    pub ifindex: i32,
}

#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct Control([u8; CONTROL_BYTES]);

/// Buffers for `recvmmsg`, allocated once per bus; the kernel's headers
/// point into the boxed arrays, whose addresses never change (but for a CAN
/// XL slot's, which [`RxBuffer::pop`] repoints when its frame takes the box).
pub struct RxBuffer {
    frames: Slots,
    addrs: Box<[libc::sockaddr_can; SLOTS]>,
    controls: Box<[Control; SLOTS]>,
    iovecs: Box<[libc::iovec; SLOTS]>,
    headers: Box<[libc::mmsghdr; SLOTS]>,
    /// Slots filled by the last `recvmmsg`, and the next one to hand out.
    filled: usize,
    next: usize,
    /// The kernel's latest count of frames it dropped (SO_RXQ_OVFL).
    dropped: u32,
}

impl fmt::Debug for RxBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RxBuffer")
            .field("filled", &self.filled)
            .field("next", &self.next)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

// SAFETY: the raw pointers in `iovecs` and `headers` point only into this
// struct's own boxes, so moving the struct to another thread moves them too.
unsafe impl Send for RxBuffer {}

/// Where `recvmmsg` writes the frames themselves.
enum Slots {
    /// Classic and CAN FD frames, in place.
    Can(Box<[RawFrame; SLOTS]>),
    /// Frames of every kind up to CAN XL's size. Each slot is a box of its
    /// own, so that a CAN XL frame leaves with its box, uncopied, and a new
    /// box takes its place.
    #[expect(clippy::vec_box, reason = "a CAN XL frame leaves its slot with its own box")]
    Xl(Vec<Box<RawXlFrame>>),
}

impl Slots {
    /// Where slot `i` starts, and its room in bytes.
    fn room(&mut self, i: usize) -> (*mut libc::c_void, usize) {
        match self {
            Self::Can(frames) => ((&mut frames[i] as *mut RawFrame).cast(), size_of::<RawFrame>()),
            Self::Xl(frames) => ((&mut *frames[i] as *mut RawXlFrame).cast(), CANXL_MTU),
        }
    }

    /// Decodes the `size` bytes slot `i` received.
    fn take(&mut self, i: usize, size: usize) -> Option<Frame> {
        let frames = match self {
            Self::Can(frames) => return Frame::from_kernel(frames[i], size),
            Self::Xl(frames) => frames,
        };
        Frame::take_from_slot(&mut frames[i], size)
    }
}

impl RxBuffer {
    /// Room for a full batch of frames, with their addresses and ancillary
    /// data; with `xl`, for CAN XL frames too.
    pub fn new(xl: bool) -> Self {
        let frames = match xl {
            true => Slots::Xl((0..SLOTS).map(|_| RawXlFrame::boxed()).collect()),
            false => Slots::Can(Box::new([RawFrame::ZERO; SLOTS])),
        };
        // SAFETY: all of these are plain C structs for which zero is valid.
        let mut buffer = unsafe {
            Self {
                frames,
                addrs: Box::new(std::mem::zeroed()),
                controls: Box::new([Control([0; CONTROL_BYTES]); SLOTS]),
                iovecs: Box::new(std::mem::zeroed()),
                headers: Box::new(std::mem::zeroed()),
                filled: 0,
                next: 0,
                dropped: 0,
            }
        };
        for i in 0..SLOTS {
            let (iov_base, iov_len) = buffer.frames.room(i);
            buffer.iovecs[i] = libc::iovec { iov_base, iov_len };
            let hdr = &mut buffer.headers[i].msg_hdr;
            hdr.msg_name = (&mut buffer.addrs[i] as *mut libc::sockaddr_can).cast();
            hdr.msg_iov = &mut buffer.iovecs[i];
            hdr.msg_iovlen = 1;
            hdr.msg_control = buffer.controls[i].0.as_mut_ptr().cast();
        }
        buffer
    }

    /// Frames read from the kernel and not yet handed out.
    pub fn pending(&self) -> usize {
        self.filled - self.next
    }

    /// The kernel's count of frames dropped on this socket, as of the last
    /// frame handed out.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Reads up to `want` frames (at most [`SLOTS`]) with one non-blocking
    /// `recvmmsg`; call only when nothing is pending. `Ok(0)` when the socket
    /// had none.
    pub fn fill(&mut self, fd: RawFd, want: usize) -> io::Result<usize> {
        debug_assert_eq!(self.pending(), 0);
        let want = want.clamp(1, SLOTS);
        for header in &mut self.headers[..want] {
            // The kernel overwrites these lengths; restore the room we have.
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_can>() as libc::socklen_t;
            header.msg_hdr.msg_controllen = CONTROL_BYTES;
        }
        self.filled = 0;
        self.next = 0;
        let received = retry_eintr(|| {
            // SAFETY: every header describes live buffers owned by self.
            unsafe {
                libc::recvmmsg(
                    fd,
                    self.headers.as_mut_ptr(),
                    want as u32,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                ) as isize
            }
        });
        match received {
            Ok(n) => self.filled = n as usize,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
            Err(e) => return Err(e),
        }
        Ok(self.filled)
    }

    /// The next frame read, decoded; `None` once all are handed out.
    pub fn pop(&mut self) -> Option<Received> {
        while self.next < self.filled {
            let i = self.next;
            self.next += 1;
            let frame = self.frames.take(i, self.headers[i].msg_len as usize);
            // A CAN XL frame took its slot's box along: point at the new one.
            self.iovecs[i].iov_base = self.frames.room(i).0;
            let Some(frame) = frame else { continue };
            let header = &self.headers[i];
            let (timestamp, dropped) = parse_control(&header.msg_hdr);
            if let Some(dropped) = dropped {
                self.dropped = dropped;
            }
            let flags = header.msg_hdr.msg_flags;
            return Some(Received {
                frame,
                timestamp,
                local: flags & libc::MSG_DONTROUTE != 0,
                own: flags & libc::MSG_CONFIRM != 0,
                ifindex: self.addrs[i].can_ifindex,
            });
        }
        None
    }
}

/// [`parse_control`] for ancillary data that came without its msghdr
/// (io_uring hands out the bytes).
#[cfg_attr(not(any(io_uring, test)), expect(dead_code))]
pub(crate) fn parse_control_bytes(control: &[u8]) -> (Duration, Option<u32>) {
    // SAFETY: an all-zero msghdr is valid; CMSG_* only read the control
    // pointer and length, which describe `control`.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_control = control.as_ptr() as *mut libc::c_void;
    msg.msg_controllen = control.len();
    parse_control(&msg)
}

/// The SO_TIMESTAMPNS time and the SO_RXQ_OVFL drop count, where present.
fn parse_control(msg: &libc::msghdr) -> (Duration, Option<u32>) {
    let mut timestamp = Duration::ZERO;
    let mut dropped = None;
    // SAFETY: msg's control pointer and length describe a buffer the kernel
    // filled; CMSG_* walk within those bounds.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            let data = libc::CMSG_DATA(cmsg);
            match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                    let ts = std::ptr::read_unaligned(data.cast::<libc::timespec>());
                    timestamp = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
                }
                (libc::SOL_SOCKET, libc::SCM_TIMESTAMPING) => {
                    // software, legacy, raw hardware: the third is ours.
                    let ts = std::ptr::read_unaligned(data.cast::<[libc::timespec; 3]>())[2];
                    timestamp = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
                }
                (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) => {
                    dropped = Some(std::ptr::read_unaligned(data.cast::<u32>()));
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    (timestamp, dropped)
}

#[cfg(test)]
mod tests {
    //! [`parse_control_bytes`] on ancillary data built here as the kernel
    //! lays it out: vcan has no hardware clock, so SCM_TIMESTAMPING never
    //! comes from a real socket in the tests.

    use super::*;

    /// One cmsg as the kernel writes it: header, payload, padding to
    /// CMSG_SPACE.
    fn cmsg(level: i32, kind: i32, payload: &[u8]) -> Vec<u8> {
        // SAFETY: CMSG_LEN and CMSG_SPACE only compute sizes.
        let (len, space) = unsafe {
            (libc::CMSG_LEN(payload.len() as u32) as usize, libc::CMSG_SPACE(payload.len() as u32) as usize)
        };
        let header = size_of::<libc::cmsghdr>();
        let mut bytes = vec![0u8; space];
        bytes[..size_of::<usize>()].copy_from_slice(&len.to_ne_bytes());
        bytes[size_of::<usize>()..size_of::<usize>() + 4].copy_from_slice(&level.to_ne_bytes());
        bytes[size_of::<usize>() + 4..header].copy_from_slice(&kind.to_ne_bytes());
        bytes[len - payload.len()..len].copy_from_slice(payload);
        bytes
    }

    fn timespec(sec: i64, nsec: i64) -> Vec<u8> {
        let ts = libc::timespec { tv_sec: sec as libc::time_t, tv_nsec: nsec as _ };
        // SAFETY: a timespec is plain integers; its bytes are what the
        // kernel copies out.
        unsafe {
            std::slice::from_raw_parts(
                (&ts as *const libc::timespec).cast::<u8>(),
                size_of::<libc::timespec>(),
            )
        }
        .to_vec()
    }

    /// struct scm_timestamping: software, legacy (zero), raw hardware.
    fn timestamping(software: (i64, i64), hardware: (i64, i64)) -> Vec<u8> {
        [timespec(software.0, software.1), timespec(0, 0), timespec(hardware.0, hardware.1)].concat()
    }

    /// `bytes` in an 8-aligned control buffer, as [`Control`] is, parsed.
    fn parse(bytes: &[u8]) -> (Duration, Option<u32>) {
        assert!(bytes.len() <= CONTROL_BYTES, "{} bytes do not fit", bytes.len());
        let mut control = Control([0; CONTROL_BYTES]);
        control.0[..bytes.len()].copy_from_slice(bytes);
        parse_control_bytes(&control.0[..bytes.len()])
    }

    const DROPPED: u32 = 0x1234_5678;

    #[test]
    fn software_stamp_from_scm_timestampns() {
        let control = cmsg(libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &timespec(1_795_510_729, 732_943_123));
        assert_eq!(parse(&control), (Duration::new(1_795_510_729, 732_943_123), None));
    }

    #[test]
    fn hardware_stamp_is_the_raw_third_timespec_of_scm_timestamping() {
        let control = cmsg(
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPING,
            &timestamping((1_795_510_729, 1), (4_242, 999_999_999)),
        );
        assert_eq!(parse(&control), (Duration::new(4_242, 999_999_999), None));
    }

    #[test]
    fn drop_count_from_so_rxq_ovfl_after_either_stamp() {
        let dropped = cmsg(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, &DROPPED.to_ne_bytes());
        let software = cmsg(libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, &timespec(7, 8));
        let hardware = cmsg(libc::SOL_SOCKET, libc::SCM_TIMESTAMPING, &timestamping((7, 8), (9, 10)));
        // The room CONTROL_BYTES reserves holds the larger pair.
        assert_eq!(
            parse(&[hardware.clone(), dropped.clone()].concat()),
            (Duration::new(9, 10), Some(DROPPED))
        );
        assert_eq!(
            parse(&[software.clone(), dropped.clone()].concat()),
            (Duration::new(7, 8), Some(DROPPED))
        );
        // The kernel writes the stamp first; the parser does not rely on it.
        assert_eq!(parse(&[dropped.clone(), software].concat()), (Duration::new(7, 8), Some(DROPPED)));
        assert_eq!(parse(&dropped), (Duration::ZERO, Some(DROPPED)));
    }

    #[test]
    fn nothing_or_other_levels_give_no_stamp_and_no_count() {
        assert_eq!(parse(&[]), (Duration::ZERO, None));
        // SOL_CAN_RAW's level with the socket-level type numbers is not ours.
        let other = cmsg(libc::SOL_CAN_RAW, libc::SCM_TIMESTAMPNS, &timespec(1, 2));
        let other_count = cmsg(libc::SOL_CAN_RAW, libc::SO_RXQ_OVFL, &DROPPED.to_ne_bytes());
        assert_eq!(parse(&[other, other_count].concat()), (Duration::ZERO, None));
    }
}
