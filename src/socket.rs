//! One CAN_RAW socket: opening, options, and the non-blocking syscalls.
//!
//! The `socketcan` crate opens, binds and configures the socket; receiving
//! goes through `recvmsg` directly, because the crate does not hand out the
//! `msg_flags` (which tell our own frames from others') or the interface a
//! frame came in on.

use std::ffi::CString;
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use socketcan::{CanAddr, CanFdSocket, CanFilter, CanSocket, Socket, SocketOptions};

use crate::error::{errno_of, Error};
use crate::frame::{Frame, RawFrame};

/// How a socket is set up; python-can's `Bus` keyword arguments.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Accept CAN FD frames (CAN_RAW_FD_FRAMES).
    pub fd: bool,
    /// Receive the frames this socket sends (CAN_RAW_RECV_OWN_MSGS).
    pub receive_own_messages: bool,
    /// Let other sockets on this host see what this one sends (CAN_RAW_LOOPBACK).
    pub local_loopback: bool,
    /// Receive error frames (CAN_RAW_ERR_FILTER, all classes).
    pub error_frames: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { fd: false, receive_own_messages: false, local_loopback: true, error_frames: true }
    }
}

/// A frame as received, with what the kernel said about it.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub frame: Frame,
    /// Kernel receive time since the Unix epoch (SO_TIMESTAMPNS).
    pub timestamp: Duration,
    /// The frame was sent from this host (MSG_DONTROUTE).
    pub local: bool,
    /// The frame was sent by this very socket (MSG_CONFIRM).
    pub own: bool,
    /// The interface it arrived on.
    pub ifindex: i32,
}

/// A bound, non-blocking CAN_RAW socket.
#[derive(Debug)]
pub struct RawSocket {
    fd: OwnedFd,
    fd_frames: bool,
    /// The kernel's count of frames it dropped for want of buffer (SO_RXQ_OVFL).
    dropped: AtomicU32,
}

impl RawSocket {
    /// Opens a socket bound to `channel` and configured by `options`.
    pub fn open(channel: &str, options: &Options) -> Result<Self, Error> {
        let ifindex = interface_index(channel)?;
        let addr = CanAddr::new(ifindex);
        let fd = if options.fd {
            CanFdSocket::open_addr(&addr).and_then(|s| configure(s, options))
        } else {
            CanSocket::open_addr(&addr).and_then(|s| configure(s, options))
        }
        .map_err(|e| open_error(channel, &e))?;
        Ok(Self { fd, fd_frames: options.fd, dropped: AtomicU32::new(0) })
    }

    /// Whether CAN FD frames may be sent and received.
    pub fn fd_frames(&self) -> bool {
        self.fd_frames
    }

    /// Frames the kernel dropped on this socket so far because its receive
    /// buffer was full.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Reads one frame if one is queued: exactly one `recvmsg` syscall.
    pub fn try_recv(&self) -> io::Result<Option<Received>> {
        loop {
            let mut frame = RawFrame::ZERO;
            let mut addr = MaybeUninit::<libc::sockaddr_can>::zeroed();
            let mut control = Control::new();
            let mut iov = libc::iovec {
                iov_base: (&mut frame as *mut RawFrame).cast(),
                iov_len: size_of::<RawFrame>(),
            };
            // SAFETY: an all-zero msghdr is valid; the pointers set below
            // stay live for the recvmsg call.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_name = addr.as_mut_ptr().cast();
            msg.msg_namelen = size_of::<libc::sockaddr_can>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.0.as_mut_ptr().cast();
            msg.msg_controllen = control.0.len();
            // SAFETY: msg describes live, writable buffers of the stated sizes.
            let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
            if n < 0 {
                let err = io::Error::last_os_error();
                return match err.raw_os_error() {
                    Some(libc::EAGAIN) => Ok(None),
                    Some(libc::EINTR) => continue,
                    _ => Err(err),
                };
            }
            let Some(frame) = Frame::from_kernel(frame, n as usize) else { continue };
            let (timestamp, dropped) = control.parse(&msg);
            if let Some(dropped) = dropped {
                self.dropped.store(dropped, Ordering::Relaxed);
            }
            // SAFETY: recvmsg filled in the address (or left it zeroed).
            let ifindex = unsafe { addr.assume_init() }.can_ifindex;
            return Ok(Some(Received {
                frame,
                timestamp,
                local: msg.msg_flags & libc::MSG_DONTROUTE != 0,
                own: msg.msg_flags & libc::MSG_CONFIRM != 0,
                ifindex,
            }));
        }
    }

