//! One CAN_RAW socket: opening, options, and the non-blocking syscalls.
//!
//! The `socketcan` crate configures and binds the socket; receiving
//! and sending go through `recvmmsg` and `sendmmsg` directly, because the
//! crate reads one frame per syscall and does not hand out the `msg_flags`
//! (which tell our own frames from others') or the interface a frame came in on.

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use socketcan::{CanAddr, CanFilter, CanSocket, Socket, SocketOptions};

use crate::error::{errno_of, last_errno, retry_eintr, Error};
use crate::frame::Frame;
use crate::rx_buffer::RxBuffer;

/// Frames per `sendmmsg` call.
pub const SEND_CHUNK: usize = 64;

const SOCKADDR_CAN_LEN: libc::socklen_t = std::mem::size_of::<libc::sockaddr_can>() as libc::socklen_t;

/// How a socket is set up; python-can's `Bus` keyword arguments.
#[derive(Clone, Debug)]
pub struct Options {
    /// Accept CAN FD frames (CAN_RAW_FD_FRAMES).
    pub fd: bool,
    /// Receive the frames this socket sends (CAN_RAW_RECV_OWN_MSGS).
    pub receive_own_messages: bool,
    /// Let other sockets on this host see what this one sends (CAN_RAW_LOOPBACK).
    pub local_loopback: bool,
    /// Receive error frames (CAN_RAW_ERR_FILTER, all classes).
    pub error_frames: bool,
    /// Receive through io_uring where the kernel allows it, so that polling
    /// an empty bus costs no syscall (see [`crate::uring`]).
    pub io_uring: bool,
    /// The socket's receive buffer in bytes; `None` keeps the system default.
    pub receive_buffer_size: Option<usize>,
    /// Where receive timestamps come from.
    pub timestamping: Timestamping,
    /// Kernel filters as `(can_id, can_mask)` pairs; `None` receives every frame.
    pub filters: Option<Vec<(u32, u32)>>,
    /// Send and receive CAN XL frames too (CAN_RAW_XL_FRAMES), with these
    /// VCID settings.
    pub xl: Option<XlOptions>,
}

/// How a CAN XL socket treats virtual CAN network IDs, where the kernel
/// can (CAN_RAW_XL_VCID_OPTS, Linux 6.9). Every message's own VCID is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XlOptions {
    /// Stamp this VCID on every frame sent instead.
    pub tx_vcid: Option<u8>,
    /// Receive only frames whose VCID matches `(vcid, mask)`; `None`
    /// receives every VCID.
    pub rx_vcid: Option<(u8, u8)>,
}

/// What a socket does with CAN XL frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XlSupport {
    /// It neither sends nor receives them.
    Off,
    /// It does, but the kernel (6.2 to 6.8) clears VCIDs sent and drops
    /// frames received with one.
    WithoutVcids,
    /// It does, VCIDs included.
    On,
}

/// `linux/can/raw.h`'s `CAN_RAW_XL_VCID_OPTS` and its flags, which libc lacks.
const CAN_RAW_XL_VCID_OPTS: libc::c_int = 8;
const CAN_RAW_XL_VCID_TX_SET: u8 = 0x01;
const CAN_RAW_XL_VCID_TX_PASS: u8 = 0x02;
const CAN_RAW_XL_VCID_RX_FILTER: u8 = 0x04;

/// `struct can_raw_vcid_options`.
#[repr(C)]
struct VcidOptions {
    flags: u8,
    tx_vcid: u8,
    rx_vcid: u8,
    rx_vcid_mask: u8,
}

/// The source of receive timestamps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timestamping {
    /// The kernel's receive time (SO_TIMESTAMPNS), epoch-based.
    #[default]
    Software,
    /// The controller's raw hardware clock (SO_TIMESTAMPING), where the
    /// driver provides one.
    Hardware,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            fd: false,
            receive_own_messages: false,
            local_loopback: true,
            error_frames: true,
            io_uring: false,
            receive_buffer_size: None,
            timestamping: Timestamping::Software,
            filters: None,
            xl: None,
        }
    }
}

/// A bound, non-blocking CAN_RAW socket.
#[derive(Debug)]
pub struct RawSocket {
    fd: OwnedFd,
    /// The interface bound to; 0 for every interface.
    ifindex: u32,
    xl: XlSupport,
}

