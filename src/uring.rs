//! Receiving through io_uring, so that polling an empty bus costs no syscall.
//!
//! One multishot `recvmsg` (Linux 6.0+) stays armed on the socket. For each
//! frame the kernel takes a buffer from a registered buffer ring, writes the
//! frame with its timestamp, flags and address into it, and posts a
//! completion to memory shared with us. `recv(0.0)` reads that memory; giving
//! a buffer back is a store to the ring. Syscalls happen only to (re)arm.
//!
//! If the consumer falls behind, the kernel runs out of buffers and ends the
//! multishot request (ENOBUFS); frames then wait in the socket's buffer, and
//! the kernel counts any it must drop, until the next `pop` re-arms.
//! benches/receive_modes/main.rs measures this against the alternatives.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::fmt;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::{BufRingEntry, Fd, RecvMsgOut};
use io_uring::{cqueue, opcode, IoUring};

use crate::frame::{Frame, RawFrame};
use crate::rx_buffer::{parse_control_bytes, Received};

/// Receive buffers in the ring (a power of two).
const ENTRIES: u16 = 256;
/// One buffer: io_uring's header, the address, the ancillary data, a frame.
const BUFFER: usize = 256;
/// Ancillary data room: the same as the direct path's.
const CONTROL: usize = crate::rx_buffer::CONTROL_BYTES;
/// The buffer group of our ring.
const GROUP: u16 = 0;
/// The user data of cancel requests; receives count up from 1.
const CANCEL: u64 = u64::MAX;

/// The buffer ring's entries: page-aligned memory shared with the kernel.
struct BufRing(NonNull<BufRingEntry>);

impl BufRing {
    fn layout() -> Layout {
        Layout::from_size_align(usize::from(ENTRIES) * size_of::<BufRingEntry>(), 4096)
            .expect("a valid layout")
    }

    fn new() -> io::Result<Self> {
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(Self::layout()) }.cast::<BufRingEntry>();
        NonNull::new(ptr).map(Self).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in new() with the same layout.
        unsafe { dealloc(self.0.as_ptr().cast(), Self::layout()) };
    }
}

/// A socket's multishot receive: completions in, buffers back.
pub struct Uring {
    // Declared first so the ring (and the kernel's use of the buffers) goes
    // before the memory it points into.
    ring: IoUring,
    entries: BufRing,
    buffers: Box<[u8]>,
    msghdr: Box<libc::msghdr>,
    socket: RawFd,
    tail: u16,
    /// How many receives were armed; the current one's user data.
    arms: u64,
    armed: bool,
    dropped: u32,
}

// SAFETY: the raw pointers (msghdr, buffer ring) point into memory this
// struct owns; it is used under a Mutex, one thread at a time.
unsafe impl Send for Uring {}

