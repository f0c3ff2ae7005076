//! ferrocan's core: SocketCAN for Python, without Python.
//!
//! Nothing here depends on PyO3, so `cargo test` and `cargo bench` drive the
//! core directly. The Python binding lives in the `python` module, behind the `python`
//! feature, which maturin enables.
//!
//! * [`frame`]: CAN and CAN FD frames in the kernel's layout, with validation.
//! * [`socket`]: a non-blocking CAN_RAW socket and its syscalls.
//! * [`rx_buffer`]: the `recvmmsg` buffer that `recv` serves from.
//! * [`uring`]: the optional io_uring receive that makes empty polls free
//!   (on the architectures the io-uring crate has bindings for).
//! * [`endpoint`]: timeouts, interruption and shutdown around a socket.
//! * [`waker`]: the eventfd that lets `shutdown` end a blocked wait.
//! * [`fork`]: what a forked child must leave to its parent.
//! * [`bcm`]: kernel-timed periodic sending (CAN_BCM).
//! * [`link`]: interface management over rtnetlink (`ip link`).
//! * [`cansend`], [`candump_log`]: can-utils' text formats for frames and logs.
//! * [`recorder`]: recording interfaces to a file on a thread of its own,
//!   in the formats of [`log_format`] (candump's, Vector ASC and BLF).

#![warn(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn)]

pub mod bcm;
pub mod candump_log;
pub mod cansend;
pub mod endpoint;
pub mod error;
pub mod fork;
pub mod frame;
pub mod link;
pub mod log_format;
mod py_repr;
pub mod recorder;
pub mod rx_buffer;
pub mod socket;
#[cfg_attr(not(io_uring), path = "uring_unavailable.rs")]
pub mod uring;
pub mod waker;

#[cfg(feature = "python")]
mod python;

pub use endpoint::{Endpoint, Statistics};
pub use error::Error;
pub use frame::{Frame, FrameError, FrameSpec};
pub use rx_buffer::Received;
pub use socket::{Options, Timestamping};
