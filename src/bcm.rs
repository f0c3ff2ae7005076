//! Kernel-timed periodic sending with the broadcast manager (CAN_BCM).
//!
//! Each task has a CAN_BCM socket of its own: the kernel keys transmit tasks
//! by CAN ID per socket, so separate sockets let several tasks share an ID.
//! The kernel's timer sends the frames; no thread of ours is involved.

use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::error::{last_errno, Error};
use crate::frame::Frame;
use crate::socket::interface_index;

/// A transmit task on one interface, started, updated and deleted in place.
#[derive(Debug)]
pub struct BcmTask {
    fd: OwnedFd,
    channel: String,
    /// The kernel has reported the end of a counted task (TX_EXPIRED).
    expired: bool,
}

impl BcmTask {
    /// Opens a CAN_BCM socket connected to `channel`.
    pub fn open(channel: &str) -> Result<Self, Error> {
        let ifindex = interface_index(channel)?;
        // SAFETY: socket() has no memory arguments.
        let raw = unsafe { libc::socket(libc::AF_CAN, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, libc::CAN_BCM) };
        if raw < 0 {
            return Err(Error::opening(channel, "can-bcm", last_errno()));
        }
        // SAFETY: raw is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an all-zero sockaddr_can is valid; family and index are set below.
        let mut addr: libc::sockaddr_can = unsafe { std::mem::zeroed() };
        addr.can_family = libc::AF_CAN as libc::sa_family_t;
        addr.can_ifindex = ifindex as libc::c_int;
        let size = size_of::<libc::sockaddr_can>() as libc::socklen_t;
        // SAFETY: addr is a live sockaddr_can of `size` bytes.
        if unsafe { libc::connect(fd.as_raw_fd(), (&addr as *const libc::sockaddr_can).cast(), size) } != 0 {
            return Err(Error::opening(channel, "can-bcm", last_errno()));
        }
        Ok(Self { fd, channel: channel.into(), expired: false })
    }

    /// Hands `frames` to the kernel (all with one CAN ID, all classic or all
    /// FD). With `start`, (re)starts the timer: the first frame goes at once,
    /// then one per `period`, `count` frames in all (`None`: forever).
    /// Without it, replaces the frames and keeps the timer and its phase.
    /// A started `count` asks the kernel for TX_EXPIRED after the last frame
    /// (see [`BcmTask::expired`]).
    pub fn setup(
        &self,
        frames: &[Frame],
        period: Duration,
        count: Option<u32>,
        start: bool,
    ) -> Result<(), Error> {
        let Some(first) = frames.first() else { return Ok(()) };
        let mut head = head(libc::TX_SETUP, first);
        if start {
            head.flags |= libc::SETTIMER | libc::STARTTIMER;
            match count {
                Some(count) => {
                    head.flags |= libc::TX_COUNTEVT;
                    (head.count, head.ival1) = (count, timeval(period));
                }
                None => head.ival2 = timeval(period),
            }
        }
        head.nframes = frames.len() as u32;
        let mut message = bytes_of(&head).to_vec();
        frames.iter().for_each(|f| message.extend_from_slice(f.as_bytes()));
        self.write(&message)
    }

    /// Removes the task from the kernel; one that is not there is fine.
    pub fn delete(&self, like: &Frame) -> Result<(), Error> {
        match self.write(bytes_of(&head(libc::TX_DELETE, like))) {
            // ENOTCONN: the interface went away, and its tasks with it.
            Err(Error::Transmit { errno: libc::EINVAL | libc::ENOENT | libc::ENOTCONN, .. }) => Ok(()),
            other => other,
        }
    }

    /// Whether the kernel has reported (TX_EXPIRED) since the socket was
    /// opened that a task with a `count` sent its last frame. Does not wait.
    /// The kernel reports no end of a `count` of 1: that frame goes at once.
    pub fn expired(&mut self) -> Result<bool, Error> {
        // SAFETY: an all-zero bcm_msg_head is valid.
        let mut head: libc::bcm_msg_head = unsafe { std::mem::zeroed() };
        while !self.expired {
            let buffer = (&mut head as *mut libc::bcm_msg_head).cast();
            // SAFETY: buffer is a live bcm_msg_head of the stated size; a longer message is truncated.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buffer, size_of_val(&head), libc::MSG_DONTWAIT) };
            if n < 0 {
                return match last_errno() {
                    libc::EAGAIN => Ok(false),
                    errno => Err(Error::Receive { channel: self.channel.clone(), errno }),
                };
            }
            self.expired = head.opcode == libc::TX_EXPIRED;
        }
        Ok(true)
    }

    fn write(&self, message: &[u8]) -> Result<(), Error> {
        // SAFETY: message is a live slice of the stated length.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), message.as_ptr().cast(), message.len()) };
        if n < 0 {
            return Err(Error::Transmit { channel: self.channel.clone(), errno: last_errno() });
        }
        Ok(())
    }
}

/// A message head for `opcode` on the task of `frame`'s ID and kind.
fn head(opcode: u32, frame: &Frame) -> libc::bcm_msg_head {
    // SAFETY: an all-zero bcm_msg_head is valid.
    let mut head: libc::bcm_msg_head = unsafe { std::mem::zeroed() };
    head.opcode = opcode;
    head.can_id = frame.can_id();
    if frame.is_fd() {
        head.flags = libc::CAN_FD_FRAME;
    }
    head
}

/// `period` to the microsecond, rounded to nearest.
fn timeval(period: Duration) -> libc::bcm_timeval {
    let micros = (period.as_nanos() + 500) / 1000;
    libc::bcm_timeval {
        tv_sec: (micros / 1_000_000) as libc::c_long,
        tv_usec: (micros % 1_000_000) as libc::c_long,
    }
}

fn bytes_of(head: &libc::bcm_msg_head) -> &[u8] {
    // SAFETY: bcm_msg_head is plain old data; its bytes may be read.
    unsafe {
        std::slice::from_raw_parts(
            (head as *const libc::bcm_msg_head).cast(),
            size_of::<libc::bcm_msg_head>(),
        )
    }
}