impl RawSocket {
    /// Opens a socket bound to `channel` and configured by `options`.
    /// `channel` `""` binds to every CAN interface.
    ///
    /// Every option is set before the socket is bound: from binding on, the
    /// kernel queues frames as the options then in force let them in.
    pub fn open(channel: &str, options: &Options) -> Result<Self, Error> {
        let ifindex = if channel.is_empty() { 0 } else { interface_index(channel)? };
        let opening = |e: io::Error| Error::opening(channel, "can-raw", errno_of(&e));
        let socket = configured(options).map_err(opening)?;
        let xl = match options.xl {
            Some(xl) => enable_xl(&socket, &xl, channel)?,
            None => XlSupport::Off,
        };
        socket.as_raw_socket().bind(&CanAddr::new(ifindex).into_sock_addr()).map_err(opening)?;
        if options.timestamping == Timestamping::Hardware && !socket.has_hw_timestamps() {
            return Err(Error::NoHardwareTimestamps { channel: channel.into() });
        }
        // SAFETY: into_raw_fd hands over sole ownership of the descriptor.
        let fd = unsafe { OwnedFd::from_raw_fd(socket.into_raw_fd()) };
        Ok(Self { fd, ifindex, xl })
    }

    /// What the socket does with CAN XL frames.
    pub fn xl(&self) -> XlSupport {
        self.xl
    }

    /// The MTU of the interface bound to (of `ifindex` for a socket bound
    /// to all), if it can be read.
    pub fn mtu(&self, ifindex: u32) -> Option<u32> {
        let name = interface_name(if self.ifindex == 0 { ifindex } else { self.ifindex })?;
        // SAFETY: an all-zero ifreq is valid.
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        for (to, from) in request.ifr_name.iter_mut().zip(name.bytes().take(libc::IF_NAMESIZE - 1)) {
            *to = from as libc::c_char;
        }
        // SAFETY: request is a live ifreq naming the interface; SIOCGIFMTU writes its MTU there.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFMTU, &mut request) };
        if rc != 0 {
            return None;
        }
        // SAFETY: on success the kernel set the union's MTU member.
        Some(unsafe { request.ifr_ifru.ifru_mtu } as u32)
    }

    /// The interface index bound to; 0 for every interface.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The receive buffer in effect, as the kernel reports it (it doubles
    /// what was asked, for its bookkeeping).
    pub fn receive_buffer_size(&self) -> io::Result<usize> {
        let mut size: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: size is a live c_int and len says so.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut size as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(size as usize)
    }

    /// Replaces the kernel filters with `(can_id, can_mask)` pairs; an empty
    /// list receives nothing.
    pub fn set_filters(&self, filters: &[(u32, u32)]) -> io::Result<()> {
        set_filters(&self.as_options(), filters)
    }

    /// Reads up to `want` queued frames into `buffer`: one `recvmmsg` syscall.
    pub fn recv_into(&self, buffer: &mut RxBuffer, want: usize) -> io::Result<usize> {
        buffer.fill(self.fd.as_raw_fd(), want)
    }

    /// Frames the kernel has dropped on this socket because its receive
    /// buffer was full: the socket's own counter (SO_MEMINFO), exact at any
    /// time, unlike SO_RXQ_OVFL, which frames carry as of when they were queued.
    pub fn kernel_drops(&self) -> io::Result<u32> {
        // SK_MEMINFO_VARS: the kernel fills as many u32 as it has, up to len.
        let mut info = [0u32; 16];
        let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
        // SAFETY: info is writable for len bytes; the kernel writes at most len.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_MEMINFO,
                info.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(info[libc::SK_MEMINFO_DROPS as usize])
    }

    /// Hands as many of `frames` to the kernel as it takes without blocking:
    /// one frame with `sendto`, more with one `sendmmsg` per [`SEND_CHUNK`].
    /// Returns how many were taken; an error only when the first was refused.
    pub fn try_send_batch(&self, frames: &[Frame]) -> io::Result<usize> {
        if let [frame] = frames {
            return self.sendto(frame).map(|()| 1);
        }
        let mut sent = 0;
        for chunk in frames.chunks(SEND_CHUNK) {
            let taken = match self.sendmmsg(chunk) {
                Ok(taken) => taken,
                Err(_) if sent > 0 => return Ok(sent),
                Err(e) => return Err(e),
            };
            sent += taken;
            if taken < chunk.len() {
                break;
            }
        }
        Ok(sent)
    }