    /// Hands one frame to the kernel without blocking.
    pub fn try_send(&self, frame: &Frame) -> io::Result<()> {
        let bytes = frame.as_bytes();
        loop {
            // SAFETY: bytes is a live slice of the stated length.
            let n = unsafe {
                libc::send(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), libc::MSG_DONTWAIT)
            };
            if n >= 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(err);
            }
        }
    }

    /// Replaces the kernel filters with `(can_id, can_mask)` pairs; an empty
    /// list receives nothing.
    pub fn set_filters(&self, filters: &[(u32, u32)]) -> io::Result<()> {
        let filters: Vec<CanFilter> = filters.iter().map(|&pair| pair.into()).collect();
        self.as_options().set_socket_option_mult(libc::SOL_CAN_RAW, libc::CAN_RAW_FILTER, &filters)
    }

    /// A borrowed view through which the crate's `SocketOptions` apply.
    fn as_options(&self) -> OptionsView {
        OptionsView(self.fd.as_raw_fd())
    }
}

impl AsRawFd for RawSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Gives `SocketOptions` to a descriptor we own elsewhere.
struct OptionsView(RawFd);

impl AsRawFd for OptionsView {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl SocketOptions for OptionsView {}

/// The interface index of `channel`, or a clear error.
fn interface_index(channel: &str) -> Result<u32, Error> {
    let name = CString::new(channel).map_err(|_| Error::NoSuchInterface { channel: channel.into() })?;
    // SAFETY: name is a valid NUL-terminated string.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(Error::NoSuchInterface { channel: channel.into() }),
        index => Ok(index),
    }
}

/// Sets python-can's options and takes the descriptor out of the crate's type.
fn configure<S>(socket: S, options: &Options) -> io::Result<OwnedFd>
where
    S: Socket + SocketOptions + IntoRawFd,
{
    socket.set_nonblocking(true)?;
    socket.set_loopback(options.local_loopback)?;
    socket.set_recv_own_msgs(options.receive_own_messages)?;
    socket.set_error_filter(if options.error_frames { socketcan::frame::ERR_MASK_ALL } else { 0 })?;
    socket.set_recv_timestamp(true)?;
    socket.set_socket_option(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, &(1 as libc::c_int))?;
    // SAFETY: into_raw_fd hands over sole ownership of the descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(socket.into_raw_fd()) })
}

fn open_error(channel: &str, e: &io::Error) -> Error {
    match errno_of(e) {
        libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT => Error::NoKernelSupport { errno: errno_of(e) },
        // The index exists (checked before), so the device is of another kind.
        libc::ENODEV => Error::NotCanInterface { channel: channel.into() },
        errno => Error::Open { channel: channel.into(), errno },
    }
}

/// Room for the ancillary data we ask for: one timespec and one u32, with
/// headroom; aligned as `cmsghdr` requires.
#[repr(C, align(8))]
struct Control([u8; 128]);

impl Control {
    fn new() -> Self {
        Self([0; 128])
    }

    /// The SO_TIMESTAMPNS time and the SO_RXQ_OVFL drop count, where present.
    fn parse(&self, msg: &libc::msghdr) -> (Duration, Option<u32>) {
        let mut timestamp = Duration::ZERO;
        let mut dropped = None;
        // SAFETY: msg's control pointer and length describe self.0, which
        // the kernel filled; CMSG_* walk within those bounds.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(msg);
            while !cmsg.is_null() {
                let data = libc::CMSG_DATA(cmsg);
                match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                    (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => {
                        let ts = std::ptr::read_unaligned(data.cast::<libc::timespec>());
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
}