impl fmt::Debug for Uring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uring")
            .field("socket", &self.socket)
            .field("arms", &self.arms)
            .field("armed", &self.armed)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Uring {
    /// Arms a multishot receive on `socket`, which the caller keeps open for
    /// the life of this value. Fails where io_uring, buffer rings (5.19) or
    /// multishot recvmsg (6.0) are unavailable or forbidden.
    pub fn new(socket: RawFd) -> io::Result<Self> {
        // Room for a completion per buffer, so completions never overflow.
        let ring = IoUring::builder().setup_cqsize(u32::from(ENTRIES) * 2).build(8)?;
        let entries = BufRing::new()?;
        // SAFETY: the ring memory is page-aligned, ENTRIES long, and outlives
        // its registration (the IoUring is dropped first).
        unsafe {
            ring.submitter().register_buf_ring_with_flags(entries.0.as_ptr() as u64, ENTRIES, GROUP, 0)?
        };
        // SAFETY: an all-zero msghdr is valid; multishot recvmsg reads only
        // the name and control lengths from it.
        let mut msghdr: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
        msghdr.msg_namelen = size_of::<libc::sockaddr_can>() as libc::socklen_t;
        msghdr.msg_controllen = CONTROL;
        let buffers = vec![0u8; usize::from(ENTRIES) * BUFFER].into_boxed_slice();
        let mut uring =
            Self { ring, entries, buffers, msghdr, socket, tail: 0, arms: 0, armed: false, dropped: 0 };
        (0..ENTRIES).for_each(|bid| uring.give_back(bid));
        uring.arm()?;
        Ok(uring)
    }

    /// Readable while completions wait: for `poll`, `select` and event loops.
    pub fn fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }

    /// The kernel's drop count as of the last frame popped (SO_RXQ_OVFL).
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// The next frame, if its completion has arrived: no syscall unless the
    /// request must be re-armed.
    pub fn pop(&mut self) -> io::Result<Option<Received>> {
        loop {
            let Some(cqe) = self.ring.completion().next() else {
                return self.when_empty().map(|()| None);
            };
            let (result, flags) = (cqe.result(), cqe.flags());
            if cqe.user_data() == CANCEL {
                continue;
            }
            if !cqueue::more(flags) && cqe.user_data() == self.arms {
                self.armed = false;
            }
            if result < 0 {
                // ENOBUFS (we fell behind) and ECANCELED (the arming thread
                // exited, or pause) only end the request; the next pop re-arms.
                match -result {
                    libc::ENOBUFS | libc::ECANCELED => continue,
                    errno => return Err(io::Error::from_raw_os_error(errno)),
                }
            }
            let Some(bid) = cqueue::buffer_select(flags) else { continue };
            let received = self.decode(bid, result as usize);
            self.give_back(bid);
            if received.is_some() {
                return Ok(received);
            }
        }
    }

    /// Nothing completed: flush completions the kernel kept aside, and make
    /// sure a request is armed before the caller waits on [`fd`](Self::fd).
    fn when_empty(&mut self) -> io::Result<()> {
        if self.ring.submission().cq_overflow() {
            self.ring.submit()?;
        }
        if !self.armed {
            self.arm()?;
        }
        Ok(())
    }

    /// Stops reading ahead (before a fork, so that the child finds unread
    /// frames in the socket); the next [`pop`](Self::pop) re-arms. Frames
    /// already received stay here.
    pub fn pause(&mut self) {
        if !self.armed {
            return;
        }
        let cancel = opcode::AsyncCancel::new(self.arms).build().user_data(CANCEL);
        // The kernel cancels a poll-driven receive within this submit. If
        // the queue or the submit fails, the receive stays armed: the child
        // then misses frames, which the parent still gets.
        // SAFETY: a cancel request points into no memory.
        if unsafe { self.ring.submission().push(&cancel) }.is_ok() && self.ring.submit().is_ok() {
            self.armed = false;
        }
    }

    fn arm(&mut self) -> io::Result<()> {
        let user_data = self.arms + 1;
        let entry =
            opcode::RecvMsgMulti::new(Fd(self.socket), &*self.msghdr, GROUP).build().user_data(user_data);
        // SAFETY: the msghdr and buffers live as long as the ring.
        unsafe { self.ring.submission().push(&entry) }
            .map_err(|_| io::Error::from(io::ErrorKind::WouldBlock))?;
        self.ring.submit()?;
        self.arms = user_data;
        self.armed = true;
        Ok(())
    }

    fn decode(&mut self, bid: u16, len: usize) -> Option<Received> {
        let start = usize::from(bid) * BUFFER;
        let out = RecvMsgOut::parse(&self.buffers[start..start + len.min(BUFFER)], &self.msghdr).ok()?;
        let payload = out.payload_data();
        let mut raw = RawFrame::ZERO;
        let size = payload.len().min(size_of::<RawFrame>());
        // SAFETY: copies at most size_of::<RawFrame>() bytes into the frame.
        unsafe { std::ptr::copy_nonoverlapping(payload.as_ptr(), (&mut raw as *mut RawFrame).cast(), size) };
        let frame = Frame::from_kernel(raw, out.incoming_payload_len() as usize)?;
        let (timestamp, dropped) = parse_control_bytes(out.control_data());
        if let Some(dropped) = dropped {
            self.dropped = dropped;
        }
        let flags = out.flags() as libc::c_int;
        Some(Received {
            frame,
            timestamp,
            local: flags & libc::MSG_DONTROUTE != 0,
            own: flags & libc::MSG_CONFIRM != 0,
            ifindex: ifindex(out.name_data()),
        })
    }

    /// Returns buffer `bid` to the kernel: write the next ring slot, then
    /// publish it by moving the tail.
    fn give_back(&mut self, bid: u16) {
        let ring = self.entries.0.as_ptr();
        // SAFETY: the slot index is masked into the ring; the tail is the
        // ring's shared field, published with a release store.
        unsafe {
            let entry = &mut *ring.add(usize::from(self.tail & (ENTRIES - 1)));
            entry.set_addr(self.buffers.as_ptr().add(usize::from(bid) * BUFFER) as u64);
            entry.set_len(BUFFER as u32);
            entry.set_bid(bid);
            self.tail = self.tail.wrapping_add(1);
            (*BufRingEntry::tail(ring).cast::<AtomicU16>()).store(self.tail, Ordering::Release);
        }
    }
}

/// The interface index in a `struct sockaddr_can`, 0 when absent.
fn ifindex(name: &[u8]) -> i32 {
    const OFFSET: usize = std::mem::offset_of!(libc::sockaddr_can, can_ifindex);
    name.get(OFFSET..OFFSET + 4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}