    /// One frame, to its destination interface if it has one: the kernel's
    /// cheapest send path, for the common case of a single `send`.
    fn sendto(&self, frame: &Frame) -> io::Result<()> {
        let bytes = frame.as_bytes();
        let addr = destination_address(frame);
        let (name, name_len) = match &addr {
            Some(addr) => (std::ptr::from_ref(addr).cast(), SOCKADDR_CAN_LEN),
            None => (std::ptr::null(), 0),
        };
        retry_eintr(|| {
            // SAFETY: bytes and addr are live for the call; the kernel only reads them.
            unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    libc::MSG_DONTWAIT,
                    name,
                    name_len,
                )
            }
        })
        .map(|_| ())
    }

    fn sendmmsg(&self, frames: &[Frame]) -> io::Result<usize> {
        debug_assert!(frames.len() <= SEND_CHUNK);
        let mut iovecs = [const { MaybeUninit::<libc::iovec>::uninit() }; SEND_CHUNK];
        let mut addrs = [const { MaybeUninit::<libc::sockaddr_can>::uninit() }; SEND_CHUNK];
        let mut headers = [const { MaybeUninit::<libc::mmsghdr>::uninit() }; SEND_CHUNK];
        // Only the entries in use are written: zeroing all SEND_CHUNK of them
        // cost more than the syscall for a short batch.
        for (i, frame) in frames.iter().enumerate() {
            let bytes = frame.as_bytes();
            let iov =
                iovecs[i].write(libc::iovec { iov_base: bytes.as_ptr() as *mut _, iov_len: bytes.len() });
            // SAFETY: an all-zero mmsghdr is valid (null pointers, zero lengths).
            let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
            header.msg_hdr.msg_iov = iov;
            header.msg_hdr.msg_iovlen = 1;
            if let Some(addr) = destination_address(frame) {
                header.msg_hdr.msg_name = std::ptr::from_mut(addrs[i].write(addr)).cast();
                header.msg_hdr.msg_namelen = SOCKADDR_CAN_LEN;
            }
            headers[i].write(header);
        }
        let sent = retry_eintr(|| {
            // SAFETY: headers[..len] are written above and point into `frames`,
            // `iovecs` and `addrs`, which outlive the call; the kernel only reads them.
            unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    headers.as_mut_ptr().cast(),
                    frames.len() as u32,
                    libc::MSG_DONTWAIT,
                ) as isize
            }
        })?;
        Ok(sent as usize)
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
/// The name of interface `ifindex`, if it (still) exists.
pub fn interface_name(ifindex: u32) -> Option<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: name has the IF_NAMESIZE bytes if_indextoname may write.
    let found = unsafe { libc::if_indextoname(ifindex, name.as_mut_ptr()) };
    // SAFETY: on success the name is NUL-terminated within the buffer.
    (!found.is_null())
        .then(|| unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned())
}

/// The index of interface `channel`, or the error that it does not exist
/// (or that it could not be looked up: if_nametoindex needs a descriptor).
pub fn interface_index(channel: &str) -> Result<u32, Error> {
    let name = CString::new(channel).map_err(|_| Error::NoSuchInterface { channel: channel.into() })?;
    // SAFETY: name is a valid NUL-terminated string.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => match last_errno() {
            libc::ENODEV => Err(Error::NoSuchInterface { channel: channel.into() }),
            errno => Err(Error::opening(channel, "can-raw", lookup_failure(errno))),
        },
        index => Ok(index),
    }
}

/// Why `if_nametoindex` failed, other than for a missing interface. glibc
/// leaves an unrelated errno (ENOENT) when it cannot open the socket it asks
/// through, out of descriptors say; opening a CAN socket tells the reason.
fn lookup_failure(errno: i32) -> i32 {
    new_raw_socket().err().map_or(errno, |e| errno_of(&e))
}

/// An unbound CAN_RAW socket with `options` set: python-can's choices, and
/// SO_RXQ_OVFL for drop counts.
fn configured(options: &Options) -> io::Result<CanSocket> {
    let socket = CanSocket::from(new_raw_socket()?);
    socket.set_nonblocking(true)?;
    if options.fd {
        socket.set_socket_option(libc::SOL_CAN_RAW, libc::CAN_RAW_FD_FRAMES, &(1 as libc::c_int))?;
    }
    socket.set_loopback(options.local_loopback)?;
    socket.set_recv_own_msgs(options.receive_own_messages)?;
    socket.set_error_filter(if options.error_frames { socketcan::frame::ERR_MASK_ALL } else { 0 })?;
    socket.set_socket_option(libc::SOL_SOCKET, libc::SO_RXQ_OVFL, &(1 as libc::c_int))?;
    if let Some(filters) = &options.filters {
        set_filters(&socket, filters)?;
    }
    match options.timestamping {
        Timestamping::Software => socket.set_recv_timestamp(true)?,
        Timestamping::Hardware => socket.set_timestamping(
            socketcan::SOF_TIMESTAMPING_RX_HARDWARE | socketcan::SOF_TIMESTAMPING_RAW_HARDWARE,
        )?,
    }
    if let Some(size) = options.receive_buffer_size {
        set_receive_buffer(&socket, size)?;
    }
    Ok(socket)
}

