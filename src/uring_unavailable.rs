//! No io_uring receive: the io-uring crate has no kernel bindings for this
//! architecture (32-bit ARM among them). [`Uring::new`] always fails, so
//! every socket reads directly, as on kernels without io_uring.

use std::io;
use std::os::fd::RawFd;

use crate::rx_buffer::Received;

/// Never made (an empty enum): the methods exist for the callers' types.
#[derive(Debug)]
pub enum Uring {}

impl Uring {
    /// Fails: io_uring is not built in on this architecture.
    pub fn new(_socket: RawFd) -> io::Result<Self> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "io_uring is not built in on this architecture"))
    }

    /// Unreachable: no `Uring` exists.
    pub fn fd(&self) -> RawFd {
        match *self {}
    }

    /// Unreachable: no `Uring` exists.
    pub fn dropped(&self) -> u32 {
        match *self {}
    }

    /// Unreachable: no `Uring` exists.
    pub fn pop(&mut self) -> io::Result<Option<Received>> {
        match *self {}
    }

    /// Unreachable: no `Uring` exists.
    pub fn pause(&mut self) {
        match *self {}
    }
}