/// Turns CAN XL frames on (FD too, which the kernel needs for them) and
/// sets the VCID options where the kernel has them.
fn enable_xl(socket: &CanSocket, xl: &XlOptions, channel: &str) -> Result<XlSupport, Error> {
    let opening = |e: io::Error| Error::opening(channel, "can-raw", errno_of(&e));
    let on: libc::c_int = 1;
    socket.set_socket_option(libc::SOL_CAN_RAW, libc::CAN_RAW_FD_FRAMES, &on).map_err(opening)?;
    match socket.set_socket_option(libc::SOL_CAN_RAW, libc::CAN_RAW_XL_FRAMES, &on) {
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
            return Err(Error::NoXlSupport { release: kernel_release() })
        }
        other => other.map_err(opening)?,
    }
    let mut options = VcidOptions { flags: CAN_RAW_XL_VCID_TX_PASS, tx_vcid: 0, rx_vcid: 0, rx_vcid_mask: 0 };
    if let Some(vcid) = xl.tx_vcid {
        options.flags |= CAN_RAW_XL_VCID_TX_SET;
        options.tx_vcid = vcid;
    }
    // A mask of 0 lets every VCID in; without RX_FILTER the kernel would
    // drop every frame that has one.
    options.flags |= CAN_RAW_XL_VCID_RX_FILTER;
    (options.rx_vcid, options.rx_vcid_mask) = xl.rx_vcid.unwrap_or((0, 0));
    match socket.set_socket_option(libc::SOL_CAN_RAW, CAN_RAW_XL_VCID_OPTS, &options) {
        Ok(()) => Ok(XlSupport::On),
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => match xl {
            XlOptions { tx_vcid: None, rx_vcid: None } => Ok(XlSupport::WithoutVcids),
            _ => Err(Error::NoVcidSupport { release: kernel_release() }),
        },
        Err(e) => Err(opening(e)),
    }
}

/// The running kernel's release, such as `6.1.0-27-amd64`.
fn kernel_release() -> String {
    // SAFETY: an all-zero utsname is valid, and uname fills it in.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: name is a live utsname.
    if unsafe { libc::uname(&mut name) } != 0 {
        return "unknown".into();
    }
    // SAFETY: uname NUL-terminates each field.
    unsafe { std::ffi::CStr::from_ptr(name.release.as_ptr()) }.to_string_lossy().into_owned()
}

/// SO_RCVBUFFORCE where permitted, else SO_RCVBUF (capped at net.core.rmem_max).
fn set_receive_buffer(socket: &impl SocketOptions, size: usize) -> io::Result<()> {
    let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN.
    match socket.set_socket_option(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &size) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            socket.set_socket_option(libc::SOL_SOCKET, libc::SO_RCVBUF, &size)
        }
        other => other,
    }
}

fn set_filters(socket: &impl SocketOptions, filters: &[(u32, u32)]) -> io::Result<()> {
    let filters: Vec<CanFilter> = filters.iter().map(|&pair| pair.into()).collect();
    socket.set_socket_option_mult(libc::SOL_CAN_RAW, libc::CAN_RAW_FILTER, &filters)
}

/// A new, unbound CAN_RAW socket.
fn new_raw_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket() takes no pointers; a descriptor it returns is ours.
    let fd = unsafe { libc::socket(libc::PF_CAN, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::CAN_RAW) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is open and owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The address of `frame`'s destination interface, on a socket bound to every
/// interface; `None` where the socket's own binding decides.
fn destination_address(frame: &Frame) -> Option<libc::sockaddr_can> {
    (frame.destination() != 0).then(|| {
        // SAFETY: an all-zero sockaddr_can is valid.
        let mut addr: libc::sockaddr_can = unsafe { std::mem::zeroed() };
        addr.can_family = libc::AF_CAN as libc::sa_family_t;
        addr.can_ifindex = frame.destination() as libc::c_int;
        addr
    })
}
